"""final.json: the record every training run leaves, image and NMT runs alike.

Its keys, and who sets them: the identity comes from the config through ``identity`` (the
rules pass it as ``--meta``), a student's copy of its teacher through ``teacher_fields``, the
numbers from the run (``lskd.train`` for image runs, ``lskd.nmt.runs.train`` for NMT runs).

=============================================  ==================  =============================
key                                            runs                set by
=============================================  ==================  =============================
role ("teacher" or "student"), name, seed      all                 ``identity``
dataset, recipe                                image runs          ``identity``
teacher                                        students, ReActNet  ``identity``
step (1 or 2)                                  ReActNet            ``identity``
teacher_alpha (LS of the teacher), model       NMT runs            ``identity``
kd (nmt.kd: lam, topk, temperature, ...)       NMT students        ``identity``
teacher_arch, teacher_recipe, teacher_alpha,   students, ReActNet  ``teacher_fields``
teacher_top1, teacher_top3, teacher_top5
arch, stem, epochs, processes, weights         image runs          ``lskd.train``
alpha (label smoothing, Eq. 1)                 image teachers      its ``LabelSmoothing``
lam, temperature, cached_teacher,              students, ReActNet  its ``Distillation``
teacher_sha256
top1, top5, top3 (last epoch), best_top1,      image runs          ``lskd.train``
train_seconds
epochs, best_epoch, best_valid_bleu,           NMT runs            ``lskd.nmt.runs``
valid_ppl_at_best, last_valid_ppl
provenance                                     all                 ``lskd.provenance``
=============================================  ==================  =============================

A ReActNet run is named after its teacher, as an NMT student is; an image run's folder says
its role too (teachers/, students/, bnn/), an NMT run's likewise (results/nmt/<role>s/).
"""

import json
from pathlib import Path

from lskd.data.errors import DataError

ROLES = ("teacher", "student")


def identity(role: str, name: str, seed: int, **fields) -> str:
    """A run's identity as the ``--meta`` JSON its command copies into final.json: ``role``,
    ``name``, ``seed`` and the keys its kind adds (the table above); None values are left out."""
    if role not in ROLES:
        raise ValueError(f"role {role!r} is none of {ROLES}")
    meta = {"role": role, "name": name, "seed": seed}
    meta |= {key: value for key, value in fields.items() if value is not None}
    return json.dumps(meta, sort_keys=True)


TEACHER_KEYS = ("arch", "recipe", "alpha", "top1", "top5", "top3")


def teacher_fields(teacher_final: str | Path) -> dict:
    """What a student's final.json keeps of its teacher's (the file ``teacher_final``):
    ``teacher_<key>`` for TEACHER_KEYS (a teacher trained before its recipe was recorded has
    none: None)."""
    try:
        final = json.loads(Path(teacher_final).read_text())
    except (OSError, ValueError) as err:
        raise DataError(f"{teacher_final}: unreadable final.json ({err}); retrain it") from None
    missing = [key for key in TEACHER_KEYS if key != "recipe" and key not in final]
    if missing:
        raise DataError(f"{teacher_final}: no {', '.join(missing)}; retrain the teacher")
    return {f"teacher_{key}": final.get(key) for key in TEACHER_KEYS}
