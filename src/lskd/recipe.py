"""The optimisation recipe of an image run (Appendix A: SGD with step decay; ReActNet's Adam
with linear decay; a one-cycle schedule for short runs): one ``--recipe`` JSON value, its
optimizer and its learning-rate schedule. The schedule keys are checked against the epochs by
``lskd.schedules`` (torch-free, so the config check runs it too)."""

from dataclasses import asdict, dataclass, field

import torch

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
