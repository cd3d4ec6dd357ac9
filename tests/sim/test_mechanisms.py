"""Each behaviour mechanism does what it claims, measured on the simulator."""

from __future__ import annotations

import numpy as np
import pytest

from simrec.envs.messaging import MessagingVectorEnv
from simrec.envs.retention import RetentionVectorEnv
from simrec.errors import InvalidActionError
from simrec.sim import World, presets

SMALL = {"population.n_users": 400, "catalog.n_items": 200}


def _random_slates(rng, B, n, K):
    return np.argsort(rng.random((B, n)), axis=1)[:, :K].astype(np.int64)


def test_position_bias_lowers_clicks_by_slot():
    w = World(presets.get("default", **SMALL), seed=0)
    B, K = 4000, 5
    w.reset(np.arange(B) % w.n_users, np.arange(B))
    rng = np.random.default_rng(0)
    counts = np.zeros(K)
    exp = np.zeros(K)
    for _ in range(5):
        w.reset(np.arange(B) % w.n_users, rng.integers(0, 2**40, B))
        fb = w.step(_random_slates(rng, B, w.n_available, K))
        counts += np.bincount(fb.clicked_slot[fb.clicked_slot >= 0], minlength=K)
        exp += fb.slot_expected_reward.sum(axis=0)
    ctr = counts / (5 * B)
    assert np.all(np.diff(exp) < 0), exp  # exact expectations fall by slot
    assert ctr[0] > 1.5 * ctr[-1], ctr  # and so do the observed clicks
    # without position bias, the slots are exchangeable
    w0 = World(presets.get("default", **SMALL, **{"examination.model": "none"}), seed=0)
    w0.reset(np.arange(B) % w0.n_users, np.arange(B))
    fb0 = w0.step(_random_slates(rng, B, w0.n_available, K))
    m = fb0.slot_expected_reward.mean(axis=0)
    assert m.max() / m.min() < 1.15, m


def test_single_item_expected_reward_falls_with_position():
    w = World(presets.get("default", **SMALL), seed=1)
    users = np.repeat(np.arange(50), 6)
    pos = np.tile(np.arange(6), 50)
    r = w.expected_reward(users, 3, pos).reshape(50, 6)
    assert np.all(np.diff(r, axis=1) <= 0) and np.all(r[:, 0] > r[:, -1])


def _retention_run(policy: str, B: int = 600, days: int = 20, seed: int = 0):
    env = RetentionVectorEnv(num_envs=B, world=presets.get("clickbait", **SMALL), horizon_days=days)
    env.reset(seed=seed)
    w = env.world
    K = w.config.slate_size
    done = np.zeros(B, dtype=bool)
    clicks = steps = 0.0
    sessions = np.zeros(B)
    churned = np.zeros(B, dtype=bool)
    for _ in range(5000):
        R = w.expected_rewards_now()
        score = R if policy == "clickbait-greedy" else R * np.exp(w.catalog.quality[None, : w.n_available])
        o, r, te, tr, info = env.step(np.argsort(-score, axis=1)[:, :K])
        live = ~done & info["_expected_reward"]
        clicks += float((r * live).sum())
        steps += float(live.sum())
        sessions += info["session_ended"] & live
        churned |= te & live
        done |= te | tr
        if done.all():
            break
    assert done.all()
    return clicks / steps, sessions.mean(), churned.mean()


def test_clickbait_greedy_wins_clicks_but_loses_retention():
    ctr_g, sess_g, churn_g = _retention_run("clickbait-greedy")
    ctr_q, sess_q, churn_q = _retention_run("quality-aware")
    assert ctr_g > ctr_q + 0.2, (ctr_g, ctr_q)
    assert sess_q > 2 * sess_g, (sess_q, sess_g)  # quality brings users back more often
    assert churn_g > churn_q + 0.2, (churn_g, churn_q)


