"""The sweep validator and the `simrec ope` command (both bandit-only) reject sequential estimators
by name before anything runs."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from simrec.cli import cli
from simrec.data import BanditLog
from simrec.sweeps.spec import SweepSpecError, parse_sweep


def test_a_bandit_sweep_rejects_a_sequential_estimator():
    with pytest.raises(SweepSpecError, match=r"estimators.1.name: PDIS reads trajectories logs"):
        parse_sweep({
            "name": "demo", "seeds": 1,
            "worlds": [{"preset": "default", "population": {"n_users": 50}, "catalog": {"n_items": 20}}],
            "policies": ["uniform"], "logging": {"policy": "uniform", "n": 100},
            "estimators": ["IPS", "PDIS"]})


def test_the_ope_command_rejects_a_sequential_estimator(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "log.parquet"
    BanditLog(action=rng.integers(0, 3, 50), reward=rng.random(50), pscore=np.full(50, 1 / 3),
              context=rng.normal(size=(50, 2)), n_actions=3).to_parquet(path)
    res = CliRunner().invoke(cli, ["ope", str(path), "-p", "uniform", "-e", "WDR"])
    assert res.exit_code == 2 and "WDR reads trajectories logs" in res.output, res.output
