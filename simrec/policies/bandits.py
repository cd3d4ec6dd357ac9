"""Bandit learners: epsilon-greedy, UCB1, LinUCB, linear / Bernoulli / logistic Thompson sampling.

All are batched (``act`` and ``update`` take many rows at once), handle a growing catalog
(:meth:`~simrec.policies.base.BasePolicy.grow`: new arms start from the prior) and report
propensities: exact (epsilon-greedy), deterministic with ties split uniformly (UCB1, LinUCB), or
estimated by Monte Carlo (Thompson sampling; see :mod:`simrec.policies.base`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import check_int, check_nonnegative, check_positive, check_probability
from ..errors import InvalidPolicyInputError, NotSupportedError
from ._linear import make_model
from .base import BasePolicy, argmax_ties, tie_probs

__all__ = ["EpsilonGreedy", "UCB1", "LinUCB", "LinearTS", "BernoulliTS", "LogisticTS"]

_E = InvalidPolicyInputError


class _CountingBandit(BasePolicy):
    """Context-free running means: ``counts_[a]`` pulls, ``sums_[a]`` total reward."""

    def __init__(self, n_actions: int, *, obs_dim: int | None = None,
                 rng: int | np.random.Generator | None = None) -> None:
        super().__init__(n_actions, obs_dim=obs_dim, rng=rng)
        self.counts_ = np.zeros(self.n_actions)
        self.sums_ = np.zeros(self.n_actions)

    @property
    def means_(self) -> np.ndarray:
        """Empirical mean reward per arm (0 for arms never played)."""
        return np.divide(self.sums_, self.counts_, out=np.zeros(self.n_actions), where=self.counts_ > 0)

    def update(self, obs: Any, actions: Any, rewards: Any, propensities: Any = None, **feedback: Any) -> None:
        X, _ = self._check_obs(obs)
        a = self._check_actions(actions, X.shape[0])
        r = self._check_rewards(rewards, X.shape[0])
        np.add.at(self.counts_, a, 1.0)
        np.add.at(self.sums_, a, r)

    def _grow(self, old: int, new: int, item_features: Any) -> None:
        self.counts_ = np.concatenate([self.counts_, np.zeros(new - old)])
        self.sums_ = np.concatenate([self.sums_, np.zeros(new - old)])


class EpsilonGreedy(_CountingBandit):
    """Epsilon-greedy bandit: greedy on the learned mean rewards, uniform with probability epsilon.

    .. math:: \\pi(a) = (1 - \\epsilon)\\, \\frac{1[a \\in \\arg\\max_b \\hat\\mu_b]}{|\\arg\\max|}
              + \\frac{\\epsilon}{|A|}

    Arms never played have mean ``initial`` (optimism makes the greedy part try them).

    References
    ----------
    Sutton, R. S. and Barto, A. G. (2018). *Reinforcement Learning: An Introduction*, 2nd ed., §2.2.
    """

    name = "epsilon-greedy"

    def __init__(self, n_actions: int, epsilon: float = 0.1, *, initial: float = 0.0, obs_dim: int | None = None,
                 rng: int | np.random.Generator | None = None) -> None:
        super().__init__(n_actions, obs_dim=obs_dim, rng=rng)
        self.epsilon = check_probability(epsilon, name="epsilon", error=_E)
        self.initial = float(initial)

    def _greedy(self) -> np.ndarray:
        return tie_probs(self._mu()[None, :])[0]

    def _mu(self) -> np.ndarray:
        return np.where(self.counts_ > 0, self.means_, self.initial)

    def score(self, obs: Any) -> np.ndarray:
        """The learned mean reward of every arm (n, n_actions)."""
        X, _ = self._check_obs(obs)
        return np.broadcast_to(self._mu(), (X.shape[0], self.n_actions)).copy()

    def action_probs(self, obs: Any) -> np.ndarray:
        X, _ = self._check_obs(obs)
        p = (1.0 - self.epsilon) * self._greedy() + self.epsilon / self.n_actions
        return np.broadcast_to(p, (X.shape[0], self.n_actions)).copy()


class UCB1(_CountingBandit):
    """UCB1: play the arm maximising :math:`\\hat\\mu_a + c \\sqrt{2 \\ln t / n_a}`.

    Arms never played come first (ties split uniformly). Deterministic given the history.

    References
    ----------
    Auer, P., Cesa-Bianchi, N. and Fischer, P. (2002). Finite-time analysis of the multiarmed bandit
    problem. *Machine Learning* 47, 235-256.
    """

    name = "ucb1"
    propensity_type = "deterministic"

    def __init__(self, n_actions: int, c: float = 1.0, *, obs_dim: int | None = None,
                 rng: int | np.random.Generator | None = None) -> None:
        super().__init__(n_actions, obs_dim=obs_dim, rng=rng)
        self.c = check_nonnegative(c, name="c", error=_E)

    def _index(self) -> np.ndarray:
        t = max(self.counts_.sum(), 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            bonus = self.c * np.sqrt(2.0 * np.log(t) / self.counts_)
        return np.where(self.counts_ > 0, self.means_ + bonus, np.inf)

    def score(self, obs: Any) -> np.ndarray:
        """The UCB index of every arm (n, n_actions); unplayed arms get a large finite value."""
        X, _ = self._check_obs(obs)
        idx = self._index()
        idx = np.where(np.isinf(idx), 1e12, idx)
        return np.broadcast_to(idx, (X.shape[0], self.n_actions)).copy()

    def action_probs(self, obs: Any) -> np.ndarray:
        X, _ = self._check_obs(obs)
        idx = self._index()
        p = (idx == np.inf).astype(float) if np.isinf(idx).any() else tie_probs(idx[None, :])[0]
        p = p / p.sum()
        return np.broadcast_to(p, (X.shape[0], self.n_actions)).copy()


class BernoulliTS(_CountingBandit):
    """Beta-Bernoulli Thompson sampling (context-free).

    Each arm has a ``Beta(alpha0 + S_a, beta0 + F_a)`` posterior (rewards in [0, 1] count fractionally);
    an action is the argmax of one posterior draw per arm. Propensities are Monte Carlo estimates.

    References
    ----------
    Thompson, W. R. (1933). On the likelihood that one unknown probability exceeds another.
    *Biometrika* 25, 285-294. Chapelle, O. and Li, L. (2011). An empirical evaluation of Thompson
    sampling. *NeurIPS*.
    """

    name = "bernoulli-ts"
    propensity_type = "monte-carlo"

    def __init__(self, n_actions: int, *, alpha0: float = 1.0, beta0: float = 1.0, mc_samples: int = 1000,
                 obs_dim: int | None = None, rng: int | np.random.Generator | None = None) -> None:
        super().__init__(n_actions, obs_dim=obs_dim, rng=rng)
        self.alpha0 = check_positive(alpha0, name="alpha0", error=_E)
        self.beta0 = check_positive(beta0, name="beta0", error=_E)
        self.mc_samples = check_int(mc_samples, name="mc_samples", minimum=1, error=_E)

    def update(self, obs: Any, actions: Any, rewards: Any, propensities: Any = None, **feedback: Any) -> None:
        r = np.atleast_1d(np.asarray(rewards, dtype=np.float64))
        if ((r < 0) | (r > 1)).any():
            raise _E("BernoulliTS needs rewards in [0, 1]")
        super().update(obs, actions, rewards, propensities)

    def _draw(self, rng: np.random.Generator, m: int) -> np.ndarray:
        a = self.alpha0 + self.sums_
        b = self.beta0 + self.counts_ - self.sums_
        return rng.beta(a, b, size=(m, self.n_actions))

    def action_probs(self, obs: Any, exact: bool = False) -> np.ndarray:
        """Monte Carlo estimate of P(arm a has the largest draw) from ``mc_samples`` draws."""
        if exact:
            raise NotSupportedError("BernoulliTS has no closed-form action probabilities; "
                                    "call action_probs(obs) for a Monte Carlo estimate")
        X, _ = self._check_obs(obs)
        am = np.argmax(self._draw(self.rng, self.mc_samples), axis=1)
        p = np.bincount(am, minlength=self.n_actions) / self.mc_samples
        return np.broadcast_to(p, (X.shape[0], self.n_actions)).copy()

    def act(self, obs: Any, rng: Any = None) -> tuple[np.ndarray, np.ndarray]:
        X, single = self._check_obs(obs)
        g = self._rng(rng)
        n = X.shape[0]
        a = np.argmax(self._draw(g, n), axis=1).astype(np.int64)
        counts = np.bincount(np.argmax(self._draw(g, self.mc_samples), axis=1), minlength=self.n_actions)
        return self._out(a, (1.0 + counts[a]) / (1.0 + self.mc_samples), single)


class _LinearPolicy(BasePolicy):
    """Shared plumbing of the linear bandits: the context map, the model, growth, the ridge update
    (LogisticTS replaces it with its Laplace update)."""

    def __init__(self, n_actions: int, obs_dim: int, *, model: str, item_features: Any, reg: float,
                 fit_intercept: bool, rng: int | np.random.Generator | None) -> None:
        if obs_dim is None:
            raise _E(f"{type(self).__name__} needs `obs_dim` (the context size)")
        super().__init__(n_actions, obs_dim=obs_dim, rng=rng)
        self.reg = check_positive(reg, name="reg", error=_E)
        self.fit_intercept = bool(fit_intercept)
        self.model = model
        dz = self.obs_dim + int(self.fit_intercept)
        feats = None if item_features is None else np.asarray(item_features, dtype=np.float64)
        self.model_ = make_model(model, self.n_actions, dz, self.reg, feats)

    def _z(self, X: np.ndarray) -> np.ndarray:
        return np.hstack([X, np.ones((X.shape[0], 1))]) if self.fit_intercept else np.ascontiguousarray(X)

    def _grow(self, old: int, new: int, item_features: Any) -> None:
        self.model_.grow(new, None if item_features is None else np.asarray(item_features, dtype=np.float64))

    def mean_width(self, obs: Any) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean score and its standard deviation (UCB width), each (n, n_actions)."""
        X, _ = self._check_obs(obs)
        return self.model_.mean_width(self._z(X))

    def update(self, obs: Any, actions: Any, rewards: Any, propensities: Any = None, **feedback: Any) -> None:
        """Ridge regression update of the logged actions' models with the observed rewards."""
        X, _ = self._check_obs(obs)
        a = self._check_actions(actions, X.shape[0])
        r = self._check_rewards(rewards, X.shape[0])
        self.model_.ridge_update(self._z(X), a, r)


