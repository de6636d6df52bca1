"""The smoke workflow through profiles/slurm on a real single-node SLURM cluster (munge,
slurmctld and slurmd on localhost, started here; .ci/run installs Debian's packages).

The test submits Figure 4's part of the smoke DAG (curation, two teachers, their evaluation, the
figure: 6 jobs, about a minute): the plugin polls SLURM every 10 s or more, so the whole smoke DAG
takes about 9 minutes this way, which it did once by hand; the local tests cover the
rest of the DAG."""

import shutil
import subprocess
from pathlib import Path

import pytest

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


TARGET = "results/figures/fig4.png"


def test_smoke_workflow_completes_through_the_slurm_profile(slurm_cluster, tmp_path):
    shutil.copy(ROOT / "configs" / "smoke.yaml", tmp_path / "smoke.yaml")
    config = tmp_path / "smoke.yaml"
    # (a flag first: --configfile, which run_snakemake puts before these, takes several values)
    dry = run_snakemake(tmp_path, "-n", TARGET, "--quiet", "rules", configfile=config)
    run_snakemake(
        tmp_path,
        "--profile", str(ROOT / "profiles" / "slurm"),
        # a test cluster has no accounting database (slurmdbd), so no sacct: ask squeue
        "--slurm-status-command", "squeue",
        "--slurm-init-seconds-before-status-checks", "2",
        "--default-resources", "slurm_partition=debug",
        "--jobs", "2",
        TARGET,
        configfile=config,
    )  # fmt: skip
    assert (tmp_path / TARGET).stat().st_size > 1000
    assert len(list((tmp_path / "results/fmnist/teachers").glob("*/seed0/eval/eval.json"))) == 2
    # every job ran as a SLURM batch job (squeue lists finished jobs for MinJobAge = 300 s)
    states = subprocess.run(
        ["squeue", "-h", "--states=all", "-o", "%T"], capture_output=True, text=True, check=True
    ).stdout.split()
    assert states.count("COMPLETED") == sum(job_counts(dry.stdout).values()) == 6, states
    again = run_snakemake(tmp_path, "-n", TARGET, configfile=config)
    assert "Nothing to be done" in again.stdout + again.stderr
