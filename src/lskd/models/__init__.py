"""Model builders: torchvision architectures adapted to the input's channels and size, the CIFAR
ResNets of the KD literature (``lskd.models.cifar_resnet``, for 28x28 and 32x32 inputs) and
ReActNet."""

from pathlib import Path
from urllib.parse import urlparse

import torch
import torchvision
from torch import nn

from lskd.cifar_archs import CIFAR_RESNETS, default_stem
from lskd.data.errors import DataError
from lskd.models.cifar_resnet import CifarResNet

ARCHS = (
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "mobilenet_v2",
    "densenet121",
    "resnext50_32x4d",
    "wide_resnet50_2",
    "resnext101_32x8d",
)
BNN_ARCHS = {  # step 1 of ReActNet's training keeps real weights; same parameters as step 2
    "reactnet_resnet18_step1": {"binary_weights": False},
    "reactnet_resnet18": {"binary_weights": True},
}
STEMS = ("imagenet", "small")


def _set_submodule(model: nn.Module, name: str, module: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent_name) if parent_name else model, child, module)


def build_model(
    arch: str,
    num_classes: int,
    in_channels: int = 3,
    stem: str = "imagenet",
    weights: str | None = None,
):
    """A torchvision ``arch`` with ``num_classes`` outputs, randomly initialised, or with
    ``weights="torchvision"`` torchvision's released ImageNet-1K weights (``released_weights``).

    ``stem="small"`` is the usual CIFAR adaptation for 32x32 inputs: a 3x3 stride-1 first conv
    and no max-pool, so that the feature maps are not reduced 4x before the first block.
    """
    if weights is not None:
        if weights != "torchvision":
            raise ValueError(f"unknown weights {weights!r}; only 'torchvision'")
        if arch not in ARCHS or (num_classes, in_channels, stem) != (1000, 3, "imagenet"):
            raise ValueError(
                f"weights=torchvision: torchvision releases {', '.join(ARCHS)} for 1000 ImageNet "
                f"classes, RGB, imagenet stem (got {arch}, {num_classes} classes, "
                f"{in_channels} channels, stem {stem})"
            )
        model = build_model(arch, num_classes)
        model.load_state_dict(released_weights(arch))
        return model
    if stem not in STEMS:
        raise ValueError(f"unknown stem {stem!r}; choose one of {', '.join(STEMS)}")
    if arch in BNN_ARCHS:
        from lskd.models.reactnet import ReActNetResNet18

        return ReActNetResNet18(num_classes, in_channels, stem, **BNN_ARCHS[arch])
    if arch in CIFAR_RESNETS:
        if stem != "small":
            raise ValueError(f"{arch} has the CIFAR stem (3x3, stride 1): use stem small")
        return CifarResNet(arch, num_classes, in_channels)
    if arch not in ARCHS:
        known = ", ".join([*ARCHS, *CIFAR_RESNETS])
        raise ValueError(f"unknown architecture {arch!r}; choose one of {known}")
    kwargs = {}
    if arch.startswith(("resnet", "resnext", "wide_resnet")):
        # Goyal et al. (2017), whose ImageNet protocol the paper follows: the last BN of each
        # residual block starts at zero; ResNet-50 diverges on small inputs without it.
        kwargs["zero_init_residual"] = True
    model = getattr(torchvision.models, arch)(weights=None, num_classes=num_classes, **kwargs)
    modules = dict(model.named_modules())
    conv_name = next(n for n, m in modules.items() if isinstance(m, nn.Conv2d))
    conv = modules[conv_name]
    if stem == "small":
        kernel, stride, padding = 3, 1, 1
        pools = [n for n, m in modules.items() if isinstance(m, nn.MaxPool2d)]
        if pools:  # the stem's max-pool is the first one (ResNets, DenseNet)
            _set_submodule(model, pools[0], nn.Identity())
    else:
        kernel, stride, padding = conv.kernel_size, conv.stride, conv.padding
    if stem == "small" or in_channels != conv.in_channels:
        new = nn.Conv2d(in_channels, conv.out_channels, kernel, stride, padding, bias=False)
        nn.init.kaiming_normal_(new.weight, mode="fan_out", nonlinearity="relu")
        _set_submodule(model, conv_name, new)
    return model


RELEASED = "IMAGENET1K_V1"  # the checkpoints whose accuracies the paper's no-LS rows report


def released_weights(arch: str) -> dict:
    """torchvision's released ImageNet-1K state dict of ``arch`` (IMAGENET1K_V1), read through its
    weights API from torch.hub's cache ($TORCH_HOME/hub/checkpoints). Nothing is downloaded: a
    missing file is one line naming it, where torchvision expects it and how to get it."""
    entry = torchvision.models.get_model_weights(arch)[RELEASED]
    path = Path(torch.hub.get_dir()) / "checkpoints" / Path(urlparse(entry.url).path).name
    if not path.exists():
        raise DataError(
            f"{path}: torchvision's {arch} {RELEASED} weights are missing; download {entry.url} "
            f"there (torch.hub's cache, under $TORCH_HOME) on a machine with network"
        )
    return entry.get_state_dict(progress=False, weights_only=True)


def parameter_count(arch: str, num_classes: int = 1000) -> int:
    """Parameters of ``arch`` (RGB input, its own stem), to rank architectures by size."""
    model = build_model(arch, num_classes, 3, default_stem(arch))
    return sum(p.numel() for p in model.parameters())


def classifier(model: nn.Module) -> nn.Linear:
    """The last linear layer (its weight rows are the class templates of Mueller et al.)."""
    return [m for m in model.modules() if isinstance(m, nn.Linear)][-1]


__all__ = [
    "ARCHS",
    "BNN_ARCHS",
    "CIFAR_RESNETS",
    "RELEASED",
    "STEMS",
    "build_model",
    "classifier",
    "parameter_count",
    "released_weights",
]
