"""Distributional OPE: the cumulative distribution of returns under the target policy.

:class:`CumulativeDistributionOPE` estimates :math:`F_\\pi(y) = P_\\pi(G \\le y)` of the discounted
return :math:`G = \\sum_t \\gamma^t r_t` from logged :class:`~simrec.data.Trajectories`, and from it the
mean, variance, quantiles and the conditional value at risk (CVaR, the mean of the lower tail),
each with a percentile-bootstrap interval over trajectories (the independent units).

With trajectory weights :math:`W_i = \\prod_t \\pi(a_{i,t}|s_{i,t}) / \\mu(a_{i,t}|s_{i,t})`:

=========  ===================================================================================================
``tis``    :math:`\\hat F(y) = \\frac1n \\sum_i W_i\\, 1[G_i \\le y]` (unbiased pointwise)
``sntis``  :math:`\\hat F(y) = \\sum_i W_i 1[G_i \\le y] / \\sum_i W_i` (self-normalised: a proper CDF)
``tdr``    :math:`\\hat F(y) = \\frac1n \\sum_i \\left(1[\\hat v_{i,0} \\le y] + W_i (1[G_i \\le y]
           - 1[\\hat v_{i,0} \\le y])\\right)`, the model predicting a point mass at
           :math:`\\hat v_{i,0} = \\sum_a \\pi(a|s_{i,0}) \\hat Q(s_{i,0}, a)` (unbiased pointwise for any model)
=========  ===================================================================================================

``tis`` and ``tdr`` need not be monotone or within [0, 1]; the reported CDF is repaired
(running maximum, clipped to [0, 1], the missing mass put on the largest return), as in SCOPE-RL.

References: Y. Chandak et al. Universal Off-Policy Evaluation. NeurIPS 2021. A. Huang et al.
Off-Policy Risk Assessment in Contextual Bandits. NeurIPS 2021. H. Kiyohara et al. SCOPE-RL, 2023.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..._validation import check_int, check_probability
from ...data import Trajectories
from ...errors import ConfigError, InvalidLogError
from ..base import Needs, check_name, check_random_state
from ..registry import register
from . import _seq_kernels
from .sequential import SequentialEstimator, _check_gamma, _check_horizon, _check_model

__all__ = ["CumulativeDistributionOPE", "ReturnDistribution"]

_METHODS = ("tis", "sntis", "tdr")
_STATS = ("mean", "variance", "std", "quantile", "cvar")


def _repair(F: np.ndarray) -> np.ndarray:
    """Monotone, in [0, 1], ending at 1 (works on the last axis)."""
    out = np.clip(np.maximum.accumulate(F, axis=-1), 0.0, 1.0)
    out[..., -1] = 1.0
    return out


def _masses(F: np.ndarray) -> np.ndarray:
    return np.diff(F, axis=-1, prepend=0.0)


@dataclass(frozen=True, eq=False, repr=False)
class ReturnDistribution:
    """An estimated distribution of returns: a CDF on a grid, with bootstrap replicates.

    Attributes
    ----------
    grid : numpy.ndarray (m,)
        Sorted return values where the CDF is evaluated (every distinct atom, or quantiles of them).
    cdf : numpy.ndarray (m,)
        Repaired CDF at ``grid``.
    raw_cdf : numpy.ndarray (m,)
        The estimator's CDF before repair.
    boot_cdf : numpy.ndarray (n_boot, m)
        Repaired CDFs of trajectory-bootstrap resamples (intervals of every statistic come from them).
    alpha : float
        Default interval level ``1 - alpha``.
    method, name, n : estimator kind, label, number of episodes
    """

    grid: np.ndarray
    cdf: np.ndarray
    raw_cdf: np.ndarray
    boot_cdf: np.ndarray
    alpha: float
    method: str
    name: str
    n: int

    # -- statistics of a CDF on the grid (vectorised over bootstrap rows) ----------------------------
    def _mean(self, F: np.ndarray) -> np.ndarray:
        return _masses(F) @ self.grid

    def _variance(self, F: np.ndarray) -> np.ndarray:
        m = _masses(F)
        mu = m @ self.grid
        return m @ self.grid**2 - mu**2

    def _quantile(self, F: np.ndarray, q: float) -> np.ndarray:
        idx = (F < q - 1e-12).sum(axis=-1)
        return self.grid[np.minimum(idx, self.grid.shape[0] - 1)]

    def _cvar(self, F: np.ndarray, level: float) -> np.ndarray:
        below = np.minimum(F, level)  # mass of the lower tail at or below each grid point
        tail = np.diff(below, axis=-1, prepend=0.0)
        return tail @ self.grid / level

    def _stat(self, F: np.ndarray, stat: str, level: float | None) -> np.ndarray:
        if stat == "mean":
            return self._mean(F)
        if stat == "variance":
            return self._variance(F)
        if stat == "std":
            return np.sqrt(np.maximum(self._variance(F), 0.0))
        lv = _check_level(level, stat)
        return self._quantile(F, lv) if stat == "quantile" else self._cvar(F, lv)

    # -- public ------------------------------------------------------------------------------------
    @property
    def mean(self) -> float:
        """Mean of the (repaired) distribution."""
        return float(self._mean(self.cdf))

    @property
    def variance(self) -> float:
        """Variance of the (repaired) distribution."""
        return float(self._variance(self.cdf))

    @property
    def std(self) -> float:
        return float(np.sqrt(max(self.variance, 0.0)))

    def quantile(self, q: float) -> float:
        """The ``q``-quantile :math:`\\inf\\{y : \\hat F(y) \\ge q\\}`."""
        return float(self._quantile(self.cdf, _check_level(q, "quantile")))

    def cvar(self, level: float) -> float:
        """Conditional value at risk: the mean of the lowest ``level`` share of returns,
        :math:`\\frac1\\alpha \\int_0^\\alpha F^{-1}(u)\\,du`."""
        return float(self._cvar(self.cdf, _check_level(level, "cvar")))

    def cdf_at(self, y: Any) -> np.ndarray:
        """:math:`\\hat F(y)` (a step function between grid points)."""
        idx = np.searchsorted(self.grid, np.asarray(y, dtype=np.float64), side="right") - 1
        return np.where(idx >= 0, self.cdf[np.maximum(idx, 0)], 0.0)

    def cdf_band(self, alpha: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Pointwise percentile-bootstrap band of the CDF at ``grid``."""
        a = self.alpha if alpha is None else check_probability(alpha, name="alpha", open_left=True)
        lo, hi = np.quantile(self.boot_cdf, [a / 2, 1 - a / 2], axis=0)
        return lo, hi

    def interval(self, stat: str = "mean", level: float | None = None, alpha: float | None = None
                 ) -> tuple[float, float]:
        """Percentile-bootstrap interval of ``stat`` (``mean``, ``variance``, ``std``, ``quantile``,
        ``cvar``; ``level`` is the quantile or the CVaR tail share)."""
        if stat not in _STATS:
            raise ConfigError(f"`stat` must be one of {_STATS}; got {stat!r}")
        a = self.alpha if alpha is None else check_probability(alpha, name="alpha", open_left=True)
        vals = self._stat(self.boot_cdf, stat, level)
        lo, hi = np.quantile(vals, [a / 2, 1 - a / 2])
        return float(lo), float(hi)

    def summary(self, levels: tuple[float, ...] = (0.1, 0.5, 0.9), cvar_level: float = 0.1) -> dict[str, Any]:
        """Mean, std, quantiles and CVaR, each with its interval."""
        out: dict[str, Any] = {"name": self.name, "method": self.method, "n": self.n}
        todo = [("mean", None, "mean"), ("std", None, "std"), ("cvar", cvar_level, f"cvar_{cvar_level:g}")]
        for stat, lv, key in todo + [("quantile", q, f"q_{q:g}") for q in levels]:
            out[key] = float(self._stat(self.cdf, stat, lv))
            out[key + "_ci"] = self.interval(stat, lv)
        return out

    def __repr__(self) -> str:
        return (f"ReturnDistribution({self.name}: mean {self.mean:.6g}, std {self.std:.4g}, "
                f"{self.grid.shape[0]} grid points, n={self.n}, {self.boot_cdf.shape[0]} bootstrap resamples)")


