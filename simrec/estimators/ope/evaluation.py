"""``evaluate``: many target policies x many estimators on one log, as a tidy table."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ...data import BanditLog
from ...errors import ConfigError
from ..base import check_keywords
from . import metrics
from .base import BanditEstimator
from .embed import MIPS
from .inputs import ReducedInputs, reduce_inputs

__all__ = ["evaluate", "score_estimators"]


def evaluate(
    log: BanditLog,
    target_policies: Mapping[str, Any],
    estimators: Sequence[BanditEstimator],
    q_hat: Any = None,
    truth: Mapping[str, float] | None = None,
    *,
    alpha: float = 0.05,
    ci_method: str = "normal",
    **kw: Any,
) -> pd.DataFrame:
    """Estimate every target policy with every estimator.

    Parameters
    ----------
    log : BanditLog
    target_policies : dict name -> action_dist (dense or :class:`ReducedInputs`)
    estimators : list of estimators (names must be unique)
    q_hat : array, or dict estimator name -> array, optional
        Reward model shared by all estimators, or one per estimator.
    truth : dict policy name -> true value, optional
        Adds ``true_value, error, abs_error, relative_error, squared_error, covered``.
    **kw : passed to the ``estimate`` call of every estimator that accepts them (each keyword must
        be accepted by at least one estimator).

    Returns
    -------
    pandas.DataFrame
        One row per (policy, estimator): ``policy, estimator, value, stderr, ci_low, ci_high, n,
        ess, max_weight, unsupported_mass, warnings, diagnostics``, plus the truth columns.
    """
    if not isinstance(target_policies, Mapping) or not target_policies:
        raise ConfigError("`target_policies` must be a non-empty dict name -> action_dist")
    estimators = list(estimators)
    if not estimators or not all(isinstance(e, BanditEstimator) for e in estimators):
        raise ConfigError("`estimators` must be a non-empty list of OPE estimators")
    names = [e.label for e in estimators]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ConfigError(f"estimator names must be unique; {dup} appear more than once "
                          "(pass name=... to tell them apart)")
    if isinstance(q_hat, Mapping):
        unknown = set(q_hat) - set(names)
        if unknown:
            raise ConfigError(f"`q_hat` has keys {sorted(unknown)} that name no estimator")
    if truth is not None:
        missing = set(target_policies) - set(truth)
        if missing:
            raise ConfigError(f"`truth` lacks values for policies {sorted(missing)}")
    for k in kw:
        if not any(k in e.estimate_keywords for e in estimators):
            known = frozenset({"alpha", "ci_method"}).union(*(e.estimate_keywords for e in estimators))
            check_keywords({k: None}, known, "evaluate")
    rows = []
    for pname, ad in target_policies.items():
        cache: dict[int, ReducedInputs] = {}
        for est in estimators:
            q = q_hat.get(est.label) if isinstance(q_hat, Mapping) else q_hat
            if isinstance(est, MIPS) or isinstance(ad, ReducedInputs):
                inp = ad
            else:
                qq = q if est.needs_q else None
                key = id(qq)
                if key not in cache:
                    cache[key] = reduce_inputs(log, ad, qq)
                inp = cache[key]
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                own = {k: v for k, v in kw.items() if k in est.estimate_keywords}
                e = est.estimate(log, inp, q, alpha=alpha, ci_method=ci_method, **own)
            for w in caught:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
            d = e.diagnostics
            row = {"policy": pname, "estimator": est.label, "value": e.value, "stderr": e.stderr,
                   "ci_low": e.ci[0], "ci_high": e.ci[1], "n": e.n, "ess": e.ess,
                   "max_weight": d.get("max_weight", np.nan),
                   "unsupported_mass": d.get("unsupported_mass", np.nan),
                   "warnings": ";".join(sorted({w.category.__name__ for w in caught})),
                   "diagnostics": d}
            if truth is not None:
                t = float(truth[pname])
                row.update(true_value=t, error=e.value - t, abs_error=abs(e.value - t),
                           relative_error=abs(e.value - t) / abs(t) if t != 0 else np.nan,
                           squared_error=(e.value - t) ** 2,
                           covered=bool(e.ci[0] <= t <= e.ci[1]))
            rows.append(row)
    return pd.DataFrame(rows)


def score_estimators(table: pd.DataFrame, k: int = 1) -> pd.DataFrame:
    """Per estimator, from an :func:`evaluate` table with truth: ``mse, nmse, mean relative error,
    coverage, ci_width``, and across policies ``spearman`` and ``regret@k``."""
    if "true_value" not in table:
        raise ConfigError("`table` must come from evaluate(..., truth=...)")
    out = []
    for name, g in table.groupby("estimator", sort=False):
        row = {"estimator": name, "mse": metrics.mse(g["value"], g["true_value"]),
               "nmse": metrics.nmse(g["value"], g["true_value"]),
               "relative_error": float(np.mean(g["relative_error"])),
               "coverage": metrics.coverage(g["ci_low"], g["ci_high"], g["true_value"]),
               "ci_width": metrics.ci_width(g["ci_low"], g["ci_high"])}
        if len(g) >= 2:
            row["spearman"] = metrics.rank_correlation(g["value"], g["true_value"])
            row[f"regret@{k}"] = metrics.regret_at_k(g["value"], g["true_value"], min(k, len(g)))
        out.append(row)
    return pd.DataFrame(out)
