"""`simrec run` and `simrec report`: exit codes, failures printed as they happen, Ctrl-C, counts on
resume, undefined estimates, bad results files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from simrec.cli import cli
from simrec.data import BanditLog
from simrec.sweeps import parse_sweep, run_sweep
from simrec.sweeps.estimation import EstimatorEntry, bandit_inputs, estimate_all

from ._fixtures import TINY_TOML, tiny

ROOT = Path(__file__).resolve().parents[2]


def test_run_exits_non_zero_and_prints_each_failure(tmp_path, monkeypatch):
    from simrec.sweeps import compute

    real = compute.compute_run
    calls = []

    def flaky(task):
        calls.append(task.run_id)
        if len(calls) == 1:
            raise ValueError("the simulator exploded")
        return real(task)

    monkeypatch.setattr(compute, "compute_run", flaky)
    f = tmp_path / "s.toml"
    f.write_text(TINY_TOML)
    res = CliRunner().invoke(cli, ["run", str(f), "-o", str(tmp_path / "out"), "--no-progress", "--no-report"])
    assert res.exit_code == 1, res.output
    assert f"run {calls[0]} failed: ValueError: the simulator exploded" in res.output
    assert "2 runs: 2 executed now, 0 already finished (skipped); 1 ok, 1 failed" in res.output
    assert "1 of 2 runs failed" in res.output
    # a resume counts the same totals: nothing executed, still 1 ok and 1 failed on disk
    res2 = CliRunner().invoke(cli, ["run", str(f), "-o", str(tmp_path / "out"), "--no-progress", "--no-report"])
    assert res2.exit_code == 1
    assert "2 runs: 0 executed now, 2 already finished (skipped); 1 ok, 1 failed" in res2.output
    monkeypatch.setattr(compute, "compute_run", real)
    res3 = CliRunner().invoke(cli, ["run", str(f), "-o", str(tmp_path / "out"), "--no-progress", "--no-report",
                                    "--retry-failed"])
    assert res3.exit_code == 0, res3.output
    assert "1 executed now, 1 already finished (skipped); 2 ok, 0 failed" in res3.output


def test_ctrl_c_stops_cleanly_and_a_rerun_resumes(tmp_path):
    sweep = tmp_path / "s.toml"
    sweep.write_text(TINY_TOML.replace("seeds = 2", "seeds = 10"))
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "simrec", "run", str(sweep), "-o", str(out), "-j", "2",
                             "--no-report", "--no-progress"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    deadline = time.monotonic() + 180
    try:
        while time.monotonic() < deadline and len(list((out / "runs").glob("*.parquet")) if out.exists() else []) < 1:
            if proc.poll() is not None:
                pytest.fail(f"the sweep ended before Ctrl-C: {proc.stderr.read().decode()[-2000:]}")
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole process group
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    err = err.decode()
    assert proc.returncode == 130, err[-2000:]
    assert "rerun the same command to resume" in err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err[-3000:]
    done = len(list((out / "runs").glob("*.parquet")))
    assert 1 <= done < 10
    res = run_sweep(parse_sweep(tiny(seeds=10)), "local", out_dir=out, progress=False)
    assert res.n_skipped == done and res.n_executed == 10 - done and res.n_ok == 10


def test_an_undefined_estimate_marks_its_row_not_the_run():
    log = BanditLog(action=[0, 0, 1, 1], reward=[1.0, 0.0, 1.0, 0.0], pscore=[0.5] * 4, n_actions=3)
    never = np.tile([0.0, 0.0, 1.0], (4, 1))  # the target never takes a logged action
    rows = estimate_all(log, "bandit", {"never": bandit_inputs(log, never)},
                        [EstimatorEntry("IPS", "IPS"), EstimatorEntry("SNIPS", "SNIPS")])
    by = {r["estimator"]: r for r in rows}
    assert by["IPS"]["status"] == "ok" and by["IPS"]["estimate"] == 0.0
    assert by["SNIPS"]["status"] == "undefined"
    assert "probability 0 to every logged action" in by["SNIPS"]["error_message"]


def test_undefined_rows_keep_the_run_ok(tmp_path, monkeypatch):
    from simrec.sweeps import estimation

    real = estimation.run_estimator

    def undefined_snips(est, *a, **kw):
        if est.label == "SNIPS":
            from simrec.errors import InvalidLogError

            raise InvalidLogError("SNIPS is undefined: the target policy gives probability 0 to every logged action")
        return real(est, *a, **kw)

    monkeypatch.setattr(estimation, "run_estimator", undefined_snips)
    res = run_sweep(parse_sweep(tiny(seeds=1)), "local", out_dir=tmp_path, progress=False)
    df = res.table
    assert res.n_ok == 1 and res.n_failed == 0 and res.n_undefined == 3
    assert (df.loc[df["estimator"] == "SNIPS", "status"] == "undefined").all()
    assert (df.loc[df["estimator"] != "SNIPS", "status"] == "ok").all()
    assert "3 undefined estimate(s)" in res.summary()


def test_report_on_files_that_are_not_results(tmp_path):
    runner = CliRunner()
    toml = tmp_path / "s.toml"
    toml.write_text(TINY_TOML)
    res = runner.invoke(cli, ["report", str(toml)])
    assert res.exit_code == 1 and "is not a results table: not a Parquet file" in res.output
    # a Parquet file without the results columns
    import pandas as pd

    other = tmp_path / "other.parquet"
    pd.DataFrame({"a": [1, 2]}).to_parquet(other)
    res = runner.invoke(cli, ["report", str(other)])
    assert res.exit_code == 1 and "is not a simrec results table" in res.output
    # a truncated results file
    out = tmp_path / "out"
    run_sweep(parse_sweep(tiny(seeds=1)), "local", out_dir=out, progress=False)
    data = (out / "results.parquet").read_bytes()
    (out / "results.parquet").write_bytes(data[: len(data) // 2])
    res = runner.invoke(cli, ["report", str(out / "results.parquet")])
    assert res.exit_code == 1 and "is truncated or damaged" in res.output


def test_a_truncated_run_file_is_recomputed_on_resume(tmp_path):
    spec = parse_sweep(tiny(seeds=2))
    first = run_sweep(spec, "local", out_dir=tmp_path, progress=False)
    victim = sorted((tmp_path / "runs").glob("*.parquet"))[0]
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) // 3])
    res = run_sweep(spec, "local", out_dir=tmp_path, progress=False)
    assert res.n_executed == 1 and res.n_skipped == 1 and res.n_ok == 2
    assert len(res.table) == len(first.table)
