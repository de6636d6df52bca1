"""Manifests from small fake trees in each official layout; long tails and class subsets."""

import json
import os

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from conftest import fmnist_spec, replace_once
from lskd.data import fashion_mnist, official
from lskd.data.errors import DataError
from lskd.data.manifest import check_class_names, curate, load_split, read_info
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
    with pytest.raises(
        DataError, match=r"image_class_labels\.txt:3: class id 7 is not in .*classes"
    ):
        official.cub200(cub_tree)


def write_list(root, prefix, split, lines):
    """An LT list file of 'path label' lines, and an image for every path."""
    for line in lines:
        if not (root / line.split()[0]).exists():
            tiny_image(root / line.split()[0])
    (root / f"{prefix}_{split}.txt").write_text("".join(f"{line}\n" for line in lines))


@pytest.fixture
def lt_tree(tmp_path):
    """ImageNet-LT lists: labels 0 (4 images), 1 and 2 in train, one of each in val."""
    root = tmp_path / "imagenet_lt"
    train = [f"train/c0/{i}.jpg 0" for i in range(4)] + ["train/c1/0.jpg 1", "train/c2/0.jpg 2"]
    write_list(root, "ImageNet_LT", "train", train)
    write_list(root, "ImageNet_LT", "val", [f"val/c{c}/0.jpg {c}" for c in range(3)])
    return root


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


def write_json(path, data):
    path.write_text(json.dumps(data))


@pytest.fixture
def imat_tree(tmp_path):
    """iMaterialist: 4 train images (classes 0, 1, 0, 1) and 2 val images (0, 1)."""
    root = tmp_path / "imat"
    for split, n in (("train", 4), ("val", 2)):
        entries = []
        for i in range(n):
            tiny_image(root / split / f"{split}_{i}.jpg")
            entries.append({"id": f"{split}_{i}.jpg", "url": "http://x", "class": i % 2})
        write_json(root / f"{split}.json", {"images": entries})
    return root


def test_imaterialist_json(imat_tree):
    rows, classes = official.imaterialist2019(imat_tree)
    assert classes == ["0", "1"] and len(rows) == 6
    assert rows.iloc[3].tolist() == ["train/train_3.jpg", 1, "train", 1]


@pytest.fixture
def inat_tree(tmp_path):
    """iNaturalist: categories 3 (Aves) and 8 (Plantae); train images 100..102 of categories
    3, 8, 3 and val images 100, 101 of categories 3, 8."""
    root = tmp_path / "inat"
    cats = [{"id": 3, "name": "Aves"}, {"id": 8, "name": "Plantae"}]
    for split, name, n in (("train", "train2019.json", 3), ("val", "val2019.json", 2)):
        images, anns = [], []
        for i in range(n):
            rel = f"train_val2019/{split}_{i}.jpg"
            tiny_image(root / rel)
            images.append({"id": 100 + i, "file_name": rel})
            anns.append({"id": i, "image_id": 100 + i, "category_id": (3, 8)[i % 2]})
        write_json(root / name, {"images": images, "annotations": anns, "categories": cats})
    return root


def test_inaturalist_json(inat_tree):
    rows, classes = official.inaturalist2019(inat_tree)
    assert classes == ["Aves", "Plantae"]
    assert rows.groupby("split").size().to_dict() == {"train": 3, "val": 2}
    # category ids 3 and 8 become labels 0 and 1; the ids stay in source_label
    assert rows.label.tolist() == [0, 1, 0, 0, 1]
    assert rows.source_label.tolist() == [3, 8, 3, 3, 8]


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
    sizes = pareto_class_sizes(1000, head=1280, tail=5, power=6)
    assert sizes[0] == 1280 and sizes[-1] == 5 and len(sizes) == 1000
    assert (np.diff(sizes) <= 0).all()
    # the Pareto density x^-(power+1) at evenly spaced points x from 1 to (head/tail)^(1/7)
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
    a = long_tail(rows, 4, head=40, tail=5, power=6, seed=3, val_per_class=5)
    b = long_tail(rows, 4, head=40, tail=5, power=6, seed=3, val_per_class=5)
    pd.testing.assert_frame_equal(a, b)
    counts = sorted(a[a.split == "train"].label.value_counts().tolist(), reverse=True)
    assert counts == pareto_class_sizes(4, 40, 5, 6).tolist()
    assert (a[a.split == "val"].label.value_counts() == 5).all()  # balanced held-out val
    c = long_tail(rows, 4, head=40, tail=5, power=6, seed=4, val_per_class=5)
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
    here = load_split(tmp_path, "train")[0]  # training views (random crops) decoded here
    for epoch in range(2):  # the second epoch reuses the persistent workers
        streamed = list(train_batches(files, labels, 4, epoch_generator(0, epoch), info))
        in_memory = list(train_batches(here, labels, 4, epoch_generator(0, epoch), info))
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
    files, _, _ = load_split(tmp_path, "train", workers=1)  # decoded in a loader process
    with pytest.raises(DataError, match=r"^\S+n02_1\.JPEG: unreadable image .*restore the file$"):
        list(files.stream([list(range(len(files)))]))


