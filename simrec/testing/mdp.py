"""Small tabular MDPs with exact values, for testing sequential and distributional OPE.

:class:`TabularMDP` gives exact policy values and Q-functions (backward induction), the exact
distribution of the discounted return (forward enumeration), every possible trajectory with its
probability, and logged :class:`~simrec.data.Trajectories` sampled under a behaviour policy (with
its propensities).

:func:`graph_mdp` is the "Graph" environment of the COBS off-policy evaluation benchmark
(Voloshin, Le, Jiang & Yue, *Empirical Study of Off-Policy Policy Evaluation for Reinforcement
Learning*, NeurIPS 2021 Datasets & Benchmarks): state 0, then an upper and a lower state per
layer ``l = 1 .. L-1`` (ids ``2l-1`` and ``2l``), and an absorbing state ``2L-1``. From any state,
action 0 moves to the next layer's upper state with probability ``1 - slippage`` and action 1 with
probability ``slippage``. Entering an upper state pays +1, a lower one -1; the last step (into the
absorbing state) pays +1 from an upper state and -1 otherwise. Episodes last ``L`` steps; a policy
choosing action 0 with probability ``p0`` everywhere has value
:math:`(p_0 - 1/2) \\sum_{t<L} \\gamma^t`.

With ``aliased=True`` the observation is the layer only (upper and lower look the same): the
reward of the last step depends on the hidden state, so a model on observations (FQE, a tabular
model) is biased, while importance sampling is not (the ModelFail idea of Thomas & Brunskill 2016).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import as_rng
from ..data import Trajectories
from ..errors import ConfigError

__all__ = ["TabularMDP", "graph_mdp", "graph_policy"]


@dataclass(frozen=True, eq=False)
class TabularMDP:
    """A finite-horizon tabular MDP.

    Parameters
    ----------
    P : array (S, A, S)
        Transition probabilities.
    R : array (S, A, S)
        Reward of each transition.
    init : array (S,)
        Initial state distribution.
    horizon : int
        Maximum number of steps per episode.
    gamma : float
        Discount factor.
    obs : array (S, d)
        Observation of each state (what a logged row shows); one-hot of the state by default.
    terminal : array (S,) of bool, optional
        Entering a terminal state ends the episode.
    """

    P: np.ndarray
    R: np.ndarray
    init: np.ndarray
    horizon: int
    gamma: float = 1.0
    obs: np.ndarray | None = None
    terminal: np.ndarray | None = None

    def __post_init__(self) -> None:
        P = np.asarray(self.P, dtype=np.float64)
        if P.ndim != 3 or P.shape[0] != P.shape[2] or not np.allclose(P.sum(2), 1) or (P < 0).any():
            raise ConfigError("`P` must have shape (S, A, S) with rows that are probability distributions")
        S, A, _ = P.shape
        R = np.broadcast_to(np.asarray(self.R, dtype=np.float64), P.shape).copy()
        init = np.asarray(self.init, dtype=np.float64)
        if init.shape != (S,) or not np.isclose(init.sum(), 1) or (init < 0).any():
            raise ConfigError(f"`init` must be a distribution over the {S} states")
        obs = np.eye(S) if self.obs is None else np.asarray(self.obs, dtype=np.float64)
        if obs.ndim != 2 or obs.shape[0] != S:
            raise ConfigError(f"`obs` must have shape ({S}, d)")
        term = np.zeros(S, dtype=bool) if self.terminal is None else np.asarray(self.terminal, dtype=bool)
        for k, v in (("P", P), ("R", R), ("init", init), ("obs", obs), ("terminal", term)):
            object.__setattr__(self, k, v)

    @property
    def n_states(self) -> int:
        return int(self.P.shape[0])

    @property
    def n_actions(self) -> int:
        return int(self.P.shape[1])

    def _policy(self, pi: Any) -> np.ndarray:
        pi = np.asarray(pi, dtype=np.float64)
        if pi.ndim == 1:
            pi = np.broadcast_to(pi, (self.n_states, self.n_actions))
        if pi.shape != (self.n_states, self.n_actions) or not np.allclose(pi.sum(1), 1) or (pi < 0).any():
            raise ConfigError(f"a policy must have shape ({self.n_states}, {self.n_actions}) (or "
                              f"({self.n_actions},)) with rows that are distributions")
        return pi

    # -- exact quantities ------------------------------------------------------------------------
    def q_values(self, pi: Any) -> np.ndarray:
        """Exact :math:`Q^\\pi_t(s, a)` for ``t = 0 .. horizon-1``, shape (horizon, S, A)."""
        pi = self._policy(pi)
        cont = (~self.terminal).astype(np.float64)
        H = self.horizon
        q = np.zeros((H, self.n_states, self.n_actions))
        v_next = np.zeros(self.n_states)
        for t in range(H - 1, -1, -1):
            q[t] = np.einsum("sap,sap->sa", self.P, self.R) + self.gamma * np.einsum(
                "sap,p->sa", self.P, cont * v_next)
            v_next = (pi * q[t]).sum(1)
        return q

    def value(self, pi: Any) -> float:
        """Exact expected discounted return of ``pi`` over the horizon."""
        q0 = self.q_values(pi)[0]
        return float(self.init @ (self._policy(pi) * q0).sum(1))

    def return_distribution(self, pi: Any) -> tuple[np.ndarray, np.ndarray]:
        """Exact distribution of the discounted return: sorted support and probabilities."""
        pi = self._policy(pi)
        live: dict[tuple[int, float], float] = {(s, 0.0): float(p) for s, p in enumerate(self.init) if p > 0}
        done: dict[float, float] = {}
        for t in range(self.horizon):
            nxt: dict[tuple[int, float], float] = {}
            disc = self.gamma ** t
            for (s, g), pr in live.items():
                for a in range(self.n_actions):
                    for s2 in np.flatnonzero(self.P[s, a] > 0):
                        p = pr * pi[s, a] * self.P[s, a, s2]
                        if p == 0:
                            continue
                        key = round(g + disc * self.R[s, a, s2], 12)
                        if self.terminal[s2] or t == self.horizon - 1:
                            done[key] = done.get(key, 0.0) + p
                        else:
                            nxt[(int(s2), key)] = nxt.get((int(s2), key), 0.0) + p
            live = nxt
        support = np.array(sorted(done))
        return support, np.array([done[g] for g in support])

    # -- data ------------------------------------------------------------------------------------
    def sample(self, pi_b: Any, n_episodes: int, rng: int | np.random.Generator | None = None
               ) -> tuple[Trajectories, np.ndarray]:
        """Log ``n_episodes`` episodes under ``pi_b``; returns the log (with the behaviour
        propensities as ``pscore`` and ``meta["state"]``, the hidden state id of each row) and the
        state id array (N,)."""
        pi_b = self._policy(pi_b)
        g = as_rng(rng)
        n, H = int(n_episodes), self.horizon
        S, A = self.n_states, self.n_actions
        s = g.choice(S, size=n, p=self.init)
        alive = np.ones(n, dtype=bool)
        cols: dict[str, list[np.ndarray]] = {k: [] for k in ("ep", "t", "s", "a", "p", "r", "done")}
        cum_pb = pi_b.cumsum(1)
        cum_P = self.P.cumsum(2)
        for t in range(H):  # one vectorised step for all episodes
            idx = np.flatnonzero(alive)
            if idx.size == 0:
                break
            st = s[idx]
            a = (g.random(idx.size)[:, None] > cum_pb[st]).sum(1).clip(0, A - 1)
            s2 = (g.random(idx.size)[:, None] > cum_P[st, a]).sum(1).clip(0, S - 1)
            end = self.terminal[s2] | (t == H - 1)
            for k, v in (("ep", idx), ("t", np.full(idx.size, t)), ("s", st), ("a", a), ("p", pi_b[st, a]),
                         ("r", self.R[st, a, s2]), ("done", end)):
                cols[k].append(v)
            s[idx] = s2
            alive[idx[end]] = False
        cat = {k: np.concatenate(v) for k, v in cols.items()}
        order = np.lexsort((cat["t"], cat["ep"]))
        cat = {k: v[order] for k, v in cat.items()}
        log = Trajectories(episode=cat["ep"], obs=self.obs[cat["s"]], action=cat["a"], reward=cat["r"],
                           pscore=cat["p"], done=cat["done"], step=cat["t"], n_actions=A)
        return log, cat["s"]

    def enumerate(self, pi_b: Any) -> tuple[Trajectories, np.ndarray, np.ndarray]:
        """Every possible trajectory under ``pi_b`` as one log, with its probability (n_episodes,)
        and the state id of each row. For exact expectations of estimators on one-trajectory logs."""
        pi_b = self._policy(pi_b)
        paths: list[tuple[list[tuple[int, int, float, bool]], float]] = []

        def walk(s: int, t: int, rows: list, prob: float) -> None:
            for a in range(self.n_actions):
                if pi_b[s, a] == 0:
                    continue
                for s2 in np.flatnonzero(self.P[s, a] > 0):
                    p = prob * pi_b[s, a] * self.P[s, a, s2]
                    end = bool(self.terminal[s2]) or t == self.horizon - 1
                    row = rows + [(s, a, float(self.R[s, a, s2]), end)]
                    if end:
                        paths.append((row, p))
                    else:
                        walk(int(s2), t + 1, row, p)

        for s0 in np.flatnonzero(self.init > 0):
            walk(int(s0), 0, [], float(self.init[s0]))
        ep = np.concatenate([np.full(len(r), i) for i, (r, _) in enumerate(paths)])
        flat = [x for r, _ in paths for x in r]
        st = np.array([x[0] for x in flat])
        a = np.array([x[1] for x in flat])
        log = Trajectories(episode=ep, obs=self.obs[st], action=a, reward=np.array([x[2] for x in flat]),
                           pscore=pi_b[st, a], done=np.array([x[3] for x in flat]), n_actions=self.n_actions)
        return log, np.array([p for _, p in paths]), st


def graph_policy(p0: float, n_states: int) -> np.ndarray:
    """The Graph environment's state-independent policy: action 0 with probability ``p0``."""
    return np.tile([p0, 1.0 - p0], (n_states, 1))


