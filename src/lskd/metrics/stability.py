"""The paper's stability metrics, all reported as the "1 - S" value the tables print.

- ``intra_class_std``: Algorithm 1 (Appendix C), the mean over classes of the standard deviation
  (unbiased, as ``Tensor.std``) of the true-class probability. **Table 1 prints this.**
- ``intra_class_variance``: Eq. 2, the mean over classes of the mean squared distance of the whole
  probability vector to its class mean.
- ``inter_class_variance``: Eq. 5 (Appendix G), the mean over classes of the squared distance of
  the class-mean probability vector to the dataset-mean vector. **Table 10 prints this.**

Algorithm 1 needs batches sorted by class (one class of 50 images per batch);
``StabilityAccumulator`` keeps per-class running sums in float64 instead, so any batch order and
size gives the same numbers. A class without samples is left out of every mean (``absent`` names
it) and its row of ``class_mean_probs`` is NaN: it has no mean, and 0 would read as one.
"""

import torch


class StabilityAccumulator:
    """Streaming per-class sums of softmax probabilities; feed batches with ``update``."""

    def __init__(self, num_classes: int):
        k = num_classes
        self.num_classes = k
        self.count = torch.zeros(k, dtype=torch.float64)
        self.true_sum = torch.zeros(k, dtype=torch.float64)
        self.true_sumsq = torch.zeros(k, dtype=torch.float64)
        self.prob_sum = torch.zeros(k, k, dtype=torch.float64)  # row c: sum of p over class c
        self.sqnorm_sum = torch.zeros(k, dtype=torch.float64)  # sum of ||p||^2 over class c

    def update(self, probs: torch.Tensor, labels: torch.Tensor) -> None:
        p = probs.detach().to(torch.float64).cpu()
        y = labels.detach().long().cpu()
        true_p = p.gather(1, y.view(-1, 1)).squeeze(1)
        self.count.index_add_(0, y, torch.ones_like(true_p))
        self.true_sum.index_add_(0, y, true_p)
        self.true_sumsq.index_add_(0, y, true_p**2)
        self.prob_sum.index_add_(0, y, p)
        self.sqnorm_sum.index_add_(0, y, (p**2).sum(dim=1))

    def _present(self) -> torch.Tensor:
        return self.count > 0

    def absent(self) -> list[int]:
        """The classes without a sample: no metric averages over them."""
        return torch.nonzero(~self._present()).flatten().tolist()

    def class_mean_probs(self) -> torch.Tensor:
        """K x K matrix: row c is the mean probability vector over the samples of class c (NaN
        for a class without samples)."""
        return self.prob_sum / self.count.view(-1, 1)

    def intra_class_std(self) -> float:
        n = self.count
        if bool((n[self._present()] < 2).any()):
            raise ValueError("Algorithm 1 needs at least two samples in every evaluated class")
        mean = self.true_sum / n.clamp(min=1)
        var = (self.true_sumsq - n * mean**2) / (n - 1).clamp(min=1)
        return float(var.clamp(min=0).sqrt()[self._present()].mean())

    def intra_class_variance(self) -> float:
        n = self.count.clamp(min=1)
        mean = self.prob_sum / n.view(-1, 1)
        per_class = self.sqnorm_sum / n - (mean**2).sum(dim=1)
        return float(per_class.clamp(min=0)[self._present()].mean())

    def inter_class_variance(self) -> float:
        present = self._present()
        overall = self.prob_sum.sum(dim=0) / self.count.sum()
        dist = ((self.class_mean_probs()[present] - overall) ** 2).sum(dim=1)
        return float(dist.mean())


def _accumulate(probs: torch.Tensor, labels: torch.Tensor) -> StabilityAccumulator:
    acc = StabilityAccumulator(probs.shape[1])
    acc.update(probs, labels)
    return acc


def intra_class_std(probs: torch.Tensor, labels: torch.Tensor) -> float:
    """1 - S_stability of Algorithm 1 (Table 1)."""
    return _accumulate(probs, labels).intra_class_std()


def intra_class_variance(probs: torch.Tensor, labels: torch.Tensor) -> float:
    """1 - S_stability of Eq. 2."""
    return _accumulate(probs, labels).intra_class_variance()


def inter_class_variance(probs: torch.Tensor, labels: torch.Tensor) -> float:
    """1 - S^inter_stability of Eq. 5 (Table 10)."""
    return _accumulate(probs, labels).inter_class_variance()
