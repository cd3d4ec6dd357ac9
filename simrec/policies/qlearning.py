"""Value-based RL: tabular Q-learning, linear Q-learning, and SlateQ for slate environments.

All act epsilon-greedily on their Q-values, so propensities are exact:
``(1 - eps) 1[a greedy] / n_ties + eps / |A|`` (for SlateQ: the greedy slate with probability
``1 - eps``, a uniformly random slate otherwise). Learning is online through ``update`` with
``next_obs`` and ``terminated`` (as passed by :func:`simrec.policies.run_online`); ``reward_fn``
shapes the reward the learner sees (:mod:`simrec.policies.shaping`).

References
----------
Watkins, C. J. C. H. and Dayan, P. (1992). Q-learning. *Machine Learning* 8, 279-292.
Ie, E., Jain, V., Wang, J., Narvekar, S., Agarwal, R., Wu, R., Cheng, H.-T., Chandra, T. and
Boutilier, C. (2019). SlateQ: a tractable decomposition for reinforcement learning with recommendation
sets. *IJCAI*, 2592-2599.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._validation import check_int, check_nonnegative, check_positive, check_probability
from ..errors import InvalidObservationError, InvalidPolicyInputError
from .base import BasePolicy, argmax_ties, tie_probs
from .shaping import RewardFn, shape

__all__ = ["QLearning", "LinearQ", "SlateQ", "ObsTable"]

_E = InvalidPolicyInputError


class ObsTable:
    """Tabular state ids for a small world: each distinct observation (rounded) gets the next id."""

    def __init__(self, n_states: int, decimals: int = 5, obs_slice: slice | None = None) -> None:
        self.n_states = n_states
        self.decimals = decimals
        self.obs_slice = obs_slice
        self.ids: dict[bytes, int] = {}

    def __call__(self, X: np.ndarray) -> np.ndarray:
        Z = np.round(X if self.obs_slice is None else X[:, self.obs_slice], self.decimals)
        out = np.empty(X.shape[0], dtype=np.int64)
        for i, row in enumerate(Z):
            key = row.tobytes()
            s = self.ids.get(key)
            if s is None:
                if len(self.ids) >= self.n_states:
                    raise InvalidObservationError(
                        f"ObsTable: more than n_states={self.n_states} distinct observations; "
                        "the world is too large for tabular Q-learning (use LinearQ)")
                s = self.ids[key] = len(self.ids)
            out[i] = s
        return out


class _EpsGreedyQ(BasePolicy):
    """Epsilon-greedy over ``q_values(X)`` (n, A)."""

    def q_values(self, obs: Any) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    score = q_values

    def action_probs(self, obs: Any) -> np.ndarray:
        X, _ = self._check_obs(obs)
        return (1.0 - self.epsilon) * tie_probs(self.q_values(X)) + self.epsilon / self.n_actions

    def act(self, obs: Any, rng: Any = None) -> tuple[np.ndarray, np.ndarray]:
        X, single = self._check_obs(obs)
        g = self._rng(rng)
        Q = self.q_values(X)
        a, ties = argmax_ties(Q, g)
        explore = g.random(X.shape[0]) < self.epsilon
        a = np.where(explore, g.integers(0, self.n_actions, X.shape[0]), a)
        greedy = Q[np.arange(X.shape[0]), a] >= Q.max(axis=1) - 1e-12 * np.maximum(np.abs(Q.max(axis=1)), 1.0)
        prop = (1.0 - self.epsilon) * greedy / ties + self.epsilon / self.n_actions
        return self._out(a.astype(np.int64), prop, single)

    def _feedback(self, obs: Any, actions: Any, rewards: Any, feedback: dict[str, Any]):
        X, _ = self._check_obs(obs)
        a = self._check_actions(actions, X.shape[0])
        r = shape(self.reward_fn, X, a, self._check_rewards(rewards, X.shape[0]), feedback)
        nxt = feedback.get("next_obs")
        term = np.asarray(feedback.get("terminated", np.zeros(X.shape[0], bool)), dtype=bool).reshape(-1)
        if nxt is None or self.gamma == 0:
            return X, a, r, r.copy()
        Xn, _ = self._check_obs(nxt)
        target = r + self.gamma * (~term) * self.q_values(Xn).max(axis=1)
        return X, a, r, target


class QLearning(_EpsGreedyQ):
    """Tabular Q-learning with epsilon-greedy exploration, for small worlds.

    .. math:: Q(s, a) \\leftarrow Q(s, a) + \\eta \\big(r + \\gamma (1 - d) \\max_{a'} Q(s', a') - Q(s, a)\\big)

    Parameters
    ----------
    n_actions, n_states : int
    state_fn : callable, optional
        ``f(obs (n, d)) -> (n,)`` state ids in ``[0, n_states)``; default :class:`ObsTable` (each
        distinct observation is a state, which suits a ``Bandit-v0`` world with few users).
    gamma, lr, epsilon : float
    """

    name = "q-learning"

    def __init__(self, n_actions: int, n_states: int, *, state_fn: Callable[[np.ndarray], np.ndarray] | None = None,
                 obs_dim: int | None = None, gamma: float = 0.0, lr: float = 0.1, epsilon: float = 0.1,
                 initial: float = 0.0, reward_fn: RewardFn | None = None,
                 rng: int | np.random.Generator | None = None) -> None:
        super().__init__(n_actions, obs_dim=obs_dim, rng=rng)
        self.n_states = check_int(n_states, name="n_states", minimum=1, error=_E)
        self.state_fn = ObsTable(self.n_states) if state_fn is None else state_fn
        self.gamma = check_probability(gamma, name="gamma", error=_E)
        self.lr = check_probability(lr, name="lr", error=_E)
        self.epsilon = check_probability(epsilon, name="epsilon", error=_E)
        self.reward_fn = reward_fn
        self.Q_ = np.full((self.n_states, self.n_actions), float(initial))

    def states(self, obs: Any) -> np.ndarray:
        X, _ = self._check_obs(obs)
        s = np.asarray(self.state_fn(X), dtype=np.int64).reshape(-1)
        if s.shape != (X.shape[0],) or (s < 0).any() or (s >= self.n_states).any():
            raise InvalidObservationError(f"`state_fn` must map each observation to a state in [0, {self.n_states})")
        return s

    def q_values(self, obs: Any) -> np.ndarray:
        return self.Q_[self.states(obs)]

    def update(self, obs: Any, actions: Any, rewards: Any, propensities: Any = None, **feedback: Any) -> None:
        X, a, _, target = self._feedback(obs, actions, rewards, feedback)
        s = self.states(X)
        for i in range(X.shape[0]):  # sequential: repeated (s, a) pairs see each other's updates
            self.Q_[s[i], a[i]] += self.lr * (target[i] - self.Q_[s[i], a[i]])

    def _grow(self, old: int, new: int, item_features: Any) -> None:
        self.Q_ = np.hstack([self.Q_, np.zeros((self.n_states, new - old))])


class LinearQ(_EpsGreedyQ):
    """Linear Q-learning: ``Q(x, a) = w_a . (x, 1)``, semi-gradient updates, epsilon-greedy."""

    name = "linear-q"

    def __init__(self, n_actions: int, obs_dim: int, *, gamma: float = 0.0, lr: float = 0.05, epsilon: float = 0.1,
                 reward_fn: RewardFn | None = None, rng: int | np.random.Generator | None = None) -> None:
        super().__init__(n_actions, obs_dim=obs_dim, rng=rng)
        self.gamma = check_probability(gamma, name="gamma", error=_E)
        self.lr = check_positive(lr, name="lr", error=_E)
        self.epsilon = check_probability(epsilon, name="epsilon", error=_E)
        self.reward_fn = reward_fn
        self.W_ = np.zeros((self.obs_dim + 1, self.n_actions))

    def q_values(self, obs: Any) -> np.ndarray:
        X, _ = self._check_obs(obs)
        return X @ self.W_[:-1] + self.W_[-1]

    def update(self, obs: Any, actions: Any, rewards: Any, propensities: Any = None, **feedback: Any) -> None:
        X, a, _, target = self._feedback(obs, actions, rewards, feedback)
        Xt = np.hstack([X, np.ones((X.shape[0], 1))])
        err = target - (Xt * self.W_[:, a].T).sum(axis=1)
        step = self.lr / np.maximum(1.0, (Xt * Xt).sum(axis=1))  # normalised LMS
        np.add.at(self.W_.T, a, (step * err)[:, None] * Xt)

    def _grow(self, old: int, new: int, item_features: Any) -> None:
        self.W_ = np.hstack([self.W_, np.zeros((self.obs_dim + 1, new - old))])


class SlateQ(BasePolicy):
    """SlateQ: slate values decomposed into item values under a conditional-logit choice model.

    .. math:: Q(s, A) = \\sum_{i \\in A} P(i \\mid s, A)\\, \\bar Q(s, i), \\qquad
              P(i \\mid s, A) = \\frac{v(s, i)}{v_0 + \\sum_{j \\in A} v(s, j)}

    with ``v(s, i) = exp(c_i + beta <x, phi_i>)`` learned by maximum likelihood of the observed
    choices, and the item long-term value ``Qbar(s, i) = q_i + theta . f(s, i)`` learned by SARSA on
    the clicked item: ``Qbar(s, i) <- r + gamma Q(s', A*(s'))``. ``f`` holds the user-item affinity
    and the session statistics of the observation (watch fraction, clicks per step, ...), so the value
    of what follows a click depends on how satisfied it left the user. ``gamma = 0`` gives a myopic
    click maximiser. Slates are the top-K of ``v(s, i) Qbar(s, i)`` (Ie et al.'s top-K optimisation),
    with a uniformly random slate with probability ``epsilon``.

    Parameters
    ----------
    n_actions, obs_dim, slate_size : int
    item_features : array_like (n_actions, d)
        Observable item embeddings; the first ``d`` observation entries are the user features.
    gamma, lr, epsilon : float
    reward_fn : callable, optional
        Reward shaping hook.
    """

    name = "slateq"
    is_slate = True
    propensity_type = "exact"

    def __init__(self, n_actions: int, obs_dim: int, slate_size: int, item_features: Any, *, gamma: float = 0.9,
                 lr: float = 0.05, choice_lr: float = 0.05, epsilon: float = 0.1, reward_fn: RewardFn | None = None,
                 rng: int | np.random.Generator | None = None) -> None:
        super().__init__(n_actions, obs_dim=obs_dim, rng=rng)
        self.slate_size = check_int(slate_size, name="slate_size", minimum=1, error=_E)
        F = np.asarray(item_features, dtype=np.float64)
        if F.ndim != 2 or F.shape[0] < self.n_actions:
            raise _E(f"`item_features` must be (n_actions, d) with >= {self.n_actions} rows; got {F.shape}")
        self.items_ = F
        self.d = F.shape[1]
        if self.obs_dim < self.d:
            raise _E(f"obs_dim ({self.obs_dim}) must hold the {self.d} user features first")
        self.gamma = check_probability(gamma, name="gamma", error=_E)
        self.lr = check_positive(lr, name="lr", error=_E)
        self.choice_lr = check_nonnegative(choice_lr, name="choice_lr", error=_E)
        self.epsilon = check_probability(epsilon, name="epsilon", error=_E)
        self.reward_fn = reward_fn
        n_state = self.obs_dim - 2 * self.d if self.obs_dim >= 2 * self.d else 0
        self.c_ = np.zeros(self.n_actions)  # choice: item attractiveness
        self.beta_ = 1.0  # choice: weight of the affinity
        self.q_ = np.zeros(self.n_actions)  # item long-term value
        self.theta_ = np.zeros(1 + n_state)  # value: affinity, session statistics
        self.v0_ = 1.0

    # ------------------------------------------------------------------ model
    def _aff(self, X: np.ndarray) -> np.ndarray:
        return X[:, : self.d] @ self.items_[: self.n_actions].T

    def _state(self, X: np.ndarray) -> np.ndarray:
        return X[:, 2 * self.d :] if self.obs_dim >= 2 * self.d else np.zeros((X.shape[0], 0))

    def choice_weights(self, obs: Any) -> np.ndarray:
        """``v(s, i)`` (n, n_actions)."""
        X, _ = self._check_obs(obs)
        return np.exp(np.clip(self.c_[None, :] + self.beta_ * self._aff(X), -30, 30))

    def item_values(self, obs: Any) -> np.ndarray:
        """``Qbar(s, i)`` (n, n_actions)."""
        X, _ = self._check_obs(obs)
        return self.q_[None, :] + self.theta_[0] * self._aff(X) + (self._state(X) @ self.theta_[1:])[:, None]

    def score(self, obs: Any) -> np.ndarray:
        """``v(s, i) Qbar(s, i)``: the top-K of it is the greedy slate."""
        X, _ = self._check_obs(obs)
        return self.choice_weights(X) * self.item_values(X)

    def _greedy(self, X: np.ndarray) -> np.ndarray:
        return np.argsort(-self.score(X), axis=1, kind="stable")[:, : self.slate_size].astype(np.int64)

    def slate_value(self, obs: Any, slates: Any) -> np.ndarray:
        """``Q(s, A)`` of given slates (n,)."""
        X, _ = self._check_obs(obs)
        s = np.asarray(slates, dtype=np.int64)
        v = np.take_along_axis(self.choice_weights(X), s, axis=1)
        q = np.take_along_axis(self.item_values(X), s, axis=1)
        return (v * q).sum(axis=1) / (self.v0_ + v.sum(axis=1))

    # ------------------------------------------------------------------ acting
    def _n_slates(self) -> float:
        out = 1.0
        for k in range(self.slate_size):
            out *= self.n_actions - k
        return out

    def act(self, obs: Any, rng: Any = None) -> tuple[np.ndarray, np.ndarray]:
        X, single = self._check_obs(obs)
        g = self._rng(rng)
        s = self._greedy(X)
        explore = np.flatnonzero(g.random(X.shape[0]) < self.epsilon)
        if explore.size:
            keys = g.random((explore.size, self.n_actions))
            s[explore] = np.argsort(keys, axis=1)[:, : self.slate_size]
        return self._out(s, self.slate_pscore(X, s), single)

    def slate_pscore(self, obs: Any, slates: Any) -> np.ndarray:
        X, _ = self._check_obs(obs)
        greedy = (np.asarray(slates) == self._greedy(X)).all(axis=1)
        return (1.0 - self.epsilon) * greedy + self.epsilon / self._n_slates()

    def action_probs(self, obs: Any) -> np.ndarray:
        """Per-slot marginals (n, n_actions, K): ``(1 - eps) 1[greedy] + eps / n_actions``."""
        X, _ = self._check_obs(obs)
        out = np.full((X.shape[0], self.n_actions, self.slate_size), self.epsilon / self.n_actions)
        s = self._greedy(X)
        out[np.arange(X.shape[0])[:, None], s, np.arange(self.slate_size)[None, :]] += 1.0 - self.epsilon
        return out

    def slot_marginals(self, obs: Any, slates: Any) -> np.ndarray:
        X, _ = self._check_obs(obs)
        s = np.asarray(slates, dtype=np.int64)
        return (1.0 - self.epsilon) * (s == self._greedy(X)) + self.epsilon / self.n_actions

    # ------------------------------------------------------------------ learning
    def update(self, obs: Any, actions: Any, rewards: Any, propensities: Any = None, **feedback: Any) -> None:
        """Fit the choice model on the observed choice and SARSA-update the clicked item's value.

        Needs ``info["clicked_slot"]`` (simrec slate envs) and ``next_obs``/``terminated``.
        """
        X, _ = self._check_obs(obs)
        s = np.asarray(actions, dtype=np.int64).reshape(X.shape[0], self.slate_size)
        r = shape(self.reward_fn, X, s, self._check_rewards(rewards, X.shape[0]), feedback)
        info = feedback.get("info") or {}
        if "clicked_slot" not in info:
            raise _E("SlateQ.update needs info['clicked_slot'] (the slot clicked, -1 for none)")
        slot = np.asarray(info["clicked_slot"], dtype=np.int64).reshape(-1)
        n = X.shape[0]
        rows = np.arange(n)
        aff = np.take_along_axis(self._aff(X), s, axis=1)
        # choice model: gradient of the conditional-logit log-likelihood
        v = np.exp(np.clip(self.c_[s] + self.beta_ * aff, -30, 30))
        P = v / (self.v0_ + v.sum(axis=1, keepdims=True))
        Y = np.zeros_like(P)
        clicked = slot >= 0
        Y[rows[clicked], slot[clicked]] = 1.0
        G = Y - P
        np.add.at(self.c_, s.ravel(), self.choice_lr * G.ravel())
        self.beta_ += self.choice_lr * float((G * aff).sum() / max(n, 1))
        # value: SARSA on the clicked item, target r + gamma Q(s', greedy slate)
        if not clicked.any():
            return
        target = r.copy()
        nxt = feedback.get("next_obs")
        if nxt is not None and self.gamma > 0:
            Xn, _ = self._check_obs(nxt)
            term = np.asarray(feedback.get("terminated", np.zeros(n, bool)), dtype=bool).reshape(-1)
            target = target + self.gamma * (~term) * self.slate_value(Xn, self._greedy(Xn))
        ci = rows[clicked]
        item = s[ci, slot[ci]]
        f = np.hstack([aff[ci, slot[ci]][:, None], self._state(X[ci])])
        err = target[ci] - (self.q_[item] + f @ self.theta_)
        np.add.at(self.q_, item, self.lr * err)
        self.theta_ += self.lr * (f * err[:, None]).mean(axis=0) / max(1.0, float((f * f).sum(axis=1).mean()))

    def _grow(self, old: int, new: int, item_features: Any) -> None:
        if item_features is not None:
            self.items_ = np.asarray(item_features, dtype=np.float64)
        if self.items_.shape[0] < new:
            raise _E(f"SlateQ.grow: `item_features` must cover {new} items")
        self.c_ = np.concatenate([self.c_, np.zeros(new - old)])
        self.q_ = np.concatenate([self.q_, np.full(new - old, self.q_.mean() if old else 0.0)])
