"""Slate OPE speed: SlateIPS, IIPS and RIPS (and Cascade-DR) against the memory floor, in one run.

    python benchmarks/bench_slate_ope.py                    # 1,000,000 slates of 10 from 1,000 items
    python benchmarks/bench_slate_ope.py --rows 200000

The estimators read the reduced form (the target's probabilities of the logged slate only), so a
1,000-item catalogue never needs a dense (n, 1000, 10) array. The **memory floor** of each
estimator is one numpy pass that reads every array the estimator reads exactly once (a sum of
each: numpy's pairwise sum runs at memory bandwidth): slot rewards (n, K) and the target and logging
probabilities ((n,) for SlateIPS, (n, K) for IIPS/RIPS, plus two (n, K) model arrays for
Cascade-DR). No estimator that reads its inputs can beat it. A plain numpy implementation of the
same formula (``(pi / p * r).sum(1)`` then mean and standard error, no validation; for Cascade-DR
``(w * (r - q_log) + w_prev * q_pi).sum(1)`` with the previous slot's prefix weight) is printed too:
the baseline a competent engineer would write, checked to give the same value. Each simrec time
includes input checks, the fused kernel, contributions, standard error, normal interval and per-slot
diagnostics. Every timed run starts with cold caches (a 512 MB scratch read in between), so the
floor is a main-memory read. Times are the best of ``--repeat`` runs; the ratios are what matter on a shared machine.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from simrec.data import SlateLog
from simrec.estimators import ope

_SCRATCH: list[np.ndarray] = []


def flush_caches() -> None:
    """Read a 512 MB scratch buffer so the next timing starts from main memory, not from a cache
    that still holds the inputs of the previous run (on machines with large last-level caches a
    warm 100 MB input would otherwise make the floor a cache-bandwidth number)."""
    if not _SCRATCH:
        _SCRATCH.append(np.ones(64 * 2**20))
    _SCRATCH[0].sum()


def best(fn, repeat: int) -> float:
    t_best = np.inf
    for _ in range(repeat):
        flush_caches()
        t = time.perf_counter()
        fn()
        t_best = min(t_best, time.perf_counter() - t)
    return t_best


def make(n: int, K: int, n_items: int, seed: int = 0):
    """Slates of K distinct items from ``n_items`` (drawn without replacement, uniform logger, so the
    logging propensities are closed-form) and a target's probabilities of them."""
    rng = np.random.default_rng(seed)
    # K distinct items per row: redraw the rows that repeat an item (rejection keeps them uniform)
    slate = rng.integers(0, n_items, (n, K))
    while True:
        srt = np.sort(slate, axis=1)
        dup = (srt[:, 1:] == srt[:, :-1]).any(axis=1)
        if not dup.any():
            break
        slate[dup] = rng.integers(0, n_items, (int(dup.sum()), K))
    avail = n_items - np.arange(K, dtype=np.float64)  # items left for slot k
    marg = np.full((n, K), 1.0 / n_items)  # uniform logger: P(a in slot k) = 1 / n_items
    cascade = np.broadcast_to(np.cumprod(1.0 / avail), (n, K)).copy()
    joint = cascade[:, -1].copy()
    reward = (rng.random((n, K)) < 0.1 / (1 + np.arange(K))).astype(np.float64)
    log = SlateLog(slate=slate, reward=reward, pscore=joint, pscore_marginal=marg, pscore_cascade=cascade,
                   n_items=n_items)
    # a target that likes some items more: per-slot marginals and prefix probabilities of the logged slate
    tilt = rng.uniform(0.5, 1.5, (n, K))
    pi_marginal = np.minimum(marg * tilt, 1.0)
    pi_cascade = cascade * np.cumprod(tilt, axis=1)
    pi_slate = pi_cascade[:, -1].copy()
    q_logged = rng.random((n, K))
    q_pi = rng.random((n, K))
    return log, {"pi_slate": pi_slate, "pi_marginal": pi_marginal, "pi_cascade": pi_cascade,
                 "q_logged": q_logged, "q_pi": q_pi}


