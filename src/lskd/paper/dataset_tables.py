"""Tables 3, 4, 5, 6 and Figure 9: where label smoothing helps less (Section 7, Appendix A-B).

Table 3: teachers on long-tailed datasets. Table 4 and Figure 9: teachers on class subsets of one
dataset, the LS gain against the number of classes. Table 5: the datasets, computed from the
manifests. Table 6: students of the long-tailed ("inferior") teachers.
"""

import json
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from lskd.paper import (
    arch_name,
    long_tail_power,
    long_tailed,
    network_name,
    paper_datasets,
)
from lskd.paper.kd_tables import soft_only, student_stats
from lskd.paper.results import fmt, ls_pairs, paper_match, reference
from lskd.records import read_runs


def read_infos(info_paths) -> pd.DataFrame:
    rows = []
    for path in info_paths:
        info = json.loads(Path(path).read_text())
        rows.append(
            {
                "dataset": Path(path).parent.name,
                "num_classes": info["num_classes"],
                "long_tail": long_tailed(info),
                "paper": paper_datasets(info),
            }
        )
    return pd.DataFrame(rows, columns=["dataset", "num_classes", "long_tail", "paper"])


def _pair_text(row, tag, metrics=("top1", "top3")):
    return "/".join(fmt(row[f"{m}_{tag}"], row[f"{m}_{tag}_std"], row["n"]) for m in metrics)


def _paper_rows(rows, infos, paper: pd.DataFrame, column: str = "dataset") -> list:
    """For each row, the paper's dataset it stands beside (None: none of ``paper``'s)."""
    candidates = dict(zip(infos.dataset, infos.paper, strict=True))
    return [paper_match(candidates.get(d, ()), paper[column]) for d in rows.dataset]


def table3_rows(evals, infos):
    tailed = infos[infos.long_tail].dataset
    pairs = ls_pairs(evals[evals.dataset.isin(tailed)], ["top1", "top3", "top5"])
    paper = reference("table3")
    rows = pairs.copy()
    rows["paper_dataset"] = _paper_rows(rows, infos, paper)
    ref = paper.set_index(["dataset", "network"])
    keys = list(zip(rows.paper_dataset, rows.arch.map(arch_name), strict=True))
    for col in ("top1_no_ls", "topk_no_ls", "top1_ls", "topk_ls", "k"):
        rows[f"paper_{col}"] = [ref[col].get(k) if k[0] else None for k in keys]
    shown = pd.DataFrame(
        {
            "Dataset": rows.dataset,
            "Teacher": [network_name(a, r) for a, r in zip(rows.arch, rows.recipe, strict=True)],
            "LS α": rows.alpha.map(lambda a: f"{a:g}"),
            "w/o LS (top-1/top-3)": rows.apply(_pair_text, axis=1, tag="no_ls"),
            "w/ LS (top-1/top-3)": rows.apply(_pair_text, axis=1, tag="ls"),
            "LS gain top-1": rows.top1_gain.map(lambda g: f"{g:+.2f}"),
            "n": rows.n,
            "Paper dataset": rows.paper_dataset.fillna(""),
            "Paper w/o → w/ (top-1)": [
                f"{a:.3f} → {b:.3f}" if pd.notna(a) else ""
                for a, b in zip(rows.paper_top1_no_ls, rows.paper_top1_ls, strict=True)
            ],
        }
    )
    return rows, shown


def table4_rows(evals, infos):
    balanced = infos[~infos.long_tail]
    standard = evals[evals.dataset.isin(balanced.dataset) & (evals.recipe == "standard")]
    pairs = ls_pairs(standard, ["top1", "top5"])
    pairs = pairs.merge(balanced, on="dataset").sort_values(["arch", "num_classes"])
    shown = pd.DataFrame(
        {
            "Teacher": [network_name(a, r) for a, r in zip(pairs.arch, pairs.recipe, strict=True)],
            "Dataset": pairs.dataset,
            "#class": pairs.num_classes,
            "w/o LS (top-1/top-5)": pairs.apply(
                _pair_text, axis=1, tag="no_ls", metrics=("top1", "top5")
            ),
            "w/ LS (top-1/top-5)": pairs.apply(
                _pair_text, axis=1, tag="ls", metrics=("top1", "top5")
            ),
            "LS gain (top-1/top-5)": [
                f"{a:+.2f}/{b:+.2f}" for a, b in zip(pairs.top1_gain, pairs.top5_gain, strict=True)
            ],
            "n": pairs.n,
        }
    )
    average = gains_by_classes(pairs)
    avg_rows = pd.DataFrame(
        {
            "Teacher": "Average of " + ", ".join(arch_name(a) for a in common_archs(pairs)),
            "Dataset": "",
            "#class": average.num_classes,
            "w/o LS (top-1/top-5)": "",
            "w/ LS (top-1/top-5)": "",
            "LS gain (top-1/top-5)": [
                f"{a:+.2f}/{b:+.2f}"
                for a, b in zip(average.top1_gain, average.top5_gain, strict=True)
            ],
            "n": "",
        }
    )
    paper = gains_by_classes(paper_table4())
    paper_rows = pd.DataFrame(
        {
            "Teacher": "Paper average (ImageNet)",
            "Dataset": "",
            "#class": paper.num_classes,
            "w/o LS (top-1/top-5)": "",
            "w/ LS (top-1/top-5)": "",
            "LS gain (top-1/top-5)": [
                f"{a:+.3f}/{b:+.3f}" for a, b in zip(paper.top1_gain, paper.top5_gain, strict=True)
            ],
            "n": "",
        }
    )
    return pairs, pd.concat([shown, avg_rows, paper_rows], ignore_index=True)


