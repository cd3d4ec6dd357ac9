"""A sweep names a calibrated world by its file: ``worlds = [{from = "calibrated/obd.npz"}]``."""

from __future__ import annotations

from pathlib import Path

import pytest

from simrec.calibrate import fit_world
from simrec.data import read_obd
from simrec.sweeps import SweepSpecError, parse_sweep, run_sweep

from ._fixtures import env_sweep

OBD = Path(__file__).resolve().parents[1] / "data" / "obd" / "random" / "all"


@pytest.fixture(scope="module")
def world_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("calibrated") / "obd.npz"
    fit_world(read_obd(OBD), "pbm", n_users=200, save=path)
    return path


def test_a_sweep_runs_on_a_calibrated_world_and_its_file_is_part_of_the_identity(world_file, tmp_path):
    raw = env_sweep("simrec/Bandit-v0", worlds=[{"from": str(world_file)}], seeds=1, estimators=["IPS", "DR"],
                    policies=["uniform", "softmax"])
    res = run_sweep(parse_sweep(raw), "local", out_dir=tmp_path / "a", progress=False)
    df = res.table
    assert (df["status"] == "ok").all(), df["error_message"].dropna().tolist()[:1]
    assert set(df["world"]) == {"obd"}
    # another file with other parameters is another world: other run ids
    other = world_file.with_name("obd2.npz")
    fit_world(read_obd(OBD), "pbm", n_users=150, save=other)
    raw2 = env_sweep("simrec/Bandit-v0", worlds=[{"from": str(other), "label": "obd"}], seeds=1,
                     estimators=["IPS", "DR"], policies=["uniform", "softmax"])
    res2 = run_sweep(parse_sweep(raw2), "local", out_dir=tmp_path / "b", progress=False)
    assert set(res2.table["run_id"]).isdisjoint(set(df["run_id"]))


@pytest.mark.parametrize(("world", "env", "match"), [
    ({"from": "nope/missing.npz"}, "simrec/Bandit-v0", "does not exist"),
    ({"from": "WORLD", "population": {"n_users": 5}}, "simrec/Bandit-v0", "no overrides"),
    ({"from": "WORLD"}, "simrec/Slate-v0", "calibrated world"),
])
def test_bad_calibrated_worlds_are_refused_before_running(world_file, world, env, match):
    w = {k: (str(world_file) if v == "WORLD" else v) for k, v in world.items()}
    with pytest.raises(SweepSpecError, match=match):
        parse_sweep(env_sweep(env, worlds=[w], seeds=1))
