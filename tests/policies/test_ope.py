"""IPS on the logs of each stochastic policy recovers true values (the propensities are right).

Ground truth is exact: ``env.unwrapped.truth.policy_value(action_probs over every user)`` on ``Bandit-v0``. Each check
allows 4 standard errors of the estimate; the Monte Carlo part is seeded.
"""

from __future__ import annotations

import gymnasium as gym
import pytest

import simrec.policies as P
from simrec.estimators.ope import IPS

WORLD = {"preset": "default", "catalog": {"n_items": 20}, "population": {"n_users": 300}}
N = 6000


@pytest.fixture(scope="module")
def env():
    return gym.make_vec("simrec/Bandit-v0", num_envs=50, world=WORLD, world_seed=3)


def _trained(name, env, **kw):
    pol = P.make_policy(name, env, rng=0, **kw)
    P.collect(env, pol, 500, seed=7, learn=True)  # learn a little, then freeze (collect below does not learn)
    return pol


STOCHASTIC = {
    "uniform": {},
    "softmax": {"temperature": 0.5},
    "epsilon-mixture": {"epsilon": 0.3},
    "epsilon-greedy": {"epsilon": 0.3},
    "popularity": {"mode": "proportional"},
    "reinforce": {},
    "linear-q": {"epsilon": 0.3},
    "bernoulli-ts": {"mc_samples": 2000},
    "linear-ts": {"mc_samples": 500, "v": 1.0},
    "logistic-ts": {"mc_samples": 500, "scale": 2.0},
}
FULL_SUPPORT = ["uniform", "softmax", "epsilon-mixture", "epsilon-greedy", "popularity", "reinforce", "linear-q"]


def _true_value(env, probs_fn):
    truth = env.unwrapped.truth
    return truth.policy_value(probs_fn(truth.user_features()))


@pytest.mark.parametrize("name", list(STOCHASTIC))
def test_ips_recovers_the_logging_policy_value(name, env):
    pol = _trained(name, env, **STOCHASTIC[name])
    log = P.collect(env, pol, N, seed=11)
    dist = pol.action_probs(log.context)
    est = IPS().estimate(log, dist)
    truth = _true_value(env, pol.action_probs)
    print(f"{name}: IPS {est.value:.4f} +- {est.stderr:.4f}, true {truth:.4f}")
    assert abs(est.value - truth) < 4 * est.stderr


@pytest.mark.parametrize("name", FULL_SUPPORT)
def test_ips_with_these_logs_recovers_another_policy_value(name, env):
    """Off-policy: logs of each full-support logger, IPS of a fixed softmax target."""
    pol = _trained(name, env, **STOCHASTIC[name])
    log = P.collect(env, pol, N, seed=12)
    F = env.world.item_features
    target = P.Softmax(20, lambda X: 2.0 * X @ F.T)
    est = IPS().estimate(log, target.action_probs(log.context))
    truth = _true_value(env, target.action_probs)
    print(f"{name} -> softmax target: IPS {est.value:.4f} +- {est.stderr:.4f}, true {truth:.4f}")
    assert abs(est.value - truth) < 4 * est.stderr
