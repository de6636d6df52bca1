"""A rerun never returns a model of other settings, data, initial weights or code, and training
failures (a diverging loss, a folder that cannot be written, a full disk, a foreign model file)
end with one line and no model."""

import errno
import json

import pytest
import torch

import lskd.train as train_module
from conftest import distillation
from lskd import checkpoint
from lskd.cli import main
from lskd.data.errors import DataError
from lskd.data.manifest import curate
from lskd.inference import load_model
from lskd.losses import LabelSmoothing
from lskd.models import build_model
from lskd.recipe import Recipe, steps_per_epoch
from lskd.train import train

RECIPE = Recipe(epochs=2, lr=0.05, batch_size=32, milestones=[1])


class PreemptAtOnce(train_module.Preemption):
    """A SIGTERM 'received' before the first batch: the run saves after one batch and exits."""

    def __enter__(self):
        super().__enter__()
        self.requested = True
        return self


def interrupted(monkeypatch, *args, **kwargs) -> None:
    """Leave a mid-epoch last.pt behind, as a preempted or killed job does."""
    with monkeypatch.context() as m:
        m.setattr(train_module, "Preemption", PreemptAtOnce)
        with pytest.raises(SystemExit):
            train(*args, **kwargs)


def weights(run_dir):
    return torch.load(run_dir / "model.pt", weights_only=True)["state_dict"]


def assert_same(a, b):
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("precision", ["auto", "fp16"])  # fp16: its loss scale resumes too
@pytest.mark.workflow  # trains and resumes runs
def test_interrupted_run_with_the_same_settings_resumes(
    data, tmp_path, monkeypatch, capsys, precision
):
    run = tmp_path / "run"
    args = ("resnet18", RECIPE, LabelSmoothing(0.1))
    interrupted(monkeypatch, data, run, *args, precision=precision)
    train(data, run, *args, precision=precision)
    assert "resuming" in capsys.readouterr().out
    assert not (run / "last.pt").exists()  # a finished run leaves nothing to resume
    train(data, tmp_path / "fresh", *args, precision=precision)
    assert_same(weights(run), weights(tmp_path / "fresh"))


@pytest.mark.parametrize(
    "change",
    [
        {"objective": LabelSmoothing(0.2)},
        {"arch": "mobilenet_v2"},
        {"recipe": Recipe(epochs=2, lr=0.02, batch_size=32, milestones=[1])},
        {"seed": 1},
        {"precision": "bf16"},  # e.g. auto resolved otherwise on the machine that resumes
    ],
    ids=["alpha", "arch", "recipe", "seed", "precision"],
)
@pytest.mark.workflow  # trains and resumes runs
def test_a_changed_setting_never_resumes_the_old_run(data, tmp_path, monkeypatch, capsys, change):
    old = {"arch": "resnet18", "recipe": RECIPE, "objective": LabelSmoothing(0.0), "seed": 0}
    old["precision"] = "fp32"
    new = old | change
    run = tmp_path / "run"
    interrupted(monkeypatch, data, run, **old)
    train(data, run, **new)
    out = capsys.readouterr().out
    assert "resuming" not in out and "moved to" in out, out
    assert len(list((run / "stale").iterdir())) == 1  # set aside, never deleted
    fresh = tmp_path / "fresh"
    train(data, fresh, **new)
    assert_same(weights(run), weights(fresh))


@pytest.mark.workflow  # trains and resumes runs
def test_changed_data_or_init_never_resumes(fake_fmnist, data, tmp_path, monkeypatch, capsys):
    run = tmp_path / "run"
    interrupted(monkeypatch, data, run, "resnet18", RECIPE, LabelSmoothing(0.1))
    fewer = tmp_path / "fewer"
    curate({"kind": "fashion_mnist", "root": str(fake_fmnist), "train_per_class": 8}, fewer)
    train(fewer, run, "resnet18", RECIPE, LabelSmoothing(0.1))
    assert "moved to" in capsys.readouterr().out

    init = tmp_path / "init"  # a rerun with another --init-from than the interrupted one
    train(data, init, "resnet18", Recipe(epochs=1, lr=0.05, batch_size=32), LabelSmoothing(0.0))
    interrupted(monkeypatch, data, run, "resnet18", RECIPE, LabelSmoothing(0.1))
    train(data, run, "resnet18", RECIPE, LabelSmoothing(0.1), init_from=init / "model.pt")
    assert "moved to" in capsys.readouterr().out
    fresh = tmp_path / "fresh"
    train(data, fresh, "resnet18", RECIPE, LabelSmoothing(0.1), init_from=init / "model.pt")
    assert_same(weights(run), weights(fresh))


