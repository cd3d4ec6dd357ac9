"""Hyper-parameter selection (clip, tau, lambda) by SLOPE (Su, Srinath & Krishnamurthy 2020;
Tucker & Lee 2021), reporting what was chosen and why.

Candidates are ordered from the largest to the smallest standard error (for these families that is
from least to most biased). With half-widths :math:`h_j = z_{1-\\alpha/2}\\,\\mathrm{se}_j`, SLOPE
keeps going while the widened intervals :math:`[\\hat V_j - 2h_j, \\hat V_j + 2h_j]` of all
candidates so far still share a point, and selects the last candidate before the intersection
becomes empty (Lepski's principle: stop when the bias of lower-variance candidates shows).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ...data import BanditLog
from ...errors import ConfigError
from ..estimate import Estimate
from .base import BanditEstimator

__all__ = ["Selection", "slope", "select_hyperparameter"]


@dataclass(frozen=True, eq=False)
class Selection:
    """Outcome of :func:`select_hyperparameter`.

    Attributes
    ----------
    estimator : the chosen, configured estimator
    param : name of the tuned hyper-parameter
    value : its chosen value
    estimate : the chosen candidate's :class:`Estimate`
    table : one row per candidate (value, stderr, interval, running intersection, chosen)
    reason : a sentence saying why
    """

    estimator: BanditEstimator
    param: str
    value: Any
    estimate: Estimate
    table: pd.DataFrame
    reason: str


def slope(estimates: Sequence[Estimate], alpha: float = 0.05) -> tuple[int, pd.DataFrame]:
    """Index chosen by SLOPE among ``estimates`` and the per-candidate table (in SLOPE order)."""
    if not estimates:
        raise ConfigError("`estimates` must hold at least one Estimate")
    z = stats.norm.ppf(1 - alpha / 2)
    order = sorted(range(len(estimates)), key=lambda i: -estimates[i].stderr)
    lo, hi = -np.inf, np.inf
    chosen = order[0]
    rows = []
    open_ = True
    for i in order:
        e = estimates[i]
        h = 2 * z * e.stderr
        lo, hi = max(lo, e.value - h), min(hi, e.value + h)
        ok = open_ and lo <= hi
        if ok:
            chosen = i
        else:
            open_ = False
        rows.append({"index": i, "name": e.name, "value": e.value, "stderr": e.stderr,
                     "slope_low": e.value - h, "slope_high": e.value + h, "intersects": ok})
    table = pd.DataFrame(rows)
    table["chosen"] = table["index"] == chosen
    return chosen, table


def select_hyperparameter(
    estimator: BanditEstimator,
    grid: Sequence[Any],
    log: BanditLog,
    action_dist: Any = None,
    q_hat: Any = None,
    *,
    alpha: float = 0.05,
    **kw: Any,
) -> Selection:
    """Tune ``estimator``'s hyper-parameter (``clip``, ``tau`` or ``lam``) over ``grid`` by SLOPE.

    Examples
    --------
    >>> sel = select_hyperparameter(SwitchDR(), [1, 10, 100], log, pi, q_hat=q)  # doctest: +SKIP
    >>> sel.value, sel.reason  # doctest: +SKIP
    """
    param = getattr(estimator, "hyperparameter", None)
    if not param:
        raise ConfigError(f"{type(estimator).__name__} has no hyper-parameter to tune")
    grid = list(grid)
    if not grid:
        raise ConfigError("`grid` must hold at least one value")
    cands, ests = [], []

    for v in grid:
        e = estimator.clone().set_params(**{param: v, "name": f"{estimator.label}({param}={v})"})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ests.append(e.estimate(log, action_dist, q_hat, alpha=alpha, **kw))
        cands.append(e)
    idx, table = slope(ests, alpha)
    table.insert(1, param, [grid[i] for i in table["index"]])
    pos = list(table["index"]).index(idx)
    nxt = table.iloc[pos + 1] if pos + 1 < len(table) else None
    why = (f"chose {param}={grid[idx]!r} (value {ests[idx].value:.6g}, se {ests[idx].stderr:.3g}): the "
           "lowest-variance candidate whose 2x-widened interval still intersects those of all "
           "higher-variance (less biased) candidates")
    why += ("; every candidate is consistent" if nxt is None else
            f"; the next, {param}={nxt[param]!r} (value {nxt['value']:.6g}), broke the intersection")
    chosen = estimator.clone().set_params(**{param: grid[idx]})
    return Selection(estimator=chosen, param=param, value=grid[idx], estimate=ests[idx], table=table,
                     reason=why)
