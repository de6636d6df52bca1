"""Image files decoded on demand, for datasets too large to hold decoded (ImageNet, iNaturalist),
in the views of the paper's ImageNet protocol (Appendix A: "the standard training protocol (He et
al., 2016; Goyal et al., 2017)"):

- training: a random-resized crop of the original image (area 8-100 %, aspect ratio 3/4-4/3)
  resized to the crop size, flipped horizontally half the time;
- evaluation: the shorter side resized to 256/224 of the crop size, then the centre crop.

Files are decoded by ``torchvision.io`` and transformed by ``torchvision.transforms.v2``. A training
view's random draws come from a seed of its own (``view_seed``: the epoch's seed and the sample's
position in the epoch's order), so the view does not depend on which process decodes it or when:
DataLoader workers persisting across epochs decode ahead of the loop, a resumed run and every rank
of a data-parallel run get exactly the views of an uninterrupted single process.

``ImageFiles`` behaves like the uint8 image tensor of an in-memory split where the workflow
indexes it (``images[idx]``, ``images[a:b]``, ``len``: evaluation views, decoded in the calling
process); the training and evaluation loops instead ``stream`` whole batches.
"""

import hashlib
from functools import cache
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset

from lskd.data.errors import DataError

CROP_SCALE = (0.08, 1.0)  # Szegedy et al. (2015), as torchvision's RandomResizedCrop
CROP_RATIO = (3 / 4, 4 / 3)
EVAL_RESIZE = 256 / 224  # resize 256, centre crop 224


def decode(path: Path) -> torch.Tensor:
    """The image in ``path``, RGB, uint8 3 x H x W."""
    from torchvision.io import ImageReadMode, decode_image

    try:
        return decode_image(str(path), mode=ImageReadMode.RGB)
    except (OSError, RuntimeError, ValueError) as err:
        why = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise DataError(f"{path}: unreadable image ({why}); restore the file") from None


def eval_view(image: torch.Tensor, size: int) -> torch.Tensor:
    from torchvision.transforms.v2 import functional as TF

    resized = TF.resize(image, round(size * EVAL_RESIZE), antialias=True)
    return TF.center_crop(resized, size)


@cache
def _train_transform(size: int):
    from torchvision.transforms import v2

    crop = v2.RandomResizedCrop(size, scale=CROP_SCALE, ratio=CROP_RATIO, antialias=True)
    return v2.Compose([crop, v2.RandomHorizontalFlip()])


def train_view(image: torch.Tensor, size: int, seed: int) -> torch.Tensor:
    """torchvision's RandomResizedCrop + RandomHorizontalFlip, drawing from a generator seeded by
    ``seed`` (v2 draws from torch's global CPU generator: it is seeded here, then restored)."""
    cpu = torch.default_generator
    state = cpu.get_state()
    cpu.manual_seed(seed)  # only the CPU generator: torch.manual_seed also seeds every GPU's
    try:
        return _train_transform(size)(image)
    finally:
        cpu.set_state(state)


def view_seed(epoch_seed: int, position: int) -> int:
    """The seed of the training view at ``position`` of an epoch's order. Hashed: torch seeds its
    generator with the low 32 bits only, and neighbouring seeds must not give related views."""
    digest = hashlib.blake2b(f"{epoch_seed}:{position}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "little")


class _BatchOrder:
    """DataLoader batch sampler whose batches (an iterable, read as the workers need them) the
    loop sets before each pass."""

    def __init__(self):
        self.batches = iter(())

    def __iter__(self):
        return iter(self.batches)


class ImageFiles(Dataset):
    """The files ``samples`` (paths under ``root``) viewed at crop ``size``. An item is a sample
    index (its evaluation view) or (index, seed) (its training view)."""

    def __init__(self, root: str, samples: list[str], size: int, workers: int = 0):
        self.root, self.samples, self.size, self.workers = Path(root), samples, size, workers
        self._order = _BatchOrder()
        self._loader = None

    def __len__(self) -> int:
        return len(self.samples)

    def view(self, item) -> torch.Tensor:
        if isinstance(item, tuple):
            index, seed = item
            return train_view(decode(self.root / self.samples[index]), self.size, seed)
        return eval_view(decode(self.root / self.samples[item]), self.size)

    def __getitem__(self, index) -> torch.Tensor:
        if isinstance(index, (int, tuple)):  # DataLoader workers ask for one item at a time
            return self.view(index)
        if isinstance(index, slice):
            index = range(*index.indices(len(self)))
        elif torch.is_tensor(index):
            index = index.tolist()
        return torch.stack([self.view(int(i)) for i in index])

    def stream(self, batches):
        """Decoded uint8 batches for these lists of items, in order."""
        batches = ([i if isinstance(i, tuple) else int(i) for i in b] for b in batches)
        if self.workers == 0:
            yield from (torch.stack([self.view(item) for item in b]) for b in batches)
            return
        if self._loader is None:
            self._loader = DataLoader(
                # a copy without the loader: a loader holding its own holder would be freed by
                # the cycle collector, whose shutdown of the workers waits 5 s for each
                ImageFiles(self.root, self.samples, self.size),
                batch_sampler=self._order,
                num_workers=self.workers,
                pin_memory=torch.cuda.is_available(),
                persistent_workers=True,
                prefetch_factor=4,
            )
        self._order.batches = batches
        try:
            yield from self._loader
        except DataError as err:  # a worker's: DataLoader re-raises it with its whole traceback
            last = str(err).strip().splitlines()[-1]
            raise DataError(last.split("DataError: ", 1)[-1]) from None


def stream(images, batches):
    """Batches of ``images`` (an in-memory tensor or ``ImageFiles``) for lists of items."""
    if isinstance(images, ImageFiles):
        return images.stream(batches)
    return (images[b] for b in batches)
