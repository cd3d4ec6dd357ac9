"""The causal effect estimators as registered estimators (family ``causal``, log kind ``experiment``).

Each reads an :class:`~simrec.estimators.experiments.ExperimentLog` with unit ``features`` and
returns an :class:`~simrec.estimators.Estimate` of the average treatment effect
:math:`\\tau = E[Y(1) - Y(0)]`, so sweeps and the command line can list and run them like any other
estimator. They are thin: each calls one function of :mod:`simrec.estimators.causal` and returns
its numbers unchanged.

============================  =====================================================================
:class:`AIPW`                 closed-form AIPW with cross-fitted outcome models (:func:`~.causal.aipw`)
:class:`DRLearner`            econml ``LinearDRLearner`` ATE (:func:`~.causal.ate`, ``method="dr"``)
:class:`LinearDML`            econml ``LinearDML`` ATE (:func:`~.causal.ate`, ``method="dml"``)
:class:`CausalForestDML`      econml ``CausalForestDML``: its doubly robust ``ate_`` and interval
                              (:func:`~.causal.cate`, ``method="causal_forest"``)
============================  =====================================================================

Propensities. When the log carries ``propensity`` (known :math:`P(T=1 \\mid x)`: a logging policy's
propensities, or an experiment's assignment rate) it is used as is, through
:class:`~simrec.estimators.causal.KnownPropensity` for the econml estimators, and never
re-estimated; ``diagnostics["known_propensity"]`` says so. Otherwise the propensity is estimated
from the features by ``model_t`` (default logistic regression), cross-fitted. Every unit needs a
propensity strictly inside (0, 1) (overlap); a known propensity of 1 is an error here.

Intervals (``ci_method``): ``"normal"`` (default) is each method's own normal interval (AIPW: from
the influence values :math:`\\psi_i`, the Estimate's contributions; econml: its analytic standard
error). Besides, AIPW offers every method of :mod:`simrec.estimators.intervals` on its
contributions (``"t"``, ``"bernstein"``, ``"bootstrap"``), and the econml estimators a percentile
``"bootstrap"`` that refits the whole estimator (nuisance models included) on ``n_boot`` resamples
of the units (costly: ``n_boot`` fits). Cluster ids in the log make AIPW's standard error and
bootstrap cluster-robust; the econml estimators treat units as independent.

econml is imported only when an econml estimator runs.

References
----------
Robins, J., Rotnitzky, A. & Zhao, L. (1994). Estimation of regression coefficients when some
regressors are not always observed. JASA 89(427).
Chernozhukov, V. et al. (2018). Double/debiased machine learning for treatment and structural
parameters. Econometrics Journal 21(1).
Athey, S., Tibshirani, J. & Wager, S. (2019). Generalized random forests. Annals of Statistics 47(2).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

import numpy as np

from .._validation import check_int
from ..errors import ConfigError, InvalidLogError
from .base import Estimator, Needs, check_name, check_random_state
from .causal import aipw, ate, cate, estimate_propensity
from .estimate import Estimate
from .intervals import METHODS
from .registry import register

__all__ = ["AIPW", "DRLearner", "LinearDML", "CausalForestDML"]


def _check_model(model: Any, name: str, method: str) -> Any:
    if model is not None and not (hasattr(model, "fit") and hasattr(model, method)):
        raise ConfigError(f"`{name}` must be a scikit-learn estimator with `fit` and `{method}`; "
                          f"got {type(model).__name__}")
    return model


def _seed(rng: np.random.Generator | None, random_state: Any) -> int | None:
    """The int seed econml gets: ``random_state`` itself when an int, else drawn from ``rng``."""
    if random_state is None or isinstance(random_state, (int, np.integer)):
        return random_state
    return int(rng.integers(2**31 - 1))


def _boot_rng(random_state: Any) -> np.random.Generator:
    """The bootstrap stream: a spawned child of an int ``random_state``, the Generator itself, or fresh."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if random_state is None:
        return np.random.default_rng()
    return np.random.default_rng(np.random.SeedSequence(int(random_state)).spawn(1)[0])


