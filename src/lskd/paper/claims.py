"""results/CLAIMS.md: the claims (a)-(m) of Shen et al. (ICLR 2021), each checked by one
function against this run's result files or the paper's own tables (``lskd claims
--reference DIR``), the same code for both (``evidence``, ``reference_evidence``).

A claim is tested by comparisons; each prints its effect, a 95 % interval, n and a verdict:
*supports*, *contradicts* or *inconclusive* (rules in ``uncertainty``). A claim is decided as it
is worded (``WORDING``): an "every"/"each" claim needs every setting to support it, its
comparisons' decisions corrected for their number (Holm); a "generally" claim is decided by a
random-effects estimate pooled over its settings, with their heterogeneity; a claim of several
parts needs each part. It is *reproduced* when its rule is met, *not reproduced* when a
comparison (after the correction) or the pooled estimate contradicts it, *inconclusive*
otherwise (the comparisons say what would settle it), *not testable at this scale* when its
teachers did not learn their task (``claims.competence``), and *not run* when this run has no
experiment for it.
"""

import dataclasses
import itertools
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lskd.paper import arch_name, network_name, paper_row_name
from lskd.paper.kd_tables import teacher_label
from lskd.paper.results import reference
from lskd.paper.uncertainty import (
    CONTRADICTS,
    INCONCLUSIVE,
    SUPPORTS,
    Estimate,
    direction,
    holm,
    not_worse,
    one_sided_p,
    random_effects,
    settle,
    spearman,
)

# The config's `claims` node, as the schema's defaults fill it (a test keeps them equal)
SETTINGS = {
    "margins": {
        "top1": {"margin": 0.5, "reason": "about four times the largest seed standard deviation "
                 "the paper prints for a student (0.120 top-1 points, Table 2): smaller "
                 "differences are the paper's \"comparable\""},
        "bleu": {"margin": 0.5, "reason": "half the 1 BLEU that translation papers usually need "
                 "before calling two systems different (Koehn, 2004)"},
    },
    "competence": {"top1": 0.2, "bleu": 10.0},
}  # fmt: skip
STUDENT_KEYS = ["dataset", "teacher_arch", "teacher_recipe", "arch", "lam", "temperature", "cached"]
TEACHER_KEYS = ["dataset", "arch", "recipe"]
RECIPES = ["standard", "long", "cutmix"]  # Table 1's rows: standard, +Long, +Long+CutMix

CLAIMS = {  # letter: (claim, where, what the paper says)
    "a": ("LS lowers the intra-class variance 1 − S of every teacher", "Table 1",
          "1 − S (Algorithm 1) is lower with LS for every architecture"),
    "b": ("Longer training, and CutMix on top, lower 1 − S further", "Table 1",
          "+Long and +Long+CutMix rows: LS teachers' 1 − S falls with each"),
    "c": ("Stability follows accuracy across teachers", "Table 1, Section 3.1",
          "accuracy and S_stability have a positive correlation"),
    "d": ("The inter-class variance moves with LS as Table 10 prints it", "Table 10",
          "1 − S^inter (Eq. 5) falls with LS for ResNets, MobileNet v2, DenseNet and rises "
          "for ResNeXt and Wide ResNet"),
    "e": ("LS pulls semantically similar classes apart, relative to their spread", "Figure 1",
          "the clusters of two similar classes get tighter and their distance Dc grows"),
    "f": ("On balanced data, students of LS teachers are not worse", "Tables 2 and 7",
          "an LS teacher distills a student as good or better (ImageNet, CUB, iMaterialist)"),
    "g": ("Inferior (long-tailed) LS teachers distill worse students", "Table 6, Appendix B",
          "on iNaturalist 2019 the LS teachers are worse and so are their students"),
    "h": ("With an LS teacher the distillation loss is higher at similar accuracy", "Figure 5",
          "higher training loss, comparable or slightly better validation accuracy"),
    "i": ("Better teachers distill better students", "Table 8, Figure 8",
          "for a fixed student, a more accurate teacher gives a more accurate student"),
    "j": ("Mixed with hard labels, the LS teacher's student is not worse at each λ", "Table 9",
          "λ = 0.3, 0.5, 0.7: the LS teacher's student is as good or better"),
    "k": ("LS helps less on long-tailed data and as the number of classes grows",
          "Tables 3 and 4, Figure 9",
          "negative LS gains on long-tailed sets; the mean gain over the same two architectures "
          "falls from 100 to 500 to 1,000 classes"),
    "l": ("Binary students: the LS teacher's ReActNet student is not worse", "Figure 6",
          "63.108 % vs 63.002 % top-1 (ReActNet from ResNet-50 teachers, ImageNet)"),
    "m": ("Translation: the LS teacher has the higher BLEU and the worse perplexity; its "
          "student's BLEU is not worse", "Figure 7",
          "LS boosts the teacher's BLEU despite a worse perplexity; its student's BLEU is "
          "higher"),
}  # fmt: skip


