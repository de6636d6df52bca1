"""The uncertainty of one comparison in CLAIMS.md, and the rules that turn it into a verdict.

An effect (e.g. top-1 of the LS teacher's student minus that of the other) is a weighted sum of
models' metrics, averaged over seeds. Its 95 % interval covers two sources of noise:

- the seeds: the standard error of the per-seed effects (paired by seed; n >= 2), or, with one
  seed, a pooled seed variance of runs of the same kind that have several (``Pooled``); with one
  seed and no such runs there is no interval: a test set alone never decides, and
- the finite test set: the standard error of a paired bootstrap over the same validation images
  (``scipy.stats.bootstrap``; every model of one dataset is resampled with the same indices),

each its own 95 % half-width (t at the seeds' degrees of freedom, normal for the bootstrap),
the two half-widths added in quadrature. That is conservative where either part dominates, and
calibrated by simulation (tests/test_calibration.py: coverage >= 95 % for 1-3 seeds and seed
noise 0-3 points), where one t at Welch-Satterthwaite degrees of freedom covered 88 % at two
seeds: a small seed spread drawn by chance gave it many degrees of freedom. Effects on different
datasets (different images) combine as independent estimates, their half-widths in quadrature.

The paper's own numbers (n = 1, no per-image data) get the interval of their printed precision:
each number +- half a unit of its last printed digit, added up (the widest rounding allows).
"""

import math
from dataclasses import dataclass, replace

import numpy as np
from scipy import stats

LEVEL = 0.95
RESAMPLES = 1000
SUPPORTS, CONTRADICTS, INCONCLUSIVE = "supports", "contradicts", "inconclusive"
UNDEFINED = "no interval, the statistic is undefined"  # an Estimate's ``how``, then why


@dataclass(frozen=True)
class Pooled:
    """A seed variance pooled over the runs of one kind that have two or more seeds: the
    variance a one-seed effect gets, its degrees of freedom, and which runs it came from."""

    variance: float
    df: float
    runs: str


ONE_SEED = "one seed, and no runs of its kind with several seeds to pool their seed variance"


@dataclass(frozen=True)
class Estimate:
    """An effect with its 95 % interval (``lo`` None: no interval can be given)."""

    effect: float
    lo: float | None = None
    hi: float | None = None
    n: int = 1  # seeds (paired), or teachers for a correlation
    se: float | None = None  # statistical intervals combine in quadrature ...
    half: float | None = None  # ... printed-precision intervals by addition
    p: float | None = None  # correlations: the permutation test's p-value
    how: str = ""


def _bounds(effect: float, width: float) -> tuple[float, float]:
    # rounded, so that 0.3358 - 0.3359 + 0.0001 is 0, not 1e-17
    return round(float(effect - width), 10), round(float(effect + width), 10)


def _quantile(df: float) -> float:
    return stats.norm.ppf(0.5 + LEVEL / 2) if math.isinf(df) else stats.t.ppf(0.5 + LEVEL / 2, df)


def from_parts(effect: float, parts: list[tuple[float, float]], n: int, how: str) -> Estimate:
    """The interval of independent variance components (variance, df): each one's half-width
    at its own quantile, added in quadrature."""
    half = math.sqrt(sum(_quantile(df) ** 2 * v for v, df in parts))
    lo, hi = _bounds(effect, half)
    se = math.sqrt(sum(v for v, _ in parts))
    return Estimate(effect, lo, hi, n, se=se, how=how)


def from_precision(effect: float, half: float, n: int = 1) -> Estimate:
    lo, hi = _bounds(effect, half)
    return Estimate(effect, lo, hi, n, half=half, how="the paper's printed precision")


def over_seeds(per_seed, boot_se: float | None, images=None, pooled: Pooled | None = None):
    """The mean of per-seed effects; its interval from the seeds (n >= 2; one seed: the
    ``pooled`` seed variance, none: no interval) and a bootstrap standard error ``boot_se`` over
    ``images`` test items (None: no per-image data)."""
    values = np.asarray(per_seed, dtype=float)
    n, effect = len(values), float(values.mean())
    parts, how = [], []
    if n >= 2:
        parts.append((values.var(ddof=1) / n, n - 1))
        how.append(f"t over {n} seeds")
    elif pooled is None:
        return Estimate(effect, n=n, how=ONE_SEED)
    else:
        parts.append((pooled.variance, pooled.df))
        how.append(f"one seed, seed variance pooled over {pooled.runs}")
    if boot_se is not None:
        parts.append((boot_se**2, math.inf))
        how.append(f"paired bootstrap over {images} test items")
    return from_parts(effect, parts, n, " + ".join(how))


