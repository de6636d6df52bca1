"""Figure 1's projection, Figure 3's closed form and the LS/no-LS teacher pairing of the tables
(CLAIMS.md's checks: test_claims.py)."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from lskd.paper import dataset_tables, fig1, fig3, kd_tables, stability_tables
from lskd.paper.outputs import Inputs
from lskd.paper.results import ls_pairs, paper_datasets_of, reference


def random_templates(seed=0, d=16):
    return np.random.default_rng(seed).normal(size=(3, d))


def test_projection_puts_templates_at_known_coordinates():
    w = random_templates()
    coords = fig1.project(w, w)
    np.testing.assert_allclose(coords[0], [0, 0], atol=1e-12)  # w1 at the origin
    assert coords[1][0] == pytest.approx(np.linalg.norm(w[1] - w[0]))  # w2 on the first axis
    assert coords[1][1] == pytest.approx(0, abs=1e-12)
    # w3 keeps its distances to w1 and w2 (it lies in the plane)
    assert np.linalg.norm(coords[2]) == pytest.approx(np.linalg.norm(w[2] - w[0]))
    assert np.linalg.norm(coords[2] - coords[1]) == pytest.approx(np.linalg.norm(w[2] - w[1]))


def test_ls_pairs_pair_each_smoothed_teacher_with_its_plain_one():
    def teacher(arch, alpha, seed, top1):
        return {"dataset": "d", "arch": arch, "recipe": "standard", "alpha": alpha, "seed": seed,
                "top1": top1}  # fmt: skip

    evals = pd.DataFrame(
        [teacher("r18", 0.0, 0, 70.0), teacher("r18", 0.1, 0, 71.0), teacher("r18", 0.1, 1, 74.0),
         teacher("r18", 0.2, 0, 69.0), teacher("r50", 0.0, 0, 75.0), teacher("mnv2", 0.1, 0, 60.0)]
    )  # fmt: skip
    pairs = ls_pairs(evals, ["top1"])
    assert list(zip(pairs.arch, pairs.alpha, strict=True)) == [
        ("r18", 0.1),
        ("r18", 0.2),
    ]  # r50, mnv2 unpaired
    first = pairs.iloc[0]
    assert (first.top1_no_ls, first.top1_ls, first.top1_gain) == (70.0, 72.5, 2.5)
    assert first.top1_ls_std == pytest.approx(np.std([71.0, 74.0], ddof=1))
    assert (first.n_no_ls, first.n_ls, first.n) == (1, 2, 1)

    every = ls_pairs(evals, ["top1"], keep_unpaired=True)
    alone = every[every.arch != "r18"].set_index("arch")
    assert alone.loc["r50", "top1_no_ls"] == 75.0 and pd.isna(alone.loc["r50", "top1_ls"])
    assert pd.isna(alone.loc["mnv2", "top1_no_ls"]) and alone.loc["mnv2", "n_no_ls"] == 0
    assert pd.isna(alone.loc["mnv2", "top1_gain"])


def test_projection_is_orthonormal_and_independent_of_sample_order():
    w = random_templates(1)
    _, q = fig1.basis(w)
    np.testing.assert_allclose(q.T @ q, np.eye(2), atol=1e-12)
    x = np.random.default_rng(2).normal(size=(50, 16))
    perm = np.random.default_rng(3).permutation(50)
    np.testing.assert_allclose(fig1.project(x, w)[perm], fig1.project(x[perm], w))


def test_cluster_distances():
    points = np.array([[0, 0], [2, 0], [10, 0], [10, 2], [0, 6], [0, 6.0]])
    labels = np.array([0, 0, 1, 1, 2, 2])
    d = fig1.cluster_distances(points, labels, (0, 1, 2))
    assert d["Dc"] == pytest.approx(np.hypot(9, 1))
    assert d["D1"] == pytest.approx(np.hypot(1, 6))
    assert d["D2"] == pytest.approx(np.hypot(10, 5))
    assert d["spread_similar1"] == pytest.approx(1.0) and d["spread_different"] == 0


@pytest.mark.parametrize("alpha", [0.0, 0.1, 0.3])
def test_fig3_curve_is_the_smoothed_binary_cross_entropy(alpha):
    z = np.array([-4.0, -1.0, 0.0, 0.5, 3.0, 7.0])
    bce = F.binary_cross_entropy_with_logits(
        torch.tensor(z), torch.full((len(z),), 1 - alpha, dtype=torch.float64), reduction="none"
    )
    np.testing.assert_allclose(fig3.smoothed_logistic_loss(z, alpha), bce.numpy(), rtol=1e-12)
    if alpha > 0:  # finite minimum = binary entropy of alpha, at log((1 - alpha) / alpha)
        zmin = np.log((1 - alpha) / alpha)
        entropy = -(alpha * np.log(alpha) + (1 - alpha) * np.log(1 - alpha))
        assert fig3.smoothed_logistic_loss(zmin, alpha) == pytest.approx(entropy)


def dataset_infos(tmp_path, **specs) -> list[str]:
    """dataset.json files: name -> (kind, classes, Pareto power of a long tail we cut)."""
    paths = []
    for name, (kind, k, power) in specs.items():
        path = tmp_path / name / "dataset.json"
        path.parent.mkdir()
        path.write_text(json.dumps({"kind": kind, "num_classes": k, "long_tail_power": power}))
        paths.append(str(path))
    return paths


@pytest.mark.parametrize("key", ["long_tail_power", "long_tail_alpha"])  # the latter: before
def test_table5_reads_the_pareto_power_of_new_and_old_dataset_json(tmp_path, key):
    folder = tmp_path / "fm_lt"
    folder.mkdir()
    (folder / "dataset.json").write_text(
        json.dumps({"kind": "fashion_mnist", "num_classes": 2, key: 6.0})
    )
    labels, splits = [0] * 5 + [1] * 3 + [0, 1], ["train"] * 8 + ["val"] * 2
    pd.DataFrame({"label": labels, "split": splits}).to_csv(folder / "manifest.csv", index=False)
    assert dataset_tables.read_infos([folder / "dataset.json"]).long_tail.tolist() == [True]
    files = {"infos": (folder / "dataset.json",), "manifests": (folder / "manifest.csv",)}
    numbers, _ = dataset_tables.table5(Inputs(**files))
    ours = numbers[numbers.source == "this run"].iloc[0]
    assert (ours.long_tail_power, ours.head_class_size, ours.tail_class_size) == (6.0, 5, 3)
    assert (ours.train, ours.test) == (8, 2)


def test_paper_values_stand_only_beside_their_own_dataset(tmp_path):
    paths = dataset_infos(
        tmp_path, fm=("fashion_mnist", 10, None), fm3=("fashion_mnist", 3, None),
        in100=("image_folder", 100, None), fm_lt=("fashion_mnist", 10, 6.0),
        places=("places_lt", 365, None), inat=("inaturalist2019", 1010, None),
    )  # fmt: skip
    evals = pd.DataFrame(
        [{"dataset": d, "arch": "resnet18", "recipe": "standard", "alpha": a, "seed": 0,
          "top1": 50.0, "top3": 60.0, "top5": 70.0, "intra_class_std": 0.3}
         for d in ("fm", "fm3", "in100", "fm_lt", "places", "inat") for a in (0.0, 0.1)]
    )  # fmt: skip
    table1 = stability_tables.build(evals, "table1", paper_datasets_of(paths)).set_index("dataset")
    assert table1.loc["fm", "paper_stability_no_ls"] == 0.3359  # the embedded stand-in
    assert table1.loc[["fm3", "in100", "places"], "paper_top1_no_ls"].isna().all()
    table3, shown = dataset_tables.table3_rows(evals, dataset_tables.read_infos(paths))
    table3 = table3.set_index("dataset")
    assert sorted(table3.index) == ["fm_lt", "inat", "places"]  # released long tails too
    assert table3.loc["places", ["paper_dataset", "paper_top1_no_ls"]].tolist() == [
        "Places-LT",
        26.479,
    ]
    assert table3.loc["inat", "paper_top1_ls"] == 66.700
    assert table3.loc["fm_lt", "paper_dataset"] == "ImageNet-LT"
    assert "Places-LT" in shown["Paper dataset"].tolist()


def test_students_tables_look_up_their_own_dataset(tmp_path):
    paths = dataset_infos(tmp_path, cub=("cub200", 200, None), in100=("image_folder", 100, None))
    finals = pd.DataFrame(
        [{"dataset": d, "name": f"{d}{a}", "teacher": f"t{a}", "teacher_arch": "resnet50",
          "teacher_recipe": "standard", "teacher_alpha": a, "arch": "resnet18", "lam": 0.0,
          "temperature": 1.0, "teacher_logits": "online", "teacher_top1": 80.0,
          "teacher_top3": 90.0, "teacher_top5": 95.0, "top1": 70.0, "top3": 80.0, "top5": 90.0,
          "seed": 0} for d in ("cub", "in100") for a in (0.0, 0.1)]
    )  # fmt: skip
    stats = kd_tables.student_stats(finals)
    rows, _ = kd_tables.table7_rows(stats, datasets=paper_datasets_of(paths))
    assert len(kd_tables.table7_rows(stats, ["resnet50"])[0]) == 4  # every student: R50 teachers
    rows = rows.set_index(["dataset", "ls"])
    assert rows.loc[("cub", True), "paper_teacher_top1"] == 81.497  # CUB's, not ImageNet's
    assert rows.loc[("cub", False), "paper_student_top1"] == 77.116
    assert rows.loc["in100", "paper_student_top1"].isna().all()


def test_table10_has_the_resnext101_row():
    row = reference("table10").set_index("network").loc["ResNeXt101 32x8d"]
    assert (row.top1_no_ls, row.top5_no_ls, row.stability_no_ls) == (79.312, 94.526, 0.1596)
    assert (row.top1_ls, row.top5_ls, row.stability_ls) == (79.698, 94.768, 0.1677)
    assert round(row.stability_ls - row.stability_no_ls, 4) == 0.0081  # the paper's red number


def test_gains_by_classes_average_the_same_architectures():
    pairs = pd.DataFrame(
        {"arch": ["r18", "r50", "r18", "r18"], "num_classes": [10, 10, 3, 5],
         "top1_gain": [1.0, -9.0, 3.0, 2.0], "top5_gain": [0.0, 0.0, 0.0, 0.0]}
    )  # fmt: skip
    gains = dataset_tables.gains_by_classes(pairs).set_index("num_classes").top1_gain
    assert gains.to_dict() == {3: 3.0, 5: 2.0, 10: 1.0}  # r50 has the 10-class point only
    paper = dataset_tables.gains_by_classes(dataset_tables.paper_table4()).top1_gain
    assert paper.round(3).tolist() == [0.88, 0.455, 0.155]  # Table 4's "Average" row