# How each claim is worded, so decided: "every" (each setting supports; Holm over them),
# "pooled" (a random-effects estimate over the settings), parts (each decided by its own rule,
# the claim reproduced when all are), or "described" (shown, no verdict)
WORDING = {
    "a": "every",
    "b": "every",
    "c": "every",
    "d": "described",
    "e": "every",
    "f": "pooled",
    "g": "every",
    "h": {"loss": "every", "top-1": "pooled"},
    "i": "pooled",
    "j": "every",
    "k": {"long tail": "every", "classes": "every"},
    "l": "every",
    "m": {"teacher BLEU": "every", "teacher perplexity": "every", "student BLEU": "every"},
}
RULE_TEXT = {
    "every": "every setting must support it (each comparison's decision corrected for their "
    "number, Holm); one that contradicts it decides against",
    "pooled": "generally: decided by the random-effects estimate pooled over its settings "
    "(heterogeneity shown), unless a setting contradicts it (Holm over the settings)",
    "described": "not a claim of the paper (it describes Table 10, and the check would compare "
    "Table 10 with itself): shown, not decided",
}
DISTILLATION = set("fghijlm")  # claims about students: their teachers must have learned
NOT_TESTABLE = "not testable at this scale"
LEFT_OUT = "left out"  # a comparison's verdict when the check cannot make it (the note says why)
DESCRIBED = "described, not decided"


@dataclass
class Comparison:
    label: str
    est: Estimate | None
    rule: str  # what the claim says of the effect
    verdict: str
    digits: int = 2
    note: str = ""
    counts: bool = True  # False: shown beside, not part of the verdict
    sign: int = 1  # the claim says sign * (effect - threshold) > 0
    threshold: float = 0.0
    metric: str = ""  # a "not worse" comparison's margin metric (its threshold is -margin)
    part: str = ""  # the part of a claim of several (WORDING)
    teachers: tuple = ()  # (dataset, arch, recipe, alpha) of the teachers it distills from


@dataclass
class Claim:
    letter: str
    comparisons: list[Comparison] = field(default_factory=list)
    verdict: str = "not run"
    why: str = ""
    dropped: list[str] = field(default_factory=list)  # comparisons left out, each with why
    pooled: list[Comparison] = field(default_factory=list)  # the estimates that decide
    parts: dict[str, str] = field(default_factory=dict)  # part -> its verdict
    sensitivity: str = ""  # its verdict at other margins

    @property
    def title(self) -> str:
        return CLAIMS[self.letter][0]

    @property
    def where(self) -> str:
        return CLAIMS[self.letter][1]


def _directional(label, est, sign, digits=2, note="", counts=True, **extra) -> Comparison:
    verdict = direction(est, sign)
    if verdict == INCONCLUSIVE and not note:
        note = settle(est)
    rule = "> 0" if sign > 0 else "< 0"
    return Comparison(label, est, rule, verdict, digits, note, counts, sign, **extra)


def _not_worse(label, est, margin, metric, digits=2, **extra) -> Comparison:
    verdict = not_worse(est, margin)
    note = settle(est, -margin) if verdict == INCONCLUSIVE else ""
    rule = f"> −{margin:g} (margin)"
    return Comparison(label, est, rule, verdict, digits, note, True, 1, -margin, metric, **extra)


def _ls_pairs(frame, keys, alpha="alpha"):
    """(key, rows without LS, rows with LS) for each group of ``keys`` and each alpha > 0."""
    if frame.empty:
        return
    for key, group in frame.groupby(keys, sort=True):
        plain = group[group[alpha] == 0]
        for _, smoothed in group[group[alpha] > 0].groupby(alpha, sort=True):
            if len(plain):
                yield key, plain, smoothed


def _gain(plain, smoothed) -> list:
    return [(1.0, smoothed), (-1.0, plain)]


def stability_lower(ev) -> list[Comparison]:
    """(a) per LS pair of teachers: 1 - S with LS minus without, < 0."""
    out = []
    for (dataset, arch, recipe), plain, ls in _ls_pairs(ev.table("table1"), TEACHER_KEYS):
        est = ev.estimate(_gain(plain, ls), "stability")
        alpha = ls.alpha.iloc[0]
        if est is not None:
            out.append(_directional(f"{dataset} {network_name(arch, recipe)} (α={alpha:g})",
                                    est, -1, 4))  # fmt: skip
    return out


def longer_training_lower(ev) -> list[Comparison]:
    """(b) per LS teacher: 1 - S of each configured recipe minus the one before it in
    standard -> +Long -> +Long+CutMix, < 0. The claim is the LS teachers': the same steps of the
    teachers without LS are shown beside (in the paper their 1 - S rises, 0.3217 -> 0.3222)."""
    table, out = ev.table("table1"), []
    if table.empty:
        return out
    for (dataset, arch, alpha), group in table.groupby(["dataset", "arch", "alpha"], sort=True):
        present = [r for r in RECIPES if (group.recipe == r).any()]
        side = f"w/ LS (α={alpha:g})" if alpha > 0 else "w/o LS (beside: the claim is LS's)"
        for before, after in itertools.pairwise(present):
            rows = {r: group[group.recipe == r] for r in (before, after)}
            est = ev.estimate([(1.0, rows[after]), (-1.0, rows[before])], "stability")
            label = (f"{dataset} {side}: {network_name(arch, after)} minus "
                     f"{network_name(arch, before)}")  # fmt: skip
            if est is not None:
                out.append(_directional(label, est, -1, 4, counts=alpha > 0))
    return out


