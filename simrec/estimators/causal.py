"""Causal effects on top of econml: ATE, CATE, known logging propensities, policy learning, uplift.

econml is imported only inside the functions that use it (it is heavy to import). What econml lacks
for recommender experiments is written here:

* :class:`KnownPropensity`: a scikit-learn classifier that *reads* each row's logging propensity
  from a column of the controls ``W`` instead of estimating it. The value travels with the row, so it
  stays right under econml's cross-fitting and bootstrap (a closure over an array would not).
* :func:`aipw`: the closed-form augmented inverse-propensity-weighted (doubly robust) ATE with its
  influence-function interval, the anchor the econml path is checked against.
* :func:`learn_policy`: econml's ``DRPolicyTree`` fit on one half of the units and its value (and
  the gain over treating everyone / no one) estimated by AIPW on the other half, with intervals.
* :func:`uplift_curve`: Qini / cumulative-gain curves of a targeting score on doubly-robust scores,
  AUUC and the Qini coefficient with bootstrap intervals.

AIPW (Robins, Rotnitzky & Zhao 1994): with outcome models :math:`\\mu_t(x)` and propensity
:math:`e(x) = P(T=1|x)`,

.. math::

    \\psi_i = \\mu_1(x_i) - \\mu_0(x_i) + \\frac{T_i (y_i - \\mu_1(x_i))}{e(x_i)}
    - \\frac{(1 - T_i)(y_i - \\mu_0(x_i))}{1 - e(x_i)},\\qquad \\hat\\tau = \\bar\\psi,
    \\quad \\widehat{se} = s_\\psi / \\sqrt n.

References
----------
Chernozhukov, V. et al. (2018). Double/debiased machine learning for treatment and structural
parameters. Econometrics Journal.
Athey, S. & Wager, S. (2021). Policy learning with observational data. Econometrica.
Radcliffe, N. (2007). Using control groups to target on predicted lift. DMA Analytics.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._validation import as_rng, check_int
from ..errors import ConfigError, InvalidLogError
from .estimate import Estimate
from .experiments.data import as_matrix, as_metric, as_treatment, check_arm_sizes, check_propensity
from .experiments.variance import fold_ids

__all__ = ["KnownPropensity", "aipw", "ate", "cate", "CateResult", "estimate_propensity", "learn_policy",
           "PolicyResult", "uplift_curve", "UpliftResult"]


class KnownPropensity:
    """A classifier whose ``predict_proba`` returns the propensity stored in column ``column`` of its input.

    Pass it as econml's ``model_propensity`` (DRLearner) or ``model_t`` (DML, discrete treatment) and
    append the known ``P(T=1|x)`` of each row as the last column of ``W`` (econml hands nuisance
    models ``hstack([X, W])``). ``fit`` learns nothing but the classes.

    Parameters
    ----------
    column : int
        Column of the combined ``[X, W]`` matrix holding :math:`P(T=1 \\mid x)` (default: the last).
    """

    def __init__(self, column: int = -1) -> None:
        self.column = column

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"column": self.column}

    def set_params(self, **params: Any) -> KnownPropensity:
        for k, v in params.items():
            setattr(self, k, v)
        return self

    def fit(self, X: Any, y: Any, **kw: Any) -> KnownPropensity:
        y = np.asarray(y)
        self.classes_ = np.unique(y.argmax(1) if y.ndim == 2 else y)
        if self.classes_.size > 2:
            raise InvalidLogError("KnownPropensity supports a binary treatment; got "
                                  f"{self.classes_.size} arms")
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        x = np.asarray(X, dtype=np.float64)
        p = check_propensity(x[:, self.column], x.shape[0], name="known propensities")
        return np.column_stack([1 - p, p])

    def predict(self, X: Any) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] > 0.5).astype(np.int64)

    def __repr__(self) -> str:
        return f"KnownPropensity(column={self.column})"


def _inputs(y: Any, treatment: Any, X: Any = None, propensity: Any = None) -> tuple[np.ndarray, ...]:
    t = as_treatment(treatment)
    v = as_metric(y, "y", t.shape[0])
    check_arm_sizes(t)
    x = None if X is None else as_matrix(X, "X", t.shape[0])
    e = None if propensity is None else check_propensity(propensity, t.shape[0])
    return v, t, x, e


def _cross_fit_mu(y: np.ndarray, t: np.ndarray, x: np.ndarray | None, model: Any, n_folds: int,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Cross-fitted outcome models mu_0(x), mu_1(x) (separate fits per arm; arm means without X)."""
    from sklearn.base import clone as sk_clone

    n = y.size
    mu0, mu1 = np.empty(n), np.empty(n)
    fold = fold_ids(n, n_folds, rng)
    for k in range(n_folds):
        te, tr = fold == k, fold != k
        for arm, out in ((False, mu0), (True, mu1)):
            m = tr & (t == arm)
            if not m.any():
                raise InvalidLogError(f"fold {k} of the outcome-model cross-fitting has no "
                                      f"{'treated' if arm else 'control'} unit in its training units; use fewer "
                                      "`n_folds` or more units of the rarer arm")
            if x is None:
                out[te] = y[m].mean()
            else:
                out[te] = sk_clone(model).fit(x[m], y[m]).predict(x[te])
    return mu0, mu1


