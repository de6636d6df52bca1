"""The paper's claims (a)-(m) as it words them, and how a claim's comparisons become its verdict:
each comparison's own (an interval on one side of its threshold), the rule of its claim's wording
(every setting with Holm's correction, a random-effects estimate, or parts), the margins of "not
worse" and their tipping points, and the competence floor of distillation claims. The checks that
make the comparisons are in ``claims``; CLAIMS.md is written by ``claims_md``.
"""

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from lskd.paper import network_name
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


def directional(label, est, sign, digits=2, note="", counts=True, **extra) -> Comparison:
    rule = "> 0" if sign > 0 else "< 0"
    return _judged(Comparison(label, est, rule, "", digits, note, counts, sign, **extra))


def not_worse_by(label, est, margin, metric, digits=2, **extra) -> Comparison:
    rule = f"> −{margin:g} (margin)"
    return _judged(Comparison(label, est, rule, "", digits, "", True, 1, -margin, metric, **extra))


def _judged(c: Comparison) -> Comparison:
    """``c`` with its own verdict and, undecided, what would settle it (unless its note says)."""
    c.verdict = _single(c)
    if c.verdict == INCONCLUSIVE and not c.note:
        c.note = settle(c.est, c.threshold)
    return c


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
    return _judged(Comparison(label, pooled.estimate, first.rule, "", first.digits, "", True,
                              first.sign, first.threshold, first.metric, part))  # fmt: skip


def _decide_part(
    comparisons: list[Comparison], rule: str, part: str = ""
) -> tuple[str | None, list]:
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


def weak_teachers(ev, settings: dict) -> dict[tuple, str]:
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


def apply_floor(letter: str, comparisons: list, ev, settings: dict, weak: dict) -> str:
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


def decide(claim: Claim, rule) -> None:
    """The claim's verdict (and its parts') from its comparisons under its wording's rule."""
    if rule == "described":
        claim.verdict = DESCRIBED if claim.comparisons else claim.verdict
        return
    parts = rule if isinstance(rule, dict) else {"": rule}
    verdicts = []
    for part, part_rule in parts.items():
        members = [c for c in claim.comparisons if c.part == part or not part]
        verdict, pooled = _decide_part(members, part_rule, part)
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


def margins_of(settings: dict) -> dict[str, float]:
    return {metric: node["margin"] for metric, node in settings["margins"].items()}


def _at_margin(claim: Claim, rule, metric_margin: dict) -> str:
    """The claim's verdict with other margins (its comparisons copied, their thresholds moved;
    deciding sets the copies' verdicts anew)."""
    copies = [
        dataclasses.replace(c, threshold=-metric_margin[c.metric]) if c.metric else
        dataclasses.replace(c) for c in claim.comparisons
    ]  # fmt: skip
    other = Claim(claim.letter, copies, claim.verdict)
    decide(other, rule)
    return other.verdict


def sensitivity(claim: Claim, rule, margin: dict) -> str:
    metrics = sorted({c.metric for c in claim.comparisons if c.metric})
    shown = []
    for factor, name in ((0.0, "0"), (0.5, "half"), (1.0, "the configured"), (2.0, "twice")):
        scaled = {m: factor * margin[m] for m in margin}
        values = ", ".join(f"{scaled[m]:g} {m}" for m in metrics)
        shown.append(f"{name} ({values}): {_at_margin(claim, rule, scaled)}")
    return "; ".join(shown)


def tipping(claim: Claim) -> None:
    """Each "not worse" comparison's tipping margin: the smallest margin that would make it
    support the claim (the interval's lower end, negated; its verdict flips just above it)."""
    for c in [*claim.comparisons, *claim.pooled]:
        if c.metric and c.est is not None and c.est.lo is not None:
            tip = f"tipping margin {max(0.0, -c.est.lo):.{digits(c)}f}"
            c.note = f"{tip}; {c.note}" if c.note else tip


def settings_of(given: dict | None) -> dict:
    """``given`` (the config's `claims` node) over the defaults, node by node."""
    given = given or {}
    margins = SETTINGS["margins"] | given.get("margins", {})
    return {"margins": margins, "competence": SETTINGS["competence"] | given.get("competence", {})}


def digits(c: Comparison) -> int:
    """The comparison's digits, or more for a printed precision finer than them."""
    if c.est is None or not c.est.half:
        return c.digits
    return max(c.digits, -int(np.floor(np.log10(c.est.half))))
