"""Each numba kernel against its slow reference (tests/sim/reference.py), over several steps."""

from __future__ import annotations

import numpy as np
import pytest

from simrec.envs import _kernels as EK
from simrec.sim import World, presets
from simrec.sim import _kernels as K
from simrec.sim._rng import make_keys, uniform, uniform_np

from . import reference as ref

WORLDS = {
    "default": presets.get("default", **{"population.n_users": 60, "catalog.n_items": 40}),
    "cascade-watch": presets.get("cascade", reward="watch", **{"population.n_users": 60, "catalog.n_items": 40}),
    "clickbait": presets.get("clickbait", **{"population.n_users": 60, "catalog.n_items": 40}),
    "static-nopos": presets.get("static", **{"examination.model": "none", "catalog.n_items": 40}),
}


def _copy_state(s):
    return {k: np.array(getattr(s, k), copy=True) for k in ("theta", "sat", "bored", "eta", "key", "counter")}


def _assert_step_matches_reference(w, fb, slates, active, st):
    """One step of ``w`` (feedback ``fb`` on ``slates``) against the reference stepping the copied
    state ``st`` in place: clicks, leaving, rewards, expectations and the new user state."""
    c = w.catalog
    slot, watch, reward, expected, slot_exp, left = ref.slate_step(
        slates, active, st["theta"], st["sat"], st["bored"], st["eta"], st["key"], st["counter"],
        c.embedding, c.topic, c.quality, c.attractiveness, w.params,
    )  # fmt: skip
    np.testing.assert_array_equal(fb.clicked_slot[active], slot[active])
    np.testing.assert_array_equal(fb.left, left)
    np.testing.assert_allclose(fb.watch, watch, rtol=0, atol=1e-12)
    np.testing.assert_allclose(fb.reward, reward, rtol=0, atol=1e-12)
    np.testing.assert_allclose(fb.expected_reward, expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(fb.slot_expected_reward[active], slot_exp[active], rtol=0, atol=1e-12)
    for k in ("theta", "sat", "bored"):
        np.testing.assert_allclose(getattr(w.state, k), st[k], rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", list(WORLDS))
def test_slate_step_and_end_session_match_reference(name):
    w = World(WORLDS[name], seed=3)
    B = 60
    w.reset(np.arange(B), seeds=np.arange(B) + 11)
    rng = np.random.default_rng(0)
    P = w.params
    st = _copy_state(w.state)
    active = rng.random(B) < 0.8
    for _ in range(8):
        slates = np.stack([rng.choice(w.n_available, 5, replace=False) for _ in range(B)])
        fb = w.step(slates, active)
        _assert_step_matches_reference(w, fb, slates, active, st)
        np.testing.assert_array_equal(w.state.counter, st["counter"])
        mask = fb.left.copy()
        se = w.end_session(mask)
        gap, churned = ref.end_session(mask, st["sat"], st["bored"], st["key"], st["counter"], P)
        np.testing.assert_array_equal(se.gap_days, gap)
        np.testing.assert_array_equal(se.churned, churned)
        np.testing.assert_allclose(w.state.sat, st["sat"], rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", list(WORLDS))
def test_lenient_slate_step_with_empty_slots_matches_reference(name):
    """Repeated items are empty slots (-1 in ``Feedback.shown``): the kernel steps the state exactly
    as the reference does with those slots skipped (no click, no exposure, boredom mean over shown)."""
    w = World(WORLDS[name], seed=3)
    B = 200
    w.reset(np.arange(B) % w.n_users, seeds=np.arange(B) + 5)
    rng = np.random.default_rng(1)
    st = _copy_state(w.state)
    active = rng.random(B) < 0.9
    n_empty = 0
    for _ in range(8):
        slates = rng.integers(0, w.n_available, size=(B, 5))
        rep = rng.random((B, 5)) < 0.4  # a slot that copies an earlier one of its row
        src = (rng.random((B, 5)) * np.arange(5)).astype(int)
        slates = np.where(rep, np.take_along_axis(slates, src, axis=1), slates)
        fb = w.step(slates, active, lenient=True)
        shown = fb.shown
        for b in range(B):  # the shown slate: each item at its first slot, later copies empty
            first = [k for k in range(5) if slates[b, k] not in slates[b, :k]]
            want = np.full(5, -1)
            want[first] = slates[b, first]
            if active[b]:
                np.testing.assert_array_equal(shown[b], want)
        n_empty += int(fb.empty_slots.sum())
        _assert_step_matches_reference(w, fb, shown, active, st)
    assert n_empty > 1000


@pytest.mark.parametrize("name", ["default", "cascade-watch"])
def test_empty_slots_leave_the_state_as_a_shorter_slate_would(name):
    """From the same seeds, [[a, a, a]] (two empty slots) steps users exactly as [[a]]: same clicks,
    boredom, satisfaction and leaving, step after step (no exposure for empty slots; the slate's
    boredom is averaged over the shown slots, not over K)."""
    cfg = WORLDS[name].model_copy(update={"session": WORLDS[name].session.model_copy(update={"boredom_weight": 20.0})})
    B, steps = 400, 6
    rng = np.random.default_rng(7)
    worlds = [World(cfg, seed=1), World(cfg, seed=1)]
    for w in worlds:
        w.reset(np.arange(B) % w.n_users, seeds=np.arange(B) + 3)
    n_left = 0
    for _ in range(steps):
        a = rng.integers(0, worlds[0].n_available, size=B)
        fb3 = worlds[0].step(np.repeat(a[:, None], 3, axis=1), lenient=True)
        fb1 = worlds[1].step(a[:, None], lenient=True)
        assert (fb3.empty_slots == 2).all() and (fb1.empty_slots == 0).all()
        np.testing.assert_array_equal(fb3.clicked_item, fb1.clicked_item)
        np.testing.assert_array_equal(fb3.left, fb1.left)
        np.testing.assert_allclose(fb3.expected_reward, fb1.expected_reward, rtol=0, atol=1e-12)
        for k in ("bored", "sat", "theta"):
            np.testing.assert_allclose(getattr(worlds[0].state, k), getattr(worlds[1].state, k), rtol=0, atol=1e-12)
        n_left += int(fb1.left.sum())
    assert 0 < n_left < B * steps and worlds[0].state.bored.max() > 0.1


def test_feedback_shown_is_the_slate_shown_and_owns_its_memory():
    w = World(WORLDS["default"], seed=0)
    w.reset([0, 1], 0)
    for lenient in (False, True):
        a = np.array([[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]])
        fb = w.step(a, lenient=lenient)
        np.testing.assert_array_equal(fb.shown, [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]])
        a[0, 0] = 30  # the caller reuses its array: the record of what was shown stays
        assert fb.shown[0, 0] == 0
    a = np.array([[0, 0, 2, 3, 4], [5, 6, 7, 8, 5]])
    fb = w.step(a, lenient=True)
    np.testing.assert_array_equal(fb.shown, [[0, -1, 2, 3, 4], [5, 6, 7, 8, -1]])
    np.testing.assert_array_equal(a, [[0, 0, 2, 3, 4], [5, 6, 7, 8, 5]])  # the input is not changed


@pytest.mark.parametrize("name", ["default", "clickbait"])
def test_notify_day_matches_reference(name):
    w = World(WORLDS[name], seed=5)
    B = 60
    w.reset(np.arange(B), seeds=7)
    rng = np.random.default_rng(1)
    c, P = w.catalog, w.params
    st = _copy_state(w.state)
    load, unsub = w.state.load.copy(), w.state.unsub.copy()
    active = rng.random(B) < 0.9
    for _ in range(10):
        items = rng.integers(-1, w.n_available, size=B)
        nf = w.notify(items, active)
        opened, visited, expected, unsub_now = ref.notify_day(
            items, active, st["theta"], st["sat"], load, unsub, st["key"], st["counter"], c.embedding, c.quality, P
        )
        np.testing.assert_array_equal(nf.opened, opened)
        np.testing.assert_array_equal(nf.visited, visited)
        np.testing.assert_array_equal(nf.unsubscribed, unsub_now)
        np.testing.assert_allclose(nf.expected_reward, expected, rtol=0, atol=1e-12)
        np.testing.assert_allclose(w.state.load, load, rtol=0, atol=1e-12)
        np.testing.assert_allclose(w.state.sat, st["sat"], rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", list(WORLDS))
def test_expected_single_matches_reference(name):
    w = World(WORLDS[name], seed=2)
    rng = np.random.default_rng(2)
    n = 200
    users = rng.integers(0, w.n_users, n)
    items = rng.integers(0, w.n_items, n)
    pos = rng.integers(0, 6, n)
    got = w.expected_reward(users, items, pos)
    pop, c = w.population, w.catalog
    want = ref.expected_single(
        pop.interest[users], pop.position_bias[users], items, pos, c.embedding, c.topic, c.quality,
        c.attractiveness, w.params,
    )  # fmt: skip
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_expected_single_is_the_one_item_slate_step_expectation():
    """World.expected_reward at slot 0 equals the step kernel's expectation of a one-item slate."""
    w = World(WORLDS["default"], seed=4)
    users = np.arange(30)
    items = (users * 7) % w.n_items
    w.reset(users, 0)
    fb = w.step(items[:, None])
    np.testing.assert_allclose(fb.expected_reward, w.expected_reward(users, items, 0), rtol=0, atol=1e-14)


def test_expected_all_matches_expected_single():
    w = World(WORLDS["default"], seed=4)
    w.reset(np.arange(10), 0)
    allr = w.expected_rewards_now()
    u = np.repeat(np.arange(10), w.n_available)
    i = np.tile(np.arange(w.n_available), 10)
    np.testing.assert_allclose(allr.ravel(), w.expected_reward(u, i, 0), rtol=0, atol=1e-14)


def test_rng_numba_equals_numpy_and_is_uniform():
    from numba import njit

    @njit
    def draws(keys, c, k):
        out = np.empty(keys.size)
        for i in range(keys.size):
            out[i] = uniform(keys[i], np.uint64(c), np.uint64(k))
        return out

    keys = make_keys(9, np.arange(50_000))
    a = draws(keys, 3, 1)
    np.testing.assert_array_equal(a, uniform_np(keys, 3, 1))
    assert 0 < a.min() and a.max() < 1
    assert abs(a.mean() - 0.5) < 4 * np.sqrt(1 / 12 / a.size)
    # different draw indices and counters are (nearly) uncorrelated streams
    b = draws(keys, 3, 2)
    c = draws(keys, 4, 1)
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.02 and abs(np.corrcoef(a, c)[0, 1]) < 0.02


def test_check_slates_kernel_matches_reference():
    rng = np.random.default_rng(8)
    slates = rng.integers(-1, 70, size=(500, 6))
    bad = np.zeros(500, np.int64)
    K.check_slates(slates, 64, bad)
    for b, row in enumerate(slates):  # reference: first bad slot, out of range (odd) or repeat (even)
        want = 0
        for k, a in enumerate(row):
            if a < 0 or a >= 64:
                want = 1 + 2 * k
                break
            if a in row[:k]:
                want = 2 + 2 * k
                break
        assert bad[b] == want, (b, row, bad[b], want)
    assert (bad == 0).any() and (bad % 2 == 1).any() and ((bad > 0) & (bad % 2 == 0)).any()


def test_session_stats_matches_reference():
    rng = np.random.default_rng(5)
    B, d = 50, 4
    phi = rng.standard_normal((20, d))
    active = rng.random(B) < 0.7
    item = np.where(rng.random(B) < 0.5, rng.integers(0, 20, B), -1)
    watch = rng.random(B)
    steps, clicks, csum, last = np.zeros(B, np.int64), np.zeros(B), np.zeros((B, d)), np.full(B, 0.5)
    EK.session_stats(active, item, watch, phi, steps, clicks, csum, last)
    np.testing.assert_array_equal(steps, active.astype(int))
    np.testing.assert_array_equal(clicks, (active & (item >= 0)).astype(float))
    np.testing.assert_array_equal(last, np.where(active, watch, 0.5))
    want = np.where((active & (item >= 0))[:, None], phi[np.maximum(item, 0)], 0.0)
    np.testing.assert_allclose(csum, want, rtol=0, atol=0)


def test_session_obs_matches_reference():
    rng = np.random.default_rng(6)
    B, d = 40, 4
    feats = 8 * rng.standard_normal((B, d))
    csum = 8 * rng.standard_normal((B, d))
    clicks = rng.integers(0, 4, B).astype(float)
    steps = rng.integers(0, 6, B)
    last = rng.random(B)
    out = np.empty((B, 2 * d + 3), dtype=np.float32)
    EK.session_obs(feats, csum, clicks, steps, 50.0, last, 10.0, out)
    want = np.concatenate(
        [feats, csum / np.maximum(clicks, 1)[:, None], (steps / 50)[:, None],
         (clicks / np.maximum(steps, 1))[:, None], last[:, None]], axis=1,
    )  # fmt: skip
    np.testing.assert_array_equal(out, np.clip(want, -10, 10).astype(np.float32))


def test_episode_keys_match_make_keys():
    w = World(WORLDS["default"], seed=0)
    users = np.array([3, 1, 59, 0])
    seeds = np.array([0, 7, 2**40, 5])
    w.reset(users, seeds)
    np.testing.assert_array_equal(w.state.key, make_keys(seeds, users, salt=0x45_50_49_53))
    np.testing.assert_array_equal(w.state.theta, w.population.interest[users])
    assert not w.state.bored.any() and not w.state.sat.any() and not w.state.counter.any()


def test_reset_session_stats_zeroes_only_the_given_rows():
    rng = np.random.default_rng(7)
    steps, clicks = rng.integers(1, 9, 6), rng.random(6) + 1
    csum, last = rng.random((6, 3)) + 1, rng.random(6) + 1
    want = [a.copy() for a in (steps, clicks, csum, last)]
    rows = np.array([1, 4])
    EK.reset_session_stats(rows, steps, clicks, csum, last)
    for a in want:
        a[rows] = 0
    for got, w in zip((steps, clicks, csum, last), want):
        np.testing.assert_array_equal(got, w)
