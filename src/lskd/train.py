"""One training loop for every image model of the workflow: teachers and KD students.

It checkpoints after every epoch (``last.pt``) and, when rerun after a kill, resumes from there;
on SIGTERM (a SLURM preemption or requeue) it also saves the epoch in progress and exits with
code 143. Every random choice is seeded by (seed, epoch) and saved with a mid-epoch checkpoint, so
a resumed run ends with the same weights as an uninterrupted one. Per-epoch metrics go to
``metrics.csv``; the run's summary to ``final.json``. Training runs on the GPU when there is one
(channels-last memory layout there), else on the CPU; started by torchrun, it trains data-parallel
on every rank (``lskd.distributed``) and rank 0 writes the files.
"""

import contextlib
import json
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import torch
from tqdm import tqdm

from lskd import checkpoint, distributed
from lskd.data.batches import cutmix, epoch_generator, eval_batches, train_batches
from lskd.data.manifest import load_split
from lskd.losses import mixed_kd_loss, smoothed_targets, soft_cross_entropy
from lskd.metrics.accuracy import topk_correct
from lskd.models import build_model


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
    schedule: str = "step"  # "linear": lr decays linearly to 0 over the epochs (ReActNet)


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


@dataclass
class Distillation:
    """A frozen teacher for a student (Eq. 4, or Appendix E's mix when ``lam`` > 0).

    With ``cached_logits`` (the teacher's logits on the augmentation-free training images, in
    manifest order) the teacher is not run and the student trains on unaugmented images too.
    """

    teacher: torch.nn.Module
    lam: float = 0.0
    temperature: float = 1.0
    cached_logits: torch.Tensor | None = None

    def __post_init__(self):
        to_device(self.teacher).eval()
        for p in self.teacher.parameters():
            p.requires_grad_(False)

    def teacher_logits(self, x, idx, bf16: bool) -> torch.Tensor:
        if self.cached_logits is not None:
            return self.cached_logits[idx].to(DEVICE)
        with torch.no_grad(), autocast(bf16):
            return self.teacher(x).float()


DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")
PREEMPTED_EXIT_CODE = 143  # 128 + SIGTERM, what a job killed by the signal would report


def autocast(bf16: bool):
    if not bf16:
        return contextlib.nullcontext()
    return torch.autocast(DEVICE.type, dtype=torch.bfloat16)


def to_device(model: torch.nn.Module) -> torch.nn.Module:
    layout = torch.channels_last if DEVICE.type == "cuda" else torch.preserve_format
    return model.to(DEVICE, memory_format=layout)


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


def schedule(opt, recipe: Recipe):
    """Step decay at ``milestones`` or linear decay to 0 (per epoch), after an optional linear
    warm-up."""
    if recipe.schedule == "linear":
        steps = torch.optim.lr_scheduler.LambdaLR(opt, lambda e: 1 - e / recipe.epochs)
    elif recipe.schedule == "step":
        steps = torch.optim.lr_scheduler.MultiStepLR(opt, recipe.milestones, recipe.gamma)
    else:
        raise ValueError(f"unknown schedule {recipe.schedule!r} (step or linear)")
    if not recipe.warmup_epochs:
        return steps
    warmup = torch.optim.lr_scheduler.LinearLR(opt, 0.1, total_iters=recipe.warmup_epochs)
    return torch.optim.lr_scheduler.ChainedScheduler([warmup, steps])


@torch.no_grad()
def predict(model, images, labels, info, bf16: bool, batch_size: int = 500) -> torch.Tensor:
    """Logits of ``model`` (in eval mode) on unaugmented images, in order."""
    to_device(model).eval()
    parts = []
    for x, _ in eval_batches(images, labels, batch_size, info):
        with autocast(bf16):
            parts.append(model(x.to(DEVICE)).float().cpu())
    return torch.cat(parts)


def validation_row(model, images, labels, info, bf16, distill=None, teacher_logits=None) -> dict:
    """Top-1/5/3 (%), and for a student its distillation loss on the validation images."""
    logits = predict(model, images, labels, info, bf16)
    hits = topk_correct(logits, labels, ks=(1, 5, 3))
    row = {f"val_top{k}": 100.0 * v / len(labels) for k, v in hits.items()}
    if distill is not None:
        row["val_kd_loss"] = float(
            mixed_kd_loss(logits, teacher_logits, labels, distill.lam, distill.temperature)
        )
    return row


