"""Mini-batches from in-memory images, with seeded augmentation.

Every random choice of an epoch (order, crops, flips, CutMix boxes) comes from a generator seeded
by (seed, epoch), so a run resumed from a checkpoint sees exactly the batches it would have seen.
"""

import torch
import torch.nn.functional as F


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed * 100_003 + epoch)


def normalize(images: torch.Tensor, info: dict) -> torch.Tensor:
    mean = torch.tensor(info["mean"]).view(1, -1, 1, 1)
    std = torch.tensor(info["std"]).view(1, -1, 1, 1)
    return (images.float() / 255.0 - mean) / std


def augment(images: torch.Tensor, gen: torch.Generator, pad: int = 2) -> torch.Tensor:
    """Random crop after zero padding by ``pad`` pixels, and random horizontal flip."""
    n, c, h, w = images.shape
    padded = F.pad(images, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    flip = torch.rand(n, generator=gen) < 0.5
    rows = dy[:, None] + torch.arange(h)  # n x h: each sample's crop rows
    cols = dx[:, None] + torch.arange(w)
    cols = torch.where(flip[:, None], cols.flip(1), cols)  # a flip reverses the crop's columns
    index = torch.arange(n)[:, None, None, None], torch.arange(c)[None, :, None, None]
    return padded[index[0], index[1], rows[:, None, :, None], cols[:, None, None, :]]


def cutmix(images: torch.Tensor, targets: torch.Tensor, gen: torch.Generator):
    """CutMix (Yun et al., 2019): paste a box of a shuffled batch, mix targets by box area."""
    n, _, h, w = images.shape
    lam = float(torch.rand(1, generator=gen))  # Beta(1, 1), as in the CutMix paper, is uniform
    perm = torch.randperm(n, generator=gen)
    cut_h, cut_w = int(h * (1 - lam) ** 0.5), int(w * (1 - lam) ** 0.5)
    cy, cx = (
        int(torch.randint(0, h, (1,), generator=gen)),
        int(torch.randint(0, w, (1,), generator=gen)),
    )
    y0, y1 = max(cy - cut_h // 2, 0), min(cy + cut_h // 2, h)
    x0, x1 = max(cx - cut_w // 2, 0), min(cx + cut_w // 2, w)
    mixed = images.clone()
    mixed[:, :, y0:y1, x0:x1] = images[perm, :, y0:y1, x0:x1]
    kept = 1 - (y1 - y0) * (x1 - x0) / (h * w)
    return mixed, kept * targets + (1 - kept) * targets[perm]


def train_batches(
    images,
    labels,
    batch_size: int,
    gen: torch.Generator,
    info: dict,
    aug=True,
    order=None,
    first_batch: int = 0,
):
    """Yield (normalized images, labels, sample indices) over one shuffled epoch, augmented
    unless ``aug`` is False (last batch dropped only if it has a single sample, which BatchNorm
    cannot train on). A run resumed inside an epoch passes that epoch's ``order`` and the batch
    to start from, with ``gen`` in the state it had there."""
    if order is None:
        order = torch.randperm(len(labels), generator=gen)
    for start in range(first_batch * batch_size, len(order), batch_size):
        idx = order[start : start + batch_size]
        if len(idx) < 2:
            break
        x = augment(images[idx], gen) if aug else images[idx]
        yield normalize(x, info), labels[idx], idx


def eval_batches(images, labels, batch_size: int, info: dict):
    for start in range(0, len(labels), batch_size):
        yield (
            normalize(images[start : start + batch_size], info),
            labels[start : start + batch_size],
        )
