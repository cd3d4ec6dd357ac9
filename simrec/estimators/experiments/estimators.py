"""The A/B analyses as registered estimators (family ``experiment``, log kind ``experiment``).

Each reads an :class:`~simrec.estimators.experiments.ExperimentLog` and returns an
:class:`~simrec.estimators.Estimate` of the treatment effect, so sweeps and the command line can
list and run them like any other estimator. ``ci_method``: ``"welch"`` (default, the analysis' own
t interval), ``"normal"``, or ``"bootstrap"`` (percentile, resampling units within each arm, from
``random_state``). The estimate's contributions are the per-unit influence terms (their mean is the
value).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ..._validation import check_int
from ...errors import ConfigError, InvalidLogError
from ..base import Estimator, Needs, check_name, check_random_state
from ..estimate import Estimate
from ..intervals import _z
from ..registry import register
from .ab import ABResult, analyze_ab, ratio_metric
from .data import ExperimentLog
from .variance import _cross_fit, cuped

__all__ = ["DiffInMeans", "RelativeLift", "RatioDelta", "CUPED", "CUPAC"]

_CI_METHODS = ("welch", "normal", "bootstrap")


class _ABEstimator(Estimator):
    family = "experiment"
    needs: ClassVar[Needs] = Needs("experiment")
    estimate_keywords = frozenset({"n_boot"})
    _relative: ClassVar[bool] = False

    def __init__(self, *, name: str | None = None, random_state: int | np.random.Generator | None = None) -> None:
        self.name = check_name(name)
        self.random_state = check_random_state(random_state)

    # subclasses: the arrays they read and the analysis on (possibly resampled) arrays
    def _arrays(self, log: ExperimentLog) -> dict[str, np.ndarray]:
        return {"y": log.outcome}

    def _fit(self, a: dict[str, np.ndarray], t: np.ndarray, alpha: float) -> tuple[ABResult, np.ndarray]:
        """The analysis and the per-unit values whose arm means are the (adjusted) arm means."""
        return analyze_ab(a["y"], t, alpha=alpha, name=self.label), a["y"]

    def estimate(self, log: ExperimentLog, *, alpha: float = 0.05, ci_method: str = "welch", **kw: Any) -> Estimate:
        """Estimate the effect on ``log`` (see the class docstring for what it reads)."""
        self._check_keywords(kw)
        if not isinstance(log, ExperimentLog):
            raise InvalidLogError(f"`log` must be an ExperimentLog (per-unit outcomes and a 0/1 treatment); "
                                  f"got {type(log).__name__}")
        if ci_method not in _CI_METHODS:
            raise ConfigError(f"`ci_method` must be one of {_CI_METHODS}; got {ci_method!r}")
        t = log.treatment
        arrays = self._arrays(log)
        res, u = self._fit(arrays, t, alpha)
        est = res.lift if self._relative else res.diff
        n, n1, n0 = t.size, res.n_treatment, res.n_control
        m1, m0 = res.mean_treatment, res.mean_control
        if self._relative:
            infl = np.where(t, (u - m1) / (n1 * m0), -(m1 / m0) * (u - m0) / (n0 * m0))
        else:
            infl = np.where(t, (u - m1) / n1, -(u - m0) / n0)
        contrib = est.value + n * infl
        ci = est.ci
        if ci_method == "normal":
            h = _z(alpha) * est.stderr
            ci = (est.value - h, est.value + h)
        elif ci_method == "bootstrap":
            n_boot = check_int(kw.get("n_boot", 2000), name="n_boot", minimum=10)
            rng = self._random()
            i1, i0 = np.flatnonzero(t), np.flatnonzero(~t)
            vals = np.empty(n_boot)
            for b in range(n_boot):
                idx = np.concatenate([rng.choice(i1, i1.size), rng.choice(i0, i0.size)])
                r, _ = self._fit({k: v[idx] for k, v in arrays.items()}, t[idx], alpha)
                vals[b] = (r.lift if self._relative else r.diff).value
            ci = (float(np.quantile(vals, alpha / 2)), float(np.quantile(vals, 1 - alpha / 2)))
            ci = (min(ci[0], est.value), max(ci[1], est.value))
        diag = {**est.diagnostics, **res.diagnostics}
        return Estimate(value=est.value, stderr=est.stderr, ci=ci, n=n, ess=float(n), diagnostics=diag,
                        name=self.label, contributions=contrib, alpha=alpha,
                        ci_method=est.ci_method if ci_method == "welch" else ci_method)


@register
class DiffInMeans(_ABEstimator):
    """Difference in means with Welch's interval (:func:`~simrec.estimators.experiments.analyze_ab`)."""


