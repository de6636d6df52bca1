"""Reader for the original Fashion-MNIST idx files (Debian package ``dataset-fashion-mnist``)."""

import gzip
import struct
from pathlib import Path

import numpy as np

from lskd.data.errors import DataError

CLASS_NAMES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]
FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
HOW_TO_GET = (
    "install it with 'apt-get install dataset-fashion-mnist' (Debian/Ubuntu) or download the four "
    "original idx .gz files from github.com/zalandoresearch/fashion-mnist into that folder, "
    "and set datasets.<name>.root in the config"
)


def _read_idx(path: Path, expected_dims: int) -> np.ndarray:
    try:
        with gzip.open(path, "rb") as f:
            data = f.read()
        zero, dtype, dims = struct.unpack(">HBB", data[:4])
        if zero != 0 or dtype != 0x08 or dims != expected_dims:
            raise ValueError("bad idx header")
        shape = struct.unpack(f">{dims}I", data[4 : 4 + 4 * dims])
        array = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims)
        return array.reshape(shape)
    except (OSError, EOFError, ValueError, struct.error) as err:
        raise DataError(f"{path}: not a readable idx file ({err}); {HOW_TO_GET}") from err


def check_root(root: str | Path) -> Path:
    """Fail with one line naming the missing file and how to obtain the dataset."""
    root = Path(root)
    for images, labels in FILES.values():
        for name in (images, labels):
            if not (root / name).is_file():
                raise DataError(f"Fashion-MNIST file {root / name} not found; {HOW_TO_GET}")
    return root


def load(root: str | Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Images (N x 28 x 28 uint8) and labels (N,) of the original 'train' or 'test' split."""
    root = check_root(root)
    images_file, labels_file = FILES[split]
    images = _read_idx(root / images_file, 3)
    labels = _read_idx(root / labels_file, 1)
    if len(images) != len(labels) or set(np.unique(labels)) != set(range(len(CLASS_NAMES))):
        raise DataError(
            f"{root / labels_file}: needs one label per image and images of every class "
            f"0..{len(CLASS_NAMES) - 1}; {HOW_TO_GET}"
        )
    return images, labels
