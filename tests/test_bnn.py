"""ReActNet pieces against hand-computed values and the architecture description."""

import pandas as pd
import pytest
import torch

from lskd import checkpoint
from lskd.models import build_model
from lskd.models.reactnet import BinaryActivation, BinaryConv2d, ReActNetResNet18
from lskd.paper import bnn


def test_binary_weights_take_two_values_per_output_channel():
    conv = BinaryConv2d(8, 4)
    torch.nn.init.normal_(conv.weight)
    w = conv.effective_weight().detach()
    for c in range(4):
        scale = conv.weight[c].abs().mean().item()
        assert sorted(set(w[c].flatten().tolist())) == pytest.approx([-scale, scale])
        # the sign follows the real weight
        assert torch.equal(w[c] > 0, conv.weight[c] >= 0)


def test_real_weights_in_step1():
    conv = BinaryConv2d(3, 2, binary_weights=False)
    assert torch.equal(conv.effective_weight(), conv.weight)


def test_weight_gradient_is_straight_through_clip():
    conv = BinaryConv2d(1, 1)
    with torch.no_grad():
        conv.weight.copy_(
            torch.tensor([-2.0, -0.5, 0.0, 0.3, 0.9, 1.5, -1.2, 0.2, 3.0]).view(1, 1, 3, 3)
        )
    conv.effective_weight().sum().backward()
    # d clamp(w, -1, 1) / dw; no weight sits exactly on +-1, where torch versions differ
    expected = (conv.weight.detach().abs() < 1).float()
    assert torch.equal(conv.weight.grad, expected)


def test_activation_forward_is_plus_minus_one_and_gradient_is_the_polynomial():
    x = torch.tensor([-2.0, -1.0, -0.5, -0.25, 0.0, 0.25, 0.5, 0.999, 1.5], requires_grad=True)
    y = BinaryActivation()(x)
    assert torch.equal(y, torch.tensor([-1.0, -1, -1, -1, 1, 1, 1, 1, 1]))
    y.sum().backward()
    # by hand: 2 + 2x on [-1, 0), 2 - 2x on [0, 1), 0 elsewhere
    expected = torch.tensor([0.0, 0.0, 1.0, 1.5, 2.0, 1.5, 1.0, 0.002, 0.0])
    torch.testing.assert_close(x.grad, expected, atol=1e-5, rtol=0)


def expected_parameters(num_classes=10, in_channels=1):
    """Counted from the architecture description, independently of the module code."""
    total = in_channels * 64 * 7 * 7 + 2 * 64  # real stem conv + BN
    cin = 64
    for width in (64, 128, 256, 512):
        for _ in range(4):
            total += cin  # RSign shift
            total += cin * width * 9 + 2 * width  # binary 3x3 conv + BN
            total += 3 * width  # RPReLU: shift, PReLU slope, shift
            if cin != width:  # avg-pool -> real 1x1 conv -> BN
                total += cin * width + 2 * width
            cin = width
    return total + 512 * num_classes + num_classes  # real classifier


def test_parameter_count_and_binary_conv_count():
    model = ReActNetResNet18(num_classes=10, in_channels=1)
    assert sum(p.numel() for p in model.parameters()) == expected_parameters()
    binary = [m for m in model.modules() if isinstance(m, BinaryConv2d)]
    assert len(binary) == 16 and all(m.kernel_size == (3, 3) for m in binary)
    with torch.no_grad():
        assert model.eval()(torch.randn(2, 1, 28, 28)).shape == (2, 10)


def test_step2_loads_step1_weights(tmp_path):
    step1 = build_model("reactnet_resnet18_step1", 10, 1)
    path = tmp_path / "step1.pt"
    checkpoint.save({"state_dict": step1.state_dict()}, path)
    step2 = build_model("reactnet_resnet18", 10, 1)
    step2.load_state_dict(checkpoint.load(path)["state_dict"])
    for (name, a), b in zip(step1.state_dict().items(), step2.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    assert not any(m.binary_weights for m in step1.modules() if isinstance(m, BinaryConv2d))
    assert all(m.binary_weights for m in step2.modules() if isinstance(m, BinaryConv2d))


@pytest.mark.parametrize("paper_sets, paper_top1", [(("ImageNet-1K",), "63.002"), ((), "")])
def test_bnn_table_shows_the_papers_value_only_beside_imagenet(paper_sets, paper_top1):
    """A ReActNet teacher's dataset that does not stand beside ImageNet-1K (a rehearsal's
    miniature, Fashion-MNIST) gets no paper value, and no crash."""
    rows = [
        dict(epoch=1, val_top1=50 + 10 * alpha, val_top5=90.0, train_loss=1.0, val_kd_loss=1.0,
             step=step, dataset="mini", teacher=name, teacher_arch="resnet50",
             teacher_recipe="standard", teacher_alpha=alpha, teacher_top1=70.0, seed=0)
        for alpha, name in ((0.0, "r50"), (0.1, "r50_ls")) for step in (1, 2)
    ]  # fmt: skip
    numbers, shown = bnn.table_rows(pd.DataFrame(rows), {"mini": paper_sets})
    assert shown["Paper top-1 (ImageNet, R50 teacher)"].tolist()[0] == paper_top1
    assert numbers.best_top1.tolist() == [50.0, 51.0]