class LinUCB(_LinearPolicy):
    """LinUCB: play :math:`\\arg\\max_a \\hat\\theta_a' x + \\alpha \\sqrt{x' A_a^{-1} x}`.

    ``model="disjoint"`` (default) keeps one ridge regression per arm with Sherman-Morrison updates
    and decides in a numba kernel; ``model="shared"`` regresses on ``x kron phi_a`` item features.
    Deterministic: propensity 1 for the chosen arm (``1/m`` when ``m`` arms tie, e.g. at the start).

    Parameters
    ----------
    n_actions, obs_dim : int
    alpha : float
        Width of the confidence bound.
    model : {"disjoint", "shared"}
    item_features : array_like (n_actions, k), optional
        Needed by ``model="shared"``.
    reg : float
        Ridge penalty (prior precision).
    fit_intercept : bool
        Append a constant 1 to the context.

    References
    ----------
    Li, L., Chu, W., Langford, J. and Schapire, R. E. (2010). A contextual-bandit approach to
    personalized news article recommendation. *WWW*, 661-670.
    """

    name = "linucb"
    propensity_type = "deterministic"

    def __init__(self, n_actions: int, obs_dim: int, alpha: float = 0.5, *, model: str = "disjoint",
                 item_features: Any = None, reg: float = 1.0, fit_intercept: bool = True,
                 rng: int | np.random.Generator | None = None) -> None:
        super().__init__(n_actions, obs_dim, model=model, item_features=item_features, reg=reg,
                         fit_intercept=fit_intercept, rng=rng)
        self.alpha = check_nonnegative(alpha, name="alpha", error=_E)

    def score(self, obs: Any) -> np.ndarray:
        """Upper confidence bounds (n, n_actions)."""
        m, w = self.mean_width(obs)
        return m + self.alpha * w

    def action_probs(self, obs: Any) -> np.ndarray:
        return tie_probs(self.score(obs))

    def act(self, obs: Any, rng: Any = None) -> tuple[np.ndarray, np.ndarray]:
        X, single = self._check_obs(obs)
        g = self._rng(rng)
        if self.model_.kind == "disjoint":
            a, ties = self.model_.ucb_choose(self._z(X), self.alpha, g.random(X.shape[0]))
        else:
            a, ties = argmax_ties(self.score(X), g)
        return self._out(a, 1.0 / ties, single)


