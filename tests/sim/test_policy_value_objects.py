"""World.policy_value takes a callable policy(world, active) or a policy object with act(obs, rng)."""

from __future__ import annotations

import numpy as np
import pytest

from simrec.errors import ConfigError
from simrec.policies import PlackettLuce
from simrec.sim import World, presets


@pytest.fixture(scope="module")
def world():
    return World(presets.get("default", **{"population.n_users": 300, "catalog.n_items": 50}), seed=0)


def test_policy_object_equals_the_same_policy_as_a_callable(world):
    k, d = world.config.slate_size, world.config.dim
    feats = world.item_features
    obj = PlackettLuce(world.n_items, k, lambda x: 3.0 * x @ feats.T, obs_dim=d, rng=0)
    twin = PlackettLuce(world.n_items, k, lambda x: 3.0 * x @ feats.T, obs_dim=d, rng=0)
    gen = np.random.default_rng([5, 0xAC7])  # the generator policy_value gives a policy object

    def as_callable(w, active):
        return twin.act(np.asarray(w.state.features), gen)[0]

    a = world.policy_value(obj, n_users=300, horizon=10, seed=5)
    b = world.policy_value(as_callable, n_users=300, horizon=10, seed=5)
    assert a.value == b.value and np.array_equal(a.returns, b.returns)
    # the object really acts on the users' features: a flat-score policy differs
    flat = PlackettLuce(world.n_items, k, np.zeros(world.n_items), obs_dim=d, rng=0)
    assert world.policy_value(flat, n_users=300, horizon=10, seed=5).value < a.value


def test_not_a_policy(world):
    with pytest.raises(ConfigError, match="act\\(obs, rng\\)"):
        world.policy_value(42, n_users=10)
