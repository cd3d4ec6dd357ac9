"""numba kernels against slow numpy references; closed forms of propensities on enumerable cases."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from simrec.policies import (
    UCB1,
    BernoulliTS,
    EpsilonGreedy,
    EpsilonMixture,
    LinearTS,
    LinUCB,
    PlackettLuce,
    Softmax,
    TopK,
    Uniform,
)
from simrec.policies import _kernels as K
from simrec.policies.base import argmax_ties, sample_categorical, tie_probs
from simrec.policies.slates import plackett_luce_marginals, plackett_luce_pscore


def _stats(rng, A=7, d=5):
    M = rng.standard_normal((A, d, d)) / np.sqrt(d)
    Ainv = np.linalg.inv(np.einsum("aij,akj->aik", M, M) + np.eye(d))
    theta = rng.standard_normal((A, d))
    return np.ascontiguousarray(Ainv), theta


def _model(rng, A=7, d=5):
    from simrec.policies._linear import DisjointModel

    m = DisjointModel(A, d, 1.0)
    m.Ainv[:], m.theta[:] = _stats(rng, A, d)
    return m


def test_mean_width_matches_numpy():
    rng = np.random.default_rng(0)
    m = _model(rng)
    X = rng.standard_normal((9, 5))
    mean, width = m.mean_width(X)
    np.testing.assert_allclose(mean, X @ m.theta.T, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(width, np.sqrt(np.einsum("nd,ade,ne->na", X, m.Ainv, X)), rtol=1e-10)


def test_ucb_choose_matches_numpy_including_ties():
    from simrec.policies import _linear

    rng = np.random.default_rng(1)
    m = _model(rng, A=9)
    n = 2 * _linear._BLOCK + 5  # several blocks
    X = rng.standard_normal((n, 5))
    u = rng.random(n)
    a, ties = m.ucb_choose(X, 0.7, u)
    ref = X @ m.theta.T + 0.7 * np.sqrt(np.einsum("nd,ade,ne->na", X, m.Ainv, X))
    np.testing.assert_array_equal(a, ref.argmax(axis=1))
    assert (ties == 1).all()
    # all arms identical: a uniform split, reported as 1/9
    m.Ainv[:] = np.eye(5)
    m.theta[:] = 0.0
    a, ties = m.ucb_choose(X, 1.0, u)
    assert (ties == 9).all()
    np.testing.assert_array_equal(a, np.floor(u * 9).astype(int))


def test_sherman_morrison_matches_direct_inverse():
    rng = np.random.default_rng(2)
    A, d, n = 4, 3, 50
    Ainv = np.tile(np.eye(d), (A, 1, 1))
    b, theta = np.zeros((A, d)), np.zeros((A, d))
    X, acts, r = rng.standard_normal((n, d)), rng.integers(0, A, n), rng.random(n)
    K.sherman_morrison(Ainv, b, theta, acts, X, r)
    for a in range(A):
        Xa, ra = X[acts == a], r[acts == a]
        M = np.eye(d) + Xa.T @ Xa
        np.testing.assert_allclose(Ainv[a], np.linalg.inv(M), atol=1e-12)
        np.testing.assert_allclose(theta[a], np.linalg.solve(M, Xa.T @ ra), atol=1e-12)


def test_linucb_shared_equals_explicit_kron_features():
    rng = np.random.default_rng(3)
    F = rng.standard_normal((6, 3))
    pol = LinUCB(6, 4, alpha=0.8, model="shared", item_features=F, rng=0)
    X = rng.standard_normal((40, 4))
    pol.update(X, rng.integers(0, 6, 40), rng.random(40))
    Z = np.hstack([X[:5], np.ones((5, 1))])
    Phi = np.hstack([F, np.ones((6, 1))])
    feats = np.einsum("ni,aj->naij", Z, Phi).reshape(5, 6, -1)
    m = pol.model_
    ref = feats @ m.theta + 0.8 * np.sqrt(np.einsum("naz,zy,nay->na", feats, m.Ainv, feats))
    np.testing.assert_allclose(pol.score(X[:5]), ref, rtol=1e-10)


def test_shared_woodbury_update_equals_batch_ridge():
    rng = np.random.default_rng(6)
    F = rng.standard_normal((6, 3))
    pol = LinUCB(6, 4, model="shared", item_features=F, rng=0)
    X, acts, r = rng.standard_normal((40, 4)), rng.integers(0, 6, 40), rng.random(40)
    for lo in range(0, 40, 7):  # several Woodbury batches
        pol.update(X[lo : lo + 7], acts[lo : lo + 7], r[lo : lo + 7])
    Z = np.einsum("ni,nj->nij", np.hstack([X, np.ones((40, 1))]), np.hstack([F, np.ones((6, 1))])[acts]).reshape(40, -1)
    M = np.eye(Z.shape[1]) + Z.T @ Z
    np.testing.assert_allclose(pol.model_.Ainv, np.linalg.inv(M), atol=1e-9)
    np.testing.assert_allclose(pol.model_.theta, np.linalg.solve(M, Z.T @ r), atol=1e-9)


def test_ucb1_epsilon_greedy_closed_forms():
    pol = UCB1(3, rng=0)
    X = np.zeros((1, 2))
    np.testing.assert_allclose(pol.action_probs(X), [[1 / 3] * 3])  # all unplayed: split
    pol.update(np.zeros((3, 2)), [0, 1, 2], [1.0, 0.0, 0.5])
    t = 3
    idx = np.array([1.0, 0.0, 0.5]) + np.sqrt(2 * np.log(t))
    np.testing.assert_allclose(pol.action_probs(X), [tie_probs(idx[None])[0]])
    eg = EpsilonGreedy(4, epsilon=0.2, rng=0)
    eg.update(np.zeros((2, 1)), [1, 2], [1.0, 1.0])
    np.testing.assert_allclose(eg.action_probs(np.zeros((1, 1))), [[0.05, 0.45, 0.45, 0.05]])


def test_epsilon_mixture_and_softmax_closed_form():
    s = np.array([0.0, 1.0, 2.0])
    sm = Softmax(3, s, temperature=0.5)
    p = np.exp(s / 0.5) / np.exp(s / 0.5).sum()
    np.testing.assert_allclose(sm.action_probs(np.zeros((2, 1))), [p, p])
    mix = EpsilonMixture(sm, 0.3)
    np.testing.assert_allclose(mix.action_probs(np.zeros((1, 1)))[0], 0.7 * p + 0.1)


def test_plackett_luce_pscore_sums_to_one_and_marginals_match_enumeration():
    rng = np.random.default_rng(4)
    A, Kk = 5, 3
    w = rng.dirichlet(np.ones(A))[None, :]
    slates = np.array(list(itertools.permutations(range(A), Kk)))
    ps = plackett_luce_pscore(np.repeat(w, len(slates), 0), slates)
    assert ps.sum() == pytest.approx(1.0, abs=1e-12)
    marg = np.zeros((A, Kk))
    for s, p in zip(slates, ps):
        marg[s, np.arange(Kk)] += p
    np.testing.assert_allclose(plackett_luce_marginals(w, Kk)[0], marg, atol=1e-12)
    # the Rao-Blackwellised Monte Carlo estimate agrees with the exact marginals
    pl = PlackettLuce(A, Kk, np.log(w[0]), mc_samples=20000, rng=0)
    np.testing.assert_allclose(pl._mc_marginals(w[0], np.random.default_rng(0)), marg, atol=0.01)


def test_plackett_luce_sampling_frequencies_match_pscore():
    w = np.array([0.5, 0.3, 0.15, 0.05])
    pl = PlackettLuce(4, 2, np.log(w), rng=0)
    s, p = pl.act(np.zeros((40000, 1)))
    keys, counts = np.unique(s, axis=0, return_counts=True)
    exact = plackett_luce_pscore(np.repeat(w[None], len(keys), 0), keys)
    se = np.sqrt(exact * (1 - exact) / 40000)
    assert (np.abs(counts / 40000 - exact) < 5 * se).all()


def test_topk_is_deterministic_top_items():
    t = TopK(4, 2, np.array([0.1, 0.9, 0.5, 0.9]))
    s, p = t.act(np.zeros((3, 1)))
    np.testing.assert_array_equal(s, [[1, 3]] * 3)  # ties broken by item id
    np.testing.assert_array_equal(p, 1.0)


def test_sampling_helpers():
    rng = np.random.default_rng(5)
    P = rng.dirichlet(np.ones(4), size=3)
    P[0] = [0, 0, 1, 0]
    a = sample_categorical(P, rng)
    assert a[0] == 2
    a, ties = argmax_ties(np.array([[1.0, 2.0, 2.0]]), np.random.default_rng(0))
    assert ties[0] == 2 and a[0] in (1, 2)


def test_mc_propensities_of_thompson_sampling_are_close_to_frequencies():
    pol = BernoulliTS(3, mc_samples=4000, rng=0)
    rewards = [1] * 6 + [0] * 4 + [1] * 5 + [0] * 5 + [1] * 2 + [0] * 8
    pol.update(np.zeros((30, 1)), [0] * 10 + [1] * 10 + [2] * 10, rewards)
    p = pol.action_probs(np.zeros((1, 1)))[0]
    a, _ = pol.act(np.zeros((20000, 1)), rng=1)
    np.testing.assert_allclose(np.bincount(a, minlength=3) / 20000, p, atol=0.03)
    lin = LinearTS(4, 2, mc_samples=500, rng=0)
    _, prop = lin.act(np.ones((3, 2)))
    assert ((prop > 0) & (prop <= 1)).all()


def test_uniform_propensities():
    a, p = Uniform(8, rng=0).act(np.zeros((5, 2)))
    np.testing.assert_array_equal(p, 1 / 8)


def test_shared_thompson_draws_have_the_posterior_moments():
    from simrec.policies._linear import SharedModel

    rng = np.random.default_rng(7)
    m = SharedModel(7, 4, 1.0, rng.standard_normal((7, 3)))
    m.ridge_update(rng.standard_normal((20, 4)), rng.integers(0, 7, 20), rng.random(20))
    Z = rng.standard_normal((3, 4))
    mean, width = m.mean_width(Z)
    s = m.sample_scores(Z, 1.0, rng, 40000)
    np.testing.assert_allclose(s.mean(axis=0), mean, atol=5 * width.max() / 200)
    np.testing.assert_allclose(s.std(axis=0), width, rtol=0.03)
