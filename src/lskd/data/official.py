"""Readers for the paper's real datasets in their released layouts, with no network access.

Each reader returns ``(rows, classes)``: rows of (sample path relative to ``root``, 0-based label,
split "train" or "val") and the class names. Every listed file must exist; a wrong line is
reported with the file and line number. ``verify_images`` also opens every image with PIL.
"""

import hashlib
import json
from pathlib import Path

import pandas as pd
from PIL import Image

from lskd.data.errors import DataError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
WHERE = {
    "image_folder": "ImageNet-1K from image-net.org (ILSVRC2012 train/ and val/ sorted into "
    "<wnid>/ folders, as torchvision's ImageFolder expects)",
    "cub200": "CUB_200_2011.tgz from the Caltech-UCSD Birds site (data.caltech.edu), unpacked",
    "imagenet_lt": "ImageNet_LT_{train,val,test}.txt from the OLTR release (Liu et al., 2019) "
    "beside an ImageNet copy",
    "places_lt": "Places_LT_{train,val,test}.txt from the OLTR release beside a Places-365 copy",
    "imaterialist2019": "train.json/val.json and the downloaded images of the iMaterialist "
    "product 2019 challenge (FGVC6)",
    "inaturalist2019": "train2019.json/val2019.json and train_val2019/ of the iNaturalist 2019 "
    "challenge (FGVC6)",
}
CUB_MD5 = "97eceeb196236b17998738112f37df78"  # CUB_200_2011.tgz


def require_dir(root, kind: str) -> Path:
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"dataset folder {root} not found; get {WHERE[kind]} and set its path")
    return root


def _require_file(path: Path, kind: str) -> Path:
    if not path.is_file():
        raise DataError(f"{path} not found; get {WHERE[kind]}")
    return path


def _check_samples(
    root: Path, rows: pd.DataFrame, where: list[str], num_classes: int, verify_images: bool
) -> None:
    """Every sample exists (and opens), every label is in range; errors name file and line."""
    for (sample, label), origin in zip(
        rows[["sample", "label"]].itertuples(index=False), where, strict=True
    ):
        if not 0 <= label < num_classes:
            raise DataError(f"{origin}: label {label} out of range 0..{num_classes - 1}")
        path = root / sample
        if not path.is_file():
            raise DataError(f"{origin}: image {path} does not exist")
        if verify_images:
            try:
                with Image.open(path) as im:
                    im.verify()
            except Exception as err:
                raise DataError(f"{origin}: image {path} is unreadable ({err})") from None


def image_folder(root, verify_images=True):
    """ImageNet-style ``train/<class>/*`` and ``val/<class>/*``; classes are the sorted train
    folder names (torchvision ImageFolder)."""
    root = require_dir(root, "image_folder")
    classes = (
        sorted(d.name for d in (root / "train").iterdir() if d.is_dir())
        if (root / "train").is_dir()
        else []
    )
    if not classes:
        raise DataError(f"{root / 'train'}: no class folders; get {WHERE['image_folder']}")
    rows, where = [], []
    for split in ("train", "val"):
        for label, name in enumerate(classes):
            folder = root / split / name
            if not folder.is_dir():
                raise DataError(f"{folder} not found: every class needs a {split}/ folder")
            for f in sorted(folder.iterdir()):
                if f.suffix.lower() in IMAGE_EXTENSIONS:
                    rows.append((f"{split}/{name}/{f.name}", label, split))
                    where.append(str(f))
    frame = pd.DataFrame(rows, columns=["sample", "label", "split"])
    _check_samples(root, frame, where, len(classes), verify_images)
    return frame, classes


def _read_pairs(path: Path) -> list[tuple[int, list[str]]]:
    """(line number, fields) of a space-separated file, skipping blank lines."""
    lines = path.read_text().splitlines()
    return [(i + 1, line.split()) for i, line in enumerate(lines) if line.strip()]


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cub200(root, verify_images=True, archive=None):
    """CUB-200-2011: images.txt, image_class_labels.txt, train_test_split.txt, classes.txt
    (1-indexed ids, space-separated); the standard 5,994 train / 5,794 test split. ``archive``:
    the .tgz to check against the published md5."""
    root = require_dir(root, "cub200")
    if archive is not None and _md5(_require_file(Path(archive), "cub200")) != CUB_MD5:
        raise DataError(f"{archive}: md5 differs from {CUB_MD5}; download it again")
    files = {
        n: _require_file(root / f"{n}.txt", "cub200")
        for n in ("images", "image_class_labels", "train_test_split", "classes")
    }
    classes, images, labels, is_train = [], {}, {}, {}
    for line, fields in _read_pairs(files["classes"]):
        if len(fields) != 2 or int(fields[0]) != len(classes) + 1:
            raise DataError(f"{files['classes']}:{line}: expected '<id> <name>' with ids 1, 2, ...")
        classes.append(fields[1])
    for name, table in (
        ("images", images),
        ("image_class_labels", labels),
        ("train_test_split", is_train),
    ):
        for line, fields in _read_pairs(files[name]):
            if len(fields) != 2:
                raise DataError(f"{files[name]}:{line}: expected two space-separated fields")
            table[fields[0]] = (fields[1], f"{files[name]}:{line}")
    rows, where = [], []
    for image_id, (path, origin) in images.items():
        if image_id not in labels or image_id not in is_train:
            raise DataError(f"{origin}: image id {image_id} has no label or split")
        label_text, label_origin = labels[image_id]
        rows.append(
            (
                f"images/{path}",
                int(label_text) - 1,
                "train" if is_train[image_id][0] == "1" else "val",
            )
        )
        where.append(label_origin)
    frame = pd.DataFrame(rows, columns=["sample", "label", "split"])
    _check_samples(root, frame, where, len(classes), verify_images)
    return frame, classes


