"""Knowledge distillation: Eq. 4, Appendix E's hard/soft mix, and a student's training objective.

Teacher training never imports this module, so a change to the distillation loss reruns the
students (and what reads them) but not the teachers (``lskd.fingerprint``).
"""

import torch
import torch.nn.functional as F

from lskd.inference import DEVICE, autocast, predict, to_device
from lskd.losses import soft_cross_entropy


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


def check_lam(lam: float) -> None:
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"lam must be in [0, 1], got {lam}")


def mixed_kd_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    labels: torch.Tensor,
    lam: float,
    temperature: float = 1.0,
) -> torch.Tensor:
    """Appendix E: lam * H(p_S, y) + (1 - lam) * H(p_S/T, p_T/T); lam = 0 is Eq. 4 alone."""
    check_lam(lam)
    soft = kd_loss(student_logits, teacher_logits, temperature)
    if lam == 0:
        return soft
    return lam * F.cross_entropy(student_logits.float(), labels) + (1 - lam) * soft


class Distillation:
    """A student's objective: Eq. 4 to a frozen teacher (Appendix E's mix when ``lam`` > 0).

    The teacher runs on the student's augmented batch; with ``cached_logits`` (the teacher's
    logits on the augmentation-free training images, in manifest order) it is not run and the
    student trains on unaugmented images, since the cached logits are of those.
    """

    def __init__(self, teacher, lam=0.0, temperature=1.0, cached_logits=None, teacher_id=""):
        check_lam(lam)  # here too: a bad value fails before the data is loaded
        self.teacher, self.lam, self.temperature = teacher, lam, temperature
        self.cached_logits = cached_logits
        self.augment = cached_logits is None
        self.record = {  # what final.json and the resume guard record (teacher_id: its file)
            "lam": lam,
            "temperature": temperature,
            "cached_teacher": cached_logits is not None,
            "teacher_sha256": teacher_id,
        }
        to_device(self.teacher).eval()
        for p in self.teacher.parameters():
            p.requires_grad_(False)
        self.val_teacher = None

    def setup(self, num_classes: int, val_x, val_y, info: dict, precision: str) -> None:
        """The frozen teacher's validation logits, computed once."""
        self.val_teacher = predict(self.teacher, val_x, val_y, info, precision)

    def teacher_logits(self, x, idx, precision: str) -> torch.Tensor:
        if self.cached_logits is not None:
            return self.cached_logits[idx].to(DEVICE)
        with torch.no_grad(), autocast(precision):
            return self.teacher(x).float()

    def targets(self, x, y, idx, gen, precision: str):
        return x, (y, self.teacher_logits(x, idx, precision))

    def loss(self, logits, targets) -> torch.Tensor:
        labels, teacher_logits = targets
        return mixed_kd_loss(logits, teacher_logits, labels, self.lam, self.temperature)

    def validation(self, logits, labels) -> dict:
        loss = mixed_kd_loss(logits, self.val_teacher, labels, self.lam, self.temperature)
        return {"val_kd_loss": float(loss)}
