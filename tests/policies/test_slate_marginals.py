"""Batched Plackett-Luce slot marginals of logged slates (what collect records for slate logs)."""

from __future__ import annotations

import gymnasium as gym
import numba
import numpy as np
import pytest

import simrec  # noqa: F401
from simrec.policies import PlackettLuce, collect, make_policy
from simrec.policies._pl_kernels import pl_logged_marginals
from simrec.policies.slates import plackett_luce_marginals


def _problem(seed: int, B: int = 12, A: int = 6, K: int = 4, exact: bool = True):
    rng = np.random.default_rng(seed)
    w = rng.random((B, A)) ** 3  # peaked weights: prefixes often hold heavy items
    w /= w.sum(1, keepdims=True)
    slates = np.stack([rng.permutation(A)[:K] for _ in range(B)])
    if not exact:
        return w, slates, None
    ex = plackett_luce_marginals(w, K, 10**6)[np.arange(B)[:, None], slates, np.arange(K)[None]]
    return w, slates, ex


def test_first_two_slots_are_exact_and_later_slots_unbiased():
    w, slates, exact = _problem(0)
    B, K = slates.shape
    reps, M = 40, 500
    runs = np.empty((reps, B, K))
    for r in range(reps):
        keys = np.random.default_rng(100 + r).integers(0, 2**63, B, dtype=np.uint64)
        pl_logged_marginals(w, slates, keys, M, runs[r])
    np.testing.assert_allclose(runs[:, :, :2], np.broadcast_to(exact[:, :2], (reps, B, 2)), atol=1e-14)
    mean, se = runs.mean(0), runs.std(0, ddof=1) / np.sqrt(reps)
    z = np.abs(mean[:, 2:] - exact[:, 2:]) / np.maximum(se[:, 2:], 1e-12)
    assert (z < 4.5).all(), z.max()  # unbiased: the mean of independent runs converges to the truth
    assert (se[:, 2:] > 0).any()  # and the later slots really are Monte Carlo


def test_equal_weights_are_exact_and_threads_do_not_change_results():
    B, A, K = 5, 50, 6
    slates = np.tile(np.arange(K), (B, 1))
    out = np.empty((B, K))
    pl_logged_marginals(np.full((B, A), 1 / A), slates, np.arange(B, dtype=np.uint64), 64, out)
    np.testing.assert_allclose(out, 1 / A, rtol=0, atol=1e-15)
    w, slates, _ = _problem(1, B=64, A=30, K=8, exact=False)
    keys = np.arange(64, dtype=np.uint64) * 7919
    a, b = np.empty((64, 8)), np.empty((64, 8))
    old = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        pl_logged_marginals(w, slates, keys, 128, a)
        numba.set_num_threads(old)
        pl_logged_marginals(w, slates, keys, 128, b)
    finally:
        numba.set_num_threads(old)
    np.testing.assert_array_equal(a, b)


def test_policy_uses_the_batched_kernel_for_large_catalogs():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 4))
    W = rng.normal(size=(4, 300))
    pol = PlackettLuce(300, 5, W, obs_dim=4, rng=0, mc_samples=64)
    assert pol.marginal_type == "monte-carlo"
    s, p = pol.act(X, 1)
    m = pol.slot_marginals(X, s)
    w = pol.weights(X)
    np.testing.assert_allclose(m[:, 0], w[np.arange(40), s[:, 0]], rtol=1e-12)
    assert m.shape == (40, 5) and (m > 0).all() and (m <= 1).all()
    assert (m[:, 0] >= p).all()  # a slot's marginal is at least the whole slate's probability


def test_collect_records_marginals_or_skips_them_on_request():
    env = gym.make_vec("simrec/Slate-v0", num_envs=64, world={"preset": "default", "population": {"n_users": 100}})
    pol = make_policy("plackett-luce", env, rng=0)
    with_m = collect(env, pol, 300, seed=0)
    without = collect(env, pol, 300, seed=0, marginals=False)
    assert with_m.pscore_marginal is not None and with_m.pscore_marginal.shape == (300, 5)
    assert without.pscore_marginal is None
    np.testing.assert_array_equal(with_m.slate, without.slate)  # same log otherwise
    w = with_m.pscore_marginal
    assert ((w > 0) & (w <= 1)).all()


def test_collect_shows_progress(capsys):
    env = gym.make_vec("simrec/Slate-v0", num_envs=32)
    collect(env, make_policy("plackett-luce", env, rng=0), 100, seed=0, progress=True)
    assert "collect" in capsys.readouterr().err


@pytest.mark.parametrize("bad", [0, -3])
def test_bad_mc_samples(bad):
    with pytest.raises(ValueError, match="mc_samples"):
        PlackettLuce(10, 3, np.zeros(10), mc_samples=bad)
