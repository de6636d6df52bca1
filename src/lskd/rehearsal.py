"""The rehearsal of configs/paper.yaml: the same config with only sizes shrunk (epochs, images,
image size, batch, subset class counts, translation model and corpus size, seeds), its datasets
the miniature copies of ``lskd.miniature`` and its released weights stand-ins of the miniature
class count, so that the paper's whole DAG runs for real on a CPU before anyone pays for it.

``derive`` changes only the keys of ``SIZES`` (and the paths to the miniature data);
``structure`` is a config without them, which the tests compare: every teacher, student,
architecture, recipe kind, ``init_from`` chain, ReActNet step, translation run and output stays.

    python -m lskd.rehearsal OUT [--paper configs/paper.yaml] [--train N --val N
                                 --image-size PX --batch N --steps N (0: all images)]
      writes OUT/data (miniature datasets), OUT/weights (stand-ins), OUT/rehearsal.yaml
"""

import argparse
import copy
import hashlib
import shutil
from pathlib import Path

import yaml

from lskd import miniature

CLASSES = 5  # the miniature datasets' classes
# What a rehearsal of paper.yaml leaves on disk: its 111 models are the paper's architectures at
# full size (ResNeXt-101 332 MB each): 11.7 GB at its peak, measured, so ask for a little more
DISK_GB = 13
FOLDERS = {  # a dataset kind's miniature folder
    "image_folder": "imagenet",
    "cub200": "CUB_200_2011",
    "imaterialist2019": "imat2019",
    "inaturalist2019": "inat2019",
    "imagenet_lt": "imagenet_lt",
    "places_lt": "places_lt",
}
# Every recipe's: two epochs (its milestones and warm-up scaled into them) of one batch each (a
# seeded sample of the training images: epoch_images), so that every step of the schedule runs
RECIPE = {"epochs": 2, "batch_size": 8, "steps": 1}
NMT = {
    "bpe_merges": 60,
    "model": {"embed_dim": 16, "ffn_dim": 32, "layers": 1, "heads": 2},
    "train": {"epochs": 1, "max_tokens": 256, "warmup_updates": 5, "beam": 2},
    "student.objective": {"topk": 2},
}
# Every key derive() may change, by where it is (a list: under each entry of that section)
SIZES = {
    "": ["threads", "seeds", "torchvision_weights"],
    "datasets": ["root", "classes", "image_size"],
    "recipes": ["epochs", "batch_size", "milestones", "warmup_epochs", "epoch_images"],
    "teachers": ["seeds"],
    "students": ["seeds"],
    "bnn": ["seeds"],
    "figures.fig1": ["per_class"],
    "nmt": ["bpe_merges"],
    "nmt.corpus": ["path"],
    "nmt.model": ["embed_dim", "ffn_dim", "layers", "heads"],
    "nmt.train": ["epochs", "max_tokens", "warmup_updates", "beam", "valid_beam"],
    "nmt.student.objective": ["topk"],
}


def _scaled(recipe: dict, batch: int, steps: int | None) -> dict:
    """The recipe at RECIPE's size (``batch`` images a step, ``steps`` steps an epoch; None:
    every training image): milestones and warm-up scaled into the shorter run."""
    epochs = RECIPE["epochs"]
    scale = epochs / recipe["epochs"]
    out = recipe | {"epochs": epochs, "batch_size": batch}
    if recipe.get("milestones"):
        out["milestones"] = sorted({min(max(round(m * scale), 1), epochs - 1)
                                    for m in recipe["milestones"]})  # fmt: skip
    if recipe.get("warmup_epochs"):
        out["warmup_epochs"] = min(max(round(recipe["warmup_epochs"] * scale), 1), epochs - 1)
    out.pop("epoch_images", None)
    if steps:
        out["epoch_images"] = steps * batch
    return out


