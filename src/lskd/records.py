"""final.json: the record every training run leaves, image and NMT runs alike, and ``read_runs``,
the one reader of records that every table, figure and CLAIMS.md uses.

Its keys, and who sets them: the identity comes from the config through ``identity`` (the
rules pass it as ``--meta``), the objective node and what a student keeps of its teacher from its
objective (``lskd.objectives``), the numbers from the run (``lskd.train`` for image runs,
``lskd.nmt.runs.train`` for NMT runs).

=============================================  ==================  =============================
key                                            runs                set by
=============================================  ==================  =============================
role ("teacher" or "student"), name, seed      all                 ``identity``
dataset, recipe                                image runs          ``identity``
step (1 or 2)                                  ReActNet            ``identity``
objective (the config node: kind and its       all                 image runs: the objective;
settings, e.g. alpha; lam, temperature,                            NMT runs: ``identity``
teacher_logits, and teacher for image runs)
model                                          NMT runs            ``identity``
teacher_objective                              NMT students        ``identity``
teacher_arch, teacher_recipe,                  students, ReActNet  the objective
teacher_objective, teacher_top1, teacher_top3,                     (``teacher_fields``)
teacher_top5, teacher_sha256
arch, stem, epochs, processes, weights         image runs          ``lskd.train``
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

import pandas as pd

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


TEACHER_KEYS = ("arch", "recipe", "objective", "top1", "top5", "top3")


def teacher_fields(teacher_final: str | Path) -> dict:
    """What a student's final.json keeps of its teacher's (the file ``teacher_final``):
    ``teacher_<key>`` for TEACHER_KEYS."""
    try:
        final = json.loads(Path(teacher_final).read_text())
    except (OSError, ValueError) as err:
        raise DataError(f"{teacher_final}: unreadable final.json ({err}); retrain it") from None
    missing = [key for key in TEACHER_KEYS if key not in final]
    if missing:
        raise DataError(f"{teacher_final}: no {', '.join(missing)}; retrain the teacher")
    return {f"teacher_{key}": final[key] for key in TEACHER_KEYS}


def read_runs(paths) -> pd.DataFrame:
    """One row per record (final.json, or eval.json, which keeps it), its objective's settings
    as columns of their own names (``alpha``, ``lam``, ``temperature``, ``teacher_logits``,
    ``teacher``) and its teacher's objective's as ``teacher_<name>`` (``teacher_alpha``); a
    record without an objective (written before it was recorded) stops with one line."""
    rows = []
    for path in paths:
        record = json.loads(Path(path).read_text())
        if "objective" not in record:
            raise DataError(f"{path}: no objective recorded (an older run); rerun it")
        own, theirs = record.pop("objective"), record.pop("teacher_objective", None) or {}
        settings = {k: v for k, v in own.items() if k != "kind"}
        rows.append(
            record | settings | {f"teacher_{k}": v for k, v in theirs.items() if k != "kind"}
        )
    return pd.DataFrame(rows)


def read_nmt_runs(final_paths) -> pd.DataFrame:
    """NMT runs (``read_runs``) with ``teacher_alpha`` for every row: the label smoothing of the
    teacher of the run's pair (a teacher's own alpha, a student's teacher's)."""
    runs = read_runs(final_paths)
    if runs.empty:
        return runs
    theirs = runs["teacher_alpha"] if "teacher_alpha" in runs else runs["alpha"]
    return runs.assign(teacher_alpha=theirs.where(runs.role == "student", runs["alpha"]))


def test_bleu(test_json: str | Path) -> float:
    """An NMT run's test BLEU, from its test.json (lskd nmt-test)."""
    return json.loads(Path(test_json).read_text())["test_bleu"]
