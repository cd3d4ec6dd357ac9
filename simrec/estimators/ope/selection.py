r"""Hyper-parameter selection (clip, tau, lambda) by SLOPE++ (Tucker & Lee 2021, the default) or the
original SLOPE (Su, Srinath & Krishnamurthy 2020), reporting what was chosen and why.

Both are Lepski-type rules: candidates are ordered from the widest to the narrowest confidence width
(for these families that is from least to most biased, e.g. ``lam = inf`` first for DRos), and the
rule walks down the list while each new candidate stays consistent with all the earlier ones,
stopping when the bias of a lower-variance candidate shows.

``"slope++"`` (default; the rule of Open Bandit Pipeline's ``tuning_method="slope"``)
    Width :math:`c_j = t_{n-1,\,1-\alpha}\,\mathrm{se}_j` (a one-sided Student-t bound).
    Candidate :math:`i` is kept while
    :math:`|\hat V_j - \hat V_i| \le c_i + (\sqrt 6 - 1)\, c_j` for every kept :math:`j`;
    the last kept candidate is chosen (Tucker & Lee 2021, Alg. 1).
``"slope"`` (Su et al. 2020)
    With :math:`h_j = z_{1-\alpha/2}\,\mathrm{se}_j`, keep going while the widened intervals
    :math:`[\hat V_j - 2h_j, \hat V_j + 2h_j]` of all candidates so far share a point. It
    tolerates more bias: on the multiclass protocol of Open Bandit Pipeline it picks DRos with the
    smallest lambda of the grid almost always (see ``tests/estimators/test_selection_multiclass.py``).

The standard errors are those of each candidate's :class:`Estimate`, so they are cluster-robust when
the log carries session or user ids.

References
----------
Y. Su, P. Srinath, A. Krishnamurthy. Adaptive estimator selection for off-policy evaluation. ICML 2020.
G. Tucker, J. Lee. Improved estimator selection for off-policy evaluation. Workshop on
Reinforcement Learning Theory, ICML 2021.
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


METHODS = ("slope++", "slope")
_C_PLUS = float(np.sqrt(6.0) - 1.0)


def _check_method(method: str) -> str:
    if method not in METHODS:
        import difflib

        near = difflib.get_close_matches(str(method), METHODS, n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        raise ConfigError(f"`method` must be one of {METHODS}; got {method!r}{hint}")
    return method


def slope(estimates: Sequence[Estimate], alpha: float = 0.05, method: str = "slope++") -> tuple[int, pd.DataFrame]:
    """Index chosen by SLOPE++ (default) or SLOPE among ``estimates``, and the per-candidate table.

    Parameters
    ----------
    estimates : sequence of Estimate
        One per candidate hyper-parameter value, each with a finite or infinite ``stderr``.
    alpha : float
        ``"slope++"``: one-sided level of the Student-t width; ``"slope"``: two-sided normal level.
    method : {"slope++", "slope"}
        See the module docstring.

    Returns
    -------
    (int, pandas.DataFrame)
        The chosen index into ``estimates`` and one row per candidate in the order visited
        (``index``, ``name``, ``value``, ``stderr``, ``width``, ``low``, ``high``, ``consistent``,
        ``chosen``).
    """
    _check_method(method)
    if not estimates:
        raise ConfigError("`estimates` must hold at least one Estimate")
    if method == "slope":
        widths = [2.0 * float(stats.norm.ppf(1 - alpha / 2)) * e.stderr for e in estimates]
    else:
        widths = [float(stats.t.ppf(1 - alpha, max(e.n - 1, 1))) * e.stderr for e in estimates]
    order = sorted(range(len(estimates)), key=lambda i: -widths[i])
    chosen = order[0]
    rows, kept = [], []
    open_ = True
    lo, hi = -np.inf, np.inf
    for i in order:
        e, c = estimates[i], widths[i]
        if method == "slope":
            lo, hi = max(lo, e.value - c), min(hi, e.value + c)
            ok = lo <= hi
        else:
            ok = all(abs(estimates[j].value - e.value) <= c + _C_PLUS * widths[j] for j in kept)
        ok = open_ and ok
        if ok:
            chosen = i
            kept.append(i)
        else:
            open_ = False
        rows.append({"index": i, "name": e.name, "value": e.value, "stderr": e.stderr, "width": c,
                     "low": e.value - c, "high": e.value + c, "consistent": ok})
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
    method: str = "slope++",
    **kw: Any,
) -> Selection:
    """Tune ``estimator``'s hyper-parameter (``clip``, ``tau`` or ``lam``) over ``grid``.

    Parameters
    ----------
    estimator : BanditEstimator
        An estimator with a ``hyperparameter`` (IPS, DR: ``clip``; SwitchDR: ``tau``; DRos,
        SubGaussianIPS: ``lam``).
    grid : sequence
        Candidate values; ``inf`` is allowed where the estimator accepts it (``clip``, ``tau``,
        ``lam`` of DRos), as in Open Bandit Pipeline's grids.
    log, action_dist, q_hat
        As for ``estimator.estimate``.
    alpha : float
        Level of the widths the rule compares (see :func:`slope`); the candidates' own intervals
        use it too.
    method : {"slope++", "slope"}
        ``"slope++"`` (Tucker & Lee 2021, default) or the original SLOPE (Su et al. 2020).
    **kw
        Passed to ``estimate`` (e.g. ``cluster=``).

    Returns
    -------
    Selection

    Examples
    --------
    >>> sel = select_hyperparameter(SwitchDR(), [1, 10, 100], log, pi, q_hat=q)  # doctest: +SKIP
    >>> sel.value, sel.reason  # doctest: +SKIP
    """
    param = getattr(estimator, "hyperparameter", None)
    if not param:
        raise ConfigError(f"{type(estimator).__name__} has no hyper-parameter to tune")
    _check_method(method)
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
    idx, table = slope(ests, alpha, method)
    table.insert(1, param, [grid[i] for i in table["index"]])
    pos = list(table["index"]).index(idx)
    nxt = table.iloc[pos + 1] if pos + 1 < len(table) else None
    rule = ("its Student-t width plus (sqrt(6)-1) times theirs covers its distance to every "
            "wider (less biased) candidate" if method == "slope++" else
            "its 2x-widened interval still intersects those of all wider (less biased) candidates")
    why = (f"{method} chose {param}={grid[idx]!r} (value {ests[idx].value:.6g}, se "
           f"{ests[idx].stderr:.3g}): the narrowest candidate for which {rule}")
    why += ("; every candidate is consistent" if nxt is None else
            f"; the next, {param}={nxt[param]!r} (value {nxt['value']:.6g}), was not")
    chosen = estimator.clone().set_params(**{param: grid[idx]})
    return Selection(estimator=chosen, param=param, value=grid[idx], estimate=ests[idx], table=table,
                     reason=why)
