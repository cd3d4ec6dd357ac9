"""Numba kernels for slate OPE: one fused pass per estimator over the (n, K) per-slot arrays.

Each kernel reads the slot rewards ``r`` and the target / logging probabilities of the logged slate
once, and returns the per-slate contributions together with per-slot weight statistics
``(sum w, sum w^2, max w, sum w r)``, the number of zero weights and a count of target probabilities outside
``[0, 1]`` (and, for prefix probabilities, of increases along the slots). Counting rather than
branching keeps the loops vectorisable; the public methods raise (and locate the first bad row) when
a count is non-zero. Non-finite inputs propagate into the contributions, which the caller checks.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_FM = {"reassoc", "contract", "nsz", "arcp"}
#: relative slack allowed when checking that prefix probabilities do not increase along the slots
PREFIX_RTOL = 1e-6
N_STATS = 4  # sum w, sum w^2, max w, sum w r


@njit(cache=True, fastmath=_FM, error_model="numpy")
def row_sums(r2):
    """``sum_k r_ik`` per row (flat indexing lets LLVM vectorise the short rows; kept in its own
    function, where it compiles to a loop at memory speed)."""
    n, K = r2.shape
    r = r2.ravel()
    c = np.empty(n)
    for i in range(n):
        tot = 0.0
        base = i * K
        for k in range(K):
            tot += r[base + k]
        c[i] = tot
    return c


@njit(cache=True, fastmath=_FM, error_model="numpy")
def _joint_weights(c, pi, p):
    s = 0.0
    s2 = 0.0
    mx = -np.inf
    nz = 0
    swr = 0.0
    nbad = 0
    for i in range(c.shape[0]):
        v = pi[i]
        nbad += (v < 0.0) | (v > 1.0)
        w = v / p[i]
        x = w * c[i]
        c[i] = x
        s += w
        s2 += w * w
        mx = max(mx, w)
        nz += w == 0.0
        swr += x
    st = np.empty((1, N_STATS))
    st[0, 0] = s
    st[0, 1] = s2
    st[0, 2] = mx
    st[0, 3] = swr
    return st, nz, nbad


def joint_terms(r, pi, p):
    """Standard slate IPS: ``c_i = (pi_i / p_i) * sum_k r_ik``; stats of the one slate weight.

    Returns ``c, stats (1, 4), #zero weights, #bad pi, 0``.
    """
    c = row_sums(r)
    st, nz, nbad = _joint_weights(c, pi, p)
    return c, st, nz, nbad, 0


@njit(cache=True)
def _pack(s, s2, mx, swr):
    """Per-slot statistics as a (K, N_STATS) array: sum w, sum w^2, max w, sum w r."""
    st = np.empty((s.shape[0], N_STATS))
    st[:, 0] = s
    st[:, 1] = s2
    st[:, 2] = mx
    st[:, 3] = swr
    return st


@njit(cache=True, fastmath=_FM, error_model="numpy")
def slot_terms(r2, pi2, p2, prefix, ql2=None, qp2=None):
    """Per-slot weights ``w_ik = pi_ik / p_ik`` and the contributions built on them.

    Per-slot IPS (IIPS with marginals, RIPS with prefix probabilities): ``c_i = sum_k w_ik r_ik``.
    Cascade-DR, when the model arrays ``ql2`` (``q_log``) and ``qp2`` (``q_pi``) are given:
    ``c_i = sum_k w_ik (r_ik - q_log_ik) + w_i,k-1 q_pi_ik`` with ``w_i,-1 = 1``. numba compiles
    each form on its own (the ``is None`` tests are resolved at compile time), so the per-slot IPS
    loop carries no model terms. With ``prefix=True`` it also counts rows whose target prefix
    probability increases along the slots (impossible for probabilities of nested events).

    Returns ``c, stats (K, 4), #zero weights, #bad pi, #increases``.
    """
    n, K = r2.shape
    r = r2.ravel()
    pi = pi2.ravel()
    p = p2.ravel()
    if ql2 is not None:
        q_log = ql2.ravel()
        q_pi = qp2.ravel()
    c = np.empty(n)
    s, s2, mx, swr = np.zeros(K), np.zeros(K), np.full(K, -np.inf), np.zeros(K)  # per-slot weight stats
    nz = 0
    nbad = 0
    ninc = 0
    slack = 1.0 + PREFIX_RTOL
    for i in range(n):
        acc = 0.0
        w_prev = 1.0
        base = i * K
        for k in range(K):
            j = base + k
            v = pi[j]
            nbad += (v < 0.0) | (v > 1.0)
            if prefix and k > 0:  # compared with the row's previous slot (no loop-carried state)
                ninc += v > pi[j - 1] * slack
            w = v / p[j]
            x = w * r[j]
            if ql2 is None:
                acc += x
            else:
                acc += w * (r[j] - q_log[j]) + w_prev * q_pi[j]
                w_prev = w
            nz += w == 0.0
            s[k] += w
            s2[k] += w * w
            mx[k] = max(mx[k], w)
            swr[k] += x
        c[i] = acc
    return c, _pack(s, s2, mx, swr), nz, nbad, ninc


@njit(cache=True, fastmath=_FM, error_model="numpy")
def pi_product_terms(r2, pi2, p2):
    """Pseudo-inverse weights under product logging: ``w_i = sum_k pi_ik / p_ik - (K - 1)``;
    returns ``c_i = w_i sum_k r_ik`` and the weights themselves."""
    n, K = r2.shape
    r = r2.ravel()
    pi = pi2.ravel()
    p = p2.ravel()
    c = np.empty(n)
    w = np.empty(n)
    nbad = 0
    for i in range(n):
        ws = 0.0
        tot = 0.0
        for k in range(K):
            j = i * K + k
            v = pi[j]
            nbad += (v < 0.0) | (v > 1.0)
            ws += v / p[j]
            tot += r[j]
        wi = ws - (K - 1)
        w[i] = wi
        c[i] = wi * tot
    return c, w, nbad


@njit(cache=True, fastmath=_FM, error_model="numpy")
def sn_slot_contributions(r, pi, p, value, mean_w):
    """Influence values of per-slot self-normalised IPS:
    ``c_i = sum_k V_k + w_ik (r_ik - V_k) / mean_w_k`` (their mean is ``sum_k V_k``)."""
    n, K = r.shape
    c = np.empty(n)
    base = 0.0
    for k in range(K):
        base += value[k]
    for i in range(n):
        acc = base
        for k in range(K):
            acc += pi[i, k] / p[i, k] * (r[i, k] - value[k]) / mean_w[k]
        c[i] = acc
    return c