def combine(terms: list[tuple[float, Estimate]]) -> Estimate:
    """sum(w * estimate) of independent estimates (different datasets or tables)."""
    effect = sum(w * e.effect for w, e in terms)
    n = min(e.n for _, e in terms)
    if all(e.half is not None for _, e in terms):
        return from_precision(effect, sum(abs(w) * e.half for w, e in terms), n)
    if any(e.se is None for _, e in terms):  # a part without an interval
        return Estimate(effect, n=n, how=next(e.how for _, e in terms if e.se is None))
    half = math.sqrt(sum((w * (e.hi - e.lo) / 2) ** 2 for w, e in terms))
    lo, hi = _bounds(effect, half)
    se = math.sqrt(sum(w * w * e.se**2 for w, e in terms))
    return Estimate(effect, lo, hi, n, se=se, how="; ".join(sorted({e.how for _, e in terms})))


def bootstrap_se(statistic, items: int, batch: int = 100) -> float:
    """Standard error of ``statistic(idx)`` (idx: resampled item indices, shape (B, items); it
    returns B values) under a paired bootstrap over ``items`` test items."""
    result = stats.bootstrap(
        (np.arange(items),),
        lambda idx, axis=-1: statistic(np.atleast_2d(idx)),
        n_resamples=RESAMPLES,
        batch=batch,
        vectorized=True,
        method="percentile",
        rng=np.random.default_rng(0),
    )
    return float(result.standard_error)


def spearman(x, y) -> Estimate:
    """Spearman's rho with an exact (or 9,999-draw) permutation p-value and the Fisher-z
    interval of Bonett and Wright (2000); m < 4 points give no interval."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    m = len(x)
    rho = float(stats.spearmanr(x, y).statistic)
    if m < 4 or not np.isfinite(rho):  # no test can reject at 5 %: p = 1
        return Estimate(rho, n=m, p=1.0, how="Spearman, too few points to test")
    ry = stats.rankdata(y) - (m + 1) / 2

    def rank_corr(rx, axis=-1):  # Pearson on ranks, vectorised over permutations
        rx = rx - rx.mean(axis=-1, keepdims=True)
        return (rx * ry).sum(-1) / np.sqrt((rx**2).sum(-1) * (ry**2).sum())

    test = stats.permutation_test(
        (stats.rankdata(x),),
        rank_corr,
        permutation_type="pairings",
        vectorized=True,
        n_resamples=9999,
        rng=np.random.default_rng(0),
    )
    how, p = "Spearman, permutation test", float(test.pvalue)
    if m < 10:  # the Fisher-z interval needs about ten points; the test decides anyway
        return Estimate(rho, n=m, p=p, how=how)
    z, se = np.arctanh(np.clip(rho, -0.9999, 0.9999)), math.sqrt((1 + rho**2 / 2) / (m - 3))
    q = stats.norm.ppf(0.5 + LEVEL / 2)
    lo, hi = float(np.tanh(z - q * se)), float(np.tanh(z + q * se))
    return Estimate(rho, lo, hi, m, se=se, p=p, how=how)


def direction(est: Estimate, sign: int) -> str:
    """The claim says ``sign * effect > 0``: the interval on one side of 0 decides."""
    if est.p is not None:  # a correlation: its test decides
        if est.p >= 1 - LEVEL:
            return INCONCLUSIVE
        return SUPPORTS if sign * est.effect > 0 else CONTRADICTS
    if est.lo is None:
        return INCONCLUSIVE
    lo, hi = sorted((sign * est.lo, sign * est.hi))
    return SUPPORTS if lo > 0 else CONTRADICTS if hi < 0 else INCONCLUSIVE


def not_worse(est: Estimate, margin: float) -> str:
    """Non-inferiority: the claim says effect > -margin."""
    if est.lo is None:
        return INCONCLUSIVE
    return SUPPORTS if est.lo > -margin else CONTRADICTS if est.hi < -margin else INCONCLUSIVE


def settle(est: Estimate, threshold: float = 0.0) -> str:
    """What would turn an inconclusive comparison into a conclusive one."""
    if est.p is not None:
        return f"p = {est.p:.2f} over {est.n} points: more teachers would settle it"
    if est.lo is None and est.how.startswith(UNDEFINED):
        return est.how.split(": ", 1)[-1]
    if est.lo is None:
        return "one seed: a second seed of these runs (or of runs of their kind) would give one"
    if est.half is not None:
        return "the difference is within the paper's printed precision: more digits would"
    gap, half = abs(est.effect - threshold), (est.hi - est.lo) / 2
    if gap == 0:
        return "the effect sits on the threshold: no amount of data would settle it"
    factor = math.ceil((half / gap) ** 2)
    return f"about {factor}x the seeds or test images would settle it, if the effect holds"


ALPHA = (1 - LEVEL) / 2  # one-sided: a 95 % interval wholly on one side is a test at 2.5 %


def one_sided_p(est: Estimate, sign: int, threshold: float = 0.0) -> float:
    """The p-value of "sign * (effect - threshold) <= 0" (small: the effect is on the ``sign``
    side). A correlation's two-sided permutation p is halved on its side; an interval's from
    the normal with its half-width (a 95 % interval wholly on one side is p < 2.5 %, as the
    interval rule); a printed-precision interval is 0 when wholly on that side, else 1."""
    if est.p is not None:
        return est.p / 2 if sign * est.effect > 0 else 1 - est.p / 2
    if est.lo is None:
        return 1.0
    if est.half is not None:
        lo, hi = sorted((sign * (est.lo - threshold), sign * (est.hi - threshold)))
        return 0.0 if lo > 0 else 1.0
    half = (est.hi - est.lo) / 2
    if half == 0:
        return 0.0 if sign * (est.effect - threshold) > 0 else 1.0
    z = sign * (est.effect - threshold) / (half / stats.norm.ppf(1 - ALPHA))
    return float(stats.norm.sf(z))


def holm(pvalues: list[float], alpha: float = ALPHA) -> list[bool]:
    """Holm's step-down rejections of ``pvalues`` at family-wise level ``alpha``."""
    order = sorted(range(len(pvalues)), key=lambda i: pvalues[i])
    rejected = [False] * len(pvalues)
    for rank, i in enumerate(order):
        if pvalues[i] > alpha / (len(pvalues) - rank):
            break
        rejected[i] = True
    return rejected


