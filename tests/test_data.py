import json

import numpy as np
import pandas as pd
import pytest

from lskd.data import fashion_mnist
from lskd.data.errors import DataError
from lskd.data.manifest import curate, load_split


def test_reader_roundtrip(fake_fmnist):
    images, labels = fashion_mnist.load(fake_fmnist, "train")
    assert images.shape == (120, 28, 28) and images.dtype == np.uint8
    assert np.bincount(labels).tolist() == [12] * 10


def test_curate_per_class_subset(fake_fmnist, tmp_path):
    spec = {
        "kind": "fashion_mnist",
        "root": str(fake_fmnist),
        "train_per_class": 5,
        "val_per_class": 3,
        "seed": 1,
    }
    curate(spec, tmp_path / "a")
    manifest = pd.read_csv(tmp_path / "a" / "manifest.csv")
    counts = manifest.groupby(["split", "label"]).size()
    assert (counts["train"] == 5).all() and (counts["val"] == 3).all()
    info = json.loads((tmp_path / "a" / "dataset.json").read_text())
    assert info["classes"][6] == "Shirt" and info["num_classes"] == 10
    # the manifest's labels are the source file's labels
    _, src_labels = fashion_mnist.load(fake_fmnist, "train")
    train = manifest[manifest.split == "train"]
    assert (src_labels[train["sample"]] == train["label"]).all()
    images, labels, _ = load_split(tmp_path / "a", "val")
    assert (
        images.shape == (30, 1, 28, 28)
        and labels.tolist() == manifest[manifest.split == "val"].label.tolist()
    )
    # same seed, same subset; another seed, another subset
    curate(spec, tmp_path / "b")
    assert (tmp_path / "a" / "manifest.csv").read_text() == (
        tmp_path / "b" / "manifest.csv"
    ).read_text()
    curate({**spec, "seed": 2}, tmp_path / "c")
    assert (tmp_path / "a" / "manifest.csv").read_text() != (
        tmp_path / "c" / "manifest.csv"
    ).read_text()


def test_missing_dataset_names_path_and_fix(tmp_path):
    with pytest.raises(
        DataError, match=r"nowhere/train-images.*apt-get install dataset-fashion-mnist"
    ):
        fashion_mnist.load(tmp_path / "nowhere", "train")


def test_corrupt_file_is_reported(fake_fmnist):
    (fake_fmnist / "t10k-labels-idx1-ubyte.gz").write_bytes(b"not gzip at all")
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz: not a readable idx file"):
        fashion_mnist.load(fake_fmnist, "test")
