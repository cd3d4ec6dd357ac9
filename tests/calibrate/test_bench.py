"""benchmarks/bench_calibrate.py: its baseline is the same EM, and it prints what it claims."""

from __future__ import annotations

import re

import numpy as np

from simrec.calibrate import PositionBasedModel
from simrec.data import BanditLog
from tests._env import load_script


def _bench():
    return load_script("benchmarks/bench_calibrate.py")


def test_numpy_baseline_is_the_same_em():
    bench = _bench()
    slates, clicks, _ = bench.make_log(3000, 40, 3, seed=1)
    assert all(len(set(r)) == 3 for r in slates.tolist())  # distinct items per impression
    item, pos, click = slates.ravel(), np.tile(np.arange(3), 3000), clicks.ravel()
    m = PositionBasedModel(max_iter=30, tol=0, accelerate=False).fit(BanditLog(action=item, reward=click, position=pos))
    for em in (bench.numpy_count_em, bench.numpy_row_em):  # the baseline and the row-wise reference
        theta, alpha = em(item, pos, click, 40, 3, iters=30)
        np.testing.assert_allclose(m.examination_, theta, atol=1e-12)
        np.testing.assert_allclose(m.attractiveness_, alpha, atol=1e-12)


def test_bench_runs_and_prints_the_ratio(capsys):
    out = _bench().main(["--impressions", "20000", "--items", "50", "--iters", "10", "--repeat", "1"])
    text = capsys.readouterr().out
    assert "ratio (numpy / simrec)" in text
    for key in ("simrec", "numpy", "numpy_rows", "ratio"):
        assert np.isfinite(out[key]) and out[key] > 0, (key, out[key])
    # the timed sides fitted the same parameters (the comparison is void otherwise)
    diff = re.search(r"same parameters \(max diff ([0-9.e+-]+)\)", text)
    assert diff is not None, text
    assert float(diff.group(1)) <= 1e-9