class _ThompsonLinear(_LinearPolicy):
    propensity_type = "monte-carlo"
    scale: float

    def _mc_setup(self, mc_samples: int) -> None:
        self.mc_samples = check_int(mc_samples, name="mc_samples", minimum=1, error=_E)

    def action_probs(self, obs: Any, exact: bool = False) -> np.ndarray:
        """Monte Carlo estimate of P(a is the argmax of a posterior draw), ``mc_samples`` draws per row."""
        if exact:
            raise NotSupportedError(f"{type(self).__name__} has no closed-form action probabilities; "
                                    "call action_probs(obs) for a Monte Carlo estimate")
        X, _ = self._check_obs(obs)
        Z = self._z(X)
        out = np.empty((X.shape[0], self.n_actions))
        for i in range(X.shape[0]):
            s = self.model_.sample_scores(Z[i : i + 1], self.scale, self.rng, self.mc_samples)[:, 0]
            out[i] = np.bincount(np.argmax(s, axis=1), minlength=self.n_actions) / self.mc_samples
        return out

    def act(self, obs: Any, rng: Any = None) -> tuple[np.ndarray, np.ndarray]:
        X, single = self._check_obs(obs)
        g = self._rng(rng)
        Z = self._z(X)
        a = np.argmax(self.model_.sample_scores(Z, self.scale, g, 1)[0], axis=1).astype(np.int64)
        prop = np.empty(X.shape[0])
        for i in range(X.shape[0]):
            s = self.model_.sample_scores(Z[i : i + 1], self.scale, g, self.mc_samples)[:, 0]
            prop[i] = (1.0 + np.count_nonzero(np.argmax(s, axis=1) == a[i])) / (1.0 + self.mc_samples)
        return self._out(a, prop, single)


