"""Tables 2, 7, 8, 9 and the temperature sweep: students distilled from teachers without/with LS.

Every student's ``final.json`` carries its teacher's architecture, recipe, objective and accuracy,
so the tables need only those files (``lskd.records.read_runs``). Values are means (± std, n)
over seeds, the paper's beside.
"""

import pandas as pd

from lskd.cifar_archs import CIFAR_RESNETS
from lskd.models import parameter_count
from lskd.paper import RECIPE_SUFFIX, arch_name, network_name
from lskd.paper.results import (
    fmt,
    paper_datasets_of,
    paper_match,
    reference,
    seed_stats,
)
from lskd.records import read_runs

SHORT = {
    "resnet18": "R18",
    "resnet50": "R50",
    "resnet101": "R101",
    "mobilenet_v2": "MobileNet V2",
    "densenet121": "DenseNet-121",
    "wide_resnet50_2": "Wide ResNet-50-2",
    "resnext101_32x8d": "ResNeXt-101-32x8d",
}
SHORT |= {a: f"R{a.removeprefix('cifar_resnet')}c" for a in CIFAR_RESNETS}
KEYS = [
    "dataset",
    "name",
    "teacher",
    "teacher_arch",
    "teacher_recipe",
    "teacher_alpha",
    "arch",
    "lam",
    "temperature",
    "teacher_logits",
]
VALUES = ["teacher_top1", "teacher_top3", "teacher_top5", "top1", "top3", "top5"]


def student_stats(finals: pd.DataFrame) -> pd.DataFrame:
    stats = seed_stats(finals, KEYS, VALUES)
    stats["ls"] = stats.teacher_alpha > 0
    return stats


def soft_only(rows: pd.DataFrame) -> pd.DataFrame:
    """Students of soft labels only (Eq. 4, lam 0) at T = 1: Tables 2, 6, 7, 8, Figure 5."""
    return rows[(rows.lam == 0) & (rows.temperature == 1)]


def _acc(row, prefix="", digits=2):
    top1 = fmt(row[f"{prefix}top1"], row.get(f"{prefix}top1_std"), row["n"], digits)
    top5 = fmt(row[f"{prefix}top5"], row.get(f"{prefix}top5_std"), row["n"], digits)
    return f"{top1}/{top5}"


def teacher_columns(rows: pd.DataFrame) -> dict:
    """The 'Teacher' (name with recipe) and 'w/ LS' (tick) columns of a students' table."""
    return {
        "Teacher": [
            network_name(a, r) for a, r in zip(rows.teacher_arch, rows.teacher_recipe, strict=True)
        ],
        "w/ LS": rows.ls.map({True: "✔", False: ""}),
    }


def _view(rows) -> pd.Series:
    """How the student saw its teacher: on its augmented batch, or cached on unaugmented ones."""
    return rows.teacher_logits.map({"cached": "cached, no aug.", "online": "online"})


def _paper(value, digits=3):
    return fmt(value, digits=digits)


def _imagenet(rows: pd.DataFrame, datasets: dict | None) -> list[bool]:
    """Rows whose dataset stands beside ImageNet-1K (Tables 8, 9 are ImageNet-1K only)."""
    return [paper_match((datasets or {}).get(d, ()), ["ImageNet-1K"]) is not None
            for d in rows.dataset]  # fmt: skip


def table7_rows(stats: pd.DataFrame, teacher_archs=None, datasets=None):
    """Table 7's rows, each beside the paper's row of its own dataset (``datasets``: our
    dataset -> the paper's it stands beside, ``results.paper_datasets_of``)."""
    rows = soft_only(stats)
    if teacher_archs is not None:
        rows = rows[rows.teacher_arch.isin(teacher_archs)]
    rows = rows.sort_values(["dataset", "teacher_arch", "ls", "arch"]).copy()
    paper = reference("table7")
    named = [paper_match((datasets or {}).get(d, ()), paper.dataset) for d in rows.dataset]
    paper = paper.set_index(["dataset", "teacher", "teacher_ls", "student"])
    keys = [
        (d, arch_name(t), int(ls), arch_name(s))
        for d, t, ls, s in zip(named, rows.teacher_arch, rows.ls, rows.arch, strict=True)
    ]
    rows["paper_dataset"] = named
    for col in ("teacher_top1", "teacher_top5", "student_top1", "student_top5"):
        rows[f"paper_{col}"] = [paper[col].get(k) for k in keys]
    shown = pd.DataFrame(
        {
            "Dataset": rows.dataset,
            **teacher_columns(rows),
            "Teacher acc. (top-1/top-5)": rows.apply(_acc, axis=1, prefix="teacher_"),
            "Student": rows.arch.map(arch_name),
            "Student acc. (top-1/top-5)": rows.apply(_acc, axis=1),
            "KD": _view(rows),
            "n": rows.n,
            "Paper dataset": rows.paper_dataset.fillna(""),
            "Paper teacher": [
                f"{_paper(a)}/{_paper(b)}" if _paper(a) else ""
                for a, b in zip(rows.paper_teacher_top1, rows.paper_teacher_top5, strict=True)
            ],
            "Paper student": [
                f"{_paper(a)}/{_paper(b)}" if _paper(a) else ""
                for a, b in zip(rows.paper_student_top1, rows.paper_student_top5, strict=True)
            ],
        }
    )
    return rows, shown


