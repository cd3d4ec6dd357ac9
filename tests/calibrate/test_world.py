"""Calibrated worlds: the fitted examination table in the simulator, the .npz file, envs on top."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import simrec  # noqa: F401  (registers the environments)
from simrec.calibrate import CascadeModel, PositionBasedModel, fit_world
from simrec.errors import ConfigError
from simrec.sim import World, make_config
from simrec.sim.calibrated import CalibratedWorld, load

from ._worlds import cascade_slates, pbm_rows

EXAM = np.array([0.8, 0.5, 0.25])
ATTR = np.linspace(0.05, 0.6, 12)


def test_table_examination_is_a_position_based_model():
    w = World.from_calibration(CalibratedWorld("pbm", EXAM, ATTR))
    users, items, pos = np.zeros(36, int), np.repeat(np.arange(12), 3), np.tile(np.arange(3), 12)
    np.testing.assert_allclose(w.expected_reward(users, items, pos), EXAM[pos] * ATTR[items], rtol=1e-12)
    # a slate: top-down scan with examination e_k, stopping at the first click
    w.reset([0, 0], [0, 1])
    fb = w.step(np.array([[3, 7, 11], [11, 7, 3]]))
    p = EXAM * ATTR[[3, 7, 11]]
    want = p * np.concatenate([[1.0], np.cumprod(1 - p)[:-1]])
    np.testing.assert_allclose(fb.slot_expected_reward[0], want, rtol=1e-12)


def test_save_load_round_trip_and_names(tmp_path):
    users = np.random.default_rng(0).random((30, 5))
    cw = CalibratedWorld("pbm", EXAM, ATTR, user_features=users, meta={"note": "x"})
    path = cw.save(tmp_path / "sub" / "w")  # suffix added, folders made
    assert path.name == "w.npz"
    back = load(path)
    np.testing.assert_array_equal(back.examination, EXAM)
    np.testing.assert_array_equal(back.attractiveness, ATTR)
    np.testing.assert_array_equal(back.user_features, users)
    assert back.meta == {"note": "x"} and back.click_model == "pbm"
    for spec in (path, str(path), {"from": str(path)}, cw):
        w = World(spec)
        assert w.n_items == 12 and w.n_users == 30 and w.config.slate_size == 3
        np.testing.assert_allclose(w.population.features, users)
    env = gym.make("simrec/Bandit-v0", world={"from": str(path)}, horizon=5)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (5,)
    _, r, *_, info = env.step(4)
    assert info["expected_reward"] == pytest.approx(EXAM[0] * ATTR[4])  # the bandit shows items in slot 0
    venv = gym.make_vec("simrec/Slate-v0", num_envs=3, world=str(path))
    venv.reset(seed=1)
    venv.step(np.array([[0, 1, 2]] * 3))


@pytest.mark.parametrize("spec, match", [
    ({"from": "nope.npz"}, "does not exist"),
    ({"from": "x.npz", "population.n_users": 3}, "unknown key"),
])
def test_bad_world_names(spec, match):
    with pytest.raises(ConfigError, match=match):
        World(spec)


def test_bad_files_and_arrays(tmp_path):
    bad = tmp_path / "bad.npz"
    np.savez(bad, examination=EXAM)
    with pytest.raises(ConfigError, match="cannot read|not a simrec"):
        World(str(bad))
    with pytest.raises(ConfigError, match="entry 1"):
        CalibratedWorld("pbm", np.array([0.5, 1.5]), ATTR)
    with pytest.raises(ConfigError, match="click_model"):
        CalibratedWorld("ubm", EXAM, ATTR)
    with pytest.raises(ConfigError, match="table"):
        make_config({"examination": {"model": "table"}})
    with pytest.raises(ConfigError, match="slot 1"):
        make_config({"examination": {"model": "table", "table": [0.5, 2.0]}})


def test_fit_world_pbm_reproduces_the_fit():
    log = pbm_rows(50_000, n_items=20, seed=2)
    m = PositionBasedModel().fit(log)
    cw = fit_world(log, m)
    w = World.from_calibration(cw)
    items, pos = np.repeat(np.arange(20), 3), np.tile(np.arange(3), 20)
    np.testing.assert_allclose(w.expected_reward(np.zeros(60, int), items, pos),
                               m.examination_[pos] * m.attractiveness_[items], rtol=1e-9)
    assert cw.user_features is None and w.n_users == 1


def test_fit_world_cascade_from_slates_and_context_users():
    log = cascade_slates(20_000, n_items=30, seed=3)
    cw = fit_world(log, "cascade")
    m = CascadeModel().fit(log)
    np.testing.assert_allclose(cw.attractiveness, m.attractiveness_)
    assert cw.click_model == "cascade"
    w = World.from_calibration(cw)
    np.testing.assert_allclose(w.expected_reward([0], [5], [0]), m.attractiveness_[5], rtol=1e-9)
    auto = fit_world(log)  # slates -> DCM
    assert auto.click_model == "dcm" and auto.continuation is not None
    with pytest.raises(ConfigError, match="model"):
        fit_world(log, "ubm")


def test_config_dumps_without_a_table_are_unchanged():
    # sweep run ids hash config dumps: worlds without a table must dump exactly as before
    from simrec.sim import presets

    assert set(presets.get("default").model_dump(mode="json")["examination"]) == {"model", "eta", "cascade_continue"}
    cfg = presets.get("default", **{"examination.model": "table", "examination.table": [0.9, 0.4]})
    again = make_config(cfg.model_dump(mode="json"))
    assert again.examination.table == (0.9, 0.4)
