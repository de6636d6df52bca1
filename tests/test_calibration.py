"""The interval of a comparison, calibrated by simulation (issue 28): for 1, 2 and 3 seeds and
seed-to-seed noise of 0, 0.5, 1 and 3 points, over 500 simulated studies each, the 95 % interval
covers the true effect at least 93 % of the time, and with no true effect it "supports" a claimed
direction at most 5 % of the time. One seed borrows the seed variance pooled over other runs of
its kind (4 runs of 3 seeds); with none it gives no interval at all. The rules across a claim's
settings too: the random-effects estimate of a "generally" claim covers the mean effect, and
Holm keeps an "every" claim from being contradicted by chance as its settings grow."""

import numpy as np
import pytest
from scipy import stats

from lskd.paper.uncertainty import (
    SUPPORTS,
    Estimate,
    Pooled,
    direction,
    holm,
    one_sided_p,
    over_seeds,
    random_effects,
)

STUDIES, TEST_SE = 500, 0.4  # points: the test-set noise of a difference on ~10,000 images


def study(rng, effect: float, seeds: int, seed_sd: float):
    """One comparison: per-seed differences of two models (each seed_sd apart between seeds)
    on one test set (its error shared by every seed), and what the checker is given."""
    test_error = rng.normal(0, TEST_SE)
    per_seed = effect + test_error + rng.normal(0, seed_sd * np.sqrt(2), seeds)
    pooled = None
    if seeds == 1:  # 4 other runs of the kind, 3 seeds each: their seed variance, pooled
        runs = rng.normal(0, seed_sd, (4, 3))
        variance = runs.var(axis=1, ddof=1).mean()
        pooled = Pooled(2 * variance, 8.0, "4 runs with 3 seeds")  # a difference: 2 models
    return over_seeds(per_seed, TEST_SE, 10_000, pooled)


@pytest.mark.parametrize("seed_sd", [0.0, 0.5, 1.0, 3.0])
@pytest.mark.parametrize("seeds", [1, 2, 3])
def test_the_interval_covers_and_no_effect_rarely_supports(seeds, seed_sd):
    rng = np.random.default_rng(seeds * 10 + int(seed_sd * 2))
    truth = 1.0
    covered = np.mean([(e.lo <= truth <= e.hi) for e in
                       (study(rng, truth, seeds, seed_sd) for _ in range(STUDIES))])  # fmt: skip
    supports = np.mean([direction(study(rng, 0.0, seeds, seed_sd), +1) == SUPPORTS
                        for _ in range(STUDIES)])  # fmt: skip
    assert covered >= 0.93, f"n={seeds}, seed sd {seed_sd}: covered {covered:.1%}"
    assert supports <= 0.05, f"n={seeds}, seed sd {seed_sd}: supports {supports:.1%} with none"


def test_one_seed_without_runs_to_pool_never_decides():
    rng = np.random.default_rng(0)
    estimates = [over_seeds(rng.normal(5.0, 1.0, 1), TEST_SE, 10_000) for _ in range(50)]
    assert all(e.lo is None and direction(e, +1) == "inconclusive" for e in estimates)


def setting_estimates(rng, mean: float, k: int, tau: float):
    """k settings of one claim: each its own true effect (mean + between-setting noise tau)
    measured with its own standard error, as an interval of that error."""
    se = rng.uniform(0.3, 0.8, k)
    y = mean + rng.normal(0, tau, k) + rng.normal(0, se)
    q = stats.norm.ppf(0.975)
    return [Estimate(v, v - q * s, v + q * s, 3, se=s) for v, s in zip(y, se, strict=True)]


@pytest.mark.parametrize(
    ("k", "tau"), [(2, 0.0), *((k, t) for k in (3, 6, 12) for t in (0, 0.5, 1))]
)
def test_the_pooled_estimate_covers_the_mean_effect(k, tau):
    rng = np.random.default_rng(k * 10 + int(tau * 2))
    pooled = [random_effects(setting_estimates(rng, 1.0, k, tau)).estimate for _ in range(STUDIES)]
    covered = np.mean([e.lo <= 1.0 <= e.hi for e in pooled])
    null = [random_effects(setting_estimates(rng, 0.0, k, tau)).estimate for _ in range(STUDIES)]
    supports = np.mean([direction(e, +1) == SUPPORTS for e in null])
    assert covered >= 0.93, f"k={k}, tau {tau}: covered {covered:.1%}"
    assert supports <= 0.05, f"k={k}, tau {tau}: supports {supports:.1%} with no effect"


@pytest.mark.parametrize("k", [2, 8, 16])
def test_every_claim_with_holm_rarely_contradicted_by_chance(k):
    """No true effect anywhere: an "every" claim comes out "not reproduced" by chance in at most
    5 % of studies (each comparison alone, at 2.5 % a side, would give 1 - 0.975^k: 33 % at 16)."""
    rng = np.random.default_rng(k)
    wrong = 0
    for _ in range(STUDIES):
        estimates = setting_estimates(rng, 0.0, k, 0.0)
        against = [one_sided_p(e, -1) for e in estimates]
        wrong += any(holm(against))
    assert wrong / STUDIES <= 0.05, f"k={k}: {wrong / STUDIES:.1%}"