# Issue 13: an inconsistent dataset is refused with one line naming the file (and line) and the
# fix; it is never reshaped silently.


def one_line_error(reader, root, pattern):
    with pytest.raises(DataError, match=pattern) as err:
        reader(root)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    "name,old,new,pattern",
    [
        ("image_class_labels", "3 1\n", "3 1.7\n", r"labels\.txt:3: class id '1\.7' is not a"),
        ("train_test_split", "6 0\n", "6 2\n", r"split\.txt:6: is_training_image '2' must be 1"),
        ("image_class_labels", None, "3 2\n", r"labels\.txt:9: image id 3 again \(also .*:3\)"),
        ("images", "img_8", "img_2", r"images\.txt:8: .*img_2\.jpg is in both splits"),
        ("images", "5 001", "3 001", r"images\.txt:5: image id 3 again"),
        ("images", "img_8.jpg\n", "img_8.jpg\n9 x/y.jpg\n", r"images\.txt:9: image id 9 has no"),
        ("classes", None, "\n3 003.Sooty", r"classes\.txt: class '003\.Sooty' has no training"),
    ],
)
def test_cub_inconsistencies_name_file_and_line(cub_tree, name, old, new, pattern):
    replace_once(cub_tree / f"{name}.txt", old, new)
    one_line_error(official.cub200, cub_tree, pattern)


def test_cub_without_training_images_or_utf8_is_refused(cub_tree):
    split = cub_tree / "train_test_split.txt"
    split.write_text("".join(f"{i} 0\n" for i in range(1, 9)))
    one_line_error(official.cub200, cub_tree, r"train_test_split\.txt: no train images")
    (cub_tree / "images.txt").write_bytes(b"1 \xff.jpg\n")
    one_line_error(official.cub200, cub_tree, r"images\.txt: not UTF-8 text")


def test_lt_classes_are_the_distinct_labels_renumbered(lt_tree):
    write_list(lt_tree, "ImageNet_LT", "train", ["a.jpg 12", "b.jpg 3", "c.jpg 7", "d.jpg 3"])
    write_list(lt_tree, "ImageNet_LT", "val", ["e.jpg 7", "f.jpg 12"])
    rows, classes = official.READERS["imagenet_lt"](lt_tree)
    assert classes == ["3", "7", "12"]  # K = 3, not the largest label + 1 = 13
    assert rows[["sample", "label", "source_label"]].values.tolist() == [
        ["a.jpg", 2, 12],
        ["b.jpg", 0, 3],
        ["c.jpg", 1, 7],
        ["d.jpg", 0, 3],
        ["e.jpg", 1, 7],
        ["f.jpg", 2, 12],
    ]


@pytest.mark.parametrize(
    "split,lines,pattern",
    [
        ("val", ["val/c0/0.jpg 0", "val/c5/0.jpg 5"], r"val\.txt:2: label 5 has no training"),
        ("val", ["train/c0/0.jpg 0"], r"val\.txt:1: train/c0/0\.jpg is in both splits"),
        ("train", ["a.jpg 0", "a.jpg 1"], r"train\.txt:2: a\.jpg has label 1 here and 0 at"),
        ("train", ["a.jpg 0", "b.jpg 1", "a.jpg 0"], r"train\.txt:3: a\.jpg is listed twice"),
        ("train", ["a.jpg 1.7"], r"train\.txt:1: label '1\.7' is not a non-negative integer"),
        ("train", [], r"ImageNet_LT_train\.txt: no train images"),
        ("val", [], r"ImageNet_LT_val\.txt: no val images"),
    ],
)
def test_lt_inconsistencies_name_file_and_line(lt_tree, split, lines, pattern):
    write_list(lt_tree, "ImageNet_LT", split, lines)
    one_line_error(official.READERS["imagenet_lt"], lt_tree, pattern)


