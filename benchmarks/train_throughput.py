"""Training throughput against the machine's limit, in one run: a matmul peak on the same threads
(fp32 and bf16), the FLOPs of one training step (torch.utils.flop_counter), and images/s of
lskd's training loop and of the best plain loop (tensors already in memory and normalised, same
model, precision and memory format; no DataLoader), each also as a fraction of the peak; and what
``precision: auto`` chooses here (lskd.precision), with its figures.

Bounded on any CPU (a minute or two): the peak is the best of the matmuls that fit in a time box,
and a precision the CPU only emulates (bf16 without AVX512-BF16 or AMX: about 12x slower than
fp32) gets its peak but no loops.

Both loops run two epochs and report the second (the first pays for oneDNN's kernel set-up); our
loop's time is its training epoch only (``Run.epoch``: not its validation, checkpoint or start-up).
The ratio ours/plain says what our loop's extras (seeded augmentation, normalisation, Eq. 1
targets) cost. Targets: ours >= 0.95x plain; the training step >= 40 % of the bf16 matmul peak.

    python benchmarks/train_throughput.py [--arch cifar_resnet20] [--stem small] [--threads 2]
"""

import argparse
import contextlib
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

import lskd.train as train_module
from fmnist_subset import DEBIAN_ROOT, curate_subset
from lskd.data.batches import normalize
from lskd.data.manifest import load_split
from lskd.inference import to_device
from lskd.losses import LabelSmoothing
from lskd.models import build_model
from lskd.precision import CPU_BF16_FLAGS, cpu_flags, native, resolve


def autocast(bf16: bool):
    return torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()


def matmul_peak(bf16: bool, n: int = 1024, seconds: float = 3.0) -> float:
    """FLOP/s of an n x n matmul, the best of those that fit in ``seconds`` (at least 3)."""
    dtype = torch.bfloat16 if bf16 else torch.float32
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    a @ b  # warm-up
    best, times, stop = float("inf"), 0, time.perf_counter() + seconds
    while times < 3 or time.perf_counter() < stop:
        start = time.perf_counter()
        a @ b
        best, times = min(best, time.perf_counter() - start), times + 1
    return 2 * n**3 / best


def step_flops(model, x, y, bf16: bool) -> int:
    """FLOPs of one forward + backward on the batch ``x``."""
    with FlopCounterMode(display=False) as counter:
        with autocast(bf16):
            loss = F.cross_entropy(model(x), y)
        loss.backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops()


def plain_loop(images, labels, model, batch_size: int, bf16: bool, epochs: int = 2) -> float:
    """Images/s of the last of ``epochs``: shuffled slices of in-memory tensors, CE, SGD, the
    model in lskd's memory format (``lskd.inference.to_device``)."""
    to_device(model).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    for _ in range(epochs):
        order = torch.randperm(len(labels))
        start = time.perf_counter()
        for s in range(0, len(labels), batch_size):
            idx = order[s : s + batch_size]
            with autocast(bf16):
                loss = F.cross_entropy(model(images[idx]), labels[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        seconds = time.perf_counter() - start
    return len(labels) / seconds


def our_loop(data, out, arch, stem, batch_size: int, bf16: bool, epochs: int = 2) -> float:
    """Images/s of the last of lskd's ``epochs`` training epochs (``Run.epoch`` timed alone)."""
    seconds = []
    epoch = train_module.Run.epoch

    def timed(run, *args):
        start = time.perf_counter()
        result = epoch(run, *args)
        seconds.append(time.perf_counter() - start)
        return result

    recipe = train_module.Recipe(epochs=epochs, lr=0.05, batch_size=batch_size)
    train_module.Run.epoch = timed
    try:
        precision = "bf16" if bf16 else "fp32"
        train_module.train(
            data, out, arch, recipe, LabelSmoothing(0.1), stem=stem, precision=precision
        )
    finally:
        train_module.Run.epoch = epoch
    return len(load_split(data, "train")[1]) / seconds[-1]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arch", default="cifar_resnet20", help="the default study's teacher")
    p.add_argument("--stem", default="small")
    p.add_argument("--per-class", type=int, default=256, help="training images per class")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--root", default=DEBIAN_ROOT)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        curate_subset(args.root, args.per_class, data)
        raw, labels, info = load_split(data, "train")
        images = normalize(raw, info)
        print(f"{args.arch} ({args.stem} stem), {len(labels)} images of {tuple(raw.shape[1:])}, "
              f"batch {args.batch_size}, {args.threads} threads")  # fmt: skip
        cpu = torch.device("cpu")
        flags = ", ".join(f for f in CPU_BF16_FLAGS if f in cpu_flags()) or "none of them"
        print(f"native: fp32, {', '.join(native(cpu)) or 'nothing lower'} "
              f"(CPU flags {', '.join(CPU_BF16_FLAGS)}: {flags})")  # fmt: skip
        for bf16 in (False, True):
            torch.manual_seed(0)
            model = build_model(args.arch, info["num_classes"], info["channels"], args.stem)
            flops = step_flops(model.train(), images[: args.batch_size],
                               labels[: args.batch_size], bf16) / args.batch_size  # fmt: skip
            peak = matmul_peak(bf16)
            if bf16 and "bf16" not in native(cpu):
                print(f"bf16: matmul peak {peak / 1e9:.1f} GFLOP/s, emulated: loops not run")
                continue
            plain = plain_loop(images, labels, model, args.batch_size, bf16)
            ours = our_loop(data, Path(tmp) / f"run{bf16}", args.arch, args.stem,
                            args.batch_size, bf16)  # fmt: skip
            name = "bf16" if bf16 else "fp32"
            print(f"{name}: matmul peak {peak / 1e9:.0f} GFLOP/s; {flops / 1e9:.3f} GFLOP per "
                  f"training image")  # fmt: skip
            for label, rate in (("plain loop", plain), ("lskd loop ", ours)):
                print(f"  {label} {rate:7.0f} img/s = {rate * flops / peak:5.1%} of the peak")
            print(f"  lskd / plain {ours / plain:.3f}")
        choice = resolve("auto", to_device(model), images[:8].to(memory_format=torch.channels_last),
                         args.arch)  # fmt: skip
        print(f"precision auto: {choice.precision} ({choice.why})")


if __name__ == "__main__":
    main()
