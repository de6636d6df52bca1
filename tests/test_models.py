import pytest
import torch

from lskd import checkpoint
from lskd.data.errors import DataError
from lskd.models import ARCHS, build_model


class Evil:
    pass


# DenseNet's ImageNet stem reduces 28x28 too far for its transition pools: it needs stem "small".
@pytest.mark.parametrize(
    "arch,stem",
    [(a, s) for a in ("resnet18", "resnet50", "mobilenet_v2") for s in ("imagenet", "small")]
    + [("densenet121", "small")],
)
def test_grey_small_inputs(arch, stem):
    model = build_model(arch, 10, in_channels=1, stem=stem).eval()
    with torch.no_grad():
        assert model(torch.randn(2, 1, 28, 28)).shape == (2, 10)


def test_every_listed_arch_builds_without_download():
    for arch in ARCHS:
        assert sum(p.numel() for p in build_model(arch, 10).parameters()) > 0


def test_config_schema_lists_exactly_the_architectures_we_build_and_name():
    """The schema's arch enum is YAML (no import): it must match the code's lists, and every
    architecture has a display name in the tables."""
    from pathlib import Path

    import yaml

    from lskd.models import CIFAR_RESNETS
    from lskd.paper import ARCH_NAMES

    schema = Path(__file__).parents[1] / "workflow/schemas/config.schema.yaml"
    enum = yaml.safe_load(schema.read_text())["$defs"]["arch"]["enum"]
    assert sorted(enum) == sorted([*ARCHS, *CIFAR_RESNETS])
    assert set(enum) <= set(ARCH_NAMES)


def test_unknown_arch():
    with pytest.raises(ValueError, match="unknown architecture 'resnet19'"):
        build_model("resnet19", 10)


def test_corrupt_checkpoint_is_one_clear_error(tmp_path):
    bad = tmp_path / "model.pt"
    bad.write_bytes(b"garbage")
    with pytest.raises(DataError, match="model.pt: not a readable lskd checkpoint"):
        checkpoint.load(bad)


def test_foreign_pickle_is_refused(tmp_path):
    """weights_only=True: a checkpoint holding arbitrary objects is not unpickled."""
    path = tmp_path / "foreign.pt"
    torch.save({"obj": Evil()}, path)
    with pytest.raises(DataError):
        checkpoint.load(path)


# Parameter counts (millions, 100 CIFAR-100 classes, RGB) published with CRD's CIFAR ResNets
# (Tian et al., 2020, Table 1), the models the default study trains on Fashion-MNIST.
# (Tian et al., 2020, Table 1), as printed there: "0.28", "1.7", ...
CRD_PARAMS = {"cifar_resnet20": "0.28", "cifar_resnet56": "0.86", "cifar_resnet110": "1.7",
              "cifar_resnet8x4": "1.2", "cifar_resnet32x4": "7.4"}  # fmt: skip


@pytest.mark.parametrize("arch", CRD_PARAMS)
def test_cifar_resnets_have_the_published_sizes(arch):
    model = build_model(arch, 100, in_channels=3, stem="small")
    printed = CRD_PARAMS[arch]
    digits = len(printed.split(".")[1])
    assert f"{sum(p.numel() for p in model.parameters()) / 1e6:.{digits}f}" == printed


def test_cifar_resnet_keeps_28x28_inputs_large():
    """Stages at 28, 14 and 7 pixels (the ImageNet stem would start the blocks at 7)."""
    model = build_model("cifar_resnet20", 10, in_channels=1, stem="small").eval()
    sizes = []
    for stage_first in (0, 3, 6):
        block = model.blocks[stage_first]
        block.register_forward_hook(lambda m, i, o: sizes.append(o.shape[-1]))
    with torch.no_grad():
        assert model(torch.randn(2, 1, 28, 28)).shape == (2, 10)
    assert sizes == [28, 14, 7]


def test_cifar_resnet_refuses_the_imagenet_stem():
    with pytest.raises(ValueError, match="cifar_resnet20 has the CIFAR stem .*use stem small"):
        build_model("cifar_resnet20", 10, stem="imagenet")
