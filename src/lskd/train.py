"""One training loop for every image model of the workflow: teachers and KD students.

It checkpoints after every epoch (``last.pt``) and, when rerun after a kill, resumes from there;
on SIGTERM (a SLURM preemption or requeue) it also saves the epoch in progress and exits with
code 143. A rerun resumes only from a checkpoint that this run wrote (same settings, objective,
data, initial weights and training code: ``Run.resume``); any other is moved to ``stale/`` and the
run starts afresh, and a finished run removes its checkpoint. Every random choice is seeded by
(seed, epoch) and saved with a mid-epoch checkpoint, so a resumed run ends with the same weights
as an uninterrupted one. Per-epoch metrics go to ``metrics.csv`` and, unless turned off, to
TensorBoard event files beside it (``lskd.events``); the run's summary, with its provenance
(``lskd.provenance``, not part of what decides a resume), to ``final.json``. Training runs on
the GPU when there is one, else on the CPU (channels-last memory layout on both), in the
precision ``lskd.precision`` resolves (``auto``: the fastest the machine runs natively,
measured); started by torchrun, it trains data-parallel on every rank (``lskd.distributed``) and
rank 0 writes the files.
"""

import json
import math
import os
import signal
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd
import torch
from tqdm import tqdm

import lskd
from lskd import checkpoint, distributed, provenance
from lskd.data.batches import epoch_generator, train_batches
from lskd.data.errors import DataError
from lskd.data.manifest import load_split
from lskd.events import EventLog
from lskd.fingerprint import module_fingerprint
from lskd.inference import DEVICE, autocast, choose_precision, model_kind, predict, to_device
from lskd.metrics.accuracy import topk_correct
from lskd.models import build_model
from lskd.models.released import folder_of, released_model
from lskd.precision import grad_scaler
from lskd.schedules import schedule_problem


@dataclass
class Recipe:
    """Optimisation recipe (Appendix A: SGD, step decay)."""

    epochs: int
    lr: float
    batch_size: int
    milestones: list[int] = field(default_factory=list)
    gamma: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 1e-4
    cutmix_prob: float = 0.0
    warmup_epochs: int = 0  # linear warm-up from lr / 10 (Goyal et al., 2017)
    optimizer: str = "sgd"  # "adam": weight decay on conv weights only (ReActNet)
    schedule: str = "step"  # "linear": lr decays linearly to 0 over the epochs (ReActNet);
    # "onecycle": per step, up from lr / 10 over the warm-up epochs, then a cosine to ~0
    epoch_images: int | None = None  # a seeded sample of this many training images per epoch

    def __post_init__(self):
        problem = schedule_problem(asdict(self))
        if problem:
            raise ValueError(f"recipe {problem}")


def optimizer(model, recipe: Recipe):
    if recipe.optimizer == "sgd":
        return torch.optim.SGD(
            model.parameters(),
            lr=recipe.lr,
            momentum=recipe.momentum,
            weight_decay=recipe.weight_decay,
        )
    if recipe.optimizer != "adam":
        raise ValueError(f"unknown optimizer {recipe.optimizer!r} (sgd or adam)")
    conv = [p for p in model.parameters() if p.dim() == 4]
    other = [p for p in model.parameters() if p.dim() != 4]
    return torch.optim.Adam(
        [
            {"params": conv, "weight_decay": recipe.weight_decay},
            {"params": other, "weight_decay": 0.0},
        ],
        lr=recipe.lr,
    )


PREEMPTED_EXIT_CODE = 143  # 128 + SIGTERM, what a job killed by the signal would report


class Preemption:
    """Records a SIGTERM instead of dying at once, so the loop can checkpoint first."""

    def __init__(self):
        self.requested = False

    def __enter__(self):
        self._previous = signal.signal(signal.SIGTERM, self._handle)
        return self

    def _handle(self, signum, frame):
        print("SIGTERM: saving the epoch in progress", flush=True)
        self.requested = True

    def __exit__(self, *exc):
        signal.signal(signal.SIGTERM, self._previous)


def steps_per_epoch(images: int, recipe: Recipe) -> int:
    """Optimisation steps of an epoch over ``images`` (or the recipe's epoch_images): batches
    of batch_size, the last one kept unless it has a single image (``train_batches``)."""
    n = min(images, recipe.epoch_images or images)
    return sum(1 for start in range(0, n, recipe.batch_size) if n - start >= 2)


