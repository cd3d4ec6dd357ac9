"""stable-baselines3's PPO trains on the raw slate envs (no wrapper): every element of their
``MultiDiscrete`` action space is a valid action. Runs in CI (stable-baselines3 is a test extra)."""

from __future__ import annotations

import os

import gymnasium as gym
import numpy as np
import pytest

import simrec  # noqa: F401

if os.environ.get("CI"):
    import stable_baselines3  # noqa: F401 - in CI a missing test dependency fails the run
sb3 = pytest.importorskip("stable_baselines3", reason="test extra: pip install -e '.[dev]'")

WORLD = {"preset": "clickbait", "population": {"n_users": 200}, "catalog": {"n_items": 30}}


@pytest.mark.parametrize(("env_id", "kw"), [("simrec/Slate-v0", {}), ("simrec/Retention-v0", {"horizon_days": 5})])
def test_ppo_trains_on_the_raw_env(env_id, kw):
    env = gym.make(env_id, world=WORLD, **kw)
    model = sb3.PPO("MlpPolicy", env, n_steps=128, batch_size=64, n_epochs=1, seed=0, verbose=0)
    model.learn(total_timesteps=256)
    obs, _ = env.reset(seed=1)
    for _ in range(30):
        action, _ = model.predict(obs, deterministic=False)
        obs, r, te, tr, info = env.step(action)
        assert np.isfinite(r)
        assert 0 <= info["empty_slots"] < env.unwrapped.truth.slate_size
        if te or tr:
            obs, _ = env.reset()
    assert model.num_timesteps >= 256
