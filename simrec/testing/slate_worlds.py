"""Enumerable slate worlds with closed-form truth, for testing slate estimators exactly.

A :class:`SlateWorld` has a handful of items and short slates, so every ordered slate (and every
click outcome of it) can be listed. Three click models span the reward structures of the slate OPE
literature:

``"independent"``
    Position-based model: slot ``k`` is clicked with probability ``e_k a_{s_k}``, independently of
    the other slots (independence; the slate reward is additive over (slot, item) pairs).
``"cascade"``
    Cascade model (Craswell et al. 2008): the user scans top-down and clicks the first item that
    attracts them (probability ``a_{s_k}``), then stops, so a slot's reward depends on the items at
    and above it, not below (the cascade assumption).
``"standard"``
    Position-weighted multinomial logit with an outside option: at most one click, slot ``k`` with
    probability ``e_k a_{s_k} / (1 + sum_j e_j a_{s_j})``, so every item affects every slot (no
    structure; only standard slate IPS is unbiased).

A :class:`SlateDistribution` is a policy's law over ordered slates (e.g. :func:`plackett_luce`);
:func:`enumerated_log` lists every (logged slate, click outcome) with its probability, in a
:class:`~simrec.data.SlateLog` carrying every logging propensity, with the target policy's inputs
for every slate estimator. The exact expectation of an estimator is then
``probs @ est.contributions(log, **inputs)`` (one logged slate; the estimators that are means of
per-slate terms have the same expectation for any number of rows).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..data import SlateLog
from ..errors import ConfigError

__all__ = ["SlateWorld", "SlateDistribution", "plackett_luce", "product_distribution", "enumerated_log",
           "exact_moments", "policy_value", "true_q", "prefix_model", "CLICK_MODELS", "slate_problem"]

CLICK_MODELS = ("independent", "cascade", "standard")


@dataclass(frozen=True)
class SlateWorld:
    """A small slate world (see the module docstring).

    Parameters
    ----------
    attractiveness : array_like, shape (n_items,)
        ``a_i`` in (0, 1] for the independent and cascade models; the odds of item ``i`` for the
        standard (logit) model.
    examination : array_like, shape (K,)
        Position weights ``e_k`` in (0, 1] (unused by the cascade model).
    click_model : {"independent", "cascade", "standard"}
    """

    attractiveness: np.ndarray
    examination: np.ndarray
    click_model: str = "independent"

    def __post_init__(self) -> None:
        a = np.asarray(self.attractiveness, dtype=np.float64)
        e = np.asarray(self.examination, dtype=np.float64)
        if self.click_model not in CLICK_MODELS:
            raise ConfigError(f"`click_model` must be one of {CLICK_MODELS}; got {self.click_model!r}")
        if a.ndim != 1 or not ((a > 0) & (a <= 1)).all():
            raise ConfigError(f"`attractiveness` must be a vector in (0, 1]; got {a}")
        if e.ndim != 1 or e.size > a.size or not ((e > 0) & (e <= 1)).all():
            raise ConfigError(f"`examination` must be a vector in (0, 1] no longer than n_items; got {e}")
        object.__setattr__(self, "attractiveness", a)
        object.__setattr__(self, "examination", e)

    @property
    def n_items(self) -> int:
        return int(self.attractiveness.size)

    @property
    def slate_size(self) -> int:
        return int(self.examination.size)

    def slates(self) -> np.ndarray:
        """Every ordered slate of ``K`` distinct items, shape (S, K)."""
        return np.array(list(itertools.permutations(range(self.n_items), self.slate_size)), dtype=np.int64)

    def clicks(self, slate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every click outcome of ``slate`` (C, K) of 0/1 and its probability (C,)."""
        a = self.attractiveness[np.asarray(slate)]
        e = self.examination
        K = self.slate_size
        if self.click_model == "independent":
            outcomes = np.array(list(itertools.product((0.0, 1.0), repeat=K)))
            pk = e * a
            probs = np.prod(np.where(outcomes == 1.0, pk, 1.0 - pk), axis=1)
        else:
            outcomes = np.vstack([np.zeros((1, K)), np.eye(K)])
            if self.click_model == "cascade":
                stay = np.concatenate([[1.0], np.cumprod(1.0 - a)])
                probs = np.concatenate([[stay[K]], stay[:K] * a])
            else:
                u = e * a
                probs = np.concatenate([[1.0], u]) / (1.0 + u.sum())
        return outcomes, probs

    def expected_reward(self, slates: np.ndarray) -> np.ndarray:
        """Exact expected click of every slot, shape (S, K)."""
        out = np.empty(np.shape(slates), dtype=np.float64)
        for j, s in enumerate(np.asarray(slates)):
            c, p = self.clicks(s)
            out[j] = p @ c
        return out


