"""Model builders: torchvision architectures adapted to the input's channels and size, the CIFAR
ResNets of the KD literature (``lskd.models.cifar_resnet``, for 28x28 and 32x32 inputs) and
ReActNet."""

import torchvision
from torch import nn

from lskd.cifar_archs import CIFAR_RESNETS, default_stem
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


def build_model(arch: str, num_classes: int, in_channels: int = 3, stem: str = "imagenet"):
    """A torchvision ``arch`` with ``num_classes`` outputs, randomly initialised (torchvision's
    released weights: ``lskd.models.released.released_model``).

    ``stem="small"`` is the usual CIFAR adaptation for 32x32 inputs: a 3x3 stride-1 first conv
    and no max-pool, so that the feature maps are not reduced 4x before the first block.
    """
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
    "STEMS",
    "build_model",
    "classifier",
    "parameter_count",
]
