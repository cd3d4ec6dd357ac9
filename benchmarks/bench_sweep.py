"""Sweep throughput: a 200-run sweep on 2 local workers against the same sweep run serially.

Both are measured in this process run, end to end through :func:`simrec.sweeps.run_sweep` (grid
expansion, worker start-up, every run, the per-run Parquet writes and the consolidated table), and
the ratio is printed. The two results tables must be identical (same run ids, same values).

    python benchmarks/bench_sweep.py                    # 200 runs, 2 workers
    python benchmarks/bench_sweep.py --runs 40          # quicker
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


def bench_spec(n_runs: int):
    """``n_runs`` runs (one per seed) of a small world: three targets, a softmax log, five estimators."""
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=2, help="timed pairs (serial + parallel), in ABBA order")
    ap.add_argument("--backends", nargs="*", default=[], choices=["dask", "ray"],
                    help="also time these backends with --workers workers")
    args = ap.parse_args()
    spec = bench_spec(args.runs)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"bench_sweep: {args.repeat} x ({args.runs} runs serial + {args.runs} runs on {args.workers} workers); "
          "world 500 users x 100 items, 3 targets x 5 estimators, log 4000 rows; "
          f"{cores} cores, load average {load:.1f}")
    cap = machine_capacity(args.workers)
    print(f"baseline: {args.workers} processes of pure CPU work run {cap:.2f}x faster than 1 "
          "(the ceiling this machine allows now)")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        # warm the numba on-disk cache so that neither side pays compilation
        run_sweep(bench_spec(1), "local", out_dir=root / "warm", progress=False)
        # ABBA order (serial, parallel, parallel, serial, ...) cancels a linear drift of the machine's load
        order = ["serial", "parallel", "parallel", "serial"] * ((args.repeat + 1) // 2)
        order = order[: 2 * args.repeat]
        times: dict[str, list[float]] = {"serial": [], "parallel": []}
        tables: dict[str, pd.DataFrame] = {}
        for i, mode in enumerate(order):
            n_jobs = 1 if mode == "serial" else args.workers
            t, tables[mode] = timed(spec, "local", n_jobs, root / str(i))
            times[mode].append(t)
            label = "local serial     " if mode == "serial" else f"local {args.workers} workers  "
            print(f"{label} : {t:7.1f} s  ({t / args.runs * 1000:.0f} ms/run; median run "
                  f"{_median_run(tables[mode]):.0f} ms)")
        same = comparable(tables["parallel"]).equals(comparable(tables["serial"]))
        t_serial, t_par = sum(times["serial"]), sum(times["parallel"])
        print(f"speedup of {args.workers} local workers over serial: {t_serial / t_par:.2f}x "
              f"(total {t_serial:.1f} s serial vs {t_par:.1f} s; identical results: {'yes' if same else 'NO'})")
        for b in args.backends:
            t_b, tb = timed(spec, b, args.workers, root / b)
            same_b = comparable(tb).equals(comparable(tables["serial"]))
            mean_serial = t_serial / len(times["serial"])
            print(f"{b:<5} {args.workers} workers  : {t_b:7.1f} s  speedup {mean_serial / t_b:.2f}x over the mean "
                  f"serial time (identical results: {'yes' if same_b else 'NO'})")
        cap_after = machine_capacity(args.workers)
        print(f"baseline again: {cap_after:.2f}x; load average now {os.getloadavg()[0]:.1f}")
        if not same:
            raise SystemExit("the parallel results differ from the serial ones")


if __name__ == "__main__":
    main()
