"""Variance reduction and dependence: CUPED, CUPAC and cluster-robust analysis.

CUPED (Deng, Xu, Kohavi & Walker 2013) analyses :math:`y - \\theta (x - \\bar x)` with a
pre-experiment covariate :math:`x`; the variance falls by the factor :math:`1 - \\rho_{xy}^2`.
Two slopes are offered, and they are not the same estimator:

* ``theta="pooled"`` (default): :math:`\\theta = \\widehat{Cov}(y, x) / \\widehat{Var}(x)` over both
  arms together (tea-tasting, spotify-confidence, ambrosia). Equal to tea-tasting's
  ``Mean(y, covariate=x)`` to rounding.
* ``theta="within"``: the pooled within-arm slope
  :math:`\\theta_w = \\sum_k \\sum_{i\\in k}(x_i-\\bar x_k)(y_i-\\bar y_k) / \\sum_k\\sum_{i\\in k}(x_i-\\bar x_k)^2`,
  the OLS slope of ANCOVA ``y ~ 1 + T + (x - x̄)``; the CUPED effect with it *is* the ANCOVA
  treatment coefficient (Frisch-Waugh-Lovell), exactly.

In both cases the interval is Welch's on the adjusted per-unit values (the slope is treated as known,
as the anchors do; its estimation error is :math:`O(1/n)`).

CUPAC (DoorDash, 2020) uses as covariate a cross-fitted prediction of :math:`y` from pre-treatment
features: each fold's prediction comes from a model fit on the other folds, never on the unit itself,
and the model never sees the treatment.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from ..._validation import as_rng, check_int, first_bad
from ...errors import ConfigError, InvalidLogError, SimrecWarning
from ..estimate import Estimate
from .ab import ABResult, _check_alpha_alt, _make, welch
from .data import as_matrix, as_metric, as_treatment, check_arm_sizes

__all__ = ["cuped", "cupac", "cluster_robust", "fold_ids"]


def cuped(y: Any, treatment: Any, covariate: Any, *, theta: str | float = "pooled", alpha: float = 0.05,
          alternative: str = "two-sided", balance_threshold: float = 1e-4, name: str = "cuped") -> ABResult:
    """CUPED: the difference in means of :math:`y - \\theta (x - \\bar x)` (Welch interval).

    .. math::

        \\hat\\Delta_{cv} = (\\bar y_1 - \\bar y_0) - \\theta (\\bar x_1 - \\bar x_0),\\qquad
        s_{k,cv}^2 = s_{k,yy} - 2\\theta s_{k,xy} + \\theta^2 s_{k,xx}

    Parameters
    ----------
    y, treatment : array_like (n,)
        Metric and arm (0/1) per unit.
    covariate : array_like (n,)
        A pre-experiment covariate (never affected by the treatment).
    theta : {"pooled", "within"} or float
        The slope (module docstring): ``pooled`` matches tea-tasting; ``within`` makes the estimate
        equal to the ANCOVA coefficient exactly; a number fixes it.
    balance_threshold : float
        A :class:`~simrec.errors.SimrecWarning` is raised when a Welch test of the covariate between
        arms has a p-value below this: a covariate that moved with the treatment biases CUPED.

    Returns
    -------
    ABResult
        ``diagnostics`` hold ``theta``, ``variance_reduction`` (1 - adjusted / raw variance of the
        effect) and ``balance_p_value``.

    References
    ----------
    Deng, A., Xu, Y., Kohavi, R. & Walker, T. (2013). Improving the sensitivity of online controlled
    experiments by utilizing pre-experiment data. WSDM.
    """
    a = _check_alpha_alt(alpha, alternative)
    t = as_treatment(treatment)
    v = as_metric(y, "y", t.shape[0])
    x = as_metric(covariate, "covariate", t.shape[0])
    check_arm_sizes(t)
    # one pass of per-arm moments on globally centred values (index 1 = treatment)
    g = t.view(np.int8)
    yc, xc = v - v.mean(), x - x.mean()
    nk = np.bincount(g, minlength=2).astype(np.float64)
    sy, sx = np.bincount(g, yc, 2), np.bincount(g, xc, 2)
    syy, sxx, sxy = np.bincount(g, yc * yc, 2), np.bincount(g, xc * xc, 2), np.bincount(g, xc * yc, 2)
    my, mx = sy / nk, sx / nk
    cyy = (syy - nk * my * my) / (nk - 1)  # within-arm (co)variances, ddof=1
    cxx = (sxx - nk * mx * mx) / (nk - 1)
    cxy = (sxy - nk * mx * my) / (nk - 1)
    if isinstance(theta, (int, float)) and not isinstance(theta, bool):
        th = float(theta)
    elif theta == "pooled":
        th = float(sxy.sum() / sxx.sum()) if sxx.sum() > 0 else 0.0
    elif theta == "within":
        den = float(((nk - 1) * cxx).sum())
        th = float(((nk - 1) * cxy).sum()) / den if den > 0 else 0.0
    else:
        raise ConfigError(f"`theta` must be 'pooled', 'within' or a number; got {theta!r}")
    ybar = float(v.mean())
    # adjusted arm means: ybar_k - theta (xbar_k - xbar), on the original scale
    m1, m0 = ybar + my[1] - th * mx[1], ybar + my[0] - th * mx[0]
    v1 = max(float(cyy[1] - 2 * th * cxy[1] + th * th * cxx[1]), 0.0)
    v0 = max(float(cyy[0] - 2 * th * cxy[0] + th * th * cxx[0]), 0.0)
    n1, n0 = int(nk[1]), int(nk[0])
    raw = float(cyy[1] / n1 + cyy[0] / n0)
    adj = v1 / n1 + v0 / n0
    bp = (welch(float(mx[1]), float(cxx[1]), n1, float(mx[0]), float(cxx[0]), n0)["p_value"]
          if cxx[1] + cxx[0] > 0 else 1.0)
    if bp < balance_threshold:
        warnings.warn(f"the covariate differs between arms (Welch p={bp:.2g}); CUPED needs a pre-treatment "
                      "covariate, a post-treatment one biases the effect", SimrecWarning, stacklevel=2)
    diag = {"theta": th, "theta_kind": theta if isinstance(theta, str) else "fixed",
            "variance_reduction": 1 - adj / raw if raw > 0 else 0.0, "balance_p_value": bp}
    return _make(float(m1), v1, n1, float(m0), v0, n0, alpha=a, alternative=alternative, method="cuped",
                 name=name, diagnostics=diag)


def small_data_threads(n: int) -> Any:
    """A context limiting native thread pools to one thread for small fits (OpenMP start-up and
    contention dominate gradient boosting on a few thousand rows)."""
    from contextlib import nullcontext

    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1) if n < 200_000 else nullcontext()


def fold_ids(n: int, n_folds: int, rng: np.random.Generator) -> np.ndarray:
    """Cross-fitting fold of each of ``n`` rows: ``rng.permutation(n) % n_folds`` (balanced folds in a
    random order); the split of CUPAC's covariate model and of the causal nuisance models."""
    return rng.permutation(n) % n_folds