@pytest.mark.workflow  # trains and resumes runs
def test_a_student_with_another_lam_or_teacher_never_resumes(data, tmp_path, monkeypatch, capsys):
    teachers = []
    for alpha in (0.0, 0.1):
        out = tmp_path / f"teacher{alpha}"
        train(
            data, out, "resnet18", Recipe(epochs=1, lr=0.05, batch_size=32), LabelSmoothing(alpha)
        )
        teachers.append(out / "model.pt")

    def student(lam, teacher):
        return distillation(load_model(teacher), lam=lam, sha=checkpoint.sha256(teacher))

    run = tmp_path / "student"
    for change in (student(0.9, teachers[0]), student(0.5, teachers[1])):
        interrupted(monkeypatch, data, run, "resnet18", RECIPE, student(0.5, teachers[0]))
        train(data, run, "resnet18", RECIPE, change)
        assert "moved to" in capsys.readouterr().out
    fresh = tmp_path / "fresh"
    train(data, fresh, "resnet18", RECIPE, student(0.5, teachers[1]))
    assert_same(weights(run), weights(fresh))
    objective = json.loads((run / "final.json").read_text())["objective"]  # a student's, whole
    assert objective == {"kind": "distillation", "teacher": "teacher", "lam": 0.5,
                         "temperature": 1.0, "teacher_logits": "online"}  # fmt: skip


@pytest.mark.workflow  # trains and resumes runs
def test_a_finished_run_rerun_trains_from_scratch(data, tmp_path):
    """What a --forcerun or a code-triggered rerun does: the old weights never come back."""
    run = tmp_path / "run"
    short = Recipe(epochs=1, lr=0.05, batch_size=32)
    train(data, run, "resnet18", short, LabelSmoothing(0.1))
    first = weights(run)
    train(data, run, "resnet18", short, LabelSmoothing(0.1))  # a second epoch would differ
    assert_same(weights(run), first)
    longer = Recipe(epochs=2, lr=0.05, batch_size=32)
    train(data, run, "resnet18", longer, LabelSmoothing(0.1))
    train(data, tmp_path / "fresh", "resnet18", longer, LabelSmoothing(0.1))
    assert_same(weights(run), weights(tmp_path / "fresh"))


def cli(capsys, *args) -> str:
    assert main([str(a) for a in args]) == 2
    err = capsys.readouterr().err  # tqdm's progress bar shares stderr, on lines ending in \r
    lines = [line for line in err.replace("\r", "\n").splitlines() if "error" in line]
    assert len(lines) == 1 and lines[0].startswith("lskd "), err
    assert "Traceback" not in err
    return lines[0]


def teacher_args(data, out, **recipe):
    return [
        "train", "--data", data, "--out", out, "--arch", "resnet18",
        "--objective", '{"kind": "label_smoothing", "alpha": 0.1}',
        "--recipe", json.dumps({"epochs": 1, "lr": 0.05, "batch_size": 32} | recipe),
        "--threads", "1",
    ]  # fmt: skip


def test_a_diverging_loss_stops_the_run_and_writes_no_model(data, tmp_path, capsys):
    err = cli(capsys, *teacher_args(data, tmp_path / "run", lr=1e30))
    assert "loss became" in err and "epoch 1, batch" in err
    assert not (tmp_path / "run" / "model.pt").exists()


def test_an_unwritable_run_folder_fails_before_training(data, tmp_path, capsys):
    (tmp_path / "file").write_text("")
    err = cli(capsys, *teacher_args(data, tmp_path / "file" / "run"))
    assert "cannot write the run folder" in err and "file" in err


def test_init_from_another_architecture_is_one_line(data, tmp_path, capsys):
    other = tmp_path / "mobilenet"
    recipe = Recipe(epochs=1, lr=0.05, batch_size=32)
    train(data, other, "mobilenet_v2", recipe, LabelSmoothing(0.0))
    args = teacher_args(data, tmp_path / "run") + ["--init-from", other / "model.pt"]
    assert "not this architecture's" in cli(capsys, *args)


def test_foreign_model_files_are_one_line_errors(fake_fmnist, data, tmp_path, capsys):
    no_keys = tmp_path / "no_keys.pt"
    torch.save({"weights": torch.zeros(2)}, no_keys)
    three = tmp_path / "three"  # a model of another class count than the data
    curate({"kind": "fashion_mnist", "root": str(fake_fmnist), "classes": 3}, three)
    train(three, tmp_path / "t3", "resnet18", Recipe(epochs=1, lr=0.05, batch_size=32),
          LabelSmoothing(0.0))  # fmt: skip
    cases = {no_keys: "not an lskd model file", tmp_path / "t3" / "model.pt": "3 classes"}
    for model, message in cases.items():
        args = ["evaluate", "--model", model, "--data", data, "--out", tmp_path / "eval"]
        final = tmp_path / "final.json"
        final.write_text("{}")
        assert message in cli(capsys, *args, "--final", final, "--threads", "1")
        assert not (tmp_path / "eval" / "eval.json").exists()


def test_a_full_disk_says_so_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    def full_disk(obj, path):
        with open(path, "wb") as f:
            f.write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(DataError, match="disk is full"):
        checkpoint.save({"x": 1}, tmp_path / "model.pt")
    assert list(tmp_path.iterdir()) == []