def numpy_slot_ips(r: np.ndarray, pi: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    c = (pi / p * r).sum(axis=1)
    return float(c.mean()), float(c.std(ddof=1) / np.sqrt(c.size))


def numpy_joint_ips(r: np.ndarray, pi: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    c = pi / p * r.sum(axis=1)
    return float(c.mean()), float(c.std(ddof=1) / np.sqrt(c.size))


def numpy_cascade_dr(r: np.ndarray, pi: np.ndarray, p: np.ndarray, q_log: np.ndarray,
                     q_pi: np.ndarray) -> tuple[float, float]:
    w = pi / p
    prev = np.empty_like(w)  # w_{1:k-1}, with w_{1:0} = 1
    prev[:, 0] = 1.0
    prev[:, 1:] = w[:, :-1]
    c = (w * (r - q_log) + prev * q_pi).sum(axis=1)
    return float(c.mean()), float(c.std(ddof=1) / np.sqrt(c.size))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--slots", type=int, default=10)
    ap.add_argument("--items", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    n, K, m = args.rows, args.slots, args.items

    small, t_small = make(1000, K, m, 1)  # compile the kernels outside the timings
    for est, keys in ((ope.SlateIPS(), ("pi_slate",)), (ope.IIPS(), ("pi_marginal",)), (ope.RIPS(), ("pi_cascade",)),
                      (ope.CascadeDR(), ("pi_cascade", "q_logged", "q_pi"))):
        est.estimate(small, **{k: t_small[k] for k in keys})

    log, t = make(n, K, m)
    r = log.reward
    mb = (r.nbytes + t["pi_marginal"].nbytes + log.pscore_marginal.nbytes) / 1e6
    print(f"bench_slate_ope: {n:,} slates x {K} slots from {m:,} items, float64, best of {args.repeat}; "
          f"IIPS reads {mb:.0f} MB")
    cases = [
        ("SlateIPS", ope.SlateIPS(), {"pi_slate": t["pi_slate"]}, (r, t["pi_slate"], log.pscore),
         lambda: numpy_joint_ips(r, t["pi_slate"], log.pscore)),
        ("IIPS", ope.IIPS(), {"pi_marginal": t["pi_marginal"]}, (r, t["pi_marginal"], log.pscore_marginal),
         lambda: numpy_slot_ips(r, t["pi_marginal"], log.pscore_marginal)),
        ("RIPS", ope.RIPS(), {"pi_cascade": t["pi_cascade"]}, (r, t["pi_cascade"], log.pscore_cascade),
         lambda: numpy_slot_ips(r, t["pi_cascade"], log.pscore_cascade)),
        ("CascadeDR", ope.CascadeDR(), {k: t[k] for k in ("pi_cascade", "q_logged", "q_pi")},
         (r, t["pi_cascade"], log.pscore_cascade, t["q_logged"], t["q_pi"]),
         lambda: numpy_cascade_dr(r, t["pi_cascade"], log.pscore_cascade, t["q_logged"], t["q_pi"])),
    ]
    print(f"  {'estimator':<10} {'floor ms':>9} {'simrec ms':>10} {'ratio':>6}   {'numpy ms':>9} {'ratio':>6}")
    for name, est, kw, arrays, baseline in cases:
        t_floor = best(lambda arrays=arrays: [a.sum() for a in arrays], args.repeat)
        t_est = best(lambda est=est, kw=kw: est.estimate(log, **kw), args.repeat)
        line = f"  {name:<10} {t_floor * 1e3:9.1f} {t_est * 1e3:10.1f} {t_est / t_floor:6.2f}x"
        if baseline is not None:
            t_np = best(baseline, args.repeat)
            v_np = baseline()[0]
            assert abs(est.estimate(log, **kw).value - v_np) <= 1e-9 * max(1.0, abs(v_np))
            line += f"   {t_np * 1e3:9.1f} {t_np / t_floor:6.2f}x"
        print(line)


if __name__ == "__main__":
    main()