@dataclass(frozen=True)
class Pooling:
    """A random-effects estimate over settings and its heterogeneity."""

    estimate: Estimate
    k: int
    tau: float  # between-setting standard deviation (DerSimonian-Laird)
    i2: float  # share of the spread not explained by the settings' own noise


def random_effects(estimates: list[Estimate]) -> Pooling | None:
    """The pooled effect of several settings (DerSimonian-Laird weights; the interval of Hartung-
    Knapp-Sidik-Jonkman, never narrower than the plain one, at k - 1 degrees of freedom; of
    two settings, whose spread cannot be estimated, their inverse-variance mean); printed-
    precision estimates pool as their mean, ± the mean half-width plus t times the standard
    error of their spread (I² undefined: NaN). None for fewer than two estimates with an
    interval."""
    given = [e for e in estimates if e.lo is not None]
    k = len(given)
    if k < 2:
        return None
    y = np.array([e.effect for e in given])
    n = min(e.n for e in given)
    if all(e.half is not None for e in given):  # printed numbers: their spread is all there is
        sd = float(y.std(ddof=1))
        half = float(np.mean([e.half for e in given])) + stats.t.ppf(1 - ALPHA, k - 1) * sd / k**0.5
        est = from_precision(float(y.mean()), half, n)
        return Pooling(
            replace(est, how=est.how + f" and the spread of {k} settings"), k, sd, math.nan
        )
    var = np.array([((e.hi - e.lo) / 2 / stats.norm.ppf(1 - ALPHA)) ** 2 for e in given])
    var = np.maximum(var, 1e-12)
    w = 1 / var
    fixed = (w * y).sum() / w.sum()
    q = float((w * (y - fixed) ** 2).sum())
    tau2 = max(0.0, (q - (k - 1)) / (w.sum() - (w**2).sum() / w.sum()))
    ws = 1 / (var + tau2)
    mu = float((ws * y).sum() / ws.sum())
    se_plain = math.sqrt(1 / ws.sum())
    i2 = max(0.0, (q - (k - 1)) / q) if q > 0 else 0.0
    if k == 2:  # no spread to estimate from two: the mean of these two settings (fixed effect)
        se = math.sqrt(1 / w.sum())
        lo, hi = _bounds(fixed, stats.norm.ppf(1 - ALPHA) * se)
        how = "fixed effect over 2 settings (too few to estimate their spread)"
        return Pooling(Estimate(float(fixed), lo, hi, n, se=se, how=how), k, tau2**0.5, i2)
    se_hk = math.sqrt(float((ws * (y - mu) ** 2).sum()) / ((k - 1) * ws.sum()))
    half = stats.t.ppf(1 - ALPHA, k - 1) * max(se_plain, se_hk)
    lo, hi = _bounds(mu, half)
    how = f"random effects over {k} settings (Hartung-Knapp, {k - 1} df)"
    return Pooling(Estimate(mu, lo, hi, n, se=max(se_plain, se_hk), how=how), k, tau2**0.5, i2)
