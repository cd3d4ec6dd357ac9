"""The quick start: `simrec run examples/quickstart.toml` alone produces the report, in under 3 minutes."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from simrec.sweeps import load_sweep, read_results
from tests._env import checkout_env

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "examples" / "quickstart.toml"


def test_quickstart_file_is_valid_and_has_what_the_readme_promises():
    spec = load_sweep(QUICKSTART)
    assert spec.name == "quickstart" and spec.worlds[0].preset == "default" and not spec.worlds[0].overrides
    names = {p.name for p in spec.policies}
    assert {"uniform", "popularity", "linucb", "linear-ts", "oracle"} <= names
    assert len(spec.seeds) == 3 and spec.logging[0].n[0] > 0
    assert {"IPS", "SNIPS", "DM", "DR"} <= {e.name for e in spec.estimators}
    yaml_spec = load_sweep(ROOT / "examples" / "quickstart.yaml")
    assert yaml_spec.canonical() | {"name": ""} == spec.canonical() | {"name": ""}


@pytest.mark.slow
def test_quickstart_runs_in_under_three_minutes_and_writes_the_report(tmp_path):
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "simrec", "run", str(QUICKSTART), "--no-progress"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=600, env=checkout_env())
    wall = time.monotonic() - t0
    assert out.returncode == 0, out.stderr[-3000:]
    rep = tmp_path / "reports" / "quickstart"
    for name in ("report.html", "report.md", "results.parquet"):
        assert (rep / name).exists(), name
    df, _ = read_results(rep)
    assert df["run_id"].nunique() == 3 and (df["status"] == "ok").all()
    assert df["policy"].nunique() == 5 and df["estimator"].nunique() == 8
    assert wall < 180, f"the quick start took {wall:.0f} s"
