"""Every registered simrec environment passes Gymnasium's check_env and our check_vector_env;
results do not depend on thread count or on how users are split into batches."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numba
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import simrec
from simrec.envs.slate import SlateVectorEnv
from simrec.sim import World, presets
from simrec.testing import VectorEnvCheckError, check_vector_env

SPECS = [s for s in gym.registry.values() if s.namespace == "simrec"]
SMALL_KW = {
    "simrec/Bandit-v0": {"horizon": 15},
    "simrec/Retention-v0": {"horizon_days": 4},
    "simrec/Messaging-v0": {"horizon_days": 10},
}


def test_all_four_envs_registered_on_import():
    assert {"simrec/Bandit-v0", "simrec/Slate-v0", "simrec/Retention-v0", "simrec/Messaging-v0"} <= {
        s.id for s in SPECS
    }
    assert simrec.__version__


@pytest.mark.parametrize("spec", SPECS, ids=[s.id for s in SPECS])
def test_check_env(spec):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(gym.make(spec.id, **SMALL_KW.get(spec.id, {})).unwrapped, skip_render_check=True)


@pytest.mark.parametrize("num_envs", [1, 5])
@pytest.mark.parametrize("spec", SPECS, ids=[s.id for s in SPECS])
def test_check_vector_env(spec, num_envs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env = gym.make_vec(spec.id, num_envs=num_envs, **SMALL_KW.get(spec.id, {}))
        assert env.metadata["autoreset_mode"] == gym.vector.AutoresetMode.NEXT_STEP
        check_vector_env(env, n_steps=80)


class _MutatingSlateEnv(SlateVectorEnv):
    """Returns one observation buffer and overwrites it every step (a classic bug)."""

    def step(self, actions):
        o, r, te, tr, info = super().step(actions)
        if not hasattr(self, "_buf"):
            self._buf = o
        self._buf[...] = o
        return self._buf, r, te, tr, info


class _BadSpaceEnv(SlateVectorEnv):
    def __init__(self, **kw):
        super().__init__(**kw)
        self.observation_space = self.single_observation_space


def test_check_vector_env_catches_broken_envs():
    with pytest.raises(VectorEnvCheckError, match="mutated|shares memory"):
        check_vector_env(_MutatingSlateEnv(num_envs=3), make_single=None)
    with pytest.raises(VectorEnvCheckError, match="batch_space"):
        check_vector_env(_BadSpaceEnv(num_envs=3))
    with pytest.raises(VectorEnvCheckError, match="VectorEnv"):
        check_vector_env(gym.make("simrec/Slate-v0"))


def test_info_carries_exact_expected_reward():
    env = gym.make_vec("simrec/Bandit-v0", num_envs=4000, horizon=50)
    env.reset(seed=0)
    truth = env.unwrapped.truth
    R = truth.expected_reward_matrix()
    rng = np.random.default_rng(0)
    rewards, expected = [], []
    for _ in range(10):
        a = rng.integers(0, env.single_action_space.n, 4000)
        _, r, _, _, info = env.step(a)
        np.testing.assert_allclose(info["expected_reward"], R[info["user_id"], a], rtol=0, atol=1e-14)
        rewards.append(r)
        expected.append(info["expected_reward"])
    r, e = np.concatenate(rewards), np.concatenate(expected)
    assert abs(r.mean() - e.mean()) < 4 * r.std() / np.sqrt(r.size)


def test_bandit_optimal_reward_is_the_best_released_item_of_the_shared_truth():
    """``optimal_expected_reward`` is the row maximum of the truth's expected-reward matrix, for the
    items released so far (a growing catalog), and both read one read-only cache."""
    world = {"preset": "cold-start", "population": {"n_users": 50}, "catalog": {"n_items": 20}}
    env = gym.make_vec("simrec/Bandit-v0", num_envs=8, world=world, with_optimal=True, horizon=20)
    env.reset(seed=1)
    truth = env.unwrapped.truth
    sizes = set()
    for _ in range(6):
        _, _, _, _, info = env.step(np.zeros(8, dtype=np.int64))
        R = truth.expected_reward_matrix()
        sizes.add(R.shape[1])
        np.testing.assert_array_equal(info["optimal_expected_reward"], R[info["user_id"]].max(axis=1))
        assert R is truth.expected_reward_matrix()  # one cache, not recomputed
    assert len(sizes) > 1  # new items were released and counted
    with pytest.raises(ValueError, match="read-only"):
        R[0, 0] = 1.0


def test_observations_hide_latent_state():
    env = gym.make("simrec/Slate-v0")
    obs, _ = env.reset(seed=1)
    w = env.unwrapped.world
    d = w.config.dim
    theta = w.state.theta[0]
    assert not np.allclose(obs[:d], theta, atol=1e-3)  # features are a noisy projection
    assert obs.shape == (2 * d + 3,)


def _trajectories(n_threads: int, users: np.ndarray, seeds: np.ndarray, steps: int = 15):
    numba.set_num_threads(n_threads)
    try:
        w = World(presets.get("default"), seed=0)
        w.reset(users, seeds)
        out = []
        for t in range(steps):
            sl = (users[:, None] * 7 + t * 3 + np.arange(5)[None, :]) % w.n_available
            fb = w.step(sl)
            out.append((fb.clicked_slot.copy(), fb.reward.copy(), fb.left.copy(), w.state.sat.copy()))
        return out
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)


def test_determinism_across_threads_and_batch_splits():
    users = np.arange(1000)
    seeds = np.arange(1000) * 3 + 1
    base = _trajectories(min(2, numba.config.NUMBA_NUM_THREADS), users, seeds)
    again = _trajectories(min(2, numba.config.NUMBA_NUM_THREADS), users, seeds)
    one = _trajectories(1, users, seeds)
    halves = [_trajectories(1, users[:500], seeds[:500]), _trajectories(2, users[500:], seeds[500:])]
    shuffled_idx = np.random.default_rng(0).permutation(1000)
    shuffled = _trajectories(2, users[shuffled_idx], seeds[shuffled_idx])
    inv = np.argsort(shuffled_idx)
    for t in range(len(base)):
        for j in range(4):
            np.testing.assert_array_equal(base[t][j], again[t][j])
            np.testing.assert_array_equal(base[t][j], one[t][j])
            np.testing.assert_array_equal(base[t][j], np.concatenate([halves[0][t][j], halves[1][t][j]]))
            np.testing.assert_array_equal(base[t][j], shuffled[t][j][inv])


@pytest.mark.parametrize("env_id", ["simrec/Slate-v0", "simrec/Retention-v0"])
def test_vector_env_split_gives_identical_per_user_results(env_id):
    kw = SMALL_KW.get(env_id, {})
    full = gym.make_vec(env_id, num_envs=8, **kw)
    parts = [gym.make_vec(env_id, num_envs=n, **kw) for n in (3, 5)]
    o_full, _ = full.reset(seed=100)
    o_parts = [parts[0].reset(seed=100)[0], parts[1].reset(seed=103)[0]]
    np.testing.assert_array_equal(o_full, np.concatenate(o_parts))
    rng = np.random.default_rng(3)
    for _ in range(40):
        a = np.stack([rng.choice(50, 5, replace=False) for _ in range(8)])
        of, rf, tf, trf, _ = full.step(a)
        p0, p1 = parts[0].step(a[:3]), parts[1].step(a[3:])
        np.testing.assert_array_equal(of, np.concatenate([p0[0], p1[0]]))
        np.testing.assert_array_equal(rf, np.concatenate([p0[1], p1[1]]))
        np.testing.assert_array_equal(tf | trf, np.concatenate([p0[2] | p0[3], p1[2] | p1[3]]))


def test_same_seed_same_trajectory_single_env():
    def run():
        env = gym.make("simrec/Retention-v0", horizon_days=5)
        obs, _ = env.reset(seed=42)
        rng = np.random.default_rng(0)
        traj = [obs]
        for _ in range(30):
            obs, r, te, tr, _ = env.step(rng.choice(50, 5, replace=False))
            traj.append(np.append(obs, [r, te, tr]))
            if te or tr:
                obs, _ = env.reset()
        return np.concatenate(traj)

    np.testing.assert_array_equal(run(), run())


@pytest.mark.parametrize("env_id", ["simrec/Bandit-v0", "simrec/Slate-v0"])
def test_misuse_raises_simrec_errors_that_are_also_builtins(env_id):
    from simrec.errors import ConfigError, ResetNeededError

    single = gym.make(env_id).unwrapped
    with pytest.raises(ResetNeededError, match="reset"):
        single.step(single.action_space.sample())
    vec = gym.make_vec(env_id, num_envs=2)
    with pytest.raises(ResetNeededError, match="reset") as err:
        vec.step(vec.action_space.sample())
    assert isinstance(err.value, RuntimeError)
    with pytest.raises(ConfigError, match="num_envs") as err:
        gym.make_vec(env_id, num_envs=0)
    assert isinstance(err.value, ValueError)


def test_bandit_policy_value_rejects_a_wrong_shape():
    from simrec.errors import ConfigError

    env = gym.make_vec("simrec/Bandit-v0", num_envs=2, world={"preset": "default", "catalog": {"n_items": 5},
                                                               "population": {"n_users": 7}})
    with pytest.raises(ConfigError, match=r"\(7, 5\)"):
        env.unwrapped.truth.policy_value(np.full((7, 4), 0.25))