def estimate_propensity(treatment: Any, X: Any, *, model: Any = None, n_folds: int = 5, clip: float = 0.01,
                        random_state: int | np.random.Generator | None = 0) -> np.ndarray:
    """Cross-fitted propensity :math:`\\hat e(x_i) = \\hat P(T=1 \\mid x_i)`, clipped to ``[clip, 1 - clip]``.

    Units are split into ``n_folds`` folds (``rng.permutation(n) % n_folds``, the split of the
    outcome models of :func:`aipw`); each fold's propensities come from ``model`` (default
    ``LogisticRegression()``) fit on the other folds. Use it when the propensities are not known;
    known ones (a logging policy's, an experiment's assignment rate) are always better.

    Parameters
    ----------
    treatment : array_like (n,) of {0, 1}
    X : array_like (n, d)
        Pre-treatment features.
    model : scikit-learn classifier, optional
        Anything with ``fit`` and ``predict_proba``.
    n_folds : int
        Folds of the cross-fitting (>= 2).
    clip : float
        Bound in [0, 0.5) that keeps the inverse weights finite (0: no clipping; then an estimated
        propensity of exactly 0 or 1 is an error downstream).
    random_state : int, Generator or None
        The fold split.

    Returns
    -------
    numpy.ndarray (n,)
    """
    from sklearn.base import clone as sk_clone

    _, t, x, _ = _inputs(np.zeros(np.shape(treatment)[:1]), treatment, X)
    if x is None:
        raise ConfigError("`X` (features) is required to estimate the propensity")
    k = check_int(n_folds, name="n_folds", minimum=2)
    if not 0 <= clip < 0.5:
        raise ConfigError(f"`clip` must lie in [0, 0.5); got {clip!r}")
    if model is None:
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression()
    fold = fold_ids(t.size, k, as_rng(random_state))
    e = np.empty(t.size)
    for j in range(k):
        te, tr = fold == j, fold != j
        if t[tr].all() or not t[tr].any():
            raise InvalidLogError(f"fold {j} of the propensity cross-fitting has one arm only in its training "
                                  f"units; use fewer `n_folds` or more units of the rarer arm")
        m = sk_clone(model).fit(x[tr], t[tr].astype(np.int64))
        cls = list(np.asarray(m.classes_))
        e[te] = np.asarray(m.predict_proba(x[te]), dtype=np.float64)[:, cls.index(1)]
    return np.clip(e, clip, 1 - clip)