def test_repeated_topic_raises_boredom_and_lowers_clicks():
    cfg = presets.get("default", **SMALL, **{"session.enabled": False})
    w = World(cfg, seed=2)
    B = 2000
    topic0 = np.flatnonzero(w.catalog.topic == 0)[:5]
    others = np.array([np.flatnonzero(w.catalog.topic == t)[0] for t in range(1, 6)])
    users = np.arange(B) % w.n_users

    def probs(slate, steps):
        w.reset(users, np.arange(B))
        for _ in range(steps):
            fb = w.step(np.tile(slate, (B, 1)))
        return fb, w.state.bored.copy()

    fb1, b1 = probs(topic0, 1)
    fb10, b10 = probs(topic0, 10)
    assert b10[:, 0].mean() > 3 * b1[:, 0].mean() > 0
    assert fb10.expected_reward.mean() < 0.8 * fb1.expected_reward.mean()
    # a diverse slate keeps boredom spread thin
    _, bd = probs(others, 10)
    assert bd.max(axis=1).mean() < b10.max(axis=1).mean()
    # switched off, repetition costs nothing
    w2 = World(cfg.replace(**{"boredom.enabled": False, "drift.enabled": False}), seed=2)
    w2.reset(users, np.arange(B))
    first = w2.step(np.tile(topic0, (B, 1))).expected_reward.mean()
    for _ in range(9):
        last = w2.step(np.tile(topic0, (B, 1))).expected_reward.mean()
    assert abs(last - first) < 1e-12


def test_interest_drifts_toward_consumed_items():
    cfg = presets.get("default", **SMALL, **{"session.enabled": False, "boredom.enabled": False})
    w = World(cfg, seed=3)
    B = 500
    center = w.catalog.topic_centers[4]
    items = np.flatnonzero(w.catalog.topic == 4)[:5]
    users = np.arange(B) % w.n_users
    w.reset(users, 0)
    before = w.state.theta @ center
    for _ in range(20):
        w.step(np.tile(items, (B, 1)))
    after = w.state.theta @ center
    assert (after - before).mean() > 0.05
    w_off = World(cfg.replace(**{"drift.enabled": False}), seed=3)
    w_off.reset(users, 0)
    for _ in range(20):
        w_off.step(np.tile(items, (B, 1)))
    np.testing.assert_array_equal(w_off.state.theta, w_off.population.interest[users])


def test_satisfaction_follows_quality_and_drives_leaving():
    cfg = presets.get("default", **SMALL)
    w = World(cfg, seed=4)
    q = w.catalog.quality
    good, bad = np.argsort(-q)[:5], np.argsort(q)[:5]
    B = 2000
    users = np.arange(B) % w.n_users
    out = {}
    for name, slate in (("good", good), ("bad", bad)):
        w.reset(users, np.arange(B))
        left = np.zeros(B)
        for _ in range(5):
            left += w.step(np.tile(slate, (B, 1))).left
        out[name] = (w.state.sat.mean(), left.mean())
    assert out["good"][0] > 0 > out["bad"][0]
    assert out["bad"][1] > out["good"][1]


def _messaging_unsub(every: int, B: int = 1000, days: int = 30) -> float:
    env = MessagingVectorEnv(num_envs=B, world=presets.get("default", **SMALL), horizon_days=days)
    env.reset(seed=5)
    unsub = np.zeros(B, dtype=bool)
    for d in range(days):
        a = np.full(B, 1 + (d % 50)) if d % every == 0 else np.zeros(B, dtype=np.int64)
        _, _, _, _, info = env.step(a)
        unsub |= info["unsubscribed"]
    return unsub.mean()


def test_notification_overload_raises_unsubscribes():
    daily, weekly = _messaging_unsub(1), _messaging_unsub(7)
    assert daily > 2 * weekly and daily > 0.05, (daily, weekly)


def test_new_items_appear_during_a_run():
    w = World(presets.get("cold-start", **{"population.n_users": 50}), seed=6)
    w.reset(np.arange(50), 0)
    n0 = w.n_available
    assert n0 == 200 and w.n_items > n0
    rng = np.random.default_rng(0)
    for _ in range(30):
        w.step(_random_slates(rng, 50, w.n_available, 5))
    assert w.n_available > n0 + 20
    newest = w.n_available - 1
    assert w.catalog.release_step[newest] > 0
    w.step(np.tile(np.array([newest, 0, 1, 2, 3]), (50, 1)))  # a released new item can be shown
    with pytest.raises(InvalidActionError, match="released"):
        w.step(np.tile(np.array([w.n_items - 1, 0, 1, 2, 3]), (50, 1)))
