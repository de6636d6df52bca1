"""Evaluate a trained model: accuracy, stability metrics, per-class mean probabilities."""

import json
from pathlib import Path

import pandas as pd
import torch

from lskd.data.manifest import load_split
from lskd.metrics.accuracy import topk_correct
from lskd.metrics.stability import StabilityAccumulator
from lskd.train import load_model, predict


@torch.no_grad()
def evaluate(
    model_path,
    data_dir,
    out_dir,
    split: str = "val",
    bf16: bool = False,
    meta: dict | None = None,
    batch_size: int = 500,
) -> dict:
    """Write ``eval.json`` and ``class_mean_probs.csv`` (row c: mean softmax over class c)."""
    images, labels, info = load_split(data_dir, split)
    logits = predict(load_model(model_path), images, labels, info, bf16, batch_size)
    stability = StabilityAccumulator(info["num_classes"])
    stability.update(torch.softmax(logits, dim=1), labels)
    hits = topk_correct(logits, labels, ks=(1, 3, 5))  # top-3: the long-tailed tables
    result = {
        **(meta or {}),
        "split": split,
        "samples": len(labels),
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
    (out_dir / "eval.json").write_text(json.dumps(result, indent=2) + "\n")
    return result
