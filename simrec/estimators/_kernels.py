"""Numba kernels shared by every estimator family: moments and the exact bootstrap.

Pure functions on arrays, no validation (that is the caller's job).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..streams import GOLDEN, mix64

_FM = {"reassoc", "contract", "nsz", "arcp"}


@njit(cache=True, fastmath=_FM)
def mean_var(c):
    """Mean and unbiased variance (two passes, so no cancellation)."""
    n = c.shape[0]
    s = 0.0
    for i in range(n):
        s += c[i]
    m = s / n
    ss = 0.0
    for i in range(n):
        d = c[i] - m
        ss += d * d
    return m, ss / (n - 1) if n > 1 else np.inf


@njit(cache=True, inline="always")
def _draw_index(state, n):
    """The next index in ``[0, n)`` of the SplitMix64 stream at ``state`` (Lemire's multiply-shift
    of the top 32 bits; ``n < 2**32``), and the advanced state."""
    state += GOLDEN
    z = mix64(state)
    return state, np.int64(((z >> np.uint64(32)) * n) >> np.uint64(32))


@njit(cache=True)
def bootstrap_ratio_exact(s, m, n_boot, seed):
    """``n_boot`` resamples of the ``G`` rows of ``s`` drawn with replacement, each giving
    ``sum(s[g]) / sum(m[g])`` over the drawn rows; O(n_boot * G).

    With cluster totals ``s`` and cluster sizes ``m`` this is the cluster bootstrap of a mean; with
    ``m=None`` every size is 1 and each draw is the plain mean of a resample (numba compiles that
    form on its own, without reading ``m``). Row indices come from a SplitMix64 stream started at
    ``seed`` (Lemire's multiply-shift maps the top 32 bits to ``[0, G)``; ``G < 2**32``).
    """
    g = s.shape[0]
    out = np.empty(n_boot)
    state = np.uint64(seed)
    gg = np.uint64(g)
    for b in range(n_boot):
        num = 0.0
        den = 0.0
        for _ in range(g):
            state, j = _draw_index(state, gg)
            num += s[j]
            if m is not None:
                den += m[j]
        out[b] = num / g if m is None else num / den
    return out


@njit(cache=True)
def bootstrap_means_exact(c, n_boot, seed):
    """Means of ``n_boot`` multinomial (with-replacement) resamples of ``c``: the bootstrap of
    :func:`bootstrap_ratio_exact` with unit sizes."""
    return bootstrap_ratio_exact(c, None, n_boot, seed)
