"""Figure 1's projection, Figure 3's closed form, the LS/no-LS teacher pairing of the tables, and
CLAIMS.md verdicts that follow the data."""

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from lskd.paper import claims, fig1, fig3
from lskd.paper.results import ls_pairs


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


def table1(no_ls, ls):
    return pd.DataFrame(
        [
            {
                "dataset": "d",
                "network": "ResNet-18",
                "alpha": 0.1,
                "stability_no_ls": no_ls,
                "stability_ls": ls,
            }
        ]
    )


def students(top1_plain, top1_ls, loss_plain, loss_ls, extra_teachers=()):
    base = {
        "dataset": "d",
        "teacher_arch": "resnet50",
        "teacher_recipe": "standard",
        "arch": "resnet18",
        "cached_teacher": False,
        "lam": 0.0,
        "temperature": 1.0,
        "n": 1,
        "top1_std": 0.0,
    }
    rows = [
        {
            **base,
            "name": "a",
            "teacher": "t",
            "ls": False,
            "teacher_top1": 80.0,
            "top1": top1_plain,
            "final_train_loss": loss_plain,
        },
        {
            **base,
            "name": "b",
            "teacher": "t_ls",
            "ls": True,
            "teacher_top1": 81.0,
            "top1": top1_ls,
            "final_train_loss": loss_ls,
        },
    ]
    for i, (t1, s1) in enumerate(extra_teachers):
        rows.append(
            {
                **base,
                "name": f"x{i}",
                "teacher": f"x{i}",
                "ls": True,
                "teacher_arch": f"other{i}",
                "teacher_top1": t1,
                "top1": s1,
                "final_train_loss": 1.0,
            }
        )
    return pd.DataFrame(rows)


def gains(lt_gain, gain_by_classes):
    """Table 3 and Table 4 rows with the given LS top-1 gains (resnet18)."""
    t3 = pd.DataFrame([{"dataset": "d_lt", "arch": "resnet18", "top1_gain": lt_gain}])
    t4 = pd.DataFrame(
        [{"arch": "resnet18", "num_classes": k, "top1_gain": g} for k, g in gain_by_classes.items()]
    )
    return t3, t4


def nmt(teacher_bleu, student_bleu):
    """The NMT table's rows: best valid BLEU without and with LS, for teachers and students."""
    return pd.DataFrame(
        [
            {"role": role, "ls": ls, "best_valid_bleu": bleu[ls], "valid_ppl_at_best": 9.0}
            for role, bleu in (("teacher", teacher_bleu), ("student", student_bleu))
            for ls in (False, True)
        ]
    )


def verdicts(t1, st, t3=None, t4=None, nmt_rows=None):
    if t3 is None:
        t3, t4 = gains(-0.5, {3: 1.0, 10: 0.2})
    if nmt_rows is None:
        nmt_rows = nmt({False: 20.0, True: 21.0}, {False: 19.0, True: 19.5})
    return [c.verdict for c in claims.evaluate(t1, st, t3, t4, nmt_rows)]


def test_claims_reproduced_when_results_agree():
    v = verdicts(table1(0.30, 0.29), students(70.0, 70.2, 0.5, 0.9, [(85.0, 72.0)]))
    assert v == ["reproduced"] * 6


def test_claims_flip_when_results_contradict():
    # LS raises variance; LS student 2 points worse with a lower loss; better teachers, worse
    # students; LS helps more on the long tail, and more with more classes
    # students of the LS teacher, 1 BLEU point worse
    t3, t4 = gains(2.0, {3: 0.1, 10: 0.9})
    nmt_rows = nmt({False: 20.0, True: 21.0}, {False: 19.0, True: 18.0})
    v = verdicts(
        table1(0.29, 0.30), students(72.0, 70.0, 0.9, 0.5, [(85.0, 60.0)]), t3, t4, nmt_rows
    )
    assert v == ["not reproduced"] * 6
    # an LS teacher no better than the plain one is not "LS boosts BLEU"
    v = verdicts(table1(0.30, 0.29), students(70.0, 70.2, 0.5, 0.9, [(85.0, 72.0)]),
                 nmt_rows=nmt({False: 20.0, True: 20.0}, {False: 19.0, True: 19.5}))  # fmt: skip
    assert v[-1] == "not reproduced"


def test_claims_not_run_without_experiments():
    empty = students(70, 70, 1, 1).iloc[:0]
    no_rows = pd.DataFrame(columns=["dataset", "arch", "top1_gain", "num_classes"])
    v = verdicts(table1(np.nan, np.nan), empty, no_rows, no_rows, pd.DataFrame())
    assert v == ["not run"] * 6
    rendered = claims.render(
        claims.evaluate(table1(np.nan, np.nan), empty, no_rows, no_rows, pd.DataFrame())
    )
    assert "**not run**" in rendered
