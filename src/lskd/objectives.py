"""Training objectives by kind: what a run minimises, registered by name as lskd.paper.outputs
registers the paper's outputs.

A run's objective is one config node, ``{kind: label_smoothing, alpha: 0.1}`` or ``{kind:
distillation, teacher: resnet32, lam: 0.0, temperature: 1.0, teacher_logits: cached}``. The
schema (workflow/schemas/config.schema.yaml, ``$defs``) holds its only defaults; a rule passes it
whole as one ``--objective`` JSON value; ``parse`` reads it once into its kind's class (a
dataclass whose fields are the node's settings); ``node`` gives it back whole for final.json and
the resume identity. A new setting is a field of its class and a property in the schema; a new
kind is a class, a line of ``KINDS`` and a ``$defs`` entry.

The classes live in their own modules and are loaded by name, so that a change to the
distillation loss reruns students and not teachers (lskd.fingerprint follows imports; a rule adds
its objective's module with ``module_of``).
"""

from __future__ import annotations

import dataclasses
import importlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # annotations only: the workflow reads the registry without importing torch
    import torch

KINDS = {  # kind -> "module:class"
    "label_smoothing": "lskd.losses:LabelSmoothing",
    "distillation": "lskd.distill:Distillation",
}


@dataclass(frozen=True)
class Sources:
    """What an objective may read besides its settings: the recipe's CutMix probability, the
    curated dataset, and a student's teacher files (model.pt, final.json, its cached logits)."""

    cutmix_prob: float = 0.0
    data: Path | None = None
    teacher_model: Path | None = None
    teacher_final: Path | None = None
    teacher_logits: Path | None = None


class Objective(Protocol):
    """The contract lskd.train's loop relies on; the dataclass fields are the node's settings."""

    kind: str  # the node's kind, a key of KINDS
    augment: bool  # train on augmented batches (cached teacher logits are of unaugmented ones)

    def prepare(self, sources: Sources) -> None:
        """Load what it needs beyond its settings (a student's teacher), before training."""

    def setup(self, num_classes: int, val_x, val_y, info: dict, precision: str) -> None:
        """Once the data and precision are known (a student: its teacher's validation logits)."""

    def targets(self, x, y, idx, gen, precision: str) -> tuple:
        """The batch to train on and what its loss compares the logits with."""

    def loss(self, logits: torch.Tensor, targets) -> torch.Tensor: ...

    def validation(self, logits: torch.Tensor, labels: torch.Tensor) -> dict:
        """Its own validation numbers (metrics.csv columns, e.g. val_kd_loss)."""

    @property
    def record(self) -> dict:
        """What final.json and the resume identity keep: ``{"objective": node(self), ...}``."""


def module_of(kind: str) -> str:
    return KINDS[kind].partition(":")[0]


def class_of(kind: str) -> type:
    module, _, name = KINDS[kind].partition(":")
    return getattr(importlib.import_module(module), name)


def parse(node: dict | str) -> Objective:
    """The objective a node (a dict, or its JSON) names, with its settings; one line naming the
    key for an unknown kind, a missing or an unknown setting."""
    node = dict(json.loads(node) if isinstance(node, str) else node)
    kind = node.pop("kind", None)
    if kind not in KINDS:
        raise ValueError(f"objective kind {kind!r} is none of {', '.join(KINDS)}")
    cls = class_of(kind)
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    unknown, missing = sorted(set(node) - set(names)), [n for n in names if n not in node]
    if unknown or missing:
        what = "; ".join(
            [f"unknown {', '.join(unknown)}"] * bool(unknown)
            + [f"missing {', '.join(missing)}"] * bool(missing)
        )
        raise ValueError(f"objective {kind}: {what} (its settings: {', '.join(names)})")
    return cls(**node)


def node(objective: Objective) -> dict:
    """The objective's config node, whole: its kind and every setting."""
    settings = {f.name: getattr(objective, f.name) for f in dataclasses.fields(objective) if f.init}
    return {"kind": objective.kind, **settings}
