"""Training images per second of each architecture on this machine's GPU (or CPU), for the bill
of ``lskd plan --throughput``: a time-boxed run of training steps (forward, cross-entropy,
backward, SGD) on random images of the config's size, in the precision ``precision: auto``
chooses here (lskd.precision), channels-last, one device. The data loaders are not part of it:
``lskd plan`` compares these figures with what the loader workers can feed.

    python benchmarks/gpu_throughput.py [--archs resnet50 resnet18 ...] [--image-size 224]
        [--batch 128] [--seconds 10] [--out results/throughput.json]
"""

import argparse
import json
from pathlib import Path

import torch

from lskd.inference import DEVICE, to_device
from lskd.models import ARCHS, BNN_ARCHS, build_model
from lskd.precision import device_name, probe, resolve


def measure(arch: str, size: int, batch: int, seconds: float) -> tuple[float, str]:
    """(images/s, precision) of ``arch`` training on ``batch`` images of ``size`` pixels."""
    torch.manual_seed(0)
    model = to_device(build_model(arch, 1000))
    x = torch.randn(batch, 3, size, size, device=DEVICE).contiguous(
        memory_format=torch.channels_last
    )
    choice = resolve("auto", model, x[:8], arch, batch=batch)
    print(f"{arch:>24}: auto {choice.precision} ({choice.why})", flush=True)
    return probe(model, x, (choice.precision,), seconds)[choice.precision], choice.precision


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--archs", nargs="+", default=[*ARCHS, *BNN_ARCHS])
    p.add_argument("--image-size", type=int, default=224)
    p.add_argument("--batch", type=int, default=128, help="per GPU")
    p.add_argument("--seconds", type=float, default=10.0, help="timed steps per architecture")
    p.add_argument("--out", default="results/throughput.json")
    args = p.parse_args()
    rates, precisions = {}, {}
    for arch in args.archs:
        rates[arch], precisions[arch] = measure(arch, args.image_size, args.batch, args.seconds)
        print(f"{arch:>24}: {rates[arch]:9.1f} images/s ({precisions[arch]})", flush=True)
    table = {
        "device": device_name(DEVICE),
        "image_size": args.image_size,
        "batch": args.batch,
        "precision": precisions,
        "images_per_second": rates,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(table, indent=2) + "\n")
    print(f"written {args.out}: lskd plan --configfile configs/paper.yaml --throughput {args.out}")


if __name__ == "__main__":
    main()
