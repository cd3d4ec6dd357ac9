"""User-steps per second of the ``simrec/Slate-v0`` vector env against a numpy step.

Setup (issue 2): 10,000 users, slates of 10 from 10,000 items, 16-dim embeddings. The simrec
figure is the whole ``VectorEnv.step`` (action validation, the numba step, observations, info,
autoreset). Two numpy baselines, measured in the same run: the same ``VectorEnv.step`` written in
straightforward vectorised numpy (validation, simulator step, session history, observations,
info, autoreset), and the simulator step alone (a floor: less work than the simrec figure does).
The ratios are printed at numba's default thread count and at one thread (numpy runs on one).

The baseline, reviewed: :func:`numpy_step` is what a competent engineer would write for this
model in numpy, with the data and shortcuts simrec uses. It gathers the catalog's own float32
embeddings with ``np.take`` (the fastest numpy gather; arithmetic in float64 against the float64
interest, as simrec's kernel does), computes the choice probabilities for every slot (the
expected reward needs them) but the watch fraction only for the clicked slot (as simrec does with
click rewards), updates the state in place, counts topic exposure with one ``bincount`` (numpy's
fast scatter-add), and draws its uniforms with ``Generator.random`` (cheaper than simrec's
counter-based streams). The alternating-block timing gives both sides the same machine load.

The baseline is the same model, checked (:func:`check_same_model`, run before timing): both sides
are driven by the same random draws (the simulator's per-user streams, :mod:`simrec.streams`),
and over several steps every row's whole state (interest, satisfaction, boredom), its leaving, the
chosen item and every slot's click probability must agree. A sign or a rate wrong on either side
fails it (``tests/envs/test_bench_sim.py`` shows five such mutations caught).

    python benchmarks/bench_sim.py [--users 10000] [--items 10000] [--steps 60]
"""

from __future__ import annotations

import argparse
import time

import numba
import numpy as np

from simrec.envs.slate import SlateVectorEnv
from simrec.sim import World, WorldConfig, presets
from simrec.streams import uniform_np

_DRAW_CLICK, _DRAW_LEAVE = 0, 1  # the simulator's draw indices within a step


def numpy_step(w: World, slates: np.ndarray, draws: np.ndarray, active: np.ndarray,
               config: WorldConfig | None = None):  # fmt: skip
    """The simulator's slate step (PBM examination, click reward, every mechanism on) in plain
    vectorised numpy: the baseline. ``draws`` (2, B) holds each row's uniforms for the click and
    the leave; rows where ``active`` is False keep their state. ``config`` (default: the world's)
    gives the model's parameters. Returns (left, chosen slot (K = none), watch fraction, each
    slot's click probability)."""
    s, c = w.state, w.catalog
    cfg = w.config if config is None else config
    ch, cc, sc, se = cfg.choice, cfg.consumption, cfg.satisfaction, cfg.session
    B, K = slates.shape
    phi = np.take(c.embedding, slates, axis=0)  # (B, K, d) float32, the catalog's own dtype
    aff = np.matmul(phi, s.theta[:, :, None])[:, :, 0]  # float64, as the kernel accumulates
    topics = np.take(c.topic, slates)
    v = aff * ch.affinity_weight
    v += ch.attractiveness_weight * np.take(c.attractiveness, slates)
    v -= ch.boredom_weight * np.take_along_axis(s.bored, topics, axis=1)
    v -= s.eta[:, None] * np.log(np.arange(1.0, K + 1))[None, :]  # log e_k = -eta log(k + 1)
    m = np.maximum(v.max(axis=1), ch.no_click_utility)
    v -= m[:, None]
    probs = np.exp(v, out=v)
    probs /= (np.exp(ch.no_click_utility - m) + probs.sum(axis=1))[:, None]
    chosen = (draws[_DRAW_CLICK][:, None] >= np.cumsum(probs, axis=1)).sum(axis=1)
    clicked = (chosen < K) & active
    rows = np.flatnonzero(clicked)
    ch_k = chosen[rows]
    items = slates[rows, ch_k]
    q = np.take(c.quality, items)
    wf = 1.0 / (1.0 + np.exp(-(cc.bias + cc.affinity_weight * aff[rows, ch_k] + cc.quality_weight * q)))
    s.sat[rows] += sc.rate * (q - s.sat[rows])
    nc = np.flatnonzero(~clicked & active)
    s.sat[nc] += sc.no_click_rate * (sc.no_click_target - s.sat[nc])
    s.theta[rows] += (cfg.drift.rate * wf)[:, None] * (np.take(c.embedding, items, axis=0) - s.theta[rows])
    s.bored *= np.where(active, 1.0 - cfg.boredom.decay, 1.0)[:, None]
    T = s.bored.shape[1]  # exposure: count each row's slate topics (bincount is numpy's fast np.add.at)
    exposed = np.bincount((np.arange(B)[:, None] * T + topics).ravel(), minlength=B * T).reshape(B, T)
    exposed = exposed * (cfg.boredom.exposure_growth * active)[:, None]
    s.bored += exposed
    s.bored[rows, np.take(c.topic, items)] += cfg.boredom.growth * wf
    slate_bored = np.take_along_axis(s.bored, topics, axis=1).mean(axis=1)
    x = se.base - se.satisfaction_weight * s.sat + se.boredom_weight * slate_bored + se.no_click_weight * ~clicked
    left = (draws[_DRAW_LEAVE] < 1.0 / (1.0 + np.exp(-x))) & active
    wf_all = np.zeros(B)
    wf_all[rows] = wf
    probs *= active[:, None]
    return left, np.where(active, chosen, K), wf_all, probs  # reward = click: slot reward = P(click)


