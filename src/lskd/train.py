"""One training loop for every image model of the workflow: teachers and KD students.

It reads top to bottom: ``train`` sets a run up and calls ``fit``, which runs
``train_one_epoch`` (``train_step`` per batch) and ``evaluate`` for each epoch, then ``finish``
writes the model. Beside the loop, not inside it, ``lskd.resume`` keeps the resume checkpoint
(``last.pt``, after every epoch; on SIGTERM, a SLURM preemption or requeue, also the epoch in
progress, then exit code 143): a rerun resumes only from a checkpoint this run wrote (same
settings, objective, data, initial weights and training code) and moves any other to
``stale/``; a finished run removes it. Every random choice is seeded by (seed, epoch) and saved
with a mid-epoch checkpoint, so a resumed run ends with the same weights as an uninterrupted one.
The objective (``lskd.objectives``) owns the loss. Per-epoch metrics go to ``metrics.csv`` and,
unless turned off, to TensorBoard event files beside it (``lskd.events``); the run's summary,
with its provenance (``lskd.provenance``, not part of what decides a resume), to ``final.json``.
Training runs on the GPU when there is one, else on the CPU (channels-last memory layout on
both), in the precision ``lskd.precision`` resolves (``auto``: the fastest the machine runs
natively, measured); started by torchrun, it trains data-parallel on every rank
(``lskd.distributed``) and rank 0 writes the files.
"""

import json
import math
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd
import torch
from tqdm import tqdm

import lskd
from lskd import checkpoint, distributed, objectives, provenance
from lskd.data.batches import epoch_generator, train_batches
from lskd.data.errors import DataError
from lskd.data.manifest import load_split
from lskd.events import EventLog
from lskd.fingerprint import module_fingerprint
from lskd.inference import DEVICE, autocast, choose_precision, model_kind, predict, to_device
from lskd.metrics.accuracy import topk_correct
from lskd.models import build_model
from lskd.models.released import folder_of, released_model
from lskd.objectives import Objective
from lskd.precision import grad_scaler
from lskd.recipe import Recipe, optimizer, schedule, steps_per_epoch
from lskd.resume import Checkpoint, Preemption


