"""The causal estimators of the registry (family ``causal``): they equal the functions they wrap,
AIPW equals its closed form, a log's known propensities are used (and only they are unbiased where
the propensity model is wrong), bad input raises named errors, intervals cover a known ATE."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
from click.testing import CliRunner
from sklearn.linear_model import LinearRegression

from simrec.cli import cli
from simrec.errors import ConfigError, InvalidLogError
from simrec.estimators import causal, registry
from simrec.estimators.causal_estimators import AIPW, CausalForestDML, DRLearner, LinearDML
from simrec.estimators.experiments import ExperimentLog
from simrec.testing import check_estimator
from simrec.testing.check_estimator import experiment_problem

CLASSES = [AIPW, DRLearner, LinearDML, CausalForestDML]
#: small econml models keep the tests fast
SMALL = {AIPW: {}, DRLearner: {}, LinearDML: {}, CausalForestDML: {"n_estimators": 16}}
Z975 = 1.959963984540054


def _logged(seed: int = 0, n: int = 1000, known: bool = True) -> ExperimentLog:
    """Confounded logged data: the logging propensity and the outcome both rise with x0; the effect
    1 + 0.5 x0 varies, so the true ATE is 1."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    e = 1 / (1 + np.exp(-(1.2 * x[:, 0] - 0.6 * x[:, 1])))
    t = rng.random(n) < e
    y = 0.5 + x[:, 0] + 0.5 * x[:, 1] ** 2 + t * (1 + 0.5 * x[:, 0]) + rng.normal(size=n)
    return ExperimentLog(y, t.astype(np.int64), features=x, propensity=e if known else None)


def _quiet(fn, *a, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*a, **kw)


def _same(a, b) -> None:
    assert (a.value, a.stderr, a.ci, a.n) == (b.value, b.stderr, b.ci, b.n)


# -- the registry, the CLI, the conformance check --------------------------------------------------
def test_the_causal_family_is_registered_with_what_it_needs():
    assert registry.names("causal") == ["AIPW", "DRLearner", "LinearDML", "CausalForestDML"]
    for cls in CLASSES:
        info = registry.get(cls.__name__.lower())
        assert info.cls is cls and info.family == "causal" and info.summary
        assert info.needs.log == "experiment" and info.needs.inputs == ("features",)
        assert info.needs.optional == ("propensity",)
    made = registry.make("CausalForestDML", n_estimators=8, random_state=3)
    assert repr(made) == "CausalForestDML(n_estimators=8, random_state=3)"
    assert repr(registry.make("AIPW", n_folds=3)) == "AIPW(n_folds=3)"
    with pytest.raises(ConfigError, match="n_fold.*did you mean 'n_folds'"):
        registry.make("AIPW", n_fold=3)


def test_cli_lists_the_causal_estimators():
    out = CliRunner().invoke(cli, ["estimators", "--family", "causal"])
    assert out.exit_code == 0, out.output
    for name in registry.names("causal"):
        assert f"{name}  [causal; experiment log; needs features (optional: propensity)]" in out.output
    assert "n_estimators=100" in out.output and "n_folds=5" in out.output


