"""Readers for the paper's real datasets in their released layouts, with no network access.

Each reader returns ``(rows, classes)``: rows of (sample path relative to ``root``, 0-based label,
split "train" or "val", the dataset's own id of the class ``source_label``) and the K class names.
K is the number of classes the format lists (folders, classes.txt, categories), otherwise of the
distinct training labels; labels are renumbered 0..K-1 in the order of the list or of the ids.
The dataset must be consistent: integer labels, documented split values, every class with
training images, every validation class a training class, no image listed twice (with two labels,
or in both splits), every listed file present. A wrong line is reported with the file and line
number. ``verify_images`` also opens every image with PIL.
"""

import hashlib
import json
from pathlib import Path, PurePosixPath

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


def _integer(value, origin: str, what: str) -> int:
    """A non-negative integer id, given as a number or as decimal text; 1.7 is refused, not
    truncated to 1."""
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not (isinstance(text, str) and text.isascii() and text.isdigit()):
        raise DataError(f"{origin}: {what} {value!r} is not a non-negative integer; correct it")
    return int(text)


def _check_unique(frame: pd.DataFrame, where: list[str]) -> None:
    """No sample twice: not with two labels, not in both splits, not repeated."""
    repeated = frame["sample"].duplicated().to_numpy()
    if not repeated.any():
        return
    again = int(repeated.argmax())
    first = int((frame["sample"] == frame["sample"].iloc[again]).to_numpy().argmax())
    a, b = frame.iloc[first], frame.iloc[again]
    if a["split"] != b["split"]:
        problem = f"is in both splits (also {where[first]}); an image belongs to one split"
    elif a["source_label"] != b["source_label"]:
        problem = f"has label {b['source_label']} here and {a['source_label']} at {where[first]}"
    else:
        problem = f"is listed twice (also {where[first]})"
    raise DataError(f"{where[again]}: {b['sample']} {problem}; keep one entry")


def _check_samples(root: Path, frame: pd.DataFrame, where: list[str], verify_images: bool):
    """Every sample lies inside ``root`` (a listed path may not climb out of it, nor be
    absolute), exists and opens; errors name file and line."""
    for sample, origin in zip(frame["sample"], where, strict=True):
        parts = PurePosixPath(str(sample).replace("\\", "/")).parts
        if not parts or parts[0] == "/" or ".." in parts or ":" in parts[0]:
            raise DataError(
                f"{origin}: {sample!r} is not a path inside the dataset folder {root}; list "
                "image paths relative to it, without '..'"
            )
        path = root / sample
        if not path.is_file():
            raise DataError(f"{origin}: image {path} does not exist")
        if verify_images:
            try:
                with Image.open(path) as im:
                    im.verify()
            except Exception as err:
                raise DataError(f"{origin}: image {path} is unreadable ({err})") from None


def _checked(root, kind, rows, where, files, verify_images, classes=None, class_file=None):
    """The checked frame and class names of ``rows`` (sample, source label, split), read from
    the lines ``where``. ``classes``: {source label: name} in the dataset's order where the
    format lists its classes (in ``class_file``), else None: the distinct training labels in
    order, named by their ids. ``files``: the file (or folder) of each split."""
    frame = pd.DataFrame(rows, columns=["sample", "source_label", "split"])
    for split in ("train", "val"):
        if not (frame["split"] == split).any():
            raise DataError(f"{files[split]}: no {split} images; restore it from {WHERE[kind]}")
    _check_unique(frame, where)
    train = frame["split"] == "train"
    if classes is None:
        classes = {c: str(c) for c in sorted(frame["source_label"][train].unique())}
    index = {c: i for i, c in enumerate(classes)}
    labels = frame["source_label"].map(index)
    if labels.isna().any():
        i = int(labels.isna().to_numpy().argmax())
        label = frame["source_label"].tolist()[i]  # a Python int or str, shown as such
        raise DataError(
            f"{where[i]}: label {label!r} is not a class of {class_file}; correct the label"
            if class_file
            else f"{where[i]}: label {label} has no training images (every validation class "
            "must be a training class); correct the label or add training images"
        )
    trained = set(labels[train])
    for i, name in enumerate(classes.values()):
        if i not in trained:
            raise DataError(f"{class_file}: class {name!r} has no training images; add some")
    _check_samples(root, frame, where, verify_images)
    frame = frame.assign(label=labels.astype(int))[["sample", "label", "split", "source_label"]]
    return frame, list(classes.values())


