"""Sequential tests, interleaving, CUPAC, cluster-robust analysis and bad input of the experiments module."""

import numpy as np
import pytest

from simrec.errors import ConfigError, InvalidLogError, SimrecWarning
from simrec.estimators import experiments as ex

# -- bad input ------------------------------------------------------------------------------------------
Y = np.arange(8.0)
T = np.array([0, 1] * 4)


@pytest.mark.parametrize("call, match", [
    (lambda: ex.analyze_ab(Y, T[:-1]), "one value per unit"),
    (lambda: ex.analyze_ab(Y, np.zeros(8, int)), "0 control|each arm needs"),
    (lambda: ex.analyze_ab(Y, np.array([0, 1, 2, 1, 0, 1, 0, 1])), "binary.*first at index 2"),
    (lambda: ex.analyze_ab(np.where(Y == 3, np.nan, Y), T), "finite.*first at index 3"),
    (lambda: ex.analyze_ab(Y, np.array(["a", "b"] * 4)), "binary"),
    (lambda: ex.ratio_metric(Y, np.where(Y == 5, -1.0, 1.0), T), "denominator.*>= 0"),
    (lambda: ex.cuped(Y, T, Y[:-2]), "covariate"),
    (lambda: ex.srm_check([10]), "counts"),
    (lambda: ex.multiple_testing([0.1, 1.2]), "first at index 1"),
    (lambda: ex.ExperimentLog(Y, T, covariate=np.full(8, np.inf)), "covariate.*finite"),
    (lambda: ex.ExperimentLog(Y, T, cluster=np.where(Y == 6, np.nan, Y)), "cluster.*missing.*first at index 6"),
    (lambda: ex.cluster_robust(Y, T, np.array([1, 2, None, 2, 1, 2, 1, 2])), "cluster.*missing.*first at index 2"),
    (lambda: ex.MSPRT(mde=0.1).update(Y, np.ones(8, int)), "both arms.*0 control"),
])
def test_bad_input_raises_clear_errors(call, match):
    with pytest.raises(InvalidLogError, match=match):
        call()


@pytest.mark.parametrize("call, match", [
    (lambda: ex.analyze_ab(Y, T, alpha=1.5), "alpha"),
    (lambda: ex.analyze_ab(Y, T, alpha=0), r"alpha. must lie in \(0, 1\)"),
    (lambda: ex.analyze_ab(Y, T, alpha=1), r"alpha. must lie in \(0, 1\)"),
    (lambda: ex.power(effect=0.1, n=100, alpha=1.0), r"alpha. must lie in \(0, 1\)"),
    (lambda: ex.power(effect=np.nan, power=0.8), "effect.*finite"),
    (lambda: ex.analyze_ab(Y, T, alternative="bigger"), "alternative"),
    (lambda: ex.power(effect=0.1), "exactly two"),
    (lambda: ex.MSPRT(alpha=0.05), "tau2"),
    (lambda: ex.GroupSequential(3, timing=[0.5, 0.4, 1.0]), "timing"),
    (lambda: ex.srm_check([10, 12], ratio=[1, 2, 3]), "ratio"),
])
def test_bad_configuration_raises(call, match):
    with pytest.raises(ConfigError, match=match):
        call()


def test_numbers_held_as_python_objects_are_read_and_text_is_refused():
    from decimal import Decimal

    import pandas as pd

    log = ex.ExperimentLog(pd.Series(Y, dtype=object), T, covariate=[Decimal(int(v)) for v in Y])
    assert log.outcome.dtype == np.float64 and (log.outcome == Y).all() and (log.covariate == Y).all()
    text = r"`outcome` must be numeric; 1 value\(s\) are text, the first at index 2 \(value .x.\)"
    with pytest.raises(InvalidLogError, match=text):
        ex.ExperimentLog(np.array([0.0, 1.0, "x", 1.0, 0, 1, 0, 1], dtype=object), T)
    with pytest.raises(InvalidLogError, match="not numbers"):
        ex.ExperimentLog(np.array([0.0, 1.0, object(), 1.0, 0, 1, 0, 1], dtype=object), T)


def test_estimator_rejects_wrong_log_and_missing_fields():
    log = ex.ExperimentLog(Y, T)
    with pytest.raises(InvalidLogError, match="denominator"):
        ex.RatioDelta().estimate(log)
    with pytest.raises(InvalidLogError, match="covariate"):
        ex.CUPED().estimate(log)
    with pytest.raises(InvalidLogError, match="`log`"):
        ex.DiffInMeans().estimate({"y": Y})


# -- sequential ---------------------------------------------------------------------------------------
def test_group_sequential_boundaries_match_published_constants():
    # Lan-DeMets O'Brien-Fleming-type, K=5 equally spaced, two-sided alpha 0.05 (gsDesign / ldbounds)
    obf = ex.GroupSequential(5, alpha=0.05, spending="obrien-fleming").boundaries
    assert obf == pytest.approx([4.8769, 3.3569, 2.6803, 2.2898, 2.0310], abs=1e-3)
    poc = ex.GroupSequential(5, alpha=0.05, spending="pocock").boundaries
    assert (np.diff(poc) < 0).all() and 2.38 < poc[-1] < poc[0] < 2.45  # near-constant, above 1.96
    assert ex.GroupSequential(1).boundaries[0] == pytest.approx(1.959964, abs=1e-6)


