"""Team-draft interleaving and its per-user preference test.

Team draft (Radlinski, Kurup & Joachims 2008): two rankers A and B build one list; at each pick the
team with fewer picks so far (a fair coin when tied) adds its highest-ranked item not yet in the list,
and the item is credited to that team. A click on an item is a vote for its team.

Per-user credit: user ``u`` prefers A when A's items got more clicks than B's over all the user's
impressions (``wins``), B when fewer, a tie otherwise; users without clicks carry no information.
The preference statistic is

.. math::

    \\Delta_{AB} = \\frac{\\#\\text{wins}_A + \\tfrac12 \\#\\text{ties}}{\\#\\text{wins}_A + \\#\\text{wins}_B
    + \\#\\text{ties}} - \\frac12

(Chapelle, Joachims, Radlinski & Yue 2012), with a normal interval over users and a two-sided sign
(binomial) test on the non-tied users.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit
from scipy import stats

from ..._validation import as_rng, check_int
from ...errors import InvalidLogError
from ..estimate import Estimate

__all__ = ["team_draft", "interleaving_credit", "analyze_interleaving"]


@njit(cache=True, inline="always")
def _next_new(rank, r, i, out_items, pos):  # pragma: no cover - compiled
    """The next item of ``rank[r]`` from index ``i`` that is not yet in ``out_items[r, :pos]``, and
    the index after it (-1 when the ranking is exhausted; each ranking has its own width)."""
    while i < rank.shape[1]:
        cand = rank[r, i]
        i += 1
        dup = False
        for j in range(pos):
            if out_items[r, j] == cand:
                dup = True
                break
        if not dup:
            return cand, i
    return -1, i


@njit(cache=True)
def _team_draft_kernel(rank_a, rank_b, k, coins, out_items, out_team):  # pragma: no cover - compiled
    n = rank_a.shape[0]
    for r in range(n):
        ia = 0
        ib = 0
        na = 0
        nb = 0
        pos = 0
        while pos < k:
            a_turn = na < nb or (na == nb and coins[r, pos])
            item = -1
            for attempt in range(2):
                use_a = a_turn if attempt == 0 else not a_turn
                if use_a:
                    item, ia = _next_new(rank_a, r, ia, out_items, pos)
                else:
                    item, ib = _next_new(rank_b, r, ib, out_items, pos)
                if item >= 0:
                    out_items[r, pos] = item
                    out_team[r, pos] = 0 if use_a else 1
                    if use_a:
                        na += 1
                    else:
                        nb += 1
                    break
            if item < 0:  # both rankings exhausted
                for j in range(pos, k):
                    out_items[r, j] = -1
                    out_team[r, j] = -1
                break
            pos += 1


def team_draft(ranking_a: Any, ranking_b: Any, k: int | None = None, *,
               rng: int | np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Interleave two rankings per row by team draft.

    Parameters
    ----------
    ranking_a, ranking_b : array_like (n, La) and (n, Lb) of int
        Each row: item ids best first (non-negative, no repeats within a row); the two rankings may
        have different widths.
    k : int, optional
        Length of the interleaved list (default ``max(La, Lb)``).
    rng : int, Generator or None
        The coins that decide who picks first when the teams are level.

    Returns
    -------
    items : ndarray (n, k) of int64
        The interleaved lists (``-1`` pads when both rankings run out).
    team : ndarray (n, k) of int8
        ``0`` where A contributed the item, ``1`` where B did (``-1`` padding).

    Examples
    --------
    >>> items, team = team_draft([[1, 2, 3, 4]], [[4, 3, 2, 1]], 4, rng=0)
    >>> sorted(items[0].tolist()), int((team == 0).sum()), int((team == 1).sum())
    ([1, 2, 3, 4], 2, 2)
    """
    a = np.atleast_2d(np.asarray(ranking_a))
    b = np.atleast_2d(np.asarray(ranking_b))
    for nm, arr in (("ranking_a", a), ("ranking_b", b)):
        if arr.dtype.kind not in "iu" or arr.ndim != 2:
            raise InvalidLogError(f"`{nm}` must be a 2-D integer array (rows x ranked items); got {arr.dtype} "
                                  f"{arr.shape}")
        if arr.size and arr.min() < 0:
            raise InvalidLogError(f"`{nm}` must hold non-negative item ids; got {int(arr.min())}")
    if a.shape[0] != b.shape[0]:
        raise InvalidLogError(f"`ranking_a` and `ranking_b` must have the same rows; got {a.shape[0]} and {b.shape[0]}")
    L = max(a.shape[1], b.shape[1])
    kk = L if k is None else check_int(k, name="k", minimum=1)
    n = a.shape[0]
    coins = as_rng(rng).random((n, kk)) < 0.5
    items = np.empty((n, kk), np.int64)
    team = np.empty((n, kk), np.int8)
    _team_draft_kernel(np.ascontiguousarray(a, np.int64), np.ascontiguousarray(b, np.int64), kk, coins, items, team)
    return items, team


def interleaving_credit(team: Any, clicks: Any, user: Any = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Clicks credited to A and to B per user: ``(users, clicks_a, clicks_b)``.

    ``team`` (n, k) from :func:`team_draft`; ``clicks`` (n, k) 0/1 (or counts, watch time) per
    position; ``user`` (n,) groups impressions of one user (default: each row its own user).
    """
    tm = np.asarray(team)
    c = np.asarray(clicks, dtype=np.float64)
    if tm.shape != c.shape or tm.ndim != 2:
        raise InvalidLogError(f"`clicks` must have the shape of `team` {tm.shape}; got {c.shape}")
    if not np.isfinite(c).all() or (c < 0).any():
        raise InvalidLogError("`clicks` must be finite and non-negative")
    ca = (c * (tm == 0)).sum(1)
    cb = (c * (tm == 1)).sum(1)
    if user is None:
        return np.arange(tm.shape[0]), ca, cb
    u = np.asarray(user)
    if u.shape != (tm.shape[0],):
        raise InvalidLogError(f"`user` must have one id per row ({tm.shape[0]}); got shape {u.shape}")
    ids, inv = np.unique(u, return_inverse=True)
    return ids, np.bincount(inv, ca, ids.size), np.bincount(inv, cb, ids.size)


def analyze_interleaving(team: Any, clicks: Any, user: Any = None, *, alpha: float = 0.05,
                         name: str = "interleaving") -> Estimate:
    """The preference :math:`\\Delta_{AB}` (> 0: users prefer A) with a normal interval over users.

    Returns
    -------
    Estimate
        Contributions are the per-engaged-user scores :math:`\\tfrac12\\,\\mathrm{sign}(c_A - c_B)`;
        ``diagnostics`` hold ``wins_a``, ``wins_b``, ``ties``, ``n_users`` (all users) and
        ``sign_test_p_value``.
    """
    _, ca, cb = interleaving_credit(team, clicks, user)
    engaged = (ca + cb) > 0
    score = 0.5 * np.sign(ca - cb)[engaged]
    wa, wb = int((score > 0).sum()), int((score < 0).sum())
    ties = int(score.size - wa - wb)
    if score.size < 2:
        raise InvalidLogError(f"interleaving needs at least 2 users with clicks; got {score.size}")
    p = float(stats.binomtest(wa, wa + wb, 0.5).pvalue) if wa + wb > 0 else 1.0
    return Estimate.from_contributions(score, name=name, alpha=alpha, diagnostics={
        "wins_a": wa, "wins_b": wb, "ties": ties, "n_users": int(ca.size), "sign_test_p_value": p})