def image_folder(root, verify_images=True):
    """ImageNet-style ``train/<class>/*`` and ``val/<class>/*``; classes are the sorted train
    folder names (torchvision ImageFolder)."""
    root = require_dir(root, "image_folder")
    folders = {}
    for split in ("train", "val"):
        top = root / split
        folders[split] = sorted(d.name for d in top.iterdir() if d.is_dir()) if top.is_dir() else []
    if not folders["train"]:
        raise DataError(f"{root / 'train'}: no class folders; get {WHERE['image_folder']}")
    for name in folders["train"]:
        if name not in folders["val"]:
            raise DataError(f"{root / 'val' / name} not found: every class needs a val/ folder")
    rows, where = [], []
    for split in ("train", "val"):
        loose = [f for f in _visible_files(root / split) if f.is_file()]
        if loose:  # e.g. ImageNet's val/ not (or not fully) sorted into class folders
            raise DataError(
                f"{loose[0]}: a file outside any class folder ({len(loose)} in {root / split}); "
                f"move each image into {split}/<class>/ (for ImageNet val/: valprep.sh)"
            )
        for name in folders[split]:
            for f in _visible_files(root / split / name):
                if f.suffix.lower() not in IMAGE_EXTENSIONS:
                    raise DataError(
                        f"{f}: not an image file of a known type ({', '.join(IMAGE_EXTENSIONS)}); "
                        "convert it or move it out of the dataset folder"
                    )
                sample = f"{split}/{name}/{f.name}"
                try:
                    sample.encode()
                except UnicodeEncodeError:
                    raise DataError(f"{str(f)!r}: the name is not UTF-8; rename it") from None
                rows.append((sample, name, split))
                where.append(str(f))
    classes = {name: name for name in folders["train"]}
    files = {split: root / split for split in ("train", "val")}
    return _checked(
        root, "image_folder", rows, where, files, verify_images, classes, files["train"]
    )


def _visible_files(folder: Path) -> list[Path]:
    """The entries of ``folder`` in name order, without hidden ones (.DS_Store and the like)."""
    return sorted(f for f in folder.iterdir() if not f.name.startswith("."))


