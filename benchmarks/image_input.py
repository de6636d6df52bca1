"""Images/s of our training input for image files against torchvision's ImageFolder + DataLoader +
transforms.v2, on a synthetic ImageNet-like tree of JPEGs.

Both decode each file, take a random-resized crop to 224, flip and normalise, with the same batch
size and N loader workers (persistent, same prefetch), in one run, for each N given. Ours is the
streaming loader the training loop uses (``lskd.data.image_files.ImageFiles`` through
``train_batches``: every view seeded by its position, so resumable); the reference is the standard
unseeded pipeline of torchvision's classification references (PIL decode, v2 on PIL images). Each
is timed over its second epoch (workers started, files in the page cache). From the one-worker
rate it prints how many loader workers feed a target rate (--target, images/s).

    python benchmarks/image_input.py [--images 2000] [--workers 1 2] [--target 3000]
"""

import argparse
import gc
import math
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from lskd.data.batches import epoch_generator, train_batches
from lskd.data.image_files import ImageFiles

# ImageNet's most common sizes (its median image is 500 x 375 or 375 x 500, ~110 kB at q 90)
SHAPES = [(500, 375), (375, 500), (500, 333), (500, 400), (333, 500)]
MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
CLASSES = 10


def write_tree(root: Path, n: int, seed: int = 0) -> list[str]:
    """``n`` JPEGs (quality 90) in ImageFolder layout: smooth colour fields with fine noise, so
    that files and decode times are photo-like rather than those of flat colour or pure noise."""
    rng = np.random.default_rng(seed)
    names = []
    for i in range(n):
        w, h = SHAPES[i % len(SHAPES)]
        coarse = Image.fromarray(rng.integers(0, 256, (h // 25, w // 25, 3), dtype=np.uint8))
        field = np.asarray(coarse.resize((w, h), Image.BICUBIC), dtype=np.int16)
        pixels = np.clip(field + rng.normal(0, 20, field.shape), 0, 255).astype(np.uint8)
        name = f"c{i % CLASSES}/img{i:05d}.JPEG"
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(root / name, quality=90)
        names.append(name)
    return names


def _rate(batches, n: int) -> float:
    """images/s of the second pass (the first starts the workers)."""
    for _ in batches():
        pass
    start = time.perf_counter()
    seen = sum(len(x) for x in batches())
    assert seen >= n - 1, seen  # whole epoch (ours drops a last batch of one)
    return seen / (time.perf_counter() - start)


def ours(root: Path, names: list[str], workers: int, batch: int) -> float:
    files = ImageFiles(str(root), names, 224, workers)
    labels = torch.tensor([int(n.split("/")[0][1:]) for n in names])
    info = {"mean": MEAN, "std": STD}
    epoch = iter(range(2))

    def batches():
        gen = epoch_generator(0, next(epoch))
        return (x for x, _, _ in train_batches(files, labels, batch, gen, info))

    return _rate(batches, len(names))


def reference(root: Path, workers: int, batch: int) -> float:
    from torchvision.datasets import ImageFolder
    from torchvision.transforms import v2

    transform = v2.Compose(
        [
            v2.RandomResizedCrop(224, antialias=True),
            v2.RandomHorizontalFlip(),
            v2.PILToTensor(),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(MEAN, STD),
        ]
    )
    data = ImageFolder(str(root), transform=transform)
    loader = torch.utils.data.DataLoader(
        data,
        batch_size=batch,
        shuffle=True,
        num_workers=workers,
        persistent_workers=True,
        prefetch_factor=4,
    )
    return _rate(lambda: (x for x, _ in loader), len(data))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=2000)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--target", type=float, default=3000.0, help="images/s to feed (one GPU)")
    p.add_argument("--dir", help="where to write the JPEG tree (default: a temporary folder)")
    args = p.parse_args()
    torch.set_num_threads(1)  # the main process only batches; the workers decode
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.dir or tmp)
        start = time.perf_counter()
        names = write_tree(root, args.images)
        mb = sum((root / n).stat().st_size for n in names) / 1e6
        print(
            f"{len(names)} JPEGs, {mb / len(names) * 1000:.0f} kB each on average, written in "
            f"{time.perf_counter() - start:.0f} s"
        )
        print("workers  ours img/s  reference img/s  ours/reference")
        rates = {}
        for w in args.workers:
            a = ours(root, names, w, args.batch_size)
            gc.collect()  # stops its workers before the next loader forks its own
            b = reference(root, w, args.batch_size)
            gc.collect()
            rates[w] = a
            print(f"{w:7d}  {a:10.0f}  {b:15.0f}  {a / b:14.2f}")
    per_worker = rates[min(rates)] / min(rates)
    print(
        f"one worker: {per_worker:.0f} img/s; {args.target:.0f} img/s needs "
        f"{math.ceil(args.target / per_worker)} loader workers (CPU cores) like these"
    )


if __name__ == "__main__":
    main()
