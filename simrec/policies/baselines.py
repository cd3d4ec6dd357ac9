"""Baseline policies: uniform random, popularity, softmax over scores, epsilon-mixture, oracle.

All report exact propensities (the oracle and greedy popularity are argmax policies: probability 1
for the chosen action, ties split uniformly).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._validation import check_positive, check_probability, first_bad
from ..errors import InvalidObservationError, InvalidPolicyInputError, NotSupportedError
from .base import BasePolicy, argmax_ties, tie_probs

__all__ = ["Uniform", "Popularity", "Softmax", "EpsilonMixture", "Oracle", "softmax"]


def softmax(scores: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row-wise softmax of ``scores / temperature`` (numerically stable)."""
    z = scores / temperature
    z = z - z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


class Uniform(BasePolicy):
    """Uniformly random actions: :math:`\\pi(a \\mid x) = 1 / |A|`.

    Examples
    --------
    >>> pi = Uniform(4, rng=0)
    >>> a, p = pi.act([[0.0], [1.0]])
    >>> p.tolist()
    [0.25, 0.25]
    """

    name = "uniform"

    def action_probs(self, obs: Any) -> np.ndarray:
        X, _ = self._check_obs(obs)
        return np.full((X.shape[0], self.n_actions), 1.0 / self.n_actions)

    def act(self, obs: Any, rng: Any = None) -> tuple[np.ndarray, np.ndarray]:
        X, single = self._check_obs(obs)
        a = self._rng(rng).integers(0, self.n_actions, size=X.shape[0]).astype(np.int64)
        return self._out(a, np.full(X.shape[0], 1.0 / self.n_actions), single)


class Popularity(BasePolicy):
    """Recommend by popularity: the (smoothed) number of positive rewards of each item.

    ``mode="greedy"`` always shows the most popular item (ties split uniformly);
    ``mode="proportional"`` samples items with probability proportional to ``counts + prior``.

    Parameters
    ----------
    n_actions : int
    counts : array_like, shape (n_actions,), optional
        Initial popularity (e.g. from a log: ``np.bincount(log.action, log.reward)``).
    mode : {"greedy", "proportional"}
    prior : float
        Pseudo-count added to every item (keeps proportional probabilities positive).
    """

    name = "popularity"

    def __init__(self, n_actions: int, *, counts: Any = None, mode: str = "greedy", prior: float = 1.0,
                 obs_dim: int | None = None, rng: int | np.random.Generator | None = None) -> None:
        super().__init__(n_actions, obs_dim=obs_dim, rng=rng)
        if mode not in ("greedy", "proportional"):
            raise InvalidPolicyInputError(f"`mode` must be 'greedy' or 'proportional'; got {mode!r}")
        self.mode = mode
        self.prior = check_positive(prior, name="prior", error=InvalidPolicyInputError)
        self.propensity_type = "deterministic" if mode == "greedy" else "exact"
        c = np.zeros(self.n_actions) if counts is None else np.asarray(counts, dtype=np.float64).copy()
        if c.shape != (self.n_actions,) or (c < 0).any() or not np.isfinite(c).all():
            raise InvalidPolicyInputError(f"`counts` must be {self.n_actions} non-negative numbers; got {c!r:.80}")
        self.counts_ = c

    def _dist(self) -> np.ndarray:
        c = self.counts_ + self.prior
        if self.mode == "greedy":
            return tie_probs(c[None, :])[0]
        return c / c.sum()

    def action_probs(self, obs: Any) -> np.ndarray:
        X, _ = self._check_obs(obs)
        return np.broadcast_to(self._dist(), (X.shape[0], self.n_actions)).copy()

    def update(self, obs: Any, actions: Any, rewards: Any, propensities: Any = None, **feedback: Any) -> None:
        X, _ = self._check_obs(obs)
        a = self._check_actions(actions, X.shape[0])
        r = self._check_rewards(rewards, X.shape[0])
        np.add.at(self.counts_, a, np.maximum(r, 0.0))

    def _grow(self, old: int, new: int, item_features: Any) -> None:
        self.counts_ = np.concatenate([self.counts_, np.zeros(new - old)])


