"""The report's environment section: the provenance of every record of a run (``provenance`` in
final.json, eval.json and the NMT records, see lskd.provenance), summarised per field, and where
records disagree: two torch versions or two commits in one results/ mean that its numbers did not
all come from the same code."""

import json
from pathlib import Path

import numpy as np
import pandas as pd

from lskd.data.errors import DataError

# Fields that one run's records should share: a second value means other code or libraries.
SOFTWARE = ["lskd", "git_commit", "git_dirty", "python", "torch", "torchvision", "fairseq",
            "snakemake"]  # fmt: skip
# Fields that may differ between jobs (training on GPUs, evaluating on one), shown all the same:
# their timings are only comparable on the same machine.
MACHINE = ["host", "cpu", "gpu", "gpus", "processes", "precision", "threads"]
FIELDS = SOFTWARE + MACHINE


def read(paths) -> pd.DataFrame:
    """One row per record: its path and its provenance fields (empty where it has none)."""
    rows = []
    for path in paths:
        try:
            record = json.loads(Path(path).read_text())
        except (OSError, ValueError) as err:
            raise DataError(f"{path}: not a readable JSON record ({err}); rerun its rule") from err
        provenance = record.get("provenance") if isinstance(record, dict) else None
        rows.append({"record": str(path), **(provenance or {})})
    records = pd.DataFrame(rows)
    for field in FIELDS + ["start", "end"]:
        if field not in records:
            records[field] = None
    return records[["record"] + FIELDS + ["start", "end"]]


def _shown(field: str, value) -> str:
    if field == "git_dirty" and isinstance(value, bool | np.bool_):
        return "yes (uncommitted changes)" if value else "no"
    if value is None or value != value:  # (NaN: None in a column of numbers)
        return "none"
    if isinstance(value, float) and value.is_integer():  # a count, read back beside a NaN
        return str(int(value))
    return str(value)


def summary(records: pd.DataFrame) -> pd.DataFrame:
    """field, value, records (how many have it), agree (False where a field has several
    values), for the records that have a provenance entry."""
    known = records[records["start"].notna()]
    rows = []
    for field in FIELDS:
        counts = known[field].map(lambda v, f=field: _shown(f, v)).value_counts(sort=True)
        for value, n in counts.items():
            rows.append({"field": field, "value": value, "records": int(n),
                         "agree": len(counts) == 1})  # fmt: skip
    return pd.DataFrame(rows, columns=["field", "value", "records", "agree"])


def _disagreement(records: pd.DataFrame, field: str) -> str:
    """'torch: 2.14.1 in 38 records, 2.13.0 in 2 (results/a/final.json, ...)'."""
    shown = records[field].map(lambda v: _shown(field, v))
    counts = shown.value_counts()
    parts = []
    for value, n in counts.items():
        where = ""
        if value != counts.index[0]:  # name the records of the less common values
            paths = records.record[shown == value].tolist()
            where = f" ({', '.join(paths[:3])}{', ...' if len(paths) > 3 else ''})"
        parts.append(f"{value} in {n} record{'s' * (n != 1)}{where}")
    return f"{field}: " + ", ".join(parts)


def markdown(records: pd.DataFrame) -> str:
    known = records[records["start"].notna()]
    missing = records.record[records["start"].isna()].tolist()
    table = summary(records)
    count = f"{len(records)} records"
    if len(known):
        count += (
            f"; {len(known)} with provenance, from {known.start.min()} to {known.end.max()} UTC"
        )
    lines = [
        "**Environment of this run's records** (final.json and eval.json of every image run, "
        "final.json and test.json of every NMT run)",
        "",
        count + ".",
        "",
    ]
    if missing:
        shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
        lines += [f"**{len(missing)} of them have no provenance** (written before lskd "
                  f"recorded it; rerun their rules): {shown}", ""]  # fmt: skip
    split = [f for f in SOFTWARE if f in set(table.field[~table.agree])]
    if split:
        lines += ["**Records disagree: they were not all produced by the same code and "
                  "libraries.**", ""]  # fmt: skip
        lines += [f"- {_disagreement(known, f)}" for f in split] + [""]
    elif len(known):
        lines += ["All records agree on the code (lskd version, commit) and the libraries.", ""]
    varied = [f for f in MACHINE if f in set(table.field[~table.agree])]
    if varied:
        lines += [f"Jobs ran with more than one {', '.join(varied)}: compare their times only "
                  "within one machine.", ""]  # fmt: skip
    shown = table.assign(agree=table.agree.map({True: "", False: "**differs**"}))
    lines += [shown.to_markdown(index=False), ""]
    return "\n".join(lines)


def write(paths, out: str | Path) -> None:
    """``out``.md (the summary) and ``out``.csv (one row per record)."""
    records = read(paths)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    records.to_csv(out.with_suffix(".csv"), index=False)
    out.with_suffix(".md").write_text(markdown(records))
