"""Mini-batches from in-memory images, with seeded augmentation.

Every random choice of an epoch (order, crops, flips, CutMix boxes) comes from a generator seeded
by (seed, epoch), so a run resumed from a checkpoint sees exactly the batches it would have seen.
"""

import torch
import torch.nn.functional as F

from lskd.data.image_files import stream


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed * 100_003 + epoch)


def normalize(images: torch.Tensor, info: dict) -> torch.Tensor:
    mean = torch.tensor(info["mean"]).view(1, -1, 1, 1)
    std = torch.tensor(info["std"]).view(1, -1, 1, 1)
    return (images.float() / 255.0 - mean) / std


def augment(images, gen: torch.Generator, pad: int = 2, drawn: int | None = None, rows=None):
    """Random crop after zero padding by ``pad`` pixels, and random horizontal flip. A rank of a
    data-parallel run draws for the whole global batch (``drawn`` samples) and keeps its ``rows``,
    so that its slice is augmented exactly as one process would augment it."""
    n, c, h, w = images.shape
    padded = F.pad(images, (pad, pad, pad, pad))
    drawn = drawn or n
    rows = slice(None) if rows is None else rows
    dy = torch.randint(0, 2 * pad + 1, (drawn,), generator=gen)[rows]
    dx = torch.randint(0, 2 * pad + 1, (drawn,), generator=gen)[rows]
    flip = (torch.rand(drawn, generator=gen) < 0.5)[rows]
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
    world=None,
):
    """Yield (normalized images, labels, sample indices) over one shuffled epoch, augmented
    unless ``aug`` is False (last batch dropped only if it has a single sample, which BatchNorm
    cannot train on). A run resumed inside an epoch passes that epoch's ``order`` and the batch
    to start from, with ``gen`` in the state it had there. With a data-parallel ``world``, each
    rank gets (and decodes) only its slice of every global batch."""
    if order is None:
        order = torch.randperm(len(labels), generator=gen)
    starts = range(first_batch * batch_size, len(order), batch_size)
    batches = [order[s : s + batch_size] for s in starts]
    batches = [idx for idx in batches if len(idx) >= 2]
    rank, size = (world.rank, world.size) if world else (0, 1)
    local = [idx[rank::size] for idx in batches]
    for idx, mine, x in zip(batches, local, stream(images, local), strict=True):
        if aug:
            x = augment(x, gen, drawn=len(idx), rows=slice(rank, None, size))
        yield normalize(x, info), labels[mine], mine


def eval_batches(images, labels, batch_size: int, info: dict):
    batches = list(torch.arange(len(labels)).split(batch_size))
    for idx, x in zip(batches, stream(images, batches), strict=True):
        yield normalize(x, info), labels[idx]