class LinearTS(_ThompsonLinear):
    """Linear Thompson sampling: act greedily on a draw from the Gaussian posterior of a ridge model.

    .. math:: \\tilde\\theta \\sim N(\\hat\\theta, v^2 A^{-1}), \\quad a = \\arg\\max_a \\tilde s(x, a)

    Propensities are Monte Carlo estimates from ``mc_samples`` further posterior draws.

    References
    ----------
    Agrawal, S. and Goyal, N. (2013). Thompson sampling for contextual bandits with linear payoffs.
    *ICML*, 127-135.
    """

    name = "linear-ts"

    def __init__(self, n_actions: int, obs_dim: int, v: float = 0.25, *, model: str = "disjoint",
                 item_features: Any = None, reg: float = 1.0, fit_intercept: bool = True, mc_samples: int = 200,
                 rng: int | np.random.Generator | None = None) -> None:
        super().__init__(n_actions, obs_dim, model=model, item_features=item_features, reg=reg,
                         fit_intercept=fit_intercept, rng=rng)
        self.scale = self.v = check_nonnegative(v, name="v", error=_E)
        self._mc_setup(mc_samples)


class LogisticTS(_ThompsonLinear):
    """Logistic Thompson sampling with a Laplace approximation of the posterior.

    The posterior of a logistic model of the click probability is approximated, after each batch,
    by a Gaussian at the MAP with the Hessian as precision (online Laplace); actions maximise a draw
    of the logit. Rewards must lie in [0, 1] (used as Bernoulli targets).

    References
    ----------
    Chapelle, O. and Li, L. (2011). An empirical evaluation of Thompson sampling. *NeurIPS*
    (Algorithm 3).
    """

    name = "logistic-ts"

    def __init__(self, n_actions: int, obs_dim: int, *, scale: float = 1.0, model: str = "disjoint",
                 item_features: Any = None, reg: float = 1.0, fit_intercept: bool = True, mc_samples: int = 200,
                 newton_iters: int = 10, rng: int | np.random.Generator | None = None) -> None:
        super().__init__(n_actions, obs_dim, model=model, item_features=item_features, reg=reg,
                         fit_intercept=fit_intercept, rng=rng)
        self.scale = check_nonnegative(scale, name="scale", error=_E)
        self.newton_iters = check_int(newton_iters, name="newton_iters", minimum=1, error=_E)
        self._mc_setup(mc_samples)

    def update(self, obs: Any, actions: Any, rewards: Any, propensities: Any = None, **feedback: Any) -> None:
        X, _ = self._check_obs(obs)
        a = self._check_actions(actions, X.shape[0])
        r = self._check_rewards(rewards, X.shape[0])
        if ((r < 0) | (r > 1)).any():
            raise _E("LogisticTS needs rewards in [0, 1]")
        self.model_.laplace_update(self._z(X), a, r, self.newton_iters)