def test_lt_list_not_utf8_is_named(lt_tree):
    (lt_tree / "ImageNet_LT_train.txt").write_bytes(b"train/c0/\xe9.jpg 0\n")
    one_line_error(official.READERS["imagenet_lt"], lt_tree, r"ImageNet_LT_train\.txt: not UTF-8")


def with_entry(data, key, i, **fields):
    """A copy of a JSON object whose ``key`` list has ``fields`` set in entry ``i``."""
    entries = [dict(e) for e in data[key]]
    entries[i].update(fields)
    return {**data, key: entries}


@pytest.mark.parametrize(
    "change,pattern",
    [
        (lambda d: with_entry(d, "images", 1, **{"class": 1.7}), r"images\[1\]: class 1\.7 is"),
        (lambda d: d["images"], r"train\.json: expected a JSON object with the lists images"),
        (lambda d: {"annotations": d["images"]}, r"train\.json: expected a JSON object"),
        (lambda d: {"images": []}, r"train\.json: no train images"),
        (lambda d: with_entry(d, "images", 2, id="train_0.jpg"), r"images\[2\]: .* listed twice"),
        (lambda d: {"images": [{"id": "train_0.jpg"}]}, r"images\[0\]: needs the fields id, cl"),
    ],
)
def test_imaterialist_inconsistencies_name_file_and_entry(imat_tree, change, pattern):
    path = imat_tree / "train.json"
    write_json(path, change(json.loads(path.read_text())))
    one_line_error(official.imaterialist2019, imat_tree, pattern)


@pytest.mark.parametrize(
    "change,pattern",
    [
        (
            lambda d: with_entry(d, "annotations", 0, image_id=12345),
            r"train2019\.json: annotations\[0\]: image_id 12345 is not among the file's images",
        ),
        (
            lambda d: with_entry(d, "annotations", 1, category_id=1_000_000),
            r"annotations\[1\]: label 1000000 is not a class of .*train2019\.json \(categ",
        ),
        (
            lambda d: {**d, "categories": d["categories"] + [{"id": 20, "name": "Fungi"}]},
            r"train2019\.json \(categories\): class 'Fungi' has no training images",
        ),
        (
            lambda d: with_entry(d, "annotations", 2, category_id=1.7),
            r"annotations\[2\]: category_id 1\.7 is not a non-negative integer",
        ),
        (
            lambda d: with_entry(d, "images", 2, id=100),
            r"train2019\.json: images\[2\]: image id 100 again",
        ),
        (
            lambda d: with_entry(d, "annotations", 2, image_id=100),
            r"annotations\[2\]: train_val2019/train_0\.jpg is listed twice",
        ),
        (
            lambda d: with_entry(d, "annotations", 1, image_id=100),
            r"annotations\[1\]: train_val2019/train_0\.jpg has label 8 here and 3 at",
        ),
        (lambda d: {"images": [], "annotations": []}, r"train2019\.json: no train images"),
        (lambda d: {}, r"train2019\.json: expected a JSON object with the lists images, annot"),
    ],
)
def test_inaturalist_inconsistencies_name_file_and_entry(inat_tree, change, pattern):
    path = inat_tree / "train2019.json"
    write_json(path, change(json.loads(path.read_text())))
    one_line_error(official.inaturalist2019, inat_tree, pattern)


def test_image_folder_classes_need_training_images(image_folder_tree):
    for f in (image_folder_tree / "train" / "n02").iterdir():
        f.unlink()
    one_line_error(official.image_folder, image_folder_tree, r"train: class 'n02' has no train")


def test_image_folder_validation_class_missing_from_train(image_folder_tree):
    tiny_image(image_folder_tree / "val" / "n04" / "x.JPEG")
    one_line_error(
        official.image_folder, image_folder_tree, r"n04/x\.JPEG: label 'n04' is not a class of"
    )


