"""A job killed after epoch k and rerun ends with the weights of an uninterrupted run."""

import json
import signal
import subprocess
import sys
import time

import torch

from lskd.data.manifest import curate

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
        "train-teacher",
        "--data",
        str(data),
        "--out",
        str(out),
        "--arch",
        "mobilenet_v2",
        "--alpha",
        "0.1",
        "--recipe",
        json.dumps(RECIPE),
        "--seed",
        "3",
        "--threads",
        "1",
    ]


def test_killed_run_resumes_to_identical_weights(fake_fmnist, tmp_path):
    data = tmp_path / "data"
    curate({"kind": "fashion_mnist", "root": str(fake_fmnist)}, data)

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
    assert final["epochs"] == 4 and final["alpha"] == 0.1
