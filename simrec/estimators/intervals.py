"""Confidence intervals for a mean of per-row contributions.

Every OPE estimate here is (or is linearised to) a mean of per-row contributions ``c_i``; intervals
are computed from them.

=============  ===========================================================================================
``normal``     :math:`\\bar c \\pm z_{1-\\alpha/2}\\, s/\\sqrt n` (CLT)
``t``          :math:`\\bar c \\pm t_{n-1,1-\\alpha/2}\\, s/\\sqrt n`
``bernstein``  empirical Bernstein (Maurer & Pontil 2009, Thm 4), two-sided:
               :math:`\\bar c \\pm \\left(\\sqrt{2 s^2 \\ln(4/\\alpha)/n} + 7 R \\ln(4/\\alpha) / (3(n-1))\\right)`
               where ``R`` bounds the range of ``c`` (default: the observed range, a plug-in).
``bootstrap``  percentile bootstrap of the mean, vectorised (see :func:`bootstrap_means`).
=============  ===========================================================================================

**Clustered rows.** When rows come in clusters (the rows of one session or one user are correlated),
pass ``clusters`` (one id per row). The standard error is then the cluster-robust (CR1) one,

.. math::

    \\mathrm{se}^2 = \\frac{G}{G-1}\\,\\frac{1}{n^2} \\sum_{g=1}^{G}
    \\Big(\\sum_{i \\in g} (c_i - \\bar c)\\Big)^2

(sums of within-cluster residuals; ``G`` clusters, small-sample factor :math:`G/(G-1)`, as Stata's
``vce(cluster)`` for a mean; it equals :math:`s/\\sqrt n` when every cluster is one row).
``normal`` uses it with :math:`z`, ``t`` with :math:`t_{G-1}`, ``bernstein`` with ``G`` in place
of ``n`` (a heuristic: the Maurer-Pontil bound assumes independent rows), and ``bootstrap`` resamples
whole clusters (the mean of a resample is the ratio of the drawn clusters' sums to their sizes).

**Known range.** ``reward_range=(lo, hi)`` clips the interval to ``[lo, hi]``: the policy value of
rewards in that range lies in it, so clipping never lowers coverage (an empirical Bernstein interval
for a click-through rate does not go below 0). An interval is never clipped so far that it excludes
the point estimate itself (an IPS estimate above 1 keeps an interval that reaches it).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from .._validation import as_rng, check_int, check_probability
from ..errors import ConfigError
from . import _kernels

__all__ = ["interval", "normal_ci", "t_ci", "bernstein_ci", "bootstrap_ci", "bootstrap_means", "METHODS",
           "cluster_mean_se", "cluster_bootstrap_means", "check_clusters", "clip_to_range"]

METHODS = ("normal", "t", "bernstein", "bootstrap")


def _mean_se(c: np.ndarray) -> tuple[float, float]:
    n = c.shape[0]
    m, var = _kernels.mean_var(np.ascontiguousarray(c, dtype=np.float64))
    return float(m), (float(np.sqrt(var / n)) if n > 1 else float("inf"))


_Z_CACHE: dict[float, float] = {}


def _z(alpha: float) -> float:
    z = _Z_CACHE.get(alpha)
    if z is None:
        z = _Z_CACHE[alpha] = float(stats.norm.ppf(1 - alpha / 2))
    return z


def check_clusters(clusters: Any, n: int, name: str = "clusters") -> np.ndarray | None:
    """``clusters`` as a contiguous int64 array of ``n`` ids (``None`` stays ``None``)."""
    if clusters is None:
        return None
    arr = np.asarray(clusters)
    if arr.shape != (n,):
        raise ConfigError(f"`{name}` must hold one id per row, shape ({n},); got shape {arr.shape}")
    if arr.dtype.kind not in "iu":
        raise ConfigError(f"`{name}` must hold integer ids (one per row); got dtype {arr.dtype} "
                          f"(first value {arr.ravel()[0]!r})" if arr.size else f"`{name}` is empty")
    return np.ascontiguousarray(arr, dtype=np.int64)


def _cluster_totals(c: np.ndarray, clusters: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-cluster sums of ``c`` and cluster sizes (clusters in order of their ids)."""
    _, inv = np.unique(clusters, return_inverse=True)
    return np.bincount(inv, weights=c), np.bincount(inv).astype(np.float64)


