"""A teacher's logits on the augmentation-free training images, computed once per teacher: the
file a student with ``teacher_logits: cached`` (lskd.distill) reads instead of running the
teacher, training without augmentation. The file records the SHA-256 of the teacher checkpoint
and the view it was computed on; loading it for another checkpoint or view is an error, never a
silent change of results.
"""

from pathlib import Path

import torch

from lskd import checkpoint
from lskd.data.errors import DataError
from lskd.data.manifest import load_split
from lskd.inference import choose_precision, load_model, predict

VIEW = "train split, no augmentation"


@torch.no_grad()
def build(model_path, data_dir, out_path, precision="auto", probe_cache=None, batch_size=500):
    """``precision``: auto, bf16, fp16 or fp32 (``lskd.precision``)."""
    images, labels, info = load_split(data_dir, "train")
    model = load_model(model_path, info)
    choice = choose_precision(precision, model, images, labels, info, cache=probe_cache)
    logits = predict(model, images, labels, info, choice.precision, batch_size)
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    checkpoint.save(
        {
            "logits": logits,
            "teacher_sha256": checkpoint.sha256(model_path),
            "view": VIEW,
            "precision": choice.precision,
        },
        out_path,
    )


def load(cache_path, model_path, num_samples: int) -> torch.Tensor:
    cache = checkpoint.load(cache_path)
    if cache.get("teacher_sha256") != checkpoint.sha256(model_path) or cache.get("view") != VIEW:
        raise DataError(
            f"{cache_path} was computed for another teacher checkpoint or view than {model_path}; "
            "delete it and rerun"
        )
    if len(cache["logits"]) != num_samples:
        raise DataError(f"{cache_path}: {len(cache['logits'])} logits for {num_samples} images")
    return cache["logits"]
