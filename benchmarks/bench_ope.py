"""Bandit OPE speed and memory: simrec estimators against the memory floor, in one run.

    python benchmarks/bench_ope.py                 # 1,000,000 rows x 100 actions, plus 1M x 1000 reduced
    python benchmarks/bench_ope.py --rows 200000 --no-big

The memory floor is one pass that sums ``action_dist`` and ``q_hat`` (numpy's pairwise sum reads
each array once, at memory bandwidth): no estimator that reads its dense inputs can beat it. Each
estimator's time includes input validation, the fused reduction, contributions, standard error,
normal interval and diagnostics. Times are the best of ``--repeat`` runs; ratios are what matter on
a shared machine. The 1M x 1000 case builds the reduced form block by block (dense blocks of
16,384 rows) so no dense 1M x 1000 array ever exists.
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc
import warnings

import numpy as np
from _timing import best  # benchmarks/_timing.py (scripts run from their folder)

from simrec.estimators import ope


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # Linux: KiB




def softmax_rows(logits: np.ndarray) -> np.ndarray:
    logits -= logits.max(axis=1, keepdims=True)
    np.exp(logits, out=logits)
    logits /= logits.sum(axis=1, keepdims=True)
    return logits


def make(n: int, k: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    q_hat = rng.random((n, k))
    action_dist = softmax_rows(3.0 * q_hat + rng.normal(0, 0.5, (n, k)))
    action = rng.integers(0, k, n)
    reward = (rng.random(n) < q_hat[np.arange(n), action]).astype(np.float64)
    log = ope.BanditLog(action=action, reward=reward, pscore=np.full(n, 1.0 / k), n_actions=k)
    return log, action_dist, q_hat


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--actions", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--n-boot", type=int, default=10_000)
    ap.add_argument("--no-big", action="store_true", help="skip the 1M x 1000 reduced-form case")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    n, k = args.rows, args.actions

    small, ad_s, q_s = make(1000, k, 1)  # compile the kernels outside the timings
    for est in (ope.IPS(), ope.DR()):
        est.estimate(small, ad_s, q_s).interval("bootstrap", n_boot=10, rng=0)
    ope.IPS().estimate(small, ad_s, q_s).interval("bootstrap", n_boot=100_000, rng=0)

    log, ad, q = make(n, k)
    print(f"bench_ope: {n:,} rows x {k} actions, float64, best of {args.repeat}; "
          f"inputs {2 * ad.nbytes / 1e9:.2f} GB")
    t_floor, _ = best(lambda: (ad.sum(), q.sum()), args.repeat + 2)
    print(f"  memory floor (sum action_dist + sum q_hat) {t_floor * 1e3:8.1f} ms")

    def numpy_dr():
        rows = np.arange(n)
        w = ad[rows, log.action] / log.pscore
        dm = np.einsum("ij,ij->i", ad, q)
        return float((dm + w * (log.reward - q[rows, log.action])).mean())

    t_np, v_np = best(numpy_dr, args.repeat)
    print(f"  numpy reference DR (no validation)         {t_np * 1e3:8.1f} ms  ratio {t_np / t_floor:5.2f}x floor")
    estimators = [ope.DM(), ope.IPS(), ope.IPS(clip=50.0, name="ips-clip"), ope.SNIPS(), ope.DR(),
                  ope.SNDR(), ope.SwitchDR(), ope.DRos(), ope.SubGaussianIPS(), ope.Replay()]
    dr_est = None
    for est in estimators:
        t, e = best(lambda est=est: est.estimate(log, ad, q), args.repeat)
        if est.label == "DR":
            dr_est = e
            assert abs(e.value - v_np) < 1e-9, (e.value, v_np)
        print(f"  {est.label:<10} dense  {t * 1e3:8.1f} ms  ratio {t / t_floor:5.2f}x floor  "
              f"value {e.value:.5f}  peak RSS {peak_rss_gb():.2f} GB")

    tracemalloc.start()
    ope.DR().estimate(log, ad, q)
    dr_mem = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"  dr working memory beyond its inputs (tracemalloc peak) {dr_mem / 1e6:.0f} MB "
          f"= {dr_mem / n:.0f} bytes/row; peak RSS of the process {peak_rss_gb():.2f} GB")
    red = ope.reduce_inputs(log, ad, q)
    for est in (ope.IPS(), ope.SNIPS(), ope.DR()):
        t, _ = best(lambda est=est: est.estimate(log, pi_logged=red.pi_logged, q_pi=red.q_pi,
                                                 q_logged=red.q_logged), args.repeat + 2)
        print(f"  {est.label:<10} reduced {t * 1e3:7.1f} ms  {n / t / 1e6:7.1f} M rows/s")

    c = dr_est.contributions
    t_boot, ci = best(lambda: dr_est.interval("bootstrap", n_boot=args.n_boot, rng=0), 1)
    print(f"  bootstrap CI, {args.n_boot:,} resamples of {n:,} DR contributions: {t_boot:.2f} s  "
          f"[{ci[0]:.5f}, {ci[1]:.5f}] vs normal [{dr_est.ci[0]:.5f}, {dr_est.ci[1]:.5f}]")
    del c
    print(f"  peak RSS after dense runs {peak_rss_gb():.2f} GB")

    if not args.no_big:
        del ad, q, red
        kb, block = 1000, 16_384
        rng = np.random.default_rng(7)
        action = rng.integers(0, kb, n)
        big = ope.BanditLog(action=action, reward=rng.random(n), pscore=np.full(n, 1.0 / kb), n_actions=kb)

        def q_block(start: int, stop: int) -> np.ndarray:
            return np.random.default_rng(start).random((stop - start, kb))

        def pi_block(start: int, stop: int) -> np.ndarray:
            return softmax_rows(3.0 * q_block(start, stop))

        tracemalloc.start()
        t = time.perf_counter()
        red_b = ope.ReducedInputs.from_chunks(big, pi_block, q_block, chunk_size=block)
        t_red = time.perf_counter() - t
        red_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        t = time.perf_counter()
        e = ope.DR().estimate(big, red_b)
        t_dr = time.perf_counter() - t
        print(f"  {n:,} x {kb} via reduced form: build {t_red:.1f} s (blocks of {block:,} rows, mostly "
              f"generating them), DR {t_dr * 1e3:.1f} ms, value {e.value:.5f}; peak traced memory of the "
              f"build {red_peak / 1e6:.0f} MB (dense inputs would be {2 * n * kb * 8 / 1e9:.0f} GB)")


if __name__ == "__main__":
    main()
