"""Training objectives of the paper.

Eq. 1 (label smoothing): the true class gets 1 - alpha and every other class alpha / (K - 1).
torch's ``CrossEntropyLoss(label_smoothing=e)`` spreads e / K over *all* classes instead; the two
agree only for e = alpha * K / (K - 1), which ``torch_label_smoothing`` returns.
"""

import torch
import torch.nn.functional as F


def smoothed_targets(labels: torch.Tensor, num_classes: int, alpha: float) -> torch.Tensor:
    """Eq. 1 target matrix (N x K): 1 - alpha on the label, alpha / (K - 1) elsewhere."""
    if not 0.0 <= alpha < 1.0:
        raise ValueError(f"label smoothing alpha must be in [0, 1), got {alpha}")
    off = alpha / (num_classes - 1)
    targets = torch.full((labels.shape[0], num_classes), off, dtype=torch.float32)
    targets.scatter_(1, labels.long().view(-1, 1), 1.0 - alpha)
    return targets.to(labels.device)


def torch_label_smoothing(alpha: float, num_classes: int) -> float:
    """torch cross-entropy's ``label_smoothing`` value that equals Eq. 1 with ``alpha``."""
    return alpha * num_classes / (num_classes - 1)


def soft_cross_entropy(logits: torch.Tensor, target_probs: torch.Tensor) -> torch.Tensor:
    """H(p_S, q) = -sum_c q_c log p_c, averaged over the batch (Eq. 4 when q is the teacher's)."""
    return -(target_probs * F.log_softmax(logits.float(), dim=1)).sum(dim=1).mean()
