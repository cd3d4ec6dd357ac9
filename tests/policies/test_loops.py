"""collect / run_online on every env kind, growing catalogs, shaping hooks."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import simrec.policies as P
from simrec.data import BanditLog, SlateLog, Trajectories
from simrec.policies.shaping import retention_bonus, satisfaction_proxy, watch_time

from .conftest import SMALL, TINY_SLATE


def test_collect_single_env_is_seeded_and_exact():
    env = gym.make("simrec/Bandit-v0", world=SMALL, horizon=7)
    logs = [P.collect(env, P.make_policy("softmax", env, rng=0), 30, seed=11) for _ in range(2)]
    np.testing.assert_array_equal(logs[0].action, logs[1].action)
    log = logs[0]
    truth = env.unwrapped.truth
    R = truth.expected_reward_matrix()
    # the logged expected reward is the exact one of (user, action); contexts are the users' features
    feats = truth.user_features()
    users = [int(np.flatnonzero((feats == row.astype(np.float32)).all(axis=1))[0]) for row in log.context]
    np.testing.assert_allclose(log.expected_reward, R[users, log.action])
    np.testing.assert_allclose(log.pscore, P.make_policy("softmax", env).action_probs(log.context)[
        np.arange(30), log.action])


def test_collect_vector_env_skips_autoreset_steps():
    env = gym.make_vec("simrec/Bandit-v0", num_envs=4, world=SMALL, horizon=3)
    log = P.collect(env, P.Uniform(30, obs_dim=16, rng=0), 50, seed=0)
    assert len(log) == 50 and (log.pscore == 1 / 30).all()


def test_collect_slates_and_trajectories():
    s_env = gym.make_vec("simrec/Slate-v0", num_envs=3, world=TINY_SLATE)
    log = P.collect(s_env, P.make_policy("plackett-luce", s_env, rng=0), 30, seed=0)
    assert isinstance(log, SlateLog) and log.slate.shape == (30, 3)
    clicked = log.reward.sum(axis=1) > 0
    assert (log.reward[clicked] > 0).sum(axis=1).max() == 1  # one click per slate at most
    m_env = gym.make_vec("simrec/Messaging-v0", num_envs=3, world=SMALL, horizon_days=5)
    tr = P.collect(m_env, P.make_policy("softmax", m_env, rng=0), 40, seed=0, kind="trajectories")
    assert isinstance(tr, Trajectories) and tr.n_actions == 31
    assert tr.n_episodes >= 6
    with pytest.raises(P.base.InvalidPolicyInputError, match="does not fit"):
        P.collect(s_env, P.Uniform(12), 5, kind="bandit")


@pytest.mark.parametrize("name", ["linucb", "linear-ts", "ucb1", "epsilon-greedy", "popularity", "reinforce",
                                  "logistic-ts", "bernoulli-ts", "softmax"])
def test_growing_catalog(name):
    world = {"preset": "cold-start", "catalog": {"n_items": 20, "new_items_per_step": 0.5, "max_new_items": 200},
             "population": {"n_users": 100}}
    env = gym.make_vec("simrec/Bandit-v0", num_envs=4, world=world)
    kw = {"model": "shared"} if name in ("linucb", "linear-ts") else {}
    if name == "popularity":
        kw = {"mode": "proportional"}  # greedy popularity never shows a new item, by design
    pol = P.make_policy(name, env, rng=0, **kw)
    assert pol.n_actions == 20
    log = P.collect(env, pol, 400, seed=0, learn=True)
    assert pol.n_actions > 20 and isinstance(log, BanditLog)
    assert log.action.max() >= 20  # new items were shown
    assert pol.action_probs(log.context[:2]).shape == (2, pol.n_actions)


def test_disjoint_linucb_new_arms_start_from_the_prior():
    pol = P.LinUCB(2, 3, rng=0)
    pol.update(np.ones((5, 3)), [0] * 5, [1.0] * 5)
    pol.grow(3)
    m, w = pol.mean_width(np.ones((1, 3)))
    assert m[0, 2] == 0 and w[0, 2] == pytest.approx(2.0)  # sqrt(x' I x) with the intercept
    with pytest.raises(P.base.InvalidPolicyInputError, match="only grow"):
        pol.grow(2)


def test_run_online_regret_is_zero_for_the_oracle():
    env = gym.make_vec("simrec/Bandit-v0", num_envs=4, world=SMALL)
    res = P.run_online(env, P.make_policy("oracle", env), 20, seed=0)
    assert len(res) == 80
    np.testing.assert_allclose(res.regret, 0.0, atol=1e-12)
    uni = P.run_online(env, P.Uniform(30, obs_dim=16, rng=0), 20, seed=0)
    assert (uni.regret >= -1e-12).all() and uni.cumulative_regret[-1] > 1.0


def test_shaping_hooks():
    d = 16
    obs = np.zeros((2, 2 * d + 6))
    nxt = obs.copy()
    nxt[:, 2 * d + 2] = [0.9, 0.1]
    r = np.array([1.0, 1.0])
    np.testing.assert_allclose(watch_time(d)(obs, None, r, next_obs=nxt), [0.9, 0.1])
    np.testing.assert_allclose(satisfaction_proxy(2.0, d)(obs, None, r, next_obs=nxt), [1.8, 0.2])
    np.testing.assert_allclose(retention_bonus(5.0)(obs, None, r, info={"churned": np.array([False, True])}),
                               [1.0, -4.0])


def test_reward_fn_changes_what_is_learned():
    pol = P.LinearQ(2, 1, lr=1.0, epsilon=0.0, reward_fn=lambda o, a, r, **k: -r)
    for _ in range(20):
        pol.update(np.zeros((1, 1)), [0], [1.0])
    assert pol.q_values(np.zeros((1, 1)))[0, 0] < -0.9


def test_tabular_q_learning_learns_a_small_world():
    world = {"preset": "static", "catalog": {"n_items": 5}, "population": {"n_users": 4}}
    env = gym.make_vec("simrec/Bandit-v0", num_envs=4, world=world)
    pol = P.make_policy("q-learning", env, n_states=4, epsilon=0.2, lr=0.1, rng=0)
    P.run_online(env, pol, 1500, seed=0)
    truth = env.unwrapped.truth
    R = truth.expected_reward_matrix()
    states = pol.states(truth.user_features())
    greedy = pol.Q_[states].argmax(axis=1)
    assert (R[np.arange(4), greedy] >= R.max(axis=1) - 0.05).all()
    with pytest.raises(P.base.InvalidObservationError, match="n_states"):
        pol.states(np.random.default_rng(0).standard_normal((10, 16)))


def test_collect_trajectories_on_a_slate_env_logs_slates_with_their_propensities():
    import gymnasium as gym

    from simrec.data import Trajectories
    from simrec.policies import collect, make_policy

    env = gym.make_vec("simrec/Retention-v0", num_envs=4, horizon_days=3,
                       world={"preset": "default", "catalog": {"n_items": 40}})
    pol = make_policy("uniform", env, rng=0)  # uniformly random slates (Plackett-Luce, equal weights)
    t = collect(env, pol, 200, seed=0, kind="trajectories")
    assert isinstance(t, Trajectories) and t.action.shape == (200, 5)
    expected = 1.0 / (40 * 39 * 38 * 37 * 36)
    np.testing.assert_allclose(t.pscore, expected, rtol=1e-9)
    assert len({tuple(s) for s in t.action.tolist()}) > 150  # random slates, not one fixed top-K
