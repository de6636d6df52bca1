"""Penultimate-layer activations (the classifier's input) of chosen classes, for Figure 1."""

from pathlib import Path

import numpy as np
import torch

from lskd.data.errors import DataError
from lskd.data.manifest import load_split
from lskd.inference import choose_precision, load_model, predict
from lskd.models import classifier


@torch.no_grad()
def penultimate(model, images, labels, info, precision="fp32", batch_size=500) -> np.ndarray:
    captured = []
    hook = classifier(model).register_forward_pre_hook(
        lambda _m, inputs: captured.append(inputs[0].float().cpu())
    )
    try:
        predict(model, images, labels, info, precision, batch_size)
    finally:
        hook.remove()
    return torch.cat(captured).numpy()


def export(model_path, data_dir, out_path, class_names, per_class, precision="auto", cache=None):
    """Save, for train and val, up to ``per_class`` samples of each named class (first in
    manifest order), with the classifier's weights (the templates) and the class indices.
    ``precision``: auto, bf16, fp16 or fp32 (``cache``: auto's probes, ``lskd.precision``)."""
    model = load_model(model_path)
    arrays, choice = {}, None
    for split in ("train", "val"):
        images, labels, info = load_split(data_dir, split)
        missing = [c for c in class_names if c not in info["classes"]]
        if missing:
            raise DataError(f"classes {missing} are not in {data_dir} ({info['classes']})")
        index = [info["classes"].index(c) for c in class_names]
        keep = torch.cat([torch.nonzero(labels == i).flatten()[:per_class] for i in index])
        choice = choice or choose_precision(precision, model, images, labels, info, cache=cache)
        arrays[f"{split}_features"] = penultimate(
            model, images[keep], labels[keep], info, choice.precision
        )
        arrays[f"{split}_labels"] = labels[keep].numpy()
    layer = classifier(model)
    arrays["templates"] = layer.weight.detach().cpu().numpy()
    arrays["class_index"] = np.array(index)
    arrays["class_names"] = np.array(class_names)
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    np.savez(out_path, **arrays)