@dataclass(frozen=True)
class SlateDistribution:
    """A policy's law over ordered slates: ``slates`` (S, K) with probabilities ``probs`` (S,)."""

    slates: np.ndarray
    probs: np.ndarray
    n_items: int
    _index: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        s = np.asarray(self.slates, dtype=np.int64)
        p = np.asarray(self.probs, dtype=np.float64)
        if s.ndim != 2 or p.shape != (s.shape[0],) or (p < 0).any() or abs(p.sum() - 1) > 1e-9:
            raise ConfigError("`slates` (S, K) and `probs` (S,) must form a probability distribution")
        object.__setattr__(self, "slates", s)
        object.__setattr__(self, "probs", p)
        self._index.update({tuple(row): j for j, row in enumerate(s.tolist())})

    @property
    def slate_size(self) -> int:
        return int(self.slates.shape[1])

    def prob(self, slates: np.ndarray) -> np.ndarray:
        """Probability of each given slate (n,) (0 for slates outside the support)."""
        return np.array([self.probs[self._index[t]] if t in self._index else 0.0
                         for t in map(tuple, np.asarray(slates).tolist())])

    def marginals(self) -> np.ndarray:
        """``P(item a in slot k)``, shape (n_items, K)."""
        out = np.zeros((self.n_items, self.slate_size))
        for k in range(self.slate_size):
            np.add.at(out[:, k], self.slates[:, k], self.probs)
        return out

    def prefix_probs(self, slates: np.ndarray) -> np.ndarray:
        """``P(the first k + 1 items are slates[i, :k+1])``, shape (n, K)."""
        s = np.asarray(slates)
        out = np.zeros(s.shape)
        for k in range(self.slate_size):
            match = (self.slates[None, :, : k + 1] == s[:, None, : k + 1]).all(axis=2)
            out[:, k] = match @ self.probs
        return out

    def conditionals(self, slates: np.ndarray) -> np.ndarray:
        """Law of slot ``k`` given the items of ``slates[i, :k]`` above it, shape (n, n_items, K)
        (zeros where that prefix has probability 0)."""
        s = np.asarray(slates)
        n, K = s.shape
        out = np.zeros((n, self.n_items, K))
        for i in range(n):
            for k in range(K):
                match = (self.slates[:, :k] == s[i, :k]).all(axis=1)
                mass = self.probs[match].sum()
                if mass > 0:
                    np.add.at(out[i, :, k], self.slates[match, k], self.probs[match] / mass)
        return out

    def moment(self) -> np.ndarray:
        """The second-moment matrix of the (slot, item) indicators (pseudo-inverse estimator)."""
        from ..estimators.ope.slate_inputs import slate_moment

        return slate_moment(self.slates, self.probs, self.n_items)


def plackett_luce(weights: Any, slate_size: int) -> SlateDistribution:
    """Plackett-Luce slates (without replacement) with item weights ``weights`` (n_items,)."""
    w = np.asarray(weights, dtype=np.float64)
    w = w / w.sum()
    slates = np.array(list(itertools.permutations(range(w.size), slate_size)), dtype=np.int64)
    pw = w[slates]
    used = np.cumsum(pw, axis=1) - pw
    probs = np.prod(pw / (1.0 - used), axis=1)
    return SlateDistribution(slates, probs / probs.sum(), int(w.size))


