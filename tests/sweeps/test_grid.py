"""Run ids are stable across versions, and a calibrated world's file is hashed once per world."""

from __future__ import annotations

from simrec.sweeps import parse_sweep, schema
from simrec.sweeps.grid import expand

from ._fixtures import env_sweep, tiny


def test_run_ids_stay_what_they_were():
    # results on disk are found again by run id: a change here makes every stored sweep rerun
    assert [t.run_id for t in expand(parse_sweep(tiny()))] == ["31b31e93fa6475de", "3aa1a21052df3894"]


def test_a_calibrated_world_file_is_hashed_once(tmp_path, monkeypatch):
    from simrec.calibrate import fit_world
    from simrec.data import read_obd

    from .test_calibrated_world import OBD

    path = tmp_path / "w.npz"
    fit_world(read_obd(OBD), "pbm", n_users=50, save=path)
    calls = []
    real = schema.WorldSpec.file_hash

    def counted(self):
        calls.append(self.source)
        return real(self)

    monkeypatch.setattr(schema.WorldSpec, "file_hash", counted)
    tasks = expand(parse_sweep(env_sweep("simrec/Bandit-v0", worlds=[{"from": str(path)}], horizon=[3, 5, 7])))
    assert len(tasks) == 6 and len({t.run_id for t in tasks}) == 6
    assert calls == [str(path)]
