"""Top-k accuracy counts."""

import torch


def topk_correct(logits: torch.Tensor, labels: torch.Tensor, ks=(1, 5)) -> dict[int, int]:
    """Number of samples whose label is among the k highest logits, for each k (k capped at K)."""
    num_classes = logits.shape[1]
    top = logits.topk(min(max(ks), num_classes), dim=1).indices
    hits = top == labels.view(-1, 1)
    return {k: int(hits[:, : min(k, num_classes)].any(dim=1).sum()) for k in ks}
