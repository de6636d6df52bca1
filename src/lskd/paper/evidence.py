"""What CLAIMS.md checks, in one form for this run (here) and for the paper's tables
(``reference_evidence``): a frame per table the claims read, one row per model and seed, and
``estimate`` for a weighted sum of models' metrics with its interval (``uncertainty``).

Frames (columns; ``key`` locates a model's per-image predictions, ``seed`` pairs models):

- table1 (every teacher; table3: the long-tailed ones; table4: balanced, standard recipe):
  dataset, num_classes, long_tail, arch, recipe, alpha, seed, top1, stability (Algorithm 1),
  inter (Eq. 5), key
- table7 (soft-label students on balanced data; table6: on long-tailed data; table8: all of them;
  table9: hard/soft mixtures): dataset, teacher_arch, teacher_recipe, teacher_alpha, teacher_top1,
  arch, lam, temperature, teacher_logits, seed, top1, train_loss, val_kd_loss, val_kl, key,
  teacher_key
- bnn: dataset, teacher_arch, teacher_recipe, teacher_alpha, seed, top1, key
- nmt: role, dataset, teacher_alpha, seed, test_bleu, ppl (validation perplexity), key
"""

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from lskd.evaluate import load_predictions
from lskd.paper import fig1, resampled, sentence_bleu
from lskd.paper.uncertainty import (
    UNDEFINED,
    Estimate,
    Pooled,
    bootstrap_se,
    combine,
    over_seeds,
)
from lskd.records import read_nmt_runs, read_runs, test_bleu


@dataclass
class Evidence:
    tables: dict[str, pd.DataFrame]
    source: str
    untestable: dict[str, str] = field(default_factory=dict)  # claim letter -> why
    nothing = "not run"  # the verdict of a claim with no comparison

    def table(self, name: str) -> pd.DataFrame:
        return self.tables.get(name, pd.DataFrame())

    def estimate(self, terms, metric: str) -> Estimate | None:
        """sum(weight * metric) over ``terms`` [(weight, rows of one model, one per seed)]."""
        raise NotImplementedError


# metric -> (frame column, payload of a row or None, vectorised statistic); no payload: the
# interval covers the seeds only (training loss, perplexity: no per-image numbers)
METRICS = {
    "top1": ("top1", lambda ev, r: ev.correct(r["key"]), resampled.mean),
    "teacher_top1": ("teacher_top1", lambda ev, r: ev.correct(r["teacher_key"]), resampled.mean),
    "stability": (
        "stability",
        lambda ev, r: ev.per_class(r["key"], False),
        resampled.intra_class_std,
    ),
    "inter": ("inter", lambda ev, r: ev.per_class(r["key"], True), resampled.inter_class_variance),
    "val_kd_loss": ("val_kd_loss", lambda ev, r: ev.kd_loss(r, kl=False), resampled.mean),
    "val_kl": ("val_kl", lambda ev, r: ev.kd_loss(r, kl=True), resampled.mean),
    "test_bleu": ("test_bleu", lambda ev, r: ev.sentence_stats(r["key"]), resampled.bleu),
    "train_loss": ("train_loss", None, None),
    "ppl": ("ppl", None, None),
}

MEMORY = 2e7  # array elements one vectorised bootstrap batch may hold


def _items(payload) -> tuple[int, int]:
    """(test items, elements per item) of a payload."""
    first = payload[1] if isinstance(payload, tuple) else payload
    return len(first), int(np.prod(first.shape[1:])) * (2 if isinstance(payload, tuple) else 1)


