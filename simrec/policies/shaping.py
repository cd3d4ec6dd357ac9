"""Reward shaping hooks: learn from a shaped reward while the environment still reports the raw one.

A shaping function maps one batch of feedback to the reward the learner sees::

    shaped = fn(obs, actions, rewards, next_obs=..., terminated=..., info=...)

Learners take ``reward_fn=`` (None = raw reward), so shaped and raw training can be compared with
the same loop (:func:`simrec.policies.run_online` always reports the raw reward).

Built-ins, for ``Slate-v0`` / ``Retention-v0`` observations (user features ``d``, clicked-item mean
``d``, then session step, clicks per step, last watch fraction, ...):

* :func:`watch_time`: the watch fraction of the clicked item (consumption, not clicks);
* :func:`satisfaction_proxy`: ``reward + weight * (watch - 0.5)`` on clicks, a long-term
  satisfaction proxy: clicks on items that are abandoned are worth less than clicks that are watched.
* :func:`retention_bonus`: ``reward - penalty`` when the user churns (``info["churned"]``).

References
----------
Ng, A. Y., Harada, D. and Russell, S. (1999). Policy invariance under reward transformations.
*ICML*. Wang, Y. et al. (2022). Surrogate for long-term user experience in recommender systems. *KDD*.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["RewardFn", "watch_time", "satisfaction_proxy", "retention_bonus", "shape"]

RewardFn = Callable[..., np.ndarray]


def _watch(next_obs: np.ndarray, user_dim: int) -> np.ndarray:
    return np.asarray(next_obs, dtype=np.float64)[:, 2 * user_dim + 2]


def watch_time(user_dim: int = 16) -> RewardFn:
    """Shaped reward = watch fraction of the clicked item (0 without a click)."""

    def fn(obs: np.ndarray, actions: np.ndarray, rewards: np.ndarray, *, next_obs: np.ndarray,
           **_: Any) -> np.ndarray:
        return np.where(rewards > 0, _watch(next_obs, user_dim), 0.0)

    return fn


def satisfaction_proxy(weight: float = 1.0, user_dim: int = 16) -> RewardFn:
    """Shaped reward = ``reward + weight * (watch - 0.5)`` on clicks (raw reward otherwise)."""

    def fn(obs: np.ndarray, actions: np.ndarray, rewards: np.ndarray, *, next_obs: np.ndarray,
           **_: Any) -> np.ndarray:
        return rewards + np.where(rewards > 0, weight * (_watch(next_obs, user_dim) - 0.5), 0.0)

    return fn


def retention_bonus(penalty: float = 5.0) -> RewardFn:
    """Shaped reward = ``reward - penalty`` on the step where the user churns."""

    def fn(obs: np.ndarray, actions: np.ndarray, rewards: np.ndarray, *, info: dict | None = None,
           **_: Any) -> np.ndarray:
        churned = np.asarray((info or {}).get("churned", np.zeros(len(rewards), bool)), dtype=bool)
        return rewards - penalty * churned

    return fn


def shape(reward_fn: RewardFn | None, obs: np.ndarray, actions: np.ndarray, rewards: np.ndarray,
          feedback: dict[str, Any]) -> np.ndarray:
    """Apply ``reward_fn`` (identity when None) and check the result."""
    if reward_fn is None:
        return rewards
    out = np.asarray(reward_fn(obs, actions, rewards, **feedback), dtype=np.float64)
    if out.shape != rewards.shape or not np.isfinite(out).all():
        from ..errors import InvalidPolicyInputError

        raise InvalidPolicyInputError(f"`reward_fn` must return {rewards.shape[0]} finite rewards; got {out.shape}")
    return out
