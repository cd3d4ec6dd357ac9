"""``simrec/Messaging-v0``: each day, which item to notify a user about, or none.

Action: 0 = no notification, ``a > 0`` = notify about item ``a - 1``. A sent notification opens
with a probability that rises with relevance and falls with the recent notification load; opens
start a visit; each send raises the load and, with it, the risk of unsubscribing (after which
notifications are not delivered). Users also visit on their own. Reward: 1 for a day with a visit.
Episode: ``horizon_days`` days (truncated). Observation (float32): features (``dim``), load,
unsubscribed, days since the last visit / 7, day / horizon, visits per day so far.
``info``: ``expected_reward`` (exact P(visit)), ``opened``, ``visited``, ``unsubscribed``, ``user_id``.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from .._validation import check_int
from ..errors import ConfigError
from ._base import Core, SimrecEnv, SimrecVectorEnv, check_int_actions, obs_box, stack_obs

__all__ = ["MessagingCore", "MessagingEnv", "MessagingVectorEnv"]


class MessagingCore(Core):
    kind = "messaging"
    action_offset = 1  # action 0 = no notification; a > 0 notifies about item a - 1

    def __init__(self, world, n_rows: int, horizon_days: int = 30) -> None:
        super().__init__(world, n_rows)
        self.horizon_days = check_int(horizon_days, name="horizon_days", minimum=1, error=ConfigError)
        d = world.config.dim
        self.single_observation_space = obs_box(d + 5)
        self.single_action_space = gym.spaces.Discrete(world.n_items + 1)
        world.reset(np.zeros(n_rows, dtype=np.int64), 0)
        self.day = np.zeros(n_rows, dtype=np.int64)
        self.visits = np.zeros(n_rows)
        self.since_visit = np.zeros(n_rows)

    def start_rows(self, rows: np.ndarray, users: np.ndarray, seeds: np.ndarray) -> None:
        self.world.reset_rows(rows, users, seeds)
        self.day[rows] = 0
        self.visits[rows] = 0.0
        self.since_visit[rows] = 0.0

    def observe(self) -> np.ndarray:
        s = self.world.state
        cols = [
            s.features,
            s.load[:, None],
            s.unsub[:, None].astype(np.float64),
            (self.since_visit / 7.0)[:, None],
            (self.day / self.horizon_days)[:, None],
            (self.visits / np.maximum(self.day, 1))[:, None],
        ]
        return stack_obs(cols)

    def check_actions(self, actions: Any) -> np.ndarray:
        return check_int_actions(actions, (self.n_rows,), self.world.n_available + 1)

    def dummy_action(self) -> np.ndarray:
        return np.int64(0)

    def sample_action(self, rng: np.random.Generator) -> np.ndarray:
        return np.int64(rng.integers(self.world.n_available + 1))

    def expected_reward(self, actions: np.ndarray) -> np.ndarray:
        return self.world.expected_visit(actions - 1)

    def step(self, actions: np.ndarray, active: np.ndarray):
        users = self.world.state.users.copy()
        nf = self.world.notify(actions - 1, active)
        self.world.advance_clock()
        self.day[active] += 1
        self.visits += nf.visited
        self.since_visit = np.where(nf.visited, 0.0, self.since_visit + active)
        trunc = (self.day >= self.horizon_days) & active
        info = {
            "expected_reward": nf.expected_reward,
            "opened": nf.opened,
            "visited": nf.visited,
            "unsubscribed": nf.unsubscribed,
            "user_id": users,
        }
        return nf.visited.astype(np.float64), np.zeros(self.n_rows, dtype=bool), trunc, info


class MessagingEnv(SimrecEnv):
    """Single-episode ``simrec/Messaging-v0`` (see the module docstring)."""

    core_class = MessagingCore


class MessagingVectorEnv(SimrecVectorEnv):
    """Natively batched ``simrec/Messaging-v0``."""

    core_class = MessagingCore
