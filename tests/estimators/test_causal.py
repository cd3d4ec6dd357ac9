"""Causal effects: known propensities through econml equal the closed-form AIPW; intervals cover the truth."""

import sys

import numpy as np
import pytest

from simrec.errors import ConfigError, InvalidLogError
from simrec.estimators import causal


class _KnownOutcome:
    """A regressor that returns outcome predictions stored in columns (mu0, mu1) of its input
    (econml hands it hstack([X, W, T_onehot]))."""

    def __init__(self, c0=0, c1=1):
        self.c0, self.c1 = c0, c1

    def get_params(self, deep=True):
        return {"c0": self.c0, "c1": self.c1}

    def set_params(self, **p):
        self.__dict__.update(p)
        return self

    def fit(self, X, y, **kw):
        return self

    def predict(self, X):
        X = np.asarray(X)
        return np.where(X[:, -1] == 1, X[:, self.c1], X[:, self.c0])


def _logged(seed=0, n=2000):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    e = 1 / (1 + np.exp(-(0.8 * x[:, 0] - 0.3)))  # a non-uniform logging policy
    t = rng.random(n) < e
    y = x[:, 0] + t * (1 + 0.5 * x[:, 1]) + rng.normal(size=n)
    return x, e, t, y


def test_import_of_estimators_does_not_import_econml():
    import subprocess

    code = "import simrec.estimators, simrec.estimators.causal, sys; print('econml' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"


def test_econml_dr_with_known_propensity_equals_closed_form_aipw():
    from econml.dr import LinearDRLearner

    x, e, t, y = _logged()
    rng = np.random.default_rng(1)
    mu0 = x[:, 0] + rng.normal(scale=0.3, size=y.size)  # imperfect outcome models: the correction matters
    mu1 = x[:, 0] + 1 + rng.normal(scale=0.3, size=y.size)
    closed = causal.aipw(y, t, e, mu0=mu0, mu1=mu1)
    W = np.column_stack([mu0, mu1, e])
    est = LinearDRLearner(model_propensity=causal.KnownPropensity(-1), model_regression=_KnownOutcome(0, 1), cv=3,
                          min_propensity=1e-12)
    est.fit(y, t.astype(int), X=None, W=W)
    assert float(est.intercept_(T=1)) == pytest.approx(closed.value, rel=1e-10, abs=1e-12)
    # the propensity travels with its row: shuffling the rows changes nothing
    perm = np.random.default_rng(2).permutation(y.size)
    est2 = LinearDRLearner(model_propensity=causal.KnownPropensity(-1), model_regression=_KnownOutcome(0, 1), cv=3,
                           min_propensity=1e-12)
    est2.fit(y[perm], t[perm].astype(int), X=None, W=W[perm])
    assert float(est2.intercept_(T=1)) == pytest.approx(closed.value, rel=1e-10)
    # and the propensities matter: without outcome models (IPW), a constant propensity is biased
    z = np.zeros(y.size)
    ipw = causal.aipw(y, t, e, mu0=z, mu1=z)
    naive = causal.aipw(y, t, np.full(y.size, t.mean()), mu0=z, mu1=z)
    assert abs(naive.value - 1.0) > 3 * naive.stderr and abs(ipw.value - 1.0) < 3 * ipw.stderr


def test_ate_methods_agree_and_cover():
    x, e, t, y = _logged(3, 4000)
    truth = 1.0  # E[1 + 0.5 x1]
    for m in ("aipw", "dr", "dml"):
        est = causal.ate(y, t, X=x, propensity=e, method=m)
        assert est.ci[0] < truth < est.ci[1], (m, est)
    assert causal.ate(y, t, X=x, method="dr").ci[0] < truth  # estimated propensities also work


def test_aipw_interval_coverage_monte_carlo():
    rng = np.random.default_rng(4)
    hits = []
    for _ in range(400):
        n = 800
        x = rng.normal(size=(n, 1))
        e = 1 / (1 + np.exp(-x[:, 0]))
        t = rng.random(n) < e
        y = 2 * x[:, 0] + t * (0.5 + x[:, 0] ** 2) + rng.normal(size=n)
        est = causal.aipw(y, t, e, mu0=2 * x[:, 0], mu1=2 * x[:, 0] + 0.5 + x[:, 0] ** 2 + 0.3)
        hits.append(est.ci[0] <= 1.5 <= est.ci[1])  # E[0.5 + x^2] = 1.5
    cov = np.mean(hits)
    assert abs(cov - 0.95) <= 3 * np.sqrt(0.95 * 0.05 / 400), cov


def test_cate_recovers_a_planted_heterogeneity():
    x, e, t, y = _logged(5, 3000)
    r = causal.cate(y, t, x, propensity=e, method="linear_dml")
    tau = 1 + 0.5 * x[:, 1]
    assert np.corrcoef(r.effect, tau)[0, 1] > 0.95
    assert r.ate.ci[0] < tau.mean() < r.ate.ci[1]
    assert ((r.ci_low <= tau) & (tau <= r.ci_high)).mean() > 0.85


