"""Simulated A/B tests: structure, determinism, and interval coverage of the simulator's true effects."""

import numpy as np
import pytest

from simrec.errors import ConfigError
from simrec.estimators import causal
from simrec.estimators import experiments as ex
from simrec.experiments_sim import METRICS, MixPolicy, make_policy, simulate_ab, true_effects
from simrec.sim import World


def test_simulate_ab_table_truth_and_determinism():
    a = simulate_ab("clickbait", "relevance", {"clickbait": 0.3}, n_users=400, horizon_days=5, seed=1, n_truth=500)
    b = simulate_ab("clickbait", "relevance", {"clickbait": 0.3}, n_users=400, horizon_days=5, seed=1, n_truth=500)
    assert a.data.equals(b.data) and a.true_effect == b.true_effect
    assert set(METRICS) <= set(a.data.columns) and set(a.data["treatment"]) == {0, 1}
    assert a.true_effect["sessions"] < 0 < a.true_effect["ctr_first"]  # clickbait: CTR up, retention down
    aa = simulate_ab("clickbait", "relevance", "relevance", n_users=200, horizon_days=5, n_truth=300)
    assert all(v == 0 for v in aa.true_effect.values())  # common random numbers: identical arms, zero effect
    with pytest.raises(ConfigError, match="unknown policy"):
        make_policy("greedy-ish")
    with pytest.raises(ConfigError, match="clickbait"):
        MixPolicy(clickbait=1.5)


def test_policy_tables_belong_to_their_world_not_to_a_reused_address():
    import gc

    from simrec import experiments_sim as es

    def fresh_clicks(w):
        u, i = np.repeat(np.arange(w.n_users), w.n_items), np.tile(np.arange(w.n_items), w.n_users)
        return es._z(w.expected_reward(u, i, 0).reshape(w.n_users, w.n_items))

    held = len(es._TABLES)  # other tests' worlds may still be alive
    for s in range(12):  # CPython often hands a freed world's address to the next world: each gets its own
        w = World("clickbait", seed=s)
        tab = es._click_table(w)
        np.testing.assert_allclose(tab, fresh_clicks(w))
        pol = MixPolicy(0.5, noise=0.2)
        assert es._click_table(w) is tab and pol.slate_table(w) is pol.slate_table(w)  # cached while it lives
        del w, tab
        gc.collect()
        # freed with their world, whether or not the next world reuses its address (an id()-keyed cache
        # keeps the entry, and serves it to a new world at that address)
        assert len(es._TABLES) == held


@pytest.fixture(scope="module")
def truth():
    w = World("clickbait", seed=0)
    te, se = true_effects(w, make_policy("relevance"), make_policy("mix:0.3"), 40_000, 7,
                          np.random.default_rng(99))
    return w, te, se


@pytest.mark.slow
def test_ab_intervals_cover_the_simulator_truth(truth):
    w, te, se = truth
    R = 300
    hits = {"welch": [], "cuped": [], "lift": []}
    base = None
    for r in range(R):
        sim = simulate_ab(w, "relevance", "mix:0.3", n_users=1000, horizon_days=7, seed=1000 + r, n_truth=0)
        d = sim.data
        res = ex.analyze_ab(d["sessions"], d["treatment"])
        cu = ex.cuped(d["sessions"], d["treatment"], d["pre_clicks"], balance_threshold=0.0)
        hits["welch"].append(res.diff.ci[0] <= te["sessions"] <= res.diff.ci[1])
        hits["cuped"].append(cu.diff.ci[0] <= te["sessions"] <= cu.diff.ci[1])
        if base is None:
            from simrec.experiments_sim import run_users

            rng = np.random.default_rng(7)
            base = run_users(w, "relevance", rng.integers(0, w.n_users, 40_000), rng.integers(0, 2**62, 40_000),
                             7)["sessions"].mean()
        lift = te["sessions"] / base
        hits["lift"].append(res.lift.ci[0] <= lift <= res.lift.ci[1])
    band = 3 * np.sqrt(0.95 * 0.05 / R)  # the truth itself (40,000 paired users) is ~10x more precise
    for k, h in hits.items():
        print(k, np.mean(h))
        assert abs(np.mean(h) - 0.95) <= band, (k, np.mean(h))


