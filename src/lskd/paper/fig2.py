"""Figure 2: knowledge distillation vs label smoothing, drawn as a diagram.

Both train the target network against a softened distribution; KD takes it from a frozen,
pre-trained teacher per input, LS from a constant mixture of the one-hot label and the uniform
distribution. Black arrows: forward pass; red: gradients.
"""

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch


def _box(ax, xy, text, color):
    x, y = xy
    ax.add_patch(
        FancyBboxPatch(
            (x - 0.09, y - 0.06),
            0.18,
            0.12,
            boxstyle="round,pad=0.01",
            facecolor=color,
            edgecolor="black",
        )
    )
    ax.text(x, y, text, ha="center", va="center", fontsize=8)


def _arrow(ax, a, b, color="black", style="-|>"):
    ax.add_patch(FancyArrowPatch(a, b, arrowstyle=style, mutation_scale=10, color=color, lw=1.2))


def _bars(ax, x0, y0, heights, color):
    for i, h in enumerate(heights):
        ax.add_patch(plt.Rectangle((x0 + i * 0.018, y0), 0.014, h * 0.12, color=color))


def figure(inputs) -> plt.Figure:
    """Drawn from code: reads nothing."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    for ax, title in zip(axes, ("Knowledge distillation", "Label smoothing"), strict=True):
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.axis("off")
        ax.set_title(title)
        _box(ax, (0.1, 0.5), "input x", "#eeeeee")
        _box(ax, (0.42, 0.3), "student /\ntarget network", "#cfe2f3")
        _box(ax, (0.85, 0.3), "loss\nH(p_S, q)", "#fce5cd")
        _arrow(ax, (0.19, 0.47), (0.33, 0.33))
        _arrow(ax, (0.51, 0.3), (0.76, 0.3))
        _arrow(ax, (0.76, 0.26), (0.51, 0.26), color="red")  # gradient
        _bars(ax, 0.58, 0.12, [0.1, 0.8, 0.05, 0.05], "tab:blue")
        ax.text(0.62, 0.06, "p_S", fontsize=8, ha="center")
    kd, ls = axes
    _box(kd, (0.42, 0.75), "teacher (frozen,\npre-trained)", "#d9ead3")
    _arrow(kd, (0.19, 0.53), (0.33, 0.72))
    _arrow(kd, (0.51, 0.75), (0.85, 0.37))
    _bars(kd, 0.75, 0.72, [0.15, 0.6, 0.2, 0.05], "tab:green")
    kd.text(0.79, 0.9, "q = p_T(x), per input", fontsize=8, ha="center")
    _box(ls, (0.42, 0.75), "one-hot y mixed\nwith uniform (Eq. 1)", "#d9ead3")
    _arrow(ls, (0.51, 0.75), (0.85, 0.37))
    _bars(ls, 0.75, 0.72, [0.033, 0.9, 0.033, 0.033], "tab:green")
    ls.text(0.79, 0.9, "q = (1-α)y + α/(K-1) (1-y)", fontsize=8, ha="center")
    fig.text(
        0.5, 0.01, "black: forward pass   red: gradient", ha="center", fontsize=8, color="dimgray"
    )
    return fig
