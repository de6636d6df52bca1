"""What the run cost: wall time and peak memory per rule group, from the ``benchmark:`` files that
Snakemake writes for every job (results/benchmarks/<rule>/<wildcards>.tsv, <rule>.tsv for a rule
of one job), beside the run's own wall-clock time.

A benchmark file holds the job's wall time ``s``, its peak resident memory ``max_rss`` (MB, the
job's processes together; "NA" when the job ended before Snakemake's first sample, half a second
in) and CPU time. It has no start time: a job's end is taken as the file's modification time,
its start as that minus ``s``, and the run's wall clock is the time during which at least one job
ran (the union of those intervals: idle time between two invocations of Snakemake is left out).
"""

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from lskd.data.errors import DataError

GROUPS = {
    "data": ["curate", "curate_fashion_mnist", "nmt_prepare", "nmt_binarize"],
    "teachers": ["train_teacher"],
    "students": ["train_student", "teacher_logits"],  # a teacher's logits, read cached
    "BNN": ["bnn_step1", "bnn_step2"],
    "NMT": ["nmt_teacher", "nmt_export_topk", "nmt_student", "nmt_test"],
    "evaluation": ["evaluate_teacher", "evaluate_student", "penultimate_features"],
    "tables": ["table", "figure", "claims", "claims_paper", "environment"],
}
GROUP_OF = {rule: group for group, rules in GROUPS.items() for rule in rules}
ALL_JOBS, WALL_CLOCK = "all jobs (sum)", "run (wall clock)"


def rule_of(path: str | Path) -> str:
    """The rule of a benchmark file: the folder below ``results/benchmarks/``, or the file's
    stem."""
    parts = Path(path).parts
    at = [i for i, p in enumerate(parts) if p == "benchmarks" and parts[i - 1 : i] == ("results",)]
    if not at or len(parts) == at[0] + 1:
        raise DataError(f"{path}: not a file under results/benchmarks/ (<rule>/<wildcards>.tsv)")
    below = parts[at[0] + 1 :]
    return below[0] if len(below) > 1 else Path(below[0]).stem


def read(paths) -> pd.DataFrame:
    """One row per job run: file, rule, group, s, max_rss, cpu_time, start, end (epoch s)."""
    frames = []
    for path in paths:
        rule = rule_of(path)
        if rule not in GROUP_OF:
            raise DataError(
                f"{path}: rule {rule} has no cost group; add it to GROUPS in lskd/paper/cost.py"
            )
        try:
            rows = pd.read_csv(path, sep="\t", na_values=["NA", "-"])
            end = Path(path).stat().st_mtime
        except (OSError, ValueError) as err:
            raise DataError(f"{path}: unreadable benchmark file ({err}); rerun its rule") from err
        missing = {"s", "max_rss", "cpu_time"} - set(rows.columns)
        if missing or rows.empty:
            lacks = ", ".join(sorted(missing)) or "rows"
            raise DataError(f"{path}: not a Snakemake benchmark file (no {lacks}); rerun its rule")
        rows = rows[["s", "max_rss", "cpu_time"]].apply(pd.to_numeric, errors="coerce")
        frames.append(rows.assign(file=str(path), rule=rule, group=GROUP_OF[rule], end=end))
    if not frames:
        raise DataError("no benchmark files given (results/benchmarks/)")
    jobs = pd.concat(frames, ignore_index=True)
    jobs["start"] = jobs.end - jobs.s
    return jobs


def busy_seconds(starts, ends) -> float:
    """The length of the union of the intervals [start, end]."""
    total, reach = 0.0, float("-inf")
    for start, end in sorted(zip(starts, ends, strict=True)):
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total


