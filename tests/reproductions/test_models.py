"""The data-generating processes of the reproductions against brute-force references."""

from __future__ import annotations

import numpy as np
import pytest

from simrec.reproductions import dudik2011, kang_schafer2007, mips2022


def test_embed_world_expected_reward_and_marginal_propensities():
    w = mips2022.EmbedWorld(7, seed=3)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5, w.dim_context))
    qc = w.q_cat(X)
    brute = np.zeros((5, 7))
    for i in range(5):
        for a in range(7):
            brute[i, a] = sum(w.w[d] * sum(w.p_cat[a, d, c] * qc[i, d, c] for c in range(w.n_cat_per_dim))
                              for d in range(w.n_cat_dim))
    np.testing.assert_allclose(w.q(X), brute, rtol=1e-12, atol=1e-12)
    S = w.sample(300, np.random.default_rng(1), chunk=128)
    Q = w.q(S["x"])
    pib = np.exp(w.beta * Q - (w.beta * Q).max(axis=1, keepdims=True))
    pib /= pib.sum(axis=1, keepdims=True)
    pie = np.full_like(Q, w.eps / 7)
    pie[np.arange(300), Q.argmax(axis=1)] += 1 - w.eps
    p_e_a = np.prod([w.p_cat[:, d, :][:, S["e"][:, d]].T for d in range(w.n_cat_dim)], axis=0)  # (n, A)
    np.testing.assert_allclose(S["pb"], pib[np.arange(300), S["a"]], rtol=1e-10)
    np.testing.assert_allclose(S["pe"], pie[np.arange(300), S["a"]], rtol=1e-10)
    np.testing.assert_allclose(S["peb"], (pib * p_e_a).sum(axis=1), rtol=1e-10)
    np.testing.assert_allclose(S["pee"], (pie * p_e_a).sum(axis=1), rtol=1e-10)
    # the reward depends on the action only through the embedding (what makes MIPS unbiased)
    mean_r = (qc_s := w.q_cat(S["x"]))[np.arange(300)[:, None], np.arange(3)[None, :], S["e"]] @ w.w
    assert qc_s.shape == (300, 3, 10)
    assert abs(np.mean(S["r"] - mean_r)) < 4 * w.reward_std / np.sqrt(300)


def test_embed_world_is_fixed_by_its_seed():
    a, b, c = mips2022.EmbedWorld(20, seed=1), mips2022.EmbedWorld(20, seed=1), mips2022.EmbedWorld(20, seed=2)
    X = np.random.default_rng(0).normal(size=(4, 10))
    np.testing.assert_array_equal(a.q(X), b.q(X))
    assert not np.allclose(a.q(X), c.q(X))


def test_mips_true_beats_ips_on_a_large_action_space():
    w = mips2022.EmbedWorld(300, seed=0)
    truth = w.truth(20_000, np.random.default_rng(5))
    err = {"IPS": [], "MIPS (true)": []}
    for s in range(4):
        est = mips2022.estimates(w, 3000, np.random.default_rng(s))
        for k in err:
            err[k].append((est[k] - truth) ** 2)
    assert np.median(err["MIPS (true)"]) * 10 < np.median(err["IPS"])


def test_obp_sampling_scheme():
    dist = np.array([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    a = dudik2011._obp_sample(dist, 0)
    u = np.random.RandomState(0).uniform(size=3)
    assert a[1] == 0 and a[2] == 2
    assert a[0] == int(np.searchsorted(np.cumsum(dist[0]), u[0], side="right"))
    draws = dudik2011._obp_sample(np.tile(dist[:1], (20_000, 1)), 1)
    np.testing.assert_allclose(np.bincount(draws, minlength=3) / 20_000, dist[0], atol=0.015)


def test_kang_schafer_design():
    S = kang_schafer2007.simulate(200_000, np.random.default_rng(0))
    assert S["y"].mean() == pytest.approx(210, abs=0.2)
    assert S["y"][S["R"]].mean() == pytest.approx(200, abs=0.5)  # respondents are selected
    assert S["R"].mean() == pytest.approx(0.5, abs=0.01)
    est = kang_schafer2007.estimators(kang_schafer2007.simulate(5000, np.random.default_rng(1)))
    for k in ("IPW-POP, pi correct", "OLS, y correct", "AIPW c/c", "AIPW c/i", "AIPW i/c"):
        assert est[k] == pytest.approx(210, abs=2.0), k
    assert est["OLS, y correct"] == pytest.approx(est["AIPW c/c"], abs=0.2)
