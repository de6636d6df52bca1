"""Figure 7 (validation BLEU per epoch: teachers left, their students right) and the NMT table
(best validation BLEU, perplexity, test BLEU), from the NMT runs' final.json, curve.csv and
test.json. The paper gives Figure 7 as curves only, so there are no reference numbers."""

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.ticker import MaxNLocator

from lskd.paper import LS_COLORS
from lskd.paper.results import fmt, seed_stats
from lskd.records import read_nmt_runs, test_bleu

LABELS = {False: "teacher w/o LS", True: "teacher w/ LS (α=0.1)"}


def _runs(inputs) -> pd.DataFrame:
    """One row per run (final.json) with its test BLEU (its test.json, in the same order)."""
    for final, test in zip(inputs.nmt_finals, inputs.nmt_tests, strict=True):
        if Path(final).parent != Path(test).parent:
            raise ValueError(f"{test} is not the test.json of {final}: give them in one order")
    runs = read_nmt_runs(inputs.nmt_finals)
    runs["test_bleu"] = [test_bleu(p) for p in inputs.nmt_tests]
    runs["ls"] = runs.teacher_alpha > 0
    return runs


def figure(inputs) -> plt.Figure:
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    final_paths = inputs.nmt_finals
    finals = read_nmt_runs(final_paths)
    for ax, role in zip(axes, ("teacher", "student"), strict=True):
        for path, final in zip(final_paths, finals.itertuples(), strict=True):
            if final.role != role:
                continue
            curve = pd.read_csv(Path(path).parent / "curve.csv")
            ls = final.teacher_alpha > 0
            label = LABELS[ls] if role == "teacher" else f"student of {LABELS[ls]}"
            ax.plot(curve.epoch, curve.valid_bleu, color=LS_COLORS[ls], marker="o", ms=3,
                    label=f"{label}, seed {final.seed}")  # fmt: skip
        ax.set_title(f"{role.capitalize()}s: validation BLEU per epoch")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    beams = sorted(set(finals.get("valid_beam", pd.Series([5])).dropna().astype(int)))
    decoding = ", ".join("greedy" if b == 1 else f"beam {b}" for b in beams)
    axes[0].set_ylabel(f"validation BLEU ({decoding})")
    fig.suptitle(
        "Figure 7: German→English transformers, teachers without/with label smoothing", y=1.02
    )
    return fig


COLUMNS = {
    "best_valid_bleu": "Best valid BLEU",
    "valid_ppl_at_best": "Valid ppl (best epoch)",
    "last_valid_ppl": "Valid ppl (last epoch)",
    "test_bleu": "Test BLEU",
}


def table(inputs) -> tuple[pd.DataFrame, pd.DataFrame]:
    runs = _runs(inputs)
    rows = seed_stats(runs, ["role", "ls", "teacher_alpha", "name"], list(COLUMNS))
    rows = rows.sort_values(["role", "ls"], ascending=[False, True])
    shown = pd.DataFrame(
        {
            "Model": [
                f"{r.role} ({'w/' if r.ls else 'w/o'} LS teacher)" for r in rows.itertuples()
            ],
            "Teacher α": rows.teacher_alpha.map("{:g}".format),
            **{
                title: [
                    fmt(m, s, n)
                    for m, s, n in zip(rows[col], rows[f"{col}_std"], rows.n, strict=True)
                ]
                for col, title in COLUMNS.items()
            },
        }
    )
    return rows, shown
