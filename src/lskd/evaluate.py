"""Evaluate a trained model: accuracy, stability metrics, per-class mean probabilities, and the
per-image predictions that CLAIMS.md resamples (a paired bootstrap over the same images).
eval.json keeps the run's final.json fields, its ``provenance`` now the evaluation's own."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from lskd import provenance
from lskd.data.errors import DataError
from lskd.data.manifest import load_split
from lskd.inference import choose_precision, load_model, predict
from lskd.metrics.accuracy import topk_correct
from lskd.metrics.stability import StabilityAccumulator


@torch.no_grad()
def evaluate(
    model_path,
    data_dir,
    out_dir,
    split: str = "val",
    precision: str = "auto",
    meta: dict | None = None,
    batch_size: int = 500,
    probe_cache=None,
) -> dict:
    """Write ``eval.json``, ``class_mean_probs.csv`` (row c: mean softmax over class c) and
    ``predictions.npz`` (``predictions``), all from one pass over the images."""
    start = provenance.now()
    images, labels, info = load_split(data_dir, split)
    model = load_model(model_path, info)
    choice = choose_precision(precision, model, images, labels, info, cache=probe_cache)
    logits = predict(model, images, labels, info, choice.precision, batch_size)
    stability = StabilityAccumulator(info["num_classes"])
    stability.update(torch.softmax(logits, dim=1), labels)
    hits = topk_correct(logits, labels, ks=(1, 3, 5))  # top-3: the long-tailed tables
    absent = [info["classes"][c] for c in stability.absent()]
    if absent:
        print(
            f"{data_dir}: no {split} images of {', '.join(absent)}: the stability metrics "
            f"average over the other {info['num_classes'] - len(absent)} classes",
            flush=True,
        )
    result = {
        **(meta or {}),
        "split": split,
        "samples": len(labels),
        "classes_without_images": absent,  # left out of the stability metrics (NaN in the CSV)
        **{f"top{k}": 100.0 * v / len(labels) for k, v in hits.items()},
        "intra_class_std": stability.intra_class_std(),
        "intra_class_variance": stability.intra_class_variance(),
        "inter_class_variance": stability.inter_class_variance(),
    }
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    means = pd.DataFrame(stability.class_mean_probs().numpy(), columns=info["classes"])
    means.insert(0, "class", info["classes"])
    means.to_csv(out_dir / "class_mean_probs.csv", index=False)
    with open(out_dir / "predictions.npz", "wb") as f:  # a file object: no .npz appended
        np.savez_compressed(f, **predictions(logits, labels))
    result["provenance"] = provenance.record(start, precision=choice)
    (out_dir / "eval.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


LOG_PROBS_MAX_CLASSES = 100  # above this, N x K log-probabilities are too large to keep


def predictions(logits: torch.Tensor, labels: torch.Tensor) -> dict[str, np.ndarray]:
    """Per-image arrays, small: label and top-1 prediction (int16), true-class probability and
    entropy (float32); the log-probabilities (float16) when there are at most
    LOG_PROBS_MAX_CLASSES classes (Eq. 5 and the distillation loss need whole vectors)."""
    logp = torch.log_softmax(logits.float(), dim=1)
    p = logp.exp()
    out = {
        "label": labels.numpy().astype(np.int16),
        "pred": logits.topk(1, dim=1).indices.squeeze(1).numpy().astype(np.int16),
        "true_prob": p.gather(1, labels.view(-1, 1).long()).squeeze(1).numpy().astype(np.float32),
        "entropy": -torch.special.xlogy(p, p).sum(dim=1).numpy().astype(np.float32),
    }
    if logits.shape[1] <= LOG_PROBS_MAX_CLASSES:
        out["log_probs"] = logp.clamp(min=-1e4).numpy().astype(np.float16)
    return out


def load_predictions(path) -> dict[str, np.ndarray]:
    """``predictions.npz`` as written by ``evaluate`` (plain arrays, no pickle)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except (OSError, ValueError) as err:
        raise DataError(f"{path}: unreadable predictions ({err}); rerun its evaluate rule") from err
