"""Curation: turn a dataset into a manifest every later step reads.

A curated dataset is a folder with
- ``manifest.csv``: one row per sample: ``sample`` (index or path in the source), ``source``
  (the source split it is read from), ``label`` (0-based, into the class list), ``split``
  (``train`` or ``val``) and ``source_label`` (the class's own id in the source files);
- ``dataset.json``: kind, root, class names, image shape, the augmentation and the pixel
  mean/std (the train split's for Fashion-MNIST, ImageNet's for image files);
- Fashion-MNIST only: ``{train,val}_pixels.npz``, the decoded images of each split.
"""

import functools
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from lskd.data import fashion_mnist, official, subsets
from lskd.data.errors import DataError
from lskd.data.image_files import ImageFiles


def _per_class_sample(labels: np.ndarray, per_class: int | None, rng: np.random.Generator):
    """Indices of up to ``per_class`` samples of every class, in index order (None: all)."""
    chosen = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        if per_class is not None and per_class < len(idx):
            idx = np.sort(rng.choice(idx, size=per_class, replace=False))
        chosen.append(idx)
    return np.sort(np.concatenate(chosen))


def curate_fashion_mnist(spec: dict) -> tuple[pd.DataFrame, dict]:
    rng = np.random.default_rng(spec.get("seed", 0))
    rows = []
    for source, split, per_class in (
        ("train", "train", spec.get("train_per_class")),
        ("test", "val", spec.get("val_per_class")),
    ):
        _, labels = fashion_mnist.load(spec["root"], source)
        idx = _per_class_sample(labels, per_class, rng)
        rows.append(
            pd.DataFrame(
                {
                    "sample": idx,
                    "source": source,
                    "label": labels[idx],
                    "split": split,
                    "source_label": labels[idx],
                }
            )
        )
    return pd.concat(rows, ignore_index=True), list(fashion_mnist.CLASS_NAMES)


def curate_files(spec: dict) -> tuple[pd.DataFrame, list[str]]:
    reader = official.READERS[spec["kind"]]
    kwargs = {"verify_images": spec.get("verify_images", True)}
    if spec["kind"] == "cub200" and spec.get("archive"):
        kwargs["archive"] = spec["archive"]
    rows, classes = reader(spec["root"], **kwargs)
    return rows.assign(source="files"), classes


CURATING = ".curating"  # present while a curation runs: one killed leaves it behind


def curate(spec: dict, out_dir: str | Path, require_classes=()) -> None:
    """Write ``manifest.csv`` and ``dataset.json`` for the dataset described by ``spec``: read it,
    then take the class subset and the long tail the spec asks for. ``require_classes``: class
    names the curated dataset must have (Figure 1's). Nothing is written when any step fails; a
    curation killed on the way leaves ``.curating`` beside the older files, and every reader
    (``read_info``) refuses the folder until a curation finishes."""
    out_dir = Path(out_dir)
    created = not out_dir.exists()
    out_dir.mkdir(parents=True, exist_ok=True)
    marker = out_dir / CURATING
    marker.write_text(json.dumps(spec) + "\n")
    try:
        _curate(spec, out_dir, require_classes)
    except Exception:  # an error is reported: the folder stays as it was (a kill skips this)
        marker.unlink()
        if created:
            out_dir.rmdir()
        raise
    marker.unlink()


def _cut(spec: dict, manifest, classes: list[str], require_classes):
    """The dataset's class subset (checked for the classes required) and long tail."""
    if spec.get("classes"):
        manifest, classes = subsets.class_subset(
            manifest, classes, spec["classes"], spec.get("seed", 0)
        )
    check_class_names(require_classes, classes, "figures.fig1.classes")
    tail = spec.get("long_tail")
    if tail:
        manifest = subsets.long_tail(
            manifest,
            len(classes),
            tail["head"],
            tail["tail"],
            tail.get("power", 6.0),
            spec.get("seed", 0),
            tail.get("val_per_class"),
        )
    return manifest, classes


