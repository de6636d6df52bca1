"""Label smoothing (Eq. 1) and a teacher's training objective (distillation: ``lskd.distill``).

Eq. 1 (label smoothing): the true class gets 1 - alpha and every other class alpha / (K - 1).
torch's ``CrossEntropyLoss(label_smoothing=e)`` spreads e / K over *all* classes instead; the two
agree only for e = alpha * K / (K - 1), which ``torch_label_smoothing`` returns.
"""

from dataclasses import dataclass, field
from typing import ClassVar

import torch
import torch.nn.functional as F

from lskd import objectives
from lskd.data.batches import cutmix


def check_alpha(alpha: float) -> None:
    if not 0.0 <= alpha < 1.0:
        raise ValueError(f"label smoothing alpha must be in [0, 1), got {alpha}")


def smoothed_targets(labels: torch.Tensor, num_classes: int, alpha: float) -> torch.Tensor:
    """Eq. 1 target matrix (N x K): 1 - alpha on the label, alpha / (K - 1) elsewhere."""
    check_alpha(alpha)
    off = alpha / (num_classes - 1)
    targets = torch.full((labels.shape[0], num_classes), off, device=labels.device)
    return targets.scatter_(1, labels.long().view(-1, 1), 1.0 - alpha)


def torch_label_smoothing(alpha: float, num_classes: int) -> float:
    """torch cross-entropy's ``label_smoothing`` value that equals Eq. 1 with ``alpha``."""
    return alpha * num_classes / (num_classes - 1)


def soft_cross_entropy(logits: torch.Tensor, target_probs: torch.Tensor) -> torch.Tensor:
    """H(p_S, q) = -sum_c q_c log p_c, averaged over the batch (Eq. 4 when q is the teacher's)."""
    return -(target_probs * F.log_softmax(logits.float(), dim=1)).sum(dim=1).mean()


@dataclass
class LabelSmoothing:
    """A teacher's objective (``{kind: label_smoothing, alpha}``, lskd.objectives): cross-entropy
    to Eq. 1 targets smoothed by ``alpha``, on augmented batches, mixed by CutMix with the
    recipe's ``cutmix_prob`` (Table 1's +CutMix rows)."""

    alpha: float
    kind: ClassVar[str] = "label_smoothing"
    augment: ClassVar[bool] = True
    cutmix_prob: float = field(default=0.0, init=False)  # the recipe's (prepare)
    num_classes: int | None = field(default=None, init=False)

    def __post_init__(self):
        check_alpha(self.alpha)  # a bad value fails before the data is loaded

    def prepare(self, sources) -> None:
        self.cutmix_prob = sources.cutmix_prob

    @property
    def record(self) -> dict:
        return {"objective": objectives.node(self)}

    def setup(self, num_classes: int, val_x, val_y, info: dict, precision: str) -> None:
        self.num_classes = num_classes

    def targets(self, x, y, idx, gen, precision: str):
        """The batch to train on and its soft targets."""
        targets = smoothed_targets(y, self.num_classes, self.alpha)
        if self.cutmix_prob > 0 and float(torch.rand(1, generator=gen)) < self.cutmix_prob:
            x, targets = cutmix(x, targets, gen)
        return x, targets

    def loss(self, logits, targets) -> torch.Tensor:
        return soft_cross_entropy(logits, targets)

    def validation(self, logits, labels) -> dict:
        return {}
