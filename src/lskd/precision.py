"""The numeric precision a job trains and evaluates in: ``auto`` (the default) is chosen by
measurement, ``bf16``, ``fp16`` and ``fp32`` are obeyed as given.

Why measure: bf16 autocast is several times faster than fp32 on CPUs with AMX, about 2x with
AVX512-BF16, and about 12x *slower* on CPUs that only emulate it (AVX2); on GPUs, bf16 needs
Ampere or later, and fp16 with gradient scaling is the fast path of those before. So ``auto``
takes the candidates the device runs natively (fp32, plus bf16 on CPUs with AVX512-BF16 or AMX
and on GPUs with bf16, fp16 on GPUs without it), times a few training steps of the job's own
model in each, and keeps the fastest. The figures are cached per machine and kind of model (the
``probe_cache`` file, ``results/hardware.json`` in the workflow), so a study probes once, and a
job on another machine probes its own. The choice and its figures go into every record's
provenance; a resume checkpoint carries the resolved precision in its identity.
"""

import contextlib
import copy
import fcntl
import functools
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

PRECISIONS = ("auto", "bf16", "fp16", "fp32")
DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
# A reduced precision must beat fp32 by this factor to be chosen: below it the difference is
# within the probe's noise, and fp32 is the exact one.
MIN_GAIN = 1.05
PROBE_SECONDS = 1.0  # timed steps per candidate (after one warm-up step), at least MIN_STEPS
MIN_STEPS = 2
CPU_BF16_FLAGS = ("amx_bf16", "avx512_bf16")  # x86; aarch64 lists "bf16" among its features


@dataclass(frozen=True)
class Choice:
    """A resolved precision, what was asked for, and why (the measured images/s, if any)."""

    precision: str
    requested: str
    why: str
    measured: dict[str, float] = field(default_factory=dict)

    def record(self) -> dict:
        """The provenance fields: ``precision`` and ``precision_choice``."""
        return {
            "precision": self.precision,
            "precision_choice": {
                "requested": self.requested,
                "why": self.why,
                "images_per_second": self.measured,
            },
        }


def check(requested: str) -> str:
    if requested not in PRECISIONS:
        raise ValueError(f"precision {requested!r}: use one of {', '.join(PRECISIONS)}")
    return requested


def autocast(precision: str, device: torch.device):
    """The autocast context of a resolved precision (none for fp32)."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=DTYPES[precision])


def grad_scaler(precision: str, device: torch.device) -> torch.amp.GradScaler:
    """fp16 needs its loss scaled (its range is narrow); bf16 and fp32 do not: disabled."""
    return torch.amp.GradScaler(device.type, enabled=precision == "fp16")


@functools.cache
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags (Linux /proc/cpuinfo), empty where unknown."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()


def native(device: torch.device) -> tuple[str, ...]:
    """The reduced precisions ``device`` runs in hardware."""
    if device.type == "cuda":
        bf16 = torch.cuda.is_bf16_supported(including_emulation=False)
        return ("bf16",) if bf16 else ("fp16",)
    flags = cpu_flags()
    if flags:
        return ("bf16",) if any(f in flags for f in (*CPU_BF16_FLAGS, "bf16")) else ()
    return ("bf16",) if torch.ops.mkldnn._is_mkldnn_bf16_supported() else ()


def emulated(precision: str, device: torch.device) -> bool:
    """Whether ``device`` only emulates ``precision`` (a GPU runs fp16 natively since Volta,
    bf16 since Ampere; a CPU as ``native`` says)."""
    if precision == "fp32":
        return False
    if device.type == "cuda":
        return precision == "bf16" and "bf16" not in native(device)
    return precision not in native(device)


def choose(measured: dict[str, float]) -> str:
    """The fastest of the measured images/s, fp32 unless another beats it by ``MIN_GAIN``."""
    best = max(measured, key=measured.get)
    if "fp32" in measured and measured[best] < MIN_GAIN * measured["fp32"]:
        return "fp32"
    return best


def probe(model: torch.nn.Module, x: torch.Tensor, candidates, seconds=PROBE_SECONDS) -> dict:
    """Images/s of training steps (forward, cross-entropy, backward, SGD) of a copy of ``model``
    on the batch ``x`` in each candidate precision; the model and the random state are
    untouched."""
    device = x.device
    rates = {}
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        for precision in candidates:
            trial = copy.deepcopy(model).train()
            opt = torch.optim.SGD(trial.parameters(), lr=1e-3)
            scaler = grad_scaler(precision, device)
            y = torch.zeros(len(x), dtype=torch.long, device=device)
            steps, start = -1, 0.0  # step -1 warms up (oneDNN and cuDNN pick kernels)
            while steps < MIN_STEPS or time.perf_counter() - start < seconds:
                if steps == 0:
                    _sync(device)
                    start = time.perf_counter()
                with autocast(precision, device):
                    loss = F.cross_entropy(trial(x).float(), y)
                opt.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
                steps += 1
            _sync(device)
            rates[precision] = round(steps * len(x) / (time.perf_counter() - start), 1)
    return rates


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    from lskd.provenance import cpu_model

    return cpu_model()


def probe_key(kind: str, x: torch.Tensor) -> str:
    """What the measured figures depend on: the device, torch, the kind of model (its
    architecture) and input shape, the threads (CPU) and the probe's batch."""
    shape = "x".join(map(str, x.shape[1:]))
    threads = f", {torch.get_num_threads()} threads" if x.device.type == "cpu" else ""
    return (
        f"{device_name(x.device)} | torch {torch.__version__} | {kind} {shape}, "
        f"batch {len(x)}{threads}"
    )