def derive(
    paper: dict, data: str | Path, weights: str | Path, image_size: int = 32,
    batch: int = RECIPE["batch_size"], steps: int | None = RECIPE["steps"],
) -> dict:  # fmt: skip
    """``paper`` with only sizes shrunk, reading the miniature ``data`` and the stand-in
    ``weights`` folder."""
    config, data = copy.deepcopy(paper), Path(data)
    config.update(threads=1, seeds=[0], torchvision_weights=str(weights))
    subsets = sorted({d["classes"] for d in config["datasets"].values() if d.get("classes")})
    smaller = {n: i + 2 for i, n in enumerate(subsets)}  # 100 -> 2, 500 -> 3: order kept
    for spec in config["datasets"].values():
        spec["root"] = str(data / FOLDERS[spec["kind"]])
        spec["image_size"] = image_size
        if spec.get("classes"):
            spec["classes"] = smaller[spec["classes"]]
    config["recipes"] = {n: _scaled(r, batch, steps) for n, r in config["recipes"].items()}
    for section in ("teachers", "students"):
        for entry in config.get(section, {}).values():
            if "seeds" in entry:
                entry["seeds"] = [0]
    if "seeds" in config["bnn"]:
        config["bnn"]["seeds"] = [0]
    config["figures"]["fig1"]["per_class"] = 2
    nmt = config["nmt"]
    nmt["corpus"]["path"] = str(data / "iwslt14" / "de-en.tgz")
    nmt["bpe_merges"] = NMT["bpe_merges"]
    for key in ("model", "train", "student.objective"):
        node = nmt
        for part in key.split("."):
            node = node[part]
        node.update(NMT[key])
    nmt["train"].pop("valid_beam", None)
    return config


def structure(config: dict) -> dict:
    """``config`` without the keys ``derive`` may change (SIZES)."""
    out = copy.deepcopy(config)
    for where, keys in SIZES.items():
        node = out
        for part in where.split(".") if where else []:
            node = node.get(part, {})
        entries = (
            node.values() if where in ("datasets", "recipes", "teachers", "students") else [node]
        )
        for entry in entries:
            for key in keys:
                entry.pop(key, None)
    return out


def wnids(config: dict) -> list[str]:
    """The miniature ImageNet's classes: Figure 1's first, then others."""
    named = list(config["figures"]["fig1"]["classes"])
    others = [f"n{1443537 + 1000 * i:08d}" for i in range(CLASSES)]
    return (named + [w for w in others if w not in named])[:CLASSES]


def stand_in_weights(config: dict, folder: Path) -> list[Path]:
    """Randomly initialised weights of each ``weights: torchvision`` architecture for the
    miniature class count, named as torch.hub names released files (``<arch>-<sha256>.pth``)."""
    import torch

    from lskd.models import build_model

    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for arch in sorted({t["arch"] for t in config["teachers"].values() if t.get("weights")}):
        torch.manual_seed(0)
        path = folder / f"{arch}.pth"
        torch.save(build_model(arch, CLASSES).state_dict(), path)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        files.append(path.rename(folder / f"{arch}-{digest[:10]}.pth"))
    return files


def write(
    out: str | Path, paper: str | Path = "configs/paper.yaml", sizes: dict | None = None
) -> Path:
    """The rehearsal's data, stand-in weights and config under ``out``; returns the config.
    ``sizes``: other sizes than the CPU rehearsal's (``train`` and ``val`` images per class,
    ``image_size``, ``batch``, ``steps`` per epoch, 0 for all; benchmarks/gpu_rehearsal.sh's
    are a GPU's)."""
    out, sizes = Path(out), sizes or {}
    source = yaml.safe_load(Path(paper).read_text())
    images = {k: sizes[k] for k in ("train", "val") if k in sizes}
    miniature.write(out / "data", classes=CLASSES, wnids=wnids(source), **images)
    stand_in_weights(source, out / "weights")
    shape = {k: sizes[k] for k in ("image_size", "batch", "steps") if k in sizes}
    config = derive(source, out / "data", out / "weights", **shape)
    path = out / "rehearsal.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def disk_shortfall(out: str | Path) -> str | None:
    """Why ``out`` (made if missing) has no room for the rehearsal's run, or None: checked
    before anything is written, by every entry that runs it."""
    Path(out).mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(out).free / 1e9
    if free >= DISK_GB:
        return None
    return (f"{out}: {free:.1f} GB free; the rehearsal needs about {DISK_GB} GB (the paper's "
            "models at full size): free some space or name another folder")  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out")
    p.add_argument("--paper", default="configs/paper.yaml")
    names = ("train", "val", "image_size", "batch", "steps")
    for size in names:
        p.add_argument(f"--{size.replace('_', '-')}", type=int, help="(default: the CPU's)")
    args = p.parse_args()
    if problem := disk_shortfall(args.out):
        p.error(problem)
    sizes = {k: getattr(args, k) for k in names}
    print(write(args.out, args.paper, {k: v for k, v in sizes.items() if v is not None}))


if __name__ == "__main__":
    main()
