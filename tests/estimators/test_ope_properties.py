"""Hypothesis properties of the estimators."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pytest
from _ope_world import World, softmax
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from simrec.estimators import ope

pytestmark = pytest.mark.filterwarnings("ignore::simrec.errors.SimrecWarning")

K = 4


@st.composite
def logs(draw, min_n=2, max_n=40):
    n = draw(st.integers(min_n, max_n))
    floats = st.floats(-5, 5, allow_nan=False, allow_infinity=False)
    logits = draw(arrays(np.float64, (n, K), elements=floats))
    pi0 = softmax(draw(arrays(np.float64, (n, K), elements=floats)))
    action = draw(arrays(np.int64, n, elements=st.integers(0, K - 1)))
    reward = draw(arrays(np.float64, n, elements=st.floats(-3, 3, allow_nan=False)))
    pscore = np.maximum(pi0[np.arange(n), action], 1e-12)
    log = ope.BanditLog(action=action, reward=reward, pscore=pscore, n_actions=K)
    return log, softmax(logits), pi0


@settings(max_examples=150, deadline=None)
@given(logs())
def test_snips_within_reward_range(data):
    log, pi, _ = data
    if (pi[np.arange(len(log)), log.action] == 0).all():
        return
    v = ope.SNIPS().estimate(log, pi).value
    tol = 1e-9 * (1 + np.abs(log.reward).max())
    assert log.reward.min() - tol <= v <= log.reward.max() + tol


@settings(max_examples=100, deadline=None)
@given(logs())
def test_ips_with_target_equal_logger_is_the_sample_mean(data):
    log, _, pi0 = data
    log = log.replace(pscore=pi0[np.arange(len(log)), log.action])
    assert ope.IPS().estimate(log, pi0).value == pytest.approx(log.reward.mean(), abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 4), st.integers(2, 5), st.integers(0, 2**32 - 1))
def test_ips_unbiased_when_target_equals_logger(c, k, seed):
    """Exact expectation over every (x, a, r) the logger produces equals the policy value."""
    rng = np.random.default_rng(seed)
    pi0 = softmax(rng.normal(0, 2, (c, k)))
    w = World(rng.dirichlet(np.ones(c)), rng.uniform(0, 1, (c, k)), pi0, pi0)
    log, ad, _, prob = w.enumerate()
    assert prob @ ope.IPS().contributions(log, ad) == pytest.approx(w.truth, abs=1e-12)


@settings(max_examples=150, deadline=None)
@given(logs(), st.data())
def test_dr_family_equals_dm_when_residuals_are_zero(data, more):
    log, pi, _ = data
    n = len(log)
    q = more.draw(arrays(np.float64, (n, K), elements=st.floats(-3, 3, allow_nan=False)))
    log = log.replace(reward=q[np.arange(n), log.action])  # r == q_hat(x, a): zero residuals
    dm = ope.DM().estimate(log, pi, q).value
    for est in (ope.DR(), ope.DR(clip=2.0), ope.SwitchDR(tau=3.0), ope.DRos(lam=1.0)):
        assert est.estimate(log, pi, q).value == pytest.approx(dm, abs=1e-9)
    if (pi[np.arange(n), log.action] > 0).any():
        assert ope.SNDR().estimate(log, pi, q).value == pytest.approx(dm, abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(logs())
def test_contributions_average_to_value_and_clipping_shrinks(data):
    log, pi, _ = data
    for est in (ope.IPS(), ope.IPS(clip=1.0), ope.SubGaussianIPS(lam=0.5)):
        e = est.estimate(log, pi)
        assert e.contributions.mean() == pytest.approx(e.value, abs=1e-9)
        z = NormalDist().inv_cdf(0.975)  # the default interval: normal, 95%, centred on the value, ...
        ci = (e.value - z * e.stderr, e.value + z * e.stderr)
        if np.isin(log.reward, (0.0, 1.0)).all():  # ... clipped to [0, 1] for 0/1 rewards (never past the value)
            lo, hi = min(0.0, e.value), max(1.0, e.value)
            ci = (min(max(ci[0], lo), hi), max(min(ci[1], hi), lo))
        assert e.ci == pytest.approx(ci, rel=1e-12, abs=1e-12)  # equal to rounding, at any magnitude
    w = pi[np.arange(len(log)), log.action] / log.pscore
    assert (ope.IPS(clip=1.0).contributions(log, pi) == np.minimum(w, 1.0) * log.reward).all()
