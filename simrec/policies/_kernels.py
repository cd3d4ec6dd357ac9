"""numba kernels of the linear bandits (pure functions on arrays, no Python objects).

Per-arm statistics are ``Ainv[a]`` (the inverse design matrix, ``(d, d)``) and ``theta[a]``
(``Ainv[a] @ b[a]``). What is sequential (rank-one updates in row order) runs here; dense algebra
(the decisions) is left to numpy/BLAS. Each kernel has a numpy reference in
``tests/policies/test_kernels.py``.
"""

from __future__ import annotations

import numpy as np
from numba import njit


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
