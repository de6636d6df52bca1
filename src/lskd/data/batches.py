"""Mini-batches of a split's images, with seeded augmentation.

Every random choice of an epoch (order, crops, flips, CutMix boxes) comes from a generator seeded
by (seed, epoch), so a run resumed from a checkpoint sees exactly the batches it would have seen.
A dataset's augmentation is named by its ``augment`` key (dataset.json): ``random_resized_crop``,
the paper's ImageNet protocol for image files (``lskd.data.image_files``), or ``pad_crop``, the
small-image one (2-pixel padding, random crop, flip) of the in-memory Fashion-MNIST.
"""

import torch
import torch.nn.functional as F

from lskd.data.errors import DataError
from lskd.data.image_files import ImageFiles, stream, view_seed

AUGMENTATIONS = ("random_resized_crop", "pad_crop")


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed * 100_003 + epoch)


def normalize(images: torch.Tensor, info: dict, device=None) -> torch.Tensor:
    """Float images standardised by the training split's pixel mean/std, on ``device`` (moved
    there as uint8: a quarter of the bytes, and the GPU does the arithmetic)."""
    if device is not None:
        images = images.to(device, non_blocking=True)
    mean = torch.tensor(info["mean"], device=images.device).view(1, -1, 1, 1)
    std = torch.tensor(info["std"], device=images.device).view(1, -1, 1, 1)
    return images.float().mul_(1 / (255.0 * std)).add_(-mean / std)  # 2 passes, not 4


def augmentation(images, info: dict) -> str:
    """The dataset's ``augment`` (dataset.json); unset: random_resized_crop for image files,
    pad_crop for in-memory images."""
    files = isinstance(images, ImageFiles)
    name = info.get("augment") or ("random_resized_crop" if files else "pad_crop")
    if name not in AUGMENTATIONS:
        raise DataError(f"dataset.json: unknown augment {name!r} ({', '.join(AUGMENTATIONS)})")
    if name == "random_resized_crop" and not files:
        raise DataError(
            "dataset.json: augment random_resized_crop crops original image files; in-memory "
            "images (fashion_mnist) use pad_crop"
        )
    return name


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
    device=None,
):
    """Yield (normalized images, labels, sample indices) over one shuffled epoch, augmented
    unless ``aug`` is False (last batch dropped only if it has a single sample, which BatchNorm
    cannot train on). A run resumed inside an epoch passes that epoch's ``order`` and the batch
    to start from, with ``gen`` in the state it had there. With a data-parallel ``world``, each
    rank gets (and decodes) only its slice of every global batch. The images are normalized on
    ``device`` (default: where they are)."""
    if order is None:
        order = torch.randperm(len(labels), generator=gen)
    starts = range(first_batch * batch_size, len(order), batch_size)
    starts = [s for s in starts if len(order[s : s + batch_size]) >= 2]
    batches = [order[s : s + batch_size] for s in starts]
    rank, size = (world.rank, world.size) if world else (0, 1)
    local = [idx[rank::size] for idx in batches]
    style = augmentation(images, info) if aug else None
    items = local
    if style == "random_resized_crop":  # each view seeded by its position in the epoch
        epoch_seed = gen.initial_seed()  # the (seed, epoch) seed, kept by set_state on resume
        items = (  # lazily: a DataLoader takes them as its workers need them
            [(int(i), view_seed(epoch_seed, s + rank + size * k)) for k, i in enumerate(mine)]
            for s, mine in zip(starts, local, strict=True)
        )
    for idx, mine, x in zip(batches, local, stream(images, items), strict=True):
        if style == "pad_crop":
            x = augment(x, gen, drawn=len(idx), rows=slice(rank, None, size))
        yield normalize(x, info, device), labels[mine], mine


def eval_batches(images, labels, batch_size: int, info: dict, device=None):
    """(normalized images, labels) in order: image files in their evaluation view."""
    batches = list(torch.arange(len(labels)).split(batch_size))
    for idx, x in zip(batches, stream(images, batches), strict=True):
        yield normalize(x, info, device), labels[idx]