def stability_follows_accuracy(ev) -> list[Comparison]:
    """(c) per dataset with three or more teachers: Spearman's rho of top-1 and S (= 1 minus
    the printed 1 - S) over the teachers (means over seeds), > 0."""
    table, out = ev.table("table1"), []
    if table.empty or not {"top1", "stability"} <= set(table.columns):
        return out
    means = table.groupby(TEACHER_KEYS + ["alpha"], sort=True)[["top1", "stability"]].mean()
    for dataset, group in means.dropna().groupby(level="dataset", sort=True):
        if len(group) >= 3:
            est = spearman(group.top1, -group.stability)
            out.append(_directional(f"{dataset}: ρ(top-1, S) over {len(group)} teachers",
                                    est, +1, 2))  # fmt: skip
    return out


def inter_class_as_table10(ev) -> list[Comparison]:
    """(d) per LS pair whose network Table 10 prints: 1 - S^inter with LS minus without has
    the sign of the paper's (the package's reference, whatever tables are checked)."""
    paper = reference("table10").set_index("network")
    signs = np.sign(paper.stability_ls - paper.stability_no_ls).dropna()
    out = []
    for (dataset, arch, recipe), plain, ls in _ls_pairs(ev.table("table1"), TEACHER_KEYS):
        sign = signs.get(paper_row_name(arch, recipe), 0)
        est = ev.estimate(_gain(plain, ls), "inter")
        if sign != 0 and est is not None:
            word = "rises" if sign > 0 else "falls"
            label = f"{dataset} {network_name(arch, recipe)} (Table 10: {word})"
            out.append(_directional(label, est, int(sign), 4, counts=False))
    return out


def similar_classes_apart(ev) -> list[Comparison]:
    """(e) Dc / spread of the two similar classes, LS minus no LS, > 0, on the training images
    (the paper: "we mainly analyze the visualization from the training data"); the validation
    images beside."""
    out = []
    for split, counts in (("train", True), ("val", False)):
        est = ev.fig1_effect(split) if hasattr(ev, "fig1_effect") else None
        if est is not None:
            label = f"Dc / mean spread of the similar classes, {split} images"
            out.append(_directional(label, est, +1, 3, counts=counts))
    return out


def _teachers(key, alpha_ls) -> tuple:
    """The two teachers of a student pair: (dataset, arch, recipe, alpha) without and with LS."""
    dataset, t_arch, t_recipe = key[:3]
    return ((dataset, t_arch, t_recipe, 0.0), (dataset, t_arch, t_recipe, float(alpha_ls)))


def _student_label(key) -> str:
    dataset, t_arch, t_recipe, arch, lam, temperature, _ = key
    extra = (f", λ={lam:g}" if lam else "") + (f", T={temperature:g}" if temperature != 1 else "")
    return f"{dataset} {network_name(t_arch, t_recipe)} → {arch_name(arch)}{extra}"


def students_not_worse(ev, margin: float, table: str = "table7") -> list[Comparison]:
    """(f, j) per student pair whose teachers differ only in LS: top-1 of the LS teacher's
    student minus the other's, > -margin (non-inferiority)."""
    out = []
    for key, plain, ls in _ls_pairs(ev.table(table), STUDENT_KEYS, "teacher_alpha"):
        est = ev.estimate(_gain(plain, ls), "top1")
        teachers = _teachers(key, ls.teacher_alpha.iloc[0])
        if est is not None:
            out.append(_not_worse(_student_label(key), est, margin, "top1", teachers=teachers))
    return out


def inferior_teachers_worse(ev) -> list[Comparison]:
    """(g) long-tailed data: where the LS teacher is conclusively worse (the premise), its
    student's top-1 minus the other's, < 0."""
    out = []
    for key, plain, ls in _ls_pairs(ev.table("table6"), STUDENT_KEYS, "teacher_alpha"):
        teacher = ev.estimate(_gain(plain, ls), "teacher_top1")
        est = ev.estimate(_gain(plain, ls), "top1")
        if est is None:
            continue
        label, teachers = _student_label(key), _teachers(key, ls.teacher_alpha.iloc[0])
        if teacher is not None and direction(teacher, -1) == SUPPORTS:
            note = f"the LS teacher is worse by {-teacher.effect:.2f} points"
            out.append(_directional(label, est, -1, 2, note=note, teachers=teachers))
        else:
            gap = "" if teacher is None else f" ({teacher.effect:+.2f} points)"
            note = (f"premise unmet: the LS teacher is not conclusively worse here{gap}; an "
                    "inferior LS teacher would test the claim")  # fmt: skip
            out.append(Comparison(label, est, "< 0", LEFT_OUT, 2, note, counts=False))
    return out


