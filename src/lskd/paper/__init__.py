"""Tables and figures of the paper, built from the workflow's result files."""

from lskd.cifar_archs import CIFAR_RESNETS

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
    # the CIFAR ResNets of the default study (lskd.models.cifar_resnet)
    **{a: f"ResNet-{a.removeprefix('cifar_resnet')} (CIFAR)" for a in CIFAR_RESNETS},
}
# Curves and points of a teacher without (False) and with (True) label smoothing, or of its student
LS_COLORS = {False: "tab:blue", True: "tab:red"}
RECIPE_SUFFIX = {"standard": "", "long": "+Long", "cutmix": "+Long+CutMix"}


def _suffix(recipe: str) -> str:
    """A recipe's suffix in a network's name; a ``torchvision_*`` recipe (the one torchvision's
    released model of that architecture was trained with) is that row's standard recipe."""
    if recipe.startswith("torchvision_"):
        return ""
    return RECIPE_SUFFIX.get(recipe, f"+{recipe}")


def arch_name(arch: str) -> str:
    """Display name of an architecture, e.g. 'ResNet-50' (unknown ones as they are)."""
    return ARCH_NAMES.get(arch, arch)


def network_name(arch: str, recipe: str) -> str:
    """Display name of a teacher, e.g. 'ResNet-50+Long'."""
    return arch_name(arch) + _suffix(recipe)


def paper_row_name(arch: str, recipe: str) -> str:
    """The row label the paper's Tables 1 and 10 use for this teacher."""
    if not _suffix(recipe):
        return arch_name(arch)
    return network_name(arch, recipe).replace("ResNet-50", "ResNet50")


# The paper's datasets a table may show beside one of ours (the first one the table has). A real
# dataset is itself; the embedded Fashion-MNIST stands in for ImageNet-1K (all 10 classes) and,
# cut to a Pareto long tail as ImageNet-LT is, for the long-tailed sets (Table 6 has only
# iNaturalist); a class subset (Table 4's points) matches no row of the paper.
OWN_NAME = {
    "cub200": "CUB200-2011",
    "imaterialist2019": "iMaterialist-2019_P",
    "inaturalist2019": "iNaturalist 2019",
    "imagenet_lt": "ImageNet-LT",
    "places_lt": "Places-LT",
}
IMAGENET_SUBSETS = {1000: "ImageNet-1K", 100: "ImageNet-100", 500: "ImageNet-500"}
LONG_TAILED = ("ImageNet-LT", "iNaturalist 2019")


def long_tail_power(info: dict) -> float | None:
    """The Pareto power a dataset.json's dataset was cut with (None: not cut); dataset.json
    files curated before the key was renamed call it long_tail_alpha."""
    return info.get("long_tail_power", info.get("long_tail_alpha"))


def long_tailed(info: dict) -> bool:
    """A dataset.json's dataset is long-tailed: released so, or cut to a Pareto tail by us."""
    return info["kind"] in LONG_TAILED_KINDS or long_tail_power(info) is not None


LONG_TAILED_KINDS = {"imagenet_lt", "places_lt", "inaturalist2019"}


def paper_datasets(info: dict) -> tuple[str, ...]:
    """From a dataset.json: the paper's datasets whose numbers may stand beside its results."""
    kind, k = info["kind"], info["num_classes"]
    if kind in OWN_NAME:
        return (OWN_NAME[kind],)
    if long_tailed(info):
        return LONG_TAILED
    if kind == "image_folder":
        return (IMAGENET_SUBSETS[k],) if k in IMAGENET_SUBSETS else ()
    return ("ImageNet-1K",) if kind == "fashion_mnist" and k == 10 else ()
