"""Inputs of the slate estimators: the reduced form, and its derivation from dense per-slot arrays.

Every slate estimator needs only what concerns the *logged* slate ``s_i = (s_i1, ..., s_iK)``:

================  ========  ===============================================================
name              shape     meaning (target policy :math:`\\pi`, context :math:`x_i`)
================  ========  ===============================================================
``pi_slate``      (n,)      :math:`\\pi(s_i | x_i)`, the probability of the whole ordered slate
``pi_marginal``   (n, K)    :math:`\\pi(s_{ik} \\text{ in slot } k | x_i)`, per-slot marginals
``pi_cascade``    (n, K)    :math:`\\pi(s_{i1}, \\dots, s_{ik} | x_i)`, prefix probabilities
``q_logged``      (n, K)    :math:`\\hat Q_k(x_i, s_{i1..k})`, the model of the logged prefix
``q_pi``          (n, K)    :math:`\\sum_a \\pi(a | x_i, s_{i,<k}) \\hat Q_k(x_i, s_{i,<k}, a)`
================  ========  ===============================================================

so a catalogue of 1,000 items never needs a dense ``(n, n_items, K)`` array. For small catalogues
the dense forms are accepted too, in the layout of simrec's slate policies' ``action_probs``
(``(n, n_items, K)``, slot last):

* ``slot_dist[i, a, k]`` = :math:`\\pi(a \\text{ in slot } k | x_i)` (each slot sums to 1 over
  items) gives ``pi_marginal``;
* ``cascade_dist[i, a, k]`` = :math:`\\pi(a | x_i, s_{i,<k})`, the target's law of slot ``k`` given
  the *logged* items above it (each slot sums to 1), gives ``pi_cascade`` (the running product of
  the logged items' conditional probabilities) and, with a dense ``q_hat[i, a, k]``, ``q_logged``
  and ``q_pi``.

The logging side comes from the :class:`~simrec.data.SlateLog`: ``pscore`` (whole slate),
``pscore_marginal`` (per slot) and ``pscore_cascade`` (prefixes).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._validation import check_array
from ...data import SlateLog
from ...errors import ConfigError, InvalidLogError

__all__ = ["slot_array", "gather_slots", "cascade_inputs", "slate_moment", "pseudo_inverse_weights",
           "check_target_probability", "SUM_TOL"]

#: allowed deviation of a dense per-slot distribution's sum from 1
SUM_TOL = 1e-6


def slot_array(value: Any, name: str, n: int, K: int | None, estimator: str) -> np.ndarray:
    """``value`` as a contiguous float64 array of shape (n, K) (or (n,) when ``K`` is None)."""
    if value is None:
        raise ConfigError(f"{estimator} needs `{name}`")
    arr = check_array(value, name=name, error=InvalidLogError)
    shape = (n,) if K is None else (n, K)
    if arr.shape != shape:
        raise InvalidLogError(f"`{name}` must have shape {shape} (one {'value' if K is None else 'row of K slots'}"
                              f" per logged slate); got {arr.shape}")
    return arr


def _first(mask: np.ndarray, values: np.ndarray) -> str:
    rows = mask.reshape(mask.shape[0], -1).any(axis=1)
    i = int(np.flatnonzero(rows)[0])
    return f"{int(rows.sum())} rows do not, first at row {i} (value {np.atleast_1d(values[i]).tolist()})"


def check_target_probability(arr: np.ndarray, name: str, *, prefix: bool = False) -> None:
    """Raise :class:`InvalidLogError` naming the first row where ``arr`` is not a probability (or, for
    prefix probabilities, increases along the slots). Called only when a kernel counted a problem,
    or for inputs that no kernel reads."""
    bad = ~((arr >= 0.0) & (arr <= 1.0))
    if bad.any():
        raise InvalidLogError(f"`{name}` must hold probabilities in [0, 1]; {_first(bad, arr)}")
    if prefix and arr.ndim == 2:
        inc = np.zeros(arr.shape, dtype=bool)
        inc[:, 1:] = arr[:, 1:] > arr[:, :-1] * (1.0 + 1e-6)
        if inc.any():
            raise InvalidLogError(f"`{name}` (prefix probabilities) must be non-increasing along the slots; "
                                  f"{_first(inc, arr)}")


def _dense(value: Any, name: str, log: SlateLog) -> np.ndarray:
    n, K = log.slate.shape
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim != 3 or arr.shape[0] != n or arr.shape[2] != K or arr.shape[1] < log.n_items:
        raise InvalidLogError(f"`{name}` must have shape (n, n_items, K) = ({n}, {log.n_items}, {K}) (slot "
                              f"last, as slate policies' action_probs); got {arr.shape}")
    return arr


def _check_dist(arr: np.ndarray, name: str, what: str) -> None:
    bad = ~(arr >= 0.0)
    if bad.any():
        i, a, k = (int(v) for v in np.argwhere(bad)[0])
        raise InvalidLogError(f"`{name}` must be non-negative; first bad entry at row {i}, item {a}, slot {k} "
                              f"(value {arr[i, a, k]!r})")
    sums = arr.sum(axis=1)
    off = ~(np.abs(sums - 1.0) <= SUM_TOL)
    if off.any():
        i, k = (int(v) for v in np.argwhere(off)[0])
        raise InvalidLogError(f"`{name}[i, :, k]` ({what}) must sum to 1 over items; {int(off.sum())} (row, slot) "
                              f"pairs do not, first at row {i}, slot {k} (sum {sums[i, k]!r})")


def gather_slots(value: Any, name: str, log: SlateLog, what: str = "the target's law of slot k") -> np.ndarray:
    """Validate a dense ``(n, n_items, K)`` per-slot distribution and return its entries at the logged
    slate, shape (n, K)."""
    arr = _dense(value, name, log)
    _check_dist(arr, name, what)
    n, K = log.slate.shape
    return np.ascontiguousarray(arr[np.arange(n)[:, None], log.slate, np.arange(K)[None, :]])


def cascade_inputs(cascade_dist: Any, log: SlateLog, q_hat: Any = None) -> dict[str, np.ndarray]:
    """Reduced Cascade-DR / RIPS inputs from the target's conditional per-slot laws.

    Parameters
    ----------
    cascade_dist : array_like, shape (n, n_items, K)
        ``cascade_dist[i, a, k]`` = :math:`\\pi(a | x_i, s_{i,<k})`, given the logged items above.
    log : SlateLog
    q_hat : array_like, shape (n, n_items, K), optional
        :math:`\\hat Q_k(x_i, s_{i,<k}, a)`, the model of the expected reward of slots ``k..K``.

    Returns
    -------
    dict
        ``pi_cascade`` (running product of the logged items' conditional probabilities) and, with
        ``q_hat``, ``q_logged`` and ``q_pi``.
    """
    cond = gather_slots(cascade_dist, "cascade_dist", log, "the target's law of slot k given the logged prefix")
    out = {"pi_cascade": np.cumprod(cond, axis=1)}
    if q_hat is not None:
        q = _dense(q_hat, "q_hat", log)
        if not np.isfinite(q).all():
            i, a, k = (int(v) for v in np.argwhere(~np.isfinite(q))[0])
            raise InvalidLogError(f"`q_hat` must be finite; first bad entry at row {i}, item {a}, slot {k}")
        n, K = log.slate.shape
        dist = np.asarray(cascade_dist, dtype=np.float64)
        out["q_logged"] = np.ascontiguousarray(q[np.arange(n)[:, None], log.slate, np.arange(K)[None, :]])
        out["q_pi"] = np.ascontiguousarray(np.einsum("iak,iak->ik", dist[:, : q.shape[1]], q[:, : dist.shape[1]]))
    return out


def slate_moment(slates: Any, probs: Any, n_items: int) -> np.ndarray:
    """The logging policy's second-moment matrix :math:`\\Gamma = E_\\mu[\\mathbb 1_s \\mathbb 1_s^\\top]`.

    ``1_s`` is the (K * n_items) indicator of the (slot, item) pairs of slate ``s`` (index
    ``k * n_items + a``). For a logging policy whose slates can be enumerated (``slates`` (S, K) with
    probabilities ``probs`` (S,)); Swaminathan et al. (2017), eq. (3).
    """
    s = np.asarray(slates, dtype=np.int64)
    p = np.asarray(probs, dtype=np.float64)
    if s.ndim != 2 or p.shape != (s.shape[0],):
        raise ConfigError(f"`slates` (S, K) and `probs` (S,) must match; got {s.shape} and {p.shape}")
    if (p < 0).any() or abs(p.sum() - 1.0) > SUM_TOL:
        raise ConfigError(f"`probs` must be a probability distribution over the slates (sum {p.sum()!r})")
    K = s.shape[1]
    ind = np.zeros((s.shape[0], K * n_items))
    ind[np.arange(s.shape[0])[:, None], np.arange(K)[None, :] * n_items + s] = 1.0
    return (ind * p[:, None]).T @ ind


def pseudo_inverse_weights(slot_dist: Any, log: SlateLog, logging_moment: Any) -> np.ndarray:
    """General pseudo-inverse weights :math:`w_i = \\theta_\\pi(x_i)^\\top \\Gamma_\\mu(x_i)^\\dagger
    \\mathbb 1_{s_i}` (Swaminathan et al. 2017).

    ``slot_dist`` is the target's dense per-slot marginals (n, n_items, K); ``logging_moment`` the
    logging policy's :func:`slate_moment`, one (K m, K m) matrix for all rows (context-free logging)
    or one per row (n, K m, K m). Meant for small catalogues (the pseudo-inverse is dense).
    """
    n, K = log.slate.shape
    m = log.n_items
    theta = _dense(slot_dist, "slot_dist", log)[:, :m]
    _check_dist(theta, "slot_dist", "the target's law of slot k")
    G = np.asarray(logging_moment, dtype=np.float64)
    if G.shape not in ((K * m, K * m), (n, K * m, K * m)):
        raise InvalidLogError(f"`logging_moment` must have shape ({K * m}, {K * m}) or ({n}, {K * m}, {K * m}) "
                              f"(K * n_items (slot, item) pairs, index k * n_items + item); got {G.shape}")
    if not np.isfinite(G).all():
        raise InvalidLogError("`logging_moment` must be finite")
    th = np.ascontiguousarray(theta.transpose(0, 2, 1)).reshape(n, K * m)  # index k * m + a
    idx = np.arange(K)[None, :] * m + log.slate
    if G.ndim == 2:
        v = th @ np.linalg.pinv(G, hermitian=True)
    else:
        v = np.einsum("ij,ijl->il", th, np.linalg.pinv(G, hermitian=True))
    return np.take_along_axis(v, idx, axis=1).sum(axis=1)
