"""Reading result files (eval.json, final.json) into tables, averaged over seeds."""

import json
from importlib import resources

import pandas as pd


def read_jsons(paths) -> pd.DataFrame:
    return pd.DataFrame([json.loads(open(p).read()) for p in paths])


def reference(table: str) -> pd.DataFrame:
    """The paper's own numbers for ``table`` (see reference/README.md)."""
    with resources.files("lskd.paper").joinpath(f"reference/{table}.csv").open() as f:
        return pd.read_csv(f)


def seed_stats(df: pd.DataFrame, keys: list[str], values: list[str]) -> pd.DataFrame:
    """Mean, std (0 for one seed) and n over seeds of ``values``, one row per ``keys`` group."""
    grouped = df.groupby(keys, sort=False)
    out = grouped[values].mean()
    std = grouped[values].std(ddof=1).fillna(0.0).add_suffix("_std")
    out = out.join(std)
    out["n"] = grouped.size()
    return out.reset_index()


def fmt(mean: float, std: float | None = None, n: int = 1, digits: int = 2) -> str:
    """'70.12' for one seed, '70.12±0.30' for several; '' for a missing value."""
    if mean is None or pd.isna(mean):
        return ""
    text = f"{mean:.{digits}f}"
    if n > 1 and std is not None and not pd.isna(std):
        text += f"±{std:.{digits}f}"
    return text
