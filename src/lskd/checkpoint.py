"""Saving and loading our own checkpoints: atomic writes, ``weights_only=True`` loads."""

import os
from pathlib import Path

import torch

from lskd.data.errors import DataError


def save(obj: dict, path: str | Path) -> None:
    """Write to a temporary file first, so a kill never leaves a half-written checkpoint."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def load(path: str | Path) -> dict:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as err:
        raise DataError(f"checkpoint {path} not found; run the rule that trains it") from err
    except Exception as err:  # torch raises several types for a corrupt or foreign file
        raise DataError(
            f"{path}: not a readable lskd checkpoint ({type(err).__name__}); delete it and rerun "
            "the rule that trains it"
        ) from err
