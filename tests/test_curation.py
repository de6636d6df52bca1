"""Manifests from small fake trees in each official layout; long tails and class subsets."""

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from lskd.data import official
from lskd.data.errors import DataError
from lskd.data.manifest import curate, load_split
from lskd.data.subsets import class_subset, long_tail, pareto_class_sizes


def tiny_image(path, color=(10, 20, 30)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (12, 10), color).save(path)


@pytest.fixture
def image_folder_tree(tmp_path):
    root = tmp_path / "imagenet"
    for split, n in (("train", 3), ("val", 2)):
        for wnid in ("n01", "n02", "n03"):
            for i in range(n):
                tiny_image(root / split / wnid / f"{wnid}_{i}.JPEG")
    return root


def test_image_folder(image_folder_tree):
    rows, classes = official.image_folder(image_folder_tree)
    assert classes == ["n01", "n02", "n03"]
    assert rows.groupby("split").size().to_dict() == {"train": 9, "val": 6}
    assert rows[rows["sample"] == "val/n03/n03_1.JPEG"].label.item() == 2


def test_unreadable_image_is_named(image_folder_tree):
    bad = image_folder_tree / "train" / "n02" / "n02_1.JPEG"
    bad.write_bytes(b"not an image")
    with pytest.raises(DataError, match=r"n02_1\.JPEG is unreadable"):
        official.image_folder(image_folder_tree)


@pytest.fixture
def cub_tree(tmp_path):
    root = tmp_path / "CUB_200_2011"
    classes = ["001.Black_footed_Albatross", "002.Laysan_Albatross"]
    images, labels, split = [], [], []
    for i in range(1, 9):
        cls = 1 + (i - 1) % 2
        name = f"{classes[cls - 1]}/img_{i}.jpg"
        tiny_image(root / "images" / name)
        images.append(f"{i} {name}")
        labels.append(f"{i} {cls}")
        split.append(f"{i} {1 if i <= 5 else 0}")
    (root / "classes.txt").write_text("\n".join(f"{i + 1} {c}" for i, c in enumerate(classes)))
    (root / "images.txt").write_text("\n".join(images) + "\n")
    (root / "image_class_labels.txt").write_text("\n".join(labels) + "\n")
    (root / "train_test_split.txt").write_text("\n".join(split) + "\n")
    return root


def test_cub_official_layout(cub_tree):
    rows, classes = official.cub200(cub_tree)
    assert classes == ["001.Black_footed_Albatross", "002.Laysan_Albatross"]
    assert rows.groupby("split").size().to_dict() == {"train": 5, "val": 3}
    first = rows.iloc[0]
    assert first["sample"] == "images/001.Black_footed_Albatross/img_1.jpg" and first.label == 0


def test_cub_md5_check(cub_tree, tmp_path):
    archive = tmp_path / "CUB_200_2011.tgz"
    archive.write_bytes(b"not the archive")
    with pytest.raises(DataError, match="md5 differs from 97eceeb196236b17998738112f37df78"):
        official.cub200(cub_tree, archive=archive)


def test_cub_label_out_of_range_names_file_and_line(cub_tree):
    labels = (cub_tree / "image_class_labels.txt").read_text().replace("3 1\n", "3 7\n")
    (cub_tree / "image_class_labels.txt").write_text(labels)
    with pytest.raises(DataError, match=r"image_class_labels\.txt:3: label 6 out of range 0\.\.1"):
        official.cub200(cub_tree)


@pytest.mark.parametrize(
    "kind,prefix", [("imagenet_lt", "ImageNet_LT"), ("places_lt", "Places_LT")]
)
def test_lt_split_lists(tmp_path, kind, prefix):
    root = tmp_path / kind
    lines = {"train": [], "val": []}
    for split, n in (("train", 4), ("val", 2)):
        for label in range(3):
            for i in range(n if label == 0 else 1):
                rel = f"{split}/c{label}/{i}.jpg"
                tiny_image(root / rel)
                lines[split].append(f"{rel} {label}")
    for split, content in lines.items():
        (root / f"{prefix}_{split}.txt").write_text("\n".join(content) + "\n")
    rows, classes = official.READERS[kind](root)
    assert classes == ["0", "1", "2"]
    assert rows[rows.split == "train"].label.value_counts().to_dict() == {0: 4, 1: 1, 2: 1}
    (root / f"{prefix}_val.txt").write_text("val/c0/0.jpg 0\nval/c9/missing.jpg 1\n")
    with pytest.raises(DataError, match=rf"{prefix}_val\.txt:2: image .*missing\.jpg does not"):
        official.READERS[kind](root)


def test_imaterialist_json(tmp_path):
    root = tmp_path / "imat"
    for split, n in (("train", 4), ("val", 2)):
        entries = []
        for i in range(n):
            tiny_image(root / split / f"{split}_{i}.jpg")
            entries.append({"id": f"{split}_{i}.jpg", "url": "http://x", "class": i % 2})
        (root / f"{split}.json").write_text(json.dumps({"images": entries}))
    rows, classes = official.imaterialist2019(root)
    assert classes == ["0", "1"] and len(rows) == 6
    assert rows.iloc[3].tolist() == ["train/train_3.jpg", 1, "train"]


def test_inaturalist_json(tmp_path):
    root = tmp_path / "inat"
    cats = [{"id": 0, "name": "Aves"}, {"id": 1, "name": "Plantae"}]
    for split, name, n in (("train", "train2019.json", 3), ("val", "val2019.json", 2)):
        images, anns = [], []
        for i in range(n):
            rel = f"train_val2019/{split}_{i}.jpg"
            tiny_image(root / rel)
            images.append({"id": 100 + i, "file_name": rel})
            anns.append({"id": i, "image_id": 100 + i, "category_id": i % 2})
        (root / name).write_text(
            json.dumps({"images": images, "annotations": anns, "categories": cats})
        )
    rows, classes = official.inaturalist2019(root)
    assert classes == ["Aves", "Plantae"]
    assert rows.groupby("split").size().to_dict() == {"train": 3, "val": 2}


