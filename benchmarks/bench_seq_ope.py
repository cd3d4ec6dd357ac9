"""Sequential OPE speed and memory: PDIS / WDR against the memory floor and a numpy baseline, in one run.

    python benchmarks/bench_seq_ope.py                      # 1,000,000 transitions, 100 actions, 10 steps/episode
    python benchmarks/bench_seq_ope.py --actions 10         # few actions: per-row validation overhead shows
    python benchmarks/bench_seq_ope.py --steps 200000 --fqe-steps 100000

The memory floor is one pass that sums every input the estimators read (``action_dist`` and
``q_hat`` (N, K), ``reward``, ``pscore``, ``action``, ``episode``, ``step``): no estimator that
reads its inputs can beat it. Each simrec time includes validation of the log against the target
policy and model (probabilities, shapes, steps), the per-episode kernel, the standard error,
interval and diagnostics.

The numpy baseline is what a competent engineer writes for fixed-length episodes (the easy case:
the log reshapes to (n_episodes, T) matrices, so cumulative products and per-step sums are single
numpy calls); it skips all validation. simrec handles variable lengths with the same kernel.
FQE's time (per-action Ridge regressions, one round per step) is printed for reference.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
import warnings

import numpy as np
from _timing import best  # benchmarks/_timing.py (scripts run from their folder)

from simrec.data import Trajectories
from simrec.estimators import ope


def make(n_steps: int, k: int, T: int, seed: int = 0):
    """Fixed-length episodes, softmax logging and target policies, a random model; built in place
    (three dense (N, K) arrays at most)."""
    rng = np.random.default_rng(seed)
    n_ep = n_steps // T
    n = n_ep * T
    pb = rng.normal(size=(n, k))
    pe = np.exp(1.5 * pb)
    pe /= pe.sum(1, keepdims=True)
    pe *= 0.7
    pe += 0.3 / k
    np.exp(pb, out=pb)
    pb /= pb.sum(1, keepdims=True)
    pb *= 0.5
    pb += 0.5 / k
    a = np.empty(n, dtype=np.int64)
    for s in range(0, n, 65_536):  # inverse-CDF sampling block by block
        blk = pb[s:s + 65_536]
        a[s:s + 65_536] = (blk.cumsum(1) < rng.random(blk.shape[0])[:, None]).sum(1).clip(0, k - 1)
    pscore = pb[np.arange(n), a]
    del pb
    log = Trajectories(episode=np.repeat(np.arange(n_ep), T), obs=rng.normal(size=(n, 4)), action=a,
                       reward=rng.normal(size=n), pscore=pscore, n_actions=k)
    q = rng.normal(size=(n, k))
    return log, pe, q


def numpy_pdis(log, ad, T, gamma):
    n = len(log)
    rho = (ad[np.arange(n), log.action] / log.pscore).reshape(-1, T)
    w = np.cumprod(rho, axis=1)
    return float(((w * log.reward.reshape(-1, T)) @ (gamma ** np.arange(T))).mean())


def numpy_wdr(log, ad, q, T, gamma):
    n = len(log)
    idx = np.arange(n)
    rho = (ad[idx, log.action] / log.pscore).reshape(-1, T)
    w = np.cumprod(rho, axis=1)
    wprev = np.hstack([np.ones((w.shape[0], 1)), w[:, :-1]])
    r = log.reward.reshape(-1, T)
    ql = q[idx, log.action].reshape(-1, T)
    v = np.einsum("ij,ij->i", ad, q).reshape(-1, T)
    disc = gamma ** np.arange(T)
    per_step = (w * (r - ql)).sum(0) / w.sum(0) + (wprev * v).sum(0) / wprev.sum(0)
    return float(per_step @ disc)


def main() -> None:
    args = parse()
    bench_pdis_wdr(args)
    bench_fqe(args)


def parse() -> argparse.Namespace:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=1_000_000)
    ap.add_argument("--actions", type=int, default=100)
    ap.add_argument("--horizon", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--fqe-steps", type=int, default=1_000_000)
    ap.add_argument("--fqe-actions", type=int, default=10)
    return ap.parse_args()


def bench_pdis_wdr(args: argparse.Namespace) -> None:
    gamma, T = 0.95, args.horizon
    log, ad, q = make(args.steps, args.actions, T)
    n = len(log)
    in_mb = (ad.nbytes + q.nbytes + log.reward.nbytes + log.pscore.nbytes + log.action.nbytes
             + log.episode.nbytes + log.step.nbytes) / 1e6
    print(f"{n:,} transitions, {log.n_episodes:,} episodes of {T} steps, {args.actions} actions; "
          f"inputs {in_mb:.0f} MB")

    def floor_pdis():
        return (ad.sum(), log.reward.sum(), log.pscore.sum(), log.action.sum(), log.episode.sum(), log.step.sum())

    t_floor_p, _ = best(floor_pdis, args.repeat + 2)
    t_floor_w = t_floor_p + best(lambda: q.sum(), args.repeat + 2)[0]
    print(f"  memory floor of PDIS's inputs (one pass: action_dist, reward, pscore, action, episode, step) "
          f"{t_floor_p * 1e3:.1f} ms; of WDR's (plus q_hat) {t_floor_w * 1e3:.1f} ms")
    warnings.simplefilter("ignore")
    pdis, wdr = ope.PDIS(gamma=gamma), ope.WDR(gamma=gamma)
    pdis.estimate(log, ad)  # compile the kernels
    wdr.estimate(log, ad, q)
    t_np_p, v_np_p = best(lambda: numpy_pdis(log, ad, T, gamma), args.repeat)
    t_np_w, v_np_w = best(lambda: numpy_wdr(log, ad, q, T, gamma), args.repeat)
    t_p, e_p = best(lambda: pdis.estimate(log, ad), args.repeat)
    t_w, e_w = best(lambda: wdr.estimate(log, ad, q), args.repeat)
    assert abs(e_p.value - v_np_p) < 1e-8 * max(1, abs(v_np_p)) and abs(e_w.value - v_np_w) < 1e-8 * max(1, abs(v_np_w))
    for name, t, t_np, t_floor in (("PDIS", t_p, t_np_p, t_floor_p), ("WDR", t_w, t_np_w, t_floor_w)):
        print(f"  {name:<5} simrec {t * 1e3:8.1f} ms  ratio {t / t_floor:5.2f}x floor   "
              f"numpy baseline {t_np * 1e3:8.1f} ms ({t_np / t_floor:5.2f}x floor; simrec/numpy {t / t_np:4.2f})")
    for name, fn in (("PDIS", lambda: pdis.estimate(log, ad)), ("WDR", lambda: wdr.estimate(log, ad, q)),
                     ("numpy WDR", lambda: numpy_wdr(log, ad, q, T, gamma))):
        tracemalloc.start()
        fn()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"  {name:<9} working memory beyond its inputs (tracemalloc peak) {peak / 1e6:6.0f} MB "
              f"({peak / (in_mb * 1e6):.2f}x the inputs)")
    print(f"  values: PDIS {e_p.value:.6f} +/- {e_p.stderr:.4f}, WDR {e_w.value:.6f} +/- {e_w.stderr:.4f} "
          f"(numpy baselines agree to 1e-8)")


def bench_fqe(args: argparse.Namespace) -> None:
    gamma, T = 0.95, args.horizon
    flog, fad, _ = make(args.fqe_steps, args.fqe_actions, T, seed=1)
    fqe = ope.FQE(gamma=gamma)
    t = time.perf_counter()
    e = fqe.estimate(flog, fad)
    t_fqe = time.perf_counter() - t
    print(f"  FQE (Ridge per action, {T} rounds x {args.fqe_actions} actions) on {len(flog):,} transitions: "
          f"{t_fqe:.2f} s, value {e.value:.5f}")


if __name__ == "__main__":
    main()
