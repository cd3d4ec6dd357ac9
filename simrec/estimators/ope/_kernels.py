"""Numba kernels for bandit OPE: pure functions on arrays, no validation (that is the caller's job).

``reduce_rows`` makes one pass over the dense target distribution ``action_dist`` and
reward model ``q_hat``. Per row it computes the target probability of the logged action, the
model's value of the target policy ``q_pi = sum_a pi(a) q_hat(a)``, the model's prediction for the
logged action, and the row statistics needed to validate the inputs (row sum, row minimum, finiteness
of ``q_hat``), so validating and reducing cost a single read of the big arrays.

The floating-point flags allow re-association (vectorised reductions) but not "no NaN"/"no inf",
so non-finite values still propagate into the row statistics and are caught. Negative entries are
counted (a vectorisable reduction) rather than found by a running minimum (which is not).
"""

from __future__ import annotations

import numpy as np
from numba import njit

_FM = {"reassoc", "contract", "nsz", "arcp"}
SUM_TOL = 1e-6  # |sum_a pi(a|x) - 1| allowed per row


@njit(cache=True, fastmath=_FM, inline="always")
def _row_pi(p):
    s = 0.0
    neg = 0
    for j in range(p.shape[0]):
        v = p[j]
        s += v
        neg += v < 0.0
    return s, neg


@njit(cache=True, fastmath=_FM, inline="always")
def _row_pi_q(p, q):
    s = 0.0
    neg = 0
    qp = 0.0
    qs = 0.0
    for j in range(p.shape[0]):
        v = p[j]
        w = q[j]
        s += v
        neg += v < 0.0
        qp += v * w
        qs += w
    return s, neg, qp, qs


@njit(cache=True)
def _finite(x):
    # compiled without fast-math: under re-association LLVM may fold ``x - x`` (numba's isfinite)
    # to 0 and call every value finite
    return x == x and x != np.inf and x != -np.inf


@njit(cache=True)
def _bad_p(s, neg):
    # a NaN anywhere makes ``s`` NaN and fails the second test
    return neg > 0 or not (abs(s - 1.0) <= SUM_TOL)


@njit(cache=True, fastmath=_FM)
def reduce_rows(ad, q, action, position, unlogged):
    """One pass over ``ad`` and optional ``q``, both (n, K), or (n, K, L) read at slot ``position[i]``
    (``position`` is ignored for 2-D inputs; numba compiles each layout on its own).

    Returns ``pi_logged, q_pi, q_logged, unsupported_mass_sum, (first_bad_p, n_bad_p,
    first_bad_q, n_bad_q)``. ``q_pi``/``q_logged`` are zeros when ``q`` is None.
    """
    n = ad.shape[0]
    pi_log = np.empty(n)
    q_pi = np.zeros(n)
    q_log = np.zeros(n)
    first_p = -1
    n_p = 0
    first_q = -1
    n_q = 0
    unsup = 0.0
    for i in range(n):
        a = action[i]
        row = ad[i] if ad.ndim == 2 else ad[i, :, position[i]]
        if q is None:
            s, neg = _row_pi(row)
        else:
            qrow = q[i] if q.ndim == 2 else q[i, :, position[i]]
            s, neg, qp, qs = _row_pi_q(row, qrow)
            q_pi[i] = qp
            q_log[i] = qrow[a]
            if not _finite(qs):
                n_q += 1
                if first_q < 0:
                    first_q = i
        if _bad_p(s, neg):
            n_p += 1
            if first_p < 0:
                first_p = i
        pi_log[i] = row[a]
        for j in unlogged:
            unsup += row[j]
    return pi_log, q_pi, q_log, unsup, (first_p, n_p, first_q, n_q)


@njit(cache=True)
def range_violations(x, lo, hi):
    """Number of entries outside ``[lo, hi]`` (NaN included) and the first such index (-1: none)."""
    count = 0
    first = -1
    for i in range(x.shape[0]):
        v = x[i]
        if not (v >= lo and v <= hi):
            count += 1
            if first < 0:
                first = i
    return count, first


#: the empty weight statistics of :func:`_add_weight` (sum u, sum u^2, max |u|, max w, sum w, #(w == 0))
_NO_WEIGHTS = (0.0, 0.0, 0.0, -np.inf, 0.0, 0)


@njit(cache=True, fastmath=_FM, inline="always")
def _add_weight(st, u, w):
    """The weight statistics ``st`` with one more row: applied weight ``u``, raw weight ``w``.
    (A tuple of scalars, so the accumulators stay in registers.)"""
    s, s2, amax, rmax, rs, nz = st
    return s + u, s2 + u * u, max(amax, abs(u)), max(rmax, w), rs + w, nz + (w == 0.0)


@njit(cache=True, fastmath=_FM)
def weight_stats(w_raw, w_used):
    """``sum w_used, sum w_used**2, max |w_used|, max w_raw, sum w_raw, #(w_raw == 0)``."""
    st = _NO_WEIGHTS
    for i in range(w_used.shape[0]):
        st = _add_weight(st, w_used[i], w_raw[i])
    return st


# estimator kinds of ``weighted_terms``
IPS, DR, SWITCH_DR, DROS, SG_IPS, SNIPS, SNDR = 0, 1, 2, 3, 4, 5, 6


@njit(cache=True, fastmath=_FM, error_model="numpy")
def weighted_terms(pi, pscore, r, q_pi, q_log, kind, param):
    """Per-row contributions of the weighting estimators and their weight statistics, fused.

    ``w = pi / pscore``; ``param`` is clip (IPS, DR; ``inf`` for none), tau (SWITCH_DR) or lambda
    (DROS, SG_IPS). ``q_pi``/``q_log`` may be empty for kinds that do not use them. Returns
    ``c`` and ``(sum u, sum u^2, max |u|, max w, sum w, #(w == 0), #(w > param))`` where ``u`` is
    the weight the estimator applies.
    """
    n = pi.shape[0]
    c = np.empty(n)
    wbar = 1.0
    theta = 0.0
    if kind == SNIPS or kind == SNDR:
        sw = 0.0
        swr = 0.0
        for i in range(n):
            w = pi[i] / pscore[i]
            sw += w
            if kind == SNIPS:
                swr += w * r[i]
            else:
                swr += w * (r[i] - q_log[i])
        if sw > 0.0:  # otherwise the caller raises: the estimator is undefined
            wbar = sw / n
            theta = swr / sw
    st = _NO_WEIGHTS
    nover = 0
    for i in range(n):
        w = pi[i] / pscore[i]
        if kind == IPS:
            u = min(w, param)
            ci = u * r[i]
        elif kind == DR:
            u = min(w, param)
            ci = q_pi[i] + u * (r[i] - q_log[i])
        elif kind == SWITCH_DR:
            u = w if w <= param else 0.0
            ci = q_pi[i] + u * (r[i] - q_log[i])
        elif kind == DROS:  # lambda = inf: no shrinkage, the weight itself (DR)
            u = w if param == np.inf else param * w / (w * w + param)
            ci = q_pi[i] + u * (r[i] - q_log[i])
        elif kind == SG_IPS:
            u = w / (1.0 - param + param * w)
            ci = u * r[i]
        elif kind == SNIPS:
            u = w
            ci = theta + w * (r[i] - theta) / wbar
        else:
            u = w
            ci = q_pi[i] + theta + w * (r[i] - q_log[i] - theta) / wbar
        c[i] = ci
        st = _add_weight(st, u, w)
        nover += w > param
    return c, st + (nover,)