def teacher_label(arch: str, recipe: str, alpha: float) -> str:
    """Table 8's teacher label, e.g. 'R50+LS+Long'."""
    return SHORT.get(arch, arch) + ("+LS" if alpha > 0 else "") + RECIPE_SUFFIX.get(recipe, "")


def table8_rows(stats: pd.DataFrame, datasets=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = soft_only(stats).copy()
    rows["label"] = [
        teacher_label(a, r, al)
        for a, r, al in zip(rows.teacher_arch, rows.teacher_recipe, rows.teacher_alpha, strict=True)
    ]
    rows = rows.sort_values(["dataset", "arch", "teacher_top1"])
    paper = reference("table8").set_index(["teacher", "student"])
    keys = list(zip(rows.label, rows.arch.map(lambda a: SHORT.get(a, a)), strict=True))
    keys = [k if ok else None for k, ok in zip(keys, _imagenet(rows, datasets), strict=True)]
    rows["paper_teacher_top1"] = [paper.teacher_top1.get(k) for k in keys]
    rows["paper_student_top1"] = [paper.student_top1.get(k) for k in keys]
    shown = pd.DataFrame(
        {
            "Dataset": rows.dataset,
            "Teacher": rows.label,
            "Teacher top-1": [
                fmt(m, s, n)
                for m, s, n in zip(rows.teacher_top1, rows.teacher_top1_std, rows.n, strict=True)
            ],
            "Student": rows.arch.map(lambda a: SHORT.get(a, a)),
            "KD": _view(rows),
            "Student top-1": [
                fmt(m, s, n) for m, s, n in zip(rows.top1, rows.top1_std, rows.n, strict=True)
            ],
            "n": rows.n,
            "Paper teacher top-1": rows.paper_teacher_top1.map(_paper),
            "Paper student top-1": rows.paper_student_top1.map(_paper),
        }
    )
    return rows, shown


def table9_rows(stats: pd.DataFrame, datasets=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = stats[(stats.lam > 0) & (stats.temperature == 1)]
    rows = rows.sort_values(["dataset", "lam", "teacher_arch", "ls"]).copy()
    paper = reference("table9").set_index(["lam", "teacher_ls"])
    keys = list(zip(rows.lam.round(3), rows.ls.astype(int), strict=True))
    keys = [k if ok else None for k, ok in zip(keys, _imagenet(rows, datasets), strict=True)]
    rows["paper_top1"] = [paper.student_top1.get(k) for k in keys]
    rows["paper_top5"] = [paper.student_top5.get(k) for k in keys]
    shown = pd.DataFrame(
        {
            "Dataset": rows.dataset,
            "Ratio (hard – soft)": [f"{lam:g} – {1 - lam:g}" for lam in rows.lam],
            **teacher_columns(rows),
            "Student": rows.arch.map(arch_name),
            "Student acc. (top-1/top-5)": rows.apply(_acc, axis=1),
            "KD": _view(rows),
            "n": rows.n,
            "Paper (R50 → R18)": [
                f"{_paper(a)}/{_paper(b)}" if _paper(a) else ""
                for a, b in zip(rows.paper_top1, rows.paper_top5, strict=True)
            ],
        }
    )
    return rows, shown


def temperature_rows(stats: pd.DataFrame, datasets=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = stats[stats.lam == 0].sort_values(
        ["dataset", "teacher_arch", "arch", "temperature", "ls"]
    )
    shown = pd.DataFrame(
        {
            "Dataset": rows.dataset,
            **teacher_columns(rows),
            "Student": rows.arch.map(arch_name),
            "T": rows.temperature.map(lambda t: f"{t:g}"),
            "Student acc. (top-1/top-5)": rows.apply(_acc, axis=1),
            "KD": _view(rows),
            "n": rows.n,
        }
    )
    return rows, shown


def _stats(inputs) -> tuple[pd.DataFrame, dict]:
    """The students' seed statistics, and which of the paper's datasets each dataset matches."""
    return student_stats(read_runs(inputs.student_finals)), paper_datasets_of(inputs.infos)


def table2_teacher(archs) -> str:
    """The paper's Table 2 shows its ResNet-50 teachers' students; a study without ResNet-50
    teachers (the default's CIFAR ResNets) shows those of its largest teacher architecture."""
    archs = set(archs)
    if "resnet50" in archs or not archs:
        return "resnet50"
    return max(sorted(archs), key=parameter_count)


def table2(inputs):
    stats, datasets = _stats(inputs)
    teacher = table2_teacher(soft_only(stats).teacher_arch)
    return table7_rows(stats, teacher_archs=[teacher], datasets=datasets)


def table7(inputs):
    stats, datasets = _stats(inputs)
    return table7_rows(stats, datasets=datasets)


def table8(inputs):
    return table8_rows(*_stats(inputs))


def table9(inputs):
    return table9_rows(*_stats(inputs))


def temperature(inputs):
    return temperature_rows(*_stats(inputs))
