"""Bad input raises clear errors that name the problem."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import simrec  # noqa: F401
from simrec.errors import ConfigError, InvalidActionError, ResetNeededError
from simrec.sim import World, WorldConfig, make_config, presets


@pytest.fixture(scope="module")
def world():
    w = World(presets.get("default", **{"catalog.n_items": 30, "population.n_users": 10}), seed=0)
    w.reset(np.arange(3), 0)
    return w


@pytest.mark.parametrize(
    "slates, match",
    [
        ([[0, 1, 1], [2, 3, 4], [5, 6, 7]], r"must not repeat an item; row 0 shows item 1 twice"),
        ([[0, 1, 2], [2, 3, 30], [5, 6, 7]], r"item ids in \[0, 30\).*row 1 slot 2 is 30"),
        ([[0, 1, 2], [2, 3, 4], [-1, 6, 7]], r"row 2 slot 0 is -1"),
        ([[0.0, 1.0, 2.0]] * 3, r"integer item ids; got dtype float64"),
        ([0, 1, 2], r"2-dimensional"),
        ([[0, 1, 2]] * 2, r"must have 3 rows"),
        ([["a", "b", "c"]] * 3, r"integer item ids"),
    ],
)
def test_bad_slates(world, slates, match):
    with pytest.raises(InvalidActionError, match=match):
        world.step(slates)


@pytest.mark.parametrize(
    "env_id, action, match",
    [
        ("simrec/Slate-v0", np.array([0, 0, 1, 2, 3]), "repeat"),  # strict_slates=True (below)
        ("simrec/Slate-v0", np.array([0, 1, 2, 3, 10_000]), r"\[0, 1000\)"),
        ("simrec/Slate-v0", np.array([0, 1, 2]), "slate of 5 item ids"),
        ("simrec/Slate-v0", np.array([0.5, 1, 2, 3, 4]), "integer"),
        ("simrec/Bandit-v0", 1000, r"\[0, 1000\)"),
        ("simrec/Bandit-v0", 1.5, "integers"),
        ("simrec/Bandit-v0", np.array([1, 2]), "shape"),
        ("simrec/Messaging-v0", -1, r"\[0, 1001\)"),
    ],
)
def test_bad_env_actions(env_id, action, match):
    env = gym.make(env_id, **({"strict_slates": True} if match == "repeat" else {})).unwrapped
    env.reset(seed=0)
    with pytest.raises(InvalidActionError, match=match):
        env.step(action)


def test_bad_vector_actions():
    env = gym.make_vec("simrec/Slate-v0", num_envs=3, strict_slates=True)
    env.reset(seed=0)
    with pytest.raises(InvalidActionError, match=r"shape \(3, 5\)"):
        env.step(np.zeros((2, 5), dtype=np.int64))
    with pytest.raises(InvalidActionError, match="row 1 shows item 7 twice"):
        env.step(np.array([[0, 1, 2, 3, 4], [7, 7, 1, 2, 3], [0, 1, 2, 3, 4]]))


@pytest.mark.parametrize(
    "data, match",
    [
        ({"dim": -1}, r"dim: Input should be greater than or equal to 1"),
        ({"catalog": {"n_items": 0}}, r"catalog.n_items"),
        ({"population": {"n_users": -5}}, r"population.n_users"),
        ({"catalog": {"n_itemz": 5}}, r"catalog.n_itemz: unknown key"),
        ({"colour": "red"}, r"colour: unknown key"),
        ({"examination": {"model": "dbn"}}, r"examination.model"),
        ({"slate_size": 50, "catalog": {"n_items": 10}}, r"slate_size \(50\) cannot exceed"),
        ({"catalog": {"new_items_per_step": 1.0}}, r"max_new_items"),
        ({"catalog": {"max_new_items": 5}}, r"max_new_items=5 reserves items.*new_items_per_step is 0"),
        ({"choice": {"affinity_weight": "high"}}, r"choice.affinity_weight"),
    ],
)
def test_invalid_configs(data, match):
    with pytest.raises(ConfigError, match=match):
        make_config(data)


def test_reserved_capacity_without_a_release_rate_is_refused_not_a_division_by_zero():
    with pytest.raises(ConfigError, match=r"new_items_per_step is 0.*max_new_items=0 for a fixed catalog"):
        World({"preset": "cold-start", "catalog": {"new_items_per_step": 0.0}})
    assert World({"preset": "cold-start", "catalog": {"new_items_per_step": 0.0, "max_new_items": 0}}).n_items == 200


def test_every_config_problem_is_listed():
    with pytest.raises(ConfigError) as exc:
        make_config({"dim": 0, "catalog": {"n_items": -1, "bogus": 1}, "population": {"n_users": 0}})
    msg = str(exc.value)
    assert "4 problem(s)" in msg
    for path in ("dim", "catalog.n_items", "catalog.bogus", "population.n_users"):
        assert path in msg


def test_presets_and_overrides():
    assert {"default", "clickbait", "cold-start", "large-catalog"} <= set(presets.names())
    assert presets.get("large-catalog").catalog.n_items == 100_000
    cfg = presets.get("default", **{"catalog.n_items": 50, "choice": {"no_click_utility": 1.0}})
    assert cfg.catalog.n_items == 50 and cfg.choice.no_click_utility == 1.0
    assert isinstance(cfg, WorldConfig)
    with pytest.raises(ConfigError, match="unknown world preset 'nope'"):
        presets.get("nope")
    with pytest.raises(ConfigError, match="unknown key"):
        presets.get("default", **{"catalog.nope": 1})
    with pytest.raises(ConfigError, match="unknown config section"):
        presets.get("default", **{"nope.x": 1})
    with pytest.raises(Exception, match="frozen"):
        cfg.dim = 3


def test_bad_world_arguments():
    with pytest.raises(ConfigError, match="seed"):
        World("default", seed=-1)
    w = World(presets.get("default", **{"population.n_users": 10}))
    with pytest.raises(ConfigError, match=r"users.*\[0, 10\)"):
        w.reset([0, 10], 0)
    with pytest.raises(ResetNeededError, match="reset") as err:
        World("default").step([[0, 1, 2, 3, 4]])
    assert isinstance(err.value, RuntimeError)  # simrec errors are also the builtin
    with pytest.raises(InvalidActionError, match="items"):
        w.expected_reward([0], [10_000], 0)
    with pytest.raises(InvalidActionError, match="users"):
        w.expected_reward(["x"], [0], 0)


def test_bad_reset_rows_change_nothing():
    w = World(presets.get("default", **{"population.n_users": 10}))
    w.reset(np.arange(4), 0)
    before = w.state.theta.copy(), w.state.users.copy()
    seeds = np.zeros(3, np.int64)
    with pytest.raises(ConfigError, match=r"`rows` must be distinct rows in \[0, 4\); entry 2 is 1"):
        w.reset_rows(np.array([0, 1, 1]), np.array([5, 6, 7]), seeds)
    with pytest.raises(ConfigError, match=r"entry 1 is 4"):
        w.reset_rows(np.array([0, 4, 2]), np.array([5, 6, 7]), seeds)
    with pytest.raises(ConfigError, match=r"`users` must be ids in \[0, 10\); entry 2 is 10"):
        w.reset_rows(np.array([0, 1, 2]), np.array([5, 6, 10]), seeds)
    with pytest.raises(ConfigError, match="one length"):
        w.reset_rows(np.array([0, 1]), np.array([5, 6, 7]), seeds)
    np.testing.assert_array_equal(w.state.theta, before[0])
    np.testing.assert_array_equal(w.state.users, before[1])
    w.reset_rows(np.array([3, 0]), np.array([5, 6]), seeds[:2])
    assert list(w.state.users) == [6, 1, 2, 5]