def paper_table4() -> pd.DataFrame:
    ref = reference("table4").rename(columns={"classes": "num_classes", "network": "arch"})
    ref["top1_gain"] = ref.top1_ls - ref.top1_no_ls
    ref["top5_gain"] = ref.top5_ls - ref.top5_no_ls
    return ref


def common_archs(pairs: pd.DataFrame) -> list[str]:
    """The architectures present at every number of classes."""
    counts = pairs.groupby("arch").num_classes.nunique()
    return sorted(counts[counts == pairs.num_classes.nunique()].index)


def gains_by_classes(pairs: pd.DataFrame) -> pd.DataFrame:
    """Mean LS gain for each number of classes over the same architectures, those present at
    every count (the paper's 'Average': ResNet-18 and -101 at 100, 500 and 1,000 classes);
    averaging whatever each count has would mix different models into the trend."""
    same = pairs[pairs.arch.isin(common_archs(pairs))]
    return same.groupby("num_classes")[["top1_gain", "top5_gain"]].mean().reset_index()


def fig9(inputs) -> plt.Figure:
    pairs, _ = table4_rows(*_teachers(inputs))
    ours, paper = gains_by_classes(pairs), gains_by_classes(paper_table4())
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, data, title in ((axes[0], ours, "this run"), (axes[1], paper, "paper (ImageNet)")):
        ax.plot(data.num_classes, data.top1_gain, "o-", color="tab:red", label="top-1")
        ax.plot(data.num_classes, data.top5_gain, "s--", color="tab:blue", label="top-5")
        ax.axhline(0, color="grey", linewidth=0.8)
        ax.set_xlabel("number of classes")
        ax.set_ylabel("accuracy gain of LS (points)")
        ax.set_title(title)
        ax.legend(fontsize=8)
    return fig


def table5(inputs):
    rows = []
    for info_path, manifest_path in zip(inputs.infos, inputs.manifests, strict=True):
        info = json.loads(Path(info_path).read_text())
        manifest = pd.read_csv(manifest_path)
        train = manifest[manifest.split == "train"].label.value_counts()
        rows.append(
            {
                "dataset": Path(info_path).parent.name,
                "classes": info["num_classes"],
                "property": info.get("property", "Standard"),
                "long_tail_power": long_tail_power(info),
                "head_class_size": int(train.max()),
                "tail_class_size": int(train.min()),
                "train": int((manifest.split == "train").sum()),
                "test": int((manifest.split == "val").sum()),
                "source": "this run",
            }
        )
    ours = pd.DataFrame(rows)
    paper = reference("table5").astype(str).replace("nan", "N/A").assign(source="paper")
    numbers = pd.concat([ours, paper], ignore_index=True)
    shown = numbers.astype(object).where(numbers.notna(), "N/A").astype(str)
    shown.columns = [
        "Dataset",
        "#class",
        "Property",
        "Long-tailed α",
        "Head class size",
        "Tail class size",
        "#Training set",
        "#Testing set",
        "Source",
    ]
    return numbers, shown


def table6(inputs):
    students = soft_only(student_stats(read_runs(inputs.student_finals)))
    infos = read_infos(inputs.infos)
    rows = students[students.dataset.isin(infos[infos.long_tail].dataset)].copy()
    rows = rows.sort_values(["dataset", "teacher_arch", "ls", "arch"])
    paper = reference("table6").set_index(["teacher", "teacher_ls", "student"])
    inat = _paper_rows(rows, infos, pd.DataFrame({"dataset": ["iNaturalist 2019"]}))
    keys = [
        (arch_name(t), int(ls), arch_name(s)) if named else None
        for t, ls, s, named in zip(rows.teacher_arch, rows.ls, rows.arch, inat, strict=True)
    ]
    for col in ("teacher_top1", "student_top1", "student_top3"):
        rows[f"paper_{col}"] = [paper[col].get(k) for k in keys]
    shown = pd.DataFrame(
        {
            "Dataset": rows.dataset,
            "Teacher": rows.teacher_arch.map(arch_name),
            "w/ LS": rows.ls.map({True: "✔", False: ""}),
            "Teacher top-1/top-3": [
                f"{fmt(a)}/{fmt(b)}"
                for a, b in zip(
                    rows.teacher_top1, rows.get("teacher_top3", rows.teacher_top5), strict=True
                )
            ],
            "Student": rows.arch.map(arch_name),
            "Student top-1/top-3": [
                f"{fmt(a, s, n)}/{fmt(b)}"
                for a, s, n, b in zip(rows.top1, rows.top1_std, rows.n, rows.top3, strict=True)
            ],
            "n": rows.n,
            "Paper teacher top-1 (iNat 2019)": rows.paper_teacher_top1.map(
                lambda v: f"{v:.3f}" if pd.notna(v) else ""
            ),
            "Paper student top-1/top-3": [
                f"{a:.3f}/{b:.3f}" if pd.notna(a) else ""
                for a, b in zip(rows.paper_student_top1, rows.paper_student_top3, strict=True)
            ],
        }
    )
    return rows, shown


def _teachers(inputs) -> tuple[pd.DataFrame, pd.DataFrame]:
    return read_runs(inputs.teacher_evals), read_infos(inputs.infos)


def table3(inputs):
    return table3_rows(*_teachers(inputs))


def table4(inputs):
    return table4_rows(*_teachers(inputs))
