"""The paper's own tables (CSV files in the format of ``reference/``) as CLAIMS.md's evidence:
the same frames as this run's (``evidence``). Where the paper prints a ± over its 3 runs (Table
2, stored in table7.csv's ``*_sd`` columns) an effect gets a t interval from it (n = 3, Welch
degrees of freedom); everywhere else n = 1 and every number has the interval of its printed
precision (+- half a unit of its last digit, in ``<column>_half``), which checks directions
only."""

import math
from pathlib import Path

import numpy as np
import pandas as pd

from lskd.data.errors import DataError
from lskd.paper import ARCH_NAMES, RECIPE_SUFFIX, paper_row_name
from lskd.paper.evidence import METRICS, Evidence
from lskd.paper.kd_tables import SHORT, teacher_label
from lskd.paper.uncertainty import from_parts, from_precision

ARCHS = {name: arch for arch, name in ARCH_NAMES.items()} | {s: a for a, s in SHORT.items()}
NETWORKS = {paper_row_name(a, r): (a, r) for a in ARCH_NAMES for r in RECIPE_SUFFIX}
LABELS = {  # Table 8's teacher labels, e.g. "R50+LS+Long"
    teacher_label(a, r, alpha): (a, r, alpha)
    for a in SHORT
    for r in RECIPE_SUFFIX
    for alpha in (0.0, 0.1)
}
LS_ALPHA = 0.1  # every LS teacher of the paper's image tables
UNTESTABLE = {
    "e": "Figure 1 is a drawing: the paper prints no cluster distances",
    "h": "Figure 5 gives curves only: the paper prints no loss values",
    "m": "Figure 7 gives curves only: the paper prints no BLEU or perplexity values",
}


def _number(text) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def _half(text) -> float:
    """Half a unit of the last printed digit of ``text`` ('0.3359' -> 0.00005)."""
    if not isinstance(text, str) or math.isnan(_number(text)):
        return math.nan
    decimals = len(text.split(".")[1]) if "." in text else 0
    return 0.5 * 10.0**-decimals


def _values(row, columns: dict, side: str = "") -> dict:
    """Our column -> the paper's number, its half unit and its ± over the paper's runs (NaN
    where it prints none); ``side``: '_no_ls' or '_ls'."""
    out = {}
    for ours, theirs in columns.items():
        text = row.get(f"{theirs}{side}")
        out[ours], out[f"{ours}_half"] = _number(text), _half(text)
        out[f"{ours}_sd"] = _number(row.get(f"{theirs}_sd{side}"))
    return out


def _sides(table: pd.DataFrame, columns: dict, fields) -> pd.DataFrame:
    """Two rows (alpha 0, LS_ALPHA) per row of a table with ``_no_ls``/``_ls`` columns;
    ``fields(row)`` gives the identifying columns."""
    rows = []
    for _, r in table.iterrows():
        for alpha, side in ((0.0, "_no_ls"), (LS_ALPHA, "_ls")):
            rows.append({**fields(r), "alpha": alpha, "seed": 0, **_values(r, columns, side)})
    return pd.DataFrame(rows)


def _read(directory: Path, table: str) -> pd.DataFrame:
    path = directory / f"{table}.csv"
    return pd.read_csv(path, dtype=str) if path.exists() else pd.DataFrame()


def _teachers(table1: pd.DataFrame, table10: pd.DataFrame) -> pd.DataFrame:
    """Tables 1 and 10 (ImageNet-1K): accuracy, 1 - S (Algorithm 1) and 1 - S^inter (Eq. 5)."""
    if table1.empty:
        return pd.DataFrame()
    both = table1.merge(table10, on="network", how="outer", suffixes=("", "_t10"))
    columns = {"top1": "top1", "stability": "stability", "inter": "stability_t10"}
    both = both[both.network.isin(NETWORKS)]

    def fields(r):
        arch, recipe = NETWORKS[r.network]
        return {"dataset": "ImageNet-1K", "num_classes": 1000, "long_tail": False,
                "arch": arch, "recipe": recipe}  # fmt: skip

    frame = _sides(both.rename(columns=_t10_names), columns, fields)
    return frame


def _t10_names(column: str) -> str:
    """'stability_no_ls_t10' -> 'stability_t10_no_ls', so that _sides finds both sides."""
    for side in ("_no_ls", "_ls"):
        if column.endswith(f"{side}_t10"):
            return column.replace(f"{side}_t10", f"_t10{side}")
    return column


def _classes(table5: pd.DataFrame) -> dict:
    if table5.empty:
        return {}
    named = {"Place-LT": "Places-LT"}  # Table 5 spells it so; Table 3 says Places-LT
    pairs = zip(table5.dataset, table5.classes, strict=True)
    return {named.get(d, d): _number(c) for d, c in pairs}


def _long_tailed(table3: pd.DataFrame, classes: dict) -> pd.DataFrame:
    def fields(r):
        return {"dataset": r.dataset, "num_classes": classes.get(r.dataset, math.nan),
                "long_tail": True, "arch": ARCHS[r.network], "recipe": "paper"}  # fmt: skip

    return _sides(table3, {"top1": "top1"}, fields) if len(table3) else pd.DataFrame()