@pytest.mark.parametrize("spending", ["obrien-fleming", "pocock"])
def test_group_sequential_type_one_error_by_simulation(spending):
    """Under the null, the probability of ever crossing equals alpha (Brownian-motion simulation)."""
    rng = np.random.default_rng(0)
    gs = ex.GroupSequential(5, alpha=0.05, spending=spending)
    R = 200_000
    inc = rng.normal(size=(R, 5)) * np.sqrt(0.2)
    z = np.cumsum(inc, axis=1) / np.sqrt(np.arange(1, 6) * 0.2)
    hit = (np.abs(z) >= gs.boundaries).any(1).mean()
    assert hit == pytest.approx(0.05, abs=3 * np.sqrt(0.05 * 0.95 / R))
    naive = (np.abs(z) >= 1.96).any(1).mean()
    assert naive > 0.12  # five unadjusted looks inflate the error


def test_msprt_update_equals_path_and_detects_an_effect():
    rng = np.random.default_rng(1)
    t = rng.random(6000) < 0.5
    y = rng.normal(size=6000) + 0.15 * t
    test = ex.MSPRT(alpha=0.05, mde=0.1)
    for k in range(6):
        test.update(y[k * 1000:(k + 1) * 1000], t[k * 1000:(k + 1) * 1000])
    path = test.path(y, t, peeks=np.arange(1000, 6001, 1000))
    assert test.p_value == pytest.approx(path["p_value"][-1], rel=1e-12)
    assert test.reject and path["reject"][-1]
    lo, hi = test.confidence_sequence
    assert lo < 0.15 < hi and lo > 0
    assert (np.diff(path["p_value"]) <= 0).all()  # always-valid p-values never increase


def test_msprt_running_statistics_match_the_path_at_every_look():
    rng = np.random.default_rng(3)
    t = np.r_[np.ones(5, bool), rng.random(3995) < 0.5]  # the first five units are treated
    y = 50.0 + rng.normal(size=4000) + 0.1 * t  # a large mean: the shift keeps the sums accurate
    with pytest.raises(InvalidLogError, match="both arms.*0 control"):
        ex.MSPRT(alpha=0.05, mde=0.1).update(y[:5], t[:5])
    test = ex.MSPRT(alpha=0.05, mde=0.1)
    peeks = []
    for lo, hi in [(0, 40), (40, 40), (40, 700), (700, 1999), (1999, 4000)]:  # uneven batches, one empty
        test.update(y[lo:hi], t[lo:hi])
        peeks = sorted({*peeks, hi})
        path = test.path(y[:hi], t[:hi], peeks=peeks)
        assert test.n == hi
        assert test.p_value == pytest.approx(path["p_value"][-1], rel=1e-9, abs=1e-300)
        assert test.confidence_sequence == pytest.approx((path["ci_low"][-1], path["ci_high"][-1]), rel=1e-9)


# -- interleaving -------------------------------------------------------------------------------------
def test_team_draft_invariants():
    rng = np.random.default_rng(2)
    n, L, k = 500, 30, 10
    a = np.argsort(rng.random((n, L)), 1)
    b = np.argsort(rng.random((n, L)), 1)
    items, team = ex.team_draft(a, b, k, rng=3)
    for r in range(n):
        assert len(set(items[r])) == k  # no duplicates
        ca = np.cumsum(team[r] == 0)
        cb = np.cumsum(team[r] == 1)
        assert (np.abs(ca - cb) <= 1).all()  # every prefix balanced within one
        # each team's picks follow its ranking order
        for tm, rank in ((0, a[r]), (1, b[r])):
            pos = [int(np.flatnonzero(rank == it)[0]) for it in items[r][team[r] == tm]]
            assert pos == sorted(pos)
    # A's first pick is always A's top item when A picks first
    first_a = team[:, 0] == 0
    assert (items[first_a, 0] == a[first_a, 0]).all()
    assert 0.4 < first_a.mean() < 0.6


@pytest.mark.parametrize("wide", ["a", "b"])
def test_team_draft_with_rankings_of_different_widths_uses_every_item_of_the_wider(wide):
    short, long_ = [[1, 2]], [[5, 6, 7, 8, 9, 10]]
    a, b = (long_, short) if wide == "a" else (short, long_)
    for seed in range(20):
        items, team = ex.team_draft(a, b, 8, rng=seed)
        # both short picks, then the wider ranking fills the list in its own order; nothing is read past a row
        assert sorted(items[0].tolist()) == [1, 2, 5, 6, 7, 8, 9, 10]
        w = 0 if wide == "a" else 1
        assert items[0][team[0] == w].tolist() == long_[0] and (team[0] == 1 - w).sum() == 2
    items, team = ex.team_draft(a, b, 10, rng=0)  # both exhausted: -1 pads
    assert items[0, 8:].tolist() == [-1, -1] and team[0, 8:].tolist() == [-1, -1]


