"""Figure 1: penultimate-layer activations projected as Mueller et al. (2019) do.

Three classes: two semantically similar (w1, w2) and one different (w3). Q is an orthonormal
basis of span(w2 - w1, w3 - w1) (Gram-Schmidt, first axis along w2 - w1), and every activation
x is drawn at Q^T (x - w1): the plane through the three templates, w1 at the origin.

Cluster distances in that plane (Figure 1's annotations): D1 and D2 from the different class's
centre to each similar class's centre, Dc between the two similar classes' centres, and each
cluster's spread (mean distance of its points to their centre).
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

COLORS = ("tab:green", "goldenrod", "tab:purple")


def basis(templates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(origin w1, Q with two orthonormal columns) for the rows w1, w2, w3 of ``templates``."""
    w1, w2, w3 = (np.asarray(t, dtype=np.float64) for t in templates[:3])
    q1 = (w2 - w1) / np.linalg.norm(w2 - w1)
    r = (w3 - w1) - q1 * np.dot(q1, w3 - w1)
    q2 = r / np.linalg.norm(r)
    return w1, np.stack([q1, q2], axis=1)


def project(features: np.ndarray, templates: np.ndarray) -> np.ndarray:
    origin, q = basis(templates)
    return (np.asarray(features, dtype=np.float64) - origin) @ q


def cluster_distances(points: np.ndarray, labels: np.ndarray, order) -> dict:
    """D1, D2, Dc and spreads for classes ``order`` = (similar 1, similar 2, different)."""
    centres = [points[labels == c].mean(axis=0) for c in order]
    spread = [
        np.linalg.norm(points[labels == c] - m, axis=1).mean()
        for c, m in zip(order, centres, strict=True)
    ]
    return {
        "D1": float(np.linalg.norm(centres[2] - centres[0])),
        "D2": float(np.linalg.norm(centres[2] - centres[1])),
        "Dc": float(np.linalg.norm(centres[1] - centres[0])),
        "spread_similar1": float(spread[0]),
        "spread_similar2": float(spread[1]),
        "spread_different": float(spread[2]),
    }


def _models(inputs) -> dict:
    """The two teachers' penultimate.npz (Figure 1 uses one seed of each)."""
    files = {"w/o LS": inputs.fig1_without_ls, "w/ LS": inputs.fig1_with_ls}
    if any(len(paths) != 1 for paths in files.values()):
        raise ValueError(f"Figure 1 reads one penultimate.npz per teacher, not {files}")
    return {model: np.load(paths[0]) for model, paths in files.items()}


def _panels(models: dict):
    """(model, split, class names, the three classes' indices, projected points, labels) of
    each panel: both teachers, train and val."""
    for model, data in models.items():
        index = data["class_index"]
        names = [str(n) for n in data["class_names"]]
        templates = data["templates"][index]
        for split in ("train", "val"):
            points = project(data[f"{split}_features"], templates)
            yield model, split, names, index, points, data[f"{split}_labels"]


def figure(inputs) -> plt.Figure:
    fig, axes = plt.subplots(2, 2, figsize=(9, 8.5), sharex=True, sharey=True)
    for i, (model, split, names, index, points, labels) in enumerate(_panels(_models(inputs))):
        ax = axes[i % 2, i // 2]
        for c, name, color in zip(index, names, COLORS, strict=True):
            sel = labels == c
            ax.scatter(points[sel, 0], points[sel, 1], s=4, alpha=0.5, color=color, label=name)
        ax.set_title(f"{model}, {split}")
    axes[0, 0].legend(markerscale=3, fontsize=8)
    return fig


def distances(inputs) -> tuple[pd.DataFrame, pd.DataFrame]:
    """D1, D2, Dc and the spreads of each panel of Figure 1 (claims (e) reads the CSV)."""
    rows = [
        {"model": model, "split": split, "similar1": names[0], "similar2": names[1],
         "different": names[2], **cluster_distances(points, labels, index)}
        for model, split, names, index, points, labels in _panels(_models(inputs))
    ]  # fmt: skip
    table = pd.DataFrame(rows)
    return table, table
