"""Every estimator benchmark script runs end to end at a tiny size and prints its ratio lines (the
full sizes are for `python benchmarks/<script>.py`; this only guards against API drift)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests._env import checkout_env

ROOT = Path(__file__).resolve().parents[1]

CASES = [
    ("bench_ope.py", ["--rows", "5000", "--no-big", "--repeat", "1", "--n-boot", "200"], "ratio"),
    ("bench_slate_ope.py", ["--rows", "5000", "--items", "50", "--repeat", "1"], "SlateIPS"),
    ("bench_seq_ope.py", ["--steps", "5000", "--repeat", "1", "--fqe-steps", "2000"], "PDIS"),
    ("bench_ab.py", ["--users", "5000", "--repeat", "1"], "ratio"),
]


@pytest.mark.parametrize(("script", "args", "expect"), CASES, ids=[c[0] for c in CASES])
def test_benchmark_script_runs(script, args, expect, tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args], capture_output=True, text=True,
                         timeout=600, cwd=tmp_path, env=checkout_env())
    assert out.returncode == 0, out.stderr[-2000:]
    assert expect in out.stdout
