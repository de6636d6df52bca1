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