def _check_level(level: Any, stat: str) -> float:
    if level is None:
        raise ConfigError(f"`level` is required for {stat!r} (a share in (0, 1])")
    return check_probability(level, name="level", open_left=True)


@register
class CumulativeDistributionOPE(SequentialEstimator):
    """Off-policy estimate of the CDF of returns (and its mean, variance, quantiles and CVaR).

    Parameters
    ----------
    method : {"sntis", "tis", "tdr"}
        See the module docstring.
    gamma, horizon : discount and horizon (see :class:`~simrec.estimators.ope.SequentialEstimator`)
    n_boot : int
        Trajectory-bootstrap resamples behind every interval of :meth:`fit`.
    max_grid : int
        At most this many grid points (every distinct atom when fewer, else their quantiles).
    q_model : scikit-learn regressor, optional
        For ``tdr`` without ``q_hat``: the regressor of the internal :class:`FQE`.

    Examples
    --------
    >>> dist = CumulativeDistributionOPE().fit(log, action_dist)   # doctest: +SKIP
    >>> dist.mean, dist.quantile(0.1), dist.cvar(0.1), dist.interval("cvar", 0.1)   # doctest: +SKIP

    ``estimate`` returns an :class:`~simrec.estimators.Estimate` of the mean of the unrepaired
    estimator (trajectory IS, weighted IS or trajectory DR), one contribution per episode.
    """

    family = "distributional"
    needs = Needs("trajectories", ("action_dist", "pscore"), optional=("q_hat",))
    estimate_keywords = frozenset({"pi_logged", "q_pi", "q_logged", "n_boot", "bound"})

    def __init__(self, method: str = "sntis", gamma: float = 1.0, horizon: int | None = None, n_boot: int = 200,
                 max_grid: int = 1000, q_model: Any = None, *, name: str | None = None,
                 random_state: int | np.random.Generator | None = None) -> None:
        if method not in _METHODS:
            raise ConfigError(f"`method` must be one of {_METHODS}; got {method!r}")
        self.method = method
        self.gamma = _check_gamma(gamma)
        self.horizon = _check_horizon(horizon)
        self.n_boot = check_int(n_boot, name="n_boot", minimum=1)
        self.max_grid = check_int(max_grid, name="max_grid", minimum=2)
        self.q_model = _check_model(q_model, "q_model")
        self.name = check_name(name)
        self.random_state = check_random_state(random_state)

    @property
    def _need_q(self) -> bool:  # type: ignore[override]
        return self.method == "tdr"

    def _episode_terms(self, log: Any, action_dist: Any, q_hat: Any, kw: dict[str, Any]):
        s = self._prepare(log, action_dist, q_hat, kw)
        W, G, _, _ = _seq_kernels.trajectory_terms(s.offsets, s.lens, s.pi, s.p, s.r, s.q, s.v, self.gamma, False)
        v0 = s.v[s.offsets[:-1]] if self.method == "tdr" else None
        if self.method == "sntis" and not W.sum() > 0:
            raise InvalidLogError(f"{self.label} is undefined: every trajectory has importance weight 0")
        return s, W, G, v0

    def _run(self, log, action_dist, q_hat, kw):
        s, W, G, v0 = self._episode_terms(log, action_dist, q_hat, kw)
        if self.method == "tis":
            c = W * G
        elif self.method == "sntis":
            v = float(W @ G / W.sum())
            c = v + W * (G - v) / W.mean()
        else:
            c = v0 + W * (G - v0)
        from .diagnostics import weight_diagnostics

        diag = weight_diagnostics(W, W, s.unsupported_mass)
        diag.update(n_episodes=s.n_episodes, n_steps=int(s.lens.sum()), gamma=self.gamma, method=self.method)
        return c, diag

    def fit(self, log: Trajectories, action_dist: Any = None, q_hat: Any = None, *, alpha: float = 0.05,
            **kw: Any) -> ReturnDistribution:
        """Estimate the return distribution, with ``n_boot`` trajectory-bootstrap replicates
        (drawn from ``random_state``).

        Parameters are those of :meth:`estimate`; ``alpha`` sets the default interval level.
        """
        self._check_keywords(kw)
        alpha = check_probability(alpha, name="alpha", open_left=True)
        s, W, G, v0 = self._episode_terms(log, action_dist, q_hat, kw)
        n = s.n_episodes
        ep = np.arange(n)
        if self.method == "tdr":
            atoms = np.concatenate([G, v0])
            wts = np.concatenate([W, 1.0 - W]) / n
            owner = np.concatenate([ep, ep])
        else:
            atoms, wts, owner = G, W / (W.sum() if self.method == "sntis" else n), ep
        uniq = np.unique(atoms)
        # returns that differ only by rounding (the same path summed in another order) are one atom:
        # each cluster is represented by its largest member, so every atom lands on its own point
        tol = 1e-9 * max(1.0, float(np.abs(uniq).max()))
        uniq = uniq[np.r_[np.diff(uniq) > tol, True]]
        grid = uniq if uniq.shape[0] <= self.max_grid else np.unique(
            np.quantile(atoms, np.linspace(0.0, 1.0, self.max_grid), method="inverted_cdf"))
        bins = np.minimum(np.searchsorted(grid, atoms, side="left"), grid.shape[0] - 1)
        m = grid.shape[0]
        raw = np.cumsum(np.bincount(bins, weights=wts, minlength=m))
        rng = self._random()
        boot = np.empty((self.n_boot, m))
        for b in range(self.n_boot):  # one vectorised pass over atoms per resample
            cnt = np.bincount(rng.integers(0, n, n), minlength=n).astype(np.float64)
            w_b = cnt[owner] * wts
            if self.method == "sntis":
                tot = float(cnt @ W)
                w_b = w_b * (W.sum() / tot) if tot > 0 else np.zeros_like(w_b)
            boot[b] = np.cumsum(np.bincount(bins, weights=w_b, minlength=m))
        return ReturnDistribution(grid=grid, cdf=_repair(raw), raw_cdf=raw, boot_cdf=_repair(boot), alpha=alpha,
                                  method=self.method, name=self.label, n=n)
