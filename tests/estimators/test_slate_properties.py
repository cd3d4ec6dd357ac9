"""Properties of the slate estimators on random logs (hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simrec.data import SlateLog
from simrec.estimators import ope

pytestmark = pytest.mark.filterwarnings("ignore::simrec.errors.SimrecWarning")


@st.composite
def slate_logs(draw):
    """A random slate log with consistent logging propensities and a target's probabilities."""
    n = draw(st.integers(2, 25))
    K = draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n_items = K + draw(st.integers(0, 5))
    slate = np.argsort(rng.random((n, n_items)), axis=1)[:, :K]
    reward = np.round(rng.normal(size=(n, K)) * rng.integers(0, 2, (n, K)), 3)
    marg = rng.uniform(0.05, 1.0, (n, K))
    # prefix probabilities: running products of conditional probabilities, each below the slot marginal
    cascade = np.minimum.accumulate(np.minimum(np.cumprod(rng.uniform(0.05, 1.0, (n, K)), axis=1), marg), axis=1)
    log = SlateLog(slate=slate, reward=reward, pscore=cascade[:, -1], pscore_marginal=marg, pscore_cascade=cascade,
                   n_items=n_items)
    zero = rng.random((n, 1)) < 0.2  # some rows the target never shows
    pi_m = np.where(zero, 0.0, rng.uniform(0.0, 1.0, (n, K)))
    pi_c = np.where(zero, 0.0, np.cumprod(rng.uniform(0.05, 1.0, (n, K)), axis=1))
    return log, {"pi_slate": pi_c[:, -1].copy(), "pi_marginal": pi_m, "pi_cascade": pi_c,
                 "q_logged": rng.normal(size=(n, K)), "q_pi": rng.normal(size=(n, K))}


def _some_weight(t):
    return (t["pi_slate"].sum() > 0 and (t["pi_marginal"].sum(axis=0) > 0).all()
            and (t["pi_cascade"].sum(axis=0) > 0).all())


@settings(max_examples=60, deadline=None)
@given(slate_logs())
def test_self_normalised_values_stay_in_the_reward_range(case):
    log, t = case
    if not _some_weight(t):
        return
    totals = log.reward.sum(axis=1)
    v = ope.SNSlateIPS().estimate(log, pi_slate=t["pi_slate"]).value
    assert totals.min() - 1e-9 <= v <= totals.max() + 1e-9
    lo, hi = log.reward.min(axis=0).sum(), log.reward.max(axis=0).sum()
    for est, kw in ((ope.SNIIPS(), {"pi_marginal": t["pi_marginal"]}), (ope.SNRIPS(), {"pi_cascade": t["pi_cascade"]})):
        v = est.estimate(log, **kw).value
        assert lo - 1e-9 <= v <= hi + 1e-9


@settings(max_examples=60, deadline=None)
@given(slate_logs())
def test_on_policy_weights_give_the_mean_slate_reward(case):
    """Target == logger: every IPS-type estimate is the plain mean of the slate totals."""
    log, _ = case
    mean = log.reward.sum(axis=1).mean()
    vals = [ope.SlateIPS().estimate(log, pi_slate=log.pscore).value,
            ope.IIPS().estimate(log, pi_marginal=log.pscore_marginal).value,
            ope.RIPS().estimate(log, pi_cascade=log.pscore_cascade).value,
            ope.SNRIPS().estimate(log, pi_cascade=log.pscore_cascade).value,
            ope.PseudoInverse().estimate(log, pi_marginal=log.pscore_marginal).value]
    np.testing.assert_allclose(vals, mean, rtol=1e-9, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(slate_logs())
def test_cascade_dr_is_rips_plus_a_control_variate(case):
    """Cascade-DR = RIPS + mean_i sum_k (w_{i,k-1} q_pi_ik - w_ik q_logged_ik), with w_{i,0} = 1."""
    log, t = case
    w = t["pi_cascade"] / log.pscore_cascade
    w_prev = np.hstack([np.ones((len(log), 1)), w[:, :-1]])
    cv = (w_prev * t["q_pi"] - w * t["q_logged"]).sum(axis=1).mean()
    rips = ope.RIPS().estimate(log, pi_cascade=t["pi_cascade"]).value
    dr = ope.CascadeDR().estimate(log, pi_cascade=t["pi_cascade"], q_logged=t["q_logged"], q_pi=t["q_pi"]).value
    assert dr == pytest.approx(rips + cv, rel=1e-9, abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(slate_logs())
def test_contributions_and_diagnostics(case):
    log, t = case
    est = ope.IIPS().estimate(log, pi_marginal=t["pi_marginal"])
    w = t["pi_marginal"] / log.pscore_marginal
    np.testing.assert_allclose(est.contributions, (w * log.reward).sum(axis=1), rtol=1e-12, atol=1e-12)
    assert est.diagnostics["max_weight"] == pytest.approx(w.max())
    assert est.diagnostics["n_zero_weight"] == int((w == 0).sum())
    ess = [(c.sum() ** 2 / (c**2).sum()) if (c**2).sum() > 0 else 0.0 for c in w.T]
    assert est.ess == pytest.approx(min(ess))


@settings(max_examples=40, deadline=None)
@given(slate_logs())
def test_self_normalised_contributions_are_the_delta_method_influence(case):
    """The standard error of a self-normalised estimate comes from its linearisation, slot by slot:
    ``V + sum_k w_ik (r_ik - V_k) / mean_i(w_ik)``."""
    log, t = case
    if not _some_weight(t):
        return
    for est, key, p in ((ope.SNIIPS(), "pi_marginal", log.pscore_marginal),
                        (ope.SNRIPS(), "pi_cascade", log.pscore_cascade)):
        w = t[key] / p
        v_k = (w * log.reward).sum(axis=0) / w.sum(axis=0)
        infl = v_k.sum() + (w * (log.reward - v_k) / w.mean(axis=0)).sum(axis=1)
        np.testing.assert_allclose(est.contributions(log, **{key: t[key]}), infl, rtol=1e-9, atol=1e-9)
    w = t["pi_slate"] / log.pscore
    tot = log.reward.sum(axis=1)
    v = (w * tot).sum() / w.sum()
    np.testing.assert_allclose(ope.SNSlateIPS().contributions(log, pi_slate=t["pi_slate"]),
                               v + w * (tot - v) / w.mean(), rtol=1e-9, atol=1e-9)