def _call_scores(fn: Callable[[np.ndarray], np.ndarray], X: np.ndarray, n_actions: int, who: str) -> np.ndarray:
    s = np.asarray(fn(X), dtype=np.float64)
    if s.ndim == 1 and s.shape[0] >= n_actions:
        s = np.broadcast_to(s, (X.shape[0], s.shape[0]))
    if s.ndim == 2 and s.shape[0] == X.shape[0] and s.shape[1] > n_actions:
        s = s[:, :n_actions]  # scores of items not released yet (a growing catalog) are ignored
    if s.shape != (X.shape[0], n_actions):
        raise InvalidPolicyInputError(
            f"{who}: the score function must return shape ({X.shape[0]}, {n_actions}); got {s.shape}")
    bad = np.isnan(s) | (s == np.inf)
    if bad.any():
        raise InvalidPolicyInputError(f"{who}: scores must not be NaN or +inf; {first_bad(bad, s)}")
    return s


def as_score_fn(scores: Any, n_actions: int) -> Callable[[np.ndarray], np.ndarray]:
    """A score function from a policy with a ``score`` method (e.g. ``make_policy("softmax", env,
    scores="oracle")``), a callable ``f(obs) -> (n, n_actions)``, a fixed ``(n_actions,)`` vector or
    a linear map ``(obs_dim, n_actions)`` (``obs @ W``)."""
    if callable(getattr(scores, "score", None)):
        pol = scores
        return lambda X: np.asarray(pol.score(X), dtype=np.float64)
    if callable(scores):
        return scores
    W = np.asarray(scores, dtype=np.float64)
    if W.ndim == 1:
        return lambda X: W[:n_actions]
    if W.ndim == 2:
        return lambda X: X @ W
    raise InvalidPolicyInputError(f"`scores` must be a callable, a (n_actions,) vector or a matrix; got {W.shape}")


class Softmax(BasePolicy):
    """Softmax (Boltzmann) policy over any score function.

    .. math:: \\pi(a \\mid x) = \\frac{\\exp(s(x, a) / \\tau)}{\\sum_b \\exp(s(x, b) / \\tau)}

    Parameters
    ----------
    n_actions : int
    scores : callable, array
        ``f(obs (n, d)) -> (n, n_actions)``, a fixed vector of ``n_actions`` scores, or a
        ``(obs_dim, n_actions)`` matrix ``W`` (scores ``obs @ W``). ``-inf`` masks an action.
    temperature : float
        :math:`\\tau > 0`; small values approach the argmax, large ones uniform.

    References
    ----------
    Sutton, R. S. and Barto, A. G. (2018). *Reinforcement Learning: An Introduction*, 2nd ed., §2.8.
    """

    name = "softmax"

    def __init__(self, n_actions: int, scores: Any, *, temperature: float = 1.0, obs_dim: int | None = None,
                 rng: int | np.random.Generator | None = None) -> None:
        super().__init__(n_actions, obs_dim=obs_dim, rng=rng)
        self.scores = scores
        self._fn = as_score_fn(scores, self.n_actions)
        self.temperature = check_positive(temperature, name="temperature", error=InvalidPolicyInputError)

    def score(self, obs: Any) -> np.ndarray:
        """The raw scores ``s(x, a)``, shape (n, n_actions)."""
        X, _ = self._check_obs(obs)
        return _call_scores(self._fn, X, self.n_actions, type(self).__name__)

    def action_probs(self, obs: Any) -> np.ndarray:
        s = self.score(obs)
        if np.isneginf(s).all(axis=1).any():
            raise InvalidPolicyInputError("Softmax: every action of some row is masked (-inf)")
        return softmax(s, self.temperature)


