"""Monte Carlo checks (fixed seeds): interval coverage, A/A false positives, MSPRT under 200 peeks."""

import numpy as np
import pytest

from simrec.estimators import experiments as ex


def _mc_band(hits, target=0.95):
    r = hits.size
    se = np.sqrt(target * (1 - target) / r)
    return abs(hits.mean() - target) <= 3 * se


def test_welch_and_lift_intervals_cover_the_true_lift():
    """Skewed per-user metric (Poisson-gamma clicks), true relative lift 5%."""
    rng = np.random.default_rng(11)
    R, n = 1000, 2000
    mu0, lift = 2.0, 0.05
    cov_d = np.empty(R, bool)
    cov_l = np.empty(R, bool)
    for i in range(R):
        t = rng.random(n) < 0.5
        lam = rng.gamma(2.0, mu0 / 2.0, size=n) * np.where(t, 1 + lift, 1.0)
        y = rng.poisson(lam).astype(float)
        r = ex.analyze_ab(y, t)
        cov_d[i] = r.diff.ci[0] <= mu0 * lift <= r.diff.ci[1]
        cov_l[i] = r.lift.ci[0] <= lift <= r.lift.ci[1]
    assert _mc_band(cov_d), cov_d.mean()
    assert _mc_band(cov_l), cov_l.mean()


def test_ratio_metric_covers_and_naive_session_se_undercovers():
    rng = np.random.default_rng(12)
    R, n = 1000, 1500
    cover = np.empty(R, bool)
    naive = np.empty(R, bool)
    for i in range(R):
        t = rng.random(n) < 0.5
        s = 1 + rng.poisson(rng.gamma(1.0, 3.0, size=n))  # very uneven sessions per user
        p_user = np.clip(rng.beta(2, 5, size=n) * np.where(t, 1.1, 1.0), 0, 1)  # user-level click rates
        c = rng.binomial(s, p_user).astype(float)
        r = ex.ratio_metric(c, s.astype(float), t)
        # true ratio per arm: E[s p] / E[s] = E[p] (independent s and p): 2/7 and 1.1 * 2/7
        true = 0.1 * 2 / 7
        cover[i] = r.diff.ci[0] <= true <= r.diff.ci[1]
        # naive: treat sessions as independent Bernoulli trials
        r1, r0 = c[t].sum() / s[t].sum(), c[~t].sum() / s[~t].sum()
        se = np.sqrt(r1 * (1 - r1) / s[t].sum() + r0 * (1 - r0) / s[~t].sum())
        naive[i] = abs(r1 - r0 - true) <= 1.96 * se
    assert _mc_band(cover), cover.mean()
    assert naive.mean() < 0.90, naive.mean()


@pytest.mark.slow
def test_aa_false_positive_rate_near_alpha():
    rng = np.random.default_rng(13)
    R, n = 2000, 1000
    p_w = np.empty(R)
    p_c = np.empty(R)
    for i in range(R):
        t = rng.random(n) < 0.5
        x = rng.lognormal(size=n)
        y = x + rng.lognormal(size=n)
        p_w[i] = ex.analyze_ab(y, t).p_value
        p_c[i] = ex.cuped(y, t, x, balance_threshold=0.0).p_value
    for p in (p_w, p_c):
        fpr = (p < 0.05).mean()
        assert abs(fpr - 0.05) <= 3 * np.sqrt(0.05 * 0.95 / R), fpr


def test_cuped_variance_reduction_matches_rho_squared():
    rng = np.random.default_rng(14)
    R, n, rho = 400, 2000, 0.7
    diffs_raw, diffs_cv = np.empty(R), np.empty(R)
    for i in range(R):
        t = rng.random(n) < 0.5
        x = rng.normal(size=n)
        y = rho * x + np.sqrt(1 - rho**2) * rng.normal(size=n) + 0.05 * t
        diffs_raw[i] = ex.analyze_ab(y, t).diff.value
        diffs_cv[i] = ex.cuped(y, t, x).diff.value
    ratio = diffs_cv.var() / diffs_raw.var()
    assert ratio == pytest.approx(1 - rho**2, abs=0.08)
    assert diffs_cv.mean() == pytest.approx(0.05, abs=3 * diffs_cv.std() / np.sqrt(R))


def test_msprt_keeps_fpr_under_alpha_with_200_peeks_where_naive_ttest_does_not():
    rng = np.random.default_rng(15)
    R, per_peek, peeks = 1000, 50, 200
    n = per_peek * peeks
    pk = np.arange(per_peek, n + 1, per_peek)
    msprt_fp = np.empty(R, bool)
    naive_fp = np.empty(R, bool)
    for i in range(R):
        t = rng.random(n) < 0.5
        y = rng.normal(size=n)
        path = ex.msprt_path(y, t, tau2=0.01, alpha=0.05, peeks=pk)
        msprt_fp[i] = path["reject"].any()
        z = path["diff"] / np.sqrt(path["variance"])
        naive_fp[i] = (np.abs(z[np.isfinite(z)]) > 1.959964).any()
    assert msprt_fp.mean() <= 0.05, msprt_fp.mean()
    assert naive_fp.mean() > 0.25, naive_fp.mean()
    # and it has power: with a real effect it rejects nearly always
    hits = 0
    for _ in range(100):
        t = rng.random(n) < 0.5
        hits += ex.msprt_path(rng.normal(size=n) + 0.1 * t, t, tau2=0.01, peeks=pk)["reject"].any()
    assert hits >= 90


def test_msprt_confidence_sequence_is_time_uniform():
    """The true effect stays inside the running confidence sequence at every one of 100 looks in >= 95% of runs."""
    rng = np.random.default_rng(16)
    R, n, delta = 400, 5000, 0.1
    pk = np.arange(50, n + 1, 50)
    miss = np.empty(R, bool)
    for i in range(R):
        t = rng.random(n) < 0.5
        y = rng.exponential(size=n) + delta * t
        path = ex.msprt_path(y, t, tau2=0.01, peeks=pk)
        miss[i] = ((path["ci_low"] > delta) | (path["ci_high"] < delta)).any()
    assert miss.mean() <= 0.05, miss.mean()
