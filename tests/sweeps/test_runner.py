"""The runner: what a run computes, provenance, resume, failures, kill-and-rerun."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest

import simrec
from simrec.sweeps import RunStore, comparable, expand, parse_sweep, read_results, run_sweep
from simrec.sweeps import compute as run_mod
from simrec.sweeps.profiles import make_env
from tests._env import checkout_env

from ._fixtures import TINY_TOML, tiny

PROVENANCE = ("run_id", "config_hash", "simrec_version", "python_version", "numpy_version", "numba_version",
              "pandas_version", "git_sha", "base_seed", "log_seed", "started_at", "wall_s")


def _files(out):
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in (out / "runs").glob("*.parquet")}


def test_a_run_has_truth_log_estimates_and_errors(tiny_serial):
    spec, res = tiny_serial
    df = res.table
    tasks = expand(spec)
    assert res.n_runs == res.n_executed == len(tasks) == 2 and res.n_failed == 0
    assert len(df) == len(tasks) * len(spec.policies) * len(spec.estimators)
    assert (df["status"] == "ok").all()
    assert set(df["run_id"]) == {t.run_id for t in tasks}
    # provenance in every row
    for col in PROVENANCE:
        assert df[col].notna().all() and (df[col].astype(str) != "").all(), col
    assert (df["simrec_version"] == simrec.__version__).all()
    assert (df["config_hash"] == spec.config_hash()).all()
    # estimates, intervals and errors are consistent
    assert np.allclose(df["error"], df["estimate"] - df["truth"])
    assert np.allclose(df["squared_error"], df["error"] ** 2)
    assert (df["covered"] == ((df["ci_low"] <= df["truth"]) & (df["truth"] <= df["ci_high"]))).all()
    # the spec's interval (normal, 95% by default): the estimate +- 1.96 of its standard errors,
    # clipped to the reward range [0, 1] of clicks (never so far that it excludes the estimate)
    z = NormalDist().inv_cdf(0.975)
    est = df["estimate"]
    lo, hi = np.minimum(est, 0.0), np.maximum(est, 1.0)
    assert np.allclose(df["ci_low"], np.clip(est - z * df["stderr"], lo, hi), rtol=0, atol=1e-12)
    assert np.allclose(df["ci_high"], np.clip(est + z * df["stderr"], lo, hi), rtol=0, atol=1e-12)
    assert (df["n"] == 600).all()
    # a run file per run, and the consolidated table equals them
    assert _files(res.out_dir).keys() == {f"{t.run_id}.parquet" for t in tasks}
    back, config = read_results(res.results_path)
    pd.testing.assert_frame_equal(comparable(back), comparable(df))
    assert config["name"] == "tiny"


def test_truth_exact_matches_closed_form_and_rollouts(tiny_serial):
    spec, res = tiny_serial
    df = res.table.drop_duplicates(["run_id", "policy"])
    task = expand(spec)[0]
    truth = make_env(task.env, task.world["config"], task.env_params).unwrapped.truth
    R = truth.expected_reward_matrix()
    uni = df[df["policy"] == "uniform"]
    assert np.allclose(uni["truth"], R.mean())  # uniform: the mean of the expected-reward matrix
    orc = df[df["policy"] == "oracle"]
    assert np.allclose(orc["truth"], R.max(axis=1).mean())  # oracle: every user's best item
    assert (df["truth_method"] == "exact").all() and (df["truth_se"] == 0).all()
    # the episode rollout (horizon rounds) is an unbiased estimate of horizon x the exact value
    h = spec.horizon[0]
    z = (df["episode_value"] / h - df["truth"]) / (df["episode_value_se"] / h)
    assert (df["episode_value_se"] > 0).all()
    assert (z.abs() < 4).all(), z
    # fixed policies do not depend on the seed; trained ones are trained with the seed's stream
    assert uni["truth"].nunique() == 1
    assert df[df["policy"] == "LinUCB"]["truth"].nunique() == 2


def test_rerun_skips_finished_runs_and_rewrites_nothing(tiny_copy):
    spec, out = tiny_copy
    before = _files(out)
    res = run_sweep(spec, "local", out_dir=out, progress=False)
    assert res.n_executed == 0 and res.n_skipped == res.n_runs == 2
    assert _files(out) == before


def test_a_failing_run_is_recorded_and_the_rest_completes(tmp_path, monkeypatch):
    spec = parse_sweep(tiny(seeds=3))
    tasks = expand(spec)
    bad = tasks[1].run_id
    real = run_mod.compute_run

    def flaky(task):
        if task.run_id == bad:
            raise RuntimeError("simulated crash in this run")
        return real(task)

    monkeypatch.setattr(run_mod, "compute_run", flaky)
    res = run_sweep(spec, "local", out_dir=tmp_path, progress=False)
    assert res.n_executed == 3 and res.n_failed == 1 and res.failed_ids == [bad]
    df = res.table
    failed = df[df["run_id"] == bad]
    assert len(failed) == 1 and failed["status"].item() == "failed"
    assert "RuntimeError: simulated crash in this run" in failed["error_message"].item()
    assert "Traceback" in failed["error_message"].item()
    ok = df[df["run_id"] != bad]
    assert (ok["status"] == "ok").all() and ok["run_id"].nunique() == 2
    assert RunStore(tmp_path).statuses()[bad] == "failed"

    # a plain rerun keeps the failure; --retry-failed reruns only it
    before = _files(tmp_path)
    res2 = run_sweep(spec, "local", out_dir=tmp_path, progress=False)
    assert res2.n_executed == 0 and res2.failed_ids == [bad]
    monkeypatch.setattr(run_mod, "compute_run", real)
    res3 = run_sweep(spec, "local", out_dir=tmp_path, progress=False, retry_failed=True)
    assert res3.n_executed == 1 and res3.n_failed == 0
    after = _files(tmp_path)
    assert {k: v for k, v in after.items() if k != f"{bad}.parquet"} == \
        {k: v for k, v in before.items() if k != f"{bad}.parquet"}
    assert (res3.table["status"] == "ok").all()


def test_a_failing_estimator_fails_only_its_rows(tmp_path, monkeypatch):
    from simrec.sweeps import _registry

    real = _registry.make_estimator

    def make(name, params, label, random_state=None):
        if name == "SNIPS":
            raise ValueError("SNIPS exploded")
        return real(name, params, label, random_state=random_state)

    monkeypatch.setattr(_registry, "make_estimator", make)
    res = run_sweep(parse_sweep(tiny(seeds=1)), "local", out_dir=tmp_path, progress=False)
    df = res.table
    bad = df[df["estimator"] == "SNIPS"]
    assert (bad["status"] == "failed").all() and bad["error_message"].str.contains("SNIPS exploded").all()
    assert (df[df["estimator"] != "SNIPS"]["status"] == "ok").all()
    assert res.n_failed == 1  # the run is marked failed so that --retry-failed can redo it


def test_local_process_pool_gives_the_serial_table(tiny_serial, tmp_path):
    spec, ref = tiny_serial
    res = run_sweep(spec, "local", n_jobs=2, out_dir=tmp_path, progress=False)
    pd.testing.assert_frame_equal(comparable(res.table), comparable(ref.table), check_exact=True)
    assert (res.table["pid"] != os.getpid()).all()  # the runs executed in the pool's worker processes


def test_killing_a_sweep_midway_loses_nothing_and_recomputes_nothing(tmp_path):
    sweep = tmp_path / "kill.toml"
    sweep.write_text(TINY_TOML.replace("seeds = 2", "seeds = 8"))
    out = tmp_path / "out"
    env = checkout_env(PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "simrec", "run", str(sweep), "-o", str(out), "--no-report",
                             "--no-progress"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and len(_files(out) if (out / "runs").exists() else {}) < 2:
            if proc.poll() is not None:
                pytest.fail(f"the sweep ended before it could be killed: {proc.stderr.read().decode()[-2000:]}")
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    survived = _files(out)
    assert 2 <= len(survived) < 8, survived
    spec = parse_sweep(tiny(seeds=8))
    res = run_sweep(spec, "local", out_dir=out, progress=False)
    assert res.n_skipped == len(survived) and res.n_executed == 8 - len(survived)
    after = _files(out)
    assert {k: after[k] for k in survived} == survived  # finished runs untouched
    assert len(after) == 8 and (res.table["status"] == "ok").all()
    # and the table equals an uninterrupted sweep's
    clean = run_sweep(spec, "local", out_dir=tmp_path / "clean", progress=False)
    pd.testing.assert_frame_equal(comparable(res.table), comparable(clean.table), check_exact=True)


def test_max_runs_then_resume(tmp_path):
    spec = parse_sweep(tiny(seeds=3))
    first = run_sweep(spec, "local", out_dir=tmp_path, progress=False, max_runs=1)
    assert first.n_executed == 1 and first.table["run_id"].nunique() == 1
    second = run_sweep(spec, "local", out_dir=tmp_path, progress=False)
    assert second.n_skipped == 1 and second.n_executed == 2 and second.table["run_id"].nunique() == 3


def test_progress_bar_with_eta(tmp_path, capsys):
    run_sweep(parse_sweep(tiny(seeds=2)), "local", out_dir=tmp_path, progress=True, max_runs=2)
    err = capsys.readouterr().err
    assert "tiny [local (1 worker)]" in err and "2/2" in err
    assert re.search(r"\[\d\d:\d\d<\d\d:\d\d", err), err  # elapsed<remaining (the ETA)
