"""Sweep throughput: sweeps on 2 local workers against the same sweeps run serially.

Three sweeps: ``bandit`` (200 runs on Bandit-v0), ``slate`` (Slate-v0: slates of 3, SlateQ and
Plackett-Luce targets, the bandit family slot by slot) and ``retention`` (Retention-v0: 14-day
episodes, long-term rollouts, a shaped SlateQ). Both sides are measured in this process run, end
to end through :func:`simrec.sweeps.run_sweep` (grid expansion, worker start-up, every run, the
per-run Parquet writes and the consolidated table), and the ratio is printed. The baseline is the
same sweep run serially in this process (what a user without the pool would do); the two results
tables must be identical (same run ids, same values). The machine's own ceiling (2 processes of pure
CPU work vs 1) is printed beside it, since the machine is shared.

    python benchmarks/bench_sweep.py                    # all three sweeps, 2 workers
    python benchmarks/bench_sweep.py --kinds slate --runs-long 10   # quicker
    python benchmarks/bench_sweep.py --backends dask ray   # also time the distributed backends
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import pandas as pd

from simrec.sweeps import comparable, make_backend, parse_sweep, run_sweep


def bench_spec(n_runs: int, kind: str = "bandit"):
    """``n_runs`` runs (one per seed) of a small world of the ``kind`` sweep."""
    if kind == "slate":
        return parse_sweep({
            "name": "bench-slate", "env": "simrec/Slate-v0", "slate_size": 3, "seeds": n_runs, "train_rounds": 1000,
            "worlds": [{"preset": "default", "population": {"n_users": 500}, "catalog": {"n_items": 50}}],
            "policies": ["uniform", "topk", {"name": "plackett-luce", "params": {"temperature": 0.5}}, "slateq"],
            "logging": {"policy": "uniform", "n": 2000},
            "estimators": ["IPS", "SNIPS", "DM", "DR"],
            "truth": {"episodes": 32, "step_episodes": 1000, "train_batch": 50},
        })
    if kind == "retention":
        return parse_sweep({
            "name": "bench-retention", "env": "simrec/Retention-v0", "slate_size": 3, "horizon_days": 14,
            "seeds": n_runs, "train_rounds": 1000,
            "worlds": [{"preset": "clickbait", "population": {"n_users": 500}, "catalog": {"n_items": 50}}],
            "policies": ["uniform", {"name": "linucb", "label": "click-greedy"},
                         {"name": "slateq", "params": {"gamma": 0.9},
                          "shaping": {"name": "retention_bonus", "params": {"penalty": 3.0}}}],
            "logging": {"policy": "uniform", "n": 2000},
            "estimators": ["IPS", "SNIPS", "DR"],
            "truth": {"episodes": 64, "step_episodes": 1000, "train_batch": 50},
        })
    return parse_sweep({
        "name": "bench",
        "seeds": n_runs,
        "horizon": 50,
        "train_rounds": 1000,
        "worlds": [{"preset": "default", "population": {"n_users": 500}, "catalog": {"n_items": 100}}],
        "policies": ["uniform", "oracle", {"name": "linucb", "label": "LinUCB"}],
        "logging": {"policy": "softmax", "n": 4000},
        "estimators": ["IPS", "SNIPS", "DM", "DR", {"name": "SwitchDR", "params": {"tau": 5.0}}],
        "truth": {"episodes": 32, "train_batch": 50},
    })


def _spin(n: int) -> int:
    """Pure-Python CPU work (no threads, no memory traffic)."""
    acc = 0
    for i in range(n):
        acc = (acc * 31 + i) % 1_000_003
    return acc


def machine_capacity(workers: int, n: int = 6_000_000) -> float:
    """How much faster ``workers`` processes finish ``workers`` equal CPU jobs than one process does
    them in turn, on this machine now (other load included): the ceiling for any parallel speedup."""
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(workers) as ex:
        list(ex.map(_spin, [1000] * workers))  # start the workers first
        t0 = time.perf_counter()
        for _ in range(workers):
            _spin(n)
        serial = time.perf_counter() - t0
        t0 = time.perf_counter()
        list(ex.map(_spin, [n] * workers))
        parallel = time.perf_counter() - t0
    return serial / parallel


def timed(spec, backend: str, n_jobs: int, root: Path) -> tuple[float, pd.DataFrame]:
    out = root / f"{backend}-{n_jobs}"
    t0 = time.perf_counter()
    be = make_backend(backend, n_jobs=n_jobs)
    try:
        res = run_sweep(spec, be, out_dir=out, progress=False)
    finally:
        be.close()
    wall = time.perf_counter() - t0
    if res.n_failed:
        raise SystemExit(f"{res.n_failed} runs failed under {backend}; see {out}")
    return wall, res.table


def _median_run(table: pd.DataFrame) -> float:
    return float(table.drop_duplicates("run_id")["wall_s"].median() * 1000)


def bench_kind(kind: str, runs: int, workers: int, repeat: int, backends: list[str], root: Path) -> bool:
    """Time one sweep serially and on ``workers`` workers (ABBA order); True when the tables agree."""
    spec = bench_spec(runs, kind)
    print(f"-- {kind}: {spec.env}, {runs} runs, {len(spec.policies)} targets x {len(spec.estimators)} estimators")
    # warm the numba on-disk cache so that neither side pays compilation
    run_sweep(bench_spec(1, kind), "local", out_dir=root / f"warm-{kind}", progress=False)
    # ABBA order (serial, parallel, parallel, serial, ...) cancels a linear drift of the machine's load
    order = ["serial", "parallel", "parallel", "serial"] * ((repeat + 1) // 2)
    order = order[: 2 * repeat]
    times: dict[str, list[float]] = {"serial": [], "parallel": []}
    tables: dict[str, pd.DataFrame] = {}
    for i, mode in enumerate(order):
        n_jobs = 1 if mode == "serial" else workers
        t, tables[mode] = timed(spec, "local", n_jobs, root / f"{kind}-{i}")
        times[mode].append(t)
        label = "local serial     " if mode == "serial" else f"local {workers} workers  "
        print(f"{label} : {t:7.1f} s  ({t / runs * 1000:.0f} ms/run; median run "
              f"{_median_run(tables[mode]):.0f} ms)")
    same = comparable(tables["parallel"]).equals(comparable(tables["serial"]))
    t_serial, t_par = sum(times["serial"]), sum(times["parallel"])
    print(f"{kind}: speedup of {workers} local workers over serial: {t_serial / t_par:.2f}x "
          f"(total {t_serial:.1f} s serial vs {t_par:.1f} s; identical results: {'yes' if same else 'NO'})")
    for b in backends:
        t_b, tb = timed(spec, b, workers, root / f"{kind}-{b}")
        same_b = comparable(tb).equals(comparable(tables["serial"]))
        mean_serial = t_serial / len(times["serial"])
        print(f"{b:<5} {workers} workers  : {t_b:7.1f} s  speedup {mean_serial / t_b:.2f}x over the mean "
              f"serial time (identical results: {'yes' if same_b else 'NO'})")
    return same


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=200, help="runs of the bandit sweep")
    ap.add_argument("--runs-long", type=int, default=24, help="runs of the slate and retention sweeps")
    ap.add_argument("--kinds", nargs="*", default=["bandit", "slate", "retention"],
                    choices=["bandit", "slate", "retention"])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=2, help="timed pairs (serial + parallel), in ABBA order")
    ap.add_argument("--backends", nargs="*", default=[], choices=["dask", "ray"],
                    help="also time these backends with --workers workers")
    args = ap.parse_args()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"bench_sweep: {args.repeat} x (serial + {args.workers} workers) per sweep; {cores} cores, "
          f"load average {load:.1f}")
    cap = machine_capacity(args.workers)
    print(f"baseline: {args.workers} processes of pure CPU work run {cap:.2f}x faster than 1 "
          "(the ceiling this machine allows now)")
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.kinds:
            runs = args.runs if kind == "bandit" else args.runs_long
            ok &= bench_kind(kind, runs, args.workers, args.repeat, args.backends, Path(tmp))
    cap_after = machine_capacity(args.workers)
    print(f"baseline again: {cap_after:.2f}x; load average now {os.getloadavg()[0]:.1f}")
    if not ok:
        raise SystemExit("the parallel results differ from the serial ones")


if __name__ == "__main__":
    main()
