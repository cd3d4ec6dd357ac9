"""The ``simrec`` command: run, report, envs, ope, and help that teaches."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from simrec.cli import cli
from simrec.data import BanditLog
from tests._env import checkout_env
from tests.sweeps._fixtures import TINY_TOML


@pytest.fixture
def runner():
    return CliRunner()


def test_help_teaches(runner):
    top = runner.invoke(cli, ["--help"])
    assert top.exit_code == 0
    for cmd in ("run", "report", "envs", "ope"):
        assert cmd in top.output
    assert "simrec run examples/quickstart.toml" in top.output
    run = runner.invoke(cli, ["run", "--help"])
    assert run.exit_code == 0
    for text in ("--backend", "--n-jobs", "--retry-failed", "results.parquet", "runs/<run_id>.parquet",
                 "A minimal sweep file", "estimators = ", "--set"):
        assert text in run.output, text
    ope = runner.invoke(cli, ["ope", "--help"])
    assert "pscore" in ope.output and "context_0" in ope.output and "Examples" in ope.output
    assert runner.invoke(cli, ["--version"]).output.startswith("simrec, version")


def test_python_dash_m_and_console_script_entry_point():
    out = subprocess.run([sys.executable, "-m", "simrec", "--help"], capture_output=True, text=True, timeout=120,
                         env=checkout_env())
    assert out.returncode == 0 and "simrec run" in out.stdout


def test_envs_lists_environments_and_spaces(runner):
    res = runner.invoke(cli, ["envs"])
    assert res.exit_code == 0, res.output
    for env_id in ("simrec/Bandit-v0", "simrec/Slate-v0", "simrec/Retention-v0", "simrec/Messaging-v0"):
        assert env_id in res.output
    assert "observation_space: Box(-10.0, 10.0, (16,), float32)" in res.output
    assert "action_space:      Discrete(1000)" in res.output
    bad = runner.invoke(cli, ["envs", "--world", "nope"])
    assert bad.exit_code == 2 and "unknown world preset 'nope'" in bad.output


def test_run_writes_results_and_report_then_resumes(runner, tmp_path):
    sweep = tmp_path / "tiny.toml"
    sweep.write_text(TINY_TOML)
    out = tmp_path / "out"
    res = runner.invoke(cli, ["run", str(sweep), "-o", str(out), "--no-progress", "--set", "seeds=1"])
    assert res.exit_code == 0, res.output
    assert "1 runs: 1 executed now, 0 already finished (skipped); 1 ok, 0 failed" in res.output
    for name in ("results.parquet", "report.html", "report.md", "sweep.json"):
        assert (out / name).exists(), name
    assert len(list((out / "runs").glob("*.parquet"))) == 1
    assert len(list((out / "figures").glob("*.svg"))) == 6
    again = runner.invoke(cli, ["run", str(sweep), "-o", str(out), "--no-progress", "--set", "seeds=1", "--no-report"])
    assert again.exit_code == 0 and "0 executed now, 1 already finished (skipped); 1 ok" in again.output
    dry = runner.invoke(cli, ["run", str(sweep), "-o", str(out), "--set", "seeds=2", "--dry-run"])
    assert dry.exit_code == 0 and "2 runs (1 to execute)" in dry.output and dry.output.count("  todo  ") == 1
    rep = runner.invoke(cli, ["report", str(out / "results.parquet"), "-o", str(tmp_path / "rep")])
    assert rep.exit_code == 0, rep.output
    assert (tmp_path / "rep" / "report.html").exists() and "6 figures" in rep.output


def test_run_default_output_is_reports_slash_name(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.yaml").write_text("name: named\nseeds: 1\nhorizon: 5\ntrain_rounds: 0\n"
                                     "worlds: [{preset: default, population: {n_users: 50}, catalog: {n_items: 20}}]\n"
                                     "policies: [uniform]\nlogging: {policy: uniform, n: 100}\nestimators: [IPS]\n"
                                     "truth: {episodes: 4}\n")
    res = runner.invoke(cli, ["run", "s.yaml", "--no-progress"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "reports" / "named" / "report.html").exists()
    assert (tmp_path / "reports" / "named" / "results.parquet").exists()


def test_a_bad_sweep_file_lists_every_problem_and_runs_nothing(runner, tmp_path):
    sweep = tmp_path / "bad.toml"
    sweep.write_text(TINY_TOML.replace("seeds = 2", "seedz = 2\nhorizon_ = 3").replace(
        'preset = "default"', 'preset = "defualt"').replace("n = 600", 'n = "lots"').replace(
        '"IPS"', '"IPZ"').replace("train_batch = 50}", "train_batch = 50, extra = 1}"))
    out = tmp_path / "out"
    res = runner.invoke(cli, ["run", str(sweep), "-o", str(out)])
    assert res.exit_code == 2
    text = res.output
    assert "nothing was run" in text
    for line in ("seedz: unknown key", "horizon_: unknown key", "worlds.0.preset: unknown preset 'defualt'",
                 "logging.0.n", "estimators.0.name: unknown estimator 'IPZ'", "truth.extra: unknown key"):
        assert line in text, (line, text)
    assert not out.exists()
    missing = runner.invoke(cli, ["run", str(tmp_path / "nope.toml")])
    assert missing.exit_code == 2 and "cannot read" in missing.output


@pytest.fixture
def log_file(tmp_path):
    rng = np.random.default_rng(0)
    n, k, d = 400, 5, 3
    ctx = rng.normal(size=(n, d))
    a = rng.integers(0, k, n)
    r = (rng.random(n) < 0.2 + 0.1 * (a == 2)).astype(float)
    path = tmp_path / "log.parquet"
    BanditLog(action=a, reward=r, pscore=np.full(n, 1 / k), context=ctx, n_actions=k).to_parquet(path)
    return path


def test_ope_of_a_users_log(runner, log_file, tmp_path):
    res = runner.invoke(cli, ["ope", str(log_file), "--policy", "uniform", "--format", "json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    assert [r["estimator"] for r in rows] == ["IPS", "SNIPS", "DM", "DR", "SNDR"]
    ips = next(r for r in rows if r["estimator"] == "IPS")
    log = BanditLog.read_parquet(log_file)
    assert ips["value"] == pytest.approx(log.reward.mean())  # target == logger: IPS is the mean reward
    # the default interval: normal, 95%, around the value, of half-width 1.96 standard errors of the mean
    se = log.reward.std(ddof=1) / np.sqrt(log.n)
    assert ips["stderr"] == pytest.approx(se, rel=1e-9)
    h = 1.959964 * se
    assert (ips["ci_low"], ips["ci_high"]) == pytest.approx((ips["value"] - h, ips["value"] + h), rel=1e-6)
    # a target given as a file of probabilities, a parametrised estimator, CSV out
    probs = np.zeros((log.n, log.n_actions))
    probs[:, 2] = 1.0
    np.save(tmp_path / "always2.npy", probs)
    res = runner.invoke(cli, ["ope", str(log_file), "-p", str(tmp_path / "always2.npy"), "-e", "IPS",
                              "-e", "SwitchDR(tau=10)", "--format", "csv"])
    assert res.exit_code == 0, res.output
    lines = res.output.strip().splitlines()
    assert lines[0].startswith("policy,estimator,value") and len(lines) == 3
    want = (log.reward * (log.action == 2)).mean() * 5
    assert float(lines[1].split(",")[2]) == pytest.approx(want)
    target = "softmax(scores=[0, 0, 1, 0, 0], temperature=0.5)"
    table = runner.invoke(cli, ["ope", str(log_file), "-p", target, "-e", "SNIPS"])
    assert table.exit_code == 0, table.output
    assert "400 rows, 5 actions" in table.output and "softmax(scores=" in table.output


@pytest.mark.parametrize(("content", "match"), [
    (b"this is not parquet", "cannot use"),
    (None, "cannot use"),  # a Parquet file without the log's columns
])
def test_ope_of_an_unreadable_log_is_a_clear_error(runner, tmp_path, content, match):
    path = tmp_path / "bad.parquet"
    if content is None:
        pd.DataFrame({"x": [1, 2, 3]}).to_parquet(path)
    else:
        path.write_bytes(content)
    res = runner.invoke(cli, ["ope", str(path), "--policy", "uniform"])
    assert res.exit_code == 1
    assert res.output.startswith("Error: ") and match in res.output and "bad.parquet" in res.output
    assert "Traceback" not in res.output


def test_ope_argument_errors(runner, log_file):
    missing = runner.invoke(cli, ["ope", "nope.parquet", "--policy", "uniform"])
    assert missing.exit_code == 2 and "does not exist" in missing.output
    no_policy = runner.invoke(cli, ["ope", str(log_file)])
    assert no_policy.exit_code == 2 and "--policy" in no_policy.output
    bad_est = runner.invoke(cli, ["ope", str(log_file), "-p", "uniform", "-e", "IPSS"])
    assert bad_est.exit_code == 2 and "unknown estimator 'IPSS'" in bad_est.output
    bad_pol = runner.invoke(cli, ["ope", str(log_file), "-p", "nosuchpolicy"])
    assert bad_pol.exit_code == 1 and "unknown policy 'nosuchpolicy'" in bad_pol.output
    bad_syntax = runner.invoke(cli, ["ope", str(log_file), "-p", "softmax(temperature=)"])
    assert bad_syntax.exit_code == 2 and "key=literal" in bad_syntax.output
