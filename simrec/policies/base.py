"""The :class:`Policy` protocol and :class:`BasePolicy`, the shared machinery of simrec policies.

Every policy reports the probability of what it did: ``act`` returns the
actions *and* their propensities, and ``action_probs`` the whole distribution, so its logs are usable
for off-policy evaluation. How exact a propensity is, is stated by :attr:`BasePolicy.propensity_type`:

``"exact"``
    closed form (uniform, softmax, epsilon-greedy, Plackett-Luce, ...);
``"deterministic"``
    an argmax policy: probability 1 for the chosen action, or ``1/m`` when ``m`` actions tie for
    the maximum (ties are split uniformly at random and reported as such);
``"monte-carlo"``
    estimated by simulation (Thompson sampling): ``(1 + c) / (1 + M)`` where ``c`` of ``M`` fresh
    posterior draws pick the same action, the draw that was acted on counting as the first one.

Observations are validated at ``act``/``action_probs``: a 1-D observation is one row (the outputs are
then scalars / 1-D), a 2-D one a batch; the trailing size must be ``obs_dim`` when the policy
knows it. Wrong shapes or non-finite values raise :class:`~simrec.errors.InvalidObservationError`.

A catalog that grows is handled by :meth:`BasePolicy.grow`: new actions get their prior state.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

from .._validation import as_rng, check_int, first_bad
from ..errors import InvalidObservationError, InvalidPolicyInputError, NotSupportedError

__all__ = ["Policy", "BasePolicy", "sample_categorical", "argmax_ties", "PROPENSITY_TYPES"]

PROPENSITY_TYPES = ("exact", "deterministic", "monte-carlo")


@runtime_checkable
class Policy(Protocol):
    """What every simrec policy provides."""

    n_actions: int

    def action_probs(self, obs: Any) -> np.ndarray:
        """``(n, n_actions)`` probabilities, or per-slot marginals ``(n, n_actions, K)`` for slates."""
        ...

    def act(self, obs: Any, rng: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """Sampled actions and their propensities."""
        ...

    def update(self, obs: Any, actions: Any, rewards: Any, propensities: Any = None, **feedback: Any) -> None:
        """Learn from feedback (a no-op for fixed policies)."""
        ...


def sample_categorical(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One draw per row of ``probs`` (n, A) by inverse CDF (rows must sum to 1)."""
    cdf = np.cumsum(probs, axis=1)
    u = rng.random(probs.shape[0]) * cdf[:, -1]
    idx = (cdf <= u[:, None]).sum(axis=1)
    # guard against float round-off landing on a zero-probability action
    idx = np.minimum(idx, probs.shape[1] - 1)
    bad = probs[np.arange(probs.shape[0]), idx] <= 0
    if bad.any():
        idx[bad] = np.argmax(probs[bad], axis=1)
    return idx.astype(np.int64)


def argmax_ties(scores: np.ndarray, rng: np.random.Generator | None = None, rtol: float = 1e-12):
    """Row-wise argmax with ties split uniformly.

    Returns ``(action, n_ties)``: ``action`` is uniform among the entries within ``rtol`` of the
    row maximum (the first of them when ``rng`` is None) and ``n_ties`` their number, so the
    propensity of the choice is ``1 / n_ties``.
    """
    mx = scores.max(axis=1, keepdims=True)
    tie = scores >= mx - rtol * np.maximum(np.abs(mx), 1.0)
    n_ties = tie.sum(axis=1)
    if rng is None:
        return np.argmax(tie, axis=1).astype(np.int64), n_ties
    pick = np.floor(rng.random(scores.shape[0]) * n_ties).astype(np.int64)
    csum = np.cumsum(tie, axis=1)
    action = (csum <= pick[:, None]).sum(axis=1).astype(np.int64)
    return action, n_ties


def tie_probs(scores: np.ndarray, rtol: float = 1e-12) -> np.ndarray:
    """The argmax distribution of ``scores`` (n, A) with ties split uniformly."""
    mx = scores.max(axis=1, keepdims=True)
    tie = scores >= mx - rtol * np.maximum(np.abs(mx), 1.0)
    return tie / tie.sum(axis=1, keepdims=True)