def test_released_weights_are_validated_not_trained(data, tmp_path):
    """weights: torchvision makes the released model the finished teacher (paper.yaml's no-LS
    ImageNet baselines): one validation, no optimisation step, the weights' file recorded. A
    stand-in for the data's 3 classes (a rehearsal's) takes the place of torchvision's file."""
    rgb = tmp_path / "rgb"
    curate({"kind": "image_folder", "root": str(image_tree(tmp_path)), "image_size": 32}, rgb)
    torch.manual_seed(0)
    state = build_model("resnet18", 3).state_dict()
    folder = tmp_path / "weights"
    folder.mkdir()
    torch.save(state, folder / "resnet18.pth")
    digest = checkpoint.sha256(folder / "resnet18.pth")
    (folder / "resnet18.pth").rename(folder / f"resnet18-{digest[:8]}.pth")
    run = tmp_path / "released"
    final = train(rgb, run, "resnet18", RECIPE, LabelSmoothing(0.0), weights="torchvision",
                  weights_dir=folder, precision="fp32")  # fmt: skip
    assert final["epochs"] == 0 and final["weights"] == "torchvision"
    assert final["released_weights"] == {"file": f"resnet18-{digest[:8]}.pth", "sha256": digest,
                                         "released": False}  # fmt: skip
    assert_same(weights(run), state)
    assert len((run / "metrics.csv").read_text().splitlines()) == 2  # header + the validation


def image_tree(tmp_path):
    """An ImageFolder tree of three classes, 4 train and 2 val images each."""
    from PIL import Image

    root = tmp_path / "images"
    for split, n in (("train", 4), ("val", 2)):
        for c in range(3):
            (root / split / f"n0{c}").mkdir(parents=True)
            for i in range(n):
                Image.new("RGB", (40, 36), (60 * c, 20 * i, 90)).save(
                    root / split / f"n0{c}/{i}.jpg"
                )
    return root


def test_epoch_images_trains_each_epoch_on_its_own_seeded_sample(data, tmp_path, monkeypatch):
    """recipe epoch_images: each epoch steps through that many distinct training images, another
    sample each epoch, the same in a rerun; and a run interrupted mid-epoch resumes to the
    weights of an uninterrupted one."""
    seen = []
    step = train_module.train_step

    def record(run, x, y, idx, gen, weight):
        seen.append(idx.clone())
        return step(run, x, y, idx, gen, weight)

    monkeypatch.setattr(train_module, "train_step", record)
    recipe = Recipe(epochs=2, lr=0.05, batch_size=8, epoch_images=20)
    train(data, tmp_path / "a", "cifar_resnet8", recipe, LabelSmoothing(0.0), stem="small")
    epochs = [torch.cat(seen[:3]), torch.cat(seen[3:])]  # batches of 8, 8 and 4 images
    assert [len(e) for e in epochs] == [20, 20] and len(seen) == 6
    assert all(len(set(e.tolist())) == 20 for e in epochs)
    assert set(epochs[0].tolist()) != set(epochs[1].tolist())
    first = [i.tolist() for i in seen]
    seen.clear()
    run = tmp_path / "b"
    interrupted(monkeypatch, data, run, "cifar_resnet8", recipe, LabelSmoothing(0.0), stem="small")
    train(data, run, "cifar_resnet8", recipe, LabelSmoothing(0.0), stem="small")
    assert [
        i.tolist() for i in seen
    ] == first  # the interrupted run did batch 1, the rerun the rest
    assert_same(weights(run), weights(tmp_path / "a"))


def test_onecycle_steps_per_batch_and_resumes_exactly(data, tmp_path, monkeypatch):
    """schedule onecycle: lr rises from lr/10 over the warm-up epoch, peaks once and ends near 0,
    one scheduler step per batch (torch's OneCycleLR formula); a run interrupted mid-epoch
    resumes to the weights of an uninterrupted one."""
    lrs = []
    step = train_module.train_step

    def record(run, *args):
        lrs.append(run.opt.param_groups[0]["lr"])
        return step(run, *args)

    monkeypatch.setattr(train_module, "train_step", record)
    recipe = Recipe(epochs=2, lr=0.05, batch_size=16, schedule="onecycle", warmup_epochs=1)
    train(data, tmp_path / "a", "cifar_resnet8", recipe, LabelSmoothing(0.0), stem="small")
    per_epoch = steps_per_epoch(120, recipe)  # 8 batches of 120 images
    assert per_epoch == 8 and len(lrs) == 16
    assert lrs[0] == pytest.approx(0.005) and max(lrs) == pytest.approx(0.05, rel=0.02)
    assert lrs.index(max(lrs)) in (7, 8) and lrs[-1] < 0.005 and lrs == sorted(lrs[:8]) + lrs[8:]
    run = tmp_path / "b"
    interrupted(monkeypatch, data, run, "cifar_resnet8", recipe, LabelSmoothing(0.0), stem="small")
    train(data, run, "cifar_resnet8", recipe, LabelSmoothing(0.0), stem="small")
    assert_same(weights(run), weights(tmp_path / "a"))
