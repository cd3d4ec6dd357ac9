"""The simulator's per-user streams: keys from (seed, user), normals, on the counter-based
uniforms of :mod:`simrec.streams` (which holds the SplitMix64 mixer).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..streams import _K_STRIDE, mix64, mix64_np, uniform, uniform_np
from ..streams import GOLDEN as _GOLDEN

__all__ = ["mix64", "uniform", "uniform_np", "mix64_np", "make_keys", "episode_key", "normal_np"]


@njit(cache=True, inline="always")
def episode_key(seed: np.uint64, user: np.uint64, salt: np.uint64) -> np.uint64:
    """Scalar twin of :func:`make_keys` (for numba kernels)."""
    return mix64(mix64(seed * _GOLDEN + salt) ^ mix64(user + _K_STRIDE))


def make_keys(seed: int | np.ndarray, ids: np.ndarray, salt: int = 0) -> np.ndarray:
    """Stream keys for ``ids`` under ``seed`` (scalar or one per id) and a ``salt`` naming the use."""
    seed = np.asarray(seed, dtype=np.int64).astype(np.uint64)
    ids = np.asarray(ids, dtype=np.int64).astype(np.uint64)
    with np.errstate(over="ignore"):
        return mix64_np(mix64_np(seed * _GOLDEN + np.uint64(salt)) ^ mix64_np(ids + _K_STRIDE))


def normal_np(key: np.ndarray, counter: int, n: int) -> np.ndarray:
    """``n`` standard normals per key (Box-Muller on pairs of counter-based uniforms)."""
    key = np.asarray(key, dtype=np.uint64)[:, None]
    m = (n + 1) // 2
    k = np.arange(2 * m, dtype=np.uint64)[None, :]
    u = uniform_np(key, np.uint64(counter), k)
    u1, u2 = u[:, 0::2], u[:, 1::2]
    r = np.sqrt(-2.0 * np.log(u1))
    z = np.concatenate([r * np.cos(2 * np.pi * u2), r * np.sin(2 * np.pi * u2)], axis=1)
    return z[:, :n]
