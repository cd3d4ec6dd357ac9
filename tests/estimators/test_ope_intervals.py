"""Intervals: closed forms, and Monte Carlo coverage within 3 MC standard errors of nominal on
simulated logs with known truth."""

from __future__ import annotations

import numpy as np
import pytest
from _ope_world import random_world
from scipy import stats

from simrec.estimators import intervals, ope

WORLD = random_world(np.random.default_rng(21), c=4, k=5, temp=1.0)
Q_WRONG = np.random.default_rng(8).random(WORLD.mu.shape)


def test_closed_forms():
    c = np.random.default_rng(0).normal(1, 2, 400)
    m, s = c.mean(), c.std(ddof=1) / 20
    assert intervals.normal_ci(c, 0.1) == pytest.approx((m - stats.norm.ppf(0.95) * s,
                                                         m + stats.norm.ppf(0.95) * s), rel=1e-12)
    assert intervals.t_ci(c, 0.05) == pytest.approx((m - stats.t.ppf(0.975, 399) * s,
                                                     m + stats.t.ppf(0.975, 399) * s), rel=1e-12)
    h = np.sqrt(2 * c.var(ddof=1) * np.log(80) / 400) + 7 * 3.0 * np.log(80) / (3 * 399)
    assert intervals.bernstein_ci(c, 0.05, bound=3.0) == pytest.approx((m - h, m + h), rel=1e-12)
    e = ope.Estimate.from_contributions(c, name="x", alpha=0.1)
    assert e.ci == pytest.approx(intervals.normal_ci(c, 0.1)) and e.stderr == pytest.approx(s)
    assert e.interval("t", 0.05) == pytest.approx(intervals.t_ci(c, 0.05))
    assert e.with_interval("bernstein").ci_method == "bernstein"
    assert e.interval("bootstrap", n_boot=2000, rng=1) == e.interval("bootstrap", n_boot=2000, rng=1)


def test_bootstrap_regimes_agree_with_the_exact_bootstrap():
    rng = np.random.default_rng(3)
    heavy = rng.lognormal(0, 1.5, 20_000)  # continuous, heavy right tail: the binned regime
    exact = intervals.bootstrap_means(heavy, 3000, rng=1)  # n * n_boot <= exact_max_work
    binned = intervals.bootstrap_means(heavy, 3000, rng=2, exact_max_work=0)
    sd = exact.std()
    assert binned.std() == pytest.approx(sd, rel=0.08)
    for q in (0.025, 0.5, 0.975):
        assert np.quantile(binned, q) == pytest.approx(np.quantile(exact, q), abs=0.15 * sd)
    binary = (rng.random(50_000) < 0.3).astype(float)  # two distinct values: grouped Poisson regime
    g = intervals.bootstrap_means(binary, 3000, rng=4, exact_max_work=0)
    assert g.std() == pytest.approx(np.sqrt(0.3 * 0.7 / 50_000), rel=0.06)
    assert g.mean() == pytest.approx(binary.mean(), abs=3 * g.std() / np.sqrt(3000) + 1e-4)


def _coverage(est, method, n, reps, seed, q=None, **kw):
    rng = np.random.default_rng(seed)
    hits = []
    for _ in range(reps):
        log, ad, qh = WORLD.sample(n, rng, q)
        e = est.estimate(log, ad, qh, ci_method=method, **kw)
        hits.append(e.ci[0] <= WORLD.truth <= e.ci[1])
    return float(np.mean(hits))


def _check(cov, reps, nominal=0.95, one_sided=False):
    se = np.sqrt(nominal * (1 - nominal) / reps)
    assert cov >= nominal - 3 * se, f"coverage {cov:.3f} below {nominal} - 3 MC se ({se:.4f})"
    if not one_sided:
        assert cov <= nominal + 3 * se, f"coverage {cov:.3f} above {nominal} + 3 MC se ({se:.4f})"


CASES = [(ope.IPS(), "normal", None), (ope.SNIPS(), "normal", None), (ope.DR(), "normal", Q_WRONG),
         (ope.DR(), "t", Q_WRONG), (ope.SNDR(), "t", Q_WRONG), (ope.IPS(), "t", None)]


@pytest.mark.parametrize(("case", "est", "method", "q"), [(i, *c) for i, c in enumerate(CASES)],
                         ids=[f"{e.label}-{m}" for e, m, _ in CASES])
def test_coverage_normal_and_t(case, est, method, q):
    reps = 800
    _check(_coverage(est, method, 1000, reps, seed=100 + case, q=q), reps)


def test_snips_delta_method_undercovers_at_small_n():
    """Known limitation, kept visible: with max weight ~11 and n=400 the linearised SNIPS interval
    covers about 92.5%, not 95% (its standard error is ~5% too small); at n=1000 it is nominal."""
    reps = 1500
    cov = _coverage(ope.SNIPS(), "normal", 400, reps, seed=0)
    assert 0.90 <= cov < 0.95 - 2 * np.sqrt(0.95 * 0.05 / reps)


def test_coverage_bootstrap():
    reps = 400
    _check(_coverage(ope.DR(random_state=0), "bootstrap", 400, reps, seed=5, q=Q_WRONG, n_boot=1000), reps)


def test_coverage_bernstein_is_at_least_nominal():
    reps = 400
    cov = _coverage(ope.IPS(), "bernstein", 400, reps, seed=6)
    _check(cov, reps, one_sided=True)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["normal", "t", "bootstrap"])
@pytest.mark.parametrize("est", [ope.IPS(), ope.DR(), ope.SNIPS(), ope.SwitchDR(tau=1e6)], ids=repr)
def test_coverage_long(est, method):
    reps = 2000
    kw = {"n_boot": 1000} if method == "bootstrap" else {}  # the bootstrap draws from random_state
    _check(_coverage(est.clone().set_params(random_state=0), method, 1000, reps, seed=7, q=Q_WRONG, **kw), reps)


@pytest.mark.slow
def test_coverage_binned_bootstrap_regime():
    """The binned regime (large n) covers at nominal rate too."""
    rng = np.random.default_rng(9)
    reps, hits = 300, []
    for _ in range(reps):
        log, ad, qh = WORLD.sample(20_000, rng, Q_WRONG)
        c = ope.DR().contributions(log, ad, qh)
        lo, hi = intervals.bootstrap_ci(c, 0.05, n_boot=1000, rng=rng, exact_max_work=0)
        hits.append(lo <= WORLD.truth <= hi)
    _check(float(np.mean(hits)), reps)