def train(
    data_dir: str | Path,
    out_dir: str | Path,
    arch: str,
    recipe: Recipe,
    alpha: float = 0.0,
    seed: int = 0,
    stem: str = "imagenet",
    bf16: bool = False,
    meta: dict | None = None,
    distill: Distillation | None = None,
    init_from: str | Path | None = None,
    workers: int = 0,
) -> dict:
    """Train ``arch`` on the curated dataset and return final.json: a teacher with Eq. 1
    targets smoothed by ``alpha``, or, with ``distill``, a student of a frozen teacher. Image-file
    datasets are decoded by ``workers`` loader processes."""
    world = distributed.init()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    train_x, train_y, info = load_split(data_dir, "train", workers)
    val_x, val_y, _ = load_split(data_dir, "val", workers)
    k = info["num_classes"]

    torch.manual_seed(seed)
    model = build_model(arch, k, in_channels=info["channels"], stem=stem)
    if init_from is not None:  # ReActNet's step 2, or fine-tuning from an ImageNet model (CUB)
        load_pretrained(model, init_from)
    to_device(model)
    trained = distributed.wrap(model, world)  # before the optimizer: SyncBatchNorm is new
    opt = optimizer(model, recipe)
    sched = schedule(opt, recipe)
    val_teacher = None
    if distill is not None:  # the frozen teacher's validation logits, computed once
        val_teacher = predict(distill.teacher, val_x, val_y, info, bf16)
    history: list[dict] = []
    partial = None  # the epoch a SIGTERM interrupted
    last = out_dir / "last.pt"
    if last.exists():
        state = checkpoint.load(last)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        history, partial = state["history"], state.get("partial")
        if partial and not world.main:  # the interrupted epoch's loss sums are rank 0's
            partial = partial | {"total": 0.0, "seen": 0}
        where = f"batch {partial['batch']} of " if partial else "after "
        print(
            f"resuming {out_dir} at {where}epoch {len(history) + (1 if partial else 0)}", flush=True
        )

    def save(extra=None):
        if not world.main:
            return
        checkpoint.save(
            {
                "model": model.state_dict(),
                "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict(),
                "history": history,
                **(extra or {}),
            },
            last,
        )

    aug = distill is None or distill.cached_logits is None
    steps = -(-len(train_y) // recipe.batch_size)
    with Preemption() as preemption:
        for epoch in range(len(history), recipe.epochs):
            gen = epoch_generator(seed, epoch)
            torch.manual_seed(seed * 100_003 + epoch)  # dropout, so that resuming is exact
            order = torch.randperm(len(train_y), generator=gen)
            first, total, seen, elapsed = 0, 0.0, 0, 0.0
            if partial is not None:  # continue the interrupted epoch where it stopped
                order, first = partial["order"], partial["batch"]
                total, seen, elapsed = partial["total"], partial["seen"], partial["seconds"]
                gen.set_state(partial["generator"])
                torch.set_rng_state(partial["torch_rng"])
                partial = None
            started = time.time() - elapsed
            trained.train()
            lr = opt.param_groups[0]["lr"]
            batches = train_batches(
                train_x,
                train_y,
                recipe.batch_size,
                gen,
                info,
                aug=aug,
                order=order,
                first_batch=first,
                world=world,
            )
            progress = tqdm(
                batches,
                total=steps,
                initial=first,
                mininterval=10,
                leave=False,
                desc=f"epoch {epoch + 1}/{recipe.epochs}",
                disable=not world.main,
            )
            for batch, (x, y, idx) in enumerate(progress, start=first):
                size = len(order[batch * recipe.batch_size : (batch + 1) * recipe.batch_size])
                weight = world.local_weight(len(y), size)  # this rank's share of the batch
                loss = _step(trained, opt, x, y, idx, k, alpha, recipe, gen, bf16, distill, weight)
                total += loss * len(y)
                seen += len(y)
                if world.any(preemption.requested):
                    all_total, all_seen = world.sum(total, seen)
                    save(
                        {
                            "partial": {
                                "epoch": epoch,
                                "batch": batch + 1,
                                "order": order,
                                "generator": gen.get_state(),
                                "torch_rng": torch.get_rng_state(),
                                "total": all_total,
                                "seen": all_seen,
                                "seconds": time.time() - started,
                            }
                        }
                    )
                    print(f"saved {last} at batch {batch + 1} of epoch {epoch + 1}", flush=True)
                    raise SystemExit(PREEMPTED_EXIT_CODE)
            sched.step()
            total, seen = world.sum(total, seen)
            val = validation_row(model, val_x, val_y, info, bf16, distill, val_teacher)
            row = {
                "epoch": epoch + 1,
                "train_loss": total / seen,
                "val_top1": val.pop("val_top1"),
                "val_top5": val.pop("val_top5"),
                "lr": lr,
                "seconds": time.time() - started,
                **val,  # val_top3 (long-tailed tables), val_kd_loss for students
            }
            history.append(row)
            save()
            if world.main:
                pd.DataFrame(history).to_csv(out_dir / "metrics.csv", index=False)
            print(
                f"epoch {epoch + 1}: loss {row['train_loss']:.4f} val top-1 "
                f"{row['val_top1']:.2f} top-5 {row['val_top5']:.2f} ({row['seconds']:.1f}s)",
                flush=True,
            )

    final = {
        **(meta or {}),
        "arch": arch,
        "alpha": alpha,
        "seed": seed,
        "stem": stem,
        "epochs": recipe.epochs,
        "top1": history[-1]["val_top1"],
        "top5": history[-1]["val_top5"],
        "top3": history[-1]["val_top3"],
        "best_top1": max(r["val_top1"] for r in history),
        "train_seconds": sum(r["seconds"] for r in history),
        "processes": world.size,
    }
    if not world.main:
        return final
    checkpoint.save(
        {
            "state_dict": {key: v.cpu() for key, v in model.state_dict().items()},
            "arch": arch,
            "num_classes": k,
            "in_channels": info["channels"],
            "stem": stem,
        },
        out_dir / "model.pt",
    )
    pd.DataFrame(history).to_csv(out_dir / "metrics.csv", index=False)
    (out_dir / "final.json").write_text(json.dumps(final, indent=2) + "\n")
    return final


def _step(model, opt, x, y, idx, k, alpha, recipe, gen, bf16, distill, weight: float) -> float:
    """One optimisation step on a batch (this rank's slice of it, in a data-parallel run, whose
    mean loss ``weight`` rescales); returns the batch's mean loss. A rank mixes CutMix
    boxes within its own slice, as torchvision's reference scripts do."""
    x, y = x.to(DEVICE, non_blocking=True), y.to(DEVICE, non_blocking=True)
    if distill is None:
        targets = smoothed_targets(y, k, alpha)
        if recipe.cutmix_prob > 0 and float(torch.rand(1, generator=gen)) < recipe.cutmix_prob:
            x, targets = cutmix(x, targets, gen)
    with autocast(bf16):
        logits = model(x)
    if distill is None:
        loss = soft_cross_entropy(logits, targets)
    else:  # the teacher sees the student's (augmented) batch
        teacher_logits = distill.teacher_logits(x, idx, bf16)
        loss = mixed_kd_loss(logits, teacher_logits, y, distill.lam, distill.temperature)
    opt.zero_grad(set_to_none=True)
    (loss * weight).backward()
    opt.step()
    return loss.item()


def load_pretrained(model: torch.nn.Module, path: str | Path) -> list[str]:
    """Start ``model`` from the weights in ``path``, except those whose shape differs (the
    classifier, when the class count differs: it stays randomly initialised). Returns those."""
    state = checkpoint.load(path)["state_dict"]
    own = model.state_dict()
    skipped = [k for k, v in state.items() if k in own and own[k].shape != v.shape]
    for key in skipped:
        state[key] = own[key]
    model.load_state_dict(state)  # strict: every other weight must match
    if skipped:
        print(f"{path}: kept the new {', '.join(skipped)} (shape differs)", flush=True)
    return skipped


def load_model(path: str | Path):
    """Rebuild a model saved by ``train`` (our own file, loaded with weights_only=True)."""
    state = checkpoint.load(path)
    model = build_model(state["arch"], state["num_classes"], state["in_channels"], state["stem"])
    model.load_state_dict(state["state_dict"])
    return model.eval()
