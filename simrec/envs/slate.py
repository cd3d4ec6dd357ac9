"""``simrec/Slate-v0``: one session of one user; each step shows a slate of ``slate_size`` items.

Observation (float32): the user's observable features (``dim``), the mean embedding of the items
clicked so far this session (``dim``), then session step / max_steps, clicks per step so far and
the last watch fraction. Action: ``slate_size`` item ids (a ``MultiDiscrete`` over the catalog).
Every element of the action space is a valid action: a slot that repeats an item shown earlier in
the slate, or names an item not released yet, is an *empty slot* (nothing is shown there; it draws
no click and no exposure) and ``info["empty_slots"]`` counts them; with ``strict_slates=True`` such
slates raise :class:`~simrec.errors.InvalidActionError` instead. Reward: click or watch fraction.
The episode terminates when the user leaves and is truncated at ``session.max_steps``.
``info``: ``expected_reward`` (exact, of the shown slate), ``slot_expected_reward``,
``clicked_slot`` (-1 none), ``watch`` (watch fraction of the clicked item), ``user_id``,
``n_items_available``. Ground truth: ``env.unwrapped.truth``.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from ..errors import ConfigError
from ._base import OBS_BOUND, Core, SimrecEnv, SimrecVectorEnv, SlateActions, obs_box
from ._kernels import reset_session_stats, session_obs, session_stats

__all__ = ["SlateCore", "SlateEnv", "SlateVectorEnv"]


class SlateCore(SlateActions, Core):
    kind = "slate"
    n_extra_obs = 3
    skips_inactive_actions = True  # World.step validates the slates of active rows only

    def __init__(self, world, n_rows: int, strict_slates: bool = False) -> None:
        super().__init__(world, n_rows)
        if not isinstance(strict_slates, (bool, np.bool_)):
            raise ConfigError(f"`strict_slates` must be True or False; got {strict_slates!r}")
        self.strict = bool(strict_slates)
        d = world.config.dim
        self.K = world.config.slate_size
        self.max_steps = world.config.session.max_steps
        self.single_observation_space = obs_box(2 * d + self.n_extra_obs)
        self.single_action_space = gym.spaces.MultiDiscrete(np.full(self.K, world.n_items, dtype=np.int64))
        world.reset(np.zeros(n_rows, dtype=np.int64), 0)
        self.steps = np.zeros(n_rows, dtype=np.int64)
        self.clicks = np.zeros(n_rows)
        self.click_sum = np.zeros((n_rows, d))
        self.last_watch = np.zeros(n_rows)

    def start_rows(self, rows: np.ndarray, users: np.ndarray, seeds: np.ndarray) -> None:
        self.world.reset_rows(rows, users, seeds)
        self._reset_session(rows)

    def expected_reward(self, actions: np.ndarray) -> np.ndarray:
        return self.world.expected_slate_reward(actions, lenient=not self.strict)[0]

    def _reset_session(self, rows: np.ndarray) -> None:
        reset_session_stats(np.asarray(rows, dtype=np.int64), self.steps, self.clicks, self.click_sum,
                            self.last_watch)

    def _session_obs(self, out: np.ndarray) -> None:
        """Fill the first ``2 * dim + 3`` columns of ``out`` with the session observation."""
        session_obs(
            self.world.state.features, self.click_sum, self.clicks, self.steps, float(self.max_steps),
            self.last_watch, OBS_BOUND, out,
        )  # fmt: skip

    def observe(self) -> np.ndarray:
        out = np.empty((self.n_rows,) + self.single_observation_space.shape, dtype=np.float32)
        self._session_obs(out)
        return out

    def _slate_step(self, actions: np.ndarray, active: np.ndarray):
        users = self.world.state.users.copy()
        # item ids and repeats are checked there, before any change (or, lenient, made empty slots)
        fb = self.world.step(actions, active, lenient=not self.strict)
        session_stats(
            active, fb.clicked_item, fb.watch, self.world.catalog.embedding,
            self.steps, self.clicks, self.click_sum, self.last_watch,
        )  # fmt: skip
        info = {
            "expected_reward": fb.expected_reward,
            "slot_expected_reward": fb.slot_expected_reward,
            "clicked_slot": fb.clicked_slot,
            "watch": fb.watch,
            "user_id": users,
            "n_items_available": np.full(self.n_rows, self.world.n_available, dtype=np.int64),
        }
        if fb.empty_slots is not None:
            info["empty_slots"] = fb.empty_slots
        return fb, info

    def step(self, actions: np.ndarray, active: np.ndarray):
        fb, info = self._slate_step(actions, active)
        term = fb.left & active
        trunc = (self.steps >= self.max_steps) & ~term & active
        return fb.reward, term, trunc, info


class SlateEnv(SimrecEnv):
    """Single-episode ``simrec/Slate-v0`` (see the module docstring)."""

    core_class = SlateCore


class SlateVectorEnv(SimrecVectorEnv):
    """Natively batched ``simrec/Slate-v0``."""

    core_class = SlateCore
