"""Counter-based random streams: the SplitMix64 mixer and uniforms keyed by (key, counter, draw).

``uniform(key, counter, k)`` is a pure function, so a stream's draws depend only on its key and
counter: never on the batch it is computed in, the order of rows or the thread count. The mixer is
SplitMix64's finaliser (Steele, Lea and Flood 2014); applied twice it passes BigCrush as a
counter-based generator. The numba versions (:func:`mix64`, :func:`uniform`) and the numpy versions
(:func:`mix64_np`, :func:`uniform_np`) agree bit for bit. This is the one place simrec spells the
mixer: the simulator's per-user streams, the environments' episode seeds and any reference that
must reproduce the simulator's draws use it.

Examples
--------
>>> import numpy as np
>>> u = uniform_np(np.uint64(7), np.uint64(0), np.arange(3))
>>> bool(((u > 0) & (u < 1)).all())
True
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["GOLDEN", "mix64", "mix64_np", "uniform", "uniform_np"]

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
#: 2**64 / golden ratio: SplitMix64's counter increment (Weyl sequence).
GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_K_STRIDE = np.uint64(0xD1B54A32D192ED03)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_INV53 = 1.0 / 9007199254740992.0  # 2**-53


@njit(cache=True, inline="always")
def mix64(z: np.uint64) -> np.uint64:
    """SplitMix64's finaliser of one 64-bit word (numba)."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(cache=True, inline="always")
def uniform(key: np.uint64, counter: np.uint64, k: np.uint64) -> float:
    """A float in (0, 1) for draw ``k`` of step ``counter`` of the stream ``key`` (numba)."""
    z = mix64(key ^ mix64(counter * GOLDEN + k * _K_STRIDE))
    return (np.float64(z >> _S11) + 0.5) * _INV53


def mix64_np(z: np.ndarray) -> np.ndarray:
    """numpy twin of :func:`mix64` (elementwise, uint64)."""
    z = np.asarray(z, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = (z ^ (z >> _S30)) * _M1
        z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


def uniform_np(key: np.ndarray, counter: np.ndarray, k: np.ndarray | int) -> np.ndarray:
    """numpy twin of :func:`uniform` (broadcasting over ``key``, ``counter`` and ``k``)."""
    key = np.asarray(key, dtype=np.uint64)
    counter = np.asarray(counter, dtype=np.uint64)
    k = np.asarray(k, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = mix64_np(key ^ mix64_np(counter * GOLDEN + k * _K_STRIDE))
    return ((z >> _S11).astype(np.float64) + 0.5) * _INV53