def cluster_mean_se(c: np.ndarray, clusters: np.ndarray) -> tuple[float, float, int]:
    """Mean of ``c``, its cluster-robust (CR1) standard error and the number of clusters ``G``.

    :math:`\\mathrm{se}^2 = \\frac{G}{G-1} \\frac{1}{n^2} \\sum_g (\\sum_{i\\in g} (c_i - \\bar c))^2`;
    ``inf`` when ``G < 2``.
    """
    c = np.ascontiguousarray(c, dtype=np.float64)
    n = c.shape[0]
    m = float(c.mean())
    tot, _ = _cluster_totals(c - m, clusters)
    g = int(tot.shape[0])
    if g < 2:
        return m, float("inf"), g
    return m, float(np.sqrt(g / (g - 1) * float(tot @ tot)) / n), g


def cluster_bootstrap_means(c: np.ndarray, clusters: np.ndarray, n_boot: int = 10_000,
                            rng: int | np.random.Generator | None = None) -> np.ndarray:
    """Means of ``n_boot`` cluster-bootstrap resamples: draw ``G`` clusters with replacement; the
    resample's mean is the drawn clusters' total of ``c`` over their total size."""
    n_boot = check_int(n_boot, name="n_boot", minimum=1)
    s, m = _cluster_totals(np.ascontiguousarray(c, dtype=np.float64), clusters)
    seed = int(as_rng(rng).integers(0, 2**31 - 1))
    return _kernels.bootstrap_ratio_exact(s, m, n_boot, seed)


def clip_to_range(ci: tuple[float, float], reward_range: tuple[float, float] | None,
                  value: float | None = None) -> tuple[float, float]:
    """``ci`` clipped to ``reward_range`` (unchanged when ``None``), never so far that it excludes the
    point estimate ``value``: the result is ``ci`` intersected with the hull of ``reward_range`` and
    ``value``."""
    if reward_range is None:
        return ci
    lo, hi = reward_range
    if value is not None and np.isfinite(value):
        lo, hi = min(lo, value), max(hi, value)
    return float(min(max(ci[0], lo), hi)), float(max(min(ci[1], hi), lo))


def check_reward_range(reward_range: Any) -> tuple[float, float] | None:
    """``None`` or a validated ``(lo, hi)`` pair of finite floats with ``lo <= hi``."""
    if reward_range is None:
        return None
    try:
        lo, hi = (float(v) for v in reward_range)
    except (TypeError, ValueError):
        raise ConfigError(f"`reward_range` must be a pair (lo, hi) of numbers or None; got {reward_range!r}") from None
    if not (np.isfinite(lo) and np.isfinite(hi) and lo <= hi):
        raise ConfigError(f"`reward_range` must be finite with lo <= hi; got {reward_range!r}")
    return lo, hi


def normal_ci(c: np.ndarray, alpha: float = 0.05) -> tuple[float, float]:
    """CLT interval :math:`\\bar c \\pm z_{1-\\alpha/2} s / \\sqrt n`."""
    m, se = _mean_se(c)
    h = _z(alpha) * se
    return m - h, m + h


def t_ci(c: np.ndarray, alpha: float = 0.05) -> tuple[float, float]:
    """Student-t interval :math:`\\bar c \\pm t_{n-1, 1-\\alpha/2} s / \\sqrt n`."""
    m, se = _mean_se(c)
    if c.shape[0] < 2:
        return -np.inf, np.inf
    h = stats.t.ppf(1 - alpha / 2, c.shape[0] - 1) * se
    return m - h, m + h


