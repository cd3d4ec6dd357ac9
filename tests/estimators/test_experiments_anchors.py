"""Exact cross-checks of the A/B analyses against scipy, statsmodels and tea-tasting on identical data."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.power import TTestIndPower
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from simrec.estimators import experiments as ex


def _data(seed=0, n=3000, p=0.45):
    rng = np.random.default_rng(seed)
    t = (rng.random(n) < p).astype(np.int64)
    x = rng.gamma(2.0, 1.5, size=n)
    y = 1.5 + 0.7 * x + 0.2 * t + rng.normal(scale=1 + 0.5 * t, size=n)
    s = 1.0 + rng.poisson(1.5 + 0.3 * x)
    clicks = rng.binomial(s.astype(int), 0.3 + 0.03 * t).astype(float)
    return t, x, y, s, clicks


def test_welch_equals_scipy_and_statsmodels():
    t, _, y, _, _ = _data()
    r = ex.analyze_ab(y, t)
    sp = stats.ttest_ind(y[t == 1], y[t == 0], equal_var=False)
    ci = sp.confidence_interval(0.95)
    assert r.diff.value == pytest.approx(y[t == 1].mean() - y[t == 0].mean(), abs=1e-12)
    assert r.p_value == pytest.approx(sp.pvalue, rel=1e-10, abs=1e-14)
    assert r.statistic == pytest.approx(sp.statistic, rel=1e-12)
    assert r.df == pytest.approx(sp.df, rel=1e-12)
    assert r.diff.ci == pytest.approx((ci.low, ci.high), rel=1e-11)
    cm = CompareMeans(DescrStatsW(y[t == 1]), DescrStatsW(y[t == 0]))
    assert r.diff.ci == pytest.approx(cm.tconfint_diff(alpha=0.05, usevar="unequal"), rel=1e-11)
    # OLS y ~ T with HC2 errors has the Welch standard error exactly
    ols = sm.OLS(y, sm.add_constant(t.astype(float))).fit(cov_type="HC2")
    assert r.diff.stderr == pytest.approx(ols.bse[1], rel=1e-11)


@pytest.mark.parametrize("alternative", ["greater", "less"])
def test_one_sided_welch_equals_scipy(alternative):
    t, _, y, _, _ = _data(1)
    r = ex.analyze_ab(y, t, alternative=alternative)
    sp = stats.ttest_ind(y[t == 1], y[t == 0], equal_var=False, alternative=alternative)
    assert r.p_value == pytest.approx(sp.pvalue, rel=1e-10)
    ci = sp.confidence_interval(0.95)
    assert r.diff.ci == pytest.approx((ci.low, ci.high), rel=1e-11)


def test_dataframe_input_equals_arrays():
    t, _, y, _, _ = _data(2)
    df = pd.DataFrame({"y": y, "arm": t})
    assert ex.analyze_ab(df, metric="y", treatment="arm").diff.ci == ex.analyze_ab(y, t).diff.ci


def test_ratio_metric_se_equals_clustered_ols_without_correction():
    """ddof=0 delta method == session-level OLS clustered on the user, use_correction=False."""
    t, _, _, s, clicks = _data(3)
    r = ex.ratio_metric(clicks, s, t, ddof=0)
    # expand to sessions: each user's clicks spread over its sessions (any split gives the same sums)
    user = np.repeat(np.arange(t.size), s.astype(int))
    per_sess = np.repeat(clicks / s, s.astype(int))
    tt = np.repeat(t, s.astype(int)).astype(float)
    fit = sm.OLS(per_sess, sm.add_constant(tt)).fit(cov_type="cluster", cov_kwds={"groups": user,
                                                                                 "use_correction": False})
    assert r.diff.value == pytest.approx(fit.params[1], rel=1e-10)
    assert r.diff.stderr == pytest.approx(fit.bse[1], rel=1e-10)
    # ... and WLS of the per-user ratio with weights = sessions, HC0
    wls = sm.WLS(clicks / s, sm.add_constant(t.astype(float)), weights=s).fit(cov_type="HC0")
    assert r.diff.stderr == pytest.approx(wls.bse[1], rel=1e-10)
    # the naive i.i.d. session-level SE differs: the test would fail if clustering were ignored
    naive = sm.OLS(per_sess, sm.add_constant(tt)).fit()
    assert abs(naive.bse[1] - r.diff.stderr) / r.diff.stderr > 0.02


def test_cuped_within_slope_equals_ancova_exactly():
    t, x, y, _, _ = _data(4)
    r = ex.cuped(y, t, x, theta="within")
    X = np.column_stack([np.ones_like(y), t, x - x.mean()])
    ols = sm.OLS(y, X).fit(cov_type="HC1")
    assert r.diff.value == pytest.approx(ols.params[1], rel=1e-12, abs=1e-13)
    assert r.diagnostics["theta"] == pytest.approx(ols.params[2], rel=1e-12)
    # the standard errors agree to the O(1/n) cost of estimating the slope
    assert r.diff.stderr == pytest.approx(ols.bse[1], rel=5e-3)
    # the pooled slope is a different estimator (not equal to ANCOVA)
    assert ex.cuped(y, t, x).diff.value != pytest.approx(ols.params[1], rel=1e-9)
    assert r.diagnostics["variance_reduction"] > 0.3


def test_power_sample_size_mde_equal_statsmodels_power_solved_tightly():
    tp = TTestIndPower()
    for effect, sd, ratio, alt in [(0.1, 1.0, 1.0, "two-sided"), (0.02, 0.3, 2.0, "two-sided"), (0.05, 1.0, 1.0,
                                                                                                  "greater")]:
        n = ex.power(effect=effect, power=0.8, sd=sd, ratio=ratio, alternative=alt)
        sm_alt = {"two-sided": "two-sided", "greater": "larger"}[alt]
        assert tp.power(effect / sd, n, 0.05, ratio, alternative=sm_alt) == pytest.approx(0.8, abs=1e-10)
        assert n == pytest.approx(tp.solve_power(effect / sd, nobs1=None, alpha=0.05, power=0.8, ratio=ratio,
                                                 alternative=sm_alt), rel=1e-5)
        assert ex.sample_size(effect, sd=sd, ratio=ratio, alternative=alt) == int(np.ceil(n))
        m = ex.mde(1000, sd=sd, ratio=ratio, alternative=alt)
        assert tp.power(m / sd, 1000, 0.05, ratio, alternative=sm_alt) == pytest.approx(0.8, abs=1e-10)
        pw = ex.power(effect=effect, n=1234, sd=sd, ratio=ratio, alternative=alt)
        assert pw == tp.power(effect / sd, 1234, 0.05, ratio, alternative=sm_alt)


def test_power_adjustments_scale_the_sample_size():
    n0 = ex.power(effect=0.1, power=0.8)
    # CUPED with rho^2 = 0.5 halves the variance: the sample size is the one of effect / sqrt(0.5)
    n_vr = ex.power(effect=0.1, power=0.8, variance_reduction=0.5)
    assert n_vr == pytest.approx(ex.power(effect=0.1 / np.sqrt(0.5), power=0.8), rel=1e-9)
    assert n_vr < 0.52 * n0
    # clusters of 5 with ICC 0.1: design effect 1.4
    n_cl = ex.power(effect=0.1, power=0.8, icc=0.1, cluster_size=5)
    assert n_cl == pytest.approx(ex.power(effect=0.1 / np.sqrt(1.4), power=0.8), rel=1e-9)


def test_srm_equals_scipy_chisquare():
    r = ex.srm_check([50_400, 49_600])
    sp = stats.chisquare([50_400, 49_600])
    assert r.p_value == pytest.approx(sp.pvalue, rel=1e-12)
    assert r.p_value == pytest.approx(0.0114, abs=2e-4) and not r.mismatch
    assert ex.srm_check([50_800, 49_200]).mismatch
    r3 = ex.srm_check([1000, 1100, 2050], ratio=[1, 1, 2])
    assert r3.p_value == pytest.approx(stats.chisquare([1000, 1100, 2050], [1037.5, 1037.5, 2075]).pvalue, rel=1e-12)


def test_multiple_testing_uses_statsmodels_definitions():
    from statsmodels.stats.multitest import multipletests

    p = np.array([0.001, 0.01, 0.02, 0.04, 0.3])
    for m, smm in [("holm", "holm"), ("bh", "fdr_bh"), ("bonferroni", "bonferroni")]:
        rej, adj = ex.multiple_testing(p, m)
        r2, a2, _, _ = multipletests(p, method=smm)
        assert (rej == r2).all() and np.allclose(adj, a2, rtol=0, atol=0)
    assert ex.multiple_testing(p, "holm")[0].sum() < ex.multiple_testing(p, "bh")[0].sum()


# -- tea-tasting (optional test dependency: the [dev] extra; only these tests skip without it) --------
def _tea(df, **metrics):
    tt = pytest.importorskip("tea_tasting", reason="tea-tasting not installed (pip install tea-tasting)")
    return tt.Experiment(variant="variant", **metrics).analyze(df, control=0)


def test_relative_lift_ratio_cuped_and_srm_equal_tea_tasting():
    tt = pytest.importorskip("tea_tasting", reason="tea-tasting not installed (pip install tea-tasting)")
    t, x, y, s, clicks = _data(5)
    df = pd.DataFrame({"y": y, "x": x, "s": s, "c": clicks, "variant": t})
    res = _tea(df, m=tt.Mean("y"), r=tt.RatioOfMeans("c", "s"), cu=tt.Mean("y", covariate="x"),
               srm=tt.SampleRatio(method="norm", correction=False))

    def same(ours, theirs):
        assert ours.diff.value == pytest.approx(theirs.effect_size, rel=1e-9, abs=1e-12)
        assert ours.diff.ci == pytest.approx((theirs.effect_size_ci_lower, theirs.effect_size_ci_upper), rel=1e-9)
        assert ours.lift.value == pytest.approx(theirs.rel_effect_size, rel=1e-9)
        assert ours.lift.ci == pytest.approx((theirs.rel_effect_size_ci_lower, theirs.rel_effect_size_ci_upper),
                                             rel=1e-9)
        assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-9)

    same(ex.analyze_ab(y, t), res["m"])
    same(ex.ratio_metric(clicks, s, t), res["r"])
    same(ex.cuped(y, t, x), res["cu"])
    assert ex.srm_check(treatment=t).p_value == pytest.approx(res["srm"].pvalue, rel=1e-9)
