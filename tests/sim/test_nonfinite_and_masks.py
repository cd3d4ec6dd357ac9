"""Non-finite numbers in world configs and bad `active` masks raise errors naming the field."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from pydantic import BaseModel

import simrec  # noqa: F401
from simrec.errors import ConfigError, InvalidActionError
from simrec.sim import World, WorldConfig, make_config, presets


def _float_fields(model: type[BaseModel], prefix: str = "") -> list[str]:
    out = []
    for name, f in model.model_fields.items():
        ann = f.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out += _float_fields(ann, f"{prefix}{name}.")
        elif ann is float:
            out.append(prefix + name)
    return out


FLOAT_FIELDS = _float_fields(WorldConfig)


def test_there_are_float_fields():
    assert "choice.no_click_utility" in FLOAT_FIELDS and len(FLOAT_FIELDS) > 20


@pytest.mark.parametrize("field", FLOAT_FIELDS)
@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_floats_are_rejected(field, value):
    with pytest.raises(ConfigError, match=field.replace(".", r"\.") + ".*finite"):
        presets.get("default", **{field: value})


def test_nan_no_click_utility_from_a_dict():
    with pytest.raises(ConfigError, match=r"choice\.no_click_utility"):
        make_config({"choice": {"no_click_utility": float("nan")}})


@pytest.fixture
def world():
    w = World(presets.get("default", **{"catalog.n_items": 30, "population.n_users": 10}), seed=0)
    w.reset(np.arange(3), 0)
    return w


@pytest.mark.parametrize(("active", "match"), [
    (np.array([1.0, np.nan, 0.0]), r"row 1 \(value"),
    (np.array([1, 2, 0]), r"booleans \(or 0/1\).*row 1"),
    (np.array([0.5, 1.0, 1.0]), "row 0"),
    (np.array([True, False]), r"shape \(3,\)"),
    (np.array(["a", "b", "c"]), "dtype"),
])
def test_bad_active_masks(world, active, match):
    with pytest.raises(InvalidActionError, match=match):
        world.step([[0, 1, 2], [3, 4, 5], [6, 7, 8]], active)


def test_valid_active_masks(world):
    for active in (np.array([True, False, True]), np.array([1, 0, 1]), np.array([1.0, 0.0, 1.0])):
        fb = world.step([[0, 1, 2], [3, 4, 5], [6, 7, 8]], active)
        assert fb.clicked_item[1] == -1  # the inactive row shows nothing


@pytest.mark.parametrize(("action", "match"), [
    (np.array([0, 1, 2]), "slate of 5"),
    (np.array([0.5, 1, 2, 3, 4]), "integer"),
    (np.array([np.nan, 1, 2, 3, 4]), "integer"),
    (np.array([0, 1, 2, 3, 99_999]), r"\[0, 1000\)"),
    (np.array([-1, 1, 2, 3, 4]), "-1"),
])
def test_bad_retention_actions(action, match):
    env = gym.make("simrec/Retention-v0").unwrapped
    env.reset(seed=0)
    with pytest.raises(InvalidActionError, match=match):
        env.step(action)


@pytest.mark.parametrize(("action", "match"), [
    (1.5, "integers"), (float("nan"), "integers"), (2.0, "integers"), (True, "integers"),
    (-1, r"\[0, 1001\)"), (np.array([1, 2]), "shape"),
])
def test_bad_messaging_actions(action, match):
    env = gym.make("simrec/Messaging-v0").unwrapped
    env.reset(seed=0)
    with pytest.raises(InvalidActionError, match=match):
        env.step(action)