def graph_mdp(n_layers: int = 4, *, slippage: float = 0.25, gamma: float = 0.98, aliased: bool = False) -> TabularMDP:
    """COBS's Graph environment with ``L = n_layers`` (see the module docstring).

    With ``aliased=True`` the observation is a one-hot of the layer, so upper and lower states of a
    layer look alike.
    """
    L = int(n_layers)
    if L < 2:
        raise ConfigError(f"`n_layers` must be >= 2; got {n_layers}")
    S = 2 * L
    absorbing = S - 1
    P = np.zeros((S, 2, S))
    R = np.zeros((S, 2, S))

    def layer(s: int) -> int:
        return 0 if s == 0 else (L if s == absorbing else (s + 1) // 2)

    for s in range(S):
        lv = layer(s)
        if s == absorbing:
            P[s, :, s] = 1.0
            continue
        if lv == L - 1:  # last step: into the absorbing state, paid by where we are
            P[s, :, absorbing] = 1.0
            R[s, :, absorbing] = 1.0 if s % 2 == 1 else -1.0
            continue
        up, low = 2 * (lv + 1) - 1, 2 * (lv + 1)
        for a, p_up in ((0, 1.0 - slippage), (1, slippage)):
            P[s, a, up], P[s, a, low] = p_up, 1.0 - p_up
            R[s, a, up], R[s, a, low] = 1.0, -1.0
    init = np.zeros(S)
    init[0] = 1.0
    if aliased:
        obs = np.zeros((S, L + 1))
        obs[np.arange(S), [layer(s) for s in range(S)]] = 1.0
    else:
        obs = np.eye(S)
    return TabularMDP(P=P, R=R, init=init, horizon=L, gamma=gamma, obs=obs)
