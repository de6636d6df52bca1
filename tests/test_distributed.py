"""Data-parallel training (issue 8): two CPU processes under torchrun (gloo) end with identical
weights, equal to one process trained on the full batches."""

import json
import os
import subprocess
import sys

import pytest
import torch

pytestmark = pytest.mark.workflow  # training runs under torchrun

# The worker's model has BatchNorm, which couples the samples of a batch: the ranks normalise with
# the global batch's statistics (lskd.distributed.GlobalBatchNorm on CPUs), or they would differ.
WORKER = """
import sys, torch
from torch import nn
import lskd.train as train
from lskd.recipe import Recipe
from lskd.losses import LabelSmoothing

def small_net(arch, num_classes, in_channels, stem, weights=None):
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(in_channels, 8, 3), nn.BatchNorm2d(8), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.0),
                         nn.Linear(8, num_classes))

trained = {}
wrap = train.distributed.wrap

def keep_model(model, world):  # to save every rank's weights, not only rank 0's model.pt
    trained["model"], trained["rank"] = model, world.rank
    return wrap(model, world)

train.build_model = small_net
train.distributed.wrap = keep_model
data, out = sys.argv[1], sys.argv[2]
recipe = Recipe(epochs=1, lr=0.2, batch_size=45, weight_decay=1e-3)
train.train(data, out, "small", recipe, LabelSmoothing(0.1), seed=1, precision="fp32")
torch.save(trained["model"].state_dict(), f"{out}/rank{trained['rank']}.pt")
"""


def run(args, tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(args, capture_output=True, text=True, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return proc


def test_two_gloo_ranks_equal_one_process_with_the_full_batch(data, tmp_path):
    # data: 120 images, batches of 45, 45 and 30
    worker = tmp_path / "worker.py"
    worker.write_text(WORKER)
    run([sys.executable, str(worker), str(data), str(tmp_path / "one")], tmp_path)
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    run(torchrun + [str(worker), str(data), str(tmp_path / "two")], tmp_path)

    one = torch.load(tmp_path / "one/model.pt", weights_only=True)["state_dict"]
    two = torch.load(tmp_path / "two/model.pt", weights_only=True)["state_dict"]
    rank0 = torch.load(tmp_path / "two/rank0.pt", weights_only=True)
    rank1 = torch.load(tmp_path / "two/rank1.pt", weights_only=True)
    init = small_init()
    for key in one:
        assert torch.equal(rank0[key], rank1[key]), key  # DDP keeps the ranks identical
        assert torch.equal(rank0[key], two[key]), key  # rank 0 wrote model.pt
        # the same as one process, up to the order of float sums in the gradient average
        assert torch.allclose(two[key], one[key], atol=1e-6, rtol=1e-5), key
        assert not torch.allclose(one[key], init[key]), key  # training moved every weight
    final = json.loads((tmp_path / "two/final.json").read_text())
    assert final["processes"] == 2
    metrics_one = (tmp_path / "one/metrics.csv").read_text().splitlines()[1].split(",")
    metrics_two = (tmp_path / "two/metrics.csv").read_text().splitlines()[1].split(",")
    # train loss (summed over ranks) and validation top-1 agree
    assert abs(float(metrics_one[1]) - float(metrics_two[1])) < 1e-5
    assert metrics_one[2] == metrics_two[2]


def small_init():
    from torch import nn

    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                        nn.Flatten(), nn.Dropout(0.0), nn.Linear(8, 10))  # fmt: skip
    return net.state_dict()