def aipw(y: Any, treatment: Any, propensity: Any, *, mu0: Any = None, mu1: Any = None, X: Any = None,
         model: Any = None, n_folds: int = 5, alpha: float = 0.05,
         random_state: int | np.random.Generator | None = 0, name: str = "aipw") -> Estimate:
    """Closed-form AIPW (doubly robust) ATE with known propensities (module docstring).

    Outcome models: ``mu0``/``mu1`` if given (arrays), else cross-fitted ``model`` (default ridge) on
    ``X`` per arm, else the arm means. The interval is the normal one from the influence values
    :math:`\\psi_i` (the Estimate's contributions).
    """
    v, t, x, e = _inputs(y, treatment, X, propensity)
    if e is None:
        raise ConfigError("`propensity` is required (known logging propensities P(T=1|x))")
    if (mu0 is None) != (mu1 is None):
        raise ConfigError("give both `mu0` and `mu1`, or neither")
    if mu0 is not None:
        m0, m1 = as_metric(mu0, "mu0", v.size), as_metric(mu1, "mu1", v.size)
    else:
        if model is None:
            from sklearn.linear_model import RidgeCV

            model = RidgeCV()
        m0, m1 = _cross_fit_mu(v, t, x, model, check_int(n_folds, name="n_folds", minimum=2), as_rng(random_state))
    psi = m1 - m0 + t * (v - m1) / e - (~t) * (v - m0) / (1 - e)
    w = np.where(t, 1 / e, 1 / (1 - e))
    return Estimate.from_contributions(psi, name=name, alpha=alpha, ess=float(w.sum() ** 2 / (w * w).sum()),
                                       diagnostics={"max_weight": float(w.max())})


