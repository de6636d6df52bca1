"""Running a trained model: the device, its precision (``lskd.precision``), loading our model
files, and logits on unaugmented images. Training, evaluation, Figure 1's features and the
teachers' logits (``lskd.teacher_logits``) share it."""

from pathlib import Path

import torch

from lskd import checkpoint, precision
from lskd.data.batches import eval_batches
from lskd.data.errors import DataError
from lskd.models import build_model

DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")
MODEL_KEYS = ("state_dict", "arch", "num_classes", "in_channels", "stem")


def autocast(resolved: str):
    """Autocast to a resolved precision (bf16, fp16; fp32: none) on DEVICE."""
    return precision.autocast(resolved, DEVICE)


def model_kind(arch: str, stem: str) -> str:
    """What a precision probe measures (``lskd.precision``): the architecture and its stem."""
    return f"{arch} ({stem} stem)"


def choose_precision(requested, model, images, labels, info, cache=None, kind=None, batch=None):
    """``lskd.precision.resolve`` for ``model`` on the first images of ``images`` (unaugmented,
    as evaluation sees them; ``kind``: ``model_kind``, else the one ``load_model`` noted);
    prints the choice in the job's log."""
    x, _ = next(eval_batches(images[:8], labels[:8], 8, info))
    kind = kind or model.lskd_kind
    choice = precision.resolve(requested, to_device(model), x.to(DEVICE), kind, cache, batch)
    print(f"precision {choice.requested}: {choice.precision} ({choice.why})", flush=True)
    return choice


def to_device(model: torch.nn.Module) -> torch.nn.Module:
    """The model on DEVICE in channels-last layout: oneDNN's convolutions on the CPU (1.14x for
    CIFAR ResNet-56 up to 1.48x for ResNet-8, bf16, benchmarks/train_throughput.py) and cuDNN's
    with tensor cores run faster in it."""
    return model.to(DEVICE, memory_format=torch.channels_last)


def load_model(path: str | Path, info: dict | None = None) -> torch.nn.Module:
    """Rebuild a model saved by training (our own file, loaded with weights_only=True); with the
    dataset's ``info``, check first that it fits that data (classes, channels)."""
    state = checkpoint.load(path)
    missing = [k for k in MODEL_KEYS if k not in state]
    if missing:
        raise DataError(
            f"{path}: not an lskd model file (no {', '.join(missing)}); "
            "rerun the rule that trains it"
        )
    if info is not None:
        check_fits(path, state["num_classes"], state["in_channels"], info)
    try:
        arch, k, channels = state["arch"], state["num_classes"], state["in_channels"]
        model = build_model(arch, k, channels, state["stem"])
        model.load_state_dict(state["state_dict"])
    except (RuntimeError, ValueError) as err:
        first = str(err).strip().splitlines()[0]
        raise DataError(f"{path}: weights do not fit a {state['arch']} ({first})") from err
    model.lskd_kind = model_kind(arch, state["stem"])
    return model.eval()


def check_fits(path, num_classes: int, in_channels: int, info: dict) -> None:
    if (num_classes, in_channels) != (info["num_classes"], info["channels"]):
        raise DataError(
            f"{path}: a model of {num_classes} classes and {in_channels} channels, but the data "
            f"has {info['num_classes']} classes and {info['channels']} channels; "
            "use a model trained on this dataset"
        )


@torch.no_grad()
def predict(model, images, labels, info, resolved="fp32", batch_size=500) -> torch.Tensor:
    """Logits of ``model`` (in eval mode) on unaugmented images, in order, computed in the
    ``resolved`` precision."""
    to_device(model).eval()
    parts = []
    for x, _ in eval_batches(images, labels, batch_size, info):
        with autocast(resolved):
            parts.append(model(x.to(DEVICE)).float().cpu())
    return torch.cat(parts)