def product_distribution(slot_probs: Any) -> SlateDistribution:
    """Slots drawn independently, slot ``k`` from ``slot_probs[:, k]`` (n_items, K); the supports of
    the slots must be disjoint (a Cartesian slate space, so no slate repeats an item)."""
    p = np.asarray(slot_probs, dtype=np.float64)
    if ((p > 0).sum(axis=1) > 1).any():
        raise ConfigError("`slot_probs`: an item may have positive probability in one slot only")
    pools = [np.flatnonzero(p[:, k] > 0) for k in range(p.shape[1])]
    slates = np.array(list(itertools.product(*pools)), dtype=np.int64)
    probs = np.prod(p[slates, np.arange(p.shape[1])[None, :]], axis=1)
    return SlateDistribution(slates, probs / probs.sum(), int(p.shape[0]))


def policy_value(world: SlateWorld, policy: SlateDistribution) -> float:
    """Exact expected sum of slot rewards under ``policy``."""
    return float(policy.probs @ world.expected_reward(policy.slates).sum(axis=1))


def true_q(world: SlateWorld, target: SlateDistribution, slates: np.ndarray) -> np.ndarray:
    """The exact Cascade-DR model :math:`Q_k(s_{1:k}) = E_\\pi[\\sum_{l \\ge k} r_l | s_{1:k}]` for every
    item in slot ``k`` after the prefix ``slates[i, :k]``, shape (n, n_items, K) (0 where the target
    never shows that prefix). Exact under the cascade (and independent) click models."""
    s = np.asarray(slates)
    n, K = s.shape
    rew = world.expected_reward(target.slates)
    tail = np.cumsum(rew[:, ::-1], axis=1)[:, ::-1]  # sum_{l >= k} r_l of each target slate
    out = np.zeros((n, world.n_items, K))
    for i in range(n):
        for k in range(K):
            match = (target.slates[:, :k] == s[i, :k]).all(axis=1)
            for a in range(world.n_items):
                m = match & (target.slates[:, k] == a)
                mass = target.probs[m].sum()
                if mass > 0:
                    out[i, a, k] = target.probs[m] @ tail[m, k] / mass
    return out


def prefix_model(seed: int, n_items: int, low: float = 0.0, high: float = 1.0
                 ) -> Callable[[np.ndarray], np.ndarray]:
    """An arbitrary (wrong) Cascade-DR model: ``Q_k(s_{<k}, a)`` drawn uniformly in ``[low, high]``
    from a seed that depends only on ``(k, a, s_{<k})``, as a model of the prefix must.

    Returns a function of slates (n, K) -> (n, n_items, K).
    """

    def q(slates: np.ndarray) -> np.ndarray:
        s = np.asarray(slates)
        n, K = s.shape
        out = np.empty((n, n_items, K))
        cache: dict[tuple, float] = {}
        for i in range(n):
            for k in range(K):
                pre = tuple(int(v) for v in s[i, :k])
                for a in range(n_items):
                    key = (k, a, *pre)
                    if key not in cache:
                        cache[key] = float(np.random.default_rng([seed, k, a, *pre]).uniform(low, high))
                    out[i, a, k] = cache[key]
        return out

    return q