class RunEvidence(Evidence):
    """This run's result files; per-image predictions are read when an estimate needs them."""

    def __init__(self, tables, fig1_features=()):
        super().__init__(tables, "this run")
        self.fig1_features = list(fig1_features)
        self._loaded = {}

    def predictions(self, key) -> dict | None:
        if not isinstance(key, str) or not Path(key).exists():
            return None
        if key not in self._loaded:
            self._loaded[key] = load_predictions(key)
        return self._loaded[key]

    def correct(self, key):
        p = self.predictions(key)
        return None if p is None else 100.0 * (p["pred"] == p["label"])

    def per_class(self, key, whole_vectors: bool):
        """(labels, true-class probabilities or probability vectors, classes)."""
        p = self.predictions(key)
        if p is None or (whole_vectors and "log_probs" not in p):
            return None
        label = p["label"].astype(np.int64)
        if whole_vectors:
            return label, np.exp(p["log_probs"].astype(np.float32)), p["log_probs"].shape[1]
        return label, p["true_prob"].astype(np.float64), int(label.max()) + 1

    def kd_loss(self, row, kl: bool):
        """Per image: Eq. 4's H(p_T, p_S) on the validation images, or its KL part
        H(p_T, p_S) - H(p_T) (the teacher's entropy is in the loss by construction)."""
        s, t = self.predictions(row["key"]), self.predictions(row["teacher_key"])
        if s is None or t is None or "log_probs" not in s or "log_probs" not in t:
            return None
        teacher = np.exp(t["log_probs"].astype(np.float32))
        loss = -(teacher * s["log_probs"].astype(np.float32)).sum(axis=1)
        return loss - t["entropy"] if kl else loss

    def sentence_stats(self, key):
        if not isinstance(key, str) or not Path(key).exists():
            return None
        if key not in self._loaded:
            self._loaded[key] = sentence_bleu.sentence_stats(Path(key).read_text(encoding="utf-8"))
        return self._loaded[key]

    def estimate(self, terms, metric):
        by_images = {}  # models of one dataset share its images; datasets are independent
        for weight, rows in terms:
            by_images.setdefault(rows.dataset.iloc[0], []).append((weight, rows))
        parts = [self._on_one_dataset(group, metric) for group in by_images.values()]
        if any(part is None for part in parts):
            return None
        return parts[0] if len(parts) == 1 else combine([(1.0, part) for part in parts])

    def _on_one_dataset(self, terms, metric):
        column, payload, statistic = METRICS[metric]
        if any(column not in rows for _, rows in terms):
            return None
        models = [(w, rows.set_index("seed")) for w, rows in terms]
        if any(rows.index.duplicated().any() for _, rows in models):
            return None  # two configured models alike: no pairing by seed
        seeds = sorted(set.intersection(*(set(rows.index) for _, rows in models)))
        per_seed = [sum(w * float(rows.at[s, column]) for w, rows in models) for s in seeds]
        if not seeds or not np.all(np.isfinite(per_seed)):
            return None
        pooled = self.pooled(models, column) if len(seeds) == 1 else None
        loads = []
        for w, rows in models if payload is not None else ():
            loads += [(w / len(seeds), payload(self, rows.loc[s])) for s in seeds]
        sizes = {_items(load)[0] for _, load in loads if load is not None}
        if not loads or any(load is None for _, load in loads) or len(sizes) != 1:
            return over_seeds(per_seed, None, pooled=pooled)
        items, width = sizes.pop(), max(_items(load)[1] for _, load in loads)
        batch = int(max(1, min(1000, MEMORY // (items * width))))

        def effect(idx):
            return sum(w * statistic(load, idx) for w, load in loads)

        return over_seeds(per_seed, bootstrap_se(effect, items, batch), items, pooled)

    def pooled(self, models, column: str) -> Pooled | None:
        """For a one-seed effect sum(w * model's ``column``): sum(w^2) times the seed variance
        of ``column`` pooled over this run's models of the same kind (teachers, students,
        ReActNet students, translation teachers or students) that have two or more seeds."""
        weight = {}  # kind: sum of w^2 (one pooled variance per kind: their parts move as one)
        for w, rows in models:
            kind = _kind(rows["key"].iloc[0])
            weight[kind] = weight.get(kind, 0.0) + w * w
        parts = []
        for kind, w2 in weight.items():
            found = self._seed_variance(kind, column)
            if found is None:
                return None
            parts.append((w2 * found[0], found[1], found[2]))
        variance, df = sum(v for v, _, _ in parts), min(d for _, d, _ in parts)  # conservative
        return Pooled(variance, df, "; ".join(sorted({r for _, _, r in parts})))

    def _seed_variance(self, kind: str, column: str):
        """(pooled variance, df, which runs) of ``column`` over the runs of ``kind`` with several
        seeds, or None."""
        frames = [f for f in self.tables.values() if {"key", "seed", column} <= set(f.columns)]
        if not frames:
            return None
        rows = pd.concat(frames).drop_duplicates("key")
        rows = rows[[_kind(k) == kind for k in rows.key]]
        rows = rows.assign(run=[_run(k) for k in rows.key])
        groups = rows.groupby("run")[column]
        n, var = groups.count(), groups.var(ddof=1)
        several = n[n >= 2].index
        df = float((n[several] - 1).sum())
        if df == 0:
            return None
        pooled = float(((n[several] - 1) * var[several]).sum() / df)
        return (
            pooled,
            df,
            f"{len(several)} {kind} with {'/'.join(map(str, sorted(set(n[several]))))} seeds",
        )

    def fig1_effect(self, split: str) -> Estimate | None:
        """Figure 1: LS minus no-LS teacher of Dc / (mean spread of the two similar classes),
        in the plane of the three templates; bootstrap over the same images of both."""
        rows = self.table("fig1")
        rows = rows[rows.split == split].set_index("model") if len(rows) else rows
        if len(rows) != 2:
            return None
        effect = float(_separation(rows.loc["w/ LS"]) - _separation(rows.loc["w/o LS"]))
        if len(self.fig1_features) != 2 or not all(Path(p).exists() for p in self.fig1_features):
            return over_seeds([effect], None)
        models = [_projected(path, split) for path in self.fig1_features]  # w/o, w/ LS

        def stat(idx):
            return np.array([_resampled(*models[1], i) - _resampled(*models[0], i) for i in idx])

        items = len(models[0][1])
        with np.errstate(all="ignore"):  # a resample without a class: NaN, counted below
            se = bootstrap_se(stat, items)
        if not np.isfinite(se):
            return Estimate(effect, n=1, how=f"{UNDEFINED}: a resample of the {items} images "
                            "left a similar class with no spread; more images per class would "
                            "give an interval")  # fmt: skip
        return over_seeds([effect], se, items)


_SEED_FOLDER = re.compile(r"/seed\d+(?=/)")
KINDS = {  # a part of a result file's path: the kind of run (nmt and bnn first: they are nested)
    "nmt/teachers": "translation teachers",
    "nmt/students": "translation students",
    "/bnn/": "ReActNet students",
    "/students/": "students",
    "/teachers/": "teachers",
}


def _run(key) -> str:
    """The run a result file belongs to, whatever its seed."""
    return _SEED_FOLDER.sub("/seed*", str(key))


def _kind(key) -> str:
    """teachers, students, ReActNet students or translation teachers/students, from the path of
    a run's result file (results/<dataset>/<kind>/...); "runs" where the path does not say."""
    return next((name for part, name in KINDS.items() if part in str(key)), "runs")


def _separation(distances) -> float:
    """Dc over the mean spread of the two similar classes (LS also shrinks the features, so raw
    distances would shrink with them), from a fig1_distances.csv row or cluster_distances; NaN
    where the spread is 0 or undefined (one image, or none, of a class)."""
    spread = (distances["spread_similar1"] + distances["spread_similar2"]) / 2
    return distances["Dc"] / spread if spread > 0 else float("nan")


def _resampled(points, labels, order, idx) -> float:
    return _separation(fig1.cluster_distances(points[idx], labels[idx], order))


def _projected(path, split: str):
    """(points in the plane of the templates, labels, class order) of one teacher's npz."""
    with np.load(path, allow_pickle=False) as data:
        index = data["class_index"]
        points = fig1.project(data[f"{split}_features"], data["templates"][index])
        return points, data[f"{split}_labels"], tuple(index)


TEACHERS = ["dataset", "num_classes", "long_tail", "name", "arch", "recipe", "alpha", "seed",
            "top1", "stability", "inter", "key"]  # fmt: skip


def _teachers(eval_paths, infos: pd.DataFrame) -> pd.DataFrame:
    runs = read_runs(eval_paths)
    columns = [c for c in TEACHERS if c not in ("num_classes", "long_tail")]
    if runs.empty:
        frame = pd.DataFrame(columns=columns)
    else:
        runs["key"] = [str(Path(p).with_name("predictions.npz")) for p in eval_paths]
        names = {"intra_class_std": "stability", "inter_class_variance": "inter"}
        frame = runs.rename(columns=names)[columns]
    frame = frame.merge(infos[["dataset", "num_classes", "long_tail"]], on="dataset", how="left")
    return frame[TEACHERS]


def _last(metrics_csv: Path, column: str) -> float:
    metrics = pd.read_csv(metrics_csv)
    return float(metrics[column].iloc[-1]) if column in metrics else float("nan")


STUDENTS = ["dataset", "teacher", "teacher_arch", "teacher_recipe", "teacher_alpha", "arch", "lam",
            "temperature", "teacher_logits", "seed", "top1", "teacher_top1"]  # fmt: skip


def _students(eval_paths, infos: pd.DataFrame, teachers: pd.DataFrame) -> pd.DataFrame:
    """Students (from their eval.json, which keeps the final.json fields) with the last epoch's
    training and validation distillation losses, and their teacher's predictions (same seed)."""
    runs = read_runs(eval_paths)
    if runs.empty:
        return runs
    frame = runs[STUDENTS].copy()
    teacher_rows = teachers.set_index(["dataset", "name", "seed"])
    own = [t if t in teacher_rows.index else None
           for t in zip(runs.dataset, runs.teacher, runs.seed, strict=True)]  # fmt: skip
    frame["teacher_top1"] = [
        teacher_rows.at[t, "top1"] if t else recorded
        for t, recorded in zip(own, runs.teacher_top1, strict=True)
    ]
    frame["teacher_key"] = [teacher_rows.at[t, "key"] if t else None for t in own]
    folders = [Path(p).parent.parent for p in eval_paths]
    frame["train_loss"] = [_last(run / "metrics.csv", "train_loss") for run in folders]
    frame["val_kd_loss"] = [_last(run / "metrics.csv", "val_kd_loss") for run in folders]
    frame["key"] = [str(Path(p).with_name("predictions.npz")) for p in eval_paths]
    return frame.drop(columns="teacher").merge(infos[["dataset", "long_tail"]], on="dataset",
                                               how="left")  # fmt: skip


def _with_kl(ev: RunEvidence, students: pd.DataFrame) -> pd.DataFrame:
    """val_kl: the validation distillation loss minus the teacher's mean entropy on the same
    images (soft labels only, T = 1, where the loss is exactly H(p_T, p_S))."""
    entropy = [
        float(ev.predictions(k)["entropy"].mean()) if ev.predictions(k) else np.nan
        for k in students.teacher_key
    ]
    soft = (students.lam == 0) & (students.temperature == 1)
    return students.assign(val_kl=np.where(soft, students.val_kd_loss - entropy, np.nan))


def _bnn(eval_paths) -> pd.DataFrame:
    runs = read_runs(eval_paths)
    if runs.empty:
        return runs
    keys = ["dataset", "teacher_arch", "teacher_recipe", "teacher_alpha", "seed", "top1"]
    return runs[keys].assign(key=[str(Path(p).with_name("predictions.npz")) for p in eval_paths])


def _nmt(final_paths) -> pd.DataFrame:
    """NMT runs: BLEU on the test split (test.json, the generate log beside it for the
    bootstrap), perplexity on the validation split at the chosen (best-BLEU) epoch."""
    runs = read_nmt_runs(final_paths)
    if runs.empty:
        return runs
    folders = [Path(p).parent for p in final_paths]
    return pd.DataFrame({
        "role": runs.role, "dataset": "test sentences", "teacher_alpha": runs.teacher_alpha,
        "seed": runs.seed,
        "test_bleu": [test_bleu(run / "test.json") for run in folders],
        "ppl": runs.valid_ppl_at_best, "key": [str(run / "test.generate.txt") for run in folders],
    })  # fmt: skip


def load_run(
    teacher_evals, student_evals, bnn_evals, infos, fig1_distances=None, fig1_features=(),
    nmt_finals=(),
) -> RunEvidence:  # fmt: skip
    """This run's evidence from its result files (per-image predictions beside each eval.json,
    the NMT generate logs beside each test.json)."""
    from lskd.paper.dataset_tables import read_infos

    info = read_infos(infos)
    ev = RunEvidence({}, fig1_features)
    teachers = _teachers(teacher_evals, info)
    teachers["long_tail"] = teachers.long_tail.astype("boolean").fillna(False).astype(bool)
    students = _students(student_evals, info, teachers)
    if len(students):
        students = _with_kl(ev, students)
        students["long_tail"] = students.long_tail.astype("boolean").fillna(False).astype(bool)
        soft = students[(students.lam == 0) & (students.temperature == 1)]
        mixed = students[(students.lam > 0) & (students.temperature == 1)]
    else:
        soft = mixed = students
    ev.tables = {
        "table1": teachers,
        "table3": teachers[teachers.long_tail],
        "table4": teachers[~teachers.long_tail & (teachers.recipe == "standard")],
        "table7": soft[~soft.long_tail] if len(soft) else soft,
        "table6": soft[soft.long_tail] if len(soft) else soft,
        "table8": soft,
        "table9": mixed,
        "bnn": _bnn(bnn_evals),
        "nmt": _nmt(nmt_finals),
        "fig1": pd.read_csv(fig1_distances) if fig1_distances else pd.DataFrame(),
    }
    return ev
