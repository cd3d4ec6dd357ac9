"""Ground truth: exact one-step expectations and seeded rollouts with common random numbers."""

from __future__ import annotations

import numpy as np
import pytest

from simrec.sim import World, presets


def _topk_policy(noise: float):
    def policy(world: World, active: np.ndarray) -> np.ndarray:
        R = world.expected_rewards_now()
        if noise:
            R = R + noise * np.sin(np.arange(R.shape[1]))[None, :]
        return np.argsort(-R, axis=1)[:, : world.config.slate_size]

    return policy


def _random_policy(world: World, active: np.ndarray) -> np.ndarray:
    u = np.random.default_rng(world.clock).random((len(world.state), world.n_available))
    return np.argsort(u, axis=1)[:, : world.config.slate_size]


@pytest.fixture(scope="module")
def world():
    return World(presets.get("default", **{"population.n_users": 300, "catalog.n_items": 100}), seed=1)


def test_expected_reward_matches_monte_carlo(world):
    users = np.repeat(np.arange(50), 2000)
    items = np.full_like(users, 7)
    world.reset(users, np.arange(users.size))
    fb = world.step(items[:, None])
    exact = world.expected_reward(np.arange(50), 7, 0)
    mc = fb.reward.reshape(50, 2000).mean(axis=1)
    se = np.sqrt(exact * (1 - exact) / 2000)
    assert np.all(np.abs(mc - exact) < 4.5 * se + 1e-9)


def test_policy_value_is_seeded_and_has_a_valid_stderr(world):
    a = world.policy_value(_topk_policy(0.0), n_users=400, horizon=10, seed=3)
    b = world.policy_value(_topk_policy(0.0), n_users=400, horizon=10, seed=3)
    assert a.value == b.value and np.array_equal(a.returns, b.returns)
    assert a.stderr == pytest.approx(a.returns.std(ddof=1) / np.sqrt(400))
    big = world.policy_value(_topk_policy(0.0), n_users=6000, horizon=10, seed=99)
    lo, hi = a.ci(z=3.5)
    assert lo < big.value < hi


def test_common_random_numbers_reduce_variance_of_comparisons(world):
    pa, pb = _topk_policy(0.0), _topk_policy(0.02)
    a = world.policy_value(pa, n_users=600, horizon=10, seed=5)
    b_same = world.policy_value(pb, n_users=600, horizon=10, seed=5)
    b_other = world.policy_value(pb, n_users=600, horizon=10, seed=6)
    paired = np.std(a.returns - b_same.returns)
    unpaired = np.std(a.returns - b_other.returns)
    assert paired < 0.5 * unpaired, (paired, unpaired)


def test_oracle_beats_random(world):
    good = world.policy_value(_topk_policy(0.0), n_users=500, horizon=10, seed=7)
    rand = world.policy_value(_random_policy, n_users=500, horizon=10, seed=7)
    assert good.value > rand.value + 3 * np.hypot(good.stderr, rand.stderr)


def test_large_catalog_preset_steps():
    cfg = presets.get("large-catalog")
    assert cfg.catalog.n_items == 100_000 and cfg.population.n_users == 10_000
    w = World(cfg, seed=0)
    w.reset(np.arange(2000), 0)
    rng = np.random.default_rng(0)
    fb = w.step(np.arange(10)[None, :] * 9_000 + rng.integers(0, 9_000, size=(2000, 1)))
    assert fb.slot_expected_reward.shape == (2000, 10)
    assert np.all((fb.expected_reward > 0) & (fb.expected_reward < 1))