def _curate(spec: dict, out_dir: Path, require_classes) -> None:
    if spec["kind"] == "fashion_mnist":
        manifest, classes = curate_fashion_mnist(spec)
        info = {"channels": 1, "size": 28}
    else:
        manifest, classes = curate_files(spec)
        info = {"channels": 3, "size": spec.get("image_size", 224)}
    manifest, classes = _cut(spec, manifest, classes, require_classes)
    tail = spec.get("long_tail")
    info = {
        "kind": spec["kind"],
        "root": str(spec["root"]),
        "classes": classes,
        **info,
        "num_classes": len(classes),
        "long_tail_power": tail.get("power", 6.0) if tail else None,
        "property": spec.get("property", "Long-tailed" if tail else "Standard"),
    }
    if spec.get("augment"):
        info["augment"] = spec["augment"]  # lskd.data.batches.augmentation reads it
    # small: keep its decoded pixels for every job (lskd.workflow.paths.keeps_pixels: the workflow's
    # curate_fashion_mnist rule declares them)
    in_memory = spec["kind"] == "fashion_mnist"
    if in_memory:
        pixels = _load_rows(info, manifest[manifest.split == "train"])[0].float() / 255.0
        info["mean"] = pixels.mean(dim=(0, 2, 3)).tolist()
        info["std"] = pixels.std(dim=(0, 2, 3)).tolist()
    else:  # image files: the ImageNet statistics of He et al.'s protocol and torchvision's
        info["mean"], info["std"] = IMAGENET_MEAN, IMAGENET_STD  # released weights expect
    info["counts"] = manifest.groupby("split").size().to_dict()
    seen = set(manifest.label[manifest.split == "val"])
    info["val_classes_without_images"] = [c for i, c in enumerate(classes) if i not in seen]
    if info["val_classes_without_images"]:  # legitimate (a CUB class without test images), but
        # every per-class result of the split leaves them out: say so where it is written
        print(
            f"{out_dir}: no val images of {', '.join(info['val_classes_without_images'])}; "
            "per-class results leave them out",
            flush=True,
        )
    outputs = {"manifest.csv": functools.partial(manifest.to_csv, index=False)}
    for split in ("train", "val"):  # absent for image files: an old one must not be read
        outputs[f"{split}_pixels.npz"] = None
        if in_memory:
            x, y = _load_rows(info, manifest[manifest.split == split])
            outputs[f"{split}_pixels.npz"] = functools.partial(
                _save_npz, images=x.numpy(), labels=y.numpy()
            )
    outputs["dataset.json"] = lambda path: path.write_text(json.dumps(info, indent=2) + "\n")
    _write_all(out_dir, outputs)


IMAGENET_MEAN, IMAGENET_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def _save_npz(path: Path, **arrays) -> None:
    with open(path, "wb") as f:  # a file object: np.savez would add .npz to a path
        np.savez(f, **arrays)


def _write_all(out_dir: Path, outputs: dict) -> None:
    """Write each output (name: function writing it to a path, or None: remove any old one) to a
    temporary file beside it, and move them all into place only when every one is written: a
    failure (a name that cannot be encoded, a full disk) leaves the folder as it was."""
    written = []
    try:
        for name, write in outputs.items():
            if write is not None:
                written.append(name)
                write(out_dir / f".{name}.tmp")
    except BaseException:
        for name in written:
            (out_dir / f".{name}.tmp").unlink(missing_ok=True)
        raise
    for name, write in outputs.items():
        if write is None:
            (out_dir / name).unlink(missing_ok=True)
        else:
            os.replace(out_dir / f".{name}.tmp", out_dir / name)


def check_class_names(names, classes: list[str], key: str) -> None:
    """Every name in ``names`` is a class of the dataset (``classes``, as in dataset.json); else
    one line naming the config ``key`` and the dataset's classes."""
    unknown = [n for n in names if n not in classes]
    if unknown:
        shown = ", ".join(classes[:20]) + (", ..." if len(classes) > 20 else "")
        raise DataError(f"{key}: {unknown} are not classes of the dataset ({shown}); use its names")


def read_info(data_dir: str | Path) -> dict:
    if (Path(data_dir) / CURATING).exists():
        raise DataError(
            f"{data_dir}: its curation was interrupted ({CURATING} is there), so the files may be "
            "an older dataset's; rerun the curation (lskd curate, or its Snakemake rule)"
        )
    path = Path(data_dir) / "dataset.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise DataError(f"{path}: unreadable dataset description ({err}); rerun curation") from err


def _load_rows(info: dict, rows: pd.DataFrame, workers: int = 0):
    """(images, labels) of manifest rows: Fashion-MNIST decoded, image files as ``ImageFiles``."""
    labels = torch.tensor(rows["label"].to_numpy(), dtype=torch.long)
    if info["kind"] != "fashion_mnist":
        return ImageFiles(info["root"], rows["sample"].tolist(), info["size"], workers), labels
    parts, labels = [], []
    for source, group in rows.groupby("source", sort=False):
        images, _ = fashion_mnist.load(info["root"], source)
        parts.append(images[group["sample"].to_numpy()])
        labels.append(group["label"].to_numpy())
    images = torch.from_numpy(np.concatenate(parts)).unsqueeze(1)
    return images, torch.from_numpy(np.concatenate(labels)).long()


def load_split(data_dir: str | Path, split: str, workers: int = 0):
    """uint8 images (N x C x H x W), labels (N,) and the dataset description of one split: the
    decoded pixels that curation kept (Fashion-MNIST), or image files decoded as they are used,
    by ``workers`` processes when streamed (``ImageFiles``)."""
    info = read_info(data_dir)
    cached = Path(data_dir) / f"{split}_pixels.npz"
    if cached.exists():
        with np.load(cached) as arrays:
            return torch.from_numpy(arrays["images"]), torch.from_numpy(arrays["labels"]), info
    path = Path(data_dir) / "manifest.csv"
    try:
        manifest = pd.read_csv(path)
    except (OSError, ValueError) as err:
        raise DataError(f"{path}: unreadable manifest ({err}); rerun curation") from err
    rows = manifest[manifest.split == split]
    if rows.empty:
        raise DataError(f"{path}: no samples in split {split!r}")
    images, labels = _load_rows(info, rows, workers)
    return images, labels, info