def enumerated_log(world: SlateWorld, logging: SlateDistribution, target: SlateDistribution,
                   q_hat: Callable[[np.ndarray], np.ndarray] | np.ndarray | None = None,
                   ) -> tuple[SlateLog, dict[str, Any], np.ndarray]:
    """Every (logged slate, click outcome) with its probability, and the target's inputs.

    Returns
    -------
    log : SlateLog
        One row per (slate with ``logging`` probability > 0, click outcome), with ``pscore``,
        ``pscore_marginal`` and ``pscore_cascade`` of the logging policy and the exact
        ``expected_reward``.
    inputs : dict
        ``pi_slate``, ``pi_marginal``, ``pi_cascade``, ``slot_dist``, ``cascade_dist``,
        ``logging_moment`` and, when ``q_hat`` is given (a function of the log's slates returning
        (n, n_items, K), or such an array), ``q_hat``, ``q_logged`` and ``q_pi``.
    probs : numpy.ndarray
        Probability of each row (sums to 1).
    """
    keep = logging.probs > 0
    slates, mu = logging.slates[keep], logging.probs[keep]
    rows, rewards, probs = [], [], []
    for s, p in zip(slates, mu):
        c, pc = world.clicks(s)
        rows.append(np.repeat(s[None, :], c.shape[0], axis=0))
        rewards.append(c)
        probs.append(p * pc)
    S = np.vstack(rows)
    R = np.vstack(rewards)
    P = np.concatenate(probs)
    K = S.shape[1]
    m_log = logging.marginals()
    log = SlateLog(slate=S, reward=R, pscore=logging.prob(S), pscore_marginal=m_log[S, np.arange(K)[None, :]],
                   pscore_cascade=logging.prefix_probs(S), n_items=world.n_items,
                   expected_reward=world.expected_reward(S))
    m_tgt = target.marginals()
    cond = target.conditionals(S)
    slot_dist = np.broadcast_to(m_tgt[None], (S.shape[0], *m_tgt.shape))
    inputs: dict[str, Any] = {
        "pi_slate": target.prob(S), "pi_marginal": m_tgt[S, np.arange(K)[None, :]],
        "pi_cascade": target.prefix_probs(S), "slot_dist": slot_dist, "cascade_dist": cond,
        "logging_moment": logging.moment(),
    }
    # rows whose prefix the target never shows have an all-zero conditional law: fill it with any
    # law (it is multiplied by a zero prefix weight) so the dense input stays a distribution
    empty = cond.sum(axis=1) == 0
    if empty.any():
        cond = cond.copy()
        i, k = np.nonzero(empty)
        cond[i, :, k] = 1.0 / world.n_items
        inputs["cascade_dist"] = cond
    if q_hat is not None:
        q = np.asarray(q_hat(S) if callable(q_hat) else q_hat, dtype=np.float64)
        inputs["q_hat"] = q
        idx = np.arange(S.shape[0])[:, None]
        inputs["q_logged"] = q[idx, S, np.arange(K)[None, :]]
        inputs["q_pi"] = np.einsum("iak,iak->ik", inputs["cascade_dist"], q)
    return log, inputs, P


def exact_moments(est: Any, log: SlateLog, probs: np.ndarray, **inputs: Any) -> tuple[float, float]:
    """Exact mean and variance of one slate's contribution to ``est`` given ``inputs``: the
    expectation, and ``n`` times the variance, of the estimate from ``n`` logged slates (for the
    estimators that are means of per-slate terms)."""
    c = est.contributions(log, **inputs)
    mean = float(probs @ c)
    return mean, float(probs @ (c - mean) ** 2)


def slate_problem(rng: np.random.Generator, n: int = 400) -> tuple[SlateLog, dict[str, Any]]:
    """A sampled log of ``n`` slates (5 items, slates of 3, cascade clicks, Plackett-Luce logging and
    target) with every input any slate estimator may need (reduced form, plus a reward model)."""
    world = SlateWorld(attractiveness=[0.6, 0.3, 0.45, 0.15, 0.5], examination=[1.0, 0.7, 0.5],
                       click_model="cascade")
    logging = plackett_luce([1.0, 1.2, 0.8, 1.1, 0.9], 3)
    target = plackett_luce([2.0, 0.5, 1.5, 0.4, 1.0], 3)
    q = 0.5 * true_q(world, target, logging.slates) + 0.05
    log, inputs, probs = enumerated_log(world, logging, target)
    # one row per slate with its click outcome drawn: rows are drawn by their probability
    idx = rng.choice(probs.size, size=n, p=probs)
    slate_of = {tuple(s): j for j, s in enumerate(logging.slates.tolist())}
    qs = q[[slate_of[tuple(s)] for s in log.slate[idx].tolist()]]
    K = log.slate_size
    cond = inputs["cascade_dist"][idx]
    out = {k: inputs[k][idx] for k in ("pi_slate", "pi_marginal", "pi_cascade")}
    out["q_logged"] = qs[np.arange(n)[:, None], log.slate[idx], np.arange(K)[None, :]]
    out["q_pi"] = np.einsum("iak,iak->ik", cond, qs)
    return log[idx], out