def split_lists(root, prefix: str, kind: str, verify_images=True, val_list="val"):
    """ImageNet-LT / Places-LT: ``{prefix}_{train,val}.txt``, one 'relative/path label' per line,
    labels 0-indexed. Class names are the label numbers (the lists carry no names)."""
    root = require_dir(root, kind)
    rows, where = [], []
    for split, name in (("train", "train"), ("val", val_list)):
        path = _require_file(root / f"{prefix}_{name}.txt", kind)
        for line, fields in _read_pairs(path):
            if len(fields) != 2 or not fields[1].lstrip("-").isdigit():
                raise DataError(f"{path}:{line}: expected 'relative/path label'")
            rows.append((fields[0], int(fields[1]), split))
            where.append(f"{path}:{line}")
    frame = pd.DataFrame(rows, columns=["sample", "label", "split"])
    num_classes = int(frame.label.max()) + 1
    _check_samples(root, frame, where, num_classes, verify_images)
    return frame, [str(i) for i in range(num_classes)]


def _load_json(path: Path, kind: str) -> dict:
    try:
        return json.loads(_require_file(path, kind).read_text())
    except ValueError as err:
        raise DataError(f"{path}: not valid JSON ({err})") from None


def imaterialist2019(root, verify_images=True):
    """iMaterialist product 2019: train.json / val.json = {"images": [{"id", "url", "class"}]};
    the image file of entry ``id`` is ``train/<id>`` or ``val/<id>``."""
    root = require_dir(root, "imaterialist2019")
    rows, where = [], []
    for split in ("train", "val"):
        path = root / f"{split}.json"
        for i, entry in enumerate(_load_json(path, "imaterialist2019").get("images", [])):
            try:
                rows.append((f"{split}/{entry['id']}", int(entry["class"]), split))
            except (KeyError, TypeError, ValueError):
                raise DataError(f"{path}: images[{i}] needs 'id' and an integer 'class'") from None
            where.append(f"{path}: images[{i}]")
    frame = pd.DataFrame(rows, columns=["sample", "label", "split"])
    num_classes = int(frame.label.max()) + 1 if len(frame) else 0
    _check_samples(root, frame, where, num_classes, verify_images)
    return frame, [str(i) for i in range(num_classes)]


def inaturalist2019(root, verify_images=True):
    """iNaturalist 2019: COCO-style train2019.json / val2019.json with images (id, file_name),
    annotations (image_id, category_id) and categories (id, name); labels follow category ids."""
    root = require_dir(root, "inaturalist2019")
    rows, where, names = [], [], {}
    for split, name in (("train", "train2019.json"), ("val", "val2019.json")):
        path = root / name
        data = _load_json(path, "inaturalist2019")
        try:
            files = {im["id"]: im["file_name"] for im in data["images"]}
            names.update({c["id"]: c["name"] for c in data.get("categories", [])})
            for i, ann in enumerate(data["annotations"]):
                rows.append((files[ann["image_id"]], int(ann["category_id"]), split))
                where.append(f"{path}: annotations[{i}]")
        except (KeyError, TypeError) as err:
            raise DataError(
                f"{path}: missing field {err} (COCO-style images/annotations)"
            ) from None
    frame = pd.DataFrame(rows, columns=["sample", "label", "split"])
    num_classes = int(frame.label.max()) + 1 if len(frame) else 0
    _check_samples(root, frame, where, num_classes, verify_images)
    return frame, [names.get(i, str(i)) for i in range(num_classes)]


READERS = {
    "image_folder": image_folder,
    "cub200": cub200,
    "imagenet_lt": lambda root, verify_images=True: split_lists(
        root, "ImageNet_LT", "imagenet_lt", verify_images
    ),
    "places_lt": lambda root, verify_images=True: split_lists(
        root, "Places_LT", "places_lt", verify_images
    ),
    "imaterialist2019": imaterialist2019,
    "inaturalist2019": inaturalist2019,
}
