"""benchmarks/bench_sim.py: its numpy baselines are the simulator's model, and it prints what it claims."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np

from simrec.sim import World, presets

ROOT = Path(__file__).resolve().parents[2]


def _bench():
    spec = importlib.util.spec_from_file_location("bench_sim", ROOT / "benchmarks" / "bench_sim.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _setup(B=300, K=5, N=200):
    cfg = presets.get("default", slate_size=K, dim=16, **{"catalog.n_items": N, "population.n_users": B})
    rng = np.random.default_rng(0)
    slates = np.argsort(rng.random((B, N)), axis=1)[:, :K].astype(np.int64)
    return cfg, slates


def test_numpy_step_is_the_simulators_step_and_leaves_inactive_rows_alone():
    bench = _bench()
    cfg, slates = _setup()
    B = len(slates)
    ref, w = World(cfg, seed=0), World(cfg, seed=0)
    ref.reset(np.arange(B), 0)
    w.reset(np.arange(B), 0)
    active = np.arange(B) % 3 != 0
    before = w.state.theta.copy(), w.state.bored.copy(), w.state.sat.copy()
    emb = w.catalog.embedding.astype(np.float64)
    left, chosen, watch, slot_exp = bench.numpy_step(w, slates, np.random.default_rng(1), emb, active)
    fb = ref.step(slates, active)
    np.testing.assert_allclose(slot_exp, fb.slot_expected_reward, rtol=1e-6, atol=1e-12)
    off = ~active
    for now, was in zip((w.state.theta, w.state.bored, w.state.sat), before):
        np.testing.assert_array_equal(now[off], was[off])
        assert not np.array_equal(now[active], was[active])
    assert not left[off].any() and (chosen[off] == slates.shape[1]).all()
    # the same click and leave rates as the simulator, over many rows
    assert abs((chosen[active] < slates.shape[1]).mean() - (fb.clicked_slot[active] >= 0).mean()) < 0.1


def test_numpy_env_validates_and_autoresets():
    bench = _bench()
    cfg, slates = _setup()
    w = World(cfg, seed=0)
    w.reset(np.arange(len(slates)), 0)
    env = bench.NumpySlateVectorEnv(w, np.random.default_rng(0))
    bad = slates.copy()
    bad[3, 1] = bad[3, 0]
    for s, match in ((bad, "repeated"), (slates + 1000, "range")):
        try:
            env.step(s)
        except ValueError as e:
            assert match in str(e)
        else:
            raise AssertionError("accepted a bad slate")
    obs, reward, term, trunc, info = env.step(slates)
    assert obs.dtype == np.float32 and obs.shape == (len(slates), 2 * 16 + 3) and term.any()
    _, _, _, _, info2 = env.step(slates)
    np.testing.assert_array_equal(info2["_expected_reward"], ~term)  # rows that ended start over


def test_bench_sim_prints_all_three_rates_and_the_ratios():
    args = ["--users", "500", "--items", "640", "--steps", "10"]
    script = str(ROOT / "benchmarks" / "bench_sim.py")
    out = subprocess.run([sys.executable, script, *args], capture_output=True, text=True, timeout=300, check=True)
    text = out.stdout
    for line in ("simrec Slate-v0 VectorEnv.step", "numpy, the same VectorEnv.step", "numpy, simulator step only"):
        assert line in text and "user-steps/s" in text.split(line)[1].splitlines()[0]
    assert "ratio simrec / numpy (same VectorEnv.step)" in text and "ratio simrec / numpy simulator step only" in text
