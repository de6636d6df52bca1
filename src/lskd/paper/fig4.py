"""Figure 4: mean per-class probability distributions without (green) and with (red) LS.

Left: the major probability (mean probability of the true class, per class). Right: the minor
probabilities (mean probability given to every other class), grouped by true class, log scale.
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

COLORS = {"w/o LS": "tab:green", "w/ LS": "tab:red"}


def _mean_matrix(paths) -> tuple[np.ndarray, list[str]]:
    frames = [pd.read_csv(p, index_col="class") for p in paths]
    return np.mean([f.to_numpy() for f in frames], axis=0), list(frames[0].index)


def figure(inputs) -> plt.Figure:
    """From the two teachers' class_mean_probs.csv files (several seeds are averaged)."""
    mats = {}
    for label, paths in (("w/o LS", inputs.fig4_without_ls), ("w/ LS", inputs.fig4_with_ls)):
        mats[label], classes = _mean_matrix(paths)
    k = len(classes)
    fig, (major, minor) = plt.subplots(
        1, 2, figsize=(13, 4.2), gridspec_kw={"width_ratios": [1, 2]}
    )
    width = 0.4
    for i, (label, m) in enumerate(mats.items()):
        major.bar(
            np.arange(k) + (i - 0.5) * width, np.diag(m), width, label=label, color=COLORS[label]
        )
        off = m[~np.eye(k, dtype=bool)].reshape(k, k - 1)
        xs = (np.arange(k)[:, None] * k + np.arange(k - 1)[None, :]).ravel()
        minor.bar(xs + (i - 0.5) * width, off.ravel(), width, label=label, color=COLORS[label])
    major.set_xticks(np.arange(k), classes, rotation=60, ha="right", fontsize=8)
    major.set_ylabel("mean probability of the true class")
    empty = [c for c, row in zip(classes, mats["w/o LS"], strict=True) if np.isnan(row).all()]
    note = f" (no val images: {', '.join(empty)})" if empty else ""  # their bars stay empty
    major.set_title("(1) major probabilities" + note)
    minor.set_yscale("log")
    minor.set_xticks(np.arange(k) * k + (k - 2) / 2, classes, rotation=60, ha="right", fontsize=8)
    minor.set_ylabel("mean probability of each other class")
    minor.set_title("(2) minor probabilities, grouped by true class")
    for ax in (major, minor):
        ax.legend(fontsize=8)
    return fig