class BasePolicy:
    """Base class: validation, sampling from :meth:`action_probs`, seeding, catalog growth.

    Subclasses implement :meth:`action_probs` (or override :meth:`act`) and, for learners,
    :meth:`update`.

    Parameters
    ----------
    n_actions : int
        Number of actions (items) currently available.
    obs_dim : int, optional
        Observation size; when given, ``act``/``action_probs`` reject other sizes.
    rng : int, numpy Generator or None
        Seed or generator of the policy's own randomness (used when ``act`` gets no ``rng``).
    """

    #: how exact the reported propensities are (see the module docstring)
    propensity_type: str = "exact"
    #: a short name used in logs and by :func:`simrec.policies.make_policy`
    name: str = "policy"
    #: True for policies whose output is a slate (actions of shape (n, K))
    is_slate: bool = False

    def __init__(self, n_actions: int, *, obs_dim: int | None = None,
                 rng: int | np.random.Generator | None = None) -> None:
        self.n_actions = check_int(n_actions, name="n_actions", minimum=1, error=InvalidPolicyInputError)
        self.obs_dim = None if obs_dim is None else check_int(
            obs_dim, name="obs_dim", minimum=1, error=InvalidPolicyInputError)
        self.rng = as_rng(rng)

    # ------------------------------------------------------------------ validation
    def _check_obs(self, obs: Any) -> tuple[np.ndarray, bool]:
        """Observations as a (n, d) float64 array, and whether a single (1-D) one was given."""
        try:
            X = np.asarray(obs, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InvalidObservationError(f"`obs` must be a numeric array; could not convert: {exc}") from None
        single = X.ndim == 1
        if single:
            X = X[None, :]
        if X.ndim != 2:
            want = f"({self.obs_dim},) or (n, {self.obs_dim})" if self.obs_dim else "1- or 2-dimensional"
            raise InvalidObservationError(f"`obs` must have shape {want}; got shape {np.shape(obs)}")
        if self.obs_dim is not None and X.shape[1] != self.obs_dim:
            raise InvalidObservationError(
                f"`obs` must have {self.obs_dim} features per row (shape ({self.obs_dim},) or "
                f"(n, {self.obs_dim})); got shape {np.shape(obs)}")
        if X.shape[0] == 0:
            raise InvalidObservationError("`obs` must hold at least one row; got an empty batch")
        bad = ~np.isfinite(X)
        if bad.any():
            raise InvalidObservationError(f"`obs` must be finite (no NaN or inf); {first_bad(bad, X)}")
        return X, single

    def _check_actions(self, actions: Any, n: int, name: str = "actions") -> np.ndarray:
        a = np.asarray(actions)
        if a.ndim == 0:
            a = a[None]
        if a.dtype.kind not in "iu":
            if a.dtype.kind == "f" and np.all(np.isfinite(a)) and np.all(a == np.round(a)):
                a = a.astype(np.int64)
            else:
                raise InvalidPolicyInputError(f"`{name}` must hold integer action ids; got dtype {a.dtype}")
        if a.shape[0] != n:
            raise InvalidPolicyInputError(f"`{name}` must have {n} rows (one per observation); got {a.shape[0]}")
        bad = (a < 0) | (a >= self.n_actions)
        if bad.any():
            raise InvalidPolicyInputError(
                f"`{name}` must lie in [0, {self.n_actions}) (n_actions={self.n_actions}); {first_bad(bad, a)}")
        return a.astype(np.int64)

    def _check_rewards(self, rewards: Any, n: int) -> np.ndarray:
        r = np.atleast_1d(np.asarray(rewards, dtype=np.float64))
        if r.shape != (n,):
            raise InvalidPolicyInputError(f"`rewards` must have shape ({n},); got {r.shape}")
        bad = ~np.isfinite(r)
        if bad.any():
            raise InvalidPolicyInputError(f"`rewards` must be finite; {first_bad(bad, r)}")
        return r

    def _rng(self, rng: Any) -> np.random.Generator:
        return self.rng if rng is None else as_rng(rng)

    # ------------------------------------------------------------------ the protocol
    def action_probs(self, obs: Any) -> np.ndarray:
        """Probability of every action given each observation, shape ``(n, n_actions)``.

        Raises :class:`~simrec.errors.NotSupportedError` when the policy has no closed form.
        """
        raise NotSupportedError(f"{type(self).__name__} cannot provide action probabilities")

    def act(self, obs: Any, rng: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """Sample one action per observation; returns ``(actions, propensities)``.

        Parameters
        ----------
        obs : array_like, shape (obs_dim,) or (n, obs_dim)
        rng : int, numpy Generator or None
            Randomness for this call (the policy's own generator when None).

        Returns
        -------
        actions : ndarray of int64, shape (n,) (a scalar for a 1-D ``obs``)
        propensities : ndarray of float64, shape (n,): the probability of each chosen action
        """
        X, single = self._check_obs(obs)
        p = self._probs(X)
        a = sample_categorical(p, self._rng(rng))
        prop = p[np.arange(len(a)), a]
        return self._out(a, prop, single)

    def update(self, obs: Any, actions: Any, rewards: Any, propensities: Any = None, **feedback: Any) -> None:
        """Learn from ``rewards`` of ``actions`` taken at ``obs`` (a no-op for fixed policies)."""
        X, _ = self._check_obs(obs)
        self._check_actions(actions, X.shape[0])
        self._check_rewards(rewards, X.shape[0])

    def grow(self, n_actions: int, item_features: np.ndarray | None = None) -> None:
        """Enlarge the action set to ``n_actions`` (new items of a growing catalog)."""
        n = check_int(n_actions, name="n_actions", minimum=1, error=InvalidPolicyInputError)
        if n < self.n_actions:
            raise InvalidPolicyInputError(f"`n_actions` can only grow; got {n} < {self.n_actions}")
        old = self.n_actions
        self.n_actions = n
        if n > old:
            self._grow(old, n, item_features)

    def _grow(self, old: int, new: int, item_features: np.ndarray | None) -> None:
        """Extend learned state from ``old`` to ``new`` actions (no state by default)."""

    # ------------------------------------------------------------------ helpers
    def _probs(self, X: np.ndarray) -> np.ndarray:
        """``action_probs`` on validated (n, d) observations."""
        return np.asarray(self.action_probs(X))

    @staticmethod
    def _out(a: np.ndarray, prop: np.ndarray, single: bool) -> tuple[Any, Any]:
        prop = np.asarray(prop, dtype=np.float64)
        if single:
            return a[0], float(prop[0])
        return a, prop

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n_actions={self.n_actions})"

