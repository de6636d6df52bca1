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
experiment for it. The claims as worded and how comparisons become verdicts are in
``verdicts``; CLAIMS.md's text in ``claims_md``.
"""

import itertools
from pathlib import Path

import numpy as np

from lskd.paper import arch_name, network_name, paper_row_name
from lskd.paper.claims_md import render
from lskd.paper.kd_tables import teacher_label
from lskd.paper.results import reference
from lskd.paper.uncertainty import INCONCLUSIVE, SUPPORTS, direction, spearman
from lskd.paper.verdicts import (
    LEFT_OUT,
    NOT_TESTABLE,
    WORDING,
    Claim,
    Comparison,
    apply_floor,
    decide,
    directional,
    margins_of,
    not_worse_by,
    sensitivity,
    settings_of,
    tipping,
    weak_teachers,
)

STUDENT_KEYS = [
    "dataset", "teacher_arch", "teacher_recipe", "arch", "lam", "temperature", "teacher_logits"
]  # fmt: skip
TEACHER_KEYS = ["dataset", "arch", "recipe"]
RECIPES = ["standard", "long", "cutmix"]  # Table 1's rows: standard, +Long, +Long+CutMix


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
            out.append(directional(f"{dataset} {network_name(arch, recipe)} (α={alpha:g})",
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
                out.append(directional(label, est, -1, 4, counts=alpha > 0))
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
            out.append(directional(f"{dataset}: ρ(top-1, S) over {len(group)} teachers",
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
            out.append(directional(label, est, int(sign), 4, counts=False))
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
            out.append(directional(label, est, +1, 3, counts=counts))
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
            out.append(not_worse_by(_student_label(key), est, margin, "top1", teachers=teachers))
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
            out.append(directional(label, est, -1, 2, note=note, teachers=teachers))
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
        out.append(directional(f"{label}: training loss", loss, +1, 3, **loss_part))
        val = ev.estimate(_gain(plain, ls), "val_kd_loss")
        if val is not None:
            out.append(directional(f"{label}: validation loss", val, +1, 3, **loss_part))
        kl = ev.estimate(_gain(plain, ls), "val_kl")
        if kl is not None:
            kl_label = f"{label}: its KL part (loss − teacher entropy)"
            out.append(directional(kl_label, kl, +1, 3, counts=False, **loss_part))
        top1 = ev.estimate(_gain(plain, ls), "top1")
        if top1 is not None:
            top1_part = given | {"part": "top-1"}
            out.append(not_worse_by(f"{label}: top-1", top1, margin, "top1", **top1_part))
    return out


def better_teachers_better_students(ev) -> list[Comparison]:
    """(i) per student and every two of its teachers whose top-1 differ conclusively: the
    better teacher's student minus the other's, > 0."""
    table, out = ev.table("table8"), []
    if table.empty:
        return out
    for (dataset, arch, _), group in table.groupby(
        ["dataset", "arch", "teacher_logits"], sort=True
    ):
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
                out.append(directional(label, est, +1, 2, teachers=teachers))
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
            out.append(directional(f"{label} minus on {other}", est, -1, 2, part="long tail"))
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
            out.append(directional(label, est, -1, 2, part="classes"))
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
            out.append(not_worse_by(label, est, margin, "top1", teachers=teachers))
    return out


def translation(ev, margin: float) -> list[Comparison]:
    """(m) teachers: test BLEU higher with LS, validation perplexity (of the best-BLEU
    checkpoint) higher too; students: test BLEU not worse. The validation split chose the
    checkpoints and tuned the settings, so BLEU is judged on the test split."""
    table, out = ev.table("nmt"), []
    for (role,), plain, ls in _ls_pairs(table, ["role"], "teacher_alpha"):
        bleu, ppl = (ev.estimate(_gain(plain, ls), m) for m in ("test_bleu", "ppl"))
        if role == "teacher" and bleu is not None:
            out.append(directional("teacher: test BLEU", bleu, +1, 2, part="teacher BLEU"))
        if role == "teacher" and ppl is not None:
            label, part = "teacher: validation perplexity", "teacher perplexity"
            out.append(directional(label, ppl, +1, 2, part=part))
        if role == "student" and bleu is not None:
            part = "student BLEU"
            out.append(not_worse_by("student: test BLEU", bleu, margin, "bleu", part=part))
    return out


def check(ev, settings: dict | None = None) -> list[Claim]:
    """Every claim (a)-(m) against the evidence ``ev`` (``settings``: the config's `claims`
    node, margins and competence floors; the defaults where absent)."""
    settings = settings_of(settings)
    margin = margins_of(settings)
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
    weak = weak_teachers(ev, settings)
    claims = []
    for letter, comparisons in found.items():
        if letter in ev.untestable:
            claims.append(Claim(letter, [], ev.nothing, ev.untestable[letter]))
            continue
        claim = Claim(letter, comparisons, ev.nothing)
        not_testable = apply_floor(letter, comparisons, ev, settings, weak)
        claim.dropped = [f"{c.label}: {c.note}" for c in comparisons if c.verdict == LEFT_OUT]
        decide(claim, WORDING[letter])
        if not_testable:
            claim.verdict, claim.why = NOT_TESTABLE, not_testable
        elif claim.verdict == ev.nothing and not claim.why:
            claim.why = ("no experiment of this run tests it" if ev.nothing == "not run" else
                         "the tables hold no numbers for it")  # fmt: skip
        if any(c.metric for c in comparisons) and claim.verdict not in (NOT_TESTABLE, ev.nothing):
            claim.sensitivity = sensitivity(claim, WORDING[letter], margin)
        tipping(claim)
        claims.append(claim)
    return claims


def write(ev, out, settings: dict | None = None) -> list[Claim]:
    claims = check(ev, settings)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(render(claims, ev.source, settings))
    return claims