def test_missing_dataset_path(tmp_path):
    with pytest.raises(DataError, match=r"dataset folder .*nowhere not found; get CUB_200_2011"):
        official.cub200(tmp_path / "nowhere")


def test_curated_image_folder_loads_into_tensors(image_folder_tree, tmp_path):
    curate(
        {"kind": "image_folder", "root": str(image_folder_tree), "image_size": 8}, tmp_path / "out"
    )
    images, labels, info = load_split(tmp_path / "out", "val")
    assert images[:].shape == (6, 3, 8, 8) and labels.tolist() == [0, 0, 1, 1, 2, 2]
    assert info["classes"] == ["n01", "n02", "n03"]


def test_nothing_written_when_curation_fails(image_folder_tree, tmp_path):
    (image_folder_tree / "val" / "n01" / "n01_0.JPEG").write_bytes(b"broken")
    with pytest.raises(DataError):
        curate({"kind": "image_folder", "root": str(image_folder_tree)}, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_pareto_sizes():
    sizes = pareto_class_sizes(1000, head=1280, tail=5, alpha=6)
    assert sizes[0] == 1280 and sizes[-1] == 5 and len(sizes) == 1000
    assert (np.diff(sizes) <= 0).all()
    # the Pareto density x^-(alpha+1) at evenly spaced points x from 1 to (head/tail)^(1/7)
    x = np.linspace(1, (1280 / 5) ** (1 / 7), 1000)
    np.testing.assert_array_equal(sizes, np.rint(1280 * x**-7))
    assert 150_000 < sizes.sum() < 200_000  # ImageNet-LT's order of size (115.8k)
    # a smooth tail, not one head class: many classes lie between the extremes
    assert 200 < ((sizes > 20) & (sizes < 1000)).sum() < 900


def manifest(n_classes=4, per_class=50):
    labels = np.repeat(np.arange(n_classes), per_class)
    rows = pd.DataFrame(
        {"sample": np.arange(len(labels)), "source": "train", "label": labels, "split": "train"}
    )
    val = rows.assign(split="val", source="test").iloc[::10]
    return pd.concat([rows, val], ignore_index=True)


def test_long_tail_sizes_and_reproducibility():
    rows = manifest()
    a = long_tail(rows, 4, head=40, tail=5, alpha=6, seed=3, val_per_class=5)
    b = long_tail(rows, 4, head=40, tail=5, alpha=6, seed=3, val_per_class=5)
    pd.testing.assert_frame_equal(a, b)
    counts = sorted(a[a.split == "train"].label.value_counts().tolist(), reverse=True)
    assert counts == pareto_class_sizes(4, 40, 5, 6).tolist()
    assert (a[a.split == "val"].label.value_counts() == 5).all()  # balanced held-out val
    c = long_tail(rows, 4, head=40, tail=5, alpha=6, seed=4, val_per_class=5)
    assert not a.equals(c)


def test_class_subsets_by_seed():
    rows = manifest(n_classes=10, per_class=3)
    names = [f"c{i}" for i in range(10)]
    sub_a, classes_a = class_subset(rows, names, 3, seed=1)
    sub_b, classes_b = class_subset(rows, names, 3, seed=1)
    assert classes_a == classes_b and sub_a.equals(sub_b)
    assert sorted(sub_a.label.unique()) == [0, 1, 2]
    _, classes_c = class_subset(rows, names, 3, seed=2)
    assert classes_c != classes_a


def test_streamed_image_files_give_the_in_memory_batches(image_folder_tree, tmp_path):
    """Worker processes decode the same pixels, in the same seeded batches, as the main one."""
    import torch

    from lskd.data.batches import epoch_generator, eval_batches, train_batches

    for i, path in enumerate(sorted(image_folder_tree.rglob("*.JPEG"))):
        Image.new("RGB", (12, 10), (7 * i % 256, 3 * i % 256, 11 * i % 256)).save(path, "PNG")
    curate({"kind": "image_folder", "root": str(image_folder_tree), "image_size": 8}, tmp_path)
    files, labels, info = load_split(tmp_path, "train", workers=2)
    decoded = files[:]  # decoded here, in memory
    assert decoded.shape == (9, 3, 8, 8) and decoded.float().std() > 0
    for epoch in range(2):  # the second epoch reuses the persistent workers
        streamed = list(train_batches(files, labels, 4, epoch_generator(0, epoch), info))
        in_memory = list(train_batches(decoded, labels, 4, epoch_generator(0, epoch), info))
        assert len(streamed) == len(in_memory) == 2  # 4 + 4 (+ 1, dropped)
        for (xs, ys, ids), (xm, ym, im) in zip(streamed, in_memory, strict=True):
            assert torch.equal(xs, xm) and torch.equal(ys, ym) and torch.equal(ids, im)
    for (xs, ys), (xm, ym) in zip(
        eval_batches(files, labels, 4, info), eval_batches(decoded, labels, 4, info), strict=True
    ):
        assert torch.equal(xs, xm) and torch.equal(ys, ym)


def test_a_broken_image_file_is_named_when_streamed(image_folder_tree, tmp_path):
    curate({"kind": "image_folder", "root": str(image_folder_tree), "image_size": 8}, tmp_path)
    (image_folder_tree / "train" / "n02" / "n02_1.JPEG").write_bytes(b"broken")
    files, _, _ = load_split(tmp_path, "train")
    with pytest.raises(DataError, match=r"n02_1\.JPEG: unreadable image"):
        files[:]
