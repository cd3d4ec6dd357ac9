"""The ground-truth interface of every simrec environment: ``env.unwrapped.truth``.

Policies, sweeps and checks reach the simulator's truth only through this object, never through an
env's internals. It offers

* what a recommender may know: :meth:`Truth.user_features` (the population's observable
  features), :meth:`Truth.item_features`, :meth:`Truth.item_topics`, :meth:`Truth.item_texts`,
  :attr:`Truth.n_items`,
  :attr:`Truth.n_available` (items released so far), :attr:`Truth.action_offset` (1 for
  ``Messaging-v0``, whose action 0 means "send nothing"), :attr:`Truth.slate_size`;
* exact expectations for the current rows: :meth:`Truth.expected_reward` of any action and
  :meth:`Truth.expected_rewards_now` of every item;
* exact policy values where they can be enumerated (:meth:`Truth.policy_value`: ``Bandit-v0``
  over the whole population; the first step of a ``Slate-v0`` session for deterministic
  policies, and for stochastic ones with exact slate propensities when the slates can be listed);
* :meth:`Truth.rollout`: the value over whole episodes from seeded rollouts with common random
  numbers and a standard error, with the long-term outcomes (clicks and watch time per user,
  sessions per user, share retained, unsubscribes).

>>> import gymnasium as gym, simrec
>>> env = gym.make("simrec/Bandit-v0", world={"preset": "static", "population": {"n_users": 50}})
>>> truth = env.unwrapped.truth
>>> truth.kind, truth.n_available > 0
('bandit', True)
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._validation import check_int
from ..errors import ConfigError, InvalidObservationError, NotSupportedError

__all__ = ["Truth", "RolloutValue"]

_MAX_ENUMERATED = 5_000_000  # user x slate pairs :meth:`Truth.policy_value` enumerates at most


@dataclass(frozen=True)
class RolloutValue:
    """A policy's value from seeded rollouts of whole episodes.

    Attributes
    ----------
    value : float
        Mean per-episode sum of the exact expected step rewards along the simulated trajectories
        (an unbiased, lower-variance version of the mean return).
    stderr : float
        Its standard error across episodes (episodes are independent users).
    n : int
        Episodes.
    outcomes : dict
        ``name -> (mean, stderr)`` per episode: ``return`` (realised rewards), ``steps``, and by env
        ``clicks``, ``watch``, ``sessions``, ``retained`` (share not churned at the horizon),
        ``visits``, ``opens``, ``unsubscribed`` (share).
    returns : numpy.ndarray
        The per-episode values.
    """

    value: float
    stderr: float
    n: int
    outcomes: dict[str, tuple[float, float]] = field(default_factory=dict)
    returns: np.ndarray | None = None

    def ci(self, z: float = 1.959964) -> tuple[float, float]:
        """Normal interval ``value +/- z stderr``."""
        return self.value - z * self.stderr, self.value + z * self.stderr


def _mean_se(x: np.ndarray) -> tuple[float, float]:
    x = np.asarray(x, dtype=np.float64)
    se = float(x.std(ddof=1) / math.sqrt(x.size)) if x.size > 1 else float("inf")
    return float(x.mean()), se


def _act(policy: Any, obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if hasattr(policy, "act"):
        return np.asarray(policy.act(obs, rng)[0])
    if callable(policy):
        return np.asarray(policy(obs))
    raise ConfigError(f"`policy` must have act(obs, rng) or be a callable obs -> actions; got {type(policy).__name__}")


class Truth:
    """Ground truth of one simrec env (single or vector): see the module docstring.

    Built by the env; ``make_vector(n)`` returns a fresh vector env of the same kind and world
    with ``n`` sub-envs (for rollouts that leave the env itself untouched).
    """

    def __init__(self, core: Any, make_vector: Callable[[int], Any], kind: str) -> None:
        self._core = core
        self._make_vector = make_vector
        self.kind = kind

    # -- what a recommender may know ----------------------------------------------------------------
    @property
    def n_rows(self) -> int:
        """Rows (sub-envs) of the env."""
        return int(self._core.n_rows)

    @property
    def n_items(self) -> int:
        """Catalog capacity (items released now and later)."""
        return int(self._core.world.n_items)

    @property
    def n_available(self) -> int:
        """Items released so far."""
        return int(self._core.world.n_available)

    @property
    def n_users(self) -> int:
        """Users in the population."""
        return int(self._core.world.n_users)

    @property
    def action_offset(self) -> int:
        """How many action ids precede the item ids (1 for ``Messaging-v0``: 0 = no notification)."""
        return int(getattr(self._core, "action_offset", 0))

    @property
    def slate_size(self) -> int | None:
        """Items per action (None for single-item actions)."""
        return getattr(self._core, "K", None)

    def item_features(self) -> np.ndarray:
        """Observable item features (n_items, dim), float64: each item's content embedding."""
        return np.asarray(self._core.world.item_features, dtype=np.float64)

    def item_texts(self) -> list[str]:
        """The catalog text (title and description) of every released item."""
        cat = self._core.world.catalog
        return [cat.text(i) for i in range(self.n_available)]

    def item_topics(self) -> np.ndarray:
        """Topic id of each item (n_items,), int64: a discrete content feature (e.g. MIPS's embedding)."""
        return np.asarray(self._core.world.catalog.topic, dtype=np.int64).copy()

    def user_features(self) -> np.ndarray:
        """Observable features of every user of the population (n_users, dim), float32."""
        return np.asarray(self._core.world.population.features, dtype=np.float32)

    def current_users(self) -> np.ndarray:
        """User id of each row now."""
        return self._core.world.state.users.copy()

    def users_of(self, obs: Any) -> np.ndarray:
        """The users whose observable features start each row of ``obs`` (static populations only:
        a user's features identify them). Raises :class:`InvalidObservationError` for rows that
        match no user."""
        X = np.asarray(obs, dtype=np.float32)
        if X.ndim != 2:
            raise InvalidObservationError(f"`obs` must be 2-D (rows, features); got shape {X.shape}")
        cached = self.__dict__.get("_user_lookup")
        if cached is None:  # features of a static population never change: build the map once
            from ._base import OBS_BOUND  # here: _base imports this module

            feats = np.clip(self.user_features(), -OBS_BOUND, OBS_BOUND)  # as the observations clip them
            cached = self._user_lookup = ({row.tobytes(): u for u, row in enumerate(feats)}, feats.shape[1])
        lookup, d = cached
        if X.shape[1] < d:
            raise InvalidObservationError(f"`obs` must have at least {d} columns (user features); got {X.shape[1]}")
        out = np.empty(X.shape[0], dtype=np.int64)
        for i, row in enumerate(np.ascontiguousarray(X[:, :d])):
            u = lookup.get(row.tobytes())
            if u is None:
                raise InvalidObservationError(f"row {i} of `obs` is not a user of this world")
            out[i] = u
        return out

    def random_action(self, rng: np.random.Generator) -> np.ndarray:
        """A uniformly random valid single action (released items; distinct items in a slate)."""
        return self._core.sample_action(rng)

    # -- exact expectations --------------------------------------------------------------------------
    def expected_reward(self, actions: Any) -> np.ndarray:
        """Exact expected reward (n_rows,) of ``actions`` (one per row) for the rows in their current
        state, changing nothing: an item id (Bandit-v0), a slate (Slate-v0, Retention-v0), or an
        action of Messaging-v0 (0 = none, P(visit) of the day)."""
        return self._core.expected_reward(self._core.check_actions(np.asarray(actions)))

    def expected_rewards_now(self) -> np.ndarray:
        """(n_rows, n_available): exact expected reward of each released item shown alone at the first
        slot to each row in its current state."""
        return self._core.world.expected_rewards_now()

    def expected_reward_matrix(self) -> np.ndarray:
        """(n_users, n_available), read-only: exact expected reward of each item shown alone at the
        first slot to each user in the initial state (a static bandit's whole truth)."""
        return self._core.initial_reward_matrix()

    # -- policy values -------------------------------------------------------------------------------
    def policy_value(self, policy: Any, *, max_enumerated: int = _MAX_ENUMERATED) -> float:
        """Exact value of a frozen ``policy`` where it can be enumerated.

        * ``Bandit-v0``: :math:`\\frac1{|U|}\\sum_u \\sum_a \\pi(a|x_u) E[r|u,a]` over every user,
          from ``policy.action_probs`` of the population's features (or ``policy`` may be that
          (n_users, n_available) array itself).
        * ``Slate-v0``: the expected reward of the first step of a session, averaged over every user.
          Deterministic policies (``propensity_type == "deterministic"``) are asked for their slate;
          stochastic ones need ``slate_pscore(obs, slates)`` and a catalog small enough to list every
          slate (``n_users x slates <= max_enumerated``). Slates are read as the env reads them: a
          repeated or unreleased item is an empty slot (an error with ``strict_slates=True``).

        Other envs (and larger slate worlds) raise :class:`NotSupportedError`: use :meth:`rollout`.
        """
        if self.kind == "bandit":
            R = self.expected_reward_matrix()
            probs = policy if isinstance(policy, np.ndarray) else policy.action_probs(self.user_features())
            p = np.asarray(probs, dtype=np.float64)
            if p.shape != R.shape:
                raise ConfigError(f"policy.action_probs must give shape {R.shape} (users, items); got {p.shape}")
            return float((p * R).sum(axis=1).mean())
        if self.kind != "slate":
            raise NotSupportedError(f"no exact value for {self.kind} envs: use truth.rollout(policy, ...)")
        return self._slate_value(policy, max_enumerated)

    def _first_obs(self) -> tuple[Any, np.ndarray]:
        """A fresh core whose rows are every user at the start of a session, and its observations."""
        core = self._make_vector(self.n_users).unwrapped._core
        users = np.arange(self.n_users, dtype=np.int64)
        core.start_rows(users, users, np.zeros(self.n_users, dtype=np.int64))
        return core, core.observe()

    def _slate_value(self, policy: Any, max_enumerated: int) -> float:
        core, obs = self._first_obs()
        world = core.world
        lenient = not getattr(core, "strict", False)  # the slates the env accepts: empty slots unless strict
        users = np.arange(self.n_users, dtype=np.int64)
        if getattr(policy, "propensity_type", None) == "deterministic":
            slates = _act(policy, obs, np.random.default_rng(0))
            return float(world.expected_slate_reward(slates.astype(np.int64), users, lenient=lenient)[0].mean())
        if not hasattr(policy, "slate_pscore"):
            raise NotSupportedError("a stochastic slate policy needs slate_pscore(obs, slates) for an exact value; "
                                    "use truth.rollout(policy, ...)")
        n, k = world.n_available, int(self.slate_size)
        count = math.perm(n, k)
        if count * self.n_users > max_enumerated:
            raise NotSupportedError(f"{count:,} slates x {self.n_users:,} users exceed max_enumerated="
                                    f"{max_enumerated:,}; use truth.rollout(policy, ...)")
        slates = np.array(list(itertools.permutations(range(n), k)), dtype=np.int64)
        total = np.zeros(self.n_users)
        mass = np.zeros(self.n_users)
        for u0 in range(0, self.n_users, max(1, 200_000 // count)):
            uu = users[u0:u0 + max(1, 200_000 // count)]
            rep_u = np.repeat(uu, count)
            rep_s = np.tile(slates, (uu.size, 1))
            p = np.asarray(policy.slate_pscore(obs[rep_u], rep_s), dtype=np.float64).reshape(uu.size, count)
            r = world.expected_slate_reward(rep_s, rep_u, lenient=lenient)[0].reshape(uu.size, count)
            total[uu] = (p * r).sum(axis=1)
            mass[uu] = p.sum(axis=1)
        bad = np.abs(mass - 1) > 1e-6
        if bad.any():
            u = int(np.flatnonzero(bad)[0])
            raise ConfigError(f"the policy's slate propensities sum to {mass[u]:.6g}, not 1, for user {u}")
        return float(total.mean())

    def rollout(self, policy: Any, n_episodes: int = 1000, *, seed: int = 0, act_seed: int | None = None,
                max_steps: int = 100_000) -> RolloutValue:
        """Value of ``policy`` over whole episodes from ``n_episodes`` seeded rollouts.

        A fresh vector env of this kind and world runs ``n_episodes`` sub-envs from ``seed`` (the
        same seed gives every policy the same users and random numbers: common random numbers); each
        runs one episode to its end (the env's own horizon). ``policy`` has ``act(obs, rng)`` (or is
        a callable ``obs -> actions``) and is not updated.
        """
        n = check_int(n_episodes, name="n_episodes", minimum=2, error=ConfigError)
        venv = self._make_vector(n)
        rng = np.random.default_rng(seed if act_seed is None else act_seed)
        obs, _ = venv.reset(seed=int(seed) % (2**62))
        live = np.ones(n, dtype=bool)
        acc: dict[str, np.ndarray] = {k: np.zeros(n) for k in ("value", "return", "steps")}
        extra: dict[str, np.ndarray] = {}
        for _ in range(check_int(max_steps, name="max_steps", minimum=1, error=ConfigError)):
            actions = _act(policy, obs, rng)
            nxt, reward, term, trunc, info = venv.step(actions)
            m = live.astype(np.float64)
            acc["value"] += m * np.asarray(info["expected_reward"], dtype=np.float64)
            acc["return"] += m * np.asarray(reward, dtype=np.float64)
            acc["steps"] += m
            for key, val in self._outcome_terms(info).items():
                extra.setdefault(key, np.zeros(n))
                extra[key] += m * val
            if "churned" in info:
                extra.setdefault("retained", np.ones(n))
                extra["retained"] = np.where(live & np.asarray(info["churned"], dtype=bool), 0.0, extra["retained"])
            if "unsubscribed" in info:
                extra.setdefault("unsub_any", np.zeros(n))
                extra["unsub_any"] = np.maximum(extra["unsub_any"], m * np.asarray(info["unsubscribed"], dtype=float))
            live &= ~(np.asarray(term) | np.asarray(trunc))
            obs = nxt
            if not live.any():
                break
        else:
            raise NotSupportedError(f"episodes did not end within max_steps={max_steps}")
        venv.close()
        outcomes = {"return": _mean_se(acc["return"]), "steps": _mean_se(acc["steps"])}
        for key, val in extra.items():
            outcomes["unsubscribed" if key == "unsub_any" else key] = _mean_se(val)
        value, se = _mean_se(acc["value"])
        return RolloutValue(value, se, n, outcomes, acc["value"])

    @staticmethod
    def _outcome_terms(info: dict[str, Any]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        if "clicked_slot" in info:
            out["clicks"] = (np.asarray(info["clicked_slot"]) >= 0).astype(np.float64)
        if "watch" in info:
            out["watch"] = np.asarray(info["watch"], dtype=np.float64)
        if "session_ended" in info:
            out["sessions"] = np.asarray(info["session_ended"], dtype=np.float64)
        if "opened" in info:
            out["opens"] = np.asarray(info["opened"], dtype=np.float64)
        if "visited" in info:
            out["visits"] = np.asarray(info["visited"], dtype=np.float64)
        return out
