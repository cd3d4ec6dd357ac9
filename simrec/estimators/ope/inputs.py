"""Estimator inputs: validation of dense ``action_dist`` / ``q_hat`` and the reduced form.

Every bandit estimator needs, per logged row ``i``, at most three numbers:

* ``pi_logged[i] = pi(a_i | x_i, slot_i)``, the target probability of the logged action;
* ``q_pi[i] = sum_a pi(a | x_i, slot_i) q_hat(x_i, a, slot_i)``, the reward model's value of the
  target policy;
* ``q_logged[i] = q_hat(x_i, a_i, slot_i)``.

:class:`ReducedInputs` holds exactly these, so a log of 1,000,000 rows x 1,000 actions costs 24 MB
instead of two 8 GB dense arrays. :func:`reduce_inputs` derives them from dense arrays in one fused
pass that also validates every entry; :meth:`ReducedInputs.from_chunks` does the same from
functions producing dense blocks of rows, so dense inputs never have to exist in full.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..._validation import check_array, check_finite, check_in_range, check_int
from ...data import BanditLog
from ...errors import InvalidLogError
from . import _kernels

__all__ = ["ReducedInputs", "reduce_inputs", "as_reduced"]

_E = InvalidLogError


@dataclass(frozen=True, eq=False)
class ReducedInputs:
    """Per-row summaries of a target policy (and reward model) on a log.

    Parameters
    ----------
    pi_logged : array_like, shape (n,)
        Target probability of the logged action (in [0, 1]).
    q_pi : array_like, shape (n,), optional
        :math:`\\sum_a \\pi(a|x_i) \\hat q(x_i, a)`; needed by DM and the DR family.
    q_logged : array_like, shape (n,), optional
        :math:`\\hat q(x_i, a_i)`; needed by the DR family.
    unsupported_mass : float, optional
        Mean target mass on actions never logged, if known (diagnostic only).

    Examples
    --------
    >>> from simrec.estimators import ope
    >>> log = ope.BanditLog(action=[0, 1], reward=[1.0, 0.0], pscore=[0.5, 0.5])
    >>> ope.IPS().estimate(log, ope.ReducedInputs(pi_logged=[1.0, 0.0])).value  # doctest: +SKIP
    1.0
    """

    pi_logged: np.ndarray
    q_pi: np.ndarray | None = None
    q_logged: np.ndarray | None = None
    unsupported_mass: float | None = None

    def __post_init__(self) -> None:
        pi = check_array(self.pi_logged, name="pi_logged", ndim=1, error=_E)
        if _kernels.range_violations(pi, 0.0, 1.0)[0]:
            check_in_range(pi, name="pi_logged", low=0.0, high=1.0, error=_E)
        object.__setattr__(self, "pi_logged", pi)
        for f in ("q_pi", "q_logged"):
            v = getattr(self, f)
            if v is not None:
                arr = check_array(v, name=f, ndim=1, shape=(pi.shape[0],), error=_E)
                if _kernels.range_violations(arr, -np.inf, np.inf)[0]:
                    check_finite(arr, name=f, error=_E)
                object.__setattr__(self, f, arr)
        if (self.q_pi is None) != (self.q_logged is None):
            raise _E("`q_pi` and `q_logged` must be given together (both come from one reward model)")

    def __len__(self) -> int:
        return int(self.pi_logged.shape[0])

    @classmethod
    def _trusted(cls, pi_logged: np.ndarray, q_pi: np.ndarray | None, q_logged: np.ndarray | None,
                 unsupported_mass: float | None) -> ReducedInputs:
        """Build from arrays already validated (kernel output) without re-checking them."""
        obj = object.__new__(cls)
        for k, v in (("pi_logged", pi_logged), ("q_pi", q_pi), ("q_logged", q_logged),
                     ("unsupported_mass", unsupported_mass)):
            object.__setattr__(obj, k, v)
        return obj

    @property
    def has_q(self) -> bool:
        """Whether reward-model summaries are present."""
        return self.q_pi is not None

    @classmethod
    def from_chunks(
        cls,
        log: BanditLog,
        action_dist: Callable[[int, int], Any],
        q_hat: Callable[[int, int], Any] | None = None,
        *,
        chunk_size: int = 65_536,
    ) -> ReducedInputs:
        """Reduce block by block: ``action_dist(start, stop)`` (and ``q_hat``) return the dense rows
        ``start:stop``, each validated as in :func:`reduce_inputs`. Peak memory is one block."""
        chunk_size = check_int(chunk_size, name="chunk_size", minimum=1, error=_E)
        n = len(log)
        parts: list[ReducedInputs] = []
        unsup = 0.0
        unlogged = _unlogged(log)
        for start in range(0, n, chunk_size):
            stop = min(n, start + chunk_size)
            sub = log[start:stop]
            ad = action_dist(start, stop)
            qh = None if q_hat is None else q_hat(start, stop)
            r = reduce_inputs(sub, ad, qh, _unlogged_actions=unlogged, _row_offset=start)
            unsup += (r.unsupported_mass or 0.0) * (stop - start)
            parts.append(r)

        def cat(f: str) -> np.ndarray | None:
            return None if getattr(parts[0], f) is None else np.concatenate([getattr(p, f) for p in parts])

        return cls(pi_logged=cat("pi_logged"), q_pi=cat("q_pi"), q_logged=cat("q_logged"),
                   unsupported_mass=unsup / n)


def _unlogged(log: BanditLog) -> np.ndarray:
    return np.flatnonzero(np.bincount(log.action, minlength=log.n_actions) == 0).astype(np.int64)


def _dense(value: Any, name: str) -> np.ndarray:
    arr = value if isinstance(value, np.ndarray) else np.asarray(value)
    if arr.dtype.kind != "f":
        arr = check_array(arr, name=name, error=_E)
    if arr.ndim not in (2, 3):
        raise _E(f"`{name}` must have shape (n, n_actions) or (n, n_actions, n_slots); got {arr.shape}")
    return np.ascontiguousarray(arr)


def _describe_bad_dist(row: np.ndarray, i: int) -> str:
    neg = np.flatnonzero(~(row >= 0))
    if neg.size:
        j = int(neg[0])
        return (f"`action_dist` must hold probabilities (non-negative, finite, rows summing to 1); "
                f"row {i} has entry {j} = {row[j]!r}")
    return (f"`action_dist` rows must sum to 1 (tolerance {_kernels.SUM_TOL:g}); row {i} sums to "
            f"{float(row.sum())!r}")


def reduce_inputs(
    log: BanditLog,
    action_dist: Any,
    q_hat: Any = None,
    *,
    _unlogged_actions: np.ndarray | None = None,
    _row_offset: int = 0,
) -> ReducedInputs:
    """Validate dense inputs and reduce them in one fused pass (see the module docstring).

    Parameters
    ----------
    log : BanditLog
    action_dist : array_like, shape (n, n_actions) or (n, n_actions, n_slots)
        Target policy; with 3 dimensions, row ``i`` uses slot ``log.position[i]``.
    q_hat : array_like, same shape as ``action_dist``, optional
        Reward model predictions.

    Raises
    ------
    InvalidLogError
        Misaligned shapes, negative/NaN/non-normalised probabilities, non-finite ``q_hat``; the
        message names the first bad row and entry.
    """
    if not isinstance(log, BanditLog):
        raise _E(f"`log` must be a BanditLog; got {type(log).__name__}")
    n, k = len(log), log.n_actions
    ad = _dense(action_dist, "action_dist")
    if ad.shape[0] != n or ad.shape[1] != k:
        raise _E(f"`action_dist` must have shape ({n}, {k}{', n_slots' if ad.ndim == 3 else ''}) "
                 f"for a log of {n} rows and {k} actions; got {ad.shape}")
    if ad.ndim == 3 and log.position is None:
        raise _E("`action_dist` has a slot axis (n, n_actions, n_slots) but `log.position` is None")
    qh = None
    if q_hat is not None:
        qh = _dense(q_hat, "q_hat")
        if qh.shape != ad.shape:
            raise _E(f"`q_hat` must have the shape of `action_dist` {ad.shape}; got {qh.shape}")
        if qh.dtype != ad.dtype:
            qh = qh.astype(ad.dtype)
    unlogged = _unlogged(log) if _unlogged_actions is None else _unlogged_actions
    if ad.ndim == 2:
        out = _kernels.reduce_rows(ad, qh, log.action, log.action, unlogged)  # position unused in 2-D
    else:
        n_slots = ad.shape[2]
        if int(log.position.max()) >= n_slots:
            bad = log.position >= n_slots
            i = int(np.flatnonzero(bad)[0])
            raise _E(f"`log.position` must be < n_slots={n_slots} of `action_dist`; "
                     f"{int(bad.sum())} rows are not, first at row {i} (value {int(log.position[i])})")
        out = _kernels.reduce_rows(ad, qh, log.action, log.position, unlogged)
    pi_log, q_pi, q_log, unsup, (first_p, n_p, first_q, n_q) = out
    if n_p:
        row = ad[first_p] if ad.ndim == 2 else ad[first_p, :, log.position[first_p]]
        raise _E(_describe_bad_dist(row, first_p + _row_offset) + f" ({n_p} bad rows in all)")
    if n_q:
        row = qh[first_q] if qh.ndim == 2 else qh[first_q, :, log.position[first_q]]
        bad = np.flatnonzero(~np.isfinite(row))
        if bad.size:
            j = int(bad[0])
            raise _E(f"`q_hat` must be finite (no NaN or inf); {n_q} rows are not, first at row "
                     f"{first_q + _row_offset}, action {j} (value {row[j]!r})")
    return ReducedInputs._trusted(pi_log, None if qh is None else q_pi, None if qh is None else q_log,
                                  unsup / n)


def as_reduced(
    log: BanditLog,
    action_dist: Any,
    q_hat: Any,
    *,
    need_q: bool,
    pi_logged: Any = None,
    q_pi: Any = None,
    q_logged: Any = None,
    estimator: str = "estimator",
) -> ReducedInputs:
    """Normalise the accepted input forms (dense, :class:`ReducedInputs`, or keywords) to reduced."""
    if pi_logged is not None:
        if action_dist is not None:
            raise _E("give either `action_dist` or `pi_logged` (the reduced form), not both")
        action_dist = ReducedInputs(pi_logged=pi_logged, q_pi=q_pi, q_logged=q_logged)
    if action_dist is None:
        raise _E(f"{estimator} needs `action_dist` (dense or ReducedInputs) or `pi_logged`")
    if isinstance(action_dist, ReducedInputs):
        red = action_dist
        if len(red) != len(log):
            raise _E(f"the reduced inputs have {len(red)} rows but the log has {len(log)}")
    else:
        red = reduce_inputs(log, action_dist, q_hat if need_q else None)
    if need_q and not red.has_q:
        raise _E(f"{estimator} needs a reward model: pass `q_hat` (dense) or `q_pi` and `q_logged`")
    return red