@register
class RelativeLift(_ABEstimator):
    """Relative lift :math:`\\bar y_1/\\bar y_0 - 1`, log-scale delta-method interval."""

    _relative = True


@register
class RatioDelta(_ABEstimator):
    """Ratio metric :math:`\\sum a / \\sum b` per arm (``outcome / denominator``) by the delta method."""

    needs = Needs("experiment", ("denominator",))

    def __init__(self, ddof: int = 1, *, name: str | None = None,
                 random_state: int | np.random.Generator | None = None) -> None:
        if ddof not in (0, 1):
            raise ConfigError(f"`ddof` must be 0 or 1; got {ddof!r}")
        self.ddof = ddof
        super().__init__(name=name, random_state=random_state)

    def _arrays(self, log: ExperimentLog) -> dict[str, np.ndarray]:
        if log.denominator is None:
            raise InvalidLogError("RatioDelta needs `log.denominator` (the ratio's denominator per unit)")
        return {"y": log.outcome, "b": log.denominator}

    def _fit(self, a: dict[str, np.ndarray], t: np.ndarray, alpha: float) -> tuple[ABResult, np.ndarray]:
        res = ratio_metric(a["y"], a["b"], t, alpha=alpha, ddof=self.ddof, name=self.label)
        u = np.empty_like(a["y"])
        for m, r in ((t, res.mean_treatment), (~t, res.mean_control)):
            u[m] = r + (a["y"][m] - r * a["b"][m]) / a["b"][m].mean()
        return res, u


@register
class CUPED(_ABEstimator):
    """CUPED on ``log.covariate`` (pooled or within-arm slope; see :func:`~simrec.estimators.experiments.cuped`)."""

    needs = Needs("experiment", ("covariate",))

    def __init__(self, theta: str = "pooled", *, name: str | None = None,
                 random_state: int | np.random.Generator | None = None) -> None:
        if theta not in ("pooled", "within"):
            raise ConfigError(f"`theta` must be 'pooled' or 'within'; got {theta!r}")
        self.theta = theta
        super().__init__(name=name, random_state=random_state)

    def _arrays(self, log: ExperimentLog) -> dict[str, np.ndarray]:
        if log.covariate is None:
            raise InvalidLogError(f"{type(self).__name__} needs `log.covariate` (a pre-experiment covariate)")
        return {"y": log.outcome, "x": log.covariate}

    def _fit(self, a: dict[str, np.ndarray], t: np.ndarray, alpha: float) -> tuple[ABResult, np.ndarray]:
        res = cuped(a["y"], t, a["x"], theta=self.theta, alpha=alpha, name=self.label,
                    balance_threshold=0.0)
        return res, a["y"] - res.diagnostics["theta"] * (a["x"] - a["x"].mean())


@register
class CUPAC(CUPED):
    """CUPED with a cross-fitted prediction from ``log.features`` as covariate (gradient boosting)."""

    needs = Needs("experiment", ("features",))

    def __init__(self, n_folds: int = 3, max_iter: int = 50, *, name: str | None = None,
                 random_state: int | np.random.Generator | None = None) -> None:
        self.n_folds = check_int(n_folds, name="n_folds", minimum=2)
        self.max_iter = check_int(max_iter, name="max_iter", minimum=1)
        self.theta = "pooled"  # CUPED's slope on the cross-fitted prediction
        _ABEstimator.__init__(self, name=name, random_state=random_state)

    def _arrays(self, log: ExperimentLog) -> dict[str, np.ndarray]:
        from sklearn.ensemble import HistGradientBoostingRegressor

        if log.features is None:
            raise InvalidLogError("CUPAC needs `log.features` (pre-treatment unit features)")
        rng = self._random()
        model = HistGradientBoostingRegressor(max_iter=self.max_iter, random_state=int(rng.integers(2**31)))
        return {"y": log.outcome, "x": _cross_fit(log.features, log.outcome, model, self.n_folds, rng)}

