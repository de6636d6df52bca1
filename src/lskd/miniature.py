"""Miniature copies of the paper's datasets in their official formats, written from nothing (no
download), so that configs/paper.yaml's DAG can be rehearsed end to end on a CPU:

- ``imagenet/``: ILSVRC2012's ``train/<wnid>/<wnid>_<n>.JPEG`` and ``val/<wnid>/
  ILSVRC2012_val_<n>.JPEG`` (val sorted into class folders, as torchvision's ImageFolder wants);
- ``imagenet_lt/``, ``places_lt/``: the OLTR lists ``<Name>_{train,val,test}.txt`` ("path label")
  beside their images;
- ``CUB_200_2011/``: images.txt, image_class_labels.txt, train_test_split.txt, classes.txt and
  ``images/<class>/``;
- ``inat2019/``: COCO-style train2019.json / val2019.json (images, annotations, categories) and
  ``train_val2019/``;
- ``imat2019/``: train.json / val.json ({"images": [{"id", "url", "class"}]}) and
  ``train/``, ``val/``;
- ``iwslt14/de-en.tgz``: the WIT3 release's ``de-en/train.tags.de-en.{de,en}`` (with its tag
  lines) and the five test sets' XML files that fairseq's prepare-iwslt14.sh reads.

Images are real JPEGs of several sizes and aspect ratios, some grayscale and some CMYK (as in
ImageNet), each class a colour and stripe pattern a network can learn. Everything is seeded.

    python -m lskd.miniature OUT [--classes 5] [--train 8] [--val 3]
"""

import argparse
import io
import json
import tarfile
from pathlib import Path

import numpy as np
from PIL import Image

from lskd.nmt.corpus import IWSLT14_TEST

MODES = ("RGB", "RGB", "RGB", "L", "CMYK")  # ImageNet has grayscale and CMYK JPEGs (rarely)


def image(rng: np.random.Generator, label: int, classes: int, i: int = 0) -> Image.Image:
    """A class's colour and stripe period with noise, 36-96 pixels a side; the ``i``-th image of
    a class is RGB, L or CMYK in turn."""
    h, w = (int(v) for v in rng.integers(36, 97, size=2))
    hue = np.array([np.cos(2 * np.pi * (label / classes + k / 3)) for k in range(3)])
    stripes = np.sin(np.arange(w) * (label + 1) * np.pi / 8)[None, :, None]
    pixels = 128 + 60 * hue[None, None, :] + 40 * stripes + rng.normal(0, 20, (h, w, 3))
    picture = Image.fromarray(pixels.clip(0, 255).astype(np.uint8), "RGB")
    return picture.convert(MODES[(label + i) % len(MODES)])


def save(path: Path, picture: Image.Image) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    picture.save(path, "JPEG", quality=85)
    return str(path)


def image_folder(root: Path, rng, wnids: list[str], train: int, val: int) -> None:
    serial = 0
    for label, wnid in enumerate(wnids):
        for i in range(train):
            save(root / "train" / wnid / f"{wnid}_{i}.JPEG", image(rng, label, len(wnids), i))
        for i in range(val):
            serial += 1
            name = f"ILSVRC2012_val_{serial:08d}.JPEG"
            save(root / "val" / wnid / name, image(rng, label, len(wnids), i))


def split_lists(root: Path, rng, prefix: str, folders: list[str], sizes: dict) -> None:
    """OLTR's lists: ``prefix``_{split}.txt of "relative/path label"; ``sizes``: per split, the
    images of each class (a long tail for train)."""
    for split, per_class in sizes.items():
        lines = []
        for label, folder in enumerate(folders):
            for i in range(per_class[label]):
                rel = f"{split}/{folder}/{split}_{label}_{i}.jpg"
                save(root / rel, image(rng, label, len(folders), i))
                lines.append(f"{rel} {label}")
        (root / f"{prefix}_{split}.txt").write_text("\n".join(lines) + "\n")


def cub(root: Path, rng, classes: int, train: int, val: int) -> None:
    names = [f"{c + 1:03d}.Bird_{c + 1}" for c in range(classes)]
    images, labels, split = [], [], []
    for c, name in enumerate(names):
        for i in range(train + val):
            rel = f"{name}/Bird_{c + 1}_{i:04d}.jpg"
            save(root / "images" / rel, image(rng, c, classes, i))
            images.append(f"{len(images) + 1} {rel}")
            labels.append(f"{len(labels) + 1} {c + 1}")
            split.append(f"{len(split) + 1} {1 if i < train else 0}")
    (root / "classes.txt").write_text("".join(f"{c + 1} {n}\n" for c, n in enumerate(names)))
    for name, lines in (("images", images), ("image_class_labels", labels),
                        ("train_test_split", split)):  # fmt: skip
        (root / f"{name}.txt").write_text("\n".join(lines) + "\n")


