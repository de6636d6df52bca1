"""torchvision's released ImageNet-1K models as finished teachers (``weights: torchvision``), read
from a folder (config ``torchvision_weights``; empty: torch.hub's cache, $TORCH_HOME/hub/
checkpoints). Nothing is downloaded.

The file is torchvision's own (its name from the weights' URL, e.g. resnet18-f37072fd.pth) or,
where that is absent, one stand-in of the same architecture named the same way, ``<arch>-<hex>
.pth`` (a rehearsal's, for its miniature class count). Either way its SHA-256 must begin with the
hex in its name, torch.hub's convention for released files: a random model saved under
torchvision's name is refused in one line, and a stand-in is said to be one in the log and in
final.json (``released``)."""

import hashlib
import re
from pathlib import Path
from urllib.parse import urlparse

import torch
import torchvision

from lskd import checkpoint
from lskd.data.errors import DataError
from lskd.models import ARCHS, build_model, classifier

RELEASED = "IMAGENET1K_V1"  # the checkpoints whose accuracies the paper's no-LS rows report
HASHED_NAME = re.compile(r"-([0-9a-f]{8,64})\.pth?$")  # torch.hub's check_hash convention


def folder_of(config_value: str | None) -> Path:
    """The folder of the weight files: the config's, else torch.hub's cache."""
    return Path(config_value) if config_value else Path(torch.hub.get_dir()) / "checkpoints"


def release_name(arch: str) -> str:
    """torchvision's file name of ``arch``'s released weights."""
    return Path(urlparse(torchvision.models.get_model_weights(arch)[RELEASED].url).path).name


def weights_file(arch: str, folder: Path) -> tuple[Path, bool]:
    """(the file, True if it is torchvision's release) of ``arch`` in ``folder``."""
    official = folder / release_name(arch)
    if official.exists():
        return official, True
    stand_ins = sorted(f for f in folder.glob(f"{arch}-*.pth") if HASHED_NAME.search(f.name))
    if len(stand_ins) == 1:
        return stand_ins[0], False
    entry = torchvision.models.get_model_weights(arch)[RELEASED]
    found = f"; found {len(stand_ins)} other {arch}-<hash>.pth files" if stand_ins else ""
    raise DataError(
        f"{official}: torchvision's {arch} {RELEASED} weights are missing{found}; download "
        f"{entry.url} there (torch.hub's cache, or the config's torchvision_weights folder) on a "
        "machine with network"
    )


def check_hash(path: Path) -> str:
    """The file's SHA-256, which must begin with the hex in its name."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    prefix = HASHED_NAME.search(path.name).group(1)
    if not digest.startswith(prefix):
        raise DataError(
            f"{path}: SHA-256 {digest[:12]}... does not begin with {prefix} (the hash in its "
            "name): not the file released under that name; download it again"
        )
    return digest


def released_model(arch: str, num_classes: int, in_channels: int, stem: str, folder: Path):
    """(the model with ``arch``'s released weights, their record for final.json)."""
    if arch not in ARCHS or (in_channels, stem) != (3, "imagenet"):
        raise DataError(
            f"weights: torchvision releases {', '.join(ARCHS)} for RGB images with the "
            f"imagenet stem (got {arch}, {in_channels} channels, stem {stem})"
        )
    path, official = weights_file(arch, Path(folder))
    digest = check_hash(path)
    state = checkpoint.load(path)
    model = build_model(arch, num_classes)
    rows = classifier(model).weight.shape[0]
    head = [k for k, v in state.items() if k.endswith("weight") and v.dim() == 2][-1:]
    if not head or state[head[0]].shape[0] != rows:
        classes = state[head[0]].shape[0] if head else "no"
        raise DataError(
            f"{path}: weights for {classes} classes, but the dataset has {num_classes}; "
            "torchvision's release is for all of ImageNet-1K (1000 classes)"
        )
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        first = str(err).strip().splitlines()[0]
        raise DataError(f"{path}: not {arch} weights ({first})") from None
    if not official:
        print(f"{path}: a stand-in for torchvision's {release_name(arch)} (a rehearsal's)")
    return model, {"file": path.name, "sha256": digest, "released": official}


def fetch(config: dict, download=None) -> list[Path]:
    """Download, once, torchvision's released file of every ``weights: torchvision`` teacher of
    ``config`` into its ``torchvision_weights`` folder (run it on a node with internet before the
    jobs go to compute nodes without it); a file already there is only checked. Returns them."""
    download = download or torch.hub.download_url_to_file
    folder = folder_of(config.get("torchvision_weights"))
    archs = sorted({t["arch"] for t in config["teachers"].values() if t.get("weights")})
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for arch in archs:
        path = folder / release_name(arch)
        if not path.exists():
            url = torchvision.models.get_model_weights(arch)[RELEASED].url
            print(f"{arch}: {url} -> {path}", flush=True)
            download(url, str(path), progress=False)  # to a temporary file, then moved
        check_hash(path)
        files.append(path)
    return files
