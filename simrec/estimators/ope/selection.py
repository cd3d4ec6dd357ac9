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


# ---- off-policy selection metrics (SCOPE-RL style) ----------------------------------------------------
# Given candidate policies' estimated values and their true values, score the decision the
# estimates drive. Rank correlation and regret@k live in .metrics and are re-exported here.

from .metrics import _arrays, rank_correlation, regret_at_k  # noqa: E402

__all__ += ["rank_correlation", "regret_at_k", "top_k_values", "type_i_error_rate", "type_ii_error_rate",
            "sharpe_ratio_at_k", "selection_report"]


def _pair(estimated: Any, true: Any) -> tuple[np.ndarray, np.ndarray]:
    e, t = _arrays(estimated, true)
    if e.shape != t.shape or e.ndim != 1 or e.size < 1:
        raise ConfigError(f"`estimated` and `true` must be 1-D arrays of equal length (one value per "
                          f"candidate policy); got shapes {e.shape} and {t.shape}")
    return e, t


def top_k_values(estimated: Any, true: Any, k: int) -> np.ndarray:
    """True values of the ``k`` candidates ranked highest by the estimates (best first; ties by index)."""
    e, t = _pair(estimated, true)
    if not 1 <= int(k) <= e.size:
        raise ConfigError(f"`k` must lie in [1, {e.size}]; got {k}")
    return t[np.argsort(-e, kind="stable")[: int(k)]]


def type_i_error_rate(estimated: Any, true: Any, threshold: float) -> float:
    """Share of truly safe policies (:math:`V_j \\ge` ``threshold``) that the estimates call unsafe
    (:math:`\\hat V_j <` ``threshold``): good policies wrongly discarded. 0 when none is truly safe
    (SCOPE-RL's convention)."""
    e, t = _pair(estimated, true)
    safe = t >= threshold
    return float(((e < threshold) & safe).sum() / safe.sum()) if safe.any() else 0.0


def type_ii_error_rate(estimated: Any, true: Any, threshold: float) -> float:
    """Share of truly unsafe policies (:math:`V_j <` ``threshold``) that the estimates call safe
    (:math:`\\hat V_j \\ge` ``threshold``): bad policies let through. 0 when none is truly unsafe."""
    e, t = _pair(estimated, true)
    unsafe = t < threshold
    return float(((e >= threshold) & unsafe).sum() / unsafe.sum()) if unsafe.any() else 0.0


def sharpe_ratio_at_k(estimated: Any, true: Any, k: int, behavior_value: float) -> float:
    """SharpeRatio@k (Kiyohara et al. 2023, SCOPE-RL): the return of the top-k portfolio over the
    behaviour policy, per unit of its spread.

    .. math:: \\mathrm{SharpeRatio@}k = \\frac{\\mathrm{best@}k - V(\\pi_b)}{\\mathrm{std@}k},\\qquad
       \\mathrm{best@}k = \\max_{j \\in \\Pi_k} V_j,\\quad
       \\mathrm{std@}k = \\sqrt{\\tfrac1k \\sum_{j \\in \\Pi_k} (V_j - \\bar V_{\\Pi_k})^2}

    with :math:`\\Pi_k` the ``k`` candidates ranked highest by the estimates. SCOPE-RL includes the
    behaviour policy among the candidates (so the numerator is >= 0); pass it in ``estimated`` /
    ``true`` to do the same. ``std@k = 0`` (always for ``k = 1``) gives ``inf`` (``nan`` when the
    numerator is 0 too).

    References
    ----------
    H. Kiyohara, R. Kishimoto, K. Kawakami, K. Kobayashi, K. Nakata, Y. Saito. Towards Assessing and
    Benchmarking Risk-Return Tradeoff of Off-Policy Evaluation. ICLR 2024 (arXiv:2311.18207).
    """
    top = top_k_values(estimated, true, k)
    num = float(top.max() - float(behavior_value))
    sd = float(top.std())
    if sd == 0.0:
        return float("nan") if num == 0 else float(np.sign(num) * np.inf)
    return num / sd


def selection_report(
    estimates: Any,
    true: Any,
    *,
    k: int = 3,
    threshold: float | None = None,
    behavior_value: float | None = None,
) -> pd.DataFrame:
    """One row per estimator of the off-policy selection metrics.

    Parameters
    ----------
    estimates : mapping name -> array (n_policies,), or one array
        Each estimator's values of the candidate policies.
    true : array (n_policies,)
        True values.
    k : int
        Top-k size for regret@k, best/worst/mean/std@k and SharpeRatio@k.
    threshold : float, optional
        Safety threshold for the type I / II error rates (default: ``behavior_value`` if given).
    behavior_value : float, optional
        :math:`V(\\pi_b)` for SharpeRatio@k.

    Returns
    -------
    pandas.DataFrame
        Columns ``mse``, ``rank_correlation``, ``regret@k``, ``best@k``, ``worst@k``, ``mean@k``,
        ``std@k``, and when defined ``type_i_error``, ``type_ii_error``, ``sharpe_ratio@k``.
    """
    if not isinstance(estimates, dict):
        estimates = {"estimator": estimates}
    thr = behavior_value if threshold is None else threshold
    rows = []
    for name, est in estimates.items():
        e, t = _pair(est, true)
        top = top_k_values(e, t, k)
        row: dict[str, Any] = {"estimator": name, "mse": float(np.mean((e - t) ** 2)),
                               "rank_correlation": rank_correlation(e, t) if e.size >= 2 else float("nan"),
                               f"regret@{k}": regret_at_k(e, t, k), f"best@{k}": float(top.max()),
                               f"worst@{k}": float(top.min()), f"mean@{k}": float(top.mean()),
                               f"std@{k}": float(top.std())}
        if thr is not None:
            row["type_i_error"] = type_i_error_rate(e, t, thr)
            row["type_ii_error"] = type_ii_error_rate(e, t, thr)
        if behavior_value is not None:
            row[f"sharpe_ratio@{k}"] = sharpe_ratio_at_k(e, t, k, behavior_value)
        rows.append(row)
    return pd.DataFrame(rows).set_index("estimator")