def bernstein_ci(c: np.ndarray, alpha: float = 0.05, bound: float | None = None) -> tuple[float, float]:
    """Empirical Bernstein interval (Maurer & Pontil 2009), valid for any n when ``bound`` holds.

    Parameters
    ----------
    bound : float, optional
        Known bound on ``max(c) - min(c)`` over the population (e.g. ``max_weight * max_reward``
        for IPS). Defaults to the observed range, which makes the interval a plug-in.
    """
    n = c.shape[0]
    if n < 2:
        return -np.inf, np.inf
    m = float(c.mean())
    var = float(c.var(ddof=1))
    rng_ = float(c.max() - c.min()) if bound is None else float(bound)
    log_term = np.log(4.0 / alpha)
    h = np.sqrt(2.0 * var * log_term / n) + 7.0 * rng_ * log_term / (3.0 * (n - 1))
    return m - h, m + h


def bootstrap_means(
    c: np.ndarray,
    n_boot: int = 10_000,
    rng: int | np.random.Generator | None = None,
    *,
    max_groups: int = 2048,
    n_tail: int = 512,
    exact_max_work: float = 5e7,
) -> np.ndarray:
    """Means of ``n_boot`` bootstrap resamples of ``c``, without an O(n_boot * n) loop when large.

    Three regimes, chosen by size:

    1. ``n * n_boot <= exact_max_work``: the plain multinomial bootstrap (draw ``n`` rows with
       replacement, ``n_boot`` times).
    2. ``c`` has at most ``max_groups + 2 n_tail`` distinct values (binary rewards, discrete
       weights): Poisson bootstrap over the groups of equal values, *exact* in distribution for the
       Poisson bootstrap (Hanley & MacGibbon 2006): the resampled mean is
       :math:`\\sum_g T_g v_g / \\sum_g T_g`, :math:`T_g \\sim \\mathrm{Poisson}(m_g)`.
    3. otherwise: the ``n_tail`` smallest and largest values are kept as singletons (resampled
       exactly, so heavy tails of importance weights are respected) and the sorted bulk is cut into
       ``max_groups`` equal-count bins; bin ``g`` draws :math:`T_g \\sim \\mathrm{Poisson}(m_g)`
       rows whose sum is :math:`T_g \\mu_g + \\sqrt{T_g}\\, \\sigma_g Z_g` (bin mean and standard
       deviation; :math:`\\sigma_g` is tiny because bins are adjacent in sorted order).

    Cost is O(n log n + n_boot * (max_groups + 2 n_tail)); 10,000 resamples of 1,000,000 rows take
    about a second.
    """
    c = np.ascontiguousarray(c, dtype=np.float64)
    n = c.shape[0]
    n_boot = check_int(n_boot, name="n_boot", minimum=1)
    gen = as_rng(rng)
    if n * n_boot <= exact_max_work:
        seed = int(gen.integers(0, 2**31 - 1))
        return _kernels.bootstrap_means_exact(c, n_boot, seed)
    vals, counts = np.unique(c, return_counts=True)
    if vals.shape[0] <= max_groups + 2 * n_tail:
        mu, m, sd = vals, counts.astype(np.float64), None
    else:
        s = np.sort(c)
        lo, hi = s[:n_tail], s[n - n_tail:]
        bulk = s[n_tail:n - n_tail]
        edges = np.linspace(0, bulk.shape[0], max_groups + 1).astype(np.int64)
        cnt = np.diff(edges).astype(np.float64)
        sums = np.add.reduceat(bulk, edges[:-1])
        bmean = sums / cnt
        sq = np.add.reduceat((bulk - np.repeat(bmean, np.diff(edges))) ** 2, edges[:-1])
        bsd = np.sqrt(sq / cnt)
        mu = np.concatenate([lo, bmean, hi])
        m = np.concatenate([np.ones(n_tail), cnt, np.ones(n_tail)])
        sd = np.concatenate([np.zeros(n_tail), bsd, np.zeros(n_tail)])
    out = np.empty(n_boot)
    chunk = max(1, int(4e6 // mu.shape[0]))
    for start in range(0, n_boot, chunk):
        b = min(chunk, n_boot - start)
        t = gen.poisson(m, size=(b, m.shape[0])).astype(np.float64)
        tot = t @ mu
        if sd is not None:
            tot += (np.sqrt(t) * gen.standard_normal(t.shape)) @ sd
        out[start:start + b] = tot / np.maximum(t.sum(axis=1), 1.0)
    return out


def bootstrap_ci(
    c: np.ndarray,
    alpha: float = 0.05,
    n_boot: int = 10_000,
    rng: int | np.random.Generator | None = None,
    **kwargs: float,
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean: quantiles ``alpha/2, 1-alpha/2`` of
    :func:`bootstrap_means`."""
    means = bootstrap_means(c, n_boot=n_boot, rng=rng, **kwargs)
    lo, hi = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


def _clustered_interval(c: np.ndarray, clusters: np.ndarray, method: str, alpha: float, n_boot: int,
                        rng: Any, bound: float | None) -> tuple[float, float]:
    m, se, g = cluster_mean_se(c, clusters)
    if method == "normal":
        h = _z(alpha) * se
    elif method == "t":
        h = float(stats.t.ppf(1 - alpha / 2, g - 1)) * se if g > 1 else np.inf
    elif method == "bernstein":
        if g < 2:
            return -np.inf, np.inf
        rng_ = float(c.max() - c.min()) if bound is None else float(bound)
        log_term = np.log(4.0 / alpha)
        h = np.sqrt(2.0 * se * se * log_term) + 7.0 * rng_ * log_term / (3.0 * (g - 1))
    elif method == "bootstrap":
        if g == c.shape[0]:  # every cluster one row (e.g. a fresh user per row): the row bootstrap, whose
            return bootstrap_ci(c, alpha, n_boot=n_boot, rng=rng)  # resamples are the same, on its fast path
        means = cluster_bootstrap_means(c, clusters, n_boot=n_boot, rng=rng)
        lo, hi = np.quantile(means, [alpha / 2, 1 - alpha / 2])
        return float(lo), float(hi)
    else:
        raise ConfigError(f"`method` must be one of {METHODS}; got {method!r}")
    return m - h, m + h


def interval(
    c: np.ndarray,
    method: str = "normal",
    alpha: float = 0.05,
    *,
    n_boot: int = 10_000,
    rng: int | np.random.Generator | None = None,
    bound: float | None = None,
    clusters: Any = None,
    reward_range: tuple[float, float] | None = None,
) -> tuple[float, float]:
    """Dispatch to the interval ``method`` (one of :data:`METHODS`) at level ``1 - alpha``.

    ``clusters`` (one id per row) makes every method cluster-robust and ``reward_range`` clips the
    interval (see the module docstring).
    """
    alpha = check_probability(alpha, name="alpha", open_left=True)
    if alpha >= 1:
        raise ConfigError(f"`alpha` must lie in (0, 1); got {alpha!r}")
    c = np.asarray(c, dtype=np.float64)
    clusters = check_clusters(clusters, c.shape[0])
    reward_range = check_reward_range(reward_range)
    if clusters is not None:
        return clip_to_range(_clustered_interval(c, clusters, method, alpha, n_boot, rng, bound), reward_range,
                             float(c.mean()))
    if method == "normal":
        lo, hi = normal_ci(c, alpha)
    elif method == "t":
        lo, hi = t_ci(c, alpha)
    elif method == "bernstein":
        lo, hi = bernstein_ci(c, alpha, bound)
    elif method == "bootstrap":
        lo, hi = bootstrap_ci(c, alpha, n_boot=n_boot, rng=rng)
    else:
        raise ConfigError(f"`method` must be one of {METHODS}; got {method!r}")
    return clip_to_range((float(lo), float(hi)), reward_range, float(c.mean()) if c.size else None)
