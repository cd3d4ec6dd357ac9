"""Shared fixtures: small simrec worlds so the policy tests stay fast."""

from __future__ import annotations

import gymnasium as gym
import pytest

import simrec  # noqa: F401  (registers the envs)

SMALL = {"preset": "default", "catalog": {"n_items": 30}, "population": {"n_users": 200}}
TINY_SLATE = {"preset": "default", "catalog": {"n_items": 12}, "slate_size": 3, "population": {"n_users": 50}}


@pytest.fixture(scope="module")
def bandit_vec():
    return gym.make_vec("simrec/Bandit-v0", num_envs=8, world=SMALL, world_seed=0)


@pytest.fixture(scope="module")
def bandit_obs(bandit_vec):
    obs, _ = bandit_vec.reset(seed=0)
    return obs[:4]


@pytest.fixture(scope="module")
def slate_vec():
    return gym.make_vec("simrec/Slate-v0", num_envs=4, world=TINY_SLATE, world_seed=0)


@pytest.fixture(scope="module")
def slate_obs(slate_vec):
    obs, _ = slate_vec.reset(seed=0)
    return obs[:3]
