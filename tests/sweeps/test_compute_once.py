"""A run does its shared work once: one fit log for every target trained from the log, one read of
a calibrated world's file."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from simrec.calibrate import fit_world
from simrec.data import read_obd
from simrec.sim import calibrated
from simrec.sweeps import compute, parse_sweep
from simrec.sweeps.grid import expand

from ._fixtures import env_sweep

OBD = Path(__file__).resolve().parents[1] / "data" / "obd" / "random" / "all"


def _counting(monkeypatch, module, name, keep=lambda *a, **k: True):
    calls = []
    real = getattr(module, name)

    def wrapped(*args, **kwargs):
        if keep(*args, **kwargs):
            calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapped)
    return calls


def test_targets_trained_from_the_log_share_one_fit_log(monkeypatch):
    raw = env_sweep("simrec/Messaging-v0", seeds=1, estimators=["IPS"], policies=[
        "uniform", {"name": "reinforce", "train": "log"}, {"name": "reinforce", "train": "log", "label": "r2"}])
    calls = _counting(monkeypatch, compute, "step_log")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows = compute.compute_run(expand(parse_sweep(raw))[0])
    assert {r["status"] for r in rows} == {"ok"}
    assert {r["trained_from"] for r in rows if r["policy"] != "uniform"} == {"log"}
    assert len(calls) == 2  # the evaluated log and one fit log, not one fit log per target


def test_a_calibrated_world_is_read_once_per_run(monkeypatch, tmp_path):
    path = tmp_path / "obd.npz"
    fit_world(read_obd(OBD), "pbm", n_users=100, save=path)
    raw = env_sweep("simrec/Bandit-v0", worlds=[{"from": str(path)}], seeds=1, estimators=["IPS"],
                    policies=["uniform", "softmax"])
    task = expand(parse_sweep(raw))[0]
    reads = _counting(monkeypatch, calibrated, "load", keep=lambda src: not isinstance(src, calibrated.CalibratedWorld))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows = compute.compute_run(task)
    assert {r["status"] for r in rows} == {"ok"}, [r.get("error_message") for r in rows]
    assert len(reads) == 1  # not one read per env (a run makes several: step, full, training, logging)


def test_a_per_slot_estimate_sums_the_terms_of_its_own_estimate(monkeypatch):
    import numpy as np

    from simrec.data import BanditLog
    from simrec.estimators import ope
    from simrec.sweeps.estimation import bandit_inputs, run_estimator

    rng = np.random.default_rng(0)
    n, K = 200, 2
    log = BanditLog(action=rng.integers(0, 3, n * K), reward=rng.random(n * K), pscore=np.full(n * K, 1 / 3),
                    position=np.tile(np.arange(K), n), n_actions=3)
    dist = rng.dirichlet(np.ones(3), n * K)
    plain = ope.IPS().estimate(log, dist)
    # the per-row terms are those the estimate kept: the estimator is not run a second time
    monkeypatch.setattr(ope.IPS, "contributions", lambda *a, **k: (_ for _ in ()).throw(AssertionError("rerun")))
    e = run_estimator(ope.IPS(), "bandit", log, bandit_inputs(log, dist), 0.05, "normal", slots=K)
    assert e.n == n and e.value == pytest.approx(K * plain.value, rel=1e-12)
    per = (np.asarray(plain.contributions).reshape(n, K)).sum(axis=1)
    assert e.stderr == pytest.approx(per.std(ddof=1) / np.sqrt(n), rel=1e-9)
