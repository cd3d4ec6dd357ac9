"""numba kernel of Plackett-Luce slot marginals of logged slates (batched over rows).

``P(s_k in slot k | x)`` under Plackett-Luce: slot 0 is ``w[s_0]``; slot 1 has the closed form
``w_i (T - w_i / (1 - w_i))`` with ``T = sum_j w_j / (1 - w_j)``; later slots are Rao-Blackwellised
Monte Carlo: the mean, over ``M`` sampled prefixes, of the exact conditional probability of ``s_k``
given the first ``k`` items of the prefix. Prefixes are sampled exactly (without replacement): an
alias-table draw from all weights, kept when new, else an exact draw from the remaining mass. The
uniforms come from a counter-based stream per row, so results do not depend on the thread count.
Reference: ``tests/policies/test_slate_marginals.py``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..streams import uniform as stream_uniform


@njit(cache=True, inline="always")
def _alias(w, prob, alias, small, large):
    """Vose's alias table of ``w`` (sums to 1): a draw is ``i = floor(u A)``, kept when
    ``frac(u A) < prob[i]``, else ``alias[i]``."""
    A = w.shape[0]
    ns = 0
    nl = 0
    for i in range(A):
        prob[i] = w[i] * A
        if prob[i] < 1.0:
            small[ns] = i
            ns += 1
        else:
            large[nl] = i
            nl += 1
    while ns > 0 and nl > 0:
        ns -= 1
        s = small[ns]
        g = large[nl - 1]
        alias[s] = g
        prob[g] = prob[g] + prob[s] - 1.0
        if prob[g] < 1.0:
            nl -= 1
            small[ns] = g
            ns += 1
    for j in range(nl):
        prob[large[j]] = 1.0
    for j in range(ns):
        prob[small[j]] = 1.0


@njit(cache=True, inline="always")
def _in(prefix, k, a):
    for j in range(k):
        if prefix[j] == a:
            return True
    return False


@njit(cache=True, inline="always")
def _draw(w, prob, alias, u, v, prefix, k, used):
    """One item from the Plackett-Luce remainder given ``prefix[:k]`` (mass ``used``), exactly: an
    alias draw from all of ``w`` (uniform ``u``) is kept when new; otherwise a draw from the
    remaining mass (independent uniform ``v``). P(i) = w_i + used w_i / (1 - used) = w_i / (1 - used)."""
    A = w.shape[0]
    x = u * A
    i = min(int(x), A - 1)
    a = i if x - i < prob[i] else alias[i]
    if not _in(prefix, k, a):
        return a
    t = v * (1.0 - used)
    acc = 0.0
    last = -1
    for a in range(A):
        if _in(prefix, k, a) or w[a] <= 0.0:
            continue
        last = a
        acc += w[a]
        if acc >= t:
            return a
    return last


@njit(cache=True, parallel=True)
def pl_logged_marginals(w, slates, keys, M, out):
    """``out[b, k] = P(slates[b, k] in slot k)`` for normalised weights ``w`` (B, A), with ``M``
    prefix draws per row from the counter-based stream ``keys[b]`` (M = 0: slots >= 2 are zeros).
    Rows whose weights are all equal get the exact ``1 / A``."""
    B, A = w.shape
    K = slates.shape[1]
    for b in prange(B):
        wb = w[b]
        lo = wb[0]
        hi = wb[0]
        T = 0.0
        for j in range(A):
            T += wb[j] / max(1.0 - wb[j], 1e-300)
            lo = min(lo, wb[j])
            hi = max(hi, wb[j])
        if lo == hi:  # uniform: every slot's marginal is 1 / A
            for k in range(K):
                out[b, k] = 1.0 / A
            continue
        s0 = slates[b, 0]
        out[b, 0] = wb[s0]
        if K == 1:
            continue
        s1 = slates[b, 1]
        out[b, 1] = wb[s1] * (T - wb[s1] / max(1.0 - wb[s1], 1e-300))
        for k in range(2, K):
            out[b, k] = 0.0
        if K == 2 or M == 0:
            continue
        prob = np.empty(A)
        alias = np.empty(A, np.int64)
        small = np.empty(A, np.int64)
        large = np.empty(A, np.int64)
        _alias(wb, prob, alias, small, large)
        prefix = np.empty(K - 1, np.int64)
        key = keys[b]
        kk = np.uint64(K)
        for m in range(M):
            used = 0.0
            mm = np.uint64(m)
            for k in range(K - 1):
                u = stream_uniform(key, mm, np.uint64(k))
                v = stream_uniform(key, mm, np.uint64(k) + kk)
                it = _draw(wb, prob, alias, u, v, prefix, k, used)
                prefix[k] = it
                used += wb[it]
                if k >= 1:  # the logged item of slot k + 1, given prefix[: k + 1]
                    s = slates[b, k + 1]
                    if not _in(prefix, k + 1, s):
                        out[b, k + 1] += wb[s] / max(1.0 - used, 1e-300)
        for k in range(2, K):
            out[b, k] /= M
