"""A job killed after epoch k and rerun ends with the weights of an uninterrupted run."""

import json
import signal
import subprocess
import sys
import time

import pytest
import torch

pytestmark = pytest.mark.workflow  # whole training runs in subprocesses, killed and resumed

RECIPE = {
    "epochs": 4,
    "lr": 0.05,
    "batch_size": 32,
    "milestones": [3],
    "warmup_epochs": 1,
    "cutmix_prob": 0.5,
}


def train_cmd(data, out):
    return [
        sys.executable,
        "-m",
        "lskd",
        "train",
        "--data",
        str(data),
        "--out",
        str(out),
        "--arch",
        "mobilenet_v2",
        "--objective",
        '{"kind": "label_smoothing", "alpha": 0.1}',
        "--recipe",
        json.dumps(RECIPE),
        "--seed",
        "3",
        "--threads",
        "1",
    ]


def test_killed_run_resumes_to_identical_weights(data, tmp_path):

    straight = tmp_path / "straight"
    subprocess.run(train_cmd(data, straight), check=True, capture_output=True)

    killed = tmp_path / "killed"
    proc = subprocess.Popen(
        train_cmd(data, killed), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    metrics = killed / "metrics.csv"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if metrics.exists() and len(metrics.read_text().splitlines()) >= 2:  # header + epoch 1
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.01)
    assert proc.wait() == -signal.SIGKILL, "the run ended before it could be killed"
    assert not (killed / "final.json").exists()

    resumed = subprocess.run(train_cmd(data, killed), check=True, capture_output=True, text=True)
    assert "resuming" in resumed.stdout

    a = torch.load(straight / "model.pt", weights_only=True)["state_dict"]
    b = torch.load(killed / "model.pt", weights_only=True)["state_dict"]
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    assert (straight / "metrics.csv").read_text().count("\n") == 5  # header + 4 epochs
    final = json.loads((killed / "final.json").read_text())
    assert final["epochs"] == 4 and final["objective"] == {"kind": "label_smoothing", "alpha": 0.1}


def test_sigterm_saves_the_epoch_in_progress_and_the_rerun_finishes_identically(data, tmp_path):
    """SLURM preemption sends SIGTERM: the job saves mid-epoch, exits 143, and resumes."""
    straight = tmp_path / "straight"
    subprocess.run(train_cmd(data, straight), check=True, capture_output=True)

    stopped = tmp_path / "stopped"
    proc = subprocess.Popen(train_cmd(data, stopped), stdout=subprocess.PIPE, text=True)
    metrics = stopped / "metrics.csv"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if metrics.exists() and len(metrics.read_text().splitlines()) >= 2:
            proc.send_signal(signal.SIGTERM)
            break
        time.sleep(0.01)
    out, _ = proc.communicate()
    assert proc.returncode == 143, out
    assert "SIGTERM: saving the epoch in progress" in out
    state = torch.load(stopped / "last.pt", weights_only=True)
    assert state["partial"]["batch"] >= 1 and len(state["history"]) >= 1

    resumed = subprocess.run(train_cmd(data, stopped), check=True, capture_output=True, text=True)
    assert "resuming" in resumed.stdout and "batch" in resumed.stdout
    a = torch.load(straight / "model.pt", weights_only=True)["state_dict"]
    b = torch.load(stopped / "model.pt", weights_only=True)["state_dict"]
    for key in a:
        assert torch.equal(a[key], b[key]), key

    # the interrupted epoch's numbers are the uninterrupted ones' (all but the seconds)
    def rows(run):
        lines = (run / "metrics.csv").read_text().splitlines()
        return [line.split(",")[:5] for line in lines]

    assert rows(straight) == rows(stopped)
