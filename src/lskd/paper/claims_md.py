"""results/CLAIMS.md (and claims/paper.md): the claims' verdicts, each claim's rule, its
comparisons with their intervals, notes and tipping margins, and what was left out."""

from lskd.paper.uncertainty import CONTRADICTS, INCONCLUSIVE, SUPPORTS, one_sided_p
from lskd.paper.verdicts import (
    CLAIMS,
    LEFT_OUT,
    RULE_TEXT,
    WORDING,
    Claim,
    Comparison,
    digits,
    settings_of,
)

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


def _effect(c: Comparison) -> str:
    return "—" if c.est is None else f"{c.est.effect:+.{digits(c)}f}"


def _interval(c: Comparison) -> str:
    est, d = c.est, digits(c)
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
    settings = settings_of(settings)
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
