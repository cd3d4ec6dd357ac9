"""``simrec/Bandit-v0``: one item per round to a user drawn fresh from the population.

Observation: the user's observable features (float32, ``dim``). Action: an item id.
Reward: click (or watch fraction), drawn from the simulator; ``info["expected_reward"]`` is its
exact expectation, ``info["user_id"]`` the (observable) user id, ``info["n_items_available"]`` the
items released so far. An episode is ``horizon`` rounds;
users are static (a contextual bandit), so a policy's exact value is available by enumeration:
``env.unwrapped.truth.policy_value(policy)``.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from .._validation import check_int
from ..errors import ConfigError
from ..streams import GOLDEN, mix64_np
from ._base import Core, SimrecEnv, SimrecVectorEnv, check_int_actions, obs_box, stack_obs

__all__ = ["BanditCore", "BanditEnv", "BanditVectorEnv"]


class BanditCore(Core):
    kind = "bandit"

    def __init__(self, world, n_rows: int, horizon: int = 100, with_optimal: bool = False) -> None:
        super().__init__(world, n_rows)
        self.horizon = check_int(horizon, name="horizon", minimum=1, error=ConfigError)
        self.with_optimal = bool(with_optimal)
        d = world.config.dim
        self.single_observation_space = obs_box(d)
        self.single_action_space = gym.spaces.Discrete(world.n_items)
        self.world.reset(np.zeros(n_rows, dtype=np.int64), 0)
        self.t = np.zeros(n_rows, dtype=np.int64)
        self.ep_key = np.zeros(n_rows, dtype=np.uint64)
        self._best: tuple[np.ndarray, np.ndarray] | None = None

    def _draw_users(self, rows: np.ndarray) -> None:
        """Round ``t`` of row b: user and stream are pure functions of (episode key, t)."""
        with np.errstate(over="ignore"):
            z = mix64_np(self.ep_key[rows] + self.t[rows].astype(np.uint64) * GOLDEN)
        users = (z % np.uint64(self.world.n_users)).astype(np.int64)
        seeds = (mix64_np(z) >> np.uint64(2)).astype(np.int64)
        self.world.reset_rows(rows, users, seeds)

    def reset_rows(self, rows: np.ndarray, seeds: np.ndarray) -> None:
        self.ep_key[rows] = mix64_np(np.asarray(seeds, dtype=np.int64).astype(np.uint64))
        self.t[rows] = 0
        self._draw_users(rows)

    def start_rows(self, rows: np.ndarray, users: np.ndarray, seeds: np.ndarray) -> None:
        self.ep_key[rows] = mix64_np(np.asarray(seeds, dtype=np.int64).astype(np.uint64))
        self.t[rows] = 0
        self.world.reset_rows(rows, users, seeds)

    def expected_reward(self, actions: np.ndarray) -> np.ndarray:
        return self.world.expected_slate_reward(actions[:, None])[0]

    def observe(self) -> np.ndarray:
        return stack_obs([self.world.state.features])

    def check_actions(self, actions: Any) -> np.ndarray:
        return check_int_actions(actions, (self.n_rows,), self.world.n_items)

    def dummy_action(self) -> np.ndarray:
        return np.int64(0)

    def sample_action(self, rng: np.random.Generator) -> np.ndarray:
        return np.int64(rng.integers(self.world.n_available))

    def _best_now(self, users: np.ndarray) -> np.ndarray:
        """Best expected reward of a released item for each of ``users`` (static users: the row maxima
        of :meth:`initial_reward_matrix`, kept while that matrix is)."""
        R = self.initial_reward_matrix()
        if self._best is None or self._best[0] is not R:
            self._best = (R, R.max(axis=1))
        return self._best[1][users]

    def step(self, actions: np.ndarray, active: np.ndarray):
        state = self.world.state
        users = state.users.copy()
        fb = self.world.step(actions[:, None], active)
        info = {
            "expected_reward": fb.expected_reward,
            "user_id": users,
            "n_items_available": np.full(self.n_rows, self.world.n_available, dtype=np.int64),
        }
        if self.with_optimal:
            info["optimal_expected_reward"] = self._best_now(users)
        self.t[active] += 1
        trunc = self.t >= self.horizon
        rows = np.flatnonzero(active & ~trunc)
        if rows.size:
            self._draw_users(rows)
        return fb.reward, np.zeros(self.n_rows, dtype=bool), trunc & active, info


class BanditEnv(SimrecEnv):
    """Single-episode ``simrec/Bandit-v0`` (see the module docstring)."""

    core_class = BanditCore


class BanditVectorEnv(SimrecVectorEnv):
    """Natively batched ``simrec/Bandit-v0``."""

    core_class = BanditCore
