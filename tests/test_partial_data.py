"""A class without validation images is legitimate (a CUB class without test images, an empty
ImageFolder val/<class>/): curation, evaluation, Tables 1/10 and Figure 4 say so, and no absent
value is written as a number."""

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import torch
from PIL import Image

from lskd import checkpoint
from lskd.data.manifest import curate
from lskd.evaluate import evaluate
from lskd.metrics.stability import StabilityAccumulator
from lskd.models import build_model
from lskd.paper import fig4, stability_tables


def test_a_class_without_samples_is_left_out_and_its_mean_is_nan():
    gen = torch.Generator().manual_seed(0)
    probs = torch.softmax(torch.randn(12, 3, generator=gen), dim=1)
    labels = torch.tensor([0, 1] * 6)  # class 2: no sample
    acc = StabilityAccumulator(3)
    acc.update(probs, labels)
    assert acc.absent() == [2]
    means = acc.class_mean_probs().numpy()
    assert np.isnan(means[2]).all() and not np.isnan(means[:2]).any()
    p, y = probs.double().numpy(), labels.numpy()  # numpy, over the two classes present
    stds = [p[y == c, c].std(ddof=1) for c in (0, 1)]
    assert np.isclose(acc.intra_class_std(), np.mean(stds))  # streamed sums: float64 rounding
    overall = p.mean(axis=0)
    inter = np.mean([((p[y == c].mean(axis=0) - overall) ** 2).sum() for c in (0, 1)])
    assert np.isclose(acc.inter_class_variance(), inter)


def image_folder_without_val_class(root):
    for split, n in (("train", 3), ("val", 2)):
        for wnid in ("n01", "n02", "n03"):
            (root / split / wnid).mkdir(parents=True)
            for i in range(n if (split, wnid) != ("val", "n03") else 0):
                Image.new("RGB", (12, 10), (40 * i, 9, 90)).save(root / split / wnid / f"{i}.jpg")
    return root


def test_curation_evaluation_table_and_figure_say_which_class_has_no_val_images(tmp_path):
    root = image_folder_without_val_class(tmp_path / "imagenet")
    data = tmp_path / "data" / "tiny"
    curate({"kind": "image_folder", "root": str(root), "image_size": 32}, data)
    info = json.loads((data / "dataset.json").read_text())
    assert info["val_classes_without_images"] == ["n03"]
    torch.manual_seed(0)
    model = build_model("resnet18", 3, 3, "imagenet")
    state = {"state_dict": model.state_dict(), "arch": "resnet18", "num_classes": 3,
             "in_channels": 3, "stem": "imagenet"}  # fmt: skip
    checkpoint.save(state, tmp_path / "model.pt")
    ls = {"kind": "label_smoothing", "alpha": 0.0}
    meta = {"dataset": "tiny", "arch": "resnet18", "recipe": "standard", "objective": ls, "seed": 0}
    result = evaluate(tmp_path / "model.pt", data, tmp_path / "eval", precision="fp32", meta=meta)
    assert result["classes_without_images"] == ["n03"] and result["samples"] == 4
    means = pd.read_csv(tmp_path / "eval" / "class_mean_probs.csv", index_col="class")
    assert means.loc["n03"].isna().all() and means.loc[["n01", "n02"]].notna().all().all()
    inputs = SimpleNamespace(teacher_evals=[tmp_path / "eval" / "eval.json"],
                             infos=[data / "dataset.json"])  # fmt: skip
    numbers, shown = stability_tables.table1(inputs)
    assert shown["Dataset"].tolist() == ["tiny (1-S without n03: no val images)"]
    csv = [tmp_path / "eval" / "class_mean_probs.csv"]
    figure = fig4.figure(SimpleNamespace(fig4_without_ls=csv, fig4_with_ls=csv))
    assert "no val images: n03" in figure.axes[0].get_title()
