"""OPE-quality metrics against a known truth (from a simulator or an enumerable world).

All functions take plain numbers or arrays; ``truth`` broadcasts against ``estimates``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from ...errors import ConfigError

__all__ = ["relative_error", "squared_error", "mse", "nmse", "coverage", "ci_width",
           "rank_correlation", "kendall_tau", "regret_at_k"]


def _arrays(*xs: Any) -> list[np.ndarray]:
    out = [np.asarray(x, dtype=np.float64) for x in xs]
    for i, a in enumerate(out):
        if not np.isfinite(a).all():
            raise ConfigError(f"argument {i} must be finite (no NaN or inf)")
    try:
        np.broadcast_shapes(*[a.shape for a in out])
    except ValueError:
        raise ConfigError(f"arguments have misaligned shapes {[a.shape for a in out]}") from None
    return out


def relative_error(estimate: Any, truth: Any) -> Any:
    """:math:`|\\hat V - V| / |V|` (OBP's relative-EE), elementwise."""
    e, t = _arrays(estimate, truth)
    if (t == 0).any():
        raise ConfigError("relative error is undefined for a true value of 0")
    r = np.abs(e - t) / np.abs(t)
    return float(r) if r.ndim == 0 else r


def squared_error(estimate: Any, truth: Any) -> Any:
    """:math:`(\\hat V - V)^2`, elementwise."""
    e, t = _arrays(estimate, truth)
    r = (e - t) ** 2
    return float(r) if r.ndim == 0 else r


def mse(estimates: Any, truth: Any) -> float:
    """Mean squared error :math:`\\frac1m\\sum_j (\\hat V_j - V)^2`."""
    return float(np.mean(squared_error(estimates, truth)))


def nmse(estimates: Any, truth: Any) -> float:
    """Normalised MSE :math:`\\mathrm{MSE} / \\overline{V^2}`."""
    e, t = _arrays(estimates, truth)
    den = float(np.mean(np.broadcast_to(t, np.broadcast_shapes(e.shape, t.shape)) ** 2))
    if den == 0:
        raise ConfigError("nMSE is undefined when every true value is 0")
    return mse(e, t) / den


def coverage(ci_low: Any, ci_high: Any, truth: Any) -> float:
    """Share of intervals containing the truth."""
    lo, hi, t = _arrays(ci_low, ci_high, truth)
    return float(np.mean((lo <= t) & (t <= hi)))


def ci_width(ci_low: Any, ci_high: Any) -> float:
    """Mean interval width."""
    lo, hi = _arrays(ci_low, ci_high)
    return float(np.mean(hi - lo))


def rank_correlation(estimated: Any, true: Any) -> float:
    """Spearman rank correlation between estimated and true policy values."""
    e, t = _arrays(estimated, true)
    if e.shape != t.shape or e.ndim != 1 or e.size < 2:
        raise ConfigError("rank correlation needs two 1-D arrays of equal length >= 2")
    return float(stats.spearmanr(e, t).statistic)


def kendall_tau(estimated: Any, true: Any) -> float:
    """Kendall's tau-b between estimated and true policy values (ties accounted for); NaN when either
    side is constant or there are fewer than two policies."""
    e, t = _arrays(estimated, true)
    if e.shape != t.shape or e.ndim != 1:
        raise ConfigError("Kendall's tau needs two 1-D arrays of equal length")
    if e.size < 2:
        return float("nan")
    return float(stats.kendalltau(e, t).statistic)


def regret_at_k(estimated: Any, true: Any, k: int = 1) -> float:
    """:math:`\\max_j V_j - \\max_{j \\in \\mathrm{top}_k(\\hat V)} V_j`: the true value lost by
    deploying the best of the ``k`` policies ranked highest by the estimates (SCOPE-RL's regret@k)."""
    e, t = _arrays(estimated, true)
    if e.shape != t.shape or e.ndim != 1:
        raise ConfigError("regret@k needs two 1-D arrays of equal length")
    if not 1 <= k <= e.size:
        raise ConfigError(f"`k` must lie in [1, {e.size}]; got {k}")
    top = np.argsort(-e, kind="stable")[:k]
    return float(t.max() - t[top].max())
