"""Knowledge distillation: Eq. 4, Appendix E's hard/soft mix, and a student's training objective.

Teacher training never imports this module, so a change to the distillation loss reruns the
students (and what reads them) but not the teachers (``lskd.fingerprint``).
"""

from dataclasses import dataclass, field
from typing import ClassVar

import torch
import torch.nn.functional as F

from lskd import checkpoint, objectives, records, teacher_logits
from lskd.data.manifest import load_split, read_info
from lskd.inference import DEVICE, autocast, load_model, predict, to_device
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
    check_temperature(temperature)
    teacher_probs = F.softmax(teacher_logits.float() / temperature, dim=1)
    return soft_cross_entropy(student_logits.float() / temperature, teacher_probs) * temperature**2


def check_temperature(temperature: float) -> None:
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")


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


TEACHER_LOGITS = ("online", "cached")


@dataclass
class Distillation:
    """A student's objective (``{kind: distillation, teacher, lam, temperature, teacher_logits}``,
    lskd.objectives): Eq. 4 to the frozen ``teacher`` (Appendix E's mix when ``lam`` > 0).

    ``teacher_logits: online``: the teacher runs on the student's augmented batch; ``cached``: it
    is not run, its logits on the augmentation-free training images (lskd.teacher_logits, in
    manifest order) are read instead, and the student trains on unaugmented images.
    """

    teacher: str  # the teacher's config name
    lam: float
    temperature: float
    teacher_logits: str
    kind: ClassVar[str] = "distillation"
    model: torch.nn.Module | None = field(default=None, init=False, repr=False)
    cached: torch.Tensor | None = field(default=None, init=False, repr=False)
    val_teacher: torch.Tensor | None = field(default=None, init=False, repr=False)
    teacher_record: dict = field(default_factory=dict, init=False)

    def __post_init__(self):  # bad values fail before the data is loaded
        check_lam(self.lam)
        check_temperature(self.temperature)
        if self.teacher_logits not in TEACHER_LOGITS:
            raise ValueError(f"teacher_logits {self.teacher_logits!r} is none of {TEACHER_LOGITS}")

    @property
    def augment(self) -> bool:
        return self.teacher_logits == "online"

    def prepare(self, sources) -> None:
        """Load the teacher (``sources.teacher_model``), what the student's final.json keeps of
        it (``sources.teacher_final``) and, when cached, its logits (``sources.teacher_logits``)."""
        if sources.teacher_model is None or sources.teacher_final is None:
            raise ValueError("distillation needs the teacher's model.pt and final.json")
        cached = None
        if self.teacher_logits == "cached":
            if sources.teacher_logits is None:
                raise ValueError("teacher_logits: cached needs the file of lskd teacher-logits")
            n = len(load_split(sources.data, "train")[1])
            cached = teacher_logits.load(sources.teacher_logits, sources.teacher_model, n)
        model = load_model(sources.teacher_model, read_info(sources.data))
        self.use_teacher(model, checkpoint.sha256(sources.teacher_model), cached)
        self.teacher_record |= records.teacher_fields(sources.teacher_final)

    def use_teacher(self, model, sha256: str, cached: torch.Tensor | None = None) -> None:
        """Distill from ``model`` (its file's ``sha256``), frozen; ``cached``: its logits."""
        if (cached is None) == (self.teacher_logits == "cached"):
            raise ValueError(f"teacher_logits: {self.teacher_logits}, but cached logits "
                             f"{'not ' if cached is None else ''}given")  # fmt: skip
        self.model, self.cached = to_device(model).eval(), cached
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.teacher_record = {"teacher_sha256": sha256}

    @property
    def record(self) -> dict:
        return {"objective": objectives.node(self), **self.teacher_record}

    def setup(self, num_classes: int, val_x, val_y, info: dict, precision: str) -> None:
        """The frozen teacher's validation logits, computed once."""
        self.val_teacher = predict(self.model, val_x, val_y, info, precision)

    def teacher_outputs(self, x, idx, precision: str) -> torch.Tensor:
        if self.cached is not None:
            return self.cached[idx].to(DEVICE)
        with torch.no_grad(), autocast(precision):
            return self.model(x).float()

    def targets(self, x, y, idx, gen, precision: str):
        return x, (y, self.teacher_outputs(x, idx, precision))

    def loss(self, logits, targets) -> torch.Tensor:
        labels, teacher = targets
        return mixed_kd_loss(logits, teacher, labels, self.lam, self.temperature)

    def validation(self, logits, labels) -> dict:
        loss = mixed_kd_loss(logits, self.val_teacher, labels, self.lam, self.temperature)
        return {"val_kd_loss": float(loss)}