class _CausalEstimator(Estimator):
    """Shared input handling: the log, features, known or estimated propensities, keywords."""

    family = "causal"
    needs: ClassVar[Needs] = Needs("experiment", ("features",), ("propensity",))
    estimate_keywords = frozenset({"n_boot"})
    _ci_methods: ClassVar[tuple[str, ...]] = ("normal", "bootstrap")

    def _log(self, log: Any, alpha: float, ci_method: str, kw: dict[str, Any]) -> None:
        from .experiments.ab import _check_alpha_alt
        from .experiments.data import ExperimentLog, check_propensity

        self._check_keywords(kw)
        if not isinstance(log, ExperimentLog):
            raise InvalidLogError(f"`log` must be an ExperimentLog (per-unit outcomes, a 0/1 treatment and "
                                  f"`features`); got {type(log).__name__}")
        if ci_method not in self._ci_methods:
            raise ConfigError(f"`ci_method` must be one of {self._ci_methods} for {type(self).__name__}; "
                              f"got {ci_method!r}")
        _check_alpha_alt(alpha, "two-sided")
        if log.features is None:
            raise InvalidLogError(f"{type(self).__name__} needs `log.features` (pre-treatment unit features "
                                  f"the outcome and propensity models adjust for)")
        if log.propensity is not None:
            check_propensity(log.propensity, len(log), name="log.propensity",
                             who=f"{type(self).__name__} needs overlap: ")


class AIPW(_CausalEstimator):
    """Augmented IPW (doubly robust) ATE in closed form, cross-fitted outcome models.

    .. math::

        \\psi_i = \\hat\\mu_1(x_i) - \\hat\\mu_0(x_i) + \\frac{T_i (y_i - \\hat\\mu_1(x_i))}{e_i}
        - \\frac{(1 - T_i)(y_i - \\hat\\mu_0(x_i))}{1 - e_i},\\qquad
        \\hat\\tau = \\frac1n \\sum_i \\psi_i,\\quad \\widehat{se} = s_\\psi / \\sqrt n,

    with :math:`\\hat\\mu_t` fit per arm by ``model_y`` (default ``RidgeCV``) on the other
    ``n_folds - 1`` folds (:func:`simrec.estimators.causal.aipw`) and :math:`e_i` the log's known
    propensity, else the cross-fitted estimate of ``model_t`` (default logistic regression) clipped to
    ``[clip, 1 - clip]`` (:func:`simrec.estimators.causal.estimate_propensity`). The contributions
    are the :math:`\\psi_i`. With int ``random_state`` ``s`` the folds come from
    ``numpy.random.default_rng(s)``: first the propensity folds (when estimated), then the outcome
    folds.

    Parameters
    ----------
    model_y : scikit-learn regressor, optional
        Outcome model :math:`\\mu_t(x)`, fit separately in each arm.
    model_t : scikit-learn classifier, optional
        Propensity model, used only when the log has no ``propensity``.
    n_folds : int
        Cross-fitting folds (>= 2).
    clip : float
        Clipping of estimated propensities (known ones are never clipped).
    name, random_state
        As every :class:`~simrec.estimators.Estimator`.

    References
    ----------
    Robins, Rotnitzky & Zhao (1994); Chernozhukov et al. (2018).
    """

    _ci_methods = METHODS

    def __init__(self, model_y: Any = None, model_t: Any = None, n_folds: int = 5, clip: float = 0.01, *,
                 name: str | None = None, random_state: int | np.random.Generator | None = None) -> None:
        self.model_y = _check_model(model_y, "model_y", "predict")
        self.model_t = _check_model(model_t, "model_t", "predict_proba")
        self.n_folds = check_int(n_folds, name="n_folds", minimum=2)
        if not (isinstance(clip, (int, float)) and 0 <= clip < 0.5):
            raise ConfigError(f"`clip` must be a number in [0, 0.5); got {clip!r}")
        self.clip = clip
        self.name = check_name(name)
        self.random_state = check_random_state(random_state)

    def estimate(self, log: Any, *, alpha: float = 0.05, ci_method: str = "normal", **kw: Any) -> Estimate:
        """The ATE on ``log`` (an ExperimentLog with ``features``; ``propensity`` when known).

        ``n_boot`` (default 2000): resamples of ``ci_method="bootstrap"``.
        """
        self._log(log, alpha, ci_method, kw)
        rng = self._random()
        known = log.propensity is not None
        e = log.propensity if known else estimate_propensity(
            log.treatment, log.features, model=self.model_t, n_folds=self.n_folds, clip=self.clip,
            random_state=rng)
        est = aipw(log.outcome, log.treatment, e, X=log.features, model=self.model_y, n_folds=self.n_folds,
                   alpha=alpha, random_state=rng, name=self.label)
        diag = {**est.diagnostics, "method": "aipw", "known_propensity": known, "n_folds": self.n_folds,
                "propensity_min": float(e.min()), "propensity_max": float(e.max())}
        if not known:
            diag["n_clipped"] = int(np.count_nonzero((e <= self.clip) | (e >= 1 - self.clip)))
        clusters = None
        if log.cluster is not None:
            clusters = np.unique(log.cluster, return_inverse=True)[1].astype(np.int64)
        if clusters is not None or ci_method != "normal":
            n_boot = check_int(kw.get("n_boot", 2000), name="n_boot", minimum=10)
            est = Estimate.from_contributions(est.contributions, name=self.label, ess=est.ess, diagnostics=diag,
                                              alpha=alpha, ci_method=ci_method, clusters=clusters, n_boot=n_boot,
                                              rng=_boot_rng(self.random_state))
        return replace(est, diagnostics={**diag, **est.diagnostics})


