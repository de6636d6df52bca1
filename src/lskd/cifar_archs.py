"""The CIFAR ResNets' names and shapes, without torch: the Snakefile's config checks (at parse
time) and the paper's display names need them, and importing lskd.models would import torch."""

# name: (blocks per stage, stem width, stage widths); depth 6n + 2 has n blocks per stage, and
# x4 widens every layer four times (lskd.models.cifar_resnet builds them)
CIFAR_RESNETS = {
    "cifar_resnet8": (1, 16, (16, 32, 64)),
    "cifar_resnet14": (2, 16, (16, 32, 64)),
    "cifar_resnet20": (3, 16, (16, 32, 64)),
    "cifar_resnet32": (5, 16, (16, 32, 64)),
    "cifar_resnet44": (7, 16, (16, 32, 64)),
    "cifar_resnet56": (9, 16, (16, 32, 64)),
    "cifar_resnet110": (18, 16, (16, 32, 64)),
    "cifar_resnet8x4": (1, 32, (64, 128, 256)),
    "cifar_resnet32x4": (5, 32, (64, 128, 256)),
}


def default_stem(arch: str) -> str:
    """The stem of an entry that names none: the CIFAR ResNets have only the small one (3x3,
    stride 1); torchvision's architectures get the ImageNet stem."""
    return "small" if arch in CIFAR_RESNETS else "imagenet"
