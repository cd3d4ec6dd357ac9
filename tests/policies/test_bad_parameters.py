"""Policy parameters are validated by name; REINFORCE rejects impossible propensities."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import simrec  # noqa: F401
from simrec.errors import InvalidPolicyInputError
from simrec.policies import REINFORCE, make_policy, policy_names, policy_parameters


@pytest.fixture(scope="module")
def env():
    return gym.make("simrec/Bandit-v0", world={"preset": "default", "catalog": {"n_items": 20}})


@pytest.mark.parametrize(("name", "params", "match"), [
    ("softmax", {"temprature": 0.5}, "unknown parameter 'temprature' for policy 'softmax'; did you mean 'temperature'"),
    ("linucb", {"alpah": 1.0}, "did you mean 'alpha'"),
    ("epsilon-greedy", {"eps": 0.1}, "did you mean 'epsilon'"),
    ("uniform", {"epsilon": 0.1}, "unknown parameter 'epsilon' for policy 'uniform'"),
    ("softmx", {}, "unknown policy 'softmx' \\(did you mean 'softmax'\\?\\)"),
])
def test_unknown_parameters_are_named(env, name, params, match):
    with pytest.raises(InvalidPolicyInputError, match=match):
        make_policy(name, env, **params)


def test_every_listed_parameter_is_accepted(env):
    # each policy's listed parameters exist, with defaults that build (required ones aside)
    for name in policy_names():
        params = policy_parameters(name)
        assert isinstance(params, dict)
    make_policy("softmax", env, temperature=0.5)
    make_policy("linucb", env, alpha=1.0, reg=2.0)
    make_policy("q-learning", env, n_states=10, lr=0.2)
    assert policy_parameters("softmax")["temperature"] == 1.0
    assert policy_parameters("linucb")["alpha"] == 0.5


@pytest.mark.parametrize(("p", "match"), [
    (np.nan, r"row 1 \(value nan\)"), (0.0, r"\(0, 1\].*row 1"), (5.0, r"row 1 \(value 5.0\)"),
])
def test_reinforce_update_rejects_bad_propensities(p, match):
    pol = REINFORCE(4, 3, rng=0)
    x = np.random.default_rng(0).normal(size=(3, 3))
    with pytest.raises(InvalidPolicyInputError, match="`propensities`.*" + match):
        pol.update(x, np.array([0, 1, 2]), np.array([1.0, 0.0, 1.0]), np.array([0.5, p, 0.25]))
    pol.update(x, np.array([0, 1, 2]), np.array([1.0, 0.0, 1.0]), np.array([0.5, 0.5, 0.25]))
    assert np.isfinite(pol.action_probs(x)).all()
    with pytest.raises(InvalidPolicyInputError, match="one probability per row"):
        pol.update(x, np.array([0, 1, 2]), np.array([1.0, 0.0, 1.0]), np.array([0.5, 0.5]))
