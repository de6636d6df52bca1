"""The benchmarks' data: a class-balanced Fashion-MNIST subset curated into a temporary folder."""

from lskd.data.manifest import curate

DEBIAN_ROOT = "/usr/share/datasets/fashion-mnist"  # apt-get install dataset-fashion-mnist


def curate_subset(root: str, train_per_class: int, dest) -> None:
    spec = {"kind": "fashion_mnist", "root": root, "train_per_class": train_per_class}
    curate(spec | {"val_per_class": 50}, dest)
