"""``check_policy``: the conformance check of the :class:`~simrec.policies.Policy` protocol.

>>> import numpy as np
>>> from simrec.policies import Uniform
>>> report = check_policy(Uniform(5, obs_dim=3), np.zeros((4, 3)))
>>> report["propensity_type"]
'exact'
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from ..errors import InvalidObservationError, NotSupportedError

__all__ = ["check_policy", "PolicyCheckError"]


class PolicyCheckError(AssertionError):
    """A policy does not conform to the :class:`~simrec.policies.Policy` protocol."""


def _fail(policy: Any, msg: str) -> None:
    raise PolicyCheckError(f"{type(policy).__name__}: {msg}")


def _freq_ok(counts: np.ndarray, p: np.ndarray, n: int, p_var: np.ndarray | float = 0.0,
             z: float = 5.0) -> np.ndarray:
    """Entries where the empirical frequency is farther than z standard errors from p (``p_var``:
    the variance of ``p`` itself, per entry, when it is a Monte Carlo estimate)."""
    f = counts / n
    se = np.sqrt(np.maximum(p * (1 - p), 1.0 / n) / n + p_var)
    return np.abs(f - p) > z * se + 1e-9


def _mc_variance(p: np.ndarray, m: int) -> np.ndarray:
    """Variance of a Monte Carlo frequency from ``m`` draws, per entry (floored at 1/m^2 so that an
    estimate of 0 or 1 still has room for one draw)."""
    return np.maximum(p * (1 - p), 1.0 / m) / m


def _mc_samples(policy: Any) -> int:
    m = getattr(policy, "mc_samples", None)
    if not isinstance(m, (int, np.integer)) or m < 1:
        _fail(policy, f"a Monte Carlo policy must say how many draws its estimates use (`mc_samples`, a positive "
                      f"int); got {m!r}")
    return int(m)


def check_policy(policy: Any, obs: Any, *, n_samples: int = 2000, seed: int = 0) -> dict[str, Any]:
    """Check that ``policy`` follows the Policy protocol on the observations ``obs``.

    Checks, on deep copies (the policy itself is not changed):

    1. ``action_probs`` is a valid distribution: shape ``(n, n_actions)`` (or per-slot marginals
       ``(n, n_actions, K)`` for slate policies), finite, non-negative, each row (each slot) summing
       to one, and for slates no item in more than one slot (marginals over slots sum to at most 1).
    2. ``act`` returns actions in the action space (distinct items for a slate) and propensities in
       (0, 1]; for single-action policies the propensity equals ``action_probs`` of the chosen
       action (exact and deterministic policies to 1e-9; Monte Carlo ones, which must expose their
       number of draws ``mc_samples`` = M, within 5 standard errors of the difference of two
       M-draw estimates of that action's probability, ``sqrt(2 p (1 - p) / M)``, plus ``1/(M+1)``
       for add-one smoothing).
    3. Sampling: ``n_samples`` draws of ``act`` on the first observation have the frequencies
       ``action_probs`` predicts (per slot for slates), within 5 standard errors per action (for
       Monte Carlo ``action_probs`` the estimate's own variance ``p (1 - p) / M`` is added).
    4. Seeded determinism: the same ``rng`` seed gives the same actions and propensities.
    5. An observation of the wrong size raises :class:`~simrec.errors.InvalidObservationError`
       (when the policy knows its ``obs_dim``).

    Parameters
    ----------
    policy : Policy
    obs : array_like, shape (n, obs_dim)
        Observations to check on (a handful of rows is enough).
    n_samples : int
        Draws for the sampling test.
    seed : int

    Returns
    -------
    dict
        ``propensity_type``, ``max_freq_error`` (largest |frequency - probability| seen) and
        ``is_slate``.

    Raises
    ------
    PolicyCheckError
        Naming the policy and the broken property.
    """
    X = np.asarray(obs, dtype=np.float64)
    if X.ndim == 1:
        X = X[None, :]
    for attr in ("n_actions", "act", "action_probs", "update"):
        if not hasattr(policy, attr):
            _fail(policy, f"missing `{attr}` (see simrec.policies.Policy)")
    ptype = getattr(policy, "propensity_type", "exact")
    is_slate = bool(getattr(policy, "is_slate", False))
    A = int(policy.n_actions)
    n = X.shape[0]

    # 1. probabilities
    try:
        P = np.asarray(copy.deepcopy(policy).action_probs(X), dtype=np.float64)
    except NotSupportedError:
        P = None
    if P is not None:
        want = (n, A, int(policy.slate_size)) if is_slate else (n, A)
        if P.shape != want:
            _fail(policy, f"action_probs must have shape {want}; got {P.shape}")
        if not np.isfinite(P).all() or (P < -1e-12).any():
            _fail(policy, "action_probs must be finite and non-negative")
        sums = P.sum(axis=1)
        if not np.allclose(sums, 1.0, atol=1e-6):
            _fail(policy, f"action_probs must sum to 1 over actions (per slot); got sums in "
                          f"[{sums.min():.6g}, {sums.max():.6g}]")
        if is_slate and (P.sum(axis=2) > 1 + 1e-6).any():
            _fail(policy, "per-slot marginals of an item must sum to at most 1 over slots (no repeats)")

    # 2. act
    pol = copy.deepcopy(policy)
    a, prop = pol.act(X, np.random.default_rng(seed))
    a, prop = np.asarray(a), np.asarray(prop, dtype=np.float64)
    want_a = (n, int(policy.slate_size)) if is_slate else (n,)
    if a.shape != want_a or a.dtype.kind not in "iu":
        _fail(policy, f"act must return integer actions of shape {want_a}; got {a.dtype} {a.shape}")
    if (a < 0).any() or (a >= A).any():
        _fail(policy, f"act returned actions outside [0, {A})")
    if is_slate and (np.sort(a, axis=1)[:, 1:] == np.sort(a, axis=1)[:, :-1]).any():
        _fail(policy, "act returned a slate that repeats an item")
    if prop.shape != (n,) or not np.isfinite(prop).all() or (prop <= 0).any() or (prop > 1 + 1e-12).any():
        _fail(policy, f"propensities must be {n} numbers in (0, 1]; got {prop!r:.120}")
    if P is not None and not is_slate:
        p_chosen = P[np.arange(n), a]
        if ptype == "monte-carlo":  # two independent estimates from M draws each (act's add-one smoothed)
            m = _mc_samples(policy)
            tol = 5 * np.sqrt(2 * _mc_variance(0.5 * (p_chosen + prop), m)) + 1.0 / (m + 1)
        else:
            tol = np.full(n, 1e-9)
        off = np.flatnonzero(np.abs(p_chosen - prop) > tol)
        if off.size:
            i = int(off[0])
            _fail(policy, f"propensities do not match action_probs of the chosen actions in {off.size} of {n} rows; "
                          f"first row {i}: propensity {prop[i]:.6g}, action_probs {p_chosen[i]:.6g} "
                          f"(tolerance {tol[i]:.3g})")
    if is_slate and hasattr(policy, "slate_pscore") and ptype != "monte-carlo":
        ps = np.asarray(copy.deepcopy(policy).slate_pscore(X, a))
        if not np.allclose(ps, prop, rtol=1e-9, atol=0):
            _fail(policy, "act's slate propensities differ from slate_pscore of the same slates")

    # 3. sampling test on the first observation
    max_err = 0.0
    if P is not None:
        pol = copy.deepcopy(policy)
        Xs = np.repeat(X[:1], n_samples, axis=0)
        acts, _ = pol.act(Xs, np.random.default_rng(seed + 1))
        acts = np.asarray(acts)
        m = _mc_samples(policy) if ptype == "monte-carlo" else None
        slots = range(acts.shape[1]) if is_slate else [None]
        for k in slots:
            col = acts if k is None else acts[:, k]
            p = P[0] if k is None else P[0, :, k]
            counts = np.bincount(col, minlength=A)
            bad = _freq_ok(counts, p, n_samples, 0.0 if m is None else _mc_variance(p, m))
            max_err = max(max_err, float(np.max(np.abs(counts / n_samples - p))))
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                where = "" if k is None else f" in slot {k}"
                _fail(policy, f"sampling test failed: action {i}{where} drawn with frequency "
                              f"{counts[i] / n_samples:.4f} but action_probs says {p[i]:.4f} ({n_samples} draws)")

    # 4. seeded determinism, on at least 64 rows (on a few rows two unseeded draws agree by chance)
    Xd = X if n >= 64 else np.resize(X, (64,) + X.shape[1:])
    a1, p1 = copy.deepcopy(policy).act(Xd, np.random.default_rng(seed + 2))
    a2, p2 = copy.deepcopy(policy).act(Xd, np.random.default_rng(seed + 2))
    if not (np.array_equal(a1, a2) and np.allclose(p1, p2, rtol=0, atol=0)):
        _fail(policy, "act is not deterministic given the rng seed")

    # 5. bad observations
    obs_dim = getattr(policy, "obs_dim", None)
    if obs_dim is not None:
        bad_obs = np.zeros((n, obs_dim + 1))
        try:
            copy.deepcopy(policy).act(bad_obs)
        except InvalidObservationError:
            pass
        else:
            _fail(policy, f"act accepted observations with {obs_dim + 1} features (obs_dim={obs_dim})")
    return {"propensity_type": ptype, "max_freq_error": max_err, "is_slate": is_slate}
