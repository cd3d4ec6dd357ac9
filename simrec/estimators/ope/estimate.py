"""The :class:`Estimate` result object and the weight diagnostics/warnings shared by estimators."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ...errors import ExtremeWeightWarning, SmallSampleWarning, SupportDeficiencyWarning
from . import _kernels, intervals

__all__ = ["Estimate", "weight_diagnostics", "diagnostics_from_stats", "warn_diagnostics", "ESS_WARN",
           "WEIGHT_SHARE_WARN", "SUPPORT_WARN"]

#: warn (``SmallSampleWarning``) when the effective sample size is below this
ESS_WARN = 30.0
#: warn (``ExtremeWeightWarning``) when one row carries more than ``max(WEIGHT_SHARE_WARN, 5 / n)``
#: of the total weight
WEIGHT_SHARE_WARN = 0.05
#: warn (``SupportDeficiencyWarning``) when more than this share of the target policy's mass lies
#: on actions the log never shows
SUPPORT_WARN = 1e-3


@dataclass(frozen=True, repr=False, eq=False)
class Estimate:
    """An off-policy estimate with its uncertainty and diagnostics.

    Attributes
    ----------
    value : float
        The point estimate, the mean of ``contributions``.
    stderr : float
        :math:`s / \\sqrt n` of the contributions (``inf`` when ``n < 2``).
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
        **interval_kw: Any,
    ) -> Estimate:
        """Build an estimate whose value, standard error and interval come from ``contributions``."""
        c = np.ascontiguousarray(contributions, dtype=np.float64)
        n = int(c.shape[0])
        value, stderr = intervals._mean_se(c)
        if ci_method == "normal" and 0 < alpha < 1:
            h = intervals._z(alpha) * stderr
            ci = (value - h, value + h)
        else:
            ci = intervals.interval(c, ci_method, alpha, **interval_kw)
        return cls(value=value, stderr=stderr, ci=(float(ci[0]), float(ci[1])), n=n,
                   ess=float(n if ess is None else ess), diagnostics=dict(diagnostics or {}),
                   name=name, contributions=c, alpha=alpha, ci_method=ci_method)

    @property
    def ci_low(self) -> float:
        """Lower end of :attr:`ci`."""
        return self.ci[0]

    @property
    def ci_high(self) -> float:
        """Upper end of :attr:`ci`."""
        return self.ci[1]

    def interval(
        self,
        method: str = "normal",
        alpha: float | None = None,
        *,
        n_boot: int = 10_000,
        rng: int | np.random.Generator | None = None,
        bound: float | None = None,
    ) -> tuple[float, float]:
        """Another interval from the stored contributions.

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
            raise ValueError("this Estimate carries no contributions; intervals need them")
        a = self.alpha if alpha is None else alpha
        return intervals.interval(self.contributions, method, a, n_boot=n_boot, rng=rng, bound=bound)

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


def weight_diagnostics(w_raw: np.ndarray, w_used: np.ndarray, unsupported_mass: float) -> dict[str, Any]:
    """ESS and weight statistics: ``w_raw = pi / pscore``; ``w_used`` what the estimator applies."""
    stats = _kernels.weight_stats(np.ascontiguousarray(w_raw, dtype=np.float64),
                                  np.ascontiguousarray(w_used, dtype=np.float64))
    return diagnostics_from_stats(w_used.shape[0], stats, unsupported_mass)


def diagnostics_from_stats(n: int, stats: tuple, unsupported_mass: float) -> dict[str, Any]:
    """Diagnostics from ``(sum u, sum u^2, max |u|, max w, sum w, #zero w, ...)``."""
    s, s2, wmax, rmax, rsum, nzero = stats[:6]
    ess = s * s / s2 if s2 > 0 else 0.0
    return {
        "ess": float(ess),
        "ess_ratio": float(ess / n),
        "max_weight": float(rmax),
        "mean_weight": float(rsum / n),
        "weight_share_max": float(wmax / s) if s > 0 else float("inf"),
        "n_zero_weight": int(nzero),
        "unsupported_mass": float(unsupported_mass),
    }


def warn_diagnostics(diag: dict[str, Any], n: int, name: str, stacklevel: int = 4) -> None:
    """Emit simrec warnings for tiny ESS, extreme weights and support deficiency."""
    ess = diag.get("ess", float(n))
    if ess < ESS_WARN:
        warnings.warn(f"{name}: effective sample size {ess:.1f} of n={n} is below {ESS_WARN:g}; the "
                      "estimate rests on very few rows", SmallSampleWarning, stacklevel=stacklevel)
    share = diag.get("weight_share_max", 0.0)
    if share > max(WEIGHT_SHARE_WARN, 5.0 / n):
        warnings.warn(f"{name}: one row carries {share:.1%} of the total importance weight (max weight "
                      f"{diag.get('max_weight', float('nan')):.4g}); consider clipping or a DR estimator",
                      ExtremeWeightWarning, stacklevel=stacklevel)
    um = diag.get("unsupported_mass", float("nan"))
    if um == um and um > SUPPORT_WARN:
        warnings.warn(f"{name}: the target policy puts {um:.2%} of its mass on actions never logged; "
                      "weighting estimators are biased there (support deficiency)",
                      SupportDeficiencyWarning, stacklevel=stacklevel)
