"""Figures 5 and 8: distillation curves and teacher-vs-student accuracy."""

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from lskd.paper import LS_COLORS, arch_name, network_name
from lskd.paper.kd_tables import soft_only, student_stats, table8_rows
from lskd.paper.results import reference
from lskd.records import read_runs

LABELS = {False: "teacher w/o LS", True: "teacher w/ LS"}


def fig5(inputs) -> plt.Figure:
    """Per teacher -> student pair: training loss and test top-1 per epoch, LS vs no-LS teacher
    (soft-only students at T = 1; the curves are means over seeds)."""
    finals = read_runs(inputs.student_finals)
    finals["path"] = [str(Path(p).parent / "metrics.csv") for p in inputs.student_finals]
    finals = soft_only(finals)
    keys = ["dataset", "teacher_arch", "teacher_recipe", "arch", "teacher_logits"]
    pairs = list(finals.groupby(keys, sort=True))
    fig, axes = plt.subplots(
        2, max(len(pairs), 1), figsize=(4.2 * max(len(pairs), 1), 6.5), squeeze=False
    )
    for col, ((dataset, t_arch, t_recipe, s_arch, view), group) in enumerate(pairs):
        loss_ax, acc_ax = axes[0, col], axes[1, col]
        for ls, runs in group.groupby(group.teacher_alpha > 0):
            curves = pd.concat([pd.read_csv(p) for p in runs.path]).groupby("epoch").mean()
            loss_ax.plot(curves.index, curves.train_loss, color=LS_COLORS[ls], label=LABELS[ls])
            acc_ax.plot(curves.index, curves.val_top1, color=LS_COLORS[ls], label=LABELS[ls])
        loss_ax.set_title(
            f"T: {network_name(t_arch, t_recipe)}  S: {arch_name(s_arch)}"
            f"\n({dataset}, {view} teacher)",
            fontsize=9,
        )
        loss_ax.set_ylabel("distillation training loss")
        acc_ax.set_ylabel("test top-1 (%)")
        acc_ax.set_xlabel("epoch")
        loss_ax.legend(fontsize=8)
    if not pairs:
        axes[0, 0].text(0.5, 0.5, "no soft-label students configured", ha="center")
    return fig


def fig8(inputs) -> plt.Figure:
    """Left: our teacher top-1 vs student top-1 (Table 8's rows); right: the paper's Table 8."""
    rows, _ = table8_rows(student_stats(read_runs(inputs.student_finals)))
    paper = reference("table8")
    fig, (ours, theirs) = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, data, label_col, title in (
        (ours, rows.rename(columns={"top1": "student_top1"}), "label", "this run"),
        (theirs, paper, "teacher", "paper (ImageNet-1K, student R18)"),
    ):
        ax.scatter(data.teacher_top1, data.student_top1, color="tab:red")
        for _, r in data.iterrows():
            ax.annotate(
                r[label_col],
                (r.teacher_top1, r.student_top1),
                fontsize=7,
                textcoords="offset points",
                xytext=(3, 3),
            )
        ax.set_xlabel("teacher top-1 (%)")
        ax.set_ylabel("student top-1 (%)")
        ax.set_title(title)
    return fig
