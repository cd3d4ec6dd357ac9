"""Slate policies: Plackett-Luce sampling without replacement, and deterministic top-K.

A slate policy's ``act`` returns ``(slates (n, K), pscore (n,))`` where ``pscore`` is the probability
of the whole ordered slate; :meth:`slot_marginals` gives, for each shown item, the probability that
it appears in that slot (what per-slot OPE estimators use), ``action_probs`` the full per-slot
marginals ``(n, n_actions, K)``, :meth:`prefix_pscore` the probability of each slate's first ``k``
items (reward-interaction IPS and Cascade-DR) and :meth:`cascade_probs` the law of slot ``k`` given
the given slate's items above it (Cascade-DR's dense input).

Scores come from a callable ``f(obs) -> (n, n_actions)``, a fixed vector, or another policy (its
``score`` method, e.g. LinUCB's upper bounds or the oracle's exact rewards, else its
``action_probs``). When the score source learns, slate feedback is passed on item by item: each
shown item is one observation, rewarded 1 if it was the clicked one (``info["clicked_slot"]``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import check_int, check_positive, first_bad
from ..errors import InvalidPolicyInputError, NotSupportedError
from ._pl_kernels import pl_logged_marginals
from .base import BasePolicy

__all__ = ["PlackettLuce", "TopK", "plackett_luce_pscore", "plackett_luce_prefix_pscore", "plackett_luce_marginals"]

_E = InvalidPolicyInputError


def plackett_luce_pscore(weights: np.ndarray, slates: np.ndarray) -> np.ndarray:
    """Exact probability of each ordered slate under Plackett-Luce with normalised ``weights`` (n, A).

    .. math:: P(s_1, \\dots, s_K) = \\prod_{k=1}^K \\frac{w_{s_k}}{1 - \\sum_{j<k} w_{s_j}}
    """
    w = np.take_along_axis(weights, slates, axis=1)
    used = np.cumsum(w, axis=1) - w
    rest = np.maximum(1.0 - used, 1e-300)
    return np.exp(np.sum(np.log(np.maximum(w, 1e-300)) - np.log(rest), axis=1))


def plackett_luce_prefix_pscore(weights: np.ndarray, slates: np.ndarray) -> np.ndarray:
    """Probability of each slate's prefix ``slates[i, :k+1]`` under Plackett-Luce, shape (n, K)
    (the running product of the conditional choice probabilities; the last column is the slate's)."""
    w = np.take_along_axis(weights, slates, axis=1)
    used = np.cumsum(w, axis=1) - w
    rest = np.maximum(1.0 - used, 1e-300)
    return np.exp(np.cumsum(np.log(np.maximum(w, 1e-300)) - np.log(rest), axis=1))


def plackett_luce_marginals(weights: np.ndarray, K: int, max_prefixes: int = 200_000) -> np.ndarray:
    """Exact per-slot marginals ``P(item a in slot k)`` (n, A, K) by enumerating ordered prefixes.

    Raises :class:`~simrec.errors.NotSupportedError` when more than ``max_prefixes`` prefixes would be
    needed (use the Monte Carlo :meth:`PlackettLuce.slot_marginals` then).
    """
    n, A = weights.shape
    size = 1
    for k in range(K - 1):
        size *= max(A - k, 1)
    if size > max_prefixes:
        raise NotSupportedError(
            f"exact Plackett-Luce marginals need {size} prefixes per row (> {max_prefixes}); "
            "use slot_marginals (Monte Carlo for large catalogs)")
    out = np.zeros((n, A, K))
    for i in range(n):
        w = weights[i]
        prob = np.ones(1)
        used = np.zeros(1)
        mask = np.zeros((1, A), dtype=bool)
        for k in range(K):
            cond = np.where(mask, 0.0, w[None, :]) / np.maximum(1.0 - used, 1e-300)[:, None]
            out[i, :, k] = prob @ cond
            if k == K - 1:
                break
            pj, item = np.nonzero(~mask)
            prob = prob[pj] * cond[pj, item]
            used = used[pj] + w[item]
            mask = mask[pj].copy()
            mask[np.arange(item.size), item] = True
    return out


def _score_source(scores: Any, n_actions: int):
    """(fn(X) -> (n, A) scores, learner or None)."""
    if isinstance(scores, BasePolicy) or (hasattr(scores, "act") and hasattr(scores, "n_actions")):
        pol = scores
        if hasattr(pol, "score"):
            return (lambda X: np.asarray(pol.score(X), dtype=np.float64)), pol
        return (lambda X: np.log(np.maximum(np.asarray(pol.action_probs(X), dtype=np.float64), 1e-300))), pol
    if callable(scores):
        return (lambda X: np.asarray(scores(X), dtype=np.float64)), None
    W = np.asarray(scores, dtype=np.float64)
    if W.ndim == 1:
        return (lambda X: np.broadcast_to(W[:n_actions], (X.shape[0], n_actions))), None
    if W.ndim == 2:
        return (lambda X: X @ W), None
    raise _E(f"`scores` must be a callable, a policy, a vector or a matrix; got shape {W.shape}")


class _SlatePolicy(BasePolicy):
    is_slate = True

    def __init__(self, n_actions: int, slate_size: int, scores: Any, *, obs_dim: int | None,
                 rng: int | np.random.Generator | None) -> None:
        if obs_dim is None and isinstance(scores, BasePolicy):
            obs_dim = scores.obs_dim
        super().__init__(n_actions, obs_dim=obs_dim, rng=rng)
        self.slate_size = check_int(slate_size, name="slate_size", minimum=1, error=_E)
        if self.slate_size > self.n_actions:
            raise _E(f"`slate_size` ({self.slate_size}) cannot exceed n_actions ({self.n_actions})")
        self.scores = scores
        self._fn, self.learner = _score_source(scores, self.n_actions)

    def score(self, obs: Any) -> np.ndarray:
        """The item scores (n, n_actions); ``-inf`` excludes an item."""
        X, _ = self._check_obs(obs)
        s = np.asarray(self._fn(X), dtype=np.float64)
        if s.ndim == 2 and s.shape[0] == X.shape[0] and s.shape[1] > self.n_actions:
            s = s[:, : self.n_actions]  # items not released yet
        if s.shape != (X.shape[0], self.n_actions):
            raise _E(f"{type(self).__name__}: scores must have shape ({X.shape[0]}, {self.n_actions}); got {s.shape}")
        bad = np.isnan(s) | (s == np.inf)
        if bad.any():
            raise _E(f"{type(self).__name__}: scores must not be NaN or +inf; {first_bad(bad, s)}")
        if (np.isfinite(s).sum(axis=1) < self.slate_size).any():
            raise _E(f"{type(self).__name__}: fewer than slate_size={self.slate_size} items have finite scores")
        return s

    def _check_slates(self, slates: Any, n: int) -> np.ndarray:
        s = np.asarray(slates)
        if s.ndim == 1:
            s = s[None, :]
        if s.dtype.kind not in "iu" or s.shape != (n, self.slate_size):
            raise _E(f"`slates` must be integers of shape ({n}, {self.slate_size}); got {s.dtype} {s.shape}")
        bad = (s < 0) | (s >= self.n_actions)
        if bad.any():
            raise _E(f"`slates` must hold items in [0, {self.n_actions}); {first_bad(bad, s)}")
        srt = np.sort(s, axis=1)
        if (srt[:, 1:] == srt[:, :-1]).any():
            raise _E("`slates` must not repeat an item within a row")
        return s.astype(np.int64)

    def update(self, obs: Any, actions: Any, rewards: Any, propensities: Any = None, **feedback: Any) -> None:
        """Pass slate feedback on to a learning score source, one observation per shown item."""
        X, _ = self._check_obs(obs)
        s = self._check_slates(actions, X.shape[0])
        r = self._check_rewards(rewards, X.shape[0])
        if self.learner is None:
            return
        info = feedback.get("info") or {}
        slot = np.asarray(info.get("clicked_slot", np.where(r > 0, 0, -1)))
        K = self.slate_size
        y = np.zeros((X.shape[0], K))
        rows = np.flatnonzero(slot >= 0)
        y[rows, slot[rows]] = np.where(r[rows] > 0, r[rows], 1.0)
        self.learner.update(np.repeat(X, K, axis=0), s.ravel(), y.ravel())

    def grow(self, n_actions: int, item_features: np.ndarray | None = None) -> None:
        if self.learner is not None:
            self.learner.grow(n_actions, item_features)
        super().grow(n_actions, item_features)


class PlackettLuce(_SlatePolicy):
    """Plackett-Luce slates: items drawn one slot at a time without replacement, with probability
    proportional to :math:`w_a = \\exp(s(x, a) / \\tau)` among those not yet shown.

    Sampling uses the Gumbel top-K trick (exact). The slate propensity is exact
    (:func:`plackett_luce_pscore`); per-slot marginals are exact by enumeration for small catalogs and
    otherwise a Rao-Blackwellised Monte Carlo estimate (``marginal_type`` says which).

    Parameters
    ----------
    n_actions, slate_size : int
    scores : callable, array or policy
        See the module docstring.
    temperature : float
    mc_samples : int
        Prefix draws per row for Monte Carlo marginals (slots 2 and later of large catalogs).

    References
    ----------
    Plackett, R. L. (1975). The analysis of permutations. *JRSS C* 24, 193-202. Luce, R. D. (1959).
    *Individual Choice Behavior*. Kool, W., van Hoof, H. and Welling, M. (2019). Stochastic beams and
    where to find them: the Gumbel-top-k trick. *ICML*.
    """

    name = "plackett-luce"
    propensity_type = "exact"

    def __init__(self, n_actions: int, slate_size: int, scores: Any, *, temperature: float = 1.0,
                 mc_samples: int = 64, max_prefixes: int = 200_000, obs_dim: int | None = None,
                 rng: int | np.random.Generator | None = None) -> None:
        super().__init__(n_actions, slate_size, scores, obs_dim=obs_dim, rng=rng)
        self.temperature = check_positive(temperature, name="temperature", error=_E)
        self.mc_samples = check_int(mc_samples, name="mc_samples", minimum=1, error=_E)
        self.max_prefixes = check_int(max_prefixes, name="max_prefixes", minimum=1, error=_E)

    @property
    def marginal_type(self) -> str:
        """``"exact"`` when per-slot marginals are enumerated, else ``"monte-carlo"``."""
        size = 1
        for k in range(self.slate_size - 1):
            size *= self.n_actions - k
        return "exact" if size <= self.max_prefixes else "monte-carlo"

    def weights(self, obs: Any) -> np.ndarray:
        """Normalised Plackett-Luce weights (the slot-0 distribution), shape (n, n_actions)."""
        z = self.score(obs) / self.temperature
        z = z - z.max(axis=1, keepdims=True)
        w = np.exp(z)
        return w / w.sum(axis=1, keepdims=True)

    def action_probs(self, obs: Any, exact: bool | None = None) -> np.ndarray:
        """Per-slot marginals ``P(a in slot k)``, shape (n, n_actions, K).

        ``exact=True`` raises :class:`~simrec.errors.NotSupportedError` when enumeration is too large;
        ``None`` (default) falls back to Monte Carlo.
        """
        w = self.weights(obs)
        if exact or self.marginal_type == "exact":
            return plackett_luce_marginals(w, self.slate_size, self.max_prefixes)
        out = np.zeros((w.shape[0], self.n_actions, self.slate_size))
        for i in range(w.shape[0]):
            out[i] = self._mc_marginals(w[i], self.rng)
        return out

    def _sample(self, w: np.ndarray, rng: np.random.Generator, m: int | None = None) -> np.ndarray:
        K = self.slate_size
        shape = w.shape if m is None else (m, w.shape[-1])
        with np.errstate(divide="ignore"):
            g = np.log(w) + rng.gumbel(size=shape)
        top = np.argpartition(-g, K - 1, axis=-1)[..., :K]
        order = np.argsort(-np.take_along_axis(g, top, axis=-1), axis=-1, kind="stable")
        return np.take_along_axis(top, order, axis=-1).astype(np.int64)

    def _mc_marginals(self, w: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Rao-Blackwellised estimate: average over sampled prefixes of the exact next-slot law."""
        K, A = self.slate_size, w.shape[0]
        out = np.zeros((A, K))
        out[:, 0] = w
        if K == 1:
            return out
        pref = self._sample(w, rng, self.mc_samples)
        used = np.zeros(self.mc_samples)
        mask = np.zeros((self.mc_samples, A), dtype=bool)
        rows = np.arange(self.mc_samples)
        for k in range(1, K):
            used += w[pref[:, k - 1]]
            mask[rows, pref[:, k - 1]] = True
            cond = np.where(mask, 0.0, w[None, :]) / np.maximum(1.0 - used, 1e-300)[:, None]
            out[:, k] = cond.mean(axis=0)
        return out

    def act(self, obs: Any, rng: Any = None) -> tuple[np.ndarray, np.ndarray]:
        X, single = self._check_obs(obs)
        w = self.weights(X)
        s = self._sample(w, self._rng(rng))
        return self._out(s, plackett_luce_pscore(w, s), single)

    def act_with_marginals(self, obs: Any, rng: Any = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`act` and :meth:`slot_marginals` of the sampled slates from one scoring pass:
        ``(slates (n, K), slate propensities (n,), slot marginals (n, K))``."""
        X, _ = self._check_obs(obs)
        w = self.weights(X)
        s = self._sample(w, self._rng(rng))
        return s, plackett_luce_pscore(w, s), self._logged_marginals(w, s)

    def slate_pscore(self, obs: Any, slates: Any) -> np.ndarray:
        """Exact probability of given slates (n,)."""
        X, _ = self._check_obs(obs)
        return plackett_luce_pscore(self.weights(X), self._check_slates(slates, X.shape[0]))

    def prefix_pscore(self, obs: Any, slates: Any) -> np.ndarray:
        """Exact probability of each slate's first ``k + 1`` items, shape (n, K)."""
        X, _ = self._check_obs(obs)
        return plackett_luce_prefix_pscore(self.weights(X), self._check_slates(slates, X.shape[0]))

    def cascade_probs(self, obs: Any, slates: Any) -> np.ndarray:
        """Law of slot ``k`` given the items ``slates[i, :k]`` above it, shape (n, n_actions, K)."""
        X, _ = self._check_obs(obs)
        s = self._check_slates(slates, X.shape[0])
        w = self.weights(X)
        n, K = s.shape
        out = np.empty((n, self.n_actions, K))
        avail = w.copy()
        rows = np.arange(n)
        for k in range(K):
            out[:, :, k] = avail / np.maximum(avail.sum(axis=1, keepdims=True), 1e-300)
            avail[rows, s[:, k]] = 0.0
        return out

    def slot_marginals(self, obs: Any, slates: Any) -> np.ndarray:
        """``P(slates[i, k] in slot k | obs[i])``, shape (n, K), batched over rows.

        Exact by enumeration for small catalogs (``marginal_type == "exact"``); otherwise slots 0 and
        1 are exact (closed forms), rows with equal weights exact (``1 / n_actions``), and later slots
        a Rao-Blackwellised Monte Carlo estimate from ``mc_samples`` prefixes per row, in one numba
        pass (see :mod:`simrec.policies._pl_kernels`)."""
        X, _ = self._check_obs(obs)
        s = self._check_slates(slates, X.shape[0])
        return self._logged_marginals(self.weights(X), s)

    def _logged_marginals(self, w: np.ndarray, s: np.ndarray) -> np.ndarray:
        if self.marginal_type == "exact":
            full = plackett_luce_marginals(w, self.slate_size, self.max_prefixes)
            out = full[np.arange(w.shape[0])[:, None], s, np.arange(self.slate_size)[None, :]]
        else:
            out = np.empty(s.shape)
            keys = self.rng.integers(0, 2**63, size=w.shape[0], dtype=np.uint64)
            pl_logged_marginals(np.ascontiguousarray(w), np.ascontiguousarray(s), keys, self.mc_samples, out)
        return np.maximum(out, 1e-300)


class TopK(_SlatePolicy):
    """The ``slate_size`` highest-scoring items, best first (deterministic: propensity 1).

    Ties are broken by item id (a stable sort), so the slate is a function of the scores.
    """

    name = "topk"
    propensity_type = "deterministic"

    def __init__(self, n_actions: int, slate_size: int, scores: Any, *, obs_dim: int | None = None,
                 rng: int | np.random.Generator | None = None) -> None:
        super().__init__(n_actions, slate_size, scores, obs_dim=obs_dim, rng=rng)

    def _slates(self, X: np.ndarray) -> np.ndarray:
        s = self.score(X)
        return np.argsort(-s, axis=1, kind="stable")[:, : self.slate_size].astype(np.int64)

    def act(self, obs: Any, rng: Any = None) -> tuple[np.ndarray, np.ndarray]:
        X, single = self._check_obs(obs)
        s = self._slates(X)
        return self._out(s, np.ones(X.shape[0]), single)

    def action_probs(self, obs: Any) -> np.ndarray:
        """One-hot per-slot marginals (n, n_actions, K)."""
        X, _ = self._check_obs(obs)
        s = self._slates(X)
        out = np.zeros((X.shape[0], self.n_actions, self.slate_size))
        out[np.arange(X.shape[0])[:, None], s, np.arange(self.slate_size)[None, :]] = 1.0
        return out

    def slot_marginals(self, obs: Any, slates: Any) -> np.ndarray:
        """1 where ``slates[i, k]`` is the top-K item of slot k, else 0 (the policy never shows it there)."""
        X, _ = self._check_obs(obs)
        s = self._check_slates(slates, X.shape[0])
        return (s == self._slates(X)).astype(float)

    def slate_pscore(self, obs: Any, slates: Any) -> np.ndarray:
        X, _ = self._check_obs(obs)
        s = self._check_slates(slates, X.shape[0])
        return (s == self._slates(X)).all(axis=1).astype(float)

    def prefix_pscore(self, obs: Any, slates: Any) -> np.ndarray:
        """1 while ``slates[i, :k+1]`` is the top-K prefix, else 0, shape (n, K)."""
        X, _ = self._check_obs(obs)
        s = self._check_slates(slates, X.shape[0])
        return np.cumprod(s == self._slates(X), axis=1).astype(float)

    def cascade_probs(self, obs: Any, slates: Any) -> np.ndarray:
        """One-hot on the top-K item of slot ``k`` (a deterministic policy ignores the items above)."""
        return self.action_probs(obs)
