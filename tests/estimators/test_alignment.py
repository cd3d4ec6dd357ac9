"""Metric alignment: clickbait proxies exposed, noise-corrected covariances, surrogate index, optimal proxy,
offline/online ranking, slice discovery."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

from simrec.estimators import alignment as al
from simrec.experiments_sim import simulate_corpus, simulate_offline_online


@pytest.fixture(scope="module")
def clickbait_corpus():
    return simulate_corpus("clickbait", 20, n_users=1500, horizon_days=10, seed=3, n_truth=2500)


def test_clickbait_proxy_disagrees_with_retention_and_scores_show_it(clickbait_corpus):
    c = clickbait_corpus
    ctr = al.alignment_scores(c, "ctr_first", "sessions")
    clicks = al.alignment_scores(c, "clicks", "sessions")
    assert ctr.directional_accuracy_true < 0.3 and ctr.te_correlation < -0.5 and ctr.te_correlation_true < -0.5
    assert ctr.kendall_tau_true < -0.3 and ctr.harmful_launch_rate > 0.5 and ctr.proxy_score < 0
    assert ctr.top1_regret > clicks.top1_regret
    assert clicks.directional_accuracy_true > 0.8 and clicks.te_correlation > 0.5 and clicks.kendall_tau_true > 0.5


def test_corpus_estimates_are_unbiased_for_the_truth(clickbait_corpus):
    c = clickbait_corpus
    j = c.index("sessions")
    z = (c.estimates[:, j] - c.true_effects[:, j]) / np.sqrt(c.stderr[:, j] ** 2 + c.true_effect_se[:, j] ** 2)
    assert abs(z.mean() * np.sqrt(len(c))) < 3.5
    assert 0.5 < z.std() < 1.6


def _weak_corpus(K=300, n=400, rho=0.8, lam_sy=0.0, seed=0):
    """Unit-level corr(S, Y) = rho; latent effects with covariance Lambda_SY = lam_sy."""
    rng = np.random.default_rng(seed)
    lat = rng.multivariate_normal([0, 0], [[0.02**2, lam_sy], [lam_sy, 0.02**2]], size=K)
    tabs = []
    for k in range(K):
        t = rng.random(n) < 0.5
        e = rng.multivariate_normal([0, 0], [[1, rho], [rho, 1]], size=n)
        tabs.append(pd.DataFrame({"treatment": t.astype(int), "s": e[:, 0] + t * lat[k, 0],
                                  "y": e[:, 1] + t * lat[k, 1]}))
    return al.ExperimentCorpus.from_unit_tables(tabs, ["s", "y"], true_effects=lat, random_state=seed)


def test_noise_corrected_te_correlation_removes_the_unit_level_correlation():
    c = _weak_corpus()
    naive = al.alignment_scores(c, "s", "y").te_correlation_naive
    lam = c.te_covariance("split")
    lam_n = c.te_covariance("naive")
    noise = c.cov[:, 0, 1].mean()  # mean within-experiment sampling covariance: ~ 4 * 0.8 / 400
    assert naive > 0.4  # the noise correlation leaks into the naive estimate ...
    assert lam_n[0, 1] == pytest.approx(noise, rel=0.35)  # ... as the mean sampling covariance
    # the split-half and total estimators remove it (truth 0; their sampling SE is about 0.0016 here)
    assert abs(lam[0, 1]) < 0.5 * noise and abs(c.te_covariance("total")[0, 1]) < 0.5 * noise


def _surrogate_corpus(direct=0.0, K=40, n=1500, seed=0):
    """Y = 2 S1 + S2 + noise; T moves S (and, with `direct`, Y directly: surrogacy violated)."""
    rng = np.random.default_rng(seed)
    tabs, truth = [], []
    for _ in range(K):
        a, b = rng.normal(scale=0.2, size=2)
        d = direct * rng.uniform(0.5, 1.5)
        t = rng.random(n) < 0.5
        s1 = rng.normal(size=n) + a * t
        s2 = rng.normal(size=n) + b * t
        y = 2 * s1 + s2 + d * t + rng.normal(size=n)
        tabs.append(pd.DataFrame({"treatment": t.astype(int), "s1": s1, "s2": s2, "y": y}))
        truth.append([a, b, 2 * a + b + d])
    return al.ExperimentCorpus.from_unit_tables(tabs, ["s1", "s2", "y"], true_effects=np.array(truth))


def test_surrogate_index_recovers_the_long_term_effect_when_surrogacy_holds():
    c = _surrogate_corpus()
    v = al.surrogate_validation(c, ["s1", "s2"], "y", model=LinearRegression())
    assert not v.flagged and abs(v.slope - 1) < 0.1 and v.coverage > 0.85
    # a single experiment: h from historical units, applied to a new experiment
    train = pd.concat(c.units[:30])
    hits = 0
    for k in range(30, 40):
        est = al.surrogate_index(train, c.units[k], ["s1", "s2"], "y", model=LinearRegression())
        hits += est.ci[0] < c.true_effects[k, 2] < est.ci[1]
        assert est.stderr < c.stderr[k, 2]  # the index is more precise than the direct long-term estimate
    assert hits >= 8


def test_surrogate_index_is_flagged_when_surrogacy_is_violated():
    v = al.surrogate_validation(_surrogate_corpus(direct=0.3), ["s1", "s2"], "y", model=LinearRegression())
    assert v.flagged and abs(v.bias_z) > 3


_FIRST_SESSION = ["clicks_first", "ctr_first", "steps_first", "watch_first", "return_first"]
_HISTORY = ["pre_clicks", "pre_sessions"]  # the user's pre-period activity: pre-treatment covariates


@pytest.fixture(scope="module")
def production_corpora():
    """Random treatments against one production policy (so ``Y | S, X`` is the same in every experiment):
    acting in the first session only (surrogacy holds: the long-term effect runs through the user's
    state after it) and acting for the whole horizon (surrogacy violated)."""
    kw = dict(n_users=1500, horizon_days=10, seed=3, n_truth=2500, control="relevance")
    return simulate_corpus("clickbait", 60, treatment_sessions=1, **kw), simulate_corpus("clickbait", 40, **kw)


def test_surrogate_index_recovers_the_long_term_effect_in_the_simulator(production_corpora):
    early, _ = production_corpora
    v = al.surrogate_validation(early, _FIRST_SESSION, "sessions", covariates=_HISTORY)
    print(f"early-only treatments: bias {v.bias:.4f} (z {v.bias_z:.2f}), slope {v.slope:.3f} +- {v.slope_se:.3f}, "
          f"coverage {v.coverage:.3f}")
    assert not v.flagged and abs(v.bias_z) < 3 and abs(v.slope - 1) < 3 * v.slope_se and v.coverage >= 0.8
    # one new experiment at a time: the index fit on the units of the earlier experiments
    j = early.index("sessions")
    train = pd.concat(early.units[:45], ignore_index=True)
    hits, narrower = 0, 0
    for k in range(45, 60):
        est = al.surrogate_index(train, early.units[k], _FIRST_SESSION, "sessions", covariates=_HISTORY)
        hits += est.ci[0] <= early.true_effects[k, j] <= est.ci[1]
        narrower += est.stderr < early.stderr[k, j]
    assert hits >= 12 and narrower == 15, (hits, narrower)


def test_surrogacy_violation_in_the_simulator_is_flagged_with_the_same_surrogates(production_corpora):
    _, whole = production_corpora
    v = al.surrogate_validation(whole, _FIRST_SESSION, "sessions", covariates=_HISTORY)
    print(f"whole-horizon treatments: bias {v.bias:.4f} (z {v.bias_z:.2f}), slope {v.slope:.3f}")
    assert v.flagged and v.bias_z > 3


def test_surrogacy_violation_in_the_simulator_is_flagged(clickbait_corpus):
    # the treatment acts for the whole horizon: first-session metrics miss much of its long-term effect
    v = al.surrogate_validation(clickbait_corpus, ["clicks_first", "ctr_first", "steps_first", "return_first"],
                                "sessions", covariates=["pre_clicks"])
    assert v.flagged and v.slope < 0.9


def test_optimal_proxy_shifts_to_the_low_noise_metric_in_small_experiments():
    rng = np.random.default_rng(5)
    K, n = 200, 600
    tabs, truth = [], []
    for _ in range(K):
        dy = rng.normal(scale=0.05)
        a = dy + rng.normal(scale=0.01)  # s_aligned: tracks the north star, very noisy per unit
        b = 0.5 * dy + rng.normal(scale=0.03)  # s_quiet: less aligned, little noise
        t = rng.random(n) < 0.5
        tabs.append(pd.DataFrame({"treatment": t.astype(int), "s_aligned": rng.normal(scale=3, size=n) + a * t,
                                  "s_quiet": rng.normal(scale=0.2, size=n) + b * t,
                                  "y": rng.normal(scale=5, size=n) + dy * t}))
        truth.append([a, b, dy])
    c = al.ExperimentCorpus.from_unit_tables(tabs, ["s_aligned", "s_quiet", "y"], true_effects=np.array(truth))
    ns = [100, 1000, 10_000, 1_000_000]
    w_quiet = [al.optimal_proxy(c, "y", n_, proxies=["s_aligned", "s_quiet"], method="true").weights["s_quiet"]
               for n_ in ns]
    assert all(np.diff(w_quiet) < 0) and w_quiet[0] > 0.5 > w_quiet[-1]
    for n_ in ns:
        r = al.optimal_proxy(c, "y", n_, proxies=["s_aligned", "s_quiet"], method="true")
        assert r.quality >= max(r.single_quality.values()) - 1e-9
    simplex = al.optimal_proxy(c, "y", 1000, proxies=["s_aligned", "s_quiet"], constraint="simplex")
    assert min(simplex.weights.values()) >= -1e-9 and sum(simplex.weights.values()) == pytest.approx(1)


def test_offline_online_report_on_the_clickbait_world():
    off, on = simulate_offline_online("clickbait", {"relevance": "relevance", "mix-0.2": "mix:0.2",
                                                    "mix-0.5": "mix:0.5", "clickbait": "clickbait"},
                                      n_log_users=800, n_online=1500, horizon_days=10)
    rep = al.offline_online_report(off, on["sessions"])
    # offline click metrics prefer the clickbait rankers; the long-term outcome prefers relevance
    assert (rep["kendall_tau"] < 0).all() and (rep["top1_regret"] > 0).all()
    assert on["sessions"].idxmax() == "relevance"
    oracle = al.offline_online_report(on[["sessions"]], on["sessions"])
    assert oracle.loc["sessions", "kendall_tau"] == pytest.approx(1.0)
    assert oracle.loc["sessions", "top1_regret"] == 0


def test_find_slices_finds_a_planted_poor_slice_first():
    rng = np.random.default_rng(8)
    n = 20_000
    f = pd.DataFrame({"country": rng.choice(["de", "fr", "us", "jp"], n), "device": rng.choice(["ios", "web"], n),
                      "age": rng.uniform(18, 70, n), "tenure": rng.exponential(2.0, n)})
    t = rng.random(n) < 0.5
    bad = (f["country"] == "jp").to_numpy() & (f["device"] == "web").to_numpy()  # 12.5% of users
    y = rng.normal(size=n) + t * np.where(bad, -0.3, 0.05)
    out = al.find_slices(f, y, treatment=t, max_depth=2, min_support=0.02)
    assert out.loc[0, "slice"] in ("country=jp & device=web", "device=web & country=jp")
    assert out.loc[0, "discovery"]
    # on the null (no slice differs) the false discoveries stay rare
    y0 = rng.normal(size=n) + 0.05 * t
    null = al.find_slices(f, y0, treatment=t, max_depth=2)
    assert null["discovery"].sum() <= 1
