"""REINFORCE with off-policy and top-K corrections (Chen et al. 2019), learning from logs.

The policy is a softmax over linear logits, per action ``l(x, a) = x~' W_a`` or, with item features,
bilinear plus an item bias ``l(x, a) = x~' W phi~_a + b_a`` (which generalises to items never logged).
From logged ``(x, a, r, beta(a|x))`` it ascends

.. math:: \\hat\\nabla J = \\frac1n \\sum_i \\min\\Big(\\frac{\\pi(a_i|x_i)}{\\beta(a_i|x_i)}, c\\Big)
          \\lambda_K(a_i|x_i)\\, (R_i - \\bar R)\\, \\nabla_\\theta \\log \\pi(a_i|x_i),
          \\qquad \\lambda_K(a|x) = K (1 - \\pi(a|x))^{K-1},

where ``R`` is the reward (bandit logs) or the discounted return-to-go (trajectories), ``c`` caps
the importance weight and ``lambda_K`` is the top-K correction for slates of ``K`` items sampled from
``pi`` (``top_k=1``: plain off-policy REINFORCE). Optimised with Adam.

References
----------
Williams, R. J. (1992). Simple statistical gradient-following algorithms for connectionist
reinforcement learning. *Machine Learning* 8, 229-256. Chen, M., Beutel, A., Covington, P., Jain, S.,
Belletti, F. and Chi, E. H. (2019). Top-K off-policy correction for a REINFORCE recommender system.
*WSDM*, 456-464.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import check_int, check_nonnegative, check_positive
from ..data import BanditLog, Trajectories
from ..errors import InvalidPolicyInputError
from .base import BasePolicy
from .baselines import softmax
from .shaping import RewardFn, shape

__all__ = ["REINFORCE", "returns_to_go"]

_E = InvalidPolicyInputError


def returns_to_go(episode: np.ndarray, reward: np.ndarray, gamma: float) -> np.ndarray:
    """Discounted return from each step to the end of its episode (steps grouped by ``episode``)."""
    out = np.empty_like(reward, dtype=np.float64)
    g = 0.0
    for t in range(reward.shape[0] - 1, -1, -1):
        if t == reward.shape[0] - 1 or episode[t + 1] != episode[t]:
            g = 0.0
        g = reward[t] + gamma * g
        out[t] = g
    return out


class REINFORCE(BasePolicy):
    """Softmax policy trained by off-policy REINFORCE with the top-K correction (see module doc).

    Parameters
    ----------
    n_actions, obs_dim : int
    item_features : array_like (n_actions, k), optional
        Use the bilinear parameterisation (shares strength across items; new items start scored).
    lr : float
        Adam step size.
    max_weight : float
        Cap ``c`` of the importance weight ``pi / beta``.
    top_k : int
        Slate size ``K`` of the top-K correction (1 = none).
    gamma : float
        Discount of returns-to-go for :class:`~simrec.data.Trajectories`.
    l2 : float
        Weight decay.
    temperature : float
        Logits are divided by it when acting.
    reward_fn : callable, optional
        Shaping hook for online :meth:`update` (see :mod:`simrec.policies.shaping`).
    off_policy : bool
        Weight by ``min(pi / beta, c)`` (True) or treat the logs as on-policy (False, for comparison).
    """

    name = "reinforce"

    def __init__(self, n_actions: int, obs_dim: int, *, item_features: Any = None, lr: float = 0.05,
                 max_weight: float = 10.0, top_k: int = 1, gamma: float = 0.9, l2: float = 1e-4,
                 temperature: float = 1.0, reward_fn: RewardFn | None = None, off_policy: bool = True,
                 rng: int | np.random.Generator | None = None) -> None:
        if obs_dim is None:
            raise _E("REINFORCE needs `obs_dim`")
        super().__init__(n_actions, obs_dim=obs_dim, rng=rng)
        self.lr = check_positive(lr, name="lr", error=_E)
        self.max_weight = check_positive(max_weight, name="max_weight", error=_E)
        self.top_k = check_int(top_k, name="top_k", minimum=1, error=_E)
        self.gamma = check_nonnegative(gamma, name="gamma", error=_E)
        self.l2 = check_nonnegative(l2, name="l2", error=_E)
        self.temperature = check_positive(temperature, name="temperature", error=_E)
        self.reward_fn = reward_fn
        self.off_policy = bool(off_policy)
        dx = self.obs_dim + 1
        if item_features is None:
            self.items_ = None
            self.params_ = {"W": np.zeros((dx, self.n_actions))}
        else:
            F = np.asarray(item_features, dtype=np.float64)
            if F.ndim != 2 or F.shape[0] < self.n_actions:
                raise _E(f"`item_features` must have at least {self.n_actions} rows; got shape {F.shape}")
            self.items_ = F
            self.params_ = {"W": np.zeros((dx, F.shape[1] + 1)), "b": np.zeros(self.n_actions)}
        self._adam = {k: (np.zeros_like(v), np.zeros_like(v)) for k, v in self.params_.items()}
        self._t = 0
        self.baseline_ = 0.0

    # ------------------------------------------------------------------ model
    def _xt(self, X: np.ndarray) -> np.ndarray:
        return np.hstack([X, np.ones((X.shape[0], 1))])

    def _phi(self) -> np.ndarray:
        F = self.items_[: self.n_actions]
        return np.hstack([F, np.ones((F.shape[0], 1))])

    def logits(self, obs: Any) -> np.ndarray:
        """Unnormalised log-probabilities (n, n_actions)."""
        X, _ = self._check_obs(obs)
        Xt = self._xt(X)
        if self.items_ is None:
            return Xt @ self.params_["W"]
        return Xt @ self.params_["W"] @ self._phi().T + self.params_["b"][None, :]

    score = logits

    def action_probs(self, obs: Any) -> np.ndarray:
        return softmax(self.logits(obs), self.temperature)

    def _grow(self, old: int, new: int, item_features: Any) -> None:
        if self.items_ is None:
            self.params_["W"] = np.hstack([self.params_["W"], np.zeros((self.obs_dim + 1, new - old))])
        else:
            if item_features is not None:
                self.items_ = np.asarray(item_features, dtype=np.float64)
            if self.items_.shape[0] < new:
                raise _E(f"REINFORCE.grow: `item_features` must cover {new} items")
            self.params_["b"] = np.concatenate([self.params_["b"], np.zeros(new - old)])
        self._adam = {k: (np.zeros_like(v), np.zeros_like(v)) for k, v in self.params_.items()}

    # ------------------------------------------------------------------ learning
    def importance_weights(self, obs: Any, actions: Any, pscore: Any) -> np.ndarray:
        """Off-policy weights ``min(pi(a_i|x_i) / beta_i, c)`` of logged rows (``c`` =
        ``max_weight``; all ones with ``off_policy=False``), ``pi`` at the current parameters."""
        X, _ = self._check_obs(obs)
        a = self._check_actions(actions, X.shape[0])
        beta = np.asarray(pscore, dtype=np.float64).reshape(-1)
        if beta.shape != a.shape or not ((beta > 0) & (beta <= 1)).all():
            raise _E(f"`pscore` must hold {a.shape[0]} probabilities in (0, 1]; got shape {beta.shape}")
        return self._weights(softmax(self.logits(X), 1.0)[np.arange(X.shape[0]), a], beta)

    def _weights(self, pi_a: np.ndarray, beta: np.ndarray) -> np.ndarray:
        return np.minimum(pi_a / beta, self.max_weight) if self.off_policy else np.ones(pi_a.shape[0])

    def _gradient(self, X: np.ndarray, a: np.ndarray, R: np.ndarray, beta: np.ndarray) -> dict[str, np.ndarray]:
        P = softmax(self.logits(X), 1.0)
        n = X.shape[0]
        pi_a = P[np.arange(n), a]
        w = self._weights(pi_a, beta)
        lam = self.top_k * (1.0 - pi_a) ** (self.top_k - 1) if self.top_k > 1 else 1.0
        coef = w * lam * (R - self.baseline_) / n
        G = -P * coef[:, None]
        G[np.arange(n), a] += coef  # d log pi(a|x) / d logits = e_a - pi
        Xt = self._xt(X)
        if self.items_ is None:
            return {"W": Xt.T @ G - self.l2 * self.params_["W"]}
        phi = self._phi()
        return {"W": Xt.T @ G @ phi - self.l2 * self.params_["W"], "b": G.sum(axis=0) - self.l2 * self.params_["b"]}

    def _step(self, grads: dict[str, np.ndarray]) -> None:
        self._t += 1
        b1, b2, eps = 0.9, 0.999, 1e-8
        for k, g in grads.items():
            m, v = self._adam[k]
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            mh = m / (1 - b1**self._t)
            vh = v / (1 - b2**self._t)
            self.params_[k] += self.lr * mh / (np.sqrt(vh) + eps)  # ascent

    def fit(self, log: BanditLog | Trajectories, *, epochs: int = 20, batch_size: int = 256,
            seed: int | None = 0) -> REINFORCE:
        """Learn from a logged dataset with propensities (off-policy, see the module docstring).

        ``BanditLog``: ``R`` is the reward. ``Trajectories``: ``R`` is the discounted return-to-go.
        """
        if not isinstance(log, (BanditLog, Trajectories)):
            raise _E(f"`log` must be a BanditLog or Trajectories; got {type(log).__name__}")
        if log.pscore is None:
            raise _E("REINFORCE.fit needs logged propensities (`pscore`); estimate them first "
                     "(simrec.estimators.ope.estimate_pscore)")
        X = log.context if isinstance(log, BanditLog) else log.obs
        if X is None:
            raise _E("REINFORCE.fit needs the logged contexts")
        X, _ = self._check_obs(X)
        a = self._check_actions(log.action, X.shape[0])
        R = log.reward if isinstance(log, BanditLog) else returns_to_go(log.episode, log.reward, self.gamma)
        beta = np.asarray(log.pscore, dtype=np.float64)
        epochs = check_int(epochs, name="epochs", minimum=1, error=_E)
        batch_size = check_int(batch_size, name="batch_size", minimum=1, error=_E)
        self.baseline_ = float(np.mean(R))
        g = np.random.default_rng(seed)
        n = X.shape[0]
        for _ in range(epochs):
            order = g.permutation(n)
            for s in range(0, n, batch_size):
                idx = order[s : s + batch_size]
                self._step(self._gradient(X[idx], a[idx], R[idx], beta[idx]))
        return self

    def update(self, obs: Any, actions: Any, rewards: Any, propensities: Any = None, **feedback: Any) -> None:
        """One online gradient step; ``propensities`` are the behaviour probabilities (its own when None)."""
        X, _ = self._check_obs(obs)
        a = self._check_actions(actions, X.shape[0])
        r = shape(self.reward_fn, X, a, self._check_rewards(rewards, X.shape[0]), feedback)
        beta = self.action_probs(X)[np.arange(X.shape[0]), a] if propensities is None else _propensities(
            propensities, X.shape[0])
        self.baseline_ = 0.99 * self.baseline_ + 0.01 * float(np.mean(r))
        self._step(self._gradient(X, a, r, beta))


def _propensities(p: Any, n: int) -> np.ndarray:
    """Behaviour probabilities of ``n`` rows: finite, in (0, 1], or an error naming the first bad row."""
    try:
        beta = np.asarray(p, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise _E(f"`propensities` must be numbers; got {type(p).__name__}") from None
    if beta.shape != (n,):
        raise _E(f"`propensities` must hold one probability per row ({n}); got {beta.shape[0]}")
    bad = ~((beta > 0) & (beta <= 1))  # NaN fails both comparisons
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise _E(f"`propensities` must lie in (0, 1]; {int(bad.sum())} values do not, first at row {i} "
                 f"(value {float(beta[i])!r})")
    return beta