def schedule(opt, recipe: Recipe, steps: int):
    """Step decay at ``milestones`` or linear decay to 0 (per epoch), after an optional linear
    warm-up; or a one-cycle schedule stepped after each of the epoch's ``steps`` batches
    (Smith and Topin, 2019: short runs end annealed instead of at a last step's lr)."""
    if recipe.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            opt,
            recipe.lr,
            total_steps=recipe.epochs * steps,
            pct_start=max(recipe.warmup_epochs, 1) / recipe.epochs,
            div_factor=10.0,
            cycle_momentum=False,
        )
    if recipe.schedule == "linear":
        steps = torch.optim.lr_scheduler.LambdaLR(opt, lambda e: 1 - e / recipe.epochs)
    else:  # "step" (Recipe refuses any other name: lskd.schedules)
        steps = torch.optim.lr_scheduler.MultiStepLR(opt, recipe.milestones, recipe.gamma)
    if not recipe.warmup_epochs:
        return steps
    warmup = torch.optim.lr_scheduler.LinearLR(opt, 0.1, total_iters=recipe.warmup_epochs)
    return torch.optim.lr_scheduler.ChainedScheduler([warmup, steps])


def train(
    data_dir: str | Path,
    out_dir: str | Path,
    arch: str,
    recipe: Recipe,
    objective,
    seed: int = 0,
    stem: str = "imagenet",
    precision: str = "auto",
    meta: dict | None = None,
    init_from: str | Path | None = None,
    workers: int = 0,
    weights: str | None = None,
    tensorboard: bool = True,
    probe_cache: str | Path | None = None,
    weights_dir: str | Path | None = None,
) -> dict:
    """Train ``arch`` on the curated dataset and return final.json. The ``objective`` is a
    teacher's (``lskd.losses.LabelSmoothing``) or a student's (``lskd.distill.Distillation``):
    it owns the loss and says whether batches are augmented. Image-file datasets are decoded by
    ``workers`` loader processes. With ``weights="torchvision"`` the model is torchvision's
    released ImageNet model (from ``weights_dir``: ``lskd.models.released``), already a finished
    teacher: it is validated, not trained.
    ``tensorboard``: write the curves as TensorBoard event files too. ``precision``: auto, bf16,
    fp16 or fp32 (``lskd.precision``; ``probe_cache``: where auto keeps its measurements)."""
    job_start = provenance.now()
    world = distributed.init()
    out_dir = Path(out_dir)
    check_writable(out_dir)
    train_data = load_split(data_dir, "train", workers)
    val_data = load_split(data_dir, "val", workers)
    info = train_data[2]
    torch.manual_seed(seed)
    model, released = initial_model(arch, info, stem, weights, weights_dir, init_from)
    to_device(model)
    per_device = max(1, recipe.batch_size // world.size)
    kind = model_kind(arch, stem)
    choice = choose_precision(precision, model, *val_data, probe_cache, kind, per_device)
    choice = world.same_as_main(choice)
    trained = distributed.wrap(model, world)  # before the optimizer: SyncBatchNorm is new
    resolved = choice.precision
    settings = {"arch": arch, "stem": stem, "seed": seed, "precision": resolved}
    settings["recipe"] = asdict(recipe)
    settings["weights"] = released  # the file's name and SHA-256
    epochs = 0 if weights else recipe.epochs
    identity = run_identity(settings, objective, data_dir, init_from)
    steps = steps_per_epoch(len(train_data[1]), recipe)
    last = out_dir / "last.pt"
    run = Run(model, trained, recipe, objective, world, resolved, seed, last, identity, steps)
    objective.setup(info["num_classes"], *val_data, resolved)
    partial = run.resume()
    events = EventLog(out_dir if world.main else None, run.history, tensorboard)
    with events, Preemption() as preemption:
        run.fit(epochs, train_data, val_data, partial, preemption, events)
    final = {
        **(meta or {}),
        "arch": arch,
        **objective.record,
        "seed": seed,
        "stem": stem,
        "epochs": epochs,
        **({"weights": weights, "released_weights": released} if weights else {}),
        **summary(run.history),
        "processes": world.size,
        "provenance": provenance.record(job_start, world.size, choice),
    }
    if world.main:
        run.finish(final, info, stem)
    return final


def initial_model(arch, info: dict, stem: str, weights, weights_dir, init_from):
    """(the model a run starts from, the record of its released weights or None): random, or
    torchvision's released model (``weights="torchvision"``), or ``init_from``'s weights."""
    k, channels = info["num_classes"], info["channels"]
    if weights is None:
        model, released = build_model(arch, k, channels, stem), None
    elif weights == "torchvision":
        model, released = released_model(arch, k, channels, stem, folder_of(weights_dir))
    else:
        raise ValueError(f"unknown weights {weights!r}; only 'torchvision'")
    if init_from is not None:  # ReActNet's step 2, or fine-tuning from an ImageNet model (CUB)
        load_pretrained(model, init_from)
    return model, released


def summary(history: list[dict]) -> dict:
    """final.json's numbers: the last epoch's top-1/5/3, the best top-1, the training time."""
    return {
        **{k: history[-1][f"val_{k}"] for k in ("top1", "top5", "top3")},
        "best_top1": max(r["val_top1"] for r in history),
        "train_seconds": sum(r["seconds"] for r in history),
    }


def _released_row(validation: dict) -> dict:
    return {"epoch": 0, "train_loss": float("nan"), "lr": 0.0, "seconds": 0.0, **validation}


def _timed(items, waited: list[float]):
    """``items``, adding the seconds each took to arrive to ``waited[0]``."""
    items = iter(items)
    while True:
        start = time.perf_counter()
        item = next(items, None)
        waited[0] += time.perf_counter() - start
        if item is None:
            return
        yield item


def _ordered(row: dict) -> dict:
    """metrics.csv's columns: epoch, train loss, top-1/5, lr, seconds, then data_seconds (of
    them, waiting for batches), val_top3 (the long-tailed tables) and the objective's own
    (val_kd_loss for students)."""
    first = ["epoch", "train_loss", "val_top1", "val_top5", "lr", "seconds"]
    return {k: row[k] for k in first} | {k: v for k, v in row.items() if k not in first}


def check_writable(out_dir: Path) -> None:
    """Fail before the first epoch, not after it, when the run folder cannot be written."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out_dir):
            pass
    except OSError as err:
        raise DataError(
            f"{out_dir}: cannot write the run folder ({err.strerror}); "
            "check its permissions and free space"
        ) from err


def run_identity(settings: dict, objective, data_dir, init_from) -> dict:
    """What produced a run, recorded in its resume checkpoint: settings, the objective's values,
    the curated data's files, the initial weights and the training code."""
    src = Path(lskd.__file__).parent.parent
    data = Path(data_dir)
    return {
        **settings,
        "objective": type(objective).__name__,
        **objective.record,
        "data": [checkpoint.sha256(data / f) for f in ("manifest.csv", "dataset.json")],
        "init": checkpoint.sha256(init_from) if init_from else None,
        "code": module_fingerprint(src, (__name__, type(objective).__module__)),
    }


@dataclass
class Run:
    """One training run: its model, optimiser, schedule and epochs done, and its resume
    checkpoint ``last``, which records the run's ``identity``."""

    model: torch.nn.Module
    trained: torch.nn.Module  # the model, or its data-parallel wrapper
    recipe: Recipe
    objective: object
    world: distributed.World
    precision: str  # resolved: bf16, fp16 or fp32
    seed: int
    last: Path
    identity: dict
    steps: int  # optimisation steps per epoch (a per-step schedule's length)
    history: list[dict] = field(default_factory=list)

    def __post_init__(self):
        self.opt = optimizer(self.model, self.recipe)
        self.sched = schedule(self.opt, self.recipe, self.steps)
        self.per_step = self.recipe.schedule == "onecycle"
        self.scaler = grad_scaler(self.precision, DEVICE)

    def resume(self) -> dict | None:
        """Continue from ``last`` if this run wrote it; move any other aside. Returns the
        interrupted epoch's state, if a SIGTERM stopped one."""
        if not self.last.exists():
            return None
        state = checkpoint.load(self.last)
        recorded = state.get("identity", {})
        changed = sorted(
            k
            for k in recorded.keys() | self.identity.keys()
            if recorded.get(k) != self.identity.get(k)
        )
        if changed:
            self._set_aside(changed)
            return None
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["optimizer"])
        self.sched.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state.get("scaler", {}))
        self.history, partial = state["history"], state.get("partial")
        if partial and not self.world.main:  # the interrupted epoch's loss sums are rank 0's
            partial = partial | {"total": 0.0, "seen": 0}
        where = f"batch {partial['batch']} of " if partial else "after "
        epoch = len(self.history) + (1 if partial else 0)
        print(f"resuming {self.last.parent} at {where}epoch {epoch}", flush=True)
        return partial

    def _set_aside(self, changed: list[str]) -> None:
        stale = self.last.parent / "stale" / time.strftime("last-%Y%m%dT%H%M%S.pt", time.gmtime())
        if self.world.main:
            stale.parent.mkdir(exist_ok=True)
            os.replace(self.last, stale)
        print(
            f"{self.last} was written by another run ({', '.join(changed)} differ): "
            f"moved to {stale}; training from scratch",
            flush=True,
        )

    def fit(self, epochs: int, train_data, val_data, partial, preemption, events) -> None:
        """Train the epochs not done yet (after ``partial``, the rest of an interrupted one),
        validating, checkpointing and logging each; released weights (no epochs) are validated
        once."""
        for epoch in range(len(self.history), epochs):
            lr = self.opt.param_groups[0]["lr"]
            train_loss, started, waited = self.epoch(epoch, train_data, partial, preemption)
            partial = None
            row = {"epoch": epoch + 1, "train_loss": train_loss, **self.validate(val_data)}
            row |= {"lr": lr, "seconds": time.time() - started, "data_seconds": waited}
            self._record(_ordered(row), events)
        if not self.history:
            self._record(_ordered(_released_row(self.validate(val_data))), events)

    def _record(self, row: dict, events) -> None:
        self.history.append(row)
        self.save()
        if self.world.main:
            pd.DataFrame(self.history).to_csv(self.last.parent / "metrics.csv", index=False)
        events.add(row)
        print(
            f"epoch {row['epoch']}: loss {row['train_loss']:.4f} val top-1 "
            f"{row['val_top1']:.2f} top-5 {row['val_top5']:.2f} ({row['seconds']:.1f}s)",
            flush=True,
        )

    def save(self, partial: dict | None = None) -> None:
        if not self.world.main:
            return
        state = {
            "model": self.model.state_dict(),
            "optimizer": self.opt.state_dict(),
            "scheduler": self.sched.state_dict(),
            "scaler": self.scaler.state_dict(),  # empty unless fp16
            "history": self.history,
            "identity": self.identity,
        }
        checkpoint.save(state | ({"partial": partial} if partial else {}), self.last)

    def epoch(self, epoch: int, data, partial: dict | None, preemption) -> tuple[float, ...]:
        """Train one epoch, or the rest of an interrupted one; returns its mean training loss,
        the time it started (earlier by the time an interrupted part took) and the seconds this
        process waited for its batches (an input-bound run waits most of the epoch)."""
        images, labels, info = data
        batch_size = self.recipe.batch_size
        gen = epoch_generator(self.seed, epoch)
        torch.manual_seed(self.seed * 100_003 + epoch)  # dropout, so that resuming is exact
        order = torch.randperm(len(labels), generator=gen)[: self.recipe.epoch_images]
        first, total, seen, elapsed = 0, 0.0, 0, 0.0
        if partial is not None:  # continue the interrupted epoch where it stopped
            order, first = partial["order"], partial["batch"]
            total, seen, elapsed = partial["total"], partial["seen"], partial["seconds"]
            gen.set_state(partial["generator"])
            torch.set_rng_state(partial["torch_rng"])
        started = time.time() - elapsed
        self.trained.train()
        batches = train_batches(
            images,
            labels,
            batch_size,
            gen,
            info,
            aug=self.objective.augment,
            order=order,
            first_batch=first,
            world=self.world,
        )
        progress = tqdm(
            batches,
            total=-(-len(order) // batch_size),
            initial=first,
            mininterval=10,
            leave=False,
            desc=f"epoch {epoch + 1}/{self.recipe.epochs}",
            disable=not self.world.main,
        )
        waited = [0.0]
        for batch, (x, y, idx) in enumerate(_timed(progress, waited), start=first):
            size = len(order[batch * batch_size : (batch + 1) * batch_size])
            loss = self.step(x, y, idx, gen, self.world.local_weight(len(y), size))
            if not math.isfinite(loss):
                raise DataError(
                    f"{self.last.parent}: the training loss became {loss} at epoch {epoch + 1}, "
                    f"batch {batch + 1}; no model written (lower the recipe's lr)"
                )
            total, seen = total + loss * len(y), seen + len(y)
            if self.world.any(preemption.requested):
                self._preempt(epoch, batch + 1, order, gen, total, seen, started)
        if not self.per_step:
            self.sched.step()
        total, seen = self.world.sum(total, seen)
        return total / seen, started, waited[0]

    def _preempt(self, epoch, batch, order, gen, total, seen, started) -> None:
        all_total, all_seen = self.world.sum(total, seen)
        partial = {
            "epoch": epoch,
            "batch": batch,
            "order": order,
            "generator": gen.get_state(),
            "torch_rng": torch.get_rng_state(),
            "total": all_total,
            "seen": all_seen,
            "seconds": time.time() - started,
        }
        self.save(partial)
        print(f"saved {self.last} at batch {batch} of epoch {epoch + 1}", flush=True)
        raise SystemExit(PREEMPTED_EXIT_CODE)

    def step(self, x, y, idx, gen, weight: float) -> float:
        """One optimisation step on a batch (this rank's slice of it, in a data-parallel run,
        whose mean loss ``weight`` rescales); returns the batch's mean loss. A rank mixes CutMix
        boxes within its own slice, as torchvision's reference scripts do."""
        x, y = x.to(DEVICE, non_blocking=True), y.to(DEVICE, non_blocking=True)
        x, targets = self.objective.targets(x, y, idx, gen, self.precision)
        with autocast(self.precision):
            logits = self.trained(x)
        loss = self.objective.loss(logits, targets)
        self.opt.zero_grad(set_to_none=True)
        self.scaler.scale(loss * weight).backward()  # fp16: scaled; otherwise as it is
        self.scaler.step(self.opt)
        self.scaler.update()
        if self.per_step:
            self.sched.step()
        return loss.item()

    def validate(self, data) -> dict:
        """Top-1/5/3 (%) on the validation images, and the objective's own numbers."""
        images, labels, info = data
        logits = predict(self.model, images, labels, info, self.precision)
        hits = topk_correct(logits, labels, ks=(1, 5, 3))
        row = {f"val_top{k}": 100.0 * v / len(labels) for k, v in hits.items()}
        return row | self.objective.validation(logits, labels)

    def finish(self, final: dict, info: dict, stem: str) -> None:
        """Write the model, the curve and final.json; then drop the resume checkpoint, so that a
        forced or code-triggered rerun trains from the initial weights."""
        out_dir = self.last.parent
        checkpoint.save(
            {
                "state_dict": {k: v.cpu() for k, v in self.model.state_dict().items()},
                "arch": final["arch"],
                "num_classes": info["num_classes"],
                "in_channels": info["channels"],
                "stem": stem,
            },
            out_dir / "model.pt",
        )
        pd.DataFrame(self.history).to_csv(out_dir / "metrics.csv", index=False)
        (out_dir / "final.json").write_text(json.dumps(final, indent=2) + "\n")
        self.last.unlink(missing_ok=True)  # (released weights never wrote one)


def load_pretrained(model: torch.nn.Module, path: str | Path) -> list[str]:
    """Start ``model`` from the weights in ``path``, except those whose shape differs (the
    classifier, when the class count differs: it stays randomly initialised). Returns those."""
    state = checkpoint.load(path).get("state_dict")
    if state is None:
        raise DataError(f"{path}: not an lskd model file (no state_dict); rerun the rule")
    own = model.state_dict()
    skipped = [k for k, v in state.items() if k in own and own[k].shape != v.shape]
    for key in skipped:
        state[key] = own[key]
    try:
        model.load_state_dict(state)  # strict: every other weight must match
    except RuntimeError as err:
        first = str(err).strip().splitlines()[0]
        raise DataError(
            f"--init-from {path}: its weights are not this architecture's ({first}); "
            "start from a model of the same architecture"
        ) from err
    if skipped:
        print(f"{path}: kept the new {', '.join(skipped)} (shape differs)", flush=True)
    return skipped