def _cross_fit(features: np.ndarray, y: np.ndarray, model: Any, n_folds: int, rng: np.random.Generator) -> np.ndarray:
    from sklearn.base import clone as sk_clone

    n = y.shape[0]
    fold = fold_ids(n, n_folds, rng)
    pred = np.empty(n)
    with small_data_threads(n):
        for k in range(n_folds):
            test = fold == k
            m = sk_clone(model).fit(features[~test], y[~test])
            pred[test] = m.predict(features[test])
    return pred


def cupac(y: Any, treatment: Any, features: Any, *, model: Any = None, n_folds: int = 5,
          random_state: int | np.random.Generator | None = 0, alpha: float = 0.05,
          alternative: str = "two-sided", name: str = "cupac") -> ABResult:
    """CUPAC: CUPED with a cross-fitted machine-learning prediction of ``y`` as the covariate.

    ``y`` is regressed on the pre-treatment ``features`` (never on the treatment) by ``model`` in
    ``n_folds`` folds; each unit's covariate is the prediction of the model that did not see it. Then
    :func:`cuped` with the pooled slope.

    Parameters
    ----------
    features : array_like (n, d)
        Pre-treatment unit features (pre-period behaviour, demographics).
    model : scikit-learn regressor, optional
        Default ``HistGradientBoostingRegressor(max_iter=100)``.
    n_folds : int
        Cross-fitting folds (>= 2).
    random_state : int, Generator or None
        Fold assignment (and the default model's seed).

    References
    ----------
    Tang, Y., Huang, C., Kastelman, D. & Bauman, J. (2020). Control using predictions as covariates in
    switchback experiments. DoorDash engineering blog.
    """
    t = as_treatment(treatment)
    v = as_metric(y, "y", t.shape[0])
    f = as_matrix(features, "features", t.shape[0])
    k = check_int(n_folds, name="n_folds", minimum=2)
    rng = as_rng(random_state)
    if model is None:
        from sklearn.ensemble import HistGradientBoostingRegressor

        model = HistGradientBoostingRegressor(max_iter=100, random_state=int(rng.integers(2**31)))
    pred = _cross_fit(f, v, model, k, rng)
    res = cuped(v, t, pred, theta="pooled", alpha=alpha, alternative=alternative, name=name)
    return ABResult(res.diff, res.lift, res.p_value, res.statistic, res.df, res.mean_treatment, res.mean_control,
                    res.n_treatment, res.n_control, "cupac", res.alpha, {**res.diagnostics, "n_folds": k})


