"""Logging slates at scale: ``collect`` on ``Slate-v0`` with a Plackett-Luce logger, in one run.

    python benchmarks/bench_collect.py                   # 1,000,000 slates of 10 from 1,000 items
    python benchmarks/bench_collect.py --rows 100000 --slice 50

What is timed: ``simrec.policies.collect(env, PlackettLuce, n)`` on a 10,000-row ``Slate-v0`` vector
env: scoring, Gumbel top-K sampling, exact slate propensities, per-slot marginals of the logged
slates (slots 0-1 exact, later slots Rao-Blackwellised Monte Carlo with ``mc_samples`` prefixes per
row, batched in one numba pass), the env steps and the log. Also printed: the same collect without
marginals (what a user gets with ``marginals=False``), and the per-row approach of the previous
release (a Rao-Blackwellised estimate of the full (n_items, K) marginal table, one row at a time,
with the same ``mc_samples`` prefixes per row as the batched path, so both do the same Monte Carlo
work per row) timed on a slice and extrapolated: the baseline the batched path replaces.
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numba
import numpy as np

import simrec  # noqa: F401
from simrec.policies import collect, make_policy


def per_row_baseline(pol, X: np.ndarray, rng: np.random.Generator) -> float:
    """Seconds per row of the previous approach: a (n_items, K) Monte Carlo table per row, from
    ``pol.mc_samples`` sampled prefixes."""
    w = pol.weights(X)
    t = time.perf_counter()
    for i in range(X.shape[0]):
        pol._mc_marginals(w[i], rng)
    return (time.perf_counter() - t) / X.shape[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--items", type=int, default=1000)
    ap.add_argument("--slate", type=int, default=10)
    ap.add_argument("--envs", type=int, default=10_000)
    ap.add_argument("--mc-samples", type=int, default=64)
    ap.add_argument("--slice", type=int, default=20, help="rows timed for the per-row baseline")
    a = ap.parse_args()
    world = {"preset": "default", "catalog": {"n_items": a.items}, "slate_size": a.slate,
             "population": {"n_users": 10_000}}
    env = gym.make_vec("simrec/Slate-v0", num_envs=a.envs, world=world)
    pol = make_policy("plackett-luce", env, rng=0, mc_samples=a.mc_samples)
    collect(env, pol, min(a.rows, 2 * a.envs), seed=1)  # compile and warm up
    print(f"setup: {a.rows:,} slates of {a.slate} from {a.items:,} items, {a.envs:,} envs, "
          f"mc_samples={a.mc_samples}, numba threads {numba.get_num_threads()}")
    t = time.perf_counter()
    log = collect(env, pol, a.rows, seed=2)
    full = time.perf_counter() - t
    t = time.perf_counter()
    collect(env, pol, a.rows, seed=2, marginals=False)
    bare = time.perf_counter() - t
    assert log.pscore_marginal is not None and log.pscore_marginal.shape == (a.rows, a.slate)
    obs, _ = env.reset(seed=3)
    per_row = per_row_baseline(pol, np.asarray(obs)[: a.slice], np.random.default_rng(0))
    print(f"collect with propensities and marginals   {full:8.1f} s  ({a.rows / full:,.0f} slates/s)")
    print(f"collect without marginals                 {bare:8.1f} s  ({a.rows / bare:,.0f} slates/s)")
    print(f"per-row marginals of the previous release {per_row * 1e3:8.1f} ms/row on a {a.slice}-row slice, "
          f"mc_samples={pol.mc_samples} -> {per_row * a.rows / 60:,.0f} min for {a.rows:,} rows (extrapolated)")
    print(f"speed-up of the batched marginals: {per_row * a.rows / max(full - bare, 1e-9):,.0f}x "
          f"(marginals alone: {full - bare:.1f} s)")


if __name__ == "__main__":
    main()
