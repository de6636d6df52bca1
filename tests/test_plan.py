"""lskd plan: the bill of a config against counts and formulas computed here, and its flags."""

import copy
import json

import pytest
import yaml

from conftest import ROOT
from lskd import plan
from lskd.cli import main
from lskd.workflow import config_file, paths

SCHEMA = str(ROOT / "workflow/schemas/config.schema.yaml")


def config(name: str) -> dict:
    c = yaml.safe_load((ROOT / name).read_text())
    config_file.validate_schema(c, SCHEMA)
    return c


@pytest.fixture(autouse=True)
def uncurated(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no results/data/<d>/dataset.json: the releases' sizes


def test_image_passes_and_gpu_hours_follow_the_config_and_the_table():
    c = config("configs/smoke.yaml")
    table = {"image_size": 224, "images_per_second": {"resnet18": 500.0, "resnet50": 250.0}}
    frame, groups, warnings = plan.bill(c, table)
    teacher = frame[frame.job == "resnet18 seed 0"].iloc[0]
    recipe = c["recipes"][c["teachers"]["resnet18"]["recipe"]]
    images = c["datasets"]["fmnist"]["train_per_class"] * 10
    assert teacher.image_passes == images * recipe["epochs"]
    assert teacher.gpu_hours == pytest.approx(images * recipe["epochs"] / 500.0 / 3600)
    seeds = sum(len(paths.seeds_of(c, n)) for n in c["teachers"])
    assert groups.loc[("teachers", slice(None)), "jobs"].sum() == seeds
    assert groups.loc[("total", ""), "gpu_hours"] == pytest.approx(frame.gpu_hours.sum())
    assert any("translation (nmt) is not estimated" in w for w in warnings)


def test_an_unmeasured_architecture_is_scaled_by_flops_and_listed():
    c = config("configs/smoke.yaml")
    table = {"image_size": 28, "images_per_second": {"resnet50": 300.0}}
    frame, _, warnings = plan.bill(c, table)
    cache = {}
    r50 = plan.forward_flops("resnet50", "imagenet", 3, 28, cache)
    r18 = plan.forward_flops("resnet18", "imagenet", 1, 28, cache)  # Fashion-MNIST: 1 channel
    teacher = frame[frame.job == "resnet18 seed 0"].iloc[0]
    expected = 300.0 * r50 / r18  # images/s, scaled by the forward-backward FLOPs (3x forward)
    assert teacher.gpu_hours == pytest.approx(teacher.image_passes / expected / 3600)
    student = frame[frame.job == "r18_from_r18 seed 0"].iloc[0]  # its teacher runs online
    assert student.pflop * 1e15 == pytest.approx(student.image_passes * 4 * r18)
    assert student.gpu_hours == pytest.approx(student.image_passes * 4 / 3 / expected / 3600)
    assert any(w.startswith("not measured on your GPU") and "resnet18" in w for w in warnings)


def test_papers_bill_flags_the_long_jobs_and_the_released_teachers_cost_nothing():
    c = config("configs/paper.yaml")
    frame, groups, warnings = plan.bill(c)
    released = frame[frame.job.str.startswith(("r18 ", "r101 "))]
    assert (released.image_passes == 0).all() and not released.over_limit.any()
    over = set(frame[frame.over_limit].job.str.rsplit(" seed", n=1).str[0])
    assert "mbv2_ls" in over  # 300 epochs of ImageNet
    imagenet = frame[(frame.dataset == "imagenet") & (frame.job.str.startswith("r50 "))]
    epochs = c["recipes"][c["teachers"]["r50"]["recipe"]]["epochs"]
    assert (imagenet.image_passes == 1_281_167 * epochs).all()
    assert 3000 < groups.loc[("total", ""), "gpu_hours"] < 6000  # ~4,150 estimated by hand
    assert any("input-bound" in w for w in warnings)


def test_the_command_prints_and_writes_the_bill(tmp_path, capsys):
    out = tmp_path / "bill.md"
    table = tmp_path / "throughput.json"
    table.write_text(json.dumps({"image_size": 28, "images_per_second": {"resnet18": 900}}))
    argv = ["plan", "--configfile", str(ROOT / "configs/smoke.yaml"), "--throughput", str(table)]
    assert main([*argv, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed == out.read_text() and "| **total** |" in printed
    assert (tmp_path / "bill.csv").read_text().startswith("group,dataset,job,arch,image_passes")


def test_a_curated_dataset_counts_its_own_images(tmp_path):
    c = copy.deepcopy(config("configs/smoke.yaml"))
    folder = tmp_path / "results/data/fmnist"
    folder.mkdir(parents=True)
    (folder / "dataset.json").write_text(json.dumps({"counts": {"train": 123, "val": 7}}))
    assert plan.train_images(c, "fmnist") == 123