def check_same_model(config: WorldConfig, slates: list[np.ndarray], steps: int = 6,
                     numpy_config: WorldConfig | None = None, seed: int = 0) -> None:  # fmt: skip
    """Assert that :func:`numpy_step` is the simulator's model: from the same start, driven by the
    same random draws for ``steps`` steps, both give every row the same click probabilities, chosen
    item and leaving, and end each step in the same state (interest, satisfaction, boredom).
    ``numpy_config`` (default ``config``) feeds the numpy side only (tests pass mutated ones).
    Raises AssertionError naming the step, the field and the first row that differs."""
    B = slates[0].shape[0]
    ref, w = World(config, seed=seed), World(config, seed=seed)
    ref.reset(np.arange(B) % ref.n_users, 0)
    w.reset(np.arange(B) % w.n_users, 0)
    active = np.ones(B, dtype=bool)
    for t in range(steps):
        sl = slates[t % len(slates)]
        st = ref.state  # the simulator's draws for this step, from its own per-user streams
        draws = uniform_np(st.key[None, :], st.counter[None, :], np.array([[_DRAW_CLICK], [_DRAW_LEAVE]]))
        fb = ref.step(sl)
        left, chosen, _, probs = numpy_step(w, sl, draws, active, numpy_config)
        item = np.where(chosen < sl.shape[1], sl[np.arange(B), np.minimum(chosen, sl.shape[1] - 1)], -1)
        pairs = {
            "click probabilities": (probs, fb.slot_expected_reward),
            "chosen item": (item, fb.clicked_item),
            "interest": (w.state.theta, st.theta),
            "satisfaction": (w.state.sat, st.sat),
            "boredom": (w.state.bored, st.bored),
            "leaving": (left, fb.left),
        }
        for field, (got, want) in pairs.items():
            close = np.isclose(got, want, rtol=1e-9, atol=1e-12)
            bad = np.flatnonzero(~close.reshape(B, -1).all(axis=1))
            assert bad.size == 0, (
                f"the numpy step is not the simulator's model: step {t}, {field} differs in {bad.size} of "
                f"{B} rows, first row {bad[0]}: numpy {got[bad[0]]}, simulator {want[bad[0]]}")