def test_interleaving_detects_the_better_ranker_and_not_an_aa():
    rng = np.random.default_rng(4)
    n, L, k = 3000, 20, 5
    rel = rng.random((n, L))  # item relevance per user
    good = np.argsort(-rel, 1)
    bad = np.argsort(rng.random((n, L)), 1)
    items, team = ex.team_draft(good, bad, k, rng=5)
    p = np.take_along_axis(rel, items, 1) * (0.6 / (1 + np.arange(k)))
    clicks = rng.random((n, k)) < p
    e = ex.analyze_interleaving(team, clicks)
    assert e.value > 0 and e.ci[0] > 0 and e.diagnostics["sign_test_p_value"] < 1e-6
    items, team = ex.team_draft(good, good, k, rng=6)  # A/A: identical rankers
    clicks = rng.random((n, k)) < np.take_along_axis(rel, items, 1) * 0.3
    aa = ex.analyze_interleaving(team, clicks)
    assert aa.ci[0] < 0 < aa.ci[1]


# -- CUPAC, cluster-robust ----------------------------------------------------------------------------
def test_cupac_reduces_variance_beyond_linear_cuped():
    from sklearn.ensemble import HistGradientBoostingRegressor

    rng = np.random.default_rng(7)
    n = 4000
    f = rng.normal(size=(n, 2))
    t = rng.random(n) < 0.5
    y = np.sin(2 * f[:, 0]) * 2 + f[:, 1] ** 2 + 0.1 * t + rng.normal(scale=0.5, size=n)
    plain = ex.analyze_ab(y, t)
    lin = ex.cuped(y, t, f[:, 0])
    cp = ex.cupac(y, t, f, model=HistGradientBoostingRegressor(max_iter=60, random_state=0), random_state=0)
    assert cp.diff.stderr < 0.6 * plain.diff.stderr
    assert cp.diff.stderr < 0.8 * lin.diff.stderr
    assert cp.diagnostics["variance_reduction"] > 0.6


def test_cuped_warns_on_a_post_treatment_covariate():
    rng = np.random.default_rng(8)
    t = rng.random(2000) < 0.5
    y = rng.normal(size=2000) + 0.5 * t
    with pytest.warns(SimrecWarning, match="covariate differs between arms"):
        ex.cuped(y, t, y + rng.normal(scale=0.1, size=2000))


def test_cluster_robust_matches_statsmodels_and_exceeds_naive():
    import statsmodels.api as sm

    rng = np.random.default_rng(9)
    users = np.repeat(np.arange(400), rng.integers(1, 12, size=400))
    tu = rng.random(400) < 0.5
    y = rng.normal(size=400)[users] + 0.1 * tu[users] + rng.normal(scale=0.5, size=users.size)
    e = ex.cluster_robust(y, tu[users].astype(int), users)
    fit = sm.OLS(y, sm.add_constant(tu[users].astype(float))).fit(cov_type="cluster", cov_kwds={"groups": users})
    assert e.stderr == pytest.approx(fit.bse[1], rel=1e-12)
    assert e.stderr > 1.5 * e.diagnostics["naive_stderr"]


@pytest.mark.parametrize("call, arg", [
    (lambda y, t, f: ex.ExperimentLog(y, t, features=f), "features"),
    (lambda y, t, f: ex.cupac(y, t, f), "features"),
    (lambda y, t, f: ex.cluster_robust(y, t, np.arange(y.size) // 2, covariates=f), "covariates"),
    (lambda y, t, f: __import__("simrec.estimators.causal").estimators.causal.aipw(y, t, 0.5, X=f), "X"),
    (lambda y, t, f: __import__("simrec.estimators.causal").estimators.causal.ate(y, t, W=f, propensity=0.5), "W"),
])
def test_text_in_a_matrix_is_refused_naming_the_argument_and_cell(call, arg):
    from simrec.errors import InvalidLogError

    y, t = np.arange(8.0), np.array([0, 1] * 4)
    f = np.column_stack([np.arange(8.0), np.arange(8.0)]).astype(object)
    f[3, 1] = "x"
    with pytest.raises(InvalidLogError, match=rf"`{arg}` must be numeric; .*first at index \(3, 1\) \(value 'x'\)"):
        call(y, t, f)
    with pytest.raises(InvalidLogError, match=rf"`{arg}` must be finite.*index \(2, 0\)"):
        call(y, t, np.where(np.arange(16).reshape(8, 2) == 4, np.nan, 1.0))


def test_text_p_values_are_refused_naming_the_index():
    from simrec.errors import InvalidLogError

    with pytest.raises(InvalidLogError, match=r"`p_values` must be numeric; .*index 1 \(value 'a'\)"):
        ex.multiple_testing(np.array([0.1, "a"], dtype=object))  # e.g. a pandas object column
    with pytest.raises(InvalidLogError, match=r"`p_values` must be numeric; got dtype <U"):
        ex.multiple_testing([0.1, "a"])
    with pytest.raises(InvalidLogError, match=r"`p_values` must lie in \[0, 1\]; 1 value does not, first at index 1"):
        ex.multiple_testing([0.1, 1.5])
