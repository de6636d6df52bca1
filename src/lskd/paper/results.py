"""The paper's reference numbers, and result tables averaged over seeds (records are read by
``lskd.records.read_runs``)."""

import hashlib
import json
from importlib import resources
from pathlib import Path

import pandas as pd


def reference(table: str) -> pd.DataFrame:
    """The paper's own numbers for ``table`` (see reference/README.md)."""
    with resources.files("lskd.paper").joinpath(f"reference/{table}.csv").open() as f:
        return pd.read_csv(f)


def reference_dir() -> Path:
    return Path(str(resources.files("lskd.paper").joinpath("reference")))


def reference_digest() -> str:
    """sha256 of the reference tables: a rule parameter, so that an edited number reruns the
    rule (a path would differ between copies of the workflow)."""
    digest = hashlib.sha256()
    for path in sorted(reference_dir().glob("*.csv")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


def paper_datasets_of(info_paths) -> dict[str, tuple]:
    """Dataset name (its folder under results/data) -> the paper's datasets it stands beside."""
    from lskd.paper import paper_datasets

    infos = {Path(p).parent.name: json.loads(Path(p).read_text()) for p in info_paths}
    return {name: paper_datasets(info) for name, info in infos.items()}


def val_classes_missing(info_paths) -> dict[str, list[str]]:
    """Dataset name -> the classes its val split has no images of (curation's
    ``val_classes_without_images``): per-class results leave them out."""
    infos = {Path(p).parent.name: json.loads(Path(p).read_text()) for p in info_paths}
    return {name: info.get("val_classes_without_images", []) for name, info in infos.items()}


def paper_match(candidates, available) -> str | None:
    """The first of ``candidates`` that a reference table has (None: show no paper value)."""
    return next((c for c in candidates if c in set(available)), None)


def seed_stats(df: pd.DataFrame, keys: list[str], values: list[str]) -> pd.DataFrame:
    """Mean, std (0 for one seed) and n over seeds of ``values``, one row per ``keys`` group."""
    grouped = df.groupby(keys, sort=False)
    out = grouped[values].mean()
    std = grouped[values].std(ddof=1).fillna(0.0).add_suffix("_std")
    out = out.join(std)
    out["n"] = grouped.size()
    return out.reset_index()


# A teacher with LS (alpha > 0) and its twin without (alpha = 0) share dataset, arch and recipe
LS_PAIR_KEYS = ["dataset", "arch", "recipe", "alpha"]


def ls_pairs(evals: pd.DataFrame, values, keep_unpaired=False) -> pd.DataFrame:
    """One row per (dataset, arch, recipe, LS alpha > 0): the teachers' ``values`` without LS
    (alpha = 0) and with it, means and stds over seeds, the gain, n per side and n = the smaller.

    With ``keep_unpaired`` a group that lacks one side still gives its rows, the missing side
    empty (n 0); otherwise such groups are left out.
    """
    stats = seed_stats(evals, LS_PAIR_KEYS, values)
    sides = [f"{v}_{s}" for v in values for s in ("no_ls", "ls", "no_ls_std", "ls_std", "gain")]
    columns = LS_PAIR_KEYS + ["n_no_ls", "n_ls", "n"] + sides
    rows = []
    for (dataset, arch, recipe), group in stats.groupby(LS_PAIR_KEYS[:3], sort=False):
        plain, smoothed = group[group.alpha == 0], group[group.alpha > 0]
        if (plain.empty or smoothed.empty) and not keep_unpaired:
            continue
        missing = pd.Series({"alpha": float("nan"), "n": 0})
        base = plain.iloc[0] if len(plain) else missing
        for _, ls in smoothed.iterrows() if len(smoothed) else [(None, missing)]:
            row = {"dataset": dataset, "arch": arch, "recipe": recipe, "alpha": ls.alpha}
            row.update(n_no_ls=int(base.n), n_ls=int(ls.n), n=int(min(base.n, ls.n)))
            for v in values:
                row[f"{v}_no_ls"], row[f"{v}_ls"] = base.get(v), ls.get(v)
                row[f"{v}_no_ls_std"], row[f"{v}_ls_std"] = base.get(f"{v}_std"), ls.get(f"{v}_std")
                row[f"{v}_gain"] = ls.get(v, float("nan")) - base.get(v, float("nan"))
            rows.append(row)
    return pd.DataFrame(rows, columns=columns)


def fmt(mean: float, std: float | None = None, n: int = 1, digits: int = 2) -> str:
    """'70.12' for one seed, '70.12±0.30' for several; '' for a missing value."""
    if mean is None or pd.isna(mean):
        return ""
    text = f"{mean:.{digits}f}"
    if n > 1 and std is not None and not pd.isna(std):
        text += f"±{std:.{digits}f}"
    return text