def probe_batch(x: torch.Tensor, batch: int | None = None) -> torch.Tensor:
    """A batch for the probe, ``x`` repeated: on a GPU the run's own ``batch`` (a small one
    leaves a large GPU waiting on Python and hides what the precision gains: on an H200 a
    ResNet-50 step of 128 images ran at 3,000 images/s in fp32 and in bf16 alike), on a CPU up
    to 32 images (fewer, down to 2, for large images, so that a ResNet-50 at 224 px measures in
    seconds)."""
    pixels = x.shape[-1] * x.shape[-2]
    size = (batch or 64) if x.device.type == "cuda" else max(2, min(32, 100_000 // pixels))
    return x.repeat((-(-size // len(x)),) + (1,) * (x.dim() - 1))[:size]


def resolve(requested: str, model, x: torch.Tensor, kind: str, cache=None, batch=None) -> Choice:
    """The precision to run ``model`` (architecture ``kind``) in on ``x``'s device (``x``: a few
    real inputs; ``batch``: the run's batch per device); ``cache``: the JSON file of probes
    already made (None: probe now)."""
    check(requested)
    device = x.device
    if requested != "auto":
        why = "set in the config"
        if emulated(requested, device):
            why += f" (not native on this {device.type}: expect it to be slow)"
        return Choice(requested, requested, why)
    candidates = ("fp32", *native(device))
    if len(candidates) == 1:
        why = f"no native bf16 on {device_name(device)}"
        if device.type == "cpu" and cpu_flags():
            why += f" (none of the CPU flags {', '.join(CPU_BF16_FLAGS)})"
        return Choice("fp32", requested, why + ": fp32")
    x = probe_batch(x, batch)
    key = probe_key(kind, x)
    measured = _cached_probe(cache, key, lambda: probe(model, x, candidates))
    figures = ", ".join(f"{p} {r:g} img/s" for p, r in measured.items())
    why = f"the fastest of {figures} measured on {key}"
    return Choice(choose(measured), requested, why, measured)


_MEASURED: dict[str, dict[str, float]] = {}  # this process's probes, by key


def _cached_probe(cache: str | Path | None, key: str, measure) -> dict[str, float]:
    """``measure()``, or its figures for ``key`` in the JSON file ``cache`` (None: those this
    process measured). Jobs hold a lock on the file while they read, measure and write it, so
    that one probes and the others read (and none times the other's probe)."""
    if cache is None:
        if key not in _MEASURED:
            _MEASURED[key] = measure()
        return _MEASURED[key]
    cache = Path(cache)
    cache.parent.mkdir(parents=True, exist_ok=True)
    with open(cache, "a+", encoding="utf-8") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.seek(0)
        try:
            known = json.loads(f.read() or "{}")
        except ValueError:  # a file cut short by a kill: measure again, rewrite it whole
            known = {}
        if "images_per_second" not in (known.get(key) or {}):
            measured = measure()
            known[key] = {"images_per_second": measured, "chosen": choose(measured)}
            f.seek(0)
            f.truncate()
            f.write(json.dumps(known, indent=2, sort_keys=True) + "\n")
            f.flush()
            os.fsync(f.fileno())
        return known[key]["images_per_second"]
