"""Images/s of lskd's training loop against a minimal torchvision-reference-style loop.

Both train the same model on the same curated Fashion-MNIST subset with the same batch size and
threads, fp32 and bf16, in one run; the ratio ours/reference says what our loop's extras
(seeded augmentation, Eq. 1 targets, per-epoch validation and checkpoint) cost.

    python benchmarks/train_throughput.py [--arch resnet18] [--images 2560] [--threads 2]
"""

import argparse
import contextlib
import json
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from fmnist_subset import DEBIAN_ROOT, curate_subset
from lskd.data.manifest import load_split
from lskd.losses import LabelSmoothing
from lskd.models import build_model
from lskd.train import Recipe, train


def reference_loop(data, arch, batch_size, bf16) -> float:
    """torchvision references/classification style: DataLoader, CE, SGD; one epoch, no eval."""
    images, labels, info = load_split(data, "train")
    x = (images.float() / 255.0 - info["mean"][0]) / info["std"][0]
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x, labels), batch_size=batch_size, shuffle=True
    )
    torch.manual_seed(0)
    model = build_model(arch, info["num_classes"], info["channels"]).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    amp = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
    start = time.perf_counter()
    for xb, yb in loader:
        with amp:
            loss = F.cross_entropy(model(xb), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return len(labels) / (time.perf_counter() - start)


def ours(data, arch, batch_size, bf16, out) -> float:
    recipe = Recipe(epochs=1, lr=0.05, batch_size=batch_size)
    start = time.perf_counter()
    train(data, out, arch, recipe, LabelSmoothing(0.1), bf16=bf16)
    n = len(load_split(data, "train")[1])
    return n / (time.perf_counter() - start)  # includes validation and checkpointing


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arch", default="resnet18")
    p.add_argument("--per-class", type=int, default=256, help="training images per class")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--root", default=DEBIAN_ROOT)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        curate_subset(args.root, args.per_class, data)
        rows = []
        for bf16 in (False, True):
            ref = reference_loop(data, args.arch, args.batch_size, bf16)
            mine = ours(data, args.arch, args.batch_size, bf16, Path(tmp) / f"run{bf16}")
            rows.append(
                {
                    "precision": "bf16" if bf16 else "fp32",
                    "reference_img_s": round(ref),
                    "lskd_img_s": round(mine),
                    "ratio": round(mine / ref, 3),
                }
            )
    print(
        json.dumps(
            {
                "arch": args.arch,
                "threads": args.threads,
                "batch_size": args.batch_size,
                "train_images": args.per_class * 10,
            }
        )
    )
    for row in rows:
        print(
            f"{row['precision']}: reference {row['reference_img_s']} img/s, lskd "
            f"{row['lskd_img_s']} img/s, ratio lskd/reference {row['ratio']}"
        )


if __name__ == "__main__":
    main()