class EpsilonMixture(BasePolicy):
    """Mix any policy with uniform: :math:`(1 - \\epsilon)\\, \\pi(a \\mid x) + \\epsilon / |A|`.

    Needs the base policy's exact probabilities (raises
    :class:`~simrec.errors.NotSupportedError` otherwise).
    """

    name = "epsilon-mixture"

    def __init__(self, policy: BasePolicy, epsilon: float = 0.1, *,
                 rng: int | np.random.Generator | None = None) -> None:
        if getattr(policy, "is_slate", False):
            raise InvalidPolicyInputError("EpsilonMixture mixes single-action policies, not slate policies")
        super().__init__(policy.n_actions, obs_dim=getattr(policy, "obs_dim", None), rng=rng)
        self.policy = policy
        self.epsilon = check_probability(epsilon, name="epsilon", error=InvalidPolicyInputError)
        base_type = getattr(policy, "propensity_type", "exact")
        if base_type == "monte-carlo":
            raise NotSupportedError("EpsilonMixture needs exact base probabilities; "
                                    f"{type(policy).__name__} only estimates them by Monte Carlo")
        self.propensity_type = "exact"

    def action_probs(self, obs: Any) -> np.ndarray:
        X, _ = self._check_obs(obs)
        self.n_actions = self.policy.n_actions
        p = np.asarray(self.policy.action_probs(X), dtype=np.float64)
        return (1.0 - self.epsilon) * p + self.epsilon / self.n_actions

    def update(self, obs: Any, actions: Any, rewards: Any, propensities: Any = None, **feedback: Any) -> None:
        self.policy.update(obs, actions, rewards, propensities, **feedback)

    def grow(self, n_actions: int, item_features: np.ndarray | None = None) -> None:
        self.policy.grow(n_actions, item_features)
        self.n_actions = self.policy.n_actions


class Oracle(BasePolicy):
    """Greedy on the simulator's *exact* expected reward (a reference, not a realistic policy).

    Parameters
    ----------
    n_actions : int
    expected_reward : callable
        ``f(obs (n, d)) -> (n, n_actions)`` exact expected rewards; :meth:`from_env` builds it from
        a simrec environment (``Bandit-v0``: the user is identified by their features; slate
        environments: the current state of the env's user batch).
    """

    name = "oracle"
    propensity_type = "deterministic"

    def __init__(self, n_actions: int, expected_reward: Callable[[np.ndarray], np.ndarray], *,
                 obs_dim: int | None = None, rng: int | np.random.Generator | None = None) -> None:
        super().__init__(n_actions, obs_dim=obs_dim, rng=rng)
        if not callable(expected_reward):
            raise InvalidPolicyInputError("`expected_reward` must be a callable obs -> (n, n_actions)")
        self.expected_reward = expected_reward

    @classmethod
    def from_env(cls, env: Any, **kwargs: Any) -> Oracle:
        """The oracle of a simrec environment (single or vector), through its truth interface.

        On ``Bandit-v0`` (static users) it scores any observation of the population's users (rows
        are matched to users by :meth:`~simrec.envs.truth.Truth.users_of`); on the other envs it
        scores the env's current rows, so ``obs`` must be the env's latest observation batch.
        """
        from .envtools import env_spaces, env_truth

        truth = env_truth(env)
        if truth is None:
            raise InvalidPolicyInputError("Oracle.from_env needs a simrec env (with `env.unwrapped.truth`)")
        obs_dim, n_actions, _ = env_spaces(env)
        off = truth.action_offset

        def fn(X: np.ndarray) -> np.ndarray:
            if truth.kind == "bandit":
                R = truth.expected_reward_matrix()[truth.users_of(X)]
            else:
                R = truth.expected_rewards_now()
                if R.shape[0] != X.shape[0]:
                    raise InvalidObservationError(
                        f"Oracle: expected one observation per env row ({R.shape[0]}); got {X.shape[0]}")
            out = np.full((X.shape[0], n_actions), -np.inf)
            m = min(n_actions - off, R.shape[1])
            out[:, off:off + m] = R[:, :m]
            return out

        return cls(n_actions, fn, obs_dim=obs_dim, **kwargs)

    def score(self, obs: Any) -> np.ndarray:
        """Exact expected rewards (n, n_actions)."""
        X, _ = self._check_obs(obs)
        return _call_scores(self.expected_reward, X, self.n_actions, "Oracle")

    def action_probs(self, obs: Any) -> np.ndarray:
        return tie_probs(self.score(obs))

    def act(self, obs: Any, rng: Any = None) -> tuple[np.ndarray, np.ndarray]:
        _, single = self._check_obs(obs)
        a, ties = argmax_ties(self.score(obs), self._rng(rng))
        return self._out(a, 1.0 / ties, single)