def higher_loss_similar_accuracy(ev, margin: float) -> list[Comparison]:
    """(h) per soft-label student pair on balanced data: the last epoch's training loss and the
    validation distillation loss (Eq. 4) are higher with the LS teacher (> 0), top-1 is not
    worse; the KL part of the validation loss beside (Eq. 4 contains the teacher's entropy,
    which LS raises: "higher" is partly by construction)."""
    out = []
    for key, plain, ls in _ls_pairs(ev.table("table7"), STUDENT_KEYS, "teacher_alpha"):
        loss = ev.estimate(_gain(plain, ls), "train_loss")
        if loss is None:
            continue
        label = _student_label(key)
        given = {"teachers": _teachers(key, ls.teacher_alpha.iloc[0])}
        loss_part = given | {"part": "loss"}
        out.append(_directional(f"{label}: training loss", loss, +1, 3, **loss_part))
        val = ev.estimate(_gain(plain, ls), "val_kd_loss")
        if val is not None:
            out.append(_directional(f"{label}: validation loss", val, +1, 3, **loss_part))
        kl = ev.estimate(_gain(plain, ls), "val_kl")
        if kl is not None:
            kl_label = f"{label}: its KL part (loss − teacher entropy)"
            out.append(_directional(kl_label, kl, +1, 3, counts=False, **loss_part))
        top1 = ev.estimate(_gain(plain, ls), "top1")
        if top1 is not None:
            top1_part = given | {"part": "top-1"}
            out.append(_not_worse(f"{label}: top-1", top1, margin, "top1", **top1_part))
    return out


def better_teachers_better_students(ev) -> list[Comparison]:
    """(i) per student and every two of its teachers whose top-1 differ conclusively: the
    better teacher's student minus the other's, > 0."""
    table, out = ev.table("table8"), []
    if table.empty:
        return out
    for (dataset, arch, _), group in table.groupby(["dataset", "arch", "cached"], sort=True):
        teachers = list(group.groupby(["teacher_arch", "teacher_recipe", "teacher_alpha"]))
        undecided = 0
        for (a, rows_a), (b, rows_b) in itertools.combinations(teachers, 2):
            gap = ev.estimate([(1.0, rows_a), (-1.0, rows_b)], "teacher_top1")
            if gap is None or direction(gap, +1) == INCONCLUSIVE:
                undecided += 1
                continue
            pair = [(a, rows_a), (b, rows_b)]
            (better, r_better), (worse, r_worse) = pair if gap.effect > 0 else pair[::-1]
            est = ev.estimate([(1.0, r_better), (-1.0, r_worse)], "top1")
            label = (f"{dataset} → {arch_name(arch)}: from {teacher_label(*better)} minus from "
                     f"{teacher_label(*worse)} (teachers {abs(gap.effect):.2f} apart)")  # fmt: skip
            teachers = ((dataset, *better), (dataset, *worse))
            if est is not None:
                out.append(_directional(label, est, +1, 2, teachers=teachers))
        if undecided and not out:
            why = f"{undecided} pairs of teachers whose top-1 do not differ conclusively"
            note = "teachers further apart, or more test images, would settle it"
            out.append(Comparison(f"{dataset} → {arch_name(arch)}: {why}", None, "> 0",
                                  INCONCLUSIVE, 2, note))  # fmt: skip
    return out


def _nearest_balanced(pairs, arch, classes):
    """The balanced LS pair of ``arch`` whose number of classes is nearest ``classes``."""
    found = [(abs(p.num_classes.iloc[0] - classes), key, p, s)
             for key, p, s in pairs if key[1] == arch]  # fmt: skip
    return min(found, key=lambda t: t[0])[1:] if found else None


def long_tail_helps_less(ev) -> list[Comparison]:
    """(k, Table 3) per long-tailed LS pair: its top-1 gain minus the gain of the same
    architecture on the balanced data (Table 4's) of the nearest number of classes, < 0."""
    balanced, out = list(_ls_pairs(ev.table("table4"), TEACHER_KEYS)), []
    for (dataset, arch, _), plain, ls in _ls_pairs(ev.table("table3"), TEACHER_KEYS):
        nearest = _nearest_balanced(balanced, arch, ls.num_classes.iloc[0])
        label = f"{arch_name(arch)}: LS gain on {dataset}"
        if nearest is None:
            why = f"no balanced {arch_name(arch)} pair (Table 4) to compare its gain with"
            out.append(Comparison(label, None, "< 0", LEFT_OUT, 2, why, False, part="long tail"))
            continue
        (other, _, _), b_plain, b_ls = nearest
        est = ev.estimate(_gain(plain, ls) + _gain(b_ls, b_plain), "top1")
        if est is not None:
            out.append(_directional(f"{label} minus on {other}", est, -1, 2, part="long tail"))
    return out