def test_learn_policy_finds_the_planted_rule_and_values_it():
    rng = np.random.default_rng(6)
    n = 4000
    x = rng.normal(size=(n, 3))
    t = rng.random(n) < 0.5
    y = x[:, 1] + t * np.where(x[:, 0] > 0, 1.0, -1.0) + rng.normal(size=n)
    p = causal.learn_policy(y, t, x, propensity=0.5, max_depth=1, random_state=0)
    agree = (p.predict(x) == (x[:, 0] > 0)).mean()
    assert agree > 0.9
    # the best rule's value is E[|tau|]/2 ... relative to treat-all (mean effect 0): gain ~0.5
    assert p.gain_vs_treat_all.ci[0] > 0.3 and p.gain_vs_treat_none.ci[0] > 0.3
    assert p.value.ci[0] < 0.5 < p.value.ci[1]  # E[x1] + E[max(tau, 0)] = 0 + 0.5


def test_uplift_curve_oracle_beats_random():
    rng = np.random.default_rng(7)
    n = 4000
    x = rng.normal(size=n)
    t = rng.random(n) < 0.5
    tau = x
    y = t * tau + rng.normal(size=n)
    good = causal.uplift_curve(tau, y, t, propensity=0.5)
    assert good.qini_ci[0] > 0
    rand = causal.uplift_curve(rng.normal(size=n), y, t, propensity=0.5)
    assert rand.qini_ci[0] < 0 < rand.qini_ci[1]


def test_bad_input():
    x, e, t, y = _logged()
    with pytest.raises(InvalidLogError, match="propensity"):
        causal.aipw(y, t, np.where(np.arange(y.size) == 4, 1.0, e))
    with pytest.raises(InvalidLogError, match="binary"):
        causal.aipw(y, np.where(t, 2, 0), e)
    with pytest.raises(ConfigError, match="method"):
        causal.ate(y, t, propensity=e, method="magic")
    with pytest.raises(InvalidLogError, match=r"propensity. must have one value per unit \(\d+, .*\); got 10"):
        causal.aipw(y, t, e[:10])
    xn = x.copy()
    xn[3, 0] = np.nan
    with pytest.raises(InvalidLogError, match=r"X. must be finite.*first at index \(3, 0\)"):
        causal.ate(y, t, X=xn, propensity=e, method="aipw")
    with pytest.raises(InvalidLogError, match=r"X_eval. must have shape"):  # not silently reshaped
        causal.cate(y, t, x, propensity=e, X_eval=np.ones((3, x.shape[1] + 1)))
    with pytest.raises(InvalidLogError, match=r"X_eval. must be finite"):
        causal.cate(y, t, x, propensity=e, X_eval=np.full((2, x.shape[1]), np.nan))


def test_causal_forest_and_dr_learner_cate():
    x, e, t, y = _logged(9, 2000)
    tau = 1 + 0.5 * x[:, 1]
    cf = causal.cate(y, t, x, propensity=e, method="causal_forest", n_estimators=100, cv=2)
    assert cf.ate.ci[0] < tau.mean() < cf.ate.ci[1]  # the doubly-robust ate_, not an average of CATE intervals
    assert np.corrcoef(cf.effect, tau)[0, 1] > 0.6
    dr = causal.cate(y, t, x, propensity=e, method="dr")
    assert dr.ate.ci[0] < tau.mean() < dr.ate.ci[1] and np.corrcoef(dr.effect, tau)[0, 1] > 0.9


@pytest.mark.filterwarnings("ignore:invalid value encountered in divide:RuntimeWarning")  # RidgeCV on one unit
@pytest.mark.parametrize("with_x", [False, True])
def test_aipw_refuses_a_fold_whose_training_units_lack_an_arm(with_x):
    y = np.arange(40.0)
    t = np.zeros(40, int)
    t[[3, 17]] = 1  # two treated units: some splits put both in one fold
    X = np.column_stack([np.sin(y), np.cos(y)]) if with_x else None
    refused = 0
    for s in range(20):
        try:
            e = causal.aipw(y, t, 0.05, X=X, random_state=s)
        except InvalidLogError as exc:
            assert "no treated unit in its training units" in str(exc) and "n_folds" in str(exc)
            refused += 1
        else:
            assert np.isfinite(e.value) and np.isfinite(e.stderr)  # never a silent NaN
    assert refused > 0


def test_one_propensity_check_everywhere():
    from simrec.estimators.experiments import ExperimentLog

    y, t = np.arange(6.0), np.array([0, 1, 0, 1, 0, 1])
    e = np.array([0.5, 0.5, 0.5, 1.0, 0.5, 0.5])  # a treated unit certain to be treated
    log = ExperimentLog(y, t, features=np.ones((6, 1)), propensity=e)  # a log may hold it ...
    assert log.propensity[3] == 1.0
    for call in (lambda: causal.aipw(y, t, e),  # ... but inverse weights need overlap
                 lambda: causal.KnownPropensity().predict_proba(np.column_stack([y, e]))):
        with pytest.raises(InvalidLogError, match=r"must lie in \(0, 1\) \(both arms.*index 3 \(value .*1\.0\)"):
            call()
    with pytest.raises(InvalidLogError, match=r"below 1 for control units.*index 2"):
        ExperimentLog(y, t, propensity=np.where(np.arange(6) == 2, 1.0, 0.5))
