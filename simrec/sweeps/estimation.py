"""Every estimator on one log, for every target policy: the path shared by sweeps and ``simrec ope``.

Each target's inputs are computed once and shared by all estimators: for the bandit family the
dense ``action_dist`` is reduced once per reward model (:func:`simrec.estimators.ope.reduce_inputs`,
as :func:`~simrec.estimators.ope.evaluate` does) and an estimator that needs the dense form (MIPS)
gets it; slate and sequential estimators get the inputs they declare in ``needs`` (``pi_slate``,
``pi_marginal``, ``action_dist``, ``pi_logged``, ...), computed only when some estimator asks.

An estimate that fails does not fail the others. One that is *undefined* on this log (SNIPS when
the target gives probability 0 to every logged action) is recorded with status ``undefined`` and
the reason; any other error gives status ``failed`` with the traceback.
"""

from __future__ import annotations

import inspect
import json
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import NotSupportedError, SimrecError
from . import _registry

__all__ = ["EstimatorEntry", "TargetInputs", "estimate_all", "run_estimator", "classify_error", "last_line"]


@dataclass(frozen=True)
class EstimatorEntry:
    """An estimator of a run: result name, registry name, parameters."""

    key: str
    name: str
    params: dict[str, Any] = field(default_factory=dict)


class TargetInputs:
    """The inputs of one target policy on one log, computed lazily and once.

    ``compute`` maps input names to zero-argument functions; :meth:`get` computes a name once.
    The bandit family's reduced form is cached per reward model (with and without ``q_hat``).
    """

    def __init__(self, compute: dict[str, Callable[[], Any]]) -> None:
        self._compute = compute
        self._cache: dict[str, Any] = {}

    def __contains__(self, name: str) -> bool:
        return name in self._compute or name in self._cache

    def get(self, name: str) -> Any:
        if name not in self._cache:
            self._cache[name] = self._compute[name]()
        return self._cache[name]


def classify_error(exc: BaseException) -> tuple[str, str]:
    """``("undefined", reason)`` for an estimate that is undefined on this log, else
    ``("failed", traceback)``."""
    msg = str(exc)
    if isinstance(exc, SimrecError) and "undefined" in msg:
        return "undefined", msg
    return "failed", "".join(traceback.format_exception(type(exc), exc, exc.__traceback__, limit=20))


def last_line(message: Any, default: str = "") -> str:
    """The last line of a recorded error (of a traceback: the exception and its message);
    ``default`` when there is none (``None``, NaN or blank)."""
    if message is None or (isinstance(message, float) and message != message):
        return default
    lines = str(message).strip().splitlines()
    return lines[-1] if lines else default


def _accepts(est: Any, name: str) -> bool:
    return name in est.estimate_keywords or name in inspect.signature(est.estimate).parameters


def run_estimator(est: Any, kind: str, log: Any, inputs: TargetInputs, alpha: float, ci_method: str,
                  slots: int | None = None) -> Any:
    """``est.estimate`` on ``log`` with the inputs it declares; an :class:`~simrec.estimators.Estimate`.

    ``slots``: the bandit log holds ``slots`` rows per slate (:func:`simrec.sweeps.logs.per_slot`);
    the estimate is then the per-slate sum (slot contributions summed within each slate, so the
    standard error treats a slate, not a slot, as the unit).
    """
    needs = est.needs
    used = [k for k in (*needs.inputs, *needs.optional) if k in inputs]
    if kind == "bandit":
        q = inputs.get("q_hat") if "q_hat" in used else None
        extra = {k: inputs.get(k) for k in used
                 if k not in ("action_dist", "q_hat", "pscore", "action_embed") and k in est.estimate_keywords}
        elog = inputs.get("embed_log") if "action_embed" in needs.inputs and "embed_log" in inputs else log
        key = "reduced_q" if q is not None else "reduced"
        try:
            dist = inputs.get(key)
            e = est.estimate(elog, dist, q, alpha=alpha, ci_method=ci_method, **extra)
        except NotSupportedError:
            dist = inputs.get("action_dist")  # estimators that read the dense form (MIPS)
            e = est.estimate(elog, dist, q, alpha=alpha, ci_method=ci_method, **extra)
        if slots:
            from ..estimators import Estimate

            c = e.contributions  # the per-row terms the estimate was built from
            if c is None or len(c) != len(elog):  # an estimator that does not keep them
                c = est.contributions(elog, dist, q, **extra)
            c = np.asarray(c, dtype=np.float64)
            per = c.reshape(-1, slots).sum(axis=1)
            rng = est._random() if ci_method == "bootstrap" else None
            e = Estimate.from_contributions(per, name=e.name, ess=e.ess, diagnostics=dict(e.diagnostics),
                                            alpha=alpha, ci_method=ci_method, rng=rng)
        return e
    kw = {}
    for k in (*needs.inputs, *needs.optional):
        if k in inputs and _accepts(est, k):
            kw[k] = inputs.get(k)
        elif k == "action_dist" and "pi_logged" in inputs and _accepts(est, "pi_logged"):
            kw["pi_logged"] = inputs.get("pi_logged")  # slate actions: the reduced form
    return est.estimate(log, alpha=alpha, ci_method=ci_method, **kw)


