"""Tables and figures of the paper, built from the workflow's result files."""

ARCH_NAMES = {
    "resnet18": "ResNet-18",
    "resnet34": "ResNet-34",
    "resnet50": "ResNet-50",
    "resnet101": "ResNet-101",
    "mobilenet_v2": "MobileNet v2",
    "densenet121": "DenseNet121",
    "resnext50_32x4d": "ResNeXt50 32x4d",
    "wide_resnet50_2": "Wide ResNet50",
    "resnext101_32x8d": "ResNeXt101 32x8d",
}
RECIPE_SUFFIX = {"standard": "", "long": "+Long", "cutmix": "+Long+CutMix"}


def network_name(arch: str, recipe: str) -> str:
    """Display name of a teacher, e.g. 'ResNet-50+Long'."""
    return ARCH_NAMES.get(arch, arch) + RECIPE_SUFFIX.get(recipe, f"+{recipe}")


def paper_row_name(arch: str, recipe: str) -> str:
    """The row label the paper's Tables 1 and 10 use for this teacher."""
    if recipe == "standard":
        return ARCH_NAMES.get(arch, arch)
    return network_name(arch, recipe).replace("ResNet-50", "ResNet50")