class _EconmlEstimator(_CausalEstimator):
    """An econml ATE: the wrapped function on (log, seed), and a refitting percentile bootstrap."""

    _method: ClassVar[str]

    def _fit(self, y: np.ndarray, t: np.ndarray, x: np.ndarray, e: np.ndarray | None, alpha: float,
             seed: int | None) -> Estimate:
        raise NotImplementedError

    def estimate(self, log: Any, *, alpha: float = 0.05, ci_method: str = "normal", **kw: Any) -> Estimate:
        """The ATE on ``log`` (an ExperimentLog with ``features``; ``propensity`` when known).

        ``n_boot`` (default 100): refits of ``ci_method="bootstrap"``.
        """
        self._log(log, alpha, ci_method, kw)
        rs = self.random_state
        rng = rs if isinstance(rs, np.random.Generator) else None
        y, t, x, e = log.outcome, log.treatment, log.features, log.propensity
        est = self._fit(y, t, x, e, alpha, _seed(rng, rs))
        diag = {**est.diagnostics, "method": self._method, "known_propensity": e is not None, "cv": self.cv}
        if e is not None:
            diag.update(propensity_min=float(e.min()), propensity_max=float(e.max()))
        if log.cluster is not None:
            diag["clusters_used"] = False  # econml's standard errors treat units as independent
        ci, method = est.ci, est.ci_method
        if ci_method == "bootstrap":
            n_boot = check_int(kw.get("n_boot", 100), name="n_boot", minimum=10)
            brng = _boot_rng(rs)
            vals = np.empty(n_boot)
            n = y.size
            for b in range(n_boot):
                i = brng.integers(0, n, n)
                vals[b] = self._fit(y[i], t[i], x[i], None if e is None else e[i], alpha,
                                    int(brng.integers(2**31 - 1))).value
            ci = (float(np.quantile(vals, alpha / 2)), float(np.quantile(vals, 1 - alpha / 2)))
            method = "bootstrap"
            diag["n_boot"] = n_boot
        return replace(est, ci=ci, ci_method=method, name=self.label, diagnostics=diag)


class _DMLParams(_EconmlEstimator):
    def __init__(self, model_y: Any = None, model_t: Any = None, cv: int = 2, *, name: str | None = None,
                 random_state: int | np.random.Generator | None = None) -> None:
        self.model_y = _check_model(model_y, "model_y", "predict")
        self.model_t = _check_model(model_t, "model_t", "predict_proba")
        self.cv = check_int(cv, name="cv", minimum=2)
        self.name = check_name(name)
        self.random_state = check_random_state(random_state)

    def _fit(self, y: np.ndarray, t: np.ndarray, x: np.ndarray, e: np.ndarray | None, alpha: float,
             seed: int | None) -> Estimate:
        """:func:`simrec.estimators.causal.ate` with this class' ``method`` (the features as controls)."""
        return ate(y, t, X=x, propensity=e, method=self._method, model_y=self.model_y, model_t=self.model_t,
                   cv=self.cv, alpha=alpha, random_state=seed)


