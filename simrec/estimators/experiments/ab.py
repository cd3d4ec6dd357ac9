"""Fixed-horizon A/B analysis: difference in means (Welch), relative lift, ratio metrics, SRM.

Definitions (chosen to match scipy, statsmodels and tea-tasting on identical data):

* Group variances use ``ddof=1``; the difference :math:`\\hat\\Delta = \\bar y_1 - \\bar y_0` has
  :math:`\\widehat{se} = \\sqrt{s_1^2/n_1 + s_0^2/n_0}` and Welch-Satterthwaite degrees of freedom
  :math:`\\nu = se^4 / \\big(\\tfrac{(s_1^2/n_1)^2}{n_1-1} + \\tfrac{(s_0^2/n_0)^2}{n_0-1}\\big)`; the
  interval and p-value use the :math:`t_\\nu` distribution (``scipy.stats.ttest_ind(equal_var=False)``,
  statsmodels ``CompareMeans(...).tconfint_diff(usevar="unequal")``; also OLS ``y ~ T`` with HC2).
* Relative lift :math:`\\bar y_1/\\bar y_0 - 1` has the log-scale delta-method interval of
  tea-tasting: :math:`(\\bar y_1/\\bar y_0)\\exp(\\pm t_{\\nu'} \\sqrt{s_1^2/(n_1\\bar y_1^2) +
  s_0^2/(n_0 \\bar y_0^2)}) - 1`, :math:`\\nu'` the Welch degrees of freedom of those two terms.
* Ratio metrics :math:`R = \\sum_i a_i / \\sum_i b_i` per arm (e.g. clicks / sessions, users
  randomised): delta-method variance (Deng, Knoblich & Lu 2018)
  :math:`\\widehat{Var}(R) = (s_{aa} - 2R s_{ab} + R^2 s_{bb}) / (n \\bar b^2)`; ``ddof=1`` matches
  tea-tasting, ``ddof=0`` equals statsmodels' session-level OLS with user-clustered errors and no
  small-sample correction (``cov_type="cluster", use_correction=False``) and WLS with HC0.
* Sample-ratio mismatch: Pearson's :math:`\\chi^2` without continuity correction (scipy's
  ``chisquare``; tea-tasting's ``SampleRatio(method="norm", correction=False)``).

References
----------
Welch, B. L. (1947). The generalization of Student's problem when several different population
variances are involved. Biometrika 34.
Deng, A., Knoblich, U. & Lu, J. (2018). Applying the delta method in metric analytics. KDD.
Fabijan, A. et al. (2019). Diagnosing sample ratio mismatch in online controlled experiments. KDD.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from ..._validation import check_probability, first_bad
from ...errors import ConfigError, InvalidLogError
from ..estimate import Estimate
from .data import as_metric, as_treatment, check_arm_sizes

__all__ = ["ABResult", "SRMResult", "analyze_ab", "ratio_metric", "srm_check", "welch", "ALTERNATIVES"]

ALTERNATIVES = ("two-sided", "greater", "less")


@dataclass(frozen=True)
class ABResult:
    """The analysis of one metric in a two-arm experiment.

    Attributes
    ----------
    diff : Estimate
        Absolute effect :math:`\\bar y_1 - \\bar y_0` (Welch interval; ``diagnostics`` hold ``df``,
        ``statistic`` and ``p_value``).
    lift : Estimate
        Relative effect :math:`\\bar y_1 / \\bar y_0 - 1` (log-scale delta-method interval).
    p_value, statistic, df : float
        Test of no difference.
    mean_treatment, mean_control : float
    n_treatment, n_control : int
    method : str
        ``welch``, ``cuped``, ``cupac``, ``ratio-delta`` ...
    diagnostics : dict
        Method-specific extras (``theta``, ``variance_reduction`` ...).
    """

    diff: Estimate
    lift: Estimate
    p_value: float
    statistic: float
    df: float
    mean_treatment: float
    mean_control: float
    n_treatment: int
    n_control: int
    method: str = "welch"
    alpha: float = 0.05
    diagnostics: dict[str, Any] = field(default_factory=dict)

    @property
    def significant(self) -> bool:
        """Whether ``p_value < alpha``."""
        return bool(self.p_value < self.alpha)

    def to_dict(self) -> dict[str, Any]:
        """Flat summary."""
        return {"method": self.method, "effect": self.diff.value, "stderr": self.diff.stderr,
                "ci_low": self.diff.ci[0], "ci_high": self.diff.ci[1], "lift": self.lift.value,
                "lift_ci_low": self.lift.ci[0], "lift_ci_high": self.lift.ci[1], "p_value": self.p_value,
                "statistic": self.statistic, "df": self.df, "mean_treatment": self.mean_treatment,
                "mean_control": self.mean_control, "n_treatment": self.n_treatment,
                "n_control": self.n_control, **self.diagnostics}

    def __repr__(self) -> str:
        lo, hi = self.diff.ci
        return (f"ABResult({self.method}: effect {self.diff.value:.6g} [{lo:.6g}, {hi:.6g}], lift "
                f"{100 * self.lift.value:.3g}% [{100 * self.lift.ci[0]:.3g}%, {100 * self.lift.ci[1]:.3g}%], "
                f"p={self.p_value:.3g}, n={self.n_treatment}+{self.n_control})")


def _check_alpha_alt(alpha: float, alternative: str) -> float:
    """``alpha`` in (0, 1) and a known ``alternative``."""
    try:
        a = check_probability(alpha, name="alpha", open_left=True)
    except ConfigError:
        a = float("nan")
    if not 0 < a < 1:
        raise ConfigError(f"`alpha` must lie in (0, 1); got {alpha!r}")
    if alternative not in ALTERNATIVES:
        raise ConfigError(f"`alternative` must be one of {ALTERNATIVES}; got {alternative!r}")
    return a


def _welch_df(a1: float, n1: float, a0: float, n0: float) -> float:
    """Welch-Satterthwaite df of ``a1 + a0`` where ``a_k = s_k^2 / n_k``."""
    den = a1 * a1 / (n1 - 1) + a0 * a0 / (n0 - 1)
    return float((a1 + a0) ** 2 / den) if den > 0 else float("inf")


def _t_dist(df: float) -> Any:
    return stats.norm if not np.isfinite(df) else stats.t(df)


def welch(m1: float, v1: float, n1: int, m0: float, v0: float, n0: int, *, alpha: float = 0.05,
          alternative: str = "two-sided", df: float | None = None) -> dict[str, float]:
    """Welch test and interval from arm summaries (variances with ``ddof=1``).

    Returns a dict with ``diff, se, df, statistic, p_value, ci_low, ci_high``; ``df=inf`` gives the
    normal (z) version.
    """
    a1, a0 = v1 / n1, v0 / n0
    se = math.sqrt(a1 + a0)
    nu = _welch_df(a1, n1, a0, n0) if df is None else df
    d = _t_dist(nu)
    diff = m1 - m0
    stat = diff / se if se > 0 else (0.0 if diff == 0 else math.copysign(math.inf, diff))
    if alternative == "two-sided":
        h = float(d.ppf(1 - alpha / 2)) * se
        lo, hi, p = diff - h, diff + h, 2 * float(d.sf(abs(stat)))
    elif alternative == "greater":
        lo, hi, p = diff - float(d.ppf(1 - alpha)) * se, math.inf, float(d.sf(stat))
    else:
        lo, hi, p = -math.inf, diff + float(d.ppf(1 - alpha)) * se, float(d.cdf(stat))
    return {"diff": diff, "se": se, "df": nu, "statistic": stat, "p_value": min(1.0, p), "ci_low": lo,
            "ci_high": hi}


def _lift(m1: float, v1: float, n1: int, m0: float, v0: float, n0: int, alpha: float,
          alternative: str) -> tuple[float, float, tuple[float, float]]:
    """Relative lift, its linear delta-method SE and the log-scale interval (tea-tasting's)."""
    if m0 == 0:
        raise InvalidLogError("the relative lift needs a non-zero control mean; the control mean is 0")
    r = m1 / m0
    if m1 == 0 or r <= 0:
        se = math.sqrt(v1 / (n1 * m0 * m0) + r * r * v0 / (n0 * m0 * m0))
        return r - 1, se, (-math.inf, math.inf)
    a1, a0 = v1 / (n1 * m1 * m1), v0 / (n0 * m0 * m0)
    se_log = math.sqrt(a1 + a0)
    d = _t_dist(_welch_df(a1, n1, a0, n0))
    q = float(d.ppf(1 - alpha / 2 if alternative == "two-sided" else 1 - alpha))
    with np.errstate(over="ignore"):
        k = float(np.exp(q * se_log))  # inf when the control mean is ~0 (an unbounded ratio)
    if alternative == "two-sided":
        ci = (r / k - 1, r * k - 1)
    elif alternative == "greater":
        ci = (r / k - 1, math.inf)
    else:
        ci = (-math.inf, r * k - 1)
    return r - 1, r * se_log, ci


def _make(m1: float, v1: float, n1: int, m0: float, v0: float, n0: int, *, alpha: float, alternative: str,
          method: str, name: str, diagnostics: dict[str, Any] | None = None,
          df: float | None = None, lift_terms: tuple[float, float, float, float] | None = None) -> ABResult:
    """Assemble an :class:`ABResult` from arm summaries (means, ddof=1 variances of the means' terms)."""
    w = welch(m1, v1, n1, m0, v0, n0, alpha=alpha, alternative=alternative, df=df)
    n = n1 + n0
    diag = {"p_value": w["p_value"], "statistic": w["statistic"], "df": w["df"], "n_treatment": n1,
            "n_control": n0, "mean_treatment": m1, "mean_control": m0, **(diagnostics or {})}
    diff = Estimate(value=w["diff"], stderr=w["se"], ci=(w["ci_low"], w["ci_high"]), n=n, ess=float(n),
                    diagnostics=diag, name=name, alpha=alpha, ci_method="welch-t" if df is None else "t")
    lm1, lv1, lm0, lv0 = lift_terms if lift_terms is not None else (m1, v1, m0, v0)
    lv, lse, lci = _lift(lm1, lv1, n1, lm0, lv0, n0, alpha, alternative)
    lift = Estimate(value=lv, stderr=lse, ci=lci, n=n, ess=float(n), diagnostics={"p_value": w["p_value"]},
                    name=f"{name} (relative)", alpha=alpha, ci_method="log-delta")
    return ABResult(diff, lift, w["p_value"], w["statistic"], w["df"], m1, m0, n1, n0, method, alpha,
                    dict(diagnostics or {}))


def _frame_args(y: Any, treatment: Any, metric: str | None, arm: str | None) -> tuple[Any, Any]:
    """Allow ``analyze_ab(df, metric="clicks", treatment="arm")``."""
    if hasattr(y, "columns"):
        col = metric if metric is not None else None
        tcol = treatment if isinstance(treatment, str) else arm
        if col is None or tcol is None:
            raise ConfigError("with a DataFrame, name the columns: `metric=` and `treatment=` (or `arm=`)")
        for c in (col, tcol):
            if c not in y.columns:
                raise InvalidLogError(f"column {c!r} is not in the frame; columns: {', '.join(map(str, y.columns))}")
        return y[col].to_numpy(), y[tcol].to_numpy()
    return y, treatment


def _arm_stats(v: np.ndarray, t: np.ndarray) -> tuple[float, float, int, float, float, int]:
    """Means and ddof=1 variances of ``v`` per arm (two passes, numerically stable)."""
    v1, v0 = v[t], v[~t]
    n1, n0 = v1.shape[0], v0.shape[0]
    m1, m0 = float(v1.mean()), float(v0.mean())
    s1 = float(np.dot(v1 - m1, v1 - m1)) / (n1 - 1)
    s0 = float(np.dot(v0 - m0, v0 - m0)) / (n0 - 1)
    return m1, s1, n1, m0, s0, n0


def analyze_ab(y: Any, treatment: Any = None, *, metric: str | None = None, arm: str | None = None,
               alpha: float = 0.05, alternative: str = "two-sided", name: str = "diff-in-means") -> ABResult:
    """Difference in means with Welch's interval, and the relative lift.

    .. math::

        \\hat\\Delta = \\bar y_1 - \\bar y_0,\\quad
        \\widehat{se} = \\sqrt{s_1^2/n_1 + s_0^2/n_0},\\quad
        \\hat\\Delta \\pm t_{\\nu, 1-\\alpha/2}\\,\\widehat{se}

    with :math:`s_k^2` the ``ddof=1`` variance of arm ``k`` and :math:`\\nu` the Welch-Satterthwaite
    degrees of freedom. Identical to ``scipy.stats.ttest_ind(y1, y0, equal_var=False)``, statsmodels'
    ``CompareMeans`` with ``usevar="unequal"``, OLS ``y ~ T`` with HC2 errors (same SE) and tea-tasting's
    ``Mean``. The relative lift uses tea-tasting's log-scale interval (module docstring).

    Parameters
    ----------
    y : array_like (n,) or DataFrame
        The metric per randomisation unit (or a frame with columns ``metric`` and ``treatment``).
    treatment : array_like (n,) of {0, 1}, or a column name
    alpha : float
        Interval level ``1 - alpha`` and test size.
    alternative : {"two-sided", "greater", "less"}

    Returns
    -------
    ABResult

    Examples
    --------
    >>> import numpy as np
    >>> r = analyze_ab(np.array([1., 2, 3, 4, 2, 3, 4, 5]), np.array([0, 0, 0, 0, 1, 1, 1, 1]))
    >>> round(r.diff.value, 6), round(r.p_value, 4)
    (1.0, 0.3153)
    """
    y, treatment = _frame_args(y, treatment, metric, arm)
    a = _check_alpha_alt(alpha, alternative)
    t = as_treatment(treatment)
    v = as_metric(y, "y", t.shape[0])
    check_arm_sizes(t)
    return _make(*_arm_stats(v, t), alpha=a, alternative=alternative, method="welch", name=name)


def ratio_metric(numerator: Any, denominator: Any, treatment: Any, *, alpha: float = 0.05,
                 alternative: str = "two-sided", ddof: int = 1, name: str = "ratio-delta") -> ABResult:
    """A ratio metric :math:`R_k = \\sum_{i \\in k} a_i / \\sum_{i\\in k} b_i` by the delta method.

    Use it when the randomisation unit (user) differs from the analysis unit (session, impression):
    ``numerator`` and ``denominator`` are per-user sums (clicks, sessions).

    .. math::

        \\widehat{Var}(R_k) = \\frac{s_{aa} - 2 R_k s_{ab} + R_k^2 s_{bb}}{n_k \\bar b_k^2}

    with (co)variances over the arm's units. ``ddof=1`` (default) matches tea-tasting's
    ``Mean(numer, denom)``; the Welch t interval then uses :math:`n_k` and these variances.
    ``ddof=0`` gives exactly the standard error of statsmodels' OLS on the analysis units
    (``y_session ~ T``) with errors clustered on the user and ``use_correction=False`` (equivalently
    WLS of the per-user ratio on ``T`` with weights ``b`` and HC0).

    Returns
    -------
    ABResult
        ``diff`` is :math:`R_1 - R_0`; ``lift`` is :math:`R_1/R_0 - 1` with the log-scale interval.

    References
    ----------
    Deng, A., Knoblich, U. & Lu, J. (2018). Applying the delta method in metric analytics: a practical
    guide with novel ideas. KDD.
    """
    a_ = _check_alpha_alt(alpha, alternative)
    if ddof not in (0, 1):
        raise ConfigError(f"`ddof` must be 0 or 1; got {ddof!r}")
    t = as_treatment(treatment)
    num = as_metric(numerator, "numerator", t.shape[0])
    den = as_metric(denominator, "denominator", t.shape[0])
    if (den < 0).any():
        raise InvalidLogError(f"`denominator` must be >= 0; {first_bad(den < 0, den)}")
    check_arm_sizes(t)
    out = []
    for mask in (t, ~t):
        a, b = num[mask], den[mask]
        n = a.shape[0]
        ma, mb = float(a.mean()), float(b.mean())
        if mb == 0:
            arm = "treatment" if mask is t else "control"
            raise InvalidLogError(f"the {arm} arm's `denominator` sums to 0; the ratio is undefined")
        r = ma / mb
        resid = (a - ma) - r * (b - mb)  # linearisation: a - R b, centred
        var_lin = float(np.dot(resid, resid)) / (n - ddof)
        # the variance of the per-unit linearised term, scaled so that var / n is Var(R)
        out.append((r, var_lin / (mb * mb), n))
    (r1, v1, n1), (r0, v0, n0) = out
    return _make(r1, v1, n1, r0, v0, n0, alpha=a_, alternative=alternative, method="ratio-delta", name=name,
                 diagnostics={"ddof": ddof})


@dataclass(frozen=True)
class SRMResult:
    """Sample-ratio-mismatch check: observed counts vs the expected split."""

    counts: tuple[int, ...]
    expected: tuple[float, ...]
    statistic: float
    p_value: float
    threshold: float

    @property
    def mismatch(self) -> bool:
        """Whether ``p_value < threshold`` (a sample-ratio mismatch: do not trust the experiment)."""
        return bool(self.p_value < self.threshold)


def srm_check(counts: Any = None, ratio: Any = None, *, treatment: Any = None, threshold: float = 0.001) -> SRMResult:
    """Pearson :math:`\\chi^2` test that the arms' sizes match the designed split.

    .. math::

        X^2 = \\sum_k (n_k - N r_k)^2 / (N r_k),\\qquad p = P(\\chi^2_{K-1} \\ge X^2)

    no continuity correction (= ``scipy.stats.chisquare``; tea-tasting's
    ``SampleRatio(method="norm", correction=False)`` for two arms).

    Parameters
    ----------
    counts : array_like of int
        Units per arm (control first).
    ratio : array_like or float, optional
        Designed shares (normalised); default equal. A single number is the treatment/control
        ratio of two arms (tea-tasting's convention).
    treatment : array_like of {0, 1}, optional
        Instead of ``counts``: the per-unit arm indicator (counted here).
    threshold : float
        p-value under which :attr:`SRMResult.mismatch` is flagged (0.001 is customary).
    """
    if (counts is None) == (treatment is None):
        raise ConfigError("give exactly one of `counts` (units per arm) and `treatment` (per-unit 0/1 arms)")
    if treatment is not None:
        t = as_treatment(treatment)
        c = np.array([t.size - int(t.sum()), int(t.sum())], dtype=np.float64)
    else:
        arr = np.asarray(counts)
        if arr.ndim != 1 or arr.size < 2:
            raise InvalidLogError(f"`counts` must be 1-D with >= 2 entries; got shape {arr.shape}")
        c = as_metric(arr, "counts")
        if (c < 0).any() or (c != np.round(c)).any():
            raise InvalidLogError(f"`counts` must be non-negative integers; got {arr.tolist()}")
    k = c.size
    r = np.full(k, 1.0 / k) if ratio is None else as_metric(np.atleast_1d(ratio), "ratio")
    if r.size == 1 and k == 2:  # a treatment/control ratio, as in tea-tasting
        r = np.array([1.0, r[0]])
    if r.size != k or (r <= 0).any():
        raise ConfigError(f"`ratio` must have one positive share per arm ({k}); got {np.asarray(ratio).tolist()}")
    r = r / r.sum()
    n = c.sum()
    if n <= 0:
        raise InvalidLogError("`counts` are all zero: no units to check")
    exp = n * r
    stat = float(((c - exp) ** 2 / exp).sum())
    p = float(stats.chi2.sf(stat, k - 1))
    thr = check_probability(threshold, name="threshold", open_left=True)
    return SRMResult(tuple(int(x) for x in c), tuple(float(x) for x in exp), stat, p, thr)
