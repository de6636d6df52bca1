"""Figure 6 and the BNN table: ReActNet students of teachers without and with LS."""

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from lskd.paper import LS_COLORS
from lskd.paper.kd_tables import teacher_columns
from lskd.paper.results import fmt, paper_datasets_of, paper_match, reference
from lskd.records import read_runs


def _curves(final_paths) -> pd.DataFrame:
    """Per-epoch metrics of both steps, numbered on, with the teacher's identity; mean of seeds."""
    finals = read_runs(final_paths)
    frames = []
    for path, final in zip(final_paths, finals.to_dict("records"), strict=True):
        m = pd.read_csv(Path(path).parent / "metrics.csv")
        m["step"] = final["step"]
        for key in (
            "dataset",
            "teacher",
            "teacher_arch",
            "teacher_recipe",
            "teacher_alpha",
            "teacher_top1",
            "seed",
        ):
            m[key] = final[key]
        frames.append(m)
    curves = pd.concat(frames)
    step1_epochs = curves[curves.step == 1].groupby(["teacher", "seed"]).epoch.max()
    offset = curves.set_index(["teacher", "seed"]).index.map(step1_epochs).to_numpy()
    curves["epoch"] = curves.epoch + (curves.step == 2) * offset
    return curves


def table_rows(curves: pd.DataFrame, datasets=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Best top-1/top-5 of step 2 per teacher, beside the paper's (reference/bnn.csv: Section
    5's ImageNet-1K numbers, for the datasets ``datasets`` maps to ImageNet-1K)."""
    step2 = curves[curves.step == 2]
    keys = ["dataset", "teacher", "teacher_arch", "teacher_recipe", "teacher_alpha"]
    best = step2.groupby(keys + ["seed"]).agg(
        teacher_top1=("teacher_top1", "first"),
        best_top1=("val_top1", "max"),
        best_top5=("val_top5", "max"),
    )
    grouped = best.groupby(keys)
    rows = grouped.mean().join(grouped.std(ddof=1).fillna(0).add_suffix("_std"))
    rows["n"] = grouped.size()
    rows = rows.reset_index()
    rows["ls"] = rows.teacher_alpha > 0
    paper = reference("bnn").set_index(["dataset", "teacher_ls"]).top1  # R50 teachers
    named = [paper_match((datasets or {}).get(d, ()), ["ImageNet-1K"]) for d in rows.dataset]
    rows["paper_top1"] = [  # none where the dataset does not stand beside ImageNet-1K
        paper.get((d, int(ls))) if d else None for d, ls in zip(named, rows.ls, strict=True)
    ]
    shown = pd.DataFrame(
        {
            "Dataset": rows.dataset,
            **teacher_columns(rows),
            "Teacher top-1": [
                fmt(m, s, n)
                for m, s, n in zip(rows.teacher_top1, rows.teacher_top1_std, rows.n, strict=True)
            ],
            "ReActNet best top-1/top-5": [
                f"{fmt(a, sa, n)}/{fmt(b, sb, n)}"
                for a, sa, b, sb, n in zip(
                    rows.best_top1,
                    rows.best_top1_std,
                    rows.best_top5,
                    rows.best_top5_std,
                    rows.n,
                    strict=True,
                )
            ],
            "n": rows.n,
            "Paper top-1 (ImageNet, R50 teacher)": rows.paper_top1.map(lambda v: fmt(v, digits=3)),
        }
    )
    return rows, shown


def figure(inputs) -> plt.Figure:
    curves = _curves(inputs.bnn_finals)
    fig, (loss_ax, err_ax) = plt.subplots(1, 2, figsize=(11, 4.2))
    boundary = curves[curves.step == 1].epoch.max() + 0.5
    for teacher, runs in curves.groupby("teacher"):
        ls = bool(runs.teacher_alpha.iloc[0] > 0)
        mean = runs.groupby("epoch").mean(numeric_only=True)
        label = f"{teacher} ({'w/' if ls else 'w/o'} LS)"
        loss_ax.plot(mean.index, mean.train_loss, color=LS_COLORS[ls], label=f"{label}, train")
        loss_ax.plot(
            mean.index,
            mean.val_kd_loss,
            color=LS_COLORS[ls],
            linestyle="--",
            label=f"{label}, test",
        )
        step2 = mean[mean.step == 2]
        err_ax.plot(
            mean.index,
            100 - mean.val_top1,
            color=LS_COLORS[ls],
            label=f"{label}: best {step2.val_top1.max():.2f}/{step2.val_top5.max():.2f}",
        )
    for ax in (loss_ax, err_ax):
        ax.axvline(boundary, color="grey", linestyle=":", linewidth=1)
        ax.set_xlabel("epoch (step 1 | step 2)")
        ax.legend(fontsize=7)
    loss_ax.set_ylabel("distillation loss")
    err_ax.set_ylabel("test top-1 error (%)")
    err_ax.set_title("best top-1/top-5 of step 2 in the legend", fontsize=9)
    return fig


def table(inputs):
    return table_rows(_curves(inputs.bnn_finals), paper_datasets_of(inputs.infos))
