"""benchmarks/bench_sim.py: its numpy baselines are the simulator's model, and it prints what it claims."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from simrec.sim import World, presets
from tests._env import checkout_env, load_script

ROOT = Path(__file__).resolve().parents[2]


def _bench():
    return load_script("benchmarks/bench_sim.py")


def _setup(B=300, K=5, N=200):
    cfg = presets.get("default", slate_size=K, dim=16, **{"catalog.n_items": N, "population.n_users": B})
    rng = np.random.default_rng(0)
    slates = np.argsort(rng.random((B, N)), axis=1)[:, :K].astype(np.int64)
    return cfg, slates


def _mutate(cfg, section: str, **changes):
    """A copy of ``cfg`` with ``section``'s fields changed (unvalidated: a sign may go negative)."""
    return cfg.model_copy(update={section: getattr(cfg, section).model_copy(update=changes)})


def test_same_model_check_passes_on_the_simulators_model():
    bench = _bench()
    cfg, slates = _setup()
    bench.check_same_model(cfg, [slates, np.roll(slates, 1, axis=0)], steps=8)


# Each mutation of the numpy side is a mistake the old one-step expected-reward check let through.
MUTATIONS = {
    "boredom sign flipped": lambda c: _mutate(c, "choice", boredom_weight=-c.choice.boredom_weight),
    "drift 10x too fast": lambda c: _mutate(c, "drift", rate=10 * c.drift.rate),
    "satisfaction update flipped": lambda c: _mutate(c, "satisfaction", rate=-c.satisfaction.rate),
    "leaving ignores satisfaction": lambda c: _mutate(c, "session", satisfaction_weight=0.0),
    "exposure boredom 5x": lambda c: _mutate(c, "boredom", exposure_growth=5 * c.boredom.exposure_growth),
}


@pytest.mark.parametrize("mutation", list(MUTATIONS), ids=list(MUTATIONS))
def test_same_model_check_catches_a_mutated_numpy_side(mutation):
    bench = _bench()
    cfg, slates = _setup()
    with pytest.raises(AssertionError, match="not the simulator's model"):
        bench.check_same_model(cfg, [slates, np.roll(slates, 1, axis=0)], steps=8,
                               numpy_config=MUTATIONS[mutation](cfg))


def test_numpy_step_leaves_inactive_rows_alone():
    bench = _bench()
    cfg, slates = _setup()
    B = len(slates)
    w = World(cfg, seed=0)
    w.reset(np.arange(B), 0)
    active = np.arange(B) % 3 != 0
    before = w.state.theta.copy(), w.state.bored.copy(), w.state.sat.copy()
    left, chosen, watch, probs = bench.numpy_step(w, slates, np.random.default_rng(1).random((2, B)), active)
    off = ~active
    for now, was in zip((w.state.theta, w.state.bored, w.state.sat), before):
        np.testing.assert_array_equal(now[off], was[off])
        assert not np.array_equal(now[active], was[active])
    assert not left[off].any() and (chosen[off] == slates.shape[1]).all()
    assert (probs[off] == 0).all() and (watch[off] == 0).all() and (probs[active] > 0).all()


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
    out = subprocess.run([sys.executable, script, *args], capture_output=True, text=True, timeout=300, check=True,
                         env=checkout_env())
    text = out.stdout
    one_thread = text.split("numba threads 1:")[1]  # the ratios at one numba thread come last
    for part in (text, one_thread):
        for line in ("simrec Slate-v0 VectorEnv.step", "numpy, the same VectorEnv.step", "numpy, simulator step only"):
            assert line in part and "user-steps/s" in part.split(line)[1].splitlines()[0]
        for ratio in ("ratio simrec / numpy (same VectorEnv.step)", "ratio simrec / numpy simulator step only"):
            assert ratio in part
