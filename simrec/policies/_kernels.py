"""numba kernels of the linear bandits (pure functions on arrays, no Python objects).

Per-arm statistics are ``Ainv[a]`` (the inverse design matrix, ``(d, d)``) and ``theta[a]``
(``Ainv[a] @ b[a]``). Each kernel has a numpy reference in ``tests/policies/test_kernels.py``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange


@njit(cache=True, parallel=True, fastmath=True)
def linear_mean_width(X, Ainv, theta, mean, width):  # pragma: no cover - compiled
    """``mean[i, a] = theta[a] . x_i`` and ``width[i, a] = sqrt(x_i' Ainv[a] x_i)``."""
    n, d = X.shape
    A = Ainv.shape[0]
    for i in prange(n):
        x = X[i]
        for a in range(A):
            M = Ainv[a]
            m = 0.0
            q = 0.0
            for j in range(d):
                m += theta[a, j] * x[j]
                t = 0.0
                for k in range(d):
                    t += M[j, k] * x[k]
                q += x[j] * t
            mean[i, a] = m
            width[i, a] = math.sqrt(q) if q > 0.0 else 0.0


_BLOCK = 64


@njit(cache=True, parallel=True, fastmath=True)
def ucb_choose(X, Ainv, theta, alpha, u, rtol, action, n_ties):  # pragma: no cover - compiled
    """LinUCB decision without materialising all scores: argmax of ``mean + alpha * width`` per row.

    Users are processed in blocks so that each arm's ``Ainv[a]`` is read once per block. Ties (within
    ``rtol`` of the maximum) are split: the ``floor(u[i] * n_ties)``-th tied arm is chosen.
    """
    n, d = X.shape
    A = Ainv.shape[0]
    n_blocks = (n + _BLOCK - 1) // _BLOCK
    for blk in prange(n_blocks):
        lo = blk * _BLOCK
        hi = min(n, lo + _BLOCK)
        s = np.empty((hi - lo, A))
        for a in range(A):
            M = Ainv[a]
            th = theta[a]
            for i in range(lo, hi):
                x = X[i]
                m = 0.0
                q = 0.0
                for j in range(d):
                    m += th[j] * x[j]
                    t = 0.0
                    for k in range(d):
                        t += M[j, k] * x[k]
                    q += x[j] * t
                s[i - lo, a] = m + alpha * (math.sqrt(q) if q > 0.0 else 0.0)
        for i in range(lo, hi):
            row = s[i - lo]
            best = -np.inf
            for a in range(A):
                if row[a] > best:
                    best = row[a]
            thr = best - rtol * max(abs(best), 1.0)
            c = 0
            for a in range(A):
                if row[a] >= thr:
                    c += 1
            pick = int(u[i] * c)
            if pick >= c:
                pick = c - 1
            j = 0
            for a in range(A):
                if row[a] >= thr:
                    if j == pick:
                        action[i] = a
                        break
                    j += 1
            n_ties[i] = c


@njit(cache=True)
def sherman_morrison(Ainv, b, theta, actions, X, rewards):  # pragma: no cover - compiled
    """Rank-one updates, in row order: ``A[a] += x x'``, ``b[a] += r x``; then ``theta = Ainv b``."""
    n, d = X.shape
    u = np.empty(d)
    touched = np.zeros(Ainv.shape[0], dtype=np.bool_)
    for i in range(n):
        a = actions[i]
        x = X[i]
        M = Ainv[a]
        den = 1.0
        for j in range(d):
            t = 0.0
            for k in range(d):
                t += M[j, k] * x[k]
            u[j] = t
            den += x[j] * t
        for j in range(d):
            uj = u[j] / den
            for k in range(d):
                M[j, k] -= uj * u[k]
        for j in range(d):
            b[a, j] += rewards[i] * x[j]
        touched[a] = True
    for a in range(Ainv.shape[0]):
        if touched[a]:
            for j in range(d):
                t = 0.0
                for k in range(d):
                    t += Ainv[a, j, k] * b[a, k]
                theta[a, j] = t