class DRLearner(_DMLParams):
    """Doubly robust ATE by econml's ``LinearDRLearner`` (AIPW pseudo-outcomes, linear final stage).

    econml fits the outcome model :math:`\\mu(x, t)` (``model_y``, default linear regression, on the
    features and the treatment) and the propensity (``model_t``, default logistic regression; the
    known one when the log has it) with ``cv``-fold cross-fitting, forms the pseudo-outcomes
    :math:`\\psi_i` of :class:`AIPW` and regresses them on a constant: :math:`\\hat\\tau = \\bar\\psi`
    with a heteroskedasticity-robust standard error (:func:`simrec.estimators.causal.ate`,
    ``method="dr"``, the features as controls ``W``). No contributions.

    References
    ----------
    Chernozhukov et al. (2018); econml ``econml.dr.LinearDRLearner``.
    """

    _method = "dr"


class LinearDML(_DMLParams):
    """ATE by econml's ``LinearDML`` (partialling out, Robinson 1988 / Chernozhukov et al. 2018).

    With cross-fitted residuals :math:`\\tilde y_i = y_i - \\hat m(x_i)` (``model_y``, default linear
    regression) and :math:`\\tilde t_i = T_i - e_i` (``model_t``, default logistic regression; the
    known propensity when the log has it),
    :math:`\\hat\\tau = \\sum_i \\tilde t_i \\tilde y_i / \\sum_i \\tilde t_i^2` with econml's
    heteroskedasticity-robust standard error (:func:`simrec.estimators.causal.ate`, ``method="dml"``,
    the features as controls ``W``). Under effect heterogeneity this is an overlap-weighted average
    effect (weights :math:`e(1-e)`), equal to the ATE when the effect is constant or the propensity is.
    No contributions.

    References
    ----------
    Chernozhukov et al. (2018); econml ``econml.dml.LinearDML``.
    """

    _method = "dml"


class CausalForestDML(_DMLParams):
    """ATE of econml's ``CausalForestDML``: the forest's doubly robust ``ate_`` and its interval.

    An honest generalized random forest of the effect :math:`\\tau(x)` on the features (residuals from
    ``model_y`` / ``model_t`` as in :class:`LinearDML`); the ATE is the mean of the out-of-bag doubly
    robust scores :math:`\\hat\\tau(x_i) + (\\tilde y_i - \\hat\\tau(x_i)\\tilde t_i)\\tilde t_i / (e_i(1-e_i))`
    (econml floors :math:`e_i(1-e_i)` at 0.01) with their standard error
    (:func:`simrec.estimators.causal.cate`, ``method="causal_forest"``).
    No contributions.

    Parameters
    ----------
    model_y, model_t, cv
        As :class:`LinearDML`.
    n_estimators : int
        Trees (a multiple of 4, econml's sub-forest size).
    min_samples_leaf : int
        Minimum units per leaf.
    n_jobs : int or None
        Processes of the forest (the result does not depend on it; sweeps parallelise runs).

    References
    ----------
    Athey, Tibshirani & Wager (2019); econml ``econml.dml.CausalForestDML``.
    """

    _method = "causal_forest"

    def __init__(self, model_y: Any = None, model_t: Any = None, cv: int = 2, n_estimators: int = 100,
                 min_samples_leaf: int = 10, n_jobs: int | None = 1, *, name: str | None = None,
                 random_state: int | np.random.Generator | None = None) -> None:
        super().__init__(model_y, model_t, cv, name=name, random_state=random_state)
        self.n_estimators = check_int(n_estimators, name="n_estimators", minimum=4)
        if self.n_estimators % 4:
            raise ConfigError(f"`n_estimators` must be a multiple of 4 (econml's sub-forest size); got {n_estimators}")
        self.min_samples_leaf = check_int(min_samples_leaf, name="min_samples_leaf", minimum=1)
        if n_jobs is not None and (not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0):
            raise ConfigError(f"`n_jobs` must be None or a non-zero int; got {n_jobs!r}")
        self.n_jobs = n_jobs

    def _fit(self, y: np.ndarray, t: np.ndarray, x: np.ndarray, e: np.ndarray | None, alpha: float,
             seed: int | None) -> Estimate:
        return cate(y, t, x, propensity=e, method="causal_forest", model_y=self.model_y, model_t=self.model_t,
                    cv=self.cv, alpha=alpha, n_estimators=self.n_estimators, min_samples_leaf=self.min_samples_leaf,
                    random_state=seed, n_jobs=self.n_jobs, X_eval=x[:1]).ate


for _cls in (AIPW, DRLearner, LinearDML, CausalForestDML):
    register(_cls)
