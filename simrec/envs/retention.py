"""``simrec/Retention-v0``: one user over ``horizon_days`` days of sessions (the long term).

Each step shows a slate, as in ``Slate-v0`` (repeated or unreleased items are empty slots unless
``strict_slates=True``). When the user leaves (or the session reaches
``session.max_steps``) the session ends: the user returns after a gap in days that shrinks with
satisfaction, or churns (terminated). The episode is truncated when the next session would start
after ``horizon_days``. The sum of rewards is the long-term engagement: a click-greedy policy
that buys clicks with low-quality items loses it through shorter sessions, longer gaps and churn.

Observation: ``Slate-v0``'s, plus day / horizon, sessions so far / horizon and the last gap / 7.
``info`` adds ``session_ended``, ``gap_days``, ``churned`` and ``day``.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_int
from ..errors import ConfigError
from ._base import SimrecEnv, SimrecVectorEnv, clip_obs
from .slate import SlateCore

__all__ = ["RetentionCore", "RetentionEnv", "RetentionVectorEnv"]


class RetentionCore(SlateCore):
    kind = "retention"
    n_extra_obs = 6

    def __init__(self, world, n_rows: int, horizon_days: int = 30, strict_slates: bool = False) -> None:
        self.horizon_days = check_int(horizon_days, name="horizon_days", minimum=1, error=ConfigError)
        super().__init__(world, n_rows, strict_slates=strict_slates)
        self.day = np.zeros(n_rows, dtype=np.int64)
        self.sessions = np.zeros(n_rows, dtype=np.int64)
        self.last_gap = np.zeros(n_rows, dtype=np.int64)

    def start_rows(self, rows: np.ndarray, users: np.ndarray, seeds: np.ndarray) -> None:
        super().start_rows(rows, users, seeds)
        self.day[rows] = 0
        self.sessions[rows] = 0
        self.last_gap[rows] = 0

    def observe(self) -> np.ndarray:
        out = np.empty((self.n_rows,) + self.single_observation_space.shape, dtype=np.float32)
        self._session_obs(out)
        out[:, -3] = self.day / self.horizon_days
        out[:, -2] = self.sessions / self.horizon_days
        out[:, -1] = self.last_gap / 7.0
        return clip_obs(out)  # the last columns may pass the bound

    def step(self, actions: np.ndarray, active: np.ndarray):
        fb, info = self._slate_step(actions, active)
        ended = (fb.left | (self.steps >= self.max_steps)) & active
        se = self.world.end_session(ended)
        self.day += np.where(ended, se.gap_days, 0)
        self.sessions += ended
        self.last_gap = np.where(ended, se.gap_days, self.last_gap)
        rows = np.flatnonzero(ended)
        if rows.size:
            self._reset_session(rows)
        term = se.churned & ended
        trunc = ended & ~term & (self.day >= self.horizon_days)
        info.update(session_ended=ended, gap_days=se.gap_days, churned=se.churned, day=self.day.copy())
        return fb.reward, term, trunc, info


class RetentionEnv(SimrecEnv):
    """Single-episode ``simrec/Retention-v0`` (see the module docstring)."""

    core_class = RetentionCore


class RetentionVectorEnv(SimrecVectorEnv):
    """Natively batched ``simrec/Retention-v0``."""

    core_class = RetentionCore
