"""User-steps per second of the ``simrec/Slate-v0`` vector env against a numpy step.

Setup (issue 2): 10,000 users, slates of 10 from 10,000 items, 16-dim embeddings. The simrec
figure is the whole ``VectorEnv.step`` (action validation, the numba step, observations, info,
autoreset). Two numpy baselines, measured in the same run: the same ``VectorEnv.step`` written in
straightforward vectorised numpy (validation, simulator step, session history, observations,
info, autoreset), and the simulator step alone (a floor: less work than the simrec figure does).
Both use the same model with all mechanisms on (checked: equal expected rewards from one state).
Prints all three and the ratios.

    python benchmarks/bench_sim.py [--users 10000] [--items 10000] [--steps 50]
"""

from __future__ import annotations

import argparse
import time

import numba
import numpy as np

from simrec.envs.slate import SlateVectorEnv
from simrec.sim import World, presets


def numpy_step(w: World, slates: np.ndarray, rng: np.random.Generator, emb: np.ndarray, active: np.ndarray):
    """The simulator's slate step written in plain vectorised numpy (the baseline): rows where
    ``active`` is False keep their state. Returns (left, chosen slot (K = none), watch fraction,
    each slot's expected reward).

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
    e = np.exp(-s.eta[:, None] * np.log(np.arange(1.0, K + 1))[None, :])  # (k + 1) ** -eta
    m = np.maximum(v.max(axis=1), cfg.choice.no_click_utility)
    num = e * np.exp(v - m[:, None])
    probs = num / (np.exp(cfg.choice.no_click_utility - m) + num.sum(axis=1))[:, None]
    cc = cfg.consumption
    watch = 1 / (1 + np.exp(-(cc.bias + cc.affinity_weight * aff + cc.quality_weight * c.quality[slates])))
    u = rng.random(B)
    chosen = (u[:, None] >= np.cumsum(probs, axis=1)).sum(axis=1)
    clicked = (chosen < K) & active
    rows = np.flatnonzero(clicked)
    ch = chosen[rows]
    items = slates[rows, ch]
    wf = watch[rows, ch]
    sc = cfg.satisfaction
    s.sat[rows] += sc.rate * (c.quality[items] - s.sat[rows])
    nc = np.flatnonzero(~clicked & active)
    s.sat[nc] += sc.no_click_rate * (sc.no_click_target - s.sat[nc])
    s.theta[rows] += (cfg.drift.rate * wf)[:, None] * (emb[items] - s.theta[rows])
    s.bored *= np.where(active, 1 - cfg.boredom.decay, 1.0)[:, None]
    T = s.bored.shape[1]  # exposure: count each row's slate topics (bincount is numpy's fast np.add.at)
    exposed = np.bincount((np.arange(B)[:, None] * T + topics).ravel(), minlength=B * T).reshape(B, T)
    s.bored += (cfg.boredom.exposure_growth * active)[:, None] * exposed
    s.bored[rows, c.topic[items]] += cfg.boredom.growth * wf
    slate_bored = np.take_along_axis(s.bored, topics, axis=1).mean(axis=1)
    se = cfg.session
    x = se.base - se.satisfaction_weight * s.sat + se.boredom_weight * slate_bored + se.no_click_weight * ~clicked
    left = (rng.random(B) < 1 / (1 + np.exp(-x))) & active
    wf_all = np.zeros(B)
    wf_all[rows] = wf
    return left, np.where(active, chosen, K), wf_all, probs * active[:, None]  # reward = click


class NumpySlateVectorEnv:
    """The whole ``Slate-v0`` ``VectorEnv.step`` in straightforward numpy: what the simrec figure
    measures, done the plain way. Validates the slates (range, repeats), steps the simulator
    (:func:`numpy_step`, plus each slot's exact expected reward for ``info``), updates the session
    history, builds the clipped float32 observations and autoresets rows that ended last step
    (next-step autoreset: a new user in its initial state)."""

    def __init__(self, w: World, rng: np.random.Generator) -> None:
        self.w, self.rng = w, rng
        B, d = len(w.state), w.config.dim
        self.emb = w.catalog.embedding.astype(np.float64)  # one dtype for einsum (see numpy_step)
        self.max_steps = w.config.session.max_steps
        self.steps, self.clicks = np.zeros(B), np.zeros(B)
        self.click_sum, self.last_watch = np.zeros((B, d)), np.zeros(B)
        self.autoreset = np.zeros(B, dtype=bool)

    def step(self, slates: np.ndarray):
        w, s, B = self.w, self.w.state, len(self.w.state)
        slates = np.asarray(slates)
        if slates.dtype.kind not in "iu" or slates.shape[0] != B:
            raise ValueError("bad slates")
        if ((slates < 0) | (slates >= w.n_available)).any():
            raise ValueError("item out of range")
        srt = np.sort(slates, axis=1)
        if (srt[:, 1:] == srt[:, :-1]).any():
            raise ValueError("repeated item")
        rows = np.flatnonzero(self.autoreset)  # next-step autoreset: these rows start over instead
        if rows.size:
            users = self.rng.integers(0, w.n_users, rows.size)
            pop = w.population
            s.users[rows], s.features[rows], s.theta[rows] = users, pop.features[users], pop.interest[users]
            s.eta[rows], s.sat[rows], s.bored[rows] = pop.position_bias[users], 0.0, 0.0
            self.steps[rows], self.clicks[rows], self.click_sum[rows], self.last_watch[rows] = 0, 0, 0, 0
        active = ~self.autoreset
        left, chosen, watch, slot_exp = numpy_step(w, slates, self.rng, self.emb, active)
        clicked = chosen < slates.shape[1]
        self.steps += active
        self.clicks += clicked
        self.last_watch = np.where(active, watch, self.last_watch)
        r = np.flatnonzero(clicked)
        self.click_sum[r] += self.emb[slates[r, chosen[r]]]
        term = left & active
        trunc = (self.steps >= self.max_steps) & ~term & active
        self.autoreset = term | trunc
        obs = np.concatenate(
            [
                s.features,
                self.click_sum / np.maximum(self.clicks, 1.0)[:, None],
                (self.steps / self.max_steps)[:, None],
                (self.clicks / np.maximum(self.steps, 1.0))[:, None],
                self.last_watch[:, None],
            ],
            axis=1,
            dtype=np.float32,
        )
        np.clip(obs, -10.0, 10.0, out=obs)
        info = {"expected_reward": slot_exp.sum(axis=1), "slot_expected_reward": slot_exp, "_expected_reward": active}
        return obs, clicked.astype(np.float64), term, trunc, info


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

    # the numpy step is the same model: from the same state it gives the same expected rewards
    w_ref, w_np = World(cfg, seed=0), World(cfg, seed=0)
    w_ref.reset(np.arange(B), 0)
    w_np.reset(np.arange(B), 0)
    emb = w_np.catalog.embedding.astype(np.float64)
    got = numpy_step(w_np, slates[0], rng, emb, np.ones(B, dtype=bool))[3]
    err = float(np.abs(got - w_ref.step(slates[0]).slot_expected_reward).max())
    assert err < 1e-6, f"the numpy step disagrees with the simulator: {err}"

    env = SlateVectorEnv(num_envs=B, world=cfg)
    env.reset(seed=0)
    w_env = World(cfg, seed=0)
    w_env.reset(np.arange(B), 0)
    np_env = NumpySlateVectorEnv(w_env, np.random.default_rng(1))
    all_rows = np.ones(B, dtype=bool)
    runs = {
        "simrec": lambda sl: env.step(sl)[4]["_expected_reward"].sum(),
        "numpy env": lambda sl: np_env.step(sl)[4]["_expected_reward"].sum(),
        "numpy core": lambda sl: numpy_step(w_np, sl, rng, emb, all_rows)[0].size,
    }
    for sl in slates[:2]:  # compile and warm up
        for f in runs.values():
            f(sl)
    # Alternate blocks of steps so that load from other processes hits all alike (stepping them
    # one by one would leave each to run on caches the other just flushed); report medians of the
    # per-step times, the first step of each block left out. User-steps count only the rows that
    # took a step (rows autoresetting after a leave don't).
    times: dict[str, list[float]] = {k: [] for k in runs}
    rows: dict[str, list[int]] = {k: [] for k in runs}
    block = 10
    for t in range(0, args.steps, block):
        for name, f in runs.items():
            for j in range(block + 1):
                t0 = time.perf_counter()
                n = f(slates[(t + j) % len(slates)])
                if j:
                    times[name].append(time.perf_counter() - t0)
                    rows[name].append(int(n))
    med = {k: float(np.median(v)) for k, v in times.items()}
    ups = {k: float(np.mean(rows[k])) / med[k] for k in runs}
    print(
        f"setup: {B:,} users, slate {K} of {args.items:,} items, dim 16, {args.steps} steps each, "
        f"numba threads {numba.get_num_threads()}, medians over alternating blocks"
    )
    label = {
        "simrec": "simrec Slate-v0 VectorEnv.step",
        "numpy env": "numpy, the same VectorEnv.step",
        "numpy core": "numpy, simulator step only",
    }
    for k in runs:
        print(f"{label[k]:<32} {ups[k]:>12,.0f} user-steps/s ({med[k] * 1e3:.2f} ms/step)")
    print(f"ratio simrec / numpy (same VectorEnv.step):  {ups['simrec'] / ups['numpy env']:.1f}x")
    print(
        f"ratio simrec / numpy simulator step only:    {ups['simrec'] / ups['numpy core']:.1f}x  "
        "(a floor: the numpy side skips validation, observations and autoreset)"
    )


if __name__ == "__main__":
    main()
