"""Reward models, estimated propensities, SLOPE selection, metrics, evaluate, learner replay."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _ope_world import random_world
from sklearn.linear_model import LinearRegression, LogisticRegression

from simrec.errors import ConfigError, InvalidLogError
from simrec.estimators import ope

WORLD = random_world(np.random.default_rng(1), c=3, k=4)


@pytest.fixture
def sample():
    return WORLD.sample(3000, np.random.default_rng(0), WORLD.mu)


def test_public_names():
    import simrec.data
    import simrec.estimators.ope as m

    assert m.BanditLog is simrec.data.BanditLog
    for name in ["BanditLog", "Estimate", "DM", "IPS", "SNIPS", "DR", "SNDR", "SwitchDR", "DRos",
                 "SubGaussianIPS", "MIPS", "Replay", "BalancedIPS", "fit_reward_model", "evaluate"]:
        assert hasattr(m, name), name


def test_reward_model_is_cross_fitted(sample):
    log, ad, _ = sample
    q5 = ope.fit_reward_model(log, LinearRegression(), n_folds=5, rng=0)
    q1 = ope.fit_reward_model(log, LinearRegression(), n_folds=1)
    assert q5.shape == (len(log), 4)
    x = log.context.argmax(1)
    # one-hot contexts: per-action in-sample predictions are the cell means of the whole log ...
    cell = np.array([[log.reward[(x == c) & (log.action == a)].mean() for a in range(4)] for c in range(3)])
    np.testing.assert_allclose(q1, cell[x], atol=1e-9)
    # ... while cross-fitted ones never use the row itself: they differ, and both approach mu
    assert np.abs(q5 - q1).max() > 1e-6
    assert np.abs(q5 - WORLD.mu[x]).mean() < 0.05
    # the row's own reward is excluded (leave-fold-out): changing it leaves its prediction alone but
    # moves other rows' (those of the other folds); without cross-fitting its own prediction moves
    for i in (0, 7, 31):
        flipped = log.replace(reward=np.where(np.arange(len(log)) == i, 5.0 - log.reward, log.reward))
        q5f = ope.fit_reward_model(flipped, LinearRegression(), n_folds=5, rng=0)
        np.testing.assert_allclose(q5f[i], q5[i], rtol=0, atol=1e-9)
        assert np.abs(q5f - q5).max() > 1e-3
        assert np.abs(ope.fit_reward_model(flipped, LinearRegression(), n_folds=1)[i] - q1[i]).max() > 1e-3


def test_reward_model_variants(sample):
    log, ad, _ = sample
    log = log.replace(action_embed=np.eye(4))
    qc = ope.fit_reward_model(log, LogisticRegression(), n_folds=3, rng=1)
    assert ((qc >= 0) & (qc <= 1)).all()
    qj = ope.fit_reward_model(log, LinearRegression(), per_action=False, action_features="embed", rng=1)
    assert qj.shape == (len(log), 4)
    pos = np.random.default_rng(2).integers(0, 2, len(log))
    q3 = ope.fit_reward_model(log.replace(position=pos), n_folds=2, rng=1)
    assert q3.shape == (len(log), 4, 2)
    with pytest.raises(InvalidLogError, match="0/1 rewards"):
        ope.fit_reward_model(log.replace(reward=log.reward * 0.5), LogisticRegression())
    with pytest.raises(ConfigError, match="n_folds"):
        ope.fit_reward_model(log, n_folds=0)


def test_dr_with_fitted_model_is_close_to_truth(sample):
    log, ad, _ = sample
    q = ope.fit_reward_model(log, rng=0)
    e = ope.DR().estimate(log, ad, q)
    assert abs(e.value - WORLD.truth) < 4 * e.stderr


def test_estimated_propensities(sample):
    log, ad, _ = sample
    est = ope.estimate_pscore(log.replace(pscore=None), rng=0)
    assert est.meta["pscore_estimated"]
    np.testing.assert_allclose(est.pscore, log.pscore, atol=0.06)
    e = ope.IPS().estimate(est, ad)
    assert e.diagnostics["pscore_estimated"] is True
    assert abs(e.value - WORLD.truth) < 0.06


def test_mips_with_estimated_embedding_propensities(sample):
    log, ad, _ = sample
    log = log.replace(action_embed=np.array([[0.0], [0.0], [1.0], [1.0]]))
    e = ope.MIPS(random_state=0).estimate(log, ad)
    assert e.diagnostics["estimated_pscore"] and e.diagnostics["n_embed_categories"] == 2


def test_slope_selection_reports_choice_and_reason():
    mk = lambda v, se: ope.Estimate(value=v, stderr=se, ci=(v, v), n=100, ess=100.0)  # noqa: E731
    # ordered by decreasing stderr: 0.0 +/- 2*1.96*0.5, 0.1 +/- ..0.3, 0.2 +/- ..0.1, 1.0 +/- ..0.05
    ests = [mk(1.0, 0.05), mk(0.0, 0.5), mk(0.2, 0.1), mk(0.1, 0.3)]
    idx, table = ope.slope(ests, method="slope")
    assert idx == 2  # 1.0 is inconsistent with 0.2 +/- 0.39
    assert list(table["index"]) == [1, 3, 2, 0]
    assert list(table["consistent"]) == [True, True, True, False]


def test_slope_plus_plus_rule_by_hand():
    """SLOPE++ keeps i while |V_j - V_i| <= c_i + (sqrt 6 - 1) c_j for every kept j (c = t * se)."""
    from scipy import stats

    mk = lambda v, se: ope.Estimate(value=v, stderr=se, ci=(v, v), n=101, ess=101.0)  # noqa: E731
    t = stats.t.ppf(0.95, 100)
    c = np.sqrt(6) - 1
    # widths t*se: 1.0, 0.5, 0.25; 1 vs 0: |0.4| <= 0.5 + c * 1.0
    ests = [mk(0.5, 1.0 / t), mk(0.9, 0.5 / t), mk(0.9 + 0.25 + c * 0.5 + 0.01, 0.25 / t)]
    idx, table = ope.slope(ests)
    assert idx == 1 and list(table["consistent"]) == [True, True, False]
    # the original SLOPE keeps that third, more biased candidate: its 2*1.96*se intervals
    # ([-1.86, 2.86], [-0.28, 2.08], [1.29, 2.48]) still share a point
    assert ope.slope(ests, method="slope")[0] == 2
    # just inside its bound with respect to candidate 1 (and to 0), SLOPE++ keeps it too
    ests[2] = mk(0.9 + 0.25 + c * 0.5 - 0.01, 0.25 / t)
    assert ope.slope(ests)[0] == 2
    with pytest.raises(ConfigError, match="did you mean 'slope'"):
        ope.slope(ests, method="slop")


def test_select_hyperparameter(sample):
    log, ad, q = sample
    sel = ope.select_hyperparameter(ope.SwitchDR(), [0.5, 1.0, 2.0, 5.0, 100.0], log, ad, q)
    assert isinstance(sel.estimator, ope.SwitchDR) and sel.estimator.tau == sel.value
    assert sel.param == "tau" and f"tau={sel.value!r}" in sel.reason
    assert sel.table["chosen"].sum() == 1 and len(sel.table) == 5
    assert sel.estimate.value == pytest.approx(ope.SwitchDR(tau=sel.value).estimate(log, ad, q).value)
    with pytest.raises(ConfigError, match="no hyper-parameter"):
        ope.select_hyperparameter(ope.SNIPS(), [1], log, ad)


def test_metrics_by_hand():
    est, truth = np.array([1.1, 1.8, 3.3]), np.array([1.0, 2.0, 3.0])
    assert ope.relative_error(1.1, 1.0) == pytest.approx(0.1)
    assert ope.mse(est, truth) == pytest.approx((0.01 + 0.04 + 0.09) / 3)
    assert ope.nmse(est, truth) == pytest.approx(((0.01 + 0.04 + 0.09) / 3) / ((1 + 4 + 9) / 3))
    assert ope.coverage([0.9, 2.1, 2.5], [1.2, 2.5, 3.5], truth) == pytest.approx(2 / 3)
    assert ope.ci_width([0.0, 1.0], [1.0, 3.0]) == 1.5
    assert ope.rank_correlation([3.0, 2.0, 1.0], [1.0, 2.0, 3.0]) == pytest.approx(-1.0)
    assert ope.regret_at_k([0.9, 0.5, 0.1], [0.2, 0.8, 0.5], k=1) == pytest.approx(0.6)
    assert ope.regret_at_k([0.9, 0.5, 0.1], [0.2, 0.8, 0.5], k=2) == 0.0
    with pytest.raises(ConfigError):
        ope.relative_error(1.0, 0.0)
    with pytest.raises(ConfigError):
        ope.mse([1.0, np.nan], [1.0, 1.0])


def test_evaluate_tidy_table_with_truth(sample):
    log, ad, q = sample
    x = log.context.argmax(1)
    uniform = np.full_like(ad, 0.25)
    truth = {"target": WORLD.truth, "uniform": float(WORLD.px @ WORLD.mu.mean(1))}
    red = ope.reduce_inputs(log, uniform, q)
    ests = [ope.IPS(), ope.DR(), ope.DM(), ope.SwitchDR(tau=5)]
    t = ope.evaluate(log, {"target": ad, "uniform": red}, ests, q_hat={"DR": q, "DM": q * 0 + 0.5,
                                                                     "SwitchDR": q}, truth=truth)
    assert isinstance(t, pd.DataFrame) and len(t) == 8
    for col in ["policy", "estimator", "value", "stderr", "ci_low", "ci_high", "ess", "diagnostics",
                "true_value", "relative_error", "squared_error", "covered"]:
        assert col in t
    row = t[(t.policy == "target") & (t.estimator == "DM")].iloc[0]
    assert row.value == pytest.approx(0.5)  # the per-estimator reward model was used
    dr = t[(t.policy == "target") & (t.estimator == "DR")].iloc[0]
    assert dr.value == pytest.approx(ope.DR().estimate(log, ad, q).value, abs=1e-12)
    assert dr.relative_error == pytest.approx(abs(dr.value - WORLD.truth) / WORLD.truth)
    scores = ope.score_estimators(t)
    assert set(scores.columns) >= {"mse", "nmse", "coverage", "ci_width", "spearman", "regret@1"}
    del x


def test_evaluate_rejects_bad_arguments(sample):
    log, ad, q = sample
    with pytest.raises(ConfigError, match="non-empty dict"):
        ope.evaluate(log, {}, [ope.IPS()])
    with pytest.raises(ConfigError, match="name no estimator"):
        ope.evaluate(log, {"p": ad}, [ope.DR()], q_hat={"drr": q})
    with pytest.raises(ConfigError, match="lacks values"):
        ope.evaluate(log, {"p": ad}, [ope.IPS()], truth={})


class _Greedy:
    """A tiny learning policy: epsilon-greedy on running means per action."""

    def __init__(self, k):
        self.s, self.c = np.zeros(k), np.zeros(k)

    def action_probs(self, obs):
        m = np.where(self.c > 0, self.s / np.maximum(self.c, 1), 1.0)
        p = np.full(len(m), 0.1 / len(m))
        p[np.argmax(m)] += 0.9
        return p[None, :]

    def update(self, obs, actions, rewards, propensities):
        self.s[actions] += rewards
        self.c[actions] += 1


def test_replay_of_a_learning_policy(sample):
    log, _, _ = sample
    pol = _Greedy(4)
    e = ope.Replay(random_state=0).evaluate_learner(log, pol)
    assert e.diagnostics["n_accepted"] == pol.c.sum() > 30
    assert e.name == "Replay-learner" and 0 <= e.value <= 1


def test_select_hyperparameter_grids_with_inf_and_both_rules(sample):
    log, ad, q = sample
    grid = [1.0, 10.0, 100.0, np.inf]
    for method in ("slope++", "slope"):
        sel = ope.select_hyperparameter(ope.DRos(), grid, log, ad, q, method=method)
        assert sel.value in grid and sel.reason.startswith(method)
        assert np.isinf(sel.table.iloc[0]["lam"])  # the widest candidate (lam = inf, i.e. DR) comes first
    sel = ope.select_hyperparameter(ope.SwitchDR(), [0.5, np.inf], log, ad, q)
    assert sel.table["chosen"].sum() == 1
    with pytest.raises(ConfigError, match="method"):
        ope.select_hyperparameter(ope.DRos(), grid, log, ad, q, method="lepski")