def inaturalist(root: Path, rng, classes: int, sizes: dict) -> None:
    categories = [{"id": c, "name": f"Species {c}", "kingdom": "Plantae"} for c in range(classes)]
    next_id = 0
    for split, per_class in sizes.items():
        images, annotations = [], []
        for c in range(classes):
            for i in range(per_class[c]):
                rel = f"train_val2019/Plants/{c}/{split}_{i}.jpg"
                picture = image(rng, c, classes, i)
                save(root / rel, picture)
                images.append({"id": next_id, "file_name": rel, "width": picture.width,
                               "height": picture.height, "license": 0})  # fmt: skip
                annotations.append({"id": next_id, "image_id": next_id, "category_id": c})
                next_id += 1
        data = {"images": images, "annotations": annotations, "categories": categories}
        (root / f"{split}2019.json").write_text(json.dumps(data))


def imaterialist(root: Path, rng, classes: int, train: int, val: int) -> None:
    for split, n in (("train", train), ("val", val)):
        entries = []
        for c in range(classes):
            for i in range(n):
                name = f"{split}_{c}_{i}.jpeg"
                save(root / split / name, image(rng, c, classes, i))
                entries.append({"id": name, "url": f"https://example.invalid/{name}", "class": c})
        (root / f"{split}.json").write_text(json.dumps({"images": entries}))


NOUNS = [
    ("Hund", "dog"),
    ("Katze", "cat"),
    ("Lehrer", "teacher"),
    ("Vogel", "bird"),
    ("Freund", "friend"),
    ("Arzt", "doctor"),
    ("Bauer", "farmer"),
    ("Junge", "boy"),
]
VERBS = [("sieht", "sees"), ("mag", "likes"), ("ruft", "calls"), ("sucht", "looks for"),
         ("kennt", "knows"), ("hört", "hears")]  # fmt: skip


def sentence_pair(rng) -> tuple[str, str]:
    (s_de, s_en), (o_de, o_en) = (NOUNS[i] for i in rng.choice(len(NOUNS), 2, replace=False))
    v_de, v_en = VERBS[rng.integers(len(VERBS))]
    return f"Der {s_de} {v_de} den {o_de} .", f"The {s_en} {v_en} the {o_en} ."


def iwslt14(archive: Path, rng, train: int, test: int) -> None:
    """de-en.tgz as WIT3 released it: train.tags with talk tags between the sentences, and the
    test sets as <seg> elements."""
    files, pairs = {}, [sentence_pair(rng) for _ in range(train)]
    for k, lang in enumerate(("de", "en")):
        lines = ["<url>http://www.ted.com/talks/a_talk.html</url>", "<talkid>1</talkid>",
                 "<keywords>talks</keywords>", "<speaker>Someone</speaker>"]  # fmt: skip
        lines += [pair[k] for pair in pairs]
        files[f"de-en/train.tags.de-en.{lang}"] = "\n".join(lines) + "\n"
    for name in IWSLT14_TEST:
        segs = [sentence_pair(rng) for _ in range(test)]
        for k, lang in enumerate(("de", "en")):
            body = "".join(f'<seg id="{i + 1}"> {p[k]} </seg>\n' for i, p in enumerate(segs))
            files[f"de-en/{name}.de-en.{lang}.xml"] = (
                f'<?xml version="1.0" encoding="UTF-8"?>\n<mteval>\n<srcset setid="{name}" '
                f'srclang="{lang}">\n<doc docid="1">\n{body}</doc>\n</srcset>\n</mteval>\n'
            )
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "w:gz") as tar:
        for name, text in sorted(files.items()):
            data = text.encode("utf-8")
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def long_tail(classes: int, head: int) -> list[int]:
    """Per-class training images from ``head`` down to 2, halving (the long-tailed lists)."""
    return [max(2, head >> c) for c in range(classes)]


def write(out, classes: int = 5, train: int = 8, val: int = 3, seed: int = 0, wnids=None) -> Path:
    """Every dataset under ``out``, ``classes`` classes of ``train`` + ``val`` images each (the
    long-tailed ones from ``2 * train`` down; ``wnids``: ImageNet's class folders); returns
    ``out``."""
    out, rng = Path(out), np.random.default_rng(seed)
    wnids = wnids or [f"n{1440764 + 1000 * c:08d}" for c in range(classes)]
    image_folder(out / "imagenet", rng, wnids, train, val)
    tail = {"train": long_tail(classes, 2 * train), "val": [val] * classes,
            "test": [val] * classes}  # fmt: skip
    split_lists(out / "imagenet_lt", rng, "ImageNet_LT", wnids, tail)
    places = [f"{chr(97 + c)}/place_{c}" for c in range(classes)]
    split_lists(out / "places_lt", rng, "Places_LT", places, tail)
    cub(out / "CUB_200_2011", rng, classes, train, val)
    inaturalist(out / "inat2019", rng, classes, {"train": tail["train"], "val": tail["val"]})
    imaterialist(out / "imat2019", rng, classes, train, val)
    iwslt14(out / "iwslt14" / "de-en.tgz", rng, train=60 * classes, test=4)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out")
    p.add_argument("--classes", type=int, default=5)
    p.add_argument("--train", type=int, default=8, help="training images per class")
    p.add_argument("--val", type=int, default=3, help="validation images per class")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    print(write(args.out, args.classes, args.train, args.val, args.seed))


if __name__ == "__main__":
    main()