def _read_pairs(path: Path) -> list[tuple[int, list[str]]]:
    """(line number, fields) of a space-separated file, skipping blank lines."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not UTF-8 text ({err}); restore the original file") from None
    return [(i + 1, line.split()) for i, line in enumerate(lines) if line.strip()]


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cub200(root, verify_images=True, archive=None):
    """CUB-200-2011: images.txt, image_class_labels.txt, train_test_split.txt, classes.txt
    (1-indexed ids, space-separated; is_training_image 1 or 0); the standard 5,994 train / 5,794
    test split. ``archive``: the .tgz to check against the published md5."""
    root = require_dir(root, "cub200")
    if archive is not None and _md5(_require_file(Path(archive), "cub200")) != CUB_MD5:
        raise DataError(f"{archive}: md5 differs from {CUB_MD5}; download it again")
    files = {
        n: _require_file(root / f"{n}.txt", "cub200")
        for n in ("images", "image_class_labels", "train_test_split", "classes")
    }
    classes, tables = {}, {n: {} for n in ("images", "image_class_labels", "train_test_split")}
    for line, fields in _read_pairs(files["classes"]):
        if len(fields) != 2 or fields[0] != str(len(classes) + 1):
            raise DataError(f"{files['classes']}:{line}: expected '<id> <name>' with ids 1, 2, ...")
        classes[len(classes) + 1] = fields[1]
    for name, table in tables.items():
        for line, fields in _read_pairs(files[name]):
            origin = f"{files[name]}:{line}"
            if len(fields) != 2:
                raise DataError(f"{origin}: expected two space-separated fields")
            if fields[0] in table:
                first = table[fields[0]][1]
                raise DataError(f"{origin}: image id {fields[0]} again (also {first}); keep one")
            table[fields[0]] = (fields[1], origin)
    images, labels, is_train = tables.values()
    for table in (labels, is_train):
        for image_id, (_, origin) in table.items():
            if image_id not in images:
                raise DataError(f"{origin}: image id {image_id} is not in {files['images']}")
    rows, where = [], []
    for image_id, (path, origin) in images.items():
        if image_id not in labels or image_id not in is_train:
            raise DataError(f"{origin}: image id {image_id} has no label or split")
        label_text, label_origin = labels[image_id]
        label = _integer(label_text, label_origin, "class id")
        if label not in classes:
            raise DataError(f"{label_origin}: class id {label} is not in {files['classes']}")
        split_text, split_origin = is_train[image_id]
        if split_text not in ("0", "1"):
            raise DataError(
                f"{split_origin}: is_training_image {split_text!r} must be 1 (train) or 0 (test)"
            )
        rows.append((f"images/{path}", label, "train" if split_text == "1" else "val"))
        where.append(origin)
    splits = {s: files["train_test_split"] for s in ("train", "val")}
    return _checked(root, "cub200", rows, where, splits, verify_images, classes, files["classes"])


def split_lists(root, prefix: str, kind: str, verify_images=True, val_list="val"):
    """ImageNet-LT / Places-LT: ``{prefix}_{train,val}.txt``, one 'relative/path label' per line,
    labels 0-indexed. Class names are the label numbers (the lists carry no names)."""
    root = require_dir(root, kind)
    rows, where, files = [], [], {}
    for split, name in (("train", "train"), ("val", val_list)):
        path = files[split] = _require_file(root / f"{prefix}_{name}.txt", kind)
        for line, fields in _read_pairs(path):
            origin = f"{path}:{line}"
            if len(fields) != 2:
                raise DataError(f"{origin}: expected 'relative/path label'")
            rows.append((fields[0], _integer(fields[1], origin, "label"), split))
            where.append(origin)
    return _checked(root, kind, rows, where, files, verify_images)


def _load_json(path: Path, kind: str, lists: tuple[str, ...]) -> dict:
    """The JSON object of ``path``, which must hold the lists named ``lists``."""
    try:
        data = json.loads(_require_file(path, kind).read_bytes())
    except ValueError as err:
        raise DataError(f"{path}: not valid JSON ({err}); restore it from {WHERE[kind]}") from None
    if not isinstance(data, dict) or not all(isinstance(data.get(k), list) for k in lists):
        raise DataError(
            f"{path}: expected a JSON object with the lists {', '.join(lists)}; "
            f"restore it from {WHERE[kind]}"
        )
    return data


def _fields(entry, origin: str, keys: tuple[str, ...]) -> list:
    if not isinstance(entry, dict) or not all(k in entry for k in keys):
        raise DataError(f"{origin}: needs the fields {', '.join(keys)}")
    return [entry[k] for k in keys]


def imaterialist2019(root, verify_images=True):
    """iMaterialist product 2019: train.json / val.json = {"images": [{"id", "url", "class"}]};
    the image file of entry ``id`` is ``train/<id>`` or ``val/<id>``."""
    root = require_dir(root, "imaterialist2019")
    rows, where, files = [], [], {}
    for split in ("train", "val"):
        path = files[split] = root / f"{split}.json"
        for i, entry in enumerate(_load_json(path, "imaterialist2019", ("images",))["images"]):
            origin = f"{path}: images[{i}]"
            image_id, label = _fields(entry, origin, ("id", "class"))
            rows.append((f"{split}/{image_id}", _integer(label, origin, "class"), split))
            where.append(origin)
    return _checked(root, "imaterialist2019", rows, where, files, verify_images)


def inaturalist2019(root, verify_images=True):
    """iNaturalist 2019: COCO-style train2019.json / val2019.json with images (id, file_name),
    annotations (image_id, category_id) and categories (id, name); the classes are the
    categories in id order (the distinct category ids where no file lists categories)."""
    root = require_dir(root, "inaturalist2019")
    rows, where, files, names = [], [], {}, {}
    for split, name in (("train", "train2019.json"), ("val", "val2019.json")):
        path = files[split] = root / name
        data = _load_json(path, "inaturalist2019", ("images", "annotations"))
        images = {}
        for i, entry in enumerate(data["images"]):
            origin = f"{path}: images[{i}]"
            image_id, file_name = _fields(entry, origin, ("id", "file_name"))
            image_id = _integer(image_id, origin, "id")
            if image_id in images:
                raise DataError(f"{origin}: image id {image_id} again; keep one entry")
            images[image_id] = file_name
        for i, entry in enumerate(data.get("categories", [])):
            origin = f"{path}: categories[{i}]"
            category, category_name = _fields(entry, origin, ("id", "name"))
            names[_integer(category, origin, "id")] = category_name
        annotated = set()
        for i, entry in enumerate(data["annotations"]):
            origin = f"{path}: annotations[{i}]"
            image_id, category = _fields(entry, origin, ("image_id", "category_id"))
            image_id = _integer(image_id, origin, "image_id")
            if image_id not in images:
                raise DataError(f"{origin}: image_id {image_id} is not among the file's images")
            annotated.add(image_id)
            rows.append((images[image_id], _integer(category, origin, "category_id"), split))
            where.append(origin)
        unlabelled = [i for i in images if i not in annotated]
        twice = len(annotated) < len(data["annotations"])  # _checked names that first
        if unlabelled and not twice:  # the challenge's train and val images all have one
            first = unlabelled[0]
            raise DataError(
                f"{path}: image id {first} ({images[first]}) has no annotation "
                f"({len(unlabelled)} such images); give each a category_id or remove it"
            )
    classes = dict(sorted(names.items())) if names else None
    class_file = f"{files['train']} (categories)" if names else None
    return _checked(root, "inaturalist2019", rows, where, files, verify_images, classes, class_file)


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