class NumpySlateVectorEnv:
    """The whole ``Slate-v0`` ``VectorEnv.step`` in straightforward numpy: what the simrec figure
    measures, done the plain way. Validates the slates (range, repeats), steps the simulator
    (:func:`numpy_step`, plus each slot's exact expected reward for ``info``), updates the session
    history, builds the clipped float32 observations and autoresets rows that ended last step
    (next-step autoreset: a new user in its initial state)."""

    def __init__(self, w: World, rng: np.random.Generator) -> None:
        self.w, self.rng = w, rng
        B, d = len(w.state), w.config.dim
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
        left, chosen, watch, slot_exp = numpy_step(w, slates, self.rng.random((2, B)), active)
        clicked = chosen < slates.shape[1]
        self.steps += active
        self.clicks += clicked
        self.last_watch = np.where(active, watch, self.last_watch)
        r = np.flatnonzero(clicked)
        self.click_sum[r] += np.take(w.catalog.embedding, slates[r, chosen[r]], axis=0)
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

    # the numpy step is the same model (same draws, whole state, several steps), on a slice of rows
    check_same_model(cfg, [sl[: min(B, 2000)] for sl in slates])

    env = SlateVectorEnv(num_envs=B, world=cfg)
    env.reset(seed=0)
    w_env, w_np = World(cfg, seed=0), World(cfg, seed=0)
    w_env.reset(np.arange(B), 0)
    w_np.reset(np.arange(B), 0)
    np_env = NumpySlateVectorEnv(w_env, np.random.default_rng(1))
    all_rows = np.ones(B, dtype=bool)
    runs = {
        "simrec": lambda sl: env.step(sl)[4]["_expected_reward"].sum(),
        "numpy env": lambda sl: np_env.step(sl)[4]["_expected_reward"].sum(),
        "numpy core": lambda sl: numpy_step(w_np, sl, rng.random((2, B)), all_rows)[0].size,
    }
    for sl in slates[:2]:  # compile and warm up
        for f in runs.values():
            f(sl)
    print(f"setup: {B:,} users, slate {K} of {args.items:,} items, dim 16, {args.steps} steps each, "
          "medians over alternating blocks")
    label = {
        "simrec": "simrec Slate-v0 VectorEnv.step",
        "numpy env": "numpy, the same VectorEnv.step",
        "numpy core": "numpy, simulator step only",
    }
    for threads in dict.fromkeys((numba.get_num_threads(), 1)):
        numba.set_num_threads(threads)
        ups, med = _measure(runs, slates, args.steps)
        print(f"numba threads {threads}:")
        for k in runs:
            print(f"  {label[k]:<32} {ups[k]:>12,.0f} user-steps/s ({med[k] * 1e3:.2f} ms/step)")
        print(f"  ratio simrec / numpy (same VectorEnv.step):  {ups['simrec'] / ups['numpy env']:.1f}x")
        print(f"  ratio simrec / numpy simulator step only:    {ups['simrec'] / ups['numpy core']:.1f}x  "
              "(a floor: the numpy side skips validation, observations and autoreset)")


def _measure(runs, slates, steps: int) -> tuple[dict[str, float], dict[str, float]]:
    """User-steps per second and median seconds per step of each run.

    Alternate blocks of steps so that load from other processes hits all alike (stepping them one
    by one would leave each to run on caches the other just flushed); medians of the per-step
    times, the first step of each block left out. User-steps count only the rows that took a step
    (rows autoresetting after a leave don't)."""
    times: dict[str, list[float]] = {k: [] for k in runs}
    rows: dict[str, list[int]] = {k: [] for k in runs}
    block = 10
    for t in range(0, steps, block):
        for name, f in runs.items():
            for j in range(block + 1):
                t0 = time.perf_counter()
                n = f(slates[(t + j) % len(slates)])
                if j:
                    times[name].append(time.perf_counter() - t0)
                    rows[name].append(int(n))
    med = {k: float(np.median(v)) for k, v in times.items()}
    return {k: float(np.mean(rows[k])) / med[k] for k in runs}, med


if __name__ == "__main__":
    main()
