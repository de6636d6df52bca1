"""Writing tables (CSV + Markdown + LaTeX) and figures (PNG + PDF) under one file stem."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402


def write_table(numbers: pd.DataFrame, shown: pd.DataFrame, stem: str | Path, caption: str):
    """``numbers`` (machine-readable) goes to CSV; ``shown`` (formatted) to Markdown and LaTeX."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    numbers.to_csv(stem.with_suffix(".csv"), index=False)
    md = f"**{caption}**\n\n" + shown.to_markdown(index=False) + "\n"
    stem.with_suffix(".md").write_text(md)
    latex = shown.to_latex(index=False, caption=caption, label=f"tab:{stem.name}", escape=True)
    stem.with_suffix(".tex").write_text(latex)


def save_figure(fig: plt.Figure, stem: str | Path) -> None:
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    for suffix in (".png", ".pdf"):
        fig.savefig(stem.with_suffix(suffix), dpi=150, bbox_inches="tight")
    plt.close(fig)