def train(
    data_dir: str | Path,
    out_dir: str | Path,
    arch: str,
    recipe: Recipe,
    objective: Objective,
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
    """Train ``arch`` on the curated dataset and return final.json. The ``objective``
    (``lskd.objectives``, prepared) owns the loss and says whether batches are augmented.
    Image-file datasets are decoded by ``workers`` loader processes. With
    ``weights="torchvision"`` the model is torchvision's released ImageNet model (from
    ``weights_dir``: ``lskd.models.released``), already a finished teacher: it is validated, not
    trained. ``tensorboard``: write the curves as TensorBoard event files too. ``precision``:
    auto, bf16, fp16 or fp32 (``lskd.precision``; ``probe_cache``: where auto keeps its
    measurements)."""
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
    kind, per_device = model_kind(arch, stem), max(1, recipe.batch_size // world.size)
    choice = choose_precision(precision, model, *val_data, probe_cache, kind, per_device)
    choice = world.same_as_main(choice)
    trained = distributed.wrap(model, world)  # before the optimizer: SyncBatchNorm is new
    steps = steps_per_epoch(len(train_data[1]), recipe)
    run = Run(model, trained, recipe, objective, world, choice.precision, seed, steps)
    settings = {"arch": arch, "stem": stem, "seed": seed, "precision": choice.precision,
                "recipe": asdict(recipe), "weights": released}  # fmt: skip
    saved = Checkpoint(out_dir / "last.pt", run_identity(settings, objective, data_dir, init_from))
    objective.setup(info["num_classes"], *val_data, choice.precision)
    partial = saved.resume(run)
    epochs = 0 if weights else recipe.epochs
    with EventLog(out_dir if world.main else None, run.history, tensorboard) as events:
        with Preemption() as preemption:
            fit(run, epochs, train_data, val_data, Progress(saved, events, partial, preemption))
    final = {
        **(meta or {}), "arch": arch, **objective.record, "seed": seed, "stem": stem,
        "epochs": epochs, **({"weights": weights, "released_weights": released} if weights else {}),
        **summary(run.history), "processes": world.size,
        "provenance": provenance.record(job_start, world.size, choice),
    }  # fmt: skip
    if world.main:
        finish(run, out_dir, final, info, stem)
        saved.remove()
    return final


@dataclass
class Run:
    """A run's training state: model (and its data-parallel wrapper ``trained``), optimiser,
    schedule, loss scaler and the epochs done (``history``)."""

    model: torch.nn.Module
    trained: torch.nn.Module
    recipe: Recipe
    objective: Objective
    world: distributed.World
    precision: str  # resolved: bf16, fp16 or fp32
    seed: int
    steps: int  # optimisation steps per epoch (a per-step schedule's length)
    history: list[dict] = field(default_factory=list)

    def __post_init__(self):
        self.opt = optimizer(self.model, self.recipe)
        self.sched = schedule(self.opt, self.recipe, self.steps)
        self.per_step = self.recipe.schedule == "onecycle"
        self.scaler = grad_scaler(self.precision, DEVICE)


@dataclass
class Progress:
    """Where an epoch's progress goes: the resume checkpoint, the event log; ``partial``: the
    interrupted epoch to finish first; ``preemption``: set when a SIGTERM asks to stop."""

    saved: Checkpoint
    events: EventLog
    partial: dict | None
    preemption: Preemption


def fit(run: Run, epochs: int, train_data, val_data, progress: Progress) -> None:
    """Train the epochs not done yet (the rest of an interrupted one first), validating,
    checkpointing and logging each; released weights (no epochs) are validated once."""
    for epoch in range(len(run.history), epochs):
        lr = run.opt.param_groups[0]["lr"]
        loss, started, waited = train_one_epoch(run, epoch, train_data, progress)
        progress.partial = None
        row = {"epoch": epoch + 1, "train_loss": loss, **evaluate(run, val_data)}
        record_epoch(run, row | {"lr": lr, "seconds": time.time() - started,
                                 "data_seconds": waited}, progress)  # fmt: skip
    if not run.history:
        record_epoch(run, _released_row(evaluate(run, val_data)), progress)


def record_epoch(run: Run, row: dict, progress: Progress) -> None:
    run.history.append(_ordered(row))
    progress.saved.save(run)
    if run.world.main:
        metrics = progress.saved.last.parent / "metrics.csv"
        pd.DataFrame(run.history).to_csv(metrics, index=False)
    progress.events.add(run.history[-1])
    print(
        f"epoch {row['epoch']}: loss {row['train_loss']:.4f} val top-1 "
        f"{row['val_top1']:.2f} top-5 {row['val_top5']:.2f} ({row['seconds']:.1f}s)",
        flush=True,
    )


def train_one_epoch(run: Run, epoch: int, data, progress: Progress) -> tuple[float, ...]:
    """Train one epoch, or the rest of an interrupted one; returns its mean training loss, the
    time it started (earlier by the time an interrupted part took) and the seconds this process
    waited for its batches (an input-bound run waits most of the epoch)."""
    images, labels, info = data
    batch_size = run.recipe.batch_size
    gen = epoch_generator(run.seed, epoch)
    torch.manual_seed(run.seed * 100_003 + epoch)  # dropout, so that resuming is exact
    order = torch.randperm(len(labels), generator=gen)[: run.recipe.epoch_images]
    first, total, seen, elapsed = 0, 0.0, 0, 0.0
    if progress.partial is not None:  # continue the interrupted epoch where it stopped
        order, first = progress.partial["order"], progress.partial["batch"]
        total, seen = progress.partial["total"], progress.partial["seen"]
        elapsed = progress.partial["seconds"]
        gen.set_state(progress.partial["generator"])
        torch.set_rng_state(progress.partial["torch_rng"])
    started = time.time() - elapsed
    run.trained.train()
    batches = train_batches(images, labels, batch_size, gen, info, aug=run.objective.augment,
                            order=order, first_batch=first, world=run.world)  # fmt: skip
    bar = tqdm(batches, total=-(-len(order) // batch_size), initial=first, mininterval=10,
               leave=False, desc=f"epoch {epoch + 1}/{run.recipe.epochs}",
               disable=not run.world.main)  # fmt: skip
    waited = [0.0]
    for batch, (x, y, idx) in enumerate(_timed(bar, waited), start=first):
        size = len(order[batch * batch_size : (batch + 1) * batch_size])
        loss = train_step(run, x, y, idx, gen, run.world.local_weight(len(y), size))
        if not math.isfinite(loss):
            raise DataError(
                f"{progress.saved.last.parent}: the training loss became {loss} at epoch "
                f"{epoch + 1}, batch {batch + 1}; no model written (lower the recipe's lr)"
            )
        total, seen = total + loss * len(y), seen + len(y)
        if run.world.any(progress.preemption.requested):
            state = {"epoch": epoch, "batch": batch + 1, "order": order, "generator": gen}
            progress.saved.preempt(run, state, total, seen, started)
    if not run.per_step:
        run.sched.step()
    total, seen = run.world.sum(total, seen)
    return total / seen, started, waited[0]


def train_step(run: Run, x, y, idx, gen, weight: float) -> float:
    """One optimisation step on a batch (this rank's slice of it, in a data-parallel run, whose
    mean loss ``weight`` rescales); returns the batch's mean loss. A rank mixes CutMix boxes
    within its own slice, as torchvision's reference scripts do."""
    x, y = x.to(DEVICE, non_blocking=True), y.to(DEVICE, non_blocking=True)
    x, targets = run.objective.targets(x, y, idx, gen, run.precision)
    with autocast(run.precision):
        logits = run.trained(x)
    loss = run.objective.loss(logits, targets)
    run.opt.zero_grad(set_to_none=True)
    run.scaler.scale(loss * weight).backward()  # fp16: scaled; otherwise as it is
    run.scaler.step(run.opt)
    run.scaler.update()
    if run.per_step:
        run.sched.step()
    return loss.item()


def evaluate(run: Run, data) -> dict:
    """Top-1/5/3 (%) on the validation images, and the objective's own numbers."""
    images, labels, info = data
    logits = predict(run.model, images, labels, info, run.precision)
    hits = topk_correct(logits, labels, ks=(1, 5, 3))
    row = {f"val_top{k}": 100.0 * v / len(labels) for k, v in hits.items()}
    return row | run.objective.validation(logits, labels)


def finish(run: Run, out_dir: Path, final: dict, info: dict, stem: str) -> None:
    """Write the model, the curve and final.json."""
    checkpoint.save(
        {
            "state_dict": {k: v.cpu() for k, v in run.model.state_dict().items()},
            "arch": final["arch"],
            "num_classes": info["num_classes"],
            "in_channels": info["channels"],
            "stem": stem,
        },
        out_dir / "model.pt",
    )
    pd.DataFrame(run.history).to_csv(out_dir / "metrics.csv", index=False)
    (out_dir / "final.json").write_text(json.dumps(final, indent=2) + "\n")


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


def run_identity(settings: dict, objective: Objective, data_dir, init_from) -> dict:
    """What produced a run, recorded in its resume checkpoint: settings, the objective's node
    (and teacher file), the curated data's files, the initial weights and the training code."""
    src = Path(lskd.__file__).parent.parent
    data = Path(data_dir)
    return {
        **settings,
        **objective.record,
        "data": [checkpoint.sha256(data / f) for f in ("manifest.csv", "dataset.json")],
        "init": checkpoint.sha256(init_from) if init_from else None,
        "code": module_fingerprint(src, (__name__, objectives.module_of(objective.kind))),
    }


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
