"""The workflow through profiles/slurm on a real single-node SLURM cluster (munge, slurmctld and
slurmd on localhost, started here; .ci/run installs Debian's packages).

The test submits a teacher pair, their evaluation, Table 1 and a student of the smoke config
(curation included: 7 jobs, and the student twice): the student outlasts the 1-minute time limit
of the train group, SLURM sends it SIGTERM, it saves the epoch in progress, and the profile's
retry resumes it. The plugin polls SLURM every 10 s or more, so the whole smoke DAG takes about 9
minutes this way, which it did once by hand; the local tests cover the rest of the DAG."""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, job_counts, run_snakemake

pytestmark = pytest.mark.workflow
SLURM = Path(__file__).parent / "slurm"


@pytest.fixture(scope="module")
def slurm_cluster():
    if not (shutil.which("slurmctld") and shutil.which("munged")):
        pytest.fail(
            "SLURM is not installed: apt-get install --no-install-recommends"
            " slurmctld slurmd slurm-client munge"
        )
    subprocess.run(["bash", str(SLURM / "start_slurm.sh")], check=True, capture_output=True)
    yield
    subprocess.run(["bash", str(SLURM / "stop_slurm.sh"), "--purge"], capture_output=True)
    # left behind, it would make every later snakemake start wait ~9 s (see stop_slurm.sh)
    assert not Path("/etc/slurm/slurm.conf").exists()


STUDENT = "results/fmnist/students/r18_from_r18_ls/seed0"
TARGETS = ["results/tables/table1.csv", f"{STUDENT}/final.json"]
RESOURCES = {"train": {"runtime": 1, "mem_mb": 3000}, "evaluate": {"runtime": 5, "mem_mb": 2000}}
SLOW_EPOCHS = 30  # a student that trains longer than the train group's 1-minute limit


def slurm_config(tmp_path) -> Path:
    """smoke.yaml cut to one dataset, its teacher pair and a student that outlasts its limit."""
    config = yaml.safe_load((ROOT / "configs/smoke.yaml").read_text())
    config["datasets"] = {"fmnist": config["datasets"]["fmnist"]}
    config["teachers"] = {k: config["teachers"][k] for k in ("resnet18", "resnet18_ls")}
    student = config["students"]["r18_from_r18_ls"] | {"recipe": "slow"}
    config["students"] = {"r18_from_r18_ls": student}
    config["recipes"]["slow"] = config["recipes"]["student"] | {
        "epochs": SLOW_EPOCHS,
        "milestones": [SLOW_EPOCHS - 1],
    }
    config["resources"] = RESOURCES
    path = tmp_path / "slurm.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def slurm_jobs() -> list[dict]:
    """Every job SLURM still lists (finished ones for MinJobAge = 300 s): rule, state and what
    was asked for (time limit, memory, CPUs)."""
    out = subprocess.run(
        ["squeue", "-h", "--states=all", "-o", "%k|%T|%l|%m|%C"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    keys = ("comment", "state", "time", "memory", "cpus")
    return [dict(zip(keys, line.split("|"), strict=True)) for line in out.splitlines()]


def test_teacher_student_and_table1_run_through_slurm_and_resume_after_the_time_limit(
    slurm_cluster, tmp_path
):
    config = slurm_config(tmp_path)
    # (a flag first: --configfile, which run_snakemake puts before these, takes several values)
    dry = run_snakemake(tmp_path, "-n", *TARGETS, "--quiet", "rules", configfile=config)
    run_snakemake(
        tmp_path,
        "--profile", str(ROOT / "profiles" / "slurm"),
        # a test cluster has no accounting database (slurmdbd), so no sacct: ask squeue
        "--slurm-status-command", "squeue",
        "--slurm-init-seconds-before-status-checks", "2",
        "--default-resources", "slurm_partition=debug",
        "--jobs", "2",
        "--retries", "3",  # each attempt saves at its limit; a slow machine may need more than 2
        *TARGETS,
        configfile=config,
    )  # fmt: skip
    jobs = slurm_jobs()
    rules = [j["comment"].removeprefix("rule_").split("_wildcards_")[0] for j in jobs]
    states = [j["state"] for j in jobs]
    expected = job_counts(dry.stdout)
    assert sum(expected.values()) == 7, expected
    # every job ran as a SLURM batch job; the student more than once, after its time limit
    assert sorted(r for r, s in zip(rules, states, strict=True) if s == "COMPLETED") == sorted(
        rule for rule, n in expected.items() for _ in range(n)
    ), jobs
    # the student's attempts that reached the limit: TIMEOUT, and nothing else failed
    timed_out = [r for r, s in zip(rules, states, strict=True) if s != "COMPLETED"]
    assert timed_out and set(timed_out) == {"train_student"}, jobs
    assert {s for s in states if s != "COMPLETED"} == {"TIMEOUT"}, jobs
    # each job asked SLURM for its group's resources (config `resources`) and its threads
    for job, rule in zip(jobs, rules, strict=True):
        group = "train" if rule.startswith("train_") else "evaluate"
        if rule.startswith("curate") or rule == "table":
            continue  # the profile's defaults
        assert job["time"] == f"{RESOURCES[group]['runtime']}:00", job
        assert job["memory"] == f"{RESOURCES[group]['mem_mb']}M", job
        assert job["cpus"] == "1", job  # smoke.yaml's threads
    # the retry resumed from the save that SIGTERM made, and finished every epoch
    log = (tmp_path / "results/logs/students/fmnist/r18_from_r18_ls_seed0.log").read_text()
    assert "resuming" in log, log
    final = yaml.safe_load((tmp_path / STUDENT / "final.json").read_text())
    assert final["epochs"] == SLOW_EPOCHS
    assert (tmp_path / "results/tables/table1.md").read_text().count("ResNet-18") >= 1
    again = run_snakemake(tmp_path, "-n", *TARGETS, configfile=config)
    assert "Nothing to be done" in again.stdout + again.stderr


def test_the_slurm_profile_refuses_to_start_without_a_partition(slurm_cluster, tmp_path):
    proc = run_snakemake(
        tmp_path, "--profile", str(ROOT / "profiles" / "slurm"),
        "--slurm-status-command", "squeue", TARGETS[0],
        configfile=slurm_config(tmp_path), check=False,
    )  # fmt: skip
    assert proc.returncode != 0
    assert "no SLURM partition" in proc.stdout + proc.stderr
    assert "slurm_partition" in proc.stdout + proc.stderr
    assert not (tmp_path / "results/data").exists()  # nothing was submitted
