"""Importance-weight diagnostics and the warnings they trigger (tiny ESS, extreme weights,
support deficiency), shared by the weighting OPE estimators."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ...errors import ExtremeWeightWarning, SmallSampleWarning, SupportDeficiencyWarning
from . import _kernels

__all__ = ["weight_diagnostics", "diagnostics_from_stats", "warn_diagnostics", "finish_estimate", "INTERVAL_KEYWORDS",
           "ESS_WARN", "WEIGHT_SHARE_WARN", "SUPPORT_WARN"]

#: warn (``SmallSampleWarning``) when the effective sample size is below this
ESS_WARN = 30.0
#: warn (``ExtremeWeightWarning``) when one row carries more than ``max(WEIGHT_SHARE_WARN, 5 / n)``
#: of the total weight
WEIGHT_SHARE_WARN = 0.05
#: warn (``SupportDeficiencyWarning``) when more than this share of the target policy's mass lies
#: on actions the log never shows
SUPPORT_WARN = 1e-3


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


#: keywords of ``estimate`` that configure the interval (every OPE family)
INTERVAL_KEYWORDS = frozenset({"n_boot", "bound"})


def finish_estimate(est: Any, c: np.ndarray, diag: dict[str, Any], *, alpha: float, ci_method: str,
                    kw: dict[str, Any], clusters: np.ndarray | None = None,
                    reward_range: tuple[float, float] | None = None) -> Any:
    """The :class:`~simrec.estimators.Estimate` of an OPE estimator ``est`` from its contributions and
    diagnostics (every family ends here): cluster-robust over ``clusters`` (one id per contribution)
    and clipped to ``reward_range`` when given, intervals by ``ci_method`` (the bootstrap draws from
    ``est``'s ``random_state``), then the diagnostic warnings."""
    from ..estimate import Estimate

    ci_kw = {k: kw[k] for k in INTERVAL_KEYWORDS if k in kw}
    if ci_method == "bootstrap":
        ci_kw["rng"] = est._random()
    out = Estimate.from_contributions(c, name=est.label, ess=diag["ess"], diagnostics=diag, alpha=alpha,
                                      ci_method=ci_method, clusters=clusters, reward_range=reward_range, **ci_kw)
    warn_diagnostics(diag, out.n, est.label, stacklevel=4)
    return out