def more_classes_help_less(ev) -> list[Comparison]:
    """(k, Table 4) the mean top-1 gain of LS over the architectures present at every number
    of classes: at each count minus at the next smaller one, < 0."""
    by_classes = {}
    for (_, arch, _), plain, ls in _ls_pairs(ev.table("table4"), TEACHER_KEYS):
        by_classes.setdefault(int(ls.num_classes.iloc[0]), []).append((arch, plain, ls))
    archs = [{a for a, _, _ in pairs} for pairs in by_classes.values()]
    common = set.intersection(*archs) if archs else set()
    out = []
    for fewer, more in itertools.pairwise(sorted(by_classes)) if common else ():
        terms = []
        for k, sign in ((more, 1.0), (fewer, -1.0)):
            units = [(p, s) for a, p, s in by_classes[k] if a in common]
            for plain, ls in units:
                terms += [(sign * w / len(units), rows) for w, rows in _gain(plain, ls)]
        est = ev.estimate(terms, "top1")
        names = ", ".join(arch_name(a) for a in sorted(common))
        if est is not None:
            label = f"mean LS gain at {more} minus at {fewer} classes ({names})"
            out.append(_directional(label, est, -1, 2, part="classes"))
    return out


def bnn_not_worse(ev, margin: float) -> list[Comparison]:
    """(l) ReActNet students (the last epoch's model of step 2): the LS teacher's minus the
    other's top-1, > -margin."""
    out = []
    keys = ["dataset", "teacher_arch", "teacher_recipe"]
    for (dataset, arch, recipe), plain, ls in _ls_pairs(ev.table("bnn"), keys, "teacher_alpha"):
        est = ev.estimate(_gain(plain, ls), "top1")
        if est is not None:
            label = f"{dataset} ReActNet from {network_name(arch, recipe)}"
            alpha = float(ls.teacher_alpha.iloc[0])
            teachers = ((dataset, arch, recipe, 0.0), (dataset, arch, recipe, alpha))
            out.append(_not_worse(label, est, margin, "top1", teachers=teachers))
    return out


def translation(ev, margin: float) -> list[Comparison]:
    """(m) teachers: test BLEU higher with LS, validation perplexity (of the best-BLEU
    checkpoint) higher too; students: test BLEU not worse. The validation split chose the
    checkpoints and tuned the settings, so BLEU is judged on the test split."""
    table, out = ev.table("nmt"), []
    for (role,), plain, ls in _ls_pairs(table, ["role"], "teacher_alpha"):
        bleu, ppl = (ev.estimate(_gain(plain, ls), m) for m in ("test_bleu", "ppl"))
        if role == "teacher" and bleu is not None:
            out.append(_directional("teacher: test BLEU", bleu, +1, 2, part="teacher BLEU"))
        if role == "teacher" and ppl is not None:
            label, part = "teacher: validation perplexity", "teacher perplexity"
            out.append(_directional(label, ppl, +1, 2, part=part))
        if role == "student" and bleu is not None:
            part = "student BLEU"
            out.append(_not_worse("student: test BLEU", bleu, margin, "bleu", part=part))
    return out


def _single(c: Comparison) -> str:
    """A comparison's own verdict (a 95 % interval, or a correlation's test, at 2.5 % a side)."""
    if c.est is None:
        return INCONCLUSIVE
    if c.metric:
        return not_worse(c.est, -c.threshold)
    return direction(c.est, c.sign)


def _holm(counted: list[Comparison]) -> None:
    """Each comparison's verdict, its decision corrected for the number of comparisons."""

    def p(c: Comparison, sign: int) -> float:
        return 1.0 if c.est is None else one_sided_p(c.est, sign * c.sign, c.threshold)

    toward, against = [p(c, 1) for c in counted], [p(c, -1) for c in counted]
    for c, yes, no in zip(counted, holm(toward), holm(against), strict=True):
        c.verdict = SUPPORTS if yes else CONTRADICTS if no else INCONCLUSIVE
        if len(counted) > 1 and c.verdict != _single(c):
            c.note = (c.note + "; " if c.note else "") + f"Holm over {len(counted)} comparisons"


def _pool(counted: list[Comparison], part: str) -> Comparison | None:
    """The random-effects estimate over a "generally" claim's settings, as a comparison."""
    pooled = random_effects([c.est for c in counted if c.est is not None])
    if pooled is None:
        return None
    first = counted[0]
    spread = f"τ = {pooled.tau:.{first.digits}f}"
    if not np.isnan(pooled.i2):
        spread = f"I² = {100 * pooled.i2:.0f} %, {spread}"
    label = f"pooled over {pooled.k} settings{f' ({part})' if part else ''}: {spread}"
    c = Comparison(label, pooled.estimate, first.rule, INCONCLUSIVE, first.digits, "", True,
                   first.sign, first.threshold, first.metric, part)  # fmt: skip
    c.verdict = _single(c)
    if c.verdict == INCONCLUSIVE:
        c.note = settle(c.est, c.threshold)
    return c


