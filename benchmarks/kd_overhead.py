"""Seconds per student epoch: plain training, KD with an online teacher, KD with cached logits.

One run, same data, student, batch size and threads; ratios against plain training. The target
for cached KD is <= 1.1x plain training (the cache is built once per teacher, reported apart).

    python benchmarks/kd_overhead.py [--student resnet18] [--teacher resnet50] [--per-class 300]
"""

import argparse
import tempfile
import time
from pathlib import Path

import torch

from fmnist_subset import DEBIAN_ROOT, curate_subset
from lskd import teacher_cache
from lskd.data.manifest import load_split
from lskd.distill import Distillation
from lskd.inference import load_model
from lskd.losses import LabelSmoothing
from lskd.recipe import Recipe
from lskd.train import train


def epoch_seconds(data, out, arch, recipe, precision, objective=None) -> float:
    final = train(data, out, arch, recipe, objective or LabelSmoothing(), precision=precision)
    return final["train_seconds"] / recipe.epochs


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--student", default="resnet18")
    p.add_argument("--teacher", default="resnet50")
    p.add_argument("--per-class", type=int, default=300)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--precision", default="auto", help="auto, bf16, fp16 or fp32 (lskd.precision)")
    p.add_argument("--root", default=DEBIAN_ROOT)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    precision = args.precision
    recipe = Recipe(epochs=args.epochs, lr=0.05, batch_size=128)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = tmp / "data"
        curate_subset(args.root, args.per_class, data)
        train(
            data,
            tmp / "teacher",
            args.teacher,
            Recipe(epochs=1, lr=0.05, batch_size=128),
            LabelSmoothing(),
            precision=precision,
        )
        teacher_path = tmp / "teacher" / "model.pt"
        start = time.perf_counter()
        teacher_cache.build(teacher_path, data, tmp / "cache.pt", precision)
        cache_seconds = time.perf_counter() - start
        n = len(load_split(data, "train")[1])
        cached = teacher_cache.load(tmp / "cache.pt", teacher_path, n)

        plain = epoch_seconds(data, tmp / "plain", args.student, recipe, precision)
        online = epoch_seconds(
            data,
            tmp / "online",
            args.student,
            recipe,
            precision,
            Distillation(load_model(teacher_path)),
        )
        offline = epoch_seconds(
            data,
            tmp / "cached",
            args.student,
            recipe,
            precision,
            Distillation(load_model(teacher_path), cached_logits=cached),
        )
    print(
        f"student {args.student}, teacher {args.teacher}, {n} training images, "
        f"{args.threads} threads, precision {precision}"
    )
    print(f"plain training     {plain:7.2f} s/epoch  1.00x")
    print(f"KD, online teacher {online:7.2f} s/epoch  {online / plain:.2f}x")
    print(
        f"KD, cached teacher {offline:7.2f} s/epoch  {offline / plain:.2f}x "
        f"(+ {cache_seconds:.2f} s once per teacher to build the cache)"
    )


if __name__ == "__main__":
    main()