def cluster_robust(y: Any, treatment: Any, cluster: Any, *, covariates: Any = None, alpha: float = 0.05,
                   use_correction: bool = True, name: str = "cluster-ols") -> Estimate:
    """Treatment effect by OLS ``y ~ 1 + T [+ covariates]`` with cluster-robust standard errors.

    For rows that are not independent (sessions or impressions of users who were randomised): the
    sandwich :math:`(X'X)^{-1} \\sum_g X_g' e_g e_g' X_g (X'X)^{-1}`, computed by statsmodels
    (``cov_type="cluster"``); ``use_correction=True`` applies the small-sample factor
    :math:`\\frac{G}{G-1}\\frac{N-1}{N-K}`. Normal interval.

    Returns
    -------
    Estimate
        The ``T`` coefficient; ``diagnostics`` hold ``p_value``, ``n_clusters`` and ``naive_stderr``
        (the i.i.d. OLS standard error, to show what ignoring the clustering costs).
    """
    import statsmodels.api as sm

    a = _check_alpha_alt(alpha, "two-sided")
    t = as_treatment(treatment)
    v = as_metric(y, "y", t.shape[0])
    check_arm_sizes(t)
    g = np.asarray(cluster)
    if g.ndim != 1 or g.shape[0] != t.shape[0]:
        raise InvalidLogError(f"`cluster` must have one id per row ({t.shape[0]}); got shape {g.shape}")
    missing = pd.isna(g)
    if missing.any():
        raise InvalidLogError(f"`cluster` ids must not be missing (NaN/None); {first_bad(missing, g)}")
    cols = [np.ones_like(v), t.astype(np.float64)]
    if covariates is not None:
        c = as_matrix(covariates, "covariates", t.shape[0])
        cols.extend((c - c.mean(0)).T)
    X = np.column_stack(cols)
    _, codes = np.unique(g, return_inverse=True)
    naive = sm.OLS(v, X).fit()  # one fit; the cluster-robust covariance is computed from it
    fit = naive.get_robustcov_results(cov_type="cluster", groups=codes, use_correction=use_correction, use_t=False)
    lo, hi = fit.conf_int(alpha=a)[1]
    n_g = int(codes.max() + 1)
    return Estimate(value=float(fit.params[1]), stderr=float(fit.bse[1]), ci=(float(lo), float(hi)), n=int(v.size),
                    ess=float(v.size), diagnostics={"p_value": float(fit.pvalues[1]), "n_clusters": n_g,
                                                    "naive_stderr": float(naive.bse[1])},
                    name=name, alpha=a, ci_method="cluster-normal")
