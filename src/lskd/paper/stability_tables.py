"""Tables 1 and 10: teacher accuracy and (1 - S) stability without and with label smoothing.

Table 1 prints the intra-class metric of Algorithm 1 (``intra_class_std``), Table 10 the
inter-class metric of Eq. 5 (``inter_class_variance``). Rows pair the teachers that share dataset,
architecture and recipe: alpha = 0 against each alpha > 0; values are means over seeds.
"""

import pandas as pd

from lskd.paper import network_name, paper_row_name
from lskd.paper.results import (
    fmt,
    ls_pairs,
    paper_datasets_of,
    paper_match,
    reference,
    val_classes_missing,
)
from lskd.records import read_runs

METRIC = {"table1": "intra_class_std", "table10": "inter_class_variance"}


def build(evals: pd.DataFrame, table: str, datasets: dict | None = None) -> pd.DataFrame:
    """One numeric row per (dataset, arch, recipe, LS alpha) with the paper's values beside
    (ImageNet-1K's, for the datasets that ``datasets`` maps to it: ``paper_datasets_of``);
    a teacher without its counterpart keeps its row, the other side empty."""
    metric = METRIC[table]
    pairs = ls_pairs(evals, ["top1", "top5", metric], keep_unpaired=True)
    pairs = pairs.rename(columns=lambda c: c.replace(metric, "stability", 1))
    pairs = pairs.rename(columns={"stability_gain": "difference"})
    nets = list(zip(pairs.arch, pairs.recipe, strict=True))
    pairs.insert(1, "network", [network_name(a, r) for a, r in nets])
    paper = reference(table).set_index("network")
    names = [paper_row_name(a, r) for a, r in nets]
    ref = paper.reindex(names).reset_index(drop=True)  # rows the paper lacks stay empty
    imagenet = [paper_match((datasets or {}).get(d, ()), ["ImageNet-1K"]) for d in pairs.dataset]
    ref.loc[[m is None for m in imagenet]] = float("nan")  # another dataset: no paper value
    for side in ("no_ls", "ls"):
        for col in ("top1", "top5", "stability"):
            pairs[f"paper_{col}_{side}"] = ref[f"{col}_{side}"]
    pairs["paper_difference"] = pairs.paper_stability_ls - pairs.paper_stability_no_ls
    return pairs


def _acc(row, tag, prefix=""):
    n = row.get(f"n_{tag}", 1) if not prefix else 1
    top1 = fmt(row[f"{prefix}top1_{tag}"], row.get(f"top1_{tag}_std"), n, 2 if not prefix else 3)
    top5 = fmt(row[f"{prefix}top5_{tag}"], row.get(f"top5_{tag}_std"), n, 2 if not prefix else 3)
    return f"{top1}/{top5}" if top1 else ""


def shown(numbers: pd.DataFrame) -> pd.DataFrame:
    """The formatted table: ours, the red difference, then the paper's numbers."""
    out = pd.DataFrame()
    out["Dataset"] = numbers["dataset"]
    out["Network"] = numbers["network"]
    out["LS α"] = numbers["alpha"].map(lambda a: fmt(a, digits=2))
    out["Acc. w/o LS (top-1/top-5)"] = numbers.apply(_acc, axis=1, tag="no_ls")
    out["1-S w/o LS"] = numbers.apply(
        lambda r: fmt(r.stability_no_ls, r.stability_no_ls_std, r.n_no_ls, 4), axis=1
    )
    out["Acc. w/ LS"] = numbers.apply(_acc, axis=1, tag="ls")
    out["1-S w/ LS"] = numbers.apply(
        lambda r: fmt(r.stability_ls, r.stability_ls_std, r.n_ls, 4), axis=1
    )
    out["Δ (erased)"] = numbers["difference"].map(lambda d: fmt(d, digits=4))
    out["Paper acc. w/o LS"] = numbers.apply(_acc, axis=1, tag="no_ls", prefix="paper_")
    out["Paper 1-S w/o LS"] = numbers["paper_stability_no_ls"].map(lambda v: fmt(v, digits=4))
    out["Paper acc. w/ LS"] = numbers.apply(_acc, axis=1, tag="ls", prefix="paper_")
    out["Paper 1-S w/ LS"] = numbers["paper_stability_ls"].map(lambda v: fmt(v, digits=4))
    out["Paper Δ"] = numbers["paper_difference"].map(lambda d: fmt(d, digits=4))
    return out


def table1(inputs):
    return _table(inputs, "table1")


def table10(inputs):
    return _table(inputs, "table10")


def _table(inputs, table: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    numbers = build(read_runs(inputs.teacher_evals), table, paper_datasets_of(inputs.infos))
    missing = val_classes_missing(inputs.infos)
    numbers["val_classes_without_images"] = [", ".join(missing.get(d, [])) for d in numbers.dataset]
    table = shown(numbers)
    table["Dataset"] = [  # 1 - S averages over the classes that have validation images
        f"{d} (1-S without {m}: no val images)" if m else d
        for d, m in zip(numbers.dataset, numbers.val_classes_without_images, strict=True)
    ]
    return numbers, table
