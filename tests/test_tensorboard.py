"""TensorBoard event files beside metrics.csv, read back with TensorBoard's own reader: the same
scalars per epoch, after a resume too, none when switched off; fairseq's for the NMT runs."""

import json

import pandas as pd
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.backend.event_processing.event_multiplexer import EventMultiplexer

import lskd.train as train_module
from conftest import distillation
from lskd import checkpoint
from lskd.cli import main
from lskd.inference import load_model
from lskd.losses import LabelSmoothing
from lskd.recipe import Recipe
from lskd.train import train

RECIPE = Recipe(epochs=3, lr=0.05, batch_size=32, milestones=[2])


def event_files(run):
    return sorted(run.glob("events.out.tfevents.*"))


def scalars(folder) -> dict[str, list[tuple[int, float]]]:
    events = EventAccumulator(str(folder))
    events.Reload()
    return {
        tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]
    }


def assert_curves_equal_metrics_csv(run) -> None:
    metrics = pd.read_csv(run / "metrics.csv")
    curves = scalars(run)
    assert set(curves) == set(metrics.columns) - {"epoch"}
    for column, points in curves.items():
        assert [step for step, _ in points] == metrics.epoch.tolist(), column
        assert [v for _, v in points] == pytest.approx(metrics[column].tolist(), rel=1e-6), column


@pytest.mark.workflow  # trains (and resumes) runs
def test_teacher_and_student_curves_equal_metrics_csv(data, tmp_path):
    teacher = tmp_path / "teacher"
    train(data, teacher, "resnet18", RECIPE, LabelSmoothing(0.1))
    assert len(event_files(teacher)) == 1
    assert_curves_equal_metrics_csv(teacher)
    assert {"train_loss", "val_top1", "val_top5", "lr"} <= set(scalars(teacher))

    model = teacher / "model.pt"
    student = tmp_path / "student"
    objective = distillation(load_model(model), lam=0.5, sha=checkpoint.sha256(model))
    train(data, student, "resnet18", RECIPE, objective)
    assert_curves_equal_metrics_csv(student)
    kd = [v for _, v in scalars(student)["val_kd_loss"]]
    assert len(kd) == RECIPE.epochs and all(v > 0 for v in kd)
    lr = [v for _, v in scalars(student)["lr"]]
    assert lr == pytest.approx([0.05, 0.05, 0.005])  # the recipe's step decay at epoch 2


class PreemptInEpochTwo(train_module.Preemption):
    """A SIGTERM 'received' during the second epoch (four batches of 32 per epoch here)."""

    def __init__(self):
        super().__init__()
        self.reads = 0

    @property
    def requested(self):
        self.reads += 1
        return self.reads > 5

    @requested.setter
    def requested(self, value):
        pass


@pytest.mark.workflow  # trains (and resumes) runs
def test_a_resumed_run_has_one_event_file_with_every_epoch_once(data, tmp_path, monkeypatch):
    run = tmp_path / "run"
    with monkeypatch.context() as m:
        m.setattr(train_module, "Preemption", PreemptInEpochTwo)
        with pytest.raises(SystemExit):
            train(data, run, "resnet18", RECIPE, LabelSmoothing(0.1))
    assert [step for step, _ in scalars(run)["train_loss"]] == [1]  # epoch 1 before the kill
    train(data, run, "resnet18", RECIPE, LabelSmoothing(0.1))
    assert len(event_files(run)) == 1
    assert_curves_equal_metrics_csv(run)
    assert pd.read_csv(run / "metrics.csv").epoch.tolist() == [1, 2, 3]


def test_no_tensorboard_writes_none_and_removes_an_earlier_runs(data, tmp_path):
    run = tmp_path / "run"
    args = ["train", "--data", data, "--out", run, "--arch", "resnet18",
            "--objective", '{"kind": "label_smoothing", "alpha": 0.1}',
            "--recipe", json.dumps({"epochs": 1, "lr": 0.05, "batch_size": 32}),
            "--threads", "1"]  # fmt: skip
    assert main([str(a) for a in args]) == 0
    assert len(event_files(run)) == 1
    assert main([str(a) for a in args + ["--no-tensorboard"]]) == 0
    assert event_files(run) == [] and (run / "metrics.csv").exists()


@pytest.mark.workflow
def test_tensorboard_lists_every_run_of_the_smoke_workflow(smoke_run):
    results = smoke_run / "results"
    runs = EventMultiplexer().AddRunsFromDirectory(str(results)).Runs()
    image_runs = {str(p.parent.relative_to(results)) for p in results.rglob("metrics.csv")}
    assert image_runs and image_runs <= set(runs)
    for run in image_runs:
        assert_curves_equal_metrics_csv(results / run)
    nmt_runs = sorted(p.parent for p in results.glob("nmt/*/*/seed*/curve.csv"))
    assert len(nmt_runs) == 4
    for run in nmt_runs:  # fairseq's own event files: validation BLEU after every epoch
        valid = run / "fairseq/tensorboard/valid"
        assert str(valid.relative_to(results)) in runs
        bleu = [v for _, v in scalars(valid)["bleu"]]
        assert bleu == pytest.approx(pd.read_csv(run / "curve.csv").valid_bleu.tolist(), abs=1e-4)