def _class_counts(table4: pd.DataFrame) -> pd.DataFrame:
    def fields(r):
        k = int(r.classes)
        return {"dataset": "ImageNet-1K" if k == 1000 else f"ImageNet-{k}", "num_classes": k,
                "long_tail": False, "arch": ARCHS[r.network], "recipe": "standard"}  # fmt: skip

    return _sides(table4, {"top1": "top1"}, fields) if len(table4) else pd.DataFrame()


STUDENT = {
    "lam": 0.0,
    "temperature": 1.0,
    "teacher_logits": "online",
    "seed": 0,
    "teacher_recipe": "standard",
}


def _students(table: pd.DataFrame, dataset=None, long_tail=False) -> pd.DataFrame:
    """Tables 7 and 6: one row per (teacher, LS, student)."""
    rows = []
    for _, r in table.iterrows():
        rows.append({
            **STUDENT, "dataset": dataset or r.dataset, "long_tail": long_tail,
            "teacher_arch": ARCHS[r.teacher], "teacher_alpha": LS_ALPHA * int(r.teacher_ls),
            "arch": ARCHS[r.student],
            **_values(r, {"top1": "student_top1", "teacher_top1": "teacher_top1"}),
        })  # fmt: skip
    return pd.DataFrame(rows)


def _by_teacher(table8: pd.DataFrame) -> pd.DataFrame:
    """Table 8: one student (R18) from teachers of increasing accuracy."""
    rows = []
    for _, r in table8.iterrows():
        arch, recipe, alpha = LABELS[r.teacher]
        rows.append({
            **STUDENT, "dataset": "ImageNet-1K", "long_tail": False, "teacher_arch": arch,
            "teacher_recipe": recipe, "teacher_alpha": alpha, "arch": ARCHS[r.student],
            **_values(r, {"top1": "student_top1", "teacher_top1": "teacher_top1"}),
        })  # fmt: skip
    return pd.DataFrame(rows)


def _mixtures(table9: pd.DataFrame) -> pd.DataFrame:
    """Table 9: ResNet-50 -> ResNet-18 with hard-label weight lam."""
    rows = []
    for _, r in table9.iterrows():
        rows.append({
            **STUDENT, "dataset": "ImageNet-1K", "long_tail": False, "lam": _number(r.lam),
            "teacher_arch": "resnet50", "teacher_alpha": LS_ALPHA * int(r.teacher_ls),
            "arch": "resnet18", **_values(r, {"top1": "student_top1"}),
        })  # fmt: skip
    return pd.DataFrame(rows)


def _bnn(table: pd.DataFrame) -> pd.DataFrame:
    """Section 5's ReActNet students (63.002 vs 63.108)."""
    rows = []
    for _, r in table.iterrows():
        rows.append({
            "dataset": r.dataset, "teacher_arch": ARCHS[r.teacher], "teacher_recipe": "standard",
            "teacher_alpha": LS_ALPHA * int(r.teacher_ls), "seed": 0,
            **_values(r, {"top1": "top1"}),
        })  # fmt: skip
    return pd.DataFrame(rows)


PAPER_RUNS = 3  # "We report average over 3 runs" (Table 2)


class PaperEvidence(Evidence):
    """An estimate's interval: the paper's ± over its runs where it prints one for every
    number of the effect, else the printed digits' precision."""

    nothing = "cannot be tested"

    def estimate(self, terms, metric):
        column = METRICS[metric][0]
        effect = half = 0.0
        variances = []
        for weight, rows in terms:
            if len(rows) != 1 or column not in rows:
                return None
            value, unit = rows[column].iloc[0], rows[f"{column}_half"].iloc[0]
            if not np.isfinite(value):
                return None
            effect, half = effect + weight * value, half + abs(weight) * unit
            sd = rows[f"{column}_sd"].iloc[0] if f"{column}_sd" in rows else math.nan
            variances.append(weight**2 * sd**2 / PAPER_RUNS)
        if not all(np.isfinite(variances)):
            return from_precision(effect, half)
        variance = sum(variances)  # Welch-Satterthwaite degrees of freedom
        df = variance**2 / sum(v**2 / (PAPER_RUNS - 1) for v in variances) if variance else 1.0
        how = f"the paper's ± over its {PAPER_RUNS} runs (Welch t, {df:.1f} df)"
        return from_parts(effect, [(variance, df)], PAPER_RUNS, how)


def load_reference(directory) -> PaperEvidence:
    """The tables in ``directory`` (the files of lskd/paper/reference/, or edited copies)."""
    d = Path(directory)
    if not d.is_dir():
        raise DataError(
            f"--reference {d}: no such folder; give one with CSV files in the format of "
            "lskd/paper/reference/ (table1.csv, table7.csv, ...)"
        )
    read = {name: _read(d, name) for name in
            ("table1", "table10", "table3", "table4", "table5", "table6", "table7", "table8",
             "table9", "bnn")}  # fmt: skip
    tables = {
        "table1": _teachers(read["table1"], read["table10"]),
        "table3": _long_tailed(read["table3"], _classes(read["table5"])),
        "table4": _class_counts(read["table4"]),
        "table7": _students(read["table7"]),
        "table6": _students(read["table6"], "iNaturalist 2019", long_tail=True),
        "table8": _by_teacher(read["table8"]),
        "table9": _mixtures(read["table9"]),
        "bnn": _bnn(read["bnn"]),
    }
    return PaperEvidence(tables, f"the paper's tables in {d}", dict(UNTESTABLE))
