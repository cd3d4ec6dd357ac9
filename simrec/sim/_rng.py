"""Counter-based random numbers: one stream per (key, counter, draw index).

``uniform(key, counter, k)`` is a pure function, so a user's draws depend only on that user's key
and step counter: never on the batch it is stepped in, the order of users or the thread count.
The mixer is SplitMix64's finaliser applied twice (it passes BigCrush as a counter-based
generator). The numba and numpy versions agree bit for bit.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["mix64", "uniform", "uniform_np", "mix64_np", "make_keys", "episode_key"]

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_K_STRIDE = np.uint64(0xD1B54A32D192ED03)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_INV53 = 1.0 / 9007199254740992.0  # 2**-53


@njit(cache=True, inline="always")
def mix64(z: np.uint64) -> np.uint64:
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(cache=True, inline="always")
def uniform(key: np.uint64, counter: np.uint64, k: np.uint64) -> float:
    """A float in (0, 1) for draw ``k`` of step ``counter`` of the stream ``key``."""
    z = mix64(key ^ mix64(counter * _GOLDEN + k * _K_STRIDE))
    return (np.float64(z >> _S11) + 0.5) * _INV53


@njit(cache=True, inline="always")
def episode_key(seed: np.uint64, user: np.uint64, salt: np.uint64) -> np.uint64:
    """Scalar twin of :func:`make_keys` (for numba kernels)."""
    return mix64(mix64(seed * _GOLDEN + salt) ^ mix64(user + _K_STRIDE))


def mix64_np(z: np.ndarray) -> np.ndarray:
    z = np.asarray(z, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = (z ^ (z >> _S30)) * _M1
        z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


def uniform_np(key: np.ndarray, counter: np.ndarray, k: np.ndarray | int) -> np.ndarray:
    """numpy twin of :func:`uniform` (broadcasting)."""
    key = np.asarray(key, dtype=np.uint64)
    counter = np.asarray(counter, dtype=np.uint64)
    k = np.asarray(k, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = mix64_np(key ^ mix64_np(counter * _GOLDEN + k * _K_STRIDE))
    return ((z >> _S11).astype(np.float64) + 0.5) * _INV53


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