def _decide(comparisons: list[Comparison], rule: str, part: str = "") -> tuple[str | None, list]:
    """A claim's (or part's) verdict under its rule, and the pooled estimates that decided."""
    counted = [c for c in comparisons if c.counts]
    if not counted:
        return None, []
    pooled = _pool(counted, part) if rule == "pooled" and len(counted) > 1 else None
    _holm(counted)
    if pooled is not None:  # decided by the pooled estimate, unless a setting contradicts it
        contradicted = any(c.verdict == CONTRADICTS for c in counted)
        return _claim_verdict([pooled.verdict, CONTRADICTS if contradicted else SUPPORTS]), [pooled]
    return _claim_verdict([c.verdict for c in counted]), []


def _claim_verdict(verdicts: list[str]) -> str:
    if CONTRADICTS in verdicts or "not reproduced" in verdicts:
        return "not reproduced"
    if all(v in (SUPPORTS, "reproduced") for v in verdicts):
        return "reproduced"
    return "inconclusive"


def _competence(ev, settings: dict) -> dict[tuple, str]:
    """Teachers (dataset, arch, recipe, alpha) below the competence floor -> the numbers."""
    floor, out = settings["competence"]["top1"], {}
    table = ev.table("table1")
    if table.empty or "top1" not in table:
        return out
    means = table.groupby(["dataset", "arch", "recipe", "alpha"], sort=True).agg(
        top1=("top1", "mean"), classes=("num_classes", "first")
    )
    for key, row in means.iterrows():
        chance = 100.0 / row.classes
        need = chance + floor * (100.0 - chance)
        if row.top1 < need:
            out[tuple(key[:3]) + (float(key[3]),)] = (
                f"teacher {network_name(key[1], key[2])} (α={key[3]:g}) on {key[0]}: top-1 "
                f"{row.top1:.1f} % < {need:.1f} % (chance {chance:.1f} % + {floor:g} of the "
                "way to 100 %)"
            )
    return out


def _nmt_competence(ev, settings: dict) -> str:
    """Why the translation teachers are below the BLEU floor ("" when they are not)."""
    table, floor = ev.table("nmt"), settings["competence"]["bleu"]
    if table.empty or "test_bleu" not in table:
        return ""
    teachers = table[table.role == "teacher"].groupby("teacher_alpha").test_bleu.mean()
    low = {alpha: bleu for alpha, bleu in teachers.items() if bleu < floor}
    shown = ", ".join(f"{bleu:.1f} (α={alpha:g})" for alpha, bleu in low.items())
    return f"translation teachers' test BLEU {shown} < {floor:g}" if low else ""


def _apply_floor(letter: str, comparisons: list, ev, settings: dict, weak: dict) -> str:
    """Leave out the comparisons whose teachers are below the floor; returns why the whole
    claim is not testable ("" when some comparison remains)."""
    if letter not in DISTILLATION:
        return ""
    if letter == "m":
        why = _nmt_competence(ev, settings)
        for c in comparisons if why else ():
            c.counts, c.verdict, c.note = False, LEFT_OUT, why
        return why
    reasons = []
    for c in comparisons:
        low = [weak[t] for t in c.teachers if t in weak]
        if low and c.counts:
            c.counts, c.verdict, c.note = False, LEFT_OUT, "; ".join(low)
            reasons += low
    if reasons and not any(c.counts for c in comparisons):
        return "; ".join(dict.fromkeys(reasons))
    return ""


def _verdict_of(claim: Claim, rule) -> None:
    """The claim's verdict (and its parts') from its comparisons under its wording's rule."""
    if rule == "described":
        claim.verdict = DESCRIBED if claim.comparisons else claim.verdict
        return
    parts = rule if isinstance(rule, dict) else {"": rule}
    verdicts = []
    for part, part_rule in parts.items():
        members = [c for c in claim.comparisons if c.part == part or not part]
        verdict, pooled = _decide(members, part_rule, part)
        claim.pooled += pooled
        if part:
            claim.parts[part] = verdict or "not run"
        verdicts.append(verdict or "not run")
    if all(v == "not run" for v in verdicts):
        if any(c.verdict == LEFT_OUT for c in claim.comparisons):
            claim.verdict, claim.why = "inconclusive", "every comparison was left out (below)"
        return
    if "not run" in verdicts:  # a part without evidence: the claim is not shown whole
        missing = [p for p, v in claim.parts.items() if v == "not run"]
        verdicts.append("inconclusive")
        claim.why = f"no comparison for its part {', '.join(missing)}"
    claim.verdict = _claim_verdict(verdicts)


def _margins(settings: dict) -> dict[str, float]:
    return {metric: node["margin"] for metric, node in settings["margins"].items()}


def _at_margin(claim: Claim, rule, metric_margin: dict) -> str:
    """The claim's verdict with other margins (its comparisons copied, their thresholds moved)."""
    copies = [
        dataclasses.replace(c, threshold=-metric_margin[c.metric]) if c.metric else
        dataclasses.replace(c) for c in claim.comparisons
    ]  # fmt: skip
    for c in copies:
        if c.counts and c.est is not None:
            c.verdict = _single(c)
    other = Claim(claim.letter, copies, claim.verdict)
    _verdict_of(other, rule)
    return other.verdict


