"""Power, sample size and minimum detectable effect; multiple-testing correction.

Power is statsmodels' two-sample noncentral-t power function (``TTestIndPower.power``) of the
standardised effect :math:`d = \\delta / \\sigma_{eff}`; the unknown is then solved by Brent's
method to ``xtol=1e-12`` (statsmodels' own ``solve_power`` stops about 1e-5 from the root).
The effective standard deviation carries the design adjustments:

.. math::

    \\sigma_{eff} = \\sigma \\sqrt{1 - \\rho^2} \\sqrt{1 + (m - 1)\\,\\mathrm{ICC}}

with :math:`\\rho^2` the variance reduction of CUPED/CUPAC (the squared correlation of the metric
and its covariate) and the design effect of clusters of average size :math:`m` with intra-cluster
correlation ICC (Kish 1965), where sample sizes count observations.

For a ratio metric pass its delta-method per-unit standard deviation (``sqrt(n) * se`` of
:func:`~simrec.estimators.experiments.ratio_metric` on a pilot) as ``sd``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import optimize

from ..._validation import check_array, check_positive, check_probability, first_bad
from ...errors import ConfigError, InvalidLogError
from .ab import _check_alpha_alt

__all__ = ["power", "sample_size", "mde", "effective_sd", "multiple_testing", "MULTIPLE_TESTING_METHODS"]

_SM_ALT = {"two-sided": "two-sided", "greater": "larger", "less": "smaller"}
MULTIPLE_TESTING_METHODS = {"bonferroni": "bonferroni", "holm": "holm", "hommel": "hommel", "sidak": "sidak",
                            "bh": "fdr_bh", "fdr_bh": "fdr_bh", "by": "fdr_by", "fdr_by": "fdr_by"}


def effective_sd(sd: float = 1.0, *, variance_reduction: float = 0.0, icc: float = 0.0,
                 cluster_size: float = 1.0) -> float:
    """:math:`\\sigma \\sqrt{1-\\rho^2}\\sqrt{1 + (m-1) ICC}` (module docstring)."""
    s = check_positive(sd, name="sd")
    vr = check_probability(variance_reduction, name="variance_reduction")
    if vr >= 1:
        raise ConfigError("`variance_reduction` must be < 1 (1 would mean a noiseless metric)")
    ic = check_probability(icc, name="icc")
    m = check_positive(cluster_size, name="cluster_size")
    if m < 1:
        raise ConfigError(f"`cluster_size` must be >= 1; got {cluster_size!r}")
    return s * math.sqrt(1 - vr) * math.sqrt(1 + (m - 1) * ic)


def _power_fn(d: float, n1: float, alpha: float, ratio: float, alternative: str) -> float:
    from statsmodels.stats.power import TTestIndPower

    return float(TTestIndPower().power(effect_size=d, nobs1=n1, alpha=alpha, ratio=ratio,
                                       alternative=_SM_ALT[alternative]))


def power(effect: float | None = None, n: float | None = None, power: float | None = None, *, sd: float = 1.0,
          alpha: float = 0.05, ratio: float = 1.0, alternative: str = "two-sided",
          variance_reduction: float = 0.0, icc: float = 0.0, cluster_size: float = 1.0) -> float:
    """Solve the two-sample power equation for the one argument left as None.

    Parameters
    ----------
    effect : float, optional
        Absolute effect :math:`\\delta` (metric units).
    n : float, optional
        Units in the control arm (the treatment arm has ``ratio * n``).
    power : float, optional
        :math:`1 - \\beta`.
    sd : float
        Per-unit standard deviation of the metric (before adjustments).
    alpha, ratio, alternative
        Test size, treatment/control size ratio, ``two-sided`` / ``greater`` / ``less``.
    variance_reduction, icc, cluster_size
        Design adjustments (module docstring).

    Returns
    -------
    float
        The missing quantity: the power, the (fractional) control-arm size or the MDE. For an integer
        design use :func:`sample_size` (rounds up).

    Examples
    --------
    >>> round(power(effect=0.1, n=1571), 3)
    0.8
    """
    return _solve(effect, n, power, sd=sd, alpha=alpha, ratio=ratio, alternative=alternative,
                  variance_reduction=variance_reduction, icc=icc, cluster_size=cluster_size)


def _solve(effect: float | None, n: float | None, pw_: float | None, *, sd: float = 1.0, alpha: float = 0.05,
           ratio: float = 1.0, alternative: str = "two-sided", variance_reduction: float = 0.0,
           icc: float = 0.0, cluster_size: float = 1.0) -> float:
    given = [x is None for x in (effect, n, pw_)]
    if sum(given) != 1:
        raise ConfigError("give exactly two of `effect`, `n` and `power` (the third is solved for); "
                          f"got effect={effect!r}, n={n!r}, power={pw_!r}")
    a = _check_alpha_alt(alpha, alternative)
    if effect is not None:
        try:
            ok = bool(np.isfinite(float(effect)))
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ConfigError(f"`effect` must be a finite number; got {effect!r}")
    r = check_positive(ratio, name="ratio")
    s = effective_sd(sd, variance_reduction=variance_reduction, icc=icc, cluster_size=cluster_size)
    if pw_ is None:
        n1 = check_positive(n, name="n")
        return _power_fn(float(effect) / s, n1, a, r, alternative)
    pw = check_probability(pw_, name="power", open_left=True)
    if not a < pw < 1:
        raise ConfigError(f"`power` must lie in (alpha, 1) = ({a}, 1); got {pw_!r}")
    if n is None:
        d = float(effect) / s
        if d == 0 or (alternative == "greater" and d < 0) or (alternative == "less" and d > 0):
            raise ConfigError(f"`effect` must be non-zero and in the tested direction; got {effect!r}")

        def f(x: float) -> float:
            return _power_fn(d, x, a, r, alternative) - pw

        lo = max(2.0, 2.0 / (1 + r) + 0.01)  # statsmodels needs df = n (1 + r) - 2 > 0
        hi = 4.0
        while f(hi) < 0:
            hi *= 2
            if hi > 1e15:
                raise ConfigError("the required sample size exceeds 1e15 units; the effect is too small")
        return float(optimize.brentq(f, lo, hi, xtol=1e-12, rtol=1e-15, maxiter=500))
    n1 = check_positive(n, name="n")
    sign = -1.0 if alternative == "less" else 1.0

    def g(dd: float) -> float:
        v = _power_fn(sign * dd, n1, a, r, alternative)
        return (1.0 if np.isnan(v) else v) - pw  # nct can return NaN far in the tail, where power is 1

    from scipy.stats import norm

    za = norm.isf(a / 2 if alternative == "two-sided" else a)
    hi = 2.0 * (za + norm.ppf(pw)) * math.sqrt(1 / n1 + 1 / (r * n1))
    while g(hi) < 0:
        hi *= 2
        if hi > 1e6:
            raise ConfigError("no effect size reaches this power at this sample size")
    d = float(optimize.brentq(g, 0.0, hi, xtol=1e-14, rtol=1e-15, maxiter=500))
    return sign * d * s


def sample_size(effect: float, *, power: float = 0.8, **kw: Any) -> int:
    """Control-arm units needed to detect ``effect`` with ``power`` (rounded up); see :func:`power`."""
    return int(math.ceil(_solve(effect, None, power, **kw) - 1e-9))


def mde(n: float, *, power: float = 0.8, **kw: Any) -> float:
    """The minimum detectable (absolute) effect at ``n`` control units; see :func:`power`."""
    return _solve(None, n, power, **kw)


def multiple_testing(p_values: Any, method: str = "holm", *, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Adjust a family of p-values: ``(reject, adjusted_p)``.

    ``method``: ``bonferroni``, ``holm``, ``hommel``, ``sidak`` (family-wise error) or ``bh`` /
    ``by`` (false-discovery rate, Benjamini-Hochberg / -Yekutieli); computed by statsmodels'
    ``multipletests``.
    """
    from statsmodels.stats.multitest import multipletests

    p = check_array(p_values, name="p_values", ndim=1, error=InvalidLogError)
    if p.size == 0:
        raise InvalidLogError("`p_values` must be a non-empty 1-D array; got none")
    bad = ~np.isfinite(p) | (p < 0) | (p > 1)
    if bad.any():
        raise InvalidLogError(f"`p_values` must lie in [0, 1]; {first_bad(bad, p)}")
    if method not in MULTIPLE_TESTING_METHODS:
        raise ConfigError(f"`method` must be one of {sorted(MULTIPLE_TESTING_METHODS)}; got {method!r}")
    a = check_probability(alpha, name="alpha", open_left=True)
    rej, adj, _, _ = multipletests(p, alpha=a, method=MULTIPLE_TESTING_METHODS[method])
    return rej, adj