@contextmanager
def _quiet() -> Iterator[None]:
    """econml's FutureWarnings and UserWarnings silenced (restored on exit)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", UserWarning)
        yield


def _W(W: Any, e: np.ndarray | None, n: int) -> np.ndarray | None:
    cols = []
    if W is not None:
        cols.append(as_matrix(W, "W", n))
    if e is not None:
        cols.append(e[:, None])
    return np.hstack(cols) if cols else None


def _nuisances(propensity: Any, model_y: Any, model_t: Any) -> tuple[Any, Any]:
    from sklearn.linear_model import LinearRegression, LogisticRegression

    my = model_y if model_y is not None else LinearRegression()
    mt = KnownPropensity(-1) if propensity is not None else (model_t if model_t is not None else
                                                               LogisticRegression())
    return my, mt


def ate(y: Any, treatment: Any, *, X: Any = None, W: Any = None, propensity: Any = None, method: str = "dr",
        model_y: Any = None, model_t: Any = None, cv: int = 5, alpha: float = 0.05,
        random_state: int | None = 0) -> Estimate:
    """Average treatment effect from an experiment or from logged data.

    Parameters
    ----------
    y, treatment : array_like (n,)
        Outcome and binary treatment.
    X, W : array_like, optional
        Covariates (effect modifiers / controls); both only adjust the ATE here.
    propensity : array_like (n,) or float, optional
        Known :math:`P(T=1|x)` (an experiment's assignment probability, a logging policy's
        propensity): used through :class:`KnownPropensity`, never re-estimated.
    method : {"dr", "dml", "aipw"}
        ``dr``: econml ``LinearDRLearner`` (AIPW pseudo-outcomes, statsmodels final stage);
        ``dml``: econml ``LinearDML`` (partialling out); ``aipw``: the closed form here (no econml).
    model_y, model_t : scikit-learn estimators, optional
        Outcome and treatment nuisance models (default linear / logistic regression; ``model_t`` is
        ignored when ``propensity`` is given).

    Returns
    -------
    Estimate
        ``ci_method`` names the source; the econml paths carry no contributions.
    """
    v, t, x, e = _inputs(y, treatment, X, propensity)
    if method == "aipw":
        if e is None:
            raise ConfigError("method='aipw' needs known `propensity`")
        feats = x if W is None else (np.hstack([x, _W(W, None, v.size)]) if x is not None else _W(W, None, v.size))
        return aipw(v, t, e, X=feats, model=model_y, n_folds=cv, alpha=alpha, random_state=random_state)
    Wm = _W(W, e, v.size)
    feats = x if Wm is None else (Wm if x is None else np.hstack([x, Wm]))
    if feats is None:  # econml needs some W: a constant column
        feats = np.ones((v.size, 1))
    my, mt = _nuisances(propensity, model_y, model_t)
    with _quiet():
        if method == "dr":
            from econml.dr import LinearDRLearner

            est = LinearDRLearner(model_propensity=mt, model_regression=my, cv=cv, random_state=random_state,
                                  min_propensity=1e-9)
            est.fit(v, t.astype(np.int64), X=None, W=feats)
            val = float(est.intercept_(T=1))
            lo, hi = (float(a) for a in est.intercept__interval(T=1, alpha=alpha))
            se = float(est.intercept__inference(T=1).stderr)
        elif method == "dml":
            from econml.dml import LinearDML

            est = LinearDML(model_y=my, model_t=mt, discrete_treatment=True, cv=cv, random_state=random_state)
            est.fit(v, t.astype(np.int64), X=None, W=feats)
            val = float(est.intercept_)
            lo, hi = (float(a) for a in est.intercept__interval(alpha=alpha))
            se = float(est.intercept__inference().stderr)
        else:
            raise ConfigError(f"`method` must be 'dr', 'dml' or 'aipw'; got {method!r}")
    return Estimate(value=val, stderr=se, ci=(lo, hi), n=int(v.size), ess=float(v.size),
                    diagnostics={"method": method, "known_propensity": e is not None}, name=f"ate-{method}",
                    alpha=alpha, ci_method=f"econml-{method}")


@dataclass
class CateResult:
    """Conditional effects :math:`\\tau(x)` on the rows of ``X`` and the average effect."""

    effect: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    ate: Estimate
    model: Any
    method: str


def cate(y: Any, treatment: Any, X: Any, *, W: Any = None, propensity: Any = None, method: str = "linear_dml",
         model_y: Any = None, model_t: Any = None, cv: int = 5, alpha: float = 0.05, n_estimators: int = 200,
         min_samples_leaf: int = 10, random_state: int | None = 0, X_eval: Any = None,
         n_jobs: int | None = -1) -> CateResult:
    """Heterogeneous effects with econml: ``linear_dml`` (LinearDML, a linear CATE with analytic
    intervals), ``causal_forest`` (CausalForestDML: honest forest, pointwise intervals; the ATE is its
    doubly-robust ``ate_`` on the training data, not the average of the pointwise intervals) or
    ``dr`` (LinearDRLearner on ``X``). ``propensity``: known :math:`P(T=1|x)` (see :func:`ate`).
    Effects are returned on ``X_eval`` (default ``X``). ``n_jobs``: processes of the forest (its
    results do not depend on it)."""
    v, t, x, e = _inputs(y, treatment, X, propensity)
    if x is None:
        raise ConfigError("`X` (effect modifiers) is required for CATE")
    xe = x if X_eval is None else as_matrix(X_eval, "X_eval", None, d=x.shape[1])
    Wm = _W(W, e, v.size)
    my, mt = _nuisances(propensity, model_y, model_t)
    if propensity is not None and Wm is not None:
        mt = KnownPropensity(x.shape[1] + Wm.shape[1] - 1)  # econml hands [X, W]: the last column
    with _quiet():
        if method == "linear_dml":
            from econml.dml import LinearDML

            est = LinearDML(model_y=my, model_t=mt, discrete_treatment=True, cv=cv, random_state=random_state)
            est.fit(v, t.astype(np.int64), X=x, W=Wm)
            inf = est.ate_inference(X=x)
            a = Estimate(value=float(inf.mean_point), stderr=float(inf.stderr_mean), ci=tuple(
                float(z) for z in inf.conf_int_mean(alpha=alpha)), n=int(v.size), ess=float(v.size),
                name="ate-linear-dml", alpha=alpha, ci_method="econml")
        elif method == "causal_forest":
            from econml.dml import CausalForestDML

            est = CausalForestDML(model_y=my, model_t=mt, discrete_treatment=True, cv=cv,
                                  n_estimators=check_int(n_estimators, name="n_estimators", minimum=4),
                                  min_samples_leaf=min_samples_leaf, random_state=random_state, n_jobs=n_jobs)
            est.fit(v, t.astype(np.int64), X=x, W=Wm)
            lo, hi = (np.ravel(z) for z in est.ate__inference().conf_int(alpha=alpha))
            a = Estimate(value=float(np.ravel(est.ate_)[0]), stderr=float(np.ravel(est.ate_stderr_)[0]),
                         ci=(float(lo[0]), float(hi[0])),
                         n=int(v.size), ess=float(v.size), name="ate-causal-forest", alpha=alpha,
                         ci_method="econml-dr")
        elif method == "dr":
            from econml.dr import LinearDRLearner

            est = LinearDRLearner(model_propensity=mt, model_regression=my, cv=cv, random_state=random_state)
            est.fit(v, t.astype(np.int64), X=x, W=Wm)
            inf = est.ate_inference(X=x)
            a = Estimate(value=float(inf.mean_point), stderr=float(inf.stderr_mean), ci=tuple(
                float(z) for z in inf.conf_int_mean(alpha=alpha)), n=int(v.size), ess=float(v.size),
                name="ate-dr", alpha=alpha, ci_method="econml")
        else:
            raise ConfigError(f"`method` must be 'linear_dml', 'causal_forest' or 'dr'; got {method!r}")
        eff = np.ravel(est.effect(xe))
        lo, hi = (np.ravel(z) for z in est.effect_interval(xe, alpha=alpha))
    return CateResult(eff, lo, hi, a, est, method)


@dataclass
class PolicyResult:
    """A learned treatment rule and its held-out value."""

    model: Any
    value: Estimate
    gain_vs_treat_all: Estimate
    gain_vs_treat_none: Estimate
    treat_share: float
    diagnostics: dict[str, Any] = field(default_factory=dict)

    def predict(self, X: Any) -> np.ndarray:
        """1 where the rule treats."""
        return np.asarray(self.model.predict(np.asarray(X, dtype=np.float64)), dtype=np.int64)


def learn_policy(y: Any, treatment: Any, X: Any, *, propensity: Any = 0.5, max_depth: int = 2,
                 min_samples_leaf: int = 20, model_y: Any = None, eval_share: float = 0.5, alpha: float = 0.05,
                 random_state: int | None = 0) -> PolicyResult:
    """Learn who should be treated (econml ``DRPolicyTree``) and estimate the rule's value honestly.

    The tree is fit on a random ``1 - eval_share`` of the units; on the held-out units the value of
    the rule :math:`\\pi` is the mean of the AIPW scores of the action it takes,
    :math:`\\Gamma_i(\\pi(x_i))` with :math:`\\Gamma_i(a) = \\mu_a(x_i) + 1[T_i=a](y_i - \\mu_a(x_i))/P(T_i=a|x_i)`
    (cross-fitted :math:`\\mu`, known propensities), with normal intervals from those scores; the
    gains over treating everyone and no one are paired differences of the same scores.
    """
    v, t, x, e = _inputs(y, treatment, X, propensity)
    if x is None:
        raise ConfigError("`X` is required to learn a policy")
    if e is None:
        raise ConfigError("`propensity` is required (the assignment probability or logging propensities)")
    rng = as_rng(random_state)
    ev = rng.random(v.size) < eval_share
    if min(ev.sum(), (~ev).sum()) < 20:
        raise InvalidLogError("too few units to split into training and evaluation halves (need 20 each)")
    my, _ = _nuisances(None, model_y, None)
    with _quiet():
        from econml.policy import DRPolicyTree

        tree = DRPolicyTree(model_regression=my, model_propensity=KnownPropensity(-1), max_depth=max_depth,
                            min_samples_leaf=min_samples_leaf, honest=True, random_state=random_state)
        tree.fit(v[~ev], t[~ev].astype(np.int64), X=x[~ev], W=e[~ev, None])
        act = np.asarray(tree.predict(x[ev]), dtype=np.int64)
    ye, te_, xe, ee = v[ev], t[ev], x[ev], e[ev]
    mu0, mu1 = _cross_fit_mu(ye, te_, xe, my, 5, rng)
    g1 = mu1 + te_ * (ye - mu1) / ee
    g0 = mu0 + (~te_) * (ye - mu0) / (1 - ee)
    gp = np.where(act == 1, g1, g0)
    mk = Estimate.from_contributions
    return PolicyResult(tree, mk(gp, name="policy-value", alpha=alpha),
                        mk(gp - g1, name="gain-vs-treat-all", alpha=alpha),
                        mk(gp - g0, name="gain-vs-treat-none", alpha=alpha), float(act.mean()),
                        {"n_train": int((~ev).sum()), "n_eval": int(ev.sum())})


@dataclass
class UpliftResult:
    """A targeting curve: the cumulative effect captured when treating the top fraction by score."""

    fractions: np.ndarray
    curve: np.ndarray
    auuc: float
    auuc_ci: tuple[float, float]
    qini: float
    qini_ci: tuple[float, float]
    kind: str


def uplift_curve(scores: Any, y: Any, treatment: Any, *, propensity: Any = 0.5, mu0: Any = None, mu1: Any = None,
                 kind: str = "qini", n_points: int = 101, n_boot: int = 200, alpha: float = 0.05,
                 random_state: int | np.random.Generator | None = 0) -> UpliftResult:
    """Qini / gain curve of a targeting score, AUUC and the Qini coefficient with bootstrap intervals.

    Units are ranked by ``scores`` (high first). With doubly-robust effect scores :math:`\\psi_i`
    (AIPW as in :func:`aipw`, or IPW when no outcome models are given), the ``qini`` curve at fraction
    :math:`\\phi` is :math:`Q(\\phi) = \\frac1n\\sum_{i \\in \\text{top } \\phi n}\\psi_i` (the average
    effect per unit of the population when the top :math:`\\phi` are treated), and ``gain`` is
    :math:`\\phi\\,\\bar\\psi_{\\text{top }\\phi}` scaled by the total, the same up to normalisation.
    AUUC is the area under the curve; the Qini coefficient is the area between it and the random
    targeting line :math:`\\phi\\,\\bar\\psi`. Intervals: percentile bootstrap over units.
    """
    v, t, _, e = _inputs(y, treatment, None, propensity)
    s = as_metric(scores, "scores", v.size)
    if kind not in ("qini", "gain"):
        raise ConfigError(f"`kind` must be 'qini' or 'gain'; got {kind!r}")
    m0 = np.zeros(v.size) if mu0 is None else as_metric(mu0, "mu0", v.size)
    m1 = np.zeros(v.size) if mu1 is None else as_metric(mu1, "mu1", v.size)
    psi = m1 - m0 + t * (v - m1) / e - (~t) * (v - m0) / (1 - e)
    grid = np.linspace(0, 1, check_int(n_points, name="n_points", minimum=3))

    def areas(p: np.ndarray, sc: np.ndarray) -> tuple[np.ndarray, float, float]:
        order = np.argsort(-sc, kind="stable")
        cum = np.concatenate([[0.0], np.cumsum(p[order])]) / p.size
        k = np.round(grid * p.size).astype(int)
        curve = cum[k]
        if kind == "gain":
            tot = cum[-1]
            curve = curve / tot if tot != 0 else curve
        rand = grid * curve[-1]
        au = float(np.trapezoid(curve, grid))
        return curve, au, au - float(np.trapezoid(rand, grid))

    curve, au, qi = areas(psi, s)
    rng = as_rng(random_state)
    bs = np.empty((n_boot, 2))
    for b in range(n_boot):
        i = rng.integers(0, v.size, v.size)
        _, bs[b, 0], bs[b, 1] = areas(psi[i], s[i])
    lo, hi = alpha / 2, 1 - alpha / 2
    return UpliftResult(grid, curve, au, (float(np.quantile(bs[:, 0], lo)), float(np.quantile(bs[:, 0], hi))),
                        qi, (float(np.quantile(bs[:, 1], lo)), float(np.quantile(bs[:, 1], hi))), kind)
