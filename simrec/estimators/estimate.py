"""The :class:`Estimate` result object shared by every estimator family (OPE, experiments, causal)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..errors import NotSupportedError
from . import intervals

__all__ = ["Estimate"]


@dataclass(frozen=True, repr=False, eq=False)
class Estimate:
    """An estimate with its uncertainty and diagnostics (OPE, experiments, causal effects).

    Attributes
    ----------
    value : float
        The point estimate, the mean of ``contributions``.
    stderr : float
        :math:`s / \\sqrt n` of the contributions (``inf`` when ``n < 2``), or their cluster-robust
        standard error when built with ``clusters`` (see :meth:`from_contributions`).
    ci : tuple of float
        ``(low, high)`` interval at level ``1 - alpha`` by ``ci_method``.
    n : int
        Rows used.
    ess : float
        Effective sample size :math:`(\\sum_i w_i)^2 / \\sum_i w_i^2` of the weights the estimator
        applies (``n`` for the direct method).
    diagnostics : dict
        ``max_weight``, ``mean_weight``, ``weight_share_max``, ``unsupported_mass`` (share of target
        mass on actions never logged; NaN when unknown, as with the reduced form),
        ``n_zero_weight``, and estimator-specific entries.
    name : str
    contributions : numpy.ndarray, optional
        Per-row terms whose mean is ``value`` (linearised for self-normalised estimators).
    clusters : numpy.ndarray, optional
        The cluster id of each row the standard error and intervals account for.
    reward_range : tuple of float, optional
        The range every interval is clipped to.
    """

    value: float
    stderr: float
    ci: tuple[float, float]
    n: int
    ess: float
    diagnostics: dict[str, Any] = field(default_factory=dict)
    name: str = ""
    contributions: np.ndarray | None = None
    alpha: float = 0.05
    ci_method: str = "normal"
    clusters: np.ndarray | None = None
    reward_range: tuple[float, float] | None = None

    @classmethod
    def from_contributions(
        cls,
        contributions: np.ndarray,
        *,
        name: str = "",
        ess: float | None = None,
        diagnostics: dict[str, Any] | None = None,
        alpha: float = 0.05,
        ci_method: str = "normal",
        clusters: Any = None,
        reward_range: tuple[float, float] | None = None,
        **interval_kw: Any,
    ) -> Estimate:
        """Build an estimate whose value, standard error and interval come from ``contributions``.

        Parameters
        ----------
        contributions : array_like of float, shape (n,)
            Per-row terms; the value is their mean.
        name, ess, diagnostics, alpha, ci_method
            As the attributes.
        clusters : array_like of int, shape (n,), optional
            Cluster id of each row (session or user). The standard error is then cluster-robust
            (CR1): :math:`\\mathrm{se}^2 = \\frac{G}{G-1}\\frac{1}{n^2}\\sum_g
            (\\sum_{i \\in g} (c_i - \\bar c))^2` over the ``G`` clusters, the ``t`` interval has
            ``G - 1`` degrees of freedom and ``"bootstrap"`` resamples whole clusters
            (:mod:`simrec.estimators.intervals`). ``diagnostics["n_clusters"]`` records ``G``.
        reward_range : (lo, hi), optional
            Known range of the estimand (e.g. ``(0, 1)`` for a click-through rate): the interval is
            clipped to it, but never so far that it excludes the value (which is not clipped).
        **interval_kw
            ``n_boot``, ``rng``, ``bound`` (see :func:`simrec.estimators.intervals.interval`).
        """
        c = np.ascontiguousarray(contributions, dtype=np.float64)
        n = int(c.shape[0])
        clusters = intervals.check_clusters(clusters, n)
        reward_range = intervals.check_reward_range(reward_range)
        diagnostics = dict(diagnostics or {})
        if clusters is None:
            value, stderr = intervals._mean_se(c)
        else:
            value, stderr, g = intervals.cluster_mean_se(c, clusters)
            diagnostics["n_clusters"] = g
        if ci_method == "normal" and 0 < alpha < 1:
            h = intervals._z(alpha) * stderr
            ci = intervals.clip_to_range((value - h, value + h), reward_range, value)
        else:
            ci = intervals.interval(c, ci_method, alpha, clusters=clusters, reward_range=reward_range,
                                    **interval_kw)
        return cls(value=value, stderr=stderr, ci=(float(ci[0]), float(ci[1])), n=n,
                   ess=float(n if ess is None else ess), diagnostics=diagnostics,
                   name=name, contributions=c, alpha=alpha, ci_method=ci_method, clusters=clusters,
                   reward_range=reward_range)

    @property
    def ci_low(self) -> float:
        """Lower end of :attr:`ci`."""
        return self.ci[0]

    @property
    def ci_high(self) -> float:
        """Upper end of :attr:`ci`."""
        return self.ci[1]

    @property
    def p_value(self) -> float:
        """The p-value of the test of a zero value: the estimator's own (``diagnostics["p_value"]``,
        e.g. Welch's t test) when it reports one, else the two-sided normal test of
        ``value / stderr`` (NaN when ``stderr`` is 0)."""
        if "p_value" in self.diagnostics:
            return float(self.diagnostics["p_value"])
        if not self.stderr > 0:
            return float("nan")
        from scipy.stats import norm

        return float(2 * norm.sf(abs(self.value) / self.stderr))

    def interval(
        self,
        method: str = "normal",
        alpha: float | None = None,
        *,
        n_boot: int = 10_000,
        rng: int | np.random.Generator | None = None,
        bound: float | None = None,
    ) -> tuple[float, float]:
        """Another interval from the stored contributions (the estimate's ``clusters`` and
        ``reward_range`` apply).

        Parameters
        ----------
        method : {"normal", "t", "bernstein", "bootstrap"}
        alpha : float, optional
            Defaults to the estimate's ``alpha``.
        n_boot, rng : bootstrap resamples and randomness (``bootstrap`` only).
        bound : float, optional
            Range bound for ``bernstein`` (default: observed range).
        """
        if self.contributions is None:
            raise NotSupportedError("this Estimate carries no contributions; intervals need them")
        a = self.alpha if alpha is None else alpha
        return intervals.interval(self.contributions, method, a, n_boot=n_boot, rng=rng, bound=bound,
                                  clusters=self.clusters, reward_range=self.reward_range)

    def with_interval(self, method: str, alpha: float | None = None, **kw: Any) -> Estimate:
        """A copy whose :attr:`ci` is computed by ``method``."""
        a = self.alpha if alpha is None else alpha
        return replace(self, ci=self.interval(method, a, **kw), alpha=a, ci_method=method)

    def to_dict(self) -> dict[str, Any]:
        """Flat summary (no contributions)."""
        return {"name": self.name, "value": self.value, "stderr": self.stderr, "ci_low": self.ci[0],
                "ci_high": self.ci[1], "n": self.n, "ess": self.ess, "ci_method": self.ci_method,
                "alpha": self.alpha, **self.diagnostics}

    def __float__(self) -> float:
        return self.value

    def __repr__(self) -> str:
        lvl = round(100 * (1 - self.alpha), 6)
        return (f"Estimate({self.name or 'estimate'}: {self.value:.6g} +/- {self.stderr:.3g}, "
                f"{lvl:g}% {self.ci_method} CI [{self.ci[0]:.6g}, {self.ci[1]:.6g}], n={self.n}, "
                f"ess={self.ess:.1f})")
