"""results/CLAIMS.md: the claims (a)-(m) of Shen et al. (ICLR 2021), each checked by one
function against this run's result files or the paper's own tables (``lskd claims
--reference DIR``), the same code for both (``evidence``, ``reference_evidence``).

A claim is tested by comparisons; each prints its effect, a 95 % interval, n and a verdict:
*supports*, *contradicts* or *inconclusive* (rules in ``uncertainty``). A claim is
*reproduced* when at least one comparison supports it and none contradicts it, *not
reproduced* when one contradicts it, *inconclusive* when none decides (the comparisons say what
would), and *not run* when this run has no experiment for it.
"""

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
    not_worse,
    settle,
    spearman,
)

MARGIN = {"top1": 0.5, "bleu": 0.5}  # config noninferiority_margin's defaults (the schema's)
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


@dataclass
class Comparison:
    label: str
    est: Estimate | None
    rule: str  # what the claim says of the effect
    verdict: str
    digits: int = 2
    note: str = ""
    counts: bool = True  # False: shown beside, not part of the verdict


@dataclass
class Claim:
    letter: str
    comparisons: list[Comparison] = field(default_factory=list)
    verdict: str = "not run"
    why: str = ""

    @property
    def title(self) -> str:
        return CLAIMS[self.letter][0]

    @property
    def where(self) -> str:
        return CLAIMS[self.letter][1]


def _directional(label, est, sign, digits=2, note="", counts=True) -> Comparison:
    verdict = direction(est, sign)
    if verdict == INCONCLUSIVE and not note:
        note = settle(est)
    return Comparison(label, est, "> 0" if sign > 0 else "< 0", verdict, digits, note, counts)


