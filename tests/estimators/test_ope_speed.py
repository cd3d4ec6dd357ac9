"""Speed and memory claims, measured as ratios in the same process (marked slow; they still run in
CI). Full-size figures come from benchmarks/bench_ope.py."""

from __future__ import annotations

import time
import tracemalloc

import numpy as np
import pytest

from simrec.estimators import ope

pytestmark = pytest.mark.slow


def best(fn, repeat=5):
    t_best = np.inf
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        t_best = min(t_best, time.perf_counter() - t)
    return t_best


def _dense(n, k, seed=0):
    rng = np.random.default_rng(seed)
    q = rng.random((n, k))
    ad = rng.random((n, k))
    ad /= ad.sum(axis=1, keepdims=True)
    a = rng.integers(0, k, n)
    log = ope.BanditLog(action=a, reward=rng.random(n), pscore=np.full(n, 1 / k), n_actions=k)
    return log, ad, q


def test_dr_within_twice_the_memory_floor():
    log, ad, q = _dense(500_000, 100)
    assert not np.isin(np.arange(100), log.action[:1000], invert=True).any()
    ope.DR().estimate(log[:1000], ad[:1000], q[:1000])  # compile
    floor = best(lambda: (ad.sum(), q.sum()))
    t_dr = best(lambda: ope.DR().estimate(log, ad, q))
    assert t_dr <= 2.0 * floor, f"DR {t_dr * 1e3:.1f} ms vs floor {floor * 1e3:.1f} ms"


@pytest.mark.parametrize("est", [ope.IPS(), ope.SNIPS()], ids=lambda e: e.name)
def test_reduced_form_is_faster_than_one_numpy_pass(est):
    """The reduced path (1M rows x 1,000 actions, no dense arrays) is compared with the same-run cost
    of one numpy pass over its inputs; absolute rows/s are printed by benchmarks/bench_ope.py."""
    n = 1_000_000
    rng = np.random.default_rng(1)
    log = ope.BanditLog(action=rng.integers(0, 1000, n), reward=rng.random(n),
                        pscore=np.full(n, 1e-3), n_actions=1000)
    pi = rng.random(n) * 2e-3
    est.estimate(log, pi_logged=pi)
    t = best(lambda: est.estimate(log, pi_logged=pi), repeat=7)
    floor = best(lambda: float((pi / log.pscore * log.reward).sum()), repeat=7)
    assert t <= 6.0 * floor, f"{est.name} reduced {t * 1e3:.1f} ms vs numpy pass {floor * 1e3:.1f} ms"


def test_bootstrap_10000_resamples_of_1m_rows():
    """Correctness of the large-n bootstrap path; its time (< 10 s asked) is printed by bench_ope.py."""
    c = np.random.default_rng(2).lognormal(0, 1, 1_000_000)
    e = ope.Estimate.from_contributions(c, name="x")
    lo, hi = e.interval("bootstrap", n_boot=10_000, rng=0)
    assert lo < c.mean() < hi and (hi - lo) == pytest.approx(e.ci[1] - e.ci[0], rel=0.05)


def test_chunked_reduction_memory_is_independent_of_rows_times_actions():
    n, k, block = 200_000, 1000, 8192
    rng = np.random.default_rng(3)
    log = ope.BanditLog(action=rng.integers(0, k, n), reward=rng.random(n), pscore=np.full(n, 1 / k),
                        n_actions=k)

    def pi_block(a, b):
        p = np.random.default_rng(a).random((b - a, k))
        return p / p.sum(axis=1, keepdims=True)

    def q_block(a, b):
        return np.random.default_rng(a + 1).random((b - a, k))

    tracemalloc.start()
    red = ope.ReducedInputs.from_chunks(log, pi_block, q_block, chunk_size=block)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    dense_bytes = 2 * n * k * 8
    assert peak < 4 * 2 * block * k * 8 + 64 * n, f"peak {peak / 1e6:.0f} MB"
    assert peak < dense_bytes / 10
    # same answer as the dense reduction
    sl = slice(0, 3 * block + 5)
    ad = np.vstack([pi_block(s, min(s + block, n)) for s in range(0, 3 * block + 5, block)])[:sl.stop]
    qd = np.vstack([q_block(s, min(s + block, n)) for s in range(0, 3 * block + 5, block)])[:sl.stop]
    ref = ope.reduce_inputs(log[sl], ad, qd)
    np.testing.assert_array_equal(red.pi_logged[sl], ref.pi_logged)
    np.testing.assert_allclose(red.q_pi[sl], ref.q_pi, rtol=1e-13)
    e = ope.DR().estimate(log, red)
    assert e.n == n
