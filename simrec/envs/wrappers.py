"""Wrappers that fit simrec envs to agents that know nothing of slates."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

__all__ = ["DistinctSlate"]


class DistinctSlate(gym.ActionWrapper):
    """Make any ``MultiDiscrete`` slate valid for ``Slate-v0`` / ``Retention-v0``.

    Generic agents (e.g. stable-baselines3's PPO) choose each slot of a ``MultiDiscrete`` action
    independently, so slates may repeat an item, which simrec envs reject. This wrapper keeps the
    first occurrence of each item and replaces each repeat by the lowest item id not in the slate.
    The agent's action space is unchanged.
    """

    def action(self, action: Any) -> np.ndarray:
        slate = np.asarray(action, dtype=np.int64).copy()
        seen: set[int] = set()
        taken = set(slate.tolist())
        spare = (i for i in range(int(np.asarray(self.action_space.nvec).ravel()[0])) if i not in taken)
        for k, item in enumerate(slate.tolist()):
            if item in seen:
                slate[k] = next(spare)
            seen.add(int(slate[k]))
        return slate