def check(ev, settings: dict | None = None) -> list[Claim]:
    """Every claim (a)-(m) against the evidence ``ev`` (``settings``: the config's `claims`
    node, margins and competence floors; the defaults where absent)."""
    settings = _settings(settings)
    margin = _margins(settings)
    found = {
        "a": stability_lower(ev),
        "b": longer_training_lower(ev),
        "c": stability_follows_accuracy(ev),
        "d": inter_class_as_table10(ev),
        "e": similar_classes_apart(ev),
        "f": students_not_worse(ev, margin["top1"]),
        "g": inferior_teachers_worse(ev),
        "h": higher_loss_similar_accuracy(ev, margin["top1"]),
        "i": better_teachers_better_students(ev),
        "j": students_not_worse(ev, margin["top1"], "table9"),
        "k": long_tail_helps_less(ev) + more_classes_help_less(ev),
        "l": bnn_not_worse(ev, margin["top1"]),
        "m": translation(ev, margin["bleu"]),
    }
    weak = _competence(ev, settings)
    claims = []
    for letter, comparisons in found.items():
        if letter in ev.untestable:
            claims.append(Claim(letter, [], ev.nothing, ev.untestable[letter]))
            continue
        claim = Claim(letter, comparisons, ev.nothing)
        not_testable = _apply_floor(letter, comparisons, ev, settings, weak)
        claim.dropped = [f"{c.label}: {c.note}" for c in comparisons if c.verdict == LEFT_OUT]
        _verdict_of(claim, WORDING[letter])
        if not_testable:
            claim.verdict, claim.why = NOT_TESTABLE, not_testable
        elif claim.verdict == ev.nothing and not claim.why:
            claim.why = ("no experiment of this run tests it" if ev.nothing == "not run" else
                         "the tables hold no numbers for it")  # fmt: skip
        if any(c.metric for c in comparisons) and claim.verdict not in (NOT_TESTABLE, ev.nothing):
            claim.sensitivity = _sensitivity(claim, WORDING[letter], margin)
        _tipping(claim)
        claims.append(claim)
    return claims


def _sensitivity(claim: Claim, rule, margin: dict) -> str:
    metrics = sorted({c.metric for c in claim.comparisons if c.metric})
    shown = []
    for factor, name in ((0.0, "0"), (0.5, "half"), (1.0, "the configured"), (2.0, "twice")):
        scaled = {m: factor * margin[m] for m in margin}
        values = ", ".join(f"{scaled[m]:g} {m}" for m in metrics)
        shown.append(f"{name} ({values}): {_at_margin(claim, rule, scaled)}")
    return "; ".join(shown)


def _tipping(claim: Claim) -> None:
    """Each "not worse" comparison's tipping margin: the smallest margin that would make it
    support the claim (the interval's lower end, negated; its verdict flips just above it)."""
    for c in [*claim.comparisons, *claim.pooled]:
        if c.metric and c.est is not None and c.est.lo is not None:
            tip = f"tipping margin {max(0.0, -c.est.lo):.{_digits(c)}f}"
            c.note = f"{tip}; {c.note}" if c.note else tip


def _settings(given: dict | None) -> dict:
    """``given`` (the config's `claims` node) over the defaults, node by node."""
    given = given or {}
    margins = SETTINGS["margins"] | given.get("margins", {})
    return {"margins": margins, "competence": SETTINGS["competence"] | given.get("competence", {})}


RULES = """\
How to read a verdict. Each comparison is an effect (e.g. top-1 of the LS teacher's student
minus the other's; the first column says which) with its 95 % interval and n (seeds, paired by
seed; teachers for a correlation). The interval covers the seeds (t over seeds, n ≥ 2; with one
seed, the seed variance pooled over this run's models of the same kind that have several, and
none at all where there are none: a test set alone never decides) and the finite test set (a
paired bootstrap over the same validation images or test sentences), their half-widths added in
quadrature; for the paper's own tables it is their printed precision (± half a unit of the last
printed digit), which checks directions only. A comparison *supports* the claim when its whole
interval is on the claimed side ("< 0", "> 0", or above −margin for "not worse"), and
*contradicts* it when the whole interval is on the other side (a test at 2.5 % a side; for a
correlation its permutation test, one-sided); otherwise it is *inconclusive* and says what would
settle it. Each claim is decided as it is worded, and its rule stands beside it: "every"/"each"
claims need every setting to support them, their decisions corrected for their number (Holm's
step-down); "generally" claims are decided by a random-effects estimate pooled over their
settings (DerSimonian-Laird, Hartung-Knapp interval; I² and τ show how much the settings
disagree), unless one setting contradicts them (Holm); a claim of several parts needs each. A
claim is **reproduced** when its rule is met, **not reproduced** when a comparison or the pooled
estimate contradicts it, **inconclusive** otherwise, **not testable at this scale** when the
teachers it distills from did not learn their task (the competence floor), and **not run** when
the run has no experiment for it. Rows marked "(beside)" are shown, not counted; rows "left out"
say why. Each "not worse" comparison prints its tipping margin: the smallest margin at which it
would support the claim."""


