"""Shared fixtures: small simrec worlds so the policy tests stay fast."""

from __future__ import annotations

from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np
import pytest

import simrec  # noqa: F401  (registers the envs)

SMALL = {"preset": "default", "catalog": {"n_items": 30}, "population": {"n_users": 200}}
TINY_SLATE = {"preset": "default", "catalog": {"n_items": 12}, "slate_size": 3, "population": {"n_users": 50}}


class Small(NamedTuple):
    """A small batched env (``world_seed=0``) and the first observations of its reset at seed 0."""

    vec: Any
    obs: np.ndarray


def _small(env_id: str, num_envs: int, world: dict, n_obs: int) -> Small:
    vec = gym.make_vec(env_id, num_envs=num_envs, world=world, world_seed=0)
    obs, _ = vec.reset(seed=0)
    return Small(vec, obs[:n_obs])


@pytest.fixture(scope="module")
def bandit() -> Small:
    return _small("simrec/Bandit-v0", 8, SMALL, n_obs=4)


@pytest.fixture(scope="module")
def slate() -> Small:
    return _small("simrec/Slate-v0", 4, TINY_SLATE, n_obs=3)