def test_empty_train_split_is_refused_at_curation(cub_tree, tmp_path):
    (cub_tree / "train_test_split.txt").write_text("".join(f"{i} 0\n" for i in range(1, 9)))
    with pytest.raises(DataError, match=r"train_test_split\.txt: no train images"):
        curate({"kind": "cub200", "root": str(cub_tree), "image_size": 8}, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_fashion_mnist_class_without_images_is_refused(fake_fmnist):
    from conftest import write_idx

    write_idx(fake_fmnist / "train-labels-idx1-ubyte.gz", np.repeat(np.arange(9), 13)[:120])
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte\.gz: needs .* every class"):
        fashion_mnist.load(fake_fmnist, "train")


@pytest.mark.parametrize(
    "extra,pattern",
    [
        ({"classes": 12}, r"^classes: 12 classes asked of a dataset of 10; ask for 1 to 10$"),
        ({"long_tail": {"head": 13, "tail": 2}}, r"^long_tail: class \d has 12 training images"),
        (
            {"long_tail": {"head": 8, "tail": 2, "val_per_class": 5}},
            r"needs 13 \(8 \+ val_per_class 5\); lower long_tail\.head or long_tail\.val_per",
        ),
        ({"long_tail": {"head": 2, "tail": 3}}, r"^long_tail: need 1 <= tail <= head, got tail 3"),
    ],
)
def test_subsets_larger_than_the_data_fail_at_curation(fake_fmnist, tmp_path, extra, pattern):
    """fake_fmnist has 12 training images in each of 10 classes."""
    with pytest.raises(DataError, match=pattern):
        curate(fmnist_spec(fake_fmnist, **extra), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_figure1_classes_must_be_classes_of_the_curated_dataset(fake_fmnist, tmp_path):
    with pytest.raises(DataError, match=r"^figures\.fig1\.classes: \['Robot'\] are not classes"):
        curate(fmnist_spec(fake_fmnist), tmp_path / "a", require_classes=["Shirt", "Robot"])
    assert not (tmp_path / "a").exists()
    # a 3-class subset keeps (seed 0) Sandal, Shirt and Ankle boot: Pullover is gone
    spec = fmnist_spec(fake_fmnist, classes=3)
    with pytest.raises(DataError, match=r"\['Pullover'\] are not classes of the dataset \(Sand"):
        curate(spec, tmp_path / "b", require_classes=["Shirt", "Pullover"])
    curate(spec, tmp_path / "b", require_classes=["Shirt", "Sandal"])
    classes = read_info(tmp_path / "b")["classes"]
    assert classes == ["Sandal", "Shirt", "Ankle boot"]
    check_class_names(["Shirt"], classes, "figures.fig1.classes")  # for a check at parse time


def outputs(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_curation_is_atomic_when_a_write_fails(fake_fmnist, tmp_path, monkeypatch):
    """A failure while writing (here a full disk on the pixel cache) leaves the earlier
    curation's files as they were, and no temporary file."""
    out = tmp_path / "out"
    curate(fmnist_spec(fake_fmnist, train_per_class=5), out)
    before = outputs(out)
    assert set(before) == {"manifest.csv", "dataset.json", "train_pixels.npz", "val_pixels.npz"}

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", full_disk)
    with pytest.raises(OSError, match="No space left"):
        curate(fmnist_spec(fake_fmnist, train_per_class=7), out)
    assert outputs(out) == before
    with pytest.raises(OSError):  # nor is a new folder left behind
        curate(fmnist_spec(fake_fmnist), tmp_path / "new")
    assert not (tmp_path / "new").exists()


def test_non_utf8_file_name_fails_in_one_line_and_writes_nothing(image_folder_tree, tmp_path):
    from lskd.cli import main

    out = tmp_path / "out"
    spec = json.dumps({"kind": "image_folder", "root": str(image_folder_tree), "image_size": 8})
    assert main(["curate", "--spec", spec, "--out", str(out)]) == 0
    before = outputs(out)
    bad = bytes(image_folder_tree / "train" / "n02") + b"/caf\xe9.png"
    Image.new("RGB", (12, 10)).save(os.fsdecode(bad), "PNG")
    assert main(["curate", "--spec", spec, "--out", str(out)]) == 2
    assert outputs(out) == before


def test_cli_error_is_one_line_naming_the_file(image_folder_tree, tmp_path, capsys):
    from lskd.cli import main

    bad = bytes(image_folder_tree / "val" / "n01") + b"/\xff.png"
    Image.new("RGB", (12, 10)).save(os.fsdecode(bad), "PNG")
    spec = json.dumps({"kind": "image_folder", "root": str(image_folder_tree)})
    assert main(["curate", "--spec", spec, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and r"val/n01/\udcff.png': the name is not UTF-8; rename it" in err
    assert not (tmp_path / "out").exists()


def test_an_old_pixel_cache_is_removed_when_the_dataset_becomes_image_files(
    fake_fmnist, image_folder_tree, tmp_path
):
    out = tmp_path / "out"
    curate(fmnist_spec(fake_fmnist), out)
    assert (out / "train_pixels.npz").exists()
    curate({"kind": "image_folder", "root": str(image_folder_tree), "image_size": 8}, out)
    assert sorted(p.name for p in out.iterdir()) == ["dataset.json", "manifest.csv"]
    images, labels, _ = load_split(out, "train")
    assert images[:].shape == (9, 3, 8, 8) and labels.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]


def outside(root) -> str:
    """A real image beside the dataset folder, and a path from inside the folder up to it."""
    tiny_image(root.parent / "secret.jpg")
    return "../secret.jpg"


@pytest.mark.parametrize("absolute", [False, True])
def test_a_listed_path_outside_the_dataset_folder_is_refused(
    cub_tree, lt_tree, imat_tree, inat_tree, absolute
):
    def escape(root):
        up = outside(root)
        return str((root / up).resolve()) if absolute else f"../../{root.name}/{up}"

    replace_once(cub_tree / "images.txt", "1 001.Black_footed_Albatross/img_1.jpg",
                 f"1 ../{escape(cub_tree)}")  # fmt: skip
    lists = lt_tree / "ImageNet_LT_train.txt"
    lists.write_text(lists.read_text() + f"{escape(lt_tree)} 1\n")
    imat = json.loads((imat_tree / "train.json").read_text())
    write_json(
        imat_tree / "train.json", with_entry(imat, "images", 0, id=f"../{escape(imat_tree)}")
    )
    inat = json.loads((inat_tree / "train2019.json").read_text())
    inat = with_entry(inat, "images", 0, file_name=escape(inat_tree))
    write_json(inat_tree / "train2019.json", inat)
    for reader, root, where in [
        (official.cub200, cub_tree, r"images\.txt:1"),
        (official.READERS["imagenet_lt"], lt_tree, r"ImageNet_LT_train\.txt:7"),
        (official.imaterialist2019, imat_tree, r"train\.json: images\[0\]"),
        (official.inaturalist2019, inat_tree, r"train2019\.json: annotations\[0\]"),
    ]:
        one_line_error(reader, root, rf"{where}: .*secret\.jpg' is not a path inside the dataset")


def test_an_inaturalist_image_without_annotation_is_named(inat_tree):
    data = json.loads((inat_tree / "train2019.json").read_text())
    data["annotations"] = data["annotations"][:-1]  # image 102 keeps no category
    write_json(inat_tree / "train2019.json", data)
    one_line_error(official.inaturalist2019, inat_tree,
                   r"train2019\.json: image id 102 \(train_val2019/train_2\.jpg\) has no "
                   r"annotation \(1 such images\)")  # fmt: skip


def test_image_folder_files_outside_classes_or_of_unknown_types_are_named(image_folder_tree):
    (image_folder_tree / "train" / "n01" / ".DS_Store").write_bytes(b"\0")  # hidden: ignored
    assert len(official.image_folder(image_folder_tree)[0]) == 15
    tiny_image(image_folder_tree / "val" / "ILSVRC2012_val_00000001.JPEG")
    one_line_error(official.image_folder, image_folder_tree,
                   r"val/ILSVRC2012_val_00000001\.JPEG: a file outside any class folder \(1 in "
                   r".*val\); move each image into val/<class>/")  # fmt: skip
    (image_folder_tree / "val" / "ILSVRC2012_val_00000001.JPEG").unlink()
    Image.new("RGB", (12, 10)).save(image_folder_tree / "train" / "n02" / "n02_9.gif")
    one_line_error(official.image_folder, image_folder_tree,
                   r"n02/n02_9\.gif: not an image file of a known type")  # fmt: skip


def test_a_curation_killed_on_the_way_leaves_a_folder_no_reader_takes(
    fake_fmnist, tmp_path, monkeypatch
):
    """A kill cannot be caught: an interruption that is not an error (Ctrl-C here) leaves the
    older curation's files and the marker, and the readers refuse them until a curation ends."""
    from lskd.data import manifest as manifest_module

    out = tmp_path / "out"
    curate(fmnist_spec(fake_fmnist, train_per_class=5), out)

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(manifest_module, "_write_all", killed)
        with pytest.raises(KeyboardInterrupt):
            curate(fmnist_spec(fake_fmnist, train_per_class=7), out)
    assert (out / "manifest.csv").exists()  # the older dataset's, which nobody may read now
    for read in (lambda: read_info(out), lambda: load_split(out, "train")):
        with pytest.raises(DataError, match=r"out: its curation was interrupted \(\.curating"):
            read()
    curate(fmnist_spec(fake_fmnist, train_per_class=7), out)
    assert len(load_split(out, "train")[1]) == 70 and not (out / ".curating").exists()