def _not_worse(label, est, margin, digits=2) -> Comparison:
    verdict = not_worse(est, margin)
    note = settle(est, -margin) if verdict == INCONCLUSIVE else ""
    return Comparison(label, est, f"> −{margin:g} (margin)", verdict, digits, note)


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
    standard -> +Long -> +Long+CutMix, < 0."""
    table, out = ev.table("table1"), []
    if table.empty:
        return out
    for (dataset, arch, alpha), group in table[table.alpha > 0].groupby(
        ["dataset", "arch", "alpha"], sort=True
    ):
        present = [r for r in RECIPES if (group.recipe == r).any()]
        for before, after in itertools.pairwise(present):
            rows = {r: group[group.recipe == r] for r in (before, after)}
            est = ev.estimate([(1.0, rows[after]), (-1.0, rows[before])], "stability")
            label = (f"{dataset} w/ LS (α={alpha:g}): {network_name(arch, after)} minus "
                     f"{network_name(arch, before)}")  # fmt: skip
            if est is not None:
                out.append(_directional(label, est, -1, 4))
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
            out.append(_directional(label, est, int(sign), 4))
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
        if est is not None:
            out.append(_not_worse(_student_label(key), est, margin))
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
        label = _student_label(key)
        if teacher is not None and direction(teacher, -1) == SUPPORTS:
            note = f"the LS teacher is worse by {-teacher.effect:.2f} points"
            out.append(_directional(label, est, -1, 2, note=note))
        else:
            gap = "" if teacher is None else f" ({teacher.effect:+.2f} points)"
            note = (f"premise unmet: the LS teacher is not conclusively worse here{gap}; an "
                    "inferior LS teacher would test the claim")  # fmt: skip
            out.append(Comparison(label, est, "< 0", INCONCLUSIVE, 2, note))
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
        out.append(_directional(f"{label}: training loss", loss, +1, 3))
        val = ev.estimate(_gain(plain, ls), "val_kd_loss")
        if val is not None:
            out.append(_directional(f"{label}: validation loss", val, +1, 3))
        kl = ev.estimate(_gain(plain, ls), "val_kl")
        if kl is not None:
            kl_label = f"{label}: its KL part (loss − teacher entropy)"
            out.append(_directional(kl_label, kl, +1, 3, counts=False))
        top1 = ev.estimate(_gain(plain, ls), "top1")
        if top1 is not None:
            out.append(_not_worse(f"{label}: top-1", top1, margin))
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
            if est is not None:
                out.append(_directional(label, est, +1, 2))
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
        if nearest is None:
            continue
        (other, _, _), b_plain, b_ls = nearest
        est = ev.estimate(_gain(plain, ls) + _gain(b_ls, b_plain), "top1")
        if est is not None:
            label = f"{arch_name(arch)}: LS gain on {dataset} minus on {other}"
            out.append(_directional(label, est, -1, 2))
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
            out.append(_directional(label, est, -1, 2))
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
            out.append(_not_worse(label, est, margin))
    return out


def translation(ev, margin: float) -> list[Comparison]:
    """(m) teachers: test BLEU higher with LS, validation perplexity (of the best-BLEU
    checkpoint) higher too; students: test BLEU not worse. The validation split chose the
    checkpoints and tuned the settings, so BLEU is judged on the test split."""
    table, out = ev.table("nmt"), []
    for (role,), plain, ls in _ls_pairs(table, ["role"], "teacher_alpha"):
        bleu, ppl = (ev.estimate(_gain(plain, ls), m) for m in ("test_bleu", "ppl"))
        if role == "teacher" and bleu is not None:
            out.append(_directional("teacher: test BLEU", bleu, +1, 2))
        if role == "teacher" and ppl is not None:
            out.append(_directional("teacher: validation perplexity", ppl, +1, 2))
        if role == "student" and bleu is not None:
            out.append(_not_worse("student: test BLEU", bleu, margin))
    return out


def _verdict(comparisons: list[Comparison]) -> str | None:
    verdicts = {c.verdict for c in comparisons if c.counts}
    if not verdicts:
        return None
    if CONTRADICTS in verdicts:
        return "not reproduced"
    return "reproduced" if SUPPORTS in verdicts else "inconclusive"


def check(ev, margin: dict | None = None) -> list[Claim]:
    """Every claim (a)-(m) against the evidence ``ev``."""
    margin = MARGIN | (margin or {})
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
    claims = []
    for letter, comparisons in found.items():
        if letter in ev.untestable:
            claims.append(Claim(letter, [], ev.nothing, ev.untestable[letter]))
            continue
        verdict = _verdict(comparisons)
        why = "no experiment of this run tests it" if verdict is None else ""
        if verdict is None and ev.nothing != "not run":
            why = "the tables hold no numbers for it"
        claims.append(Claim(letter, comparisons, verdict or ev.nothing, why))
    return claims


RULES = """\
How to read a verdict. Each comparison is an effect (e.g. top-1 of the LS teacher's student
minus the other's; the first column says which) with its 95 % interval and n (seeds, paired by
seed; teachers for a correlation). The interval covers the seeds (t over seeds, n ≥ 2; with one
seed, the seed variance pooled over this run's models of the same kind that have several, and
none at all where there are none: a test set alone never decides) and the finite test set (a
paired bootstrap over the same validation images or test sentences), their half-widths added in
quadrature; for the paper's own tables it is their printed precision, which checks directions
only. A comparison *supports* the claim when its
whole interval is on the claimed side ("< 0", "> 0", or above −margin for "not worse"), and
*contradicts* it when the whole interval is on the other side; otherwise it is *inconclusive*
and says what would settle it. Correlations are decided by a permutation test at 5 %. A claim
is **reproduced** when at least one comparison supports it and none contradicts it, **not
reproduced** when any contradicts it, **inconclusive** when none decides, and **not run** when
the run has no experiment for it. Rows marked "(beside)" are shown, not counted."""


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
    wanted = {"not reproduced": CONTRADICTS, "reproduced": SUPPORTS}.get(claim.verdict)
    counted = [c for c in claim.comparisons if c.counts]
    return next((c for c in counted if c.verdict == (wanted or INCONCLUSIVE)), None)


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


def _section(claim: Claim) -> list[str]:
    paper = CLAIMS[claim.letter][2]
    lines = ["", f"## ({claim.letter}) {claim.title}", "", f"Paper ({claim.where}): {paper}.", ""]
    lines.append(f"Verdict: **{claim.verdict}**" + (f" — {claim.why}" if claim.why else ""))
    if not claim.comparisons:
        return lines
    lines += ["", "| Comparison | Claim says | Effect | 95 % interval | n | Interval from | "
              "Verdict | Note |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for c in claim.comparisons:
        how = c.est.how if c.est else ""
        verdict = c.verdict if c.counts else f"{c.verdict} (beside)"
        n = c.est.n if c.est else ""
        lines.append(f"| {c.label} | {c.rule} | {_effect(c)} | {_interval(c)} | {n} | {how} | "
                     f"{verdict} | {c.note} |")  # fmt: skip
    return lines


def render(claims: list[Claim], source: str, margin: dict | None = None) -> str:
    margin = MARGIN | (margin or {})
    lines = [
        "# Claims of Shen et al. (ICLR 2021), checked against " + source,
        "",
        "Computed by `lskd claims`; never typed by hand. "
        f"Non-inferiority margins: {margin['top1']:g} top-1 points, {margin['bleu']:g} BLEU "
        "(config key `noninferiority_margin`).",
        "",
        RULES,
        "",
        *_summary(claims),
    ]
    for claim in claims:
        lines += _section(claim)
    return "\n".join(lines) + "\n"


def write(ev, out, margin: dict | None = None) -> list[Claim]:
    claims = check(ev, margin)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(render(claims, ev.source, margin))
    return claims
