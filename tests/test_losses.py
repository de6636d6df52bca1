import pytest
import torch
import torch.nn.functional as F

from lskd.losses import smoothed_targets, soft_cross_entropy, torch_label_smoothing


@pytest.mark.parametrize("alpha", [0.0, 0.1, 0.3])
@pytest.mark.parametrize("k", [2, 10, 100])
def test_eq1_matches_torch_label_smoothing_with_rescaled_epsilon(alpha, k):
    gen = torch.Generator().manual_seed(k)
    logits = torch.randn(32, k, generator=gen)
    labels = torch.randint(0, k, (32,), generator=gen)
    ours = soft_cross_entropy(logits, smoothed_targets(labels, k, alpha))
    eps = torch_label_smoothing(alpha, k)
    assert eps == pytest.approx(alpha * k / (k - 1))
    theirs = F.cross_entropy(logits, labels, label_smoothing=eps)
    torch.testing.assert_close(ours, theirs)


def test_eq1_values():
    t = smoothed_targets(torch.tensor([2, 0]), 5, 0.2)
    assert t[0, 2] == pytest.approx(0.8) and t[1, 0] == pytest.approx(0.8)
    assert t[0, 0] == pytest.approx(0.05) and t[1, 4] == pytest.approx(0.05)
    torch.testing.assert_close(t.sum(1), torch.ones(2))


def test_eq1_is_not_torch_epsilon_unscaled():
    """Passing alpha straight to torch gives a different (e/K everywhere) target."""
    logits = torch.randn(8, 10, generator=torch.Generator().manual_seed(0))
    labels = torch.arange(8)
    ours = soft_cross_entropy(logits, smoothed_targets(labels, 10, 0.1))
    naive = F.cross_entropy(logits, labels, label_smoothing=0.1)
    assert not torch.isclose(ours, naive)


@pytest.mark.parametrize("alpha", [-0.1, 1.0, 1.5])
def test_alpha_out_of_range(alpha):
    with pytest.raises(ValueError, match="alpha"):
        smoothed_targets(torch.tensor([0]), 3, alpha)