def _digits(c: Comparison) -> int:
    """The comparison's digits, or more for a printed precision finer than them."""
    if c.est is None or not c.est.half:
        return c.digits
    return max(c.digits, -int(np.floor(np.log10(c.est.half))))


def _effect(c: Comparison) -> str:
    return "—" if c.est is None else f"{c.est.effect:+.{_digits(c)}f}"


def _interval(c: Comparison) -> str:
    est, d = c.est, _digits(c)
    if est is None:
        return "—"
    text = "—" if est.lo is None else f"[{est.lo:+.{d}f}, {est.hi:+.{d}f}]"
    return text if est.p is None else f"{text}, p = {est.p:.3f}"


def _deciding(claim: Claim) -> Comparison | None:
    """The comparison the summary shows: a contradicting one, the weakest supporting one (of
    an "every" claim, the nearest its threshold), or an undecided one."""
    wanted = {"not reproduced": CONTRADICTS, "reproduced": SUPPORTS}.get(claim.verdict)
    counted = [*claim.pooled, *(c for c in claim.comparisons if c.counts)]
    found = [c for c in counted if c.verdict == (wanted or INCONCLUSIVE)]
    if wanted == SUPPORTS and found:
        return max(found, key=lambda c: one_sided_p(c.est, c.sign, c.threshold))
    return found[0] if found else None


def _summary(claims: list[Claim]) -> list[str]:
    lines = [
        "| | Claim | Where | Verdict | Deciding comparison | Effect | 95 % interval | n |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for claim in claims:
        c = _deciding(claim)
        cells = [c.label, _effect(c), _interval(c), str(c.est.n if c.est else "")] if c else (
            [claim.why, "", "", ""])  # fmt: skip
        lines.append(f"| ({claim.letter}) | {claim.title} | {claim.where} | "
                     f"**{claim.verdict}** | " + " | ".join(cells) + " |")  # fmt: skip
    return lines


def _rule_text(rule) -> str:
    if isinstance(rule, dict):
        return "each part must be reproduced: " + "; ".join(
            f"{part}: {RULE_TEXT[r].split(' (')[0].split(':')[0]}" for part, r in rule.items()
        )
    return RULE_TEXT[rule]


def _section(claim: Claim) -> list[str]:
    paper = CLAIMS[claim.letter][2]
    lines = ["", f"## ({claim.letter}) {claim.title}", "", f"Paper ({claim.where}): {paper}.", ""]
    lines.append(f"Rule: {_rule_text(WORDING[claim.letter])}.")
    lines += ["", f"Verdict: **{claim.verdict}**" + (f" — {claim.why}" if claim.why else "")]
    if claim.parts:
        lines.append("(" + "; ".join(f"{p}: {v}" for p, v in claim.parts.items()) + ")")
    if claim.sensitivity:
        lines += ["", f"At other margins: {claim.sensitivity}."]
    if not claim.comparisons:
        return lines
    lines += ["", "| Comparison | Claim says | Effect | 95 % interval | n | Interval from | "
              "Verdict | Note |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for c in [*claim.pooled, *claim.comparisons]:
        how = c.est.how if c.est else ""
        verdict = c.verdict if c.counts or c.verdict == LEFT_OUT else f"{c.verdict} (beside)"
        if claim.pooled and c.counts and c not in claim.pooled:
            verdict += " (pooled above)"
        n = c.est.n if c.est else ""
        lines.append(f"| {c.label} | {c.rule} | {_effect(c)} | {_interval(c)} | {n} | {how} | "
                     f"{verdict} | {c.note} |")  # fmt: skip
    if claim.dropped:
        lines += ["", "Left out:"] + [f"- {d}" for d in claim.dropped]
    return lines


def render(claims: list[Claim], source: str, settings: dict | None = None) -> str:
    settings = _settings(settings)
    margins = "; ".join(
        f"{metric} {node['margin']:g} ({node['reason']})"
        for metric, node in settings["margins"].items()
    )
    floor = settings["competence"]
    lines = [
        "# Claims of Shen et al. (ICLR 2021), checked against " + source,
        "",
        "Computed by `lskd claims`; never typed by hand. Non-inferiority margins (config "
        f"`claims.margins`): {margins}. Competence floor (`claims.competence`): teachers' top-1 "
        f"at least {floor['top1']:g} of the way from chance to 100 %, translation teachers' "
        f"test BLEU at least {floor['bleu']:g}.",
        "",
        RULES,
        "",
        *_summary(claims),
    ]
    for claim in claims:
        lines += _section(claim)
    return "\n".join(lines) + "\n"


def write(ev, out, settings: dict | None = None) -> list[Claim]:
    claims = check(ev, settings)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(render(claims, ev.source, settings))
    return claims