def _jsonable(d: dict[str, Any]) -> str:
    def conv(v: Any) -> Any:
        if isinstance(v, np.generic):
            return v.item()
        if isinstance(v, np.ndarray):
            return v.tolist()
        return v

    return json.dumps({k: conv(v) for k, v in sorted(d.items())}, sort_keys=True, default=str)


def estimate_row(entry: EstimatorEntry, kind: str, log: Any, inputs: TargetInputs, *, alpha: float,
                 ci_method: str, random_state: int, truth: float | None = None, slots: int | None = None
                 ) -> dict[str, Any]:
    """One result row: the estimate with its interval and diagnostics (and its error when ``truth``
    is given), or the status ``undefined``/``failed`` with the reason."""
    row: dict[str, Any] = {"estimator": entry.key, "estimator_name": entry.name, "log_kind": kind}
    try:
        est = _registry.make_estimator(entry.name, entry.params, entry.key, random_state=random_state)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = run_estimator(est, kind, log, inputs, alpha, ci_method, slots)
        lo, hi = (float(x) for x in res.ci)
        d = dict(res.diagnostics)
        row.update(status="ok", estimate=float(res.value), stderr=float(res.stderr), ci_low=lo, ci_high=hi,
                   ci_width=hi - lo, n=int(res.n), ess=float(res.ess), max_weight=float(d.get("max_weight", np.nan)),
                   unsupported_mass=float(d.get("unsupported_mass", np.nan)),
                   warnings=";".join(sorted({w.category.__name__ for w in caught})), diagnostics=_jsonable(d))
        if truth is not None and np.isfinite(truth):
            v = float(res.value)
            row.update(error=v - truth, abs_error=abs(v - truth), squared_error=(v - truth) ** 2,
                       covered=bool(lo <= truth <= hi))
    except Exception as exc:  # noqa: BLE001 - recorded in the row
        status, msg = classify_error(exc)
        row.update(status=status, error_message=msg)
    return row


def estimate_all(log: Any, kind: str, targets: dict[str, TargetInputs], estimators: list[EstimatorEntry], *,
                 alpha: float = 0.05, ci_method: str = "normal", seed: Callable[[str], int] | int = 0,
                 truth: dict[str, float] | None = None, slots: int | None = None) -> list[dict[str, Any]]:
    """One row per (target, estimator) (see :func:`estimate_row`); ``seed(estimator key)`` or an int
    seeds each estimator's random draws."""
    rows = []
    for pkey, inputs in targets.items():
        for e in estimators:
            rs = seed(e.key) if callable(seed) else int(seed)
            t = None if truth is None else truth.get(pkey)
            rows.append({"policy": pkey, **estimate_row(e, kind, log, inputs, alpha=alpha, ci_method=ci_method,
                                                        random_state=rs, truth=t, slots=slots)})
    return rows


def bandit_inputs(log: Any, dist: Any, q_hat: Any = None, **more: Any) -> TargetInputs:
    """The inputs of a bandit-family target: dense ``action_dist`` and its reduced forms."""
    from ..estimators.ope import reduce_inputs

    comp: dict[str, Callable[[], Any]] = {
        "action_dist": lambda: dist() if callable(dist) else dist,
    }
    ti = TargetInputs(comp)
    comp["reduced"] = lambda: reduce_inputs(log, ti.get("action_dist"), None)
    if q_hat is not None:
        comp["q_hat"] = lambda: q_hat
        comp["reduced_q"] = lambda: reduce_inputs(log, ti.get("action_dist"), q_hat)
    for k, v in more.items():
        if v is not None:
            comp[k] = v if callable(v) else (lambda v=v: v)
    return ti
