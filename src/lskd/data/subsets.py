"""Curated subsets of a manifest: seeded class subsets and Pareto long-tailed training sets.

Long-tailed sizes (Appendix A.2: ImageNet-LT and Places-LT follow a Pareto distribution with
power alpha = 6, here ``power``: alpha is label smoothing): the class of rank r (0 = largest)
keeps n_r = head * (1 + c r)^-(power + 1) images, the Pareto density x^-(power + 1) at evenly
spaced points, with c set so that the last class keeps ``tail``. Sizes fall smoothly from
``head`` to ``tail`` (for ImageNet's 1000 classes, 1280 down to 5, about 175k images;
ImageNet-LT has 115.8k). Which class gets which size, and which images it keeps, is drawn from
``seed``.
"""

import numpy as np
import pandas as pd

from lskd.data.errors import DataError


def pareto_class_sizes(num_classes: int, head: int, tail: int, power: float = 6.0) -> np.ndarray:
    """Non-increasing class sizes from ``head`` down to ``tail`` (see the module doc)."""
    if not 1 <= tail <= head:
        raise DataError(f"long_tail: need 1 <= tail <= head, got tail {tail}, head {head}")
    if num_classes == 1:
        return np.array([head])
    c = ((head / tail) ** (1.0 / (power + 1.0)) - 1.0) / (num_classes - 1)
    sizes = head * (1.0 + c * np.arange(num_classes)) ** -(power + 1.0)
    return np.clip(np.rint(sizes), tail, head).astype(int)


def class_subset(rows: pd.DataFrame, classes: list[str], count: int, seed: int):
    """Keep ``count`` classes drawn by ``seed`` (relabelled 0..count-1 in their original order)."""
    if not 1 <= count <= len(classes):
        raise DataError(
            f"classes: {count} classes asked of a dataset of {len(classes)}; "
            f"ask for 1 to {len(classes)}"
        )
    keep = np.sort(np.random.default_rng(seed).choice(len(classes), size=count, replace=False))
    mapping = {int(old): new for new, old in enumerate(keep)}
    out = rows[rows.label.isin(mapping)].copy()
    out["label"] = out.label.map(mapping)
    return out.reset_index(drop=True), [classes[i] for i in keep]


def long_tail(
    rows: pd.DataFrame,
    num_classes: int,
    head: int,
    tail: int,
    power: float,
    seed: int,
    val_per_class: int | None = None,
) -> pd.DataFrame:
    """Cut the training split to Pareto class sizes; optionally hold out ``val_per_class`` of
    the remaining training images of each class as a balanced validation split (as ImageNet-LT
    takes 20 per class from the original training set)."""
    rng = np.random.default_rng(seed)
    sizes = pareto_class_sizes(num_classes, head, tail, power)
    order = rng.permutation(num_classes)  # class order[r] gets the r-th largest size
    train = rows[rows.split == "train"]
    parts = [] if val_per_class else [rows[rows.split != "train"]]
    for rank, label in enumerate(order):
        idx = np.flatnonzero(train.label.to_numpy() == label)
        need = sizes[rank] + (val_per_class or 0)
        if len(idx) < need:
            raise DataError(
                f"long_tail: class {label} has {len(idx)} training images and needs {need} "
                f"({sizes[rank]} + val_per_class {val_per_class or 0}); lower long_tail.head "
                "or long_tail.val_per_class"
            )
        chosen = rng.permutation(idx)[:need]
        picked = train.iloc[np.sort(chosen[: sizes[rank]])]
        parts.append(picked.assign(split="train"))
        if val_per_class:
            parts.append(train.iloc[np.sort(chosen[sizes[rank] :])].assign(split="val"))
    return pd.concat(parts).sort_values(["split", "label"], kind="stable").reset_index(drop=True)
