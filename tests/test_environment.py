"""The conda environment of the rules (envs/lskd.yaml) holds pyproject.toml's dependencies and no
local path, and the rules run the workflow's own code in an environment without lskd installed:
a stand-in for `snakemake --use-conda` (conda itself cannot run here), built as conda builds one.
"""

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from conftest import FMNIST, ROOT, run_snakemake, scratch

ENV_FILE = ROOT / "envs" / "lskd.yaml"
ENV_GB = 7  # torch's CUDA build and the rest: 6.0 GB measured (du -sh of the folder)
OUTSIDE_ENV = {"snakemake", "pygments"}  # Snakemake runs outside the rules' environment


def name(requirement: str) -> str:
    return requirement.split(";")[0].split("[")[0].strip().split("=")[0].split(">")[0].split("<")[0]


def pip_list(env_file: Path) -> list[str]:
    deps = yaml.safe_load(env_file.read_text())["dependencies"]
    return next(d["pip"] for d in deps if isinstance(d, dict))


def project_dependencies() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [d for d in project["dependencies"] if name(d) not in OUTSIDE_ENV]


def disagreements(env_file: Path) -> set[str]:
    """Requirements on one side only, version pins included."""
    norm = {r.replace(" ", "") for r in project_dependencies()}
    return norm ^ {r.replace(" ", "") for r in pip_list(env_file)}


def test_env_file_and_pyproject_agree():
    assert disagreements(ENV_FILE) == set()


def test_the_agreement_check_fails_when_one_side_drops_a_dependency(tmp_path):
    env = yaml.safe_load(ENV_FILE.read_text())
    pip = next(d for d in env["dependencies"] if isinstance(d, dict))
    pip["pip"] = [r for r in pip["pip"] if name(r) != "sacremoses"]
    dropped = tmp_path / "env.yaml"
    dropped.write_text(yaml.safe_dump(env))
    assert disagreements(dropped) == {"sacremoses"}


def test_env_file_names_no_local_path():
    for req in pip_list(ENV_FILE):
        assert not req.startswith(("-e", ".", "/", "file:")), req


@pytest.fixture(scope="module")
def conda_like_env(tmp_path_factory):
    """A fresh environment from the env file's pip list, installed as conda does it: the list
    written to a requirements file in a folder of its own, pip run from that folder."""
    with scratch(tmp_path_factory, "conda", needs_gb=ENV_GB) as tmp:
        reqs = tmp / "condaenv.requirements.txt"
        reqs.write_text("\n".join(pip_list(ENV_FILE)) + "\n")
        env = tmp / "env"
        subprocess.run([sys.executable, "-m", "venv", str(env)], check=True)
        subprocess.run(
            [str(env / "bin" / "pip"), "install", "-q", "--no-cache-dir", "-r", reqs.name],
            cwd=tmp, check=True, capture_output=True,
        )  # fmt: skip
        yield env


@pytest.mark.workflow
def test_rules_run_the_workflows_code_in_an_env_without_lskd(conda_like_env, tmp_path):
    if not (FMNIST / "train-images-idx3-ubyte.gz").exists():
        pytest.fail(f"{FMNIST} missing: apt-get install dataset-fashion-mnist")
    python = conda_like_env / "bin" / "python"
    probe = subprocess.run([python, "-c", "import lskd"], capture_output=True)
    assert probe.returncode != 0, "lskd must not be installed in the stand-in environment"
    env = os.environ | {"PATH": f"{conda_like_env / 'bin'}:{os.environ['PATH']}"}
    env.pop("PYTHONPATH", None)
    smoke = tmp_path / "smoke.yaml"
    smoke.write_text((ROOT / "configs" / "smoke.yaml").read_text())
    target = "results/tables/table1.csv"  # the teachers, their evaluations, Table 1
    proc = run_snakemake(tmp_path, target, configfile=smoke, env=env)
    assert (tmp_path / target).stat().st_size > 0, proc.stdout
    log = (tmp_path / "results/logs/teachers/fmnist/resnet18_seed0.log").read_text()
    assert "epoch 1:" in log


def test_a_scratch_folder_is_removed_after_and_a_short_disk_fails_first(tmp_path_factory):
    with scratch(tmp_path_factory, "small") as path:
        (path / "model.pt").write_bytes(b"weights")
    assert not path.exists()
    with pytest.raises(pytest.fail.Exception, match=r"GB free, huge needs 1000000 GB"):
        with scratch(tmp_path_factory, "huge", needs_gb=1e6):
            pass