@pytest.fixture(scope="module")
def segment_truth():
    """Per-user effects on sessions of mix:0.3 vs relevance from 40,000 paired users (common random
    numbers), averaged overall and within two segments of an observable user feature."""
    from simrec.experiments_sim import run_users

    w = World("clickbait", seed=0)
    rng = np.random.default_rng(11)
    users, seeds = rng.integers(0, w.n_users, 40_000), rng.integers(0, 2**62, 40_000)
    d = run_users(w, "mix:0.3", users, seeds, 7)["sessions"] - run_users(w, "relevance", users, seeds, 7)["sessions"]
    seg = w.population.features[users, 0] > 0
    return w, float(d.mean()), np.array([d[~seg].mean(), d[seg].mean()])


@pytest.mark.slow
def test_ate_and_cate_intervals_cover_the_simulator_truth(segment_truth):
    """AIPW, econml's DR learner and LinearDML's ATE, and LinearDML's CATE of two user segments: their
    95% intervals cover the simulator's truth within 3 Monte Carlo SE of 0.95, and are as wide as the
    spread of the estimates across replications says they should be (neither too narrow nor too wide)."""
    w, ate_true, cate_true = segment_truth
    R = 200
    est = {k: [] for k in ("aipw", "dr", "dml-ate", "cate-0", "cate-1")}
    for r in range(R):
        d = simulate_ab(w, "relevance", "mix:0.3", n_users=1200, horizon_days=7, seed=5000 + r, n_truth=0).data
        y, t = d["sessions"].to_numpy(), d["treatment"].to_numpy()
        W = d[["pre_sessions", "pre_clicks"]].to_numpy(float)
        seg = (w.population.features[d["user"].to_numpy(), 0] > 0).astype(float)[:, None]
        a = causal.ate(y, t, X=W, propensity=0.5, method="aipw")
        b = causal.ate(y, t, X=W, propensity=0.5, method="dr", cv=2)
        c = causal.cate(y, t, seg, W=W, propensity=0.5, method="linear_dml", cv=2, X_eval=[[0.0], [1.0]])
        for k, e in (("aipw", a), ("dr", b), ("dml-ate", c.ate)):
            est[k].append((e.value, *e.ci))
        for g in (0, 1):
            est[f"cate-{g}"].append((c.effect[g], c.ci_low[g], c.ci_high[g]))
    band = 3 * np.sqrt(0.95 * 0.05 / R)
    for k, rows in est.items():
        v, lo, hi = np.array(rows).T
        truth = cate_true[int(k[-1])] if k.startswith("cate") else ate_true
        cover = float(np.mean((lo <= truth) & (truth <= hi)))
        width_ratio = float(np.mean(hi - lo) / (2 * 1.959964 * v.std(ddof=1)))
        print(f"{k}: truth {truth:+.4f}, coverage {cover:.2f}, mean interval width / (2 z sd of the estimates) "
              f"{width_ratio:.2f}")
        assert abs(cover - 0.95) <= band, (k, cover)
        assert 0.8 < width_ratio < 1.25, (k, width_ratio)


def test_interleaving_in_the_simulator_agrees_with_the_ab_click_through_truth():
    from simrec.experiments_sim import simulate_interleaving

    for a, b in [("relevance", "mix:0.3"), ("mix:0.6", "mix:0.3")]:
        r = simulate_interleaving("clickbait", a, b, n_users=800, seed=2)
        pref_a = ex.analyze_interleaving(r["team"], r["clicks"], r["user"])  # > 0: users click A's items more
        truth = simulate_ab("clickbait", a, b, n_users=50, horizon_days=2, n_truth=3000).true_effect["ctr_first"]
        assert np.sign(pref_a.value) == -np.sign(truth) and (pref_a.ci[1] < 0 or pref_a.ci[0] > 0)
    aa = simulate_interleaving("clickbait", "relevance", "relevance", n_users=800, seed=3)
    e = ex.analyze_interleaving(aa["team"], aa["clicks"], aa["user"])
    assert e.ci[0] < 0 < e.ci[1]
