"""The README is the front door: its set-up commands are the ones CI runs."""

import re

from conftest import ROOT


def readme_commands() -> list[str]:
    """The indented command lines of the README's 'Set up and run' section."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Set up and run", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^    (\S.*)$", section, flags=re.M)


def test_ci_runs_the_readme_test_command_verbatim():
    study, tests = readme_commands()[:2]
    assert study.endswith("snakemake --cores all"), study
    assert tests.endswith("pytest"), tests
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert tests in ci_lines, f".ci/run does not run the README's test command {tests!r}"


def test_setup_script_installs_what_the_tests_need():
    """Every Debian package the tests and the default study use is in scripts/setup.sh."""
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    for deb in ("dataset-fashion-mnist", "trans-de-en", "chromium", "slurmctld", "slurmd", "munge"):
        assert re.search(rf"\b{deb}\b", setup), deb
    assert "sudo" in setup and "id -u" in setup  # sudo only when not root