def _summary(name: str, rows: pd.DataFrame) -> dict:
    measured = rows.max_rss.notna()
    return {
        "group": name,
        "rules": ", ".join(sorted(rows.rule.unique())),
        "jobs": len(rows),
        "wall_s": rows.s.sum(),
        "longest_s": rows.s.max(),
        "cpu_s": rows.cpu_time.sum(min_count=1),
        "peak_rss_mb": rows.max_rss.max() if measured.any() else float("nan"),
        "rss_measured": int(measured.sum()),
    }


def summary(jobs: pd.DataFrame) -> pd.DataFrame:
    """One row per rule group (GROUPS' order), then the sum over all jobs and the run's wall
    clock (``wall_s``: the time during which at least one job ran)."""
    rows = [_summary(g, jobs[jobs.group == g]) for g in GROUPS if (jobs.group == g).any()]
    rows.append(_summary(ALL_JOBS, jobs))
    clock = {"group": WALL_CLOCK, "rules": "", "jobs": len(jobs)}
    clock["wall_s"] = busy_seconds(jobs.start, jobs.end)
    rows.append(clock)
    return pd.DataFrame(rows)


def hms(seconds: float) -> str:
    if seconds != seconds:
        return ""
    seconds = round(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def shown(numbers: pd.DataFrame) -> pd.DataFrame:
    def mb(row):
        if row.peak_rss_mb != row.peak_rss_mb:
            return "not measured" if row.group != WALL_CLOCK else ""
        unmeasured = int(row.jobs - row.rss_measured)
        return f"{row.peak_rss_mb:,.0f}" + (f" ({unmeasured} jobs too short)" if unmeasured else "")

    out = pd.DataFrame(
        {
            "Rule group": numbers.group,
            "Jobs": numbers.jobs,
            "Wall time (h:m:s)": numbers.wall_s.map(hms),
            "Longest job": numbers.longest_s.map(hms),
            "CPU time": numbers.cpu_s.map(hms),
            "Peak memory (MB)": numbers.apply(mb, axis=1),
        }
    )
    clock, jobs = numbers.wall_s.iloc[-1], numbers.wall_s.iloc[-2]  # WALL_CLOCK, ALL_JOBS
    if clock > 0:
        out.iloc[-1, 2] += f" (the jobs' {jobs / clock:.1f}x: they ran side by side)"
    return out


def figure(inputs) -> plt.Figure:
    """Wall time per group, then the sum beside the run's wall clock; peak memory per group."""
    numbers = summary(read(inputs.benchmarks))
    groups = numbers[~numbers.group.isin([ALL_JOBS, WALL_CLOCK])]
    totals = numbers[numbers.group.isin([ALL_JOBS, WALL_CLOCK])]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 0.45 * len(numbers) + 1.5))
    labels = list(groups.group) + list(totals.group)
    seconds = list(groups.wall_s) + list(totals.wall_s)
    unit, scale = ("hours", 3600) if max(seconds) >= 7200 else ("minutes", 60)
    colors = ["tab:blue"] * len(groups) + ["tab:gray", "tab:orange"]
    left.barh(labels, [s / scale for s in seconds], color=colors)
    for y, s in enumerate(seconds):
        left.text(s / scale, y, f" {hms(s)}", va="center", fontsize=8)
    left.set_xlabel(f"wall time ({unit})")
    left.set_title("Wall time: per group, summed over jobs")
    left.margins(x=0.25)
    right.barh(list(groups.group), groups.peak_rss_mb.fillna(0), color="tab:green")
    for y, mb in enumerate(groups.peak_rss_mb):
        right.text(0 if mb != mb else mb, y, " not measured" if mb != mb else f" {mb:,.0f}",
                   va="center", fontsize=8)  # fmt: skip
    right.set_xlabel("peak resident memory of one job (MB)")
    right.set_title("Peak memory (max_rss)")
    right.margins(x=0.25)
    for ax in (left, right):
        ax.invert_yaxis()
    fig.tight_layout()
    return fig


def table(inputs) -> tuple[pd.DataFrame, pd.DataFrame]:
    numbers = summary(read(inputs.benchmarks))
    return numbers, shown(numbers)
