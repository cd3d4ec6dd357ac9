"""User-steps per second of the ``simrec/Slate-v0`` vector env against a numpy step.

Setup (issue 2): 10,000 users, slates of 10 from 10,000 items, 16-dim embeddings. The simrec
figure is the whole ``VectorEnv.step`` (action validation, the numba step, observations, info,
autoreset). The baseline is a straightforward vectorised numpy implementation of the same
simulator step (same model, all mechanisms on) measured in the same run. Prints both and the ratio.

    python benchmarks/bench_sim.py [--users 10000] [--items 10000] [--steps 50]
"""

from __future__ import annotations

import argparse
import time

import numba
import numpy as np

from simrec.envs.slate import SlateVectorEnv
from simrec.sim import World, presets


def numpy_step(w: World, slates: np.ndarray, rng: np.random.Generator, emb: np.ndarray) -> np.ndarray:
    """The simulator's slate step written in plain vectorised numpy (the baseline).

    ``emb`` is the item embedding in float64 (the catalog stores float32; mixing dtypes in einsum
    would slow numpy down for no reason, so the baseline gets its own copy in one dtype)."""
    s, c, cfg = w.state, w.catalog, w.config
    B, K = slates.shape
    phi = emb[slates]  # (B, K, d)
    aff = np.einsum("bkd,bd->bk", phi, s.theta)
    topics = c.topic[slates]
    bored_k = np.take_along_axis(s.bored, topics, axis=1)
    v = cfg.choice.affinity_weight * aff + cfg.choice.attractiveness_weight * c.attractiveness[slates]
    v -= cfg.choice.boredom_weight * bored_k
    e = (np.arange(K) + 1.0)[None, :] ** (-s.eta[:, None])
    m = np.maximum(v.max(axis=1), cfg.choice.no_click_utility)
    num = e * np.exp(v - m[:, None])
    probs = num / (np.exp(cfg.choice.no_click_utility - m) + num.sum(axis=1))[:, None]
    cc = cfg.consumption
    watch = 1 / (1 + np.exp(-(cc.bias + cc.affinity_weight * aff + cc.quality_weight * c.quality[slates])))
    u = rng.random(B)
    chosen = (u[:, None] >= np.cumsum(probs, axis=1)).sum(axis=1)
    clicked = chosen < K
    rows = np.flatnonzero(clicked)
    ch = chosen[rows]
    items = slates[rows, ch]
    wf = watch[rows, ch]
    sc = cfg.satisfaction
    s.sat[rows] += sc.rate * (c.quality[items] - s.sat[rows])
    nc = np.flatnonzero(~clicked)
    s.sat[nc] += sc.no_click_rate * (sc.no_click_target - s.sat[nc])
    s.theta[rows] += (cfg.drift.rate * wf)[:, None] * (emb[items] - s.theta[rows])
    s.bored *= 1 - cfg.boredom.decay
    np.add.at(s.bored, (np.repeat(np.arange(B), K), topics.ravel()), cfg.boredom.exposure_growth)
    s.bored[rows, c.topic[items]] += cfg.boredom.growth * wf
    slate_bored = np.take_along_axis(s.bored, topics, axis=1).mean(axis=1)
    se = cfg.session
    x = se.base - se.satisfaction_weight * s.sat + se.boredom_weight * slate_bored + se.no_click_weight * ~clicked
    left = rng.random(B) < 1 / (1 + np.exp(-x))
    return left


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=10_000)
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--slate", type=int, default=10)
    ap.add_argument("--steps", type=int, default=60)
    args = ap.parse_args()
    B, K = args.users, args.slate
    cfg = presets.get(
        "default",
        slate_size=K,
        dim=16,
        **{"catalog.n_items": args.items, "population.n_users": B, "session.max_steps": 10**6},
    )
    rng = np.random.default_rng(0)
    slates = [np.argsort(rng.random((B, 64)), axis=1)[:, :K] * (args.items // 64) for _ in range(8)]
    slates = [(s + rng.integers(0, args.items // 64, (B, 1))).astype(np.int64) for s in slates]

    env = SlateVectorEnv(num_envs=B, world=cfg)
    env.reset(seed=0)
    w = World(cfg, seed=0)
    w.reset(np.arange(B), 0)
    emb = w.catalog.embedding.astype(np.float64)
    for s in slates[:2]:  # compile and warm up both
        env.step(s)
        numpy_step(w, s, rng, emb)
    # Alternate blocks of steps so that load from other processes hits both alike (stepping them
    # one by one would leave each to run on caches the other just flushed); report medians of the
    # per-step times, the first step of each block left out.
    t_s, t_n, rows = [], [], []
    block = 10
    for t in range(0, args.steps, block):
        for j in range(block + 1):
            t0 = time.perf_counter()
            info = env.step(slates[(t + j) % len(slates)])[4]
            if j:
                t_s.append(time.perf_counter() - t0)
                rows.append(int(info["_expected_reward"].sum()))  # rows autoresetting after a leave don't count
        for j in range(block + 1):
            t0 = time.perf_counter()
            numpy_step(w, slates[(t + j) % len(slates)], rng, emb)
            if j:
                t_n.append(time.perf_counter() - t0)
    med_s, med_n = float(np.median(t_s)), float(np.median(t_n))
    ups_s = float(np.mean(rows)) / med_s
    ups_n = B / med_n
    print(
        f"setup: {B:,} users, slate {K} of {args.items:,} items, dim 16, {args.steps} steps each, "
        f"numba threads {numba.get_num_threads()}, medians over alternating blocks"
    )
    print(f"simrec Slate-v0 VectorEnv.step: {ups_s:,.0f} user-steps/s ({med_s * 1e3:.2f} ms/step)")
    print(f"numpy step (same model):        {ups_n:,.0f} user-steps/s ({med_n * 1e3:.2f} ms/step)")
    print(f"ratio simrec / numpy: {ups_s / ups_n:.1f}x  (counting only rows that took a step; "
          f"per step time: {med_n / med_s:.1f}x)")


if __name__ == "__main__":
    main()
