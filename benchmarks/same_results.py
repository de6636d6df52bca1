"""Whether two runs of the workflow produced the same results: the study before and after a
change that should change none (run both on one machine, the second with the first's
results/hardware.json copied in, so that precision auto makes the same choices).

    python benchmarks/same_results.py BEFORE/results AFTER/results

Compares, and prints per kind how many are identical: the tables (CSV, Markdown, LaTeX; a CSV
that differs is compared again cell by cell, naming its differing columns), CLAIMS.md and
claims/paper.md, the figures' PNGs, every model.pt (its bytes, and each tensor of its weights),
and the numbers of every final.json, eval.json and test.json. The cost table and figure (job
times) and the records' provenance (times, hosts) differ between any two runs and are left out;
claims/paper.md names the checkout it was run from.
"""

import argparse
import json
import sys
from pathlib import Path

import pandas as pd
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from lskd.nmt.checkpoint import allow_fairseq_types  # noqa: E402

# Columns renamed on purpose, old -> (new, old value -> new value): the CSV is the same table
RENAMED = {"cached_teacher": ("teacher_logits", {True: "cached", False: "online"})}
NUMBERS = ("top1", "top5", "top3", "best_top1", "intra_class_std", "inter_class_variance",
           "best_valid_bleu", "valid_ppl_at_best", "last_valid_ppl", "test_bleu")  # fmt: skip


def _files(root: Path, pattern: str) -> dict[str, Path]:
    return {
        str(p.relative_to(root)): p
        for p in sorted(root.rglob(pattern))
        if "stale" not in p.parts and "partial" not in p.parts and not p.stem.startswith("cost")
    }


def _csv_difference(a: Path, b: Path) -> str:
    """Why two CSVs differ; "" when they hold the same table but for RENAMED columns."""
    x, y = pd.read_csv(a), pd.read_csv(b)
    for old, (new, values) in RENAMED.items():
        if old in x and new in y:
            x = x.rename(columns={old: new}).assign(**{new: x[old].map(values)})
    if list(x.columns) == list(y.columns) and x.equals(y):
        return ""
    renamed = sorted(set(x.columns) ^ set(y.columns))
    shared = [c for c in x.columns if c in y.columns]
    if len(x) != len(y):
        return f"{len(x)} vs {len(y)} rows"
    changed = [c for c in shared if not x[c].equals(y[c])]
    return f"columns only on one side {renamed}; shared columns that differ {changed}"


def _text(path: Path) -> bytes:
    """The file, but for the checkout claims/paper.md names on its first line."""
    data = path.read_bytes()
    if path.name == "paper.md":
        data = data.split(b"\n", 1)[-1]
    return data


def _weights_equal(a: Path, b: Path) -> bool:
    x = torch.load(a, weights_only=True, map_location="cpu")
    y = torch.load(b, weights_only=True, map_location="cpu")
    x, y = x.get("state_dict", x.get("model", x)), y.get("state_dict", y.get("model", y))  # NMT
    return x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x)


def compare(before: Path, after: Path) -> int:
    allow_fairseq_types()  # the NMT runs' model.pt, loaded with weights_only as lskd does
    problems = 0
    kinds = {"tables": "tables/*.*", "claims": "*.md", "figures": "figures/*.png"}
    for kind, pattern in kinds.items():
        a, b = _files(before, pattern), _files(after, pattern)
        if kind == "claims":
            a = {k: v for k, v in a.items() if k in ("CLAIMS.md", "claims/paper.md")}
            b = {k: v for k, v in b.items() if k in a}
        same = [k for k in a if k in b and _text(a[k]) == _text(b[k])]
        print(f"{kind}: {len(same)} of {len(a)} identical ({len(b)} after)")
        for k in sorted(set(a) | set(b)):
            if k in same:
                continue
            why = _csv_difference(a[k], b[k]) if k.endswith(".csv") and k in a and k in b else "?"
            problems += bool(why)
            print(f"  {'differs' if why else 'the same but for renamed columns'}: {k} {why}")
    a, b = _files(before, "model.pt"), _files(after, "model.pt")
    bytes_same = [k for k in a if k in b and a[k].read_bytes() == b[k].read_bytes()]
    weights_same = [k for k in a if k in b and _weights_equal(a[k], b[k])]
    print(f"model.pt: {len(bytes_same)} of {len(a)} byte-identical, {len(weights_same)} with "
          f"every weight equal ({len(b)} after)")  # fmt: skip
    for k in sorted(set(a) - set(weights_same)):
        problems += 1
        print(f"  weights differ: {k}")
    a, b = (_files(root, "*.json") for root in (before, after))
    numbers_same = 0
    for k in sorted(a):
        x = json.loads(a[k].read_text())
        y = json.loads(b[k].read_text()) if k in b else {}
        if not isinstance(x, dict) or not any(n in x for n in NUMBERS):
            continue
        if all(x.get(n) == y.get(n) for n in NUMBERS):
            numbers_same += 1
        else:
            problems += 1
            print(f"  numbers differ: {k}")
    print(f"records (final, eval, test .json): {numbers_same} with the same numbers")
    return problems


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("before", type=Path)
    p.add_argument("after", type=Path)
    args = p.parse_args()
    problems = compare(args.before, args.after)
    print("same results" if not problems else f"{problems} differences")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
