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
    targets = torch.full((labels.shape[0], num_classes), off, device=labels.device)
    return targets.scatter_(1, labels.long().view(-1, 1), 1.0 - alpha)


def torch_label_smoothing(alpha: float, num_classes: int) -> float:
    """torch cross-entropy's ``label_smoothing`` value that equals Eq. 1 with ``alpha``."""
    return alpha * num_classes / (num_classes - 1)


def soft_cross_entropy(logits: torch.Tensor, target_probs: torch.Tensor) -> torch.Tensor:
    """H(p_S, q) = -sum_c q_c log p_c, averaged over the batch (Eq. 4 when q is the teacher's)."""
    return -(target_probs * F.log_softmax(logits.float(), dim=1)).sum(dim=1).mean()


def kd_loss(
    student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float = 1.0
) -> torch.Tensor:
    """Eq. 4: H(p_S/T, p_T/T) = -sum_c p_T,c log p_S,c with both softmaxes at temperature T,
    averaged over the batch. For T != 1 it is multiplied by T^2 (Hinton et al.), so that the
    gradient scale does not change with T; at T = 1 it is exactly the paper's loss.

    The cross-entropy differs from KL(T || S) only by the teacher's entropy (Property 1), so both
    give the same gradient; the value includes that entropy, which is why an LS teacher's
    distillation loss is higher (Figure 5).
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    teacher_probs = F.softmax(teacher_logits.float() / temperature, dim=1)
    return soft_cross_entropy(student_logits.float() / temperature, teacher_probs) * temperature**2


def mixed_kd_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    labels: torch.Tensor,
    lam: float,
    temperature: float = 1.0,
) -> torch.Tensor:
    """Appendix E: lam * H(p_S, y) + (1 - lam) * H(p_S/T, p_T/T); lam = 0 is Eq. 4 alone."""
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"lam must be in [0, 1], got {lam}")
    soft = kd_loss(student_logits, teacher_logits, temperature)
    if lam == 0:
        return soft
    return lam * F.cross_entropy(student_logits.float(), labels) + (1 - lam) * soft
