"""The streaming stability metrics against literal transcriptions of the paper."""

import numpy as np
import pytest
import torch

from lskd.metrics.stability import (
    StabilityAccumulator,
    inter_class_variance,
    intra_class_std,
    intra_class_variance,
)


def random_probs(n_per_class=50, k=7, seed=0, uneven=False):
    gen = torch.Generator().manual_seed(seed)
    counts = [n_per_class + (3 * c if uneven else 0) for c in range(k)]
    labels = torch.cat([torch.full((n,), c) for c, n in enumerate(counts)])
    logits = torch.randn(len(labels), k, generator=gen) * 3
    logits[torch.arange(len(labels)), labels] += 2.0
    return torch.softmax(logits, 1), labels


def algorithm1_literal(probs, labels, n=50):
    """Appendix C, line by line: sorted, unshuffled batches of N = 50 images of one class."""
    order = torch.argsort(labels, stable=True)
    probs, labels = probs[order], labels[order]
    all_std = 0.0
    k = int(labels.max()) + 1
    for start in range(0, len(labels), n):
        softmax_p, target = probs[start : start + n], labels[start : start + n]
        predict = softmax_p[:, target[0]]
        single_std = predict.std(dim=0)
        all_std += single_std
    return float(all_std / k)  # the paper returns 1 - this; the tables print this


def eq2_literal(probs, labels):
    p, y = probs.double().numpy(), labels.numpy()
    total = 0.0
    classes = np.unique(y)
    for c in classes:
        pc = p[y == c]
        mean = pc.mean(axis=0)
        total += sum(float(np.sum((pi - mean) ** 2)) for pi in pc) / len(pc)
    return total / len(classes)


def eq5_literal(probs, labels):
    p, y = probs.double().numpy(), labels.numpy()
    overall = p.mean(axis=0)  # Eq. 7: mean over all N samples
    classes = np.unique(y)
    return sum(float(np.sum((p[y == c].mean(axis=0) - overall) ** 2)) for c in classes) / len(
        classes
    )


def test_intra_class_std_is_algorithm1():
    probs, labels = random_probs()
    assert intra_class_std(probs, labels) == pytest.approx(
        algorithm1_literal(probs, labels), rel=1e-6
    )


@pytest.mark.parametrize("uneven", [False, True])
def test_intra_class_variance_is_eq2(uneven):
    probs, labels = random_probs(uneven=uneven, seed=1)
    assert intra_class_variance(probs, labels) == pytest.approx(
        eq2_literal(probs, labels), rel=1e-9
    )


@pytest.mark.parametrize("uneven", [False, True])
def test_inter_class_variance_is_eq5(uneven):
    probs, labels = random_probs(uneven=uneven, seed=2)
    assert inter_class_variance(probs, labels) == pytest.approx(
        eq5_literal(probs, labels), rel=1e-9
    )


@pytest.mark.parametrize("batch", [1, 7, 64, 1000])
def test_independent_of_batch_order_and_size(batch):
    probs, labels = random_probs(seed=3)
    expected = algorithm1_literal(probs, labels)
    perm = torch.randperm(len(labels), generator=torch.Generator().manual_seed(batch))
    acc = StabilityAccumulator(probs.shape[1])
    for start in range(0, len(labels), batch):
        idx = perm[start : start + batch]
        acc.update(probs[idx], labels[idx])
    assert acc.intra_class_std() == pytest.approx(expected, rel=1e-6)
    assert acc.intra_class_variance() == pytest.approx(eq2_literal(probs, labels), rel=1e-9)
    assert acc.inter_class_variance() == pytest.approx(eq5_literal(probs, labels), rel=1e-9)


def test_smoothing_lowers_intra_class_std():
    """Flatter predictions (what LS produces) have less true-class spread."""
    probs, labels = random_probs(seed=4)
    flat = 0.5 * probs + 0.5 / probs.shape[1]
    assert intra_class_std(flat, labels) == pytest.approx(0.5 * intra_class_std(probs, labels))


def test_class_mean_probs_rows_sum_to_one():
    probs, labels = random_probs(seed=5)
    acc = StabilityAccumulator(probs.shape[1])
    acc.update(probs, labels)
    torch.testing.assert_close(acc.class_mean_probs().sum(1), torch.ones(7, dtype=torch.float64))
