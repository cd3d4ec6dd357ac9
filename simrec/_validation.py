"""``check_*`` helpers used at public boundaries (never inside kernels).

Each helper converts its input, checks it and raises an error that names the argument, what was
expected, what was seen and, for arrays, how many entries are bad and the first bad index and value.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import ConfigError, SimrecError

__all__ = [
    "check_positive",
    "check_nonnegative",
    "check_probability",
    "check_int",
    "check_array",
    "check_finite",
    "check_in_range",
    "as_rng",
    "first_bad",
]


def first_bad(mask: np.ndarray, values: np.ndarray) -> str:
    """Describe the entries flagged by ``mask``: their count, the first index and its value."""
    bad = np.flatnonzero(np.asarray(mask).ravel())
    if bad.size == 0:
        return ""
    idx = np.unravel_index(bad[0], np.shape(mask))
    where = idx[0] if len(idx) == 1 else tuple(int(i) for i in idx)
    val = np.asarray(values)[idx]
    noun = "value does" if bad.size == 1 else "values do"
    return f"{bad.size} {noun} not, first at index {where} (value {val!r})"


def check_positive(value: Any, *, name: str, error: type[SimrecError] = ConfigError,
                   allow_inf: bool = False) -> float:
    """Return ``value`` as a float, raising if it is not > 0 and finite (``inf`` allowed with ``allow_inf``)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise error(f"`{name}` must be a positive number; got {value!r}") from None
    if allow_inf and v == np.inf:
        return v
    if not np.isfinite(v) or v <= 0:
        what = "a positive number or inf" if allow_inf else "a positive finite number"
        raise error(f"`{name}` must be {what}; got {value!r}")
    return v


def check_nonnegative(value: Any, *, name: str, error: type[SimrecError] = ConfigError) -> float:
    """Return ``value`` as a float, raising if it is not finite and >= 0."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise error(f"`{name}` must be a non-negative number; got {value!r}") from None
    if not np.isfinite(v) or v < 0:
        raise error(f"`{name}` must be a non-negative finite number; got {value!r}")
    return v


def check_probability(
    value: Any, *, name: str, open_left: bool = False, error: type[SimrecError] = ConfigError
) -> float:
    """Return ``value`` as a float in [0, 1] (or (0, 1] with ``open_left``)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise error(f"`{name}` must be a probability; got {value!r}") from None
    lo_ok = v > 0 if open_left else v >= 0
    if not (np.isfinite(v) and lo_ok and v <= 1):
        interval = "(0, 1]" if open_left else "[0, 1]"
        raise error(f"`{name}` must lie in {interval}; got {value!r}")
    return v


def check_int(
    value: Any, *, name: str, minimum: int | None = None, error: type[SimrecError] = ConfigError
) -> int:
    """Return ``value`` as an int, raising if it is not integral or below ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise error(f"`{name}` must be an integer; got {type(value).__name__} {value!r}")
    v = int(value)
    if minimum is not None and v < minimum:
        raise error(f"`{name}` must be >= {minimum}; got {v}")
    return v


def check_array(
    value: Any,
    *,
    name: str,
    ndim: int | tuple[int, ...] | None = None,
    dtype: str = "float",
    shape: tuple[int | None, ...] | None = None,
    error: type[SimrecError] = SimrecError,
) -> np.ndarray:
    """Convert ``value`` to a contiguous array of kind ``dtype`` ("float" or "int") and check it.

    ``shape`` entries of ``None`` match any length. Floats are returned as float64, ints as int64;
    a float array with non-integral values given where ints are expected is an error, not a cast.
    """
    try:
        arr = np.asarray(value)
    except Exception as exc:  # noqa: BLE001 - any conversion failure is the caller's input
        raise error(f"`{name}` could not be read as an array: {exc}") from None
    if arr.dtype == object:  # e.g. a pandas object column: numbers are converted, anything else refused
        flat = arr.ravel()
        texts = np.fromiter((isinstance(v, (str, bytes)) for v in flat), dtype=bool, count=flat.size)
        if texts.any():
            i = int(np.flatnonzero(texts)[0])
            idx = np.unravel_index(i, arr.shape)
            where = int(idx[0]) if len(idx) == 1 else tuple(int(j) for j in idx)
            raise error(f"`{name}` must be numeric; {int(texts.sum())} value(s) are text, the first at index {where} "
                        f"(value {flat[i]!r})")
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise error(f"`{name}` must be a numeric array; got Python objects that are not numbers") from None
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else ndim
        if arr.ndim not in allowed:
            want = " or ".join(str(a) for a in allowed)
            raise error(f"`{name}` must be {want}-dimensional; got shape {arr.shape}")
    if shape is not None:
        if arr.ndim != len(shape) or any(s is not None and s != a for s, a in zip(shape, arr.shape)):
            want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
            raise error(f"`{name}` must have shape {want}; got {arr.shape}")
    if dtype == "int":
        if arr.dtype.kind in "iu":
            return np.ascontiguousarray(arr, dtype=np.int64)
        if arr.dtype.kind == "b":
            raise error(f"`{name}` must hold integers; got booleans")
        if arr.dtype.kind == "f":
            bad = ~np.isfinite(arr) | (arr != np.round(arr))
            if bad.any():
                raise error(f"`{name}` must hold integers; {first_bad(bad, arr)}")
            return np.ascontiguousarray(arr, dtype=np.int64)
        raise error(f"`{name}` must hold integers; got dtype {arr.dtype}")
    if arr.dtype.kind not in "biuf":
        raise error(f"`{name}` must be numeric; got dtype {arr.dtype}")
    return np.ascontiguousarray(arr, dtype=np.float64)


def check_finite(arr: np.ndarray, *, name: str, error: type[SimrecError] = SimrecError) -> np.ndarray:
    """Raise if ``arr`` holds NaN or infinite values."""
    bad = ~np.isfinite(arr)
    if bad.any():
        raise error(f"`{name}` must be finite (no NaN or inf); {first_bad(bad, arr)}")
    return arr


def check_in_range(
    arr: np.ndarray,
    *,
    name: str,
    low: float,
    high: float,
    low_open: bool = False,
    high_open: bool = False,
    error: type[SimrecError] = SimrecError,
) -> np.ndarray:
    """Raise if any entry of ``arr`` is outside the interval (bounds open or closed as given)."""
    too_low = arr <= low if low_open else arr < low
    too_high = arr >= high if high_open else arr > high
    bad = too_low | too_high | np.isnan(arr)
    if bad.any():
        lb = "(" if low_open else "["
        hb = ")" if high_open else "]"
        raise error(f"`{name}` must lie in {lb}{low}, {high}{hb}; {first_bad(bad, arr)}")
    return arr


def as_rng(rng: int | np.random.Generator | None) -> np.random.Generator:
    """Turn ``rng`` (a seed, a Generator or None) into a :class:`numpy.random.Generator`."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer)):
        return np.random.default_rng(rng)
    if isinstance(rng, np.random.SeedSequence):
        return np.random.default_rng(rng)
    raise TypeError(f"`rng` must be an int seed, a numpy Generator or None; got {type(rng).__name__}")