def test_importing_the_registry_does_not_import_econml():
    code = ("import sys; from simrec.estimators import registry; registry.names(); "
            "from simrec.estimators.causal_estimators import DRLearner; DRLearner(); print('econml' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_conformance_with_known_propensities(cls):
    """The generic check runs without propensities (estimated); here the log carries them."""
    log, inputs = experiment_problem(np.random.default_rng(1))
    known = ExperimentLog(log.outcome, log.treatment, features=log.features, cluster=log.cluster, propensity=0.5)
    check_estimator(cls(**SMALL[cls]), problem=(known, inputs))


# -- thin wrappers: each class equals the function it wraps -----------------------------------------
@pytest.mark.parametrize("known", [True, False], ids=["known", "estimated"])
def test_aipw_equals_the_function(known):
    log = _logged(1, 600, known)
    got = AIPW(n_folds=3, random_state=5).estimate(log)
    rng = np.random.default_rng(5)  # the documented order: propensity folds, then outcome folds
    e = log.propensity if known else causal.estimate_propensity(log.treatment, log.features, n_folds=3,
                                                                random_state=rng)
    want = causal.aipw(log.outcome, log.treatment, e, X=log.features, n_folds=3, random_state=rng)
    _same(got, want)
    np.testing.assert_array_equal(got.contributions, want.contributions)
    assert got.diagnostics["known_propensity"] is known and got.diagnostics["method"] == "aipw"
    assert got.name == "AIPW" and AIPW(name="aipw-x").estimate(log).name == "aipw-x"


@pytest.mark.parametrize("known", [True, False], ids=["known", "estimated"])
@pytest.mark.parametrize(("cls", "method"), [(DRLearner, "dr"), (LinearDML, "dml")], ids=["DRLearner", "LinearDML"])
def test_econml_ate_estimators_equal_the_function(cls, method, known):
    log = _logged(2, 600, known)
    got = _quiet(cls(cv=3, random_state=4).estimate, log, alpha=0.1)
    want = _quiet(causal.ate, log.outcome, log.treatment, X=log.features, propensity=log.propensity, method=method,
                  cv=3, alpha=0.1, random_state=4)
    _same(got, want)
    assert got.diagnostics["known_propensity"] is known and got.diagnostics["method"] == method
    assert got.contributions is None and got.alpha == 0.1


@pytest.mark.parametrize("known", [True, False], ids=["known", "estimated"])
def test_causal_forest_equals_the_function(known):
    log = _logged(3, 600, known)
    got = _quiet(CausalForestDML(n_estimators=16, min_samples_leaf=5, random_state=2).estimate, log)
    want = _quiet(causal.cate, log.outcome, log.treatment, log.features, propensity=log.propensity,
                  method="causal_forest", cv=2, n_estimators=16, min_samples_leaf=5, random_state=2, n_jobs=1).ate
    _same(got, want)
    assert got.diagnostics["known_propensity"] is known


def test_aipw_with_known_propensity_equals_the_closed_form_by_hand():
    log = _logged(4, 500)
    y, t, x, e = log.outcome, log.treatment, log.features, log.propensity
    got = AIPW(model_y=LinearRegression(), n_folds=3, random_state=11).estimate(log)
    # by hand: the folds of the documented split, per-arm least squares, the influence values
    fold = np.random.default_rng(11).permutation(y.size) % 3
    mu = np.empty((2, y.size))
    design = np.column_stack([np.ones(y.size), x])
    for k in range(3):
        for arm in (0, 1):
            fit = (fold != k) & (t == arm)
            beta = np.linalg.lstsq(design[fit], y[fit], rcond=None)[0]
            mu[arm, fold == k] = design[fold == k] @ beta
    psi = mu[1] - mu[0] + t * (y - mu[1]) / e - (1 - t) * (y - mu[0]) / (1 - e)
    value, se = psi.mean(), psi.std(ddof=1) / np.sqrt(y.size)
    np.testing.assert_allclose([got.value, got.stderr], [value, se], rtol=1e-10)
    np.testing.assert_allclose(got.ci, [value - Z975 * se, value + Z975 * se], rtol=1e-10)
    np.testing.assert_allclose(got.contributions, psi, rtol=1e-9, atol=1e-9)
    w = np.where(t, 1 / e, 1 / (1 - e))
    assert got.ess == pytest.approx(w.sum() ** 2 / (w * w).sum(), rel=1e-12)


def test_aipw_clusters_make_the_standard_error_cluster_robust():
    from simrec.estimators.intervals import cluster_mean_se

    log = _logged(5, 600)
    g = np.repeat(np.arange(150), 4)  # units come in groups of four
    clustered = ExperimentLog(log.outcome, log.treatment, features=log.features, propensity=log.propensity,
                              cluster=g.astype(str))
    plain, got = AIPW(random_state=1).estimate(log), AIPW(random_state=1).estimate(clustered)
    assert got.value == plain.value
    _, se, n_clusters = cluster_mean_se(plain.contributions, g)
    assert got.stderr == pytest.approx(se, rel=1e-12) and got.stderr != plain.stderr
    assert got.diagnostics["n_clusters"] == n_clusters == 150
    dr = _quiet(DRLearner(random_state=1).estimate, clustered)
    assert dr.diagnostics["clusters_used"] is False
    assert "clusters_used" not in _quiet(DRLearner(random_state=1).estimate, log).diagnostics


# -- the known propensity is really used ------------------------------------------------------------
def _selective_log(seed: int, n: int, known: bool) -> ExperimentLog:
    """Logging treats mostly units with |x0| > 1, whose outcomes and effects are large: a logistic
    propensity model in x cannot see this and linear outcome models cannot either. True ATE = 2."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    e = np.where(np.abs(x[:, 0]) > 1, 0.9, 0.1)
    t = rng.random(n) < e
    y = 2 * x[:, 0] ** 2 + t * (1 + x[:, 0] ** 2) + rng.normal(size=n)
    return ExperimentLog(y, t.astype(np.int64), features=x, propensity=e if known else None)


@pytest.mark.parametrize("cls", [AIPW, DRLearner], ids=lambda c: c.__name__)
def test_known_propensity_is_used_and_only_it_is_unbiased(cls):
    truth = 2.0
    known = _quiet(cls(random_state=0).estimate, _selective_log(6, 4000, True))
    guessed = _quiet(cls(random_state=0).estimate, _selective_log(6, 4000, False))
    assert known.diagnostics["known_propensity"] and not guessed.diagnostics["known_propensity"]
    assert abs(known.value - truth) < 3 * known.stderr, known
    assert abs(guessed.value - truth) > 10 * guessed.stderr, guessed  # the estimated propensity is wrong here
    assert guessed.value > truth + 1


# -- bad input ---------------------------------------------------------------------------------------
def _arrays(n: int = 50):
    rng = np.random.default_rng(0)
    t = np.arange(n) % 2
    return rng.normal(size=n), t, rng.normal(size=(n, 2)), np.full(n, 0.5)


@pytest.mark.parametrize(("change", "match"), [
    ({"treatment": np.arange(50) % 3}, r"`treatment` must be binary.*first at index 2 \(value .*2\)"),
    ({"outcome": np.where(np.arange(50) == 7, np.nan, 1.0)}, r"`outcome` must be finite.*index 7"),
    ({"features": np.where(np.arange(100).reshape(50, 2) == 9, np.nan, 0.0)}, r"`features` must be finite"),
    ({"propensity": np.where(np.arange(50) == 3, 1.5, 0.5)}, r"`propensity`.*\(0, 1\].*index 3 \(value .*1.5\)"),
    ({"propensity": np.where(np.arange(50) == 4, 0.0, 0.5)}, r"`propensity`.*\(0, 1\].*index 4"),
    ({"propensity": np.where(np.arange(50) == 5, np.nan, 0.5)}, r"`propensity` must be finite.*index 5"),
    ({"propensity": np.where(np.arange(50) == 6, 1.0, 0.5)}, r"`propensity` must be below 1 for control.*index 6"),
    ({"propensity": np.full(49, 0.5)}, r"`propensity` must have one value per unit \(50"),
    ({"propensity": "half"}, r"`propensity` must be numeric"),
])
def test_bad_logs_raise_named_errors(change, match):
    y, t, x, e = _arrays()
    args = {"outcome": y, "treatment": t, "features": x, "propensity": e, **change}
    with pytest.raises(InvalidLogError, match=match):
        ExperimentLog(args.pop("outcome"), args.pop("treatment"), **args)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_bad_estimator_input_raises_named_errors(cls):
    y, t, x, e = _arrays()
    est = cls(**SMALL[cls])
    with pytest.raises(InvalidLogError, match=rf"{cls.__name__} needs `log.features`"):
        est.estimate(ExperimentLog(y, t, propensity=e))
    no_overlap = np.where(t == 1, np.where(np.arange(50) == 9, 1.0, 0.5), 0.5)
    with pytest.raises(InvalidLogError, match=r"overlap: `log.propensity`.* \(0, 1\).*index 9 \(value .*1\.0\)"):
        est.estimate(ExperimentLog(y, t, features=x, propensity=no_overlap))
    with pytest.raises(InvalidLogError, match="`log` must be an ExperimentLog"):
        est.estimate({"outcome": y})
    with pytest.raises(ConfigError, match="`ci_method` must be one of"):
        est.estimate(ExperimentLog(y, t, features=x), ci_method="wald")
    with pytest.raises(ConfigError, match="did you mean 'n_boot'"):
        est.estimate(ExperimentLog(y, t, features=x), n_bot=5)


@pytest.mark.parametrize(("cls", "params", "match"), [
    (AIPW, {"n_folds": 1}, "`n_folds`"),
    (AIPW, {"clip": 0.5}, "`clip`"),
    (AIPW, {"model_y": "ridge"}, "`model_y` must be a scikit-learn estimator with `fit` and `predict`"),
    (DRLearner, {"model_t": LinearRegression()}, "`model_t`.*predict_proba"),
    (LinearDML, {"cv": 1}, "`cv`"),
    (CausalForestDML, {"n_estimators": 10}, "multiple of 4"),
    (CausalForestDML, {"n_jobs": 0}, "`n_jobs`"),
    (DRLearner, {"random_state": -1}, "`random_state`"),
])
def test_bad_parameters_raise_config_errors(cls, params, match):
    with pytest.raises(ConfigError, match=match):
        cls(**params)


def test_estimated_propensity_needs_both_arms_in_every_training_fold():
    y, _, x, _ = _arrays(30)
    t = np.zeros(30, dtype=np.int64)
    t[:2] = 1  # two treated units: a seed whose split puts both in one fold leaves its training fold without
    seed = next(s for s in range(1000) if len(set(np.random.default_rng(s).permutation(30)[:2] % 15)) == 1)
    with pytest.raises(InvalidLogError, match="fold . of the propensity cross-fitting has one arm only"):
        AIPW(n_folds=15, random_state=seed).estimate(ExperimentLog(y, t, features=x))


# -- intervals ---------------------------------------------------------------------------------------
def test_econml_bootstrap_refits_and_is_reproducible():
    log = _logged(7, 400)
    est = DRLearner(random_state=3)
    a = _quiet(est.estimate, log, ci_method="bootstrap", n_boot=30)
    b = _quiet(est.clone().estimate, log, ci_method="bootstrap", n_boot=30)
    normal = _quiet(est.estimate, log)
    assert a.ci == b.ci and a.ci_method == "bootstrap" and a.diagnostics["n_boot"] == 30
    assert a.value == normal.value and a.ci != normal.ci
    width, nwidth = a.ci[1] - a.ci[0], normal.ci[1] - normal.ci[0]
    assert 0.5 < width / nwidth < 2, (a.ci, normal.ci)  # both estimate the same sampling spread


def test_aipw_offers_every_interval_on_its_contributions():
    log = _logged(8, 400)
    normal = AIPW(random_state=2).estimate(log)
    for method in ("t", "bernstein"):
        got = AIPW(random_state=2).estimate(log, ci_method=method)
        assert got.ci_method == method and got.ci == normal.interval(method) and got.value == normal.value
    boot = AIPW(random_state=2).estimate(log, ci_method="bootstrap", n_boot=500)
    again = AIPW(random_state=2).estimate(log, ci_method="bootstrap", n_boot=500)
    assert boot.ci == again.ci != normal.ci
    np.testing.assert_allclose(boot.ci, normal.ci, atol=0.25 * (normal.ci[1] - normal.ci[0]))


def test_aipw_and_drlearner_intervals_cover_a_known_ate():
    """Monte Carlo over confounded logged data with known logging propensities: the true ATE is 1
    (about 15 s, so not marked slow)."""
    reps, hits = 300, {"AIPW": 0, "DRLearner": 0}
    ests = {"AIPW": AIPW(random_state=0), "DRLearner": DRLearner(random_state=0)}
    naive = 0.0
    for r in range(reps):
        log = _logged(1000 + r, 800)
        naive += (log.outcome[log.treatment].mean() - log.outcome[~log.treatment].mean()) / reps
        for name, est in ests.items():
            got = _quiet(est.estimate, log)
            hits[name] += got.ci[0] <= 1.0 <= got.ci[1]
    mc_se = np.sqrt(0.95 * 0.05 / reps)
    cover = {k: v / reps for k, v in hits.items()}
    print(f"coverage of the true ATE 1 over {reps} logs: {cover} (3 MC SE = {3 * mc_se:.3f}); "
          f"naive difference in means averages {naive:.3f}")
    assert naive > 1.5  # the data are confounded: the adjustment matters
    for k, c in cover.items():
        assert abs(c - 0.95) < 3 * mc_se, (k, c)
