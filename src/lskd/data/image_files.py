"""Image files decoded on demand, for datasets too large to hold decoded (ImageNet, iNaturalist).

``ImageFiles`` behaves like the uint8 image tensor of an in-memory split where the workflow
indexes it (``images[idx]``, ``images[a:b]``, ``len``), decoding in the calling process; the
training and evaluation loops instead ``stream`` whole batches, decoded ahead of use by DataLoader
worker processes that persist across epochs, into pinned memory when a GPU trains. The batches
and their order stay the loop's own (seeded), so streaming changes no result.
"""

from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset

from lskd.data.errors import DataError


class _BatchOrder:
    """DataLoader batch sampler whose batches the loop sets before each pass."""

    def __init__(self):
        self.batches: list[list[int]] = []

    def __iter__(self):
        return iter(self.batches)

    def __len__(self):
        return len(self.batches)


class ImageFiles(Dataset):
    def __init__(self, root: str, samples: list[str], size: int, workers: int = 0):
        self.root, self.samples, self.size, self.workers = Path(root), samples, size, workers
        self._order = _BatchOrder()
        self._loader = None

    def __len__(self) -> int:
        return len(self.samples)

    def decode(self, i: int) -> torch.Tensor:
        """One image: shorter side resized to ``size``, centre crop, RGB, uint8 C x H x W."""
        from PIL import Image, UnidentifiedImageError
        from torchvision.transforms import functional as TF

        path = self.root / self.samples[i]
        try:
            with Image.open(path) as im:
                im = TF.center_crop(TF.resize(im.convert("RGB"), self.size), self.size)
                return TF.pil_to_tensor(im)
        except (OSError, UnidentifiedImageError) as err:
            raise DataError(f"{path}: unreadable image ({err}); restore the file") from None

    def __getitem__(self, index) -> torch.Tensor:
        if isinstance(index, int):  # DataLoader workers ask for one sample at a time
            return self.decode(index)
        if isinstance(index, slice):
            index = range(*index.indices(len(self)))
        elif torch.is_tensor(index):
            index = index.tolist()
        return torch.stack([self.decode(int(i)) for i in index])

    def stream(self, batches):
        """Decoded uint8 batches for these lists of sample indices, in order."""
        if self.workers == 0:
            yield from (self[b] for b in batches)
            return
        if self._loader is None:
            self._loader = DataLoader(
                self,
                batch_sampler=self._order,
                num_workers=self.workers,
                pin_memory=torch.cuda.is_available(),
                persistent_workers=True,
                prefetch_factor=4,
            )
        self._order.batches = [[int(i) for i in b] for b in batches]
        yield from self._loader


def stream(images, batches):
    """Batches of ``images`` (an in-memory tensor or ``ImageFiles``) for lists of indices."""
    if isinstance(images, ImageFiles):
        return images.stream(batches)
    return (images[b] for b in batches)
