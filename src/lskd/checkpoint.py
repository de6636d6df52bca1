"""Saving and loading our own checkpoints: atomic writes, ``weights_only=True`` loads."""

import errno
import hashlib
import os
from pathlib import Path

import torch

from lskd.data.errors import DataError


def save(obj: dict, path: str | Path) -> None:
    """Write to a temporary file first, so a kill never leaves a half-written checkpoint."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    except (OSError, RuntimeError) as err:  # torch reports a full disk as a RuntimeError
        tmp.unlink(missing_ok=True)
        full = isinstance(err, OSError) and err.errno == errno.ENOSPC or "No space" in str(err)
        why = "the disk is full" if full else str(err).strip().splitlines()[0]
        raise DataError(f"{path}: could not save ({why}); free space and rerun") from err


def sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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
