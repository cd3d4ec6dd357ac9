"""The `simrec ope` traps and the listing commands (policies, estimators, presets)."""

from __future__ import annotations

import shlex
import sys

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from simrec.cli import cli
from simrec.data import BanditLog


@pytest.fixture
def runner():
    return CliRunner()


def _log(n=300, context=True, position=False, n_actions=4, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, n_actions, n)
    return BanditLog(action=a, reward=(rng.random(n) < 0.3).astype(float), pscore=np.full(n, 1 / n_actions),
                     context=rng.normal(size=(n, 2)) if context else None,
                     position=rng.integers(0, 2, n) if position else None, n_actions=n_actions)


def _ope(runner, path, *args):
    return runner.invoke(cli, ["ope", str(path), *args])


def test_every_ope_help_example_runs(runner, tmp_path, monkeypatch):
    """Each `simrec ope ...` line of the help text runs as written, in a folder holding the files it names."""
    monkeypatch.chdir(tmp_path)
    _log().to_parquet("log.parquet")
    np.save("target_probs.npy", np.full((300, 4), 0.25))
    np.save("target_probs_12.npy", np.full((300, 12), 1 / 12))
    pkg = tmp_path / "mypkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "policies.py").write_text("import numpy as np\n\ndef greedy(x):\n"
                                     "    p = np.zeros((x.shape[0], 4)); p[:, 0] = 1.0\n    return p\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("mypkg", None)
    help_text = runner.invoke(cli, ["ope", "--help"]).output
    examples = [ln.strip() for ln in help_text.splitlines() if ln.strip().startswith("simrec ope ")]
    assert len(examples) >= 4
    for line in examples:
        words = shlex.split(line.split(">")[0])[2:]
        if "--n-actions" in words:  # the example's target has 12 columns
            words = [w if w != "target_probs.npy" else "target_probs_12.npy" for w in words]
        res = runner.invoke(cli, ["ope", *words])
        assert res.exit_code == 0, (line, res.output)
        assert "IPS" in res.output or "DR" in res.output


def test_missing_target_file_is_named(runner, tmp_path):
    _log(context=False).to_parquet(tmp_path / "l.parquet")
    res = _ope(runner, tmp_path / "l.parquet", "-p", str(tmp_path / "nosuch.npy"))
    assert res.exit_code != 0 and "nosuch.npy" in res.output and "does not exist" in res.output
    assert "context" not in res.output and "unknown policy" not in res.output


def test_uniform_on_a_log_without_contexts(runner, tmp_path):
    _log(context=False).to_parquet(tmp_path / "l.parquet")
    res = _ope(runner, tmp_path / "l.parquet", "-p", "uniform", "-e", "IPS", "--format", "csv")
    assert res.exit_code == 0, res.output
    df = pd.read_csv(pd.io.common.StringIO(res.output))
    assert df["value"].iloc[0] == pytest.approx(_log(context=False).reward.mean())


@pytest.mark.parametrize("learner", ["linucb", "popularity", "epsilon-greedy", "ucb1", "linear-ts"])
def test_untrained_learners_are_refused(runner, tmp_path, learner):
    _log().to_parquet(tmp_path / "l.parquet")
    res = _ope(runner, tmp_path / "l.parquet", "-p", learner)
    assert res.exit_code != 0
    assert "not been trained" in res.output and learner in res.output


def test_two_d_target_on_a_positioned_log_is_used_in_every_slot(runner, tmp_path):
    log = _log(position=True)
    log.to_parquet(tmp_path / "l.parquet")
    rng = np.random.default_rng(1)
    t = rng.random((300, 4))
    t /= t.sum(1, keepdims=True)
    np.save(tmp_path / "t2.npy", t)
    np.save(tmp_path / "t3.npy", np.repeat(t[:, :, None], 2, axis=2))
    out = {}
    for name in ("t2", "t3"):
        res = _ope(runner, tmp_path / "l.parquet", "-p", str(tmp_path / f"{name}.npy"), "-e", "IPS",
                   "--format", "csv")
        assert res.exit_code == 0, res.output
        out[name] = pd.read_csv(pd.io.common.StringIO(res.output))["value"].iloc[0]
    assert out["t2"] == out["t3"]
    assert "(n, n_actions, n_slots)" in " ".join(runner.invoke(cli, ["ope", "--help"]).output.split())


def test_n_actions_for_actions_that_never_occur(runner, tmp_path):
    log = _log(n_actions=4)
    df = log.to_pandas()
    df.attrs = {}
    df.to_parquet(tmp_path / "l.parquet")  # a plain file: n_actions is inferred from max(action) + 1
    np.save(tmp_path / "t.npy", np.full((300, 6), 1 / 6))
    res = _ope(runner, tmp_path / "l.parquet", "-p", str(tmp_path / "t.npy"), "-e", "IPS")
    assert res.exit_code != 0 and "--n-actions 6" in res.output
    res = _ope(runner, tmp_path / "l.parquet", "-p", str(tmp_path / "t.npy"), "-e", "IPS", "--n-actions", "6")
    assert res.exit_code == 0, res.output and "6 actions" in res.output


def test_one_spelling_of_estimator_names(runner, tmp_path):
    _log().to_parquet(tmp_path / "l.parquet")
    res = _ope(runner, tmp_path / "l.parquet", "-p", "uniform", "-e", "ips", "-e", "switchdr(tau=5)",
               "--format", "csv")
    assert res.exit_code == 0, res.output
    names = list(pd.read_csv(pd.io.common.StringIO(res.output))["estimator"])
    assert names == ["IPS", "SwitchDR(tau=5)"]


def test_listing_commands(runner):
    from simrec.estimators import registry
    from simrec.policies import policy_names
    from simrec.sim import presets

    pol = runner.invoke(cli, ["policies"])
    assert pol.exit_code == 0
    for name in policy_names():
        assert f"{name}:" in pol.output
    assert "linucb: alpha=0.5" in pol.output and "temperature=1.0" in pol.output
    est = runner.invoke(cli, ["estimators"])
    assert est.exit_code == 0
    for name in registry.names():
        assert name in est.output
    assert "SwitchDR  [bandit" in est.output and "tau=" in est.output
    assert ":func:" not in est.output and ":math:" not in est.output and "``" not in est.output  # plain text
    assert "Difference in means with Welch's interval (analyze_ab)." in est.output
    assert runner.invoke(cli, ["estimators", "--family", "nope"]).exit_code != 0
    pre = runner.invoke(cli, ["presets"])
    for name in presets.names():
        assert f"{name}:" in pre.output
    one = runner.invoke(cli, ["presets", "large-catalog"])
    assert one.exit_code == 0 and "* catalog.n_items = 100000" in one.output
    assert "choice.no_click_utility" in one.output
    assert runner.invoke(cli, ["presets", "nope"]).exit_code == 2


def test_run_help_points_to_shipped_docs(runner):
    """Every document the help names ships with the project (a pointer to a file outside it fails);
    the one exception is report.md, a file the sweep writes."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    out = runner.invoke(cli, ["run", "--help"]).output
    named = set(re.findall(r"[\w./-]+\.md\b", out)) - {"report.md"}
    assert "docs/sweeps.md" in named
    assert all((root / n).is_file() for n in named), named
