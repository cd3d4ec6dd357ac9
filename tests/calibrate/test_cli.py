"""`simrec calibrate LOG -o WORLD.npz`."""

from __future__ import annotations

import re
from pathlib import Path

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import simrec  # noqa: F401
from simrec.cli import cli
from simrec.sim import World
from simrec.sim.calibrated import load

from ._worlds import cascade_slates

OBD = Path(__file__).resolve().parents[1] / "data" / "obd" / "random" / "all"


def test_calibrate_obd_writes_a_world_envs_can_use(tmp_path):
    out = tmp_path / "calibrated" / "obd.npz"
    res = CliRunner().invoke(cli, ["calibrate", str(OBD), "-o", str(out), "--report", str(tmp_path / "rep"),
                                   "--n-users", "300"])
    assert res.exit_code == 0, res.output
    assert "examination relative to the top slot" in res.output and "PBM" in res.output
    cw = load(out)
    assert cw.click_model == "pbm" and cw.n_items == 80 and cw.n_slots == 3
    assert cw.user_features.shape[0] == 300
    assert set(cw.meta["held_out"]) == {"global CTR", "item CTR", "PBM"}
    env = gym.make("simrec/Bandit-v0", world={"from": str(out)})
    env.reset(seed=0)
    env.step(0)
    assert (tmp_path / "rep" / "fidelity.html").exists()
    assert World(str(out)).n_items == 80


def test_calibrate_csv_with_column_map_and_slates(tmp_path):
    log = cascade_slates(4000, n_items=15, seed=0)
    n, k = log.slate.shape
    df = pd.DataFrame({"imp": np.repeat(np.arange(n), k), "item": log.slate.ravel(),
                       "rank": np.tile(np.arange(1, k + 1), n), "click": log.reward.ravel().astype(int)})
    df.to_csv(tmp_path / "clicks.csv", index=False)
    res = CliRunner().invoke(cli, ["calibrate", str(tmp_path / "clicks.csv"), "-o", str(tmp_path / "w.npz"),
                                   "--column", "action=item", "--column", "reward=click", "--column", "position=rank",
                                   "--column", "slate_id=imp", "--first-position", "1", "-m", "cascade"])
    assert res.exit_code == 0, res.output
    assert "cascade" in res.output and "DCM" in res.output
    assert load(tmp_path / "w.npz").click_model == "cascade"


@pytest.mark.parametrize("args, match", [
    (["--column", "action"], "expected FIELD=COLUMN"),
    (["--column", "action=item", "--column", "reward=nope"], r"missing column\(s\) \['nope'\]"),
    ([], "not in the Open Bandit Dataset layout"),
])
def test_calibrate_bad_input(tmp_path, args, match):
    pd.DataFrame({"item": [0, 1], "click": [0, 1]}).to_csv(tmp_path / "c.csv", index=False)
    res = CliRunner().invoke(cli, ["calibrate", str(tmp_path / "c.csv"), "-o", str(tmp_path / "w.npz"), *args])
    assert res.exit_code != 0
    assert re.search(match, res.output), res.output


def test_calibrate_simrec_parquet_logs(tmp_path):
    from simrec.calibrate.command import load_any_log

    from ._worlds import pbm_rows

    rows = pbm_rows(5000, n_items=10, seed=1)
    rows.to_parquet(tmp_path / "rows.parquet")
    slates = cascade_slates(3000, n_items=10, seed=2)
    slates.to_parquet(tmp_path / "slates.parquet")
    assert type(load_any_log(tmp_path / "slates.parquet")).__name__ == "SlateLog"
    for name, model in (("rows", "pbm"), ("slates", "dcm")):
        args = ["calibrate", str(tmp_path / f"{name}.parquet"), "-o", str(tmp_path / f"{name}.npz")]
        res = CliRunner().invoke(cli, args)
        assert res.exit_code == 0, res.output
        assert load(tmp_path / f"{name}.npz").click_model == model


def test_calibrate_with_factors(tmp_path):
    out = tmp_path / "f.npz"
    res = CliRunner().invoke(cli, ["calibrate", str(OBD), "-o", str(out), "--factors", "2", "--n-users", "100"])
    assert res.exit_code == 0, res.output
    assert "2 latent factors" in res.output
    cw = load(out)
    assert cw.rank == 2 and World(str(out)).config.dim == cw.user_features.shape[1] + 2


@pytest.mark.parametrize("model, slates", [("pbm", False), ("dcm", True), ("cascade", True)])
def test_calibrate_fits_the_chosen_model_once(tmp_path, monkeypatch, model, slates):
    from simrec.calibrate import cascade, command, pbm
    from simrec.data import read_obd

    log = cascade_slates(1500, n_items=10, seed=1) if slates else read_obd(OBD)
    cls = {"pbm": pbm.PositionBasedModel, "dcm": cascade.DependentClickModel, "cascade": cascade.CascadeModel}[model]
    fits = []
    real = cls.fit

    def counted(self, *a, **k):
        fits.append(self)
        return real(self, *a, **k)

    monkeypatch.setattr(cls, "fit", counted)
    path, lines = command.calibrate(log, tmp_path / "w.npz", model=model, n_users=50)
    assert len(fits) == 1  # compared on the held-out part and saved: one fit
    world = load(path)
    assert world.click_model == model
    if model == "pbm":  # the saved world is the fitted candidate's
        np.testing.assert_allclose(world.examination, fits[0].examination_)
