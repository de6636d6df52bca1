"""The linters CI runs after the tests, run here too, so `pytest -m "not workflow"` catches what
would otherwise turn CI red only at the end (a rule snakefmt would rewrap did, once)."""

import shlex
import subprocess

import pytest

from conftest import ROOT

LINTERS = ("ruff", "snakefmt", "snakemake")


def ci_lint_commands() -> list[str]:
    """The lines of .ci/run that call a linter, in its order."""
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    return [line for line in lines if line.split(" ", 1)[0] in LINTERS]


def test_ci_runs_every_linter():
    assert {line.split(" ", 1)[0] for line in ci_lint_commands()} == set(LINTERS)


@pytest.mark.parametrize("command", ci_lint_commands())
def test_the_code_passes_the_ci_linter(command):
    done = subprocess.run(shlex.split(command), cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, f"{command}:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
