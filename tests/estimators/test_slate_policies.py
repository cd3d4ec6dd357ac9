"""Slate estimators on logs collected from ``simrec/Slate-v0`` with simrec's Plackett-Luce policies:
the policies report every propensity the estimators need (slate, per-slot marginals, prefixes,
conditional laws), and on-policy every weight is exactly 1."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import simrec  # noqa: F401  (registers the envs)
from simrec import policies as P
from simrec.estimators import ope
from simrec.policies.slates import PlackettLuce, TopK

pytestmark = pytest.mark.filterwarnings("ignore::simrec.errors.SimrecWarning")

TINY_SLATE = {"preset": "default", "catalog": {"n_items": 12}, "slate_size": 3, "population": {"n_users": 50}}


@pytest.fixture(scope="module")
def logged():
    env = gym.make_vec("simrec/Slate-v0", num_envs=4, world=TINY_SLATE, world_seed=0)
    logger = P.make_policy("plackett-luce", env, rng=0)
    assert isinstance(logger, PlackettLuce) and logger.marginal_type == "exact"
    log = P.collect(env, logger, 400, seed=1)
    log = log.replace(pscore_cascade=logger.prefix_pscore(log.context, log.slate))  # validated on creation
    return log, logger


def _inputs(policy, log):
    X, S = log.context, log.slate
    return {"pi_slate": policy.slate_pscore(X, S), "pi_marginal": policy.slot_marginals(X, S),
            "pi_cascade": policy.prefix_pscore(X, S), "cascade_dist": policy.cascade_probs(X, S)}


def test_prefix_propensities_are_consistent(logged):
    log, logger = logged
    pre = logger.prefix_pscore(log.context, log.slate)
    np.testing.assert_allclose(pre[:, -1], log.pscore, rtol=1e-12)
    cond = logger.cascade_probs(log.context, log.slate)
    np.testing.assert_allclose(cond.sum(axis=1), 1.0, rtol=1e-12)
    picked = cond[np.arange(len(log))[:, None], log.slate, np.arange(log.slate_size)[None, :]]
    np.testing.assert_allclose(np.cumprod(picked, axis=1), pre, rtol=1e-12)


def test_on_policy_weights_are_one(logged):
    """With target == logger every IPS-type estimate is the on-policy mean of the slate rewards."""
    log, logger = logged
    t = _inputs(logger, log)
    on_policy = log.reward.sum(axis=1).mean()
    vals = {
        "SlateIPS": ope.SlateIPS().estimate(log, pi_slate=t["pi_slate"]).value,
        "IIPS": ope.IIPS().estimate(log, pi_marginal=t["pi_marginal"]).value,
        "RIPS": ope.RIPS().estimate(log, pi_cascade=t["pi_cascade"]).value,
        "RIPS-dense": ope.RIPS().estimate(log, cascade_dist=t["cascade_dist"]).value,
        "SNRIPS": ope.SNRIPS().estimate(log, pi_cascade=t["pi_cascade"]).value,
    }
    for name, v in vals.items():
        assert v == pytest.approx(on_policy, rel=1e-9), name


def test_off_policy_estimates_from_policy_methods(logged):
    """A different target (greedier Plackett-Luce, and deterministic top-K) gives finite estimates
    that move away from the on-policy mean, and Cascade-DR with a zero model equals RIPS."""
    log, logger = logged
    on_policy = log.reward.sum(axis=1).mean()
    greedy = PlackettLuce(logger.n_actions, logger.slate_size, logger.scores, temperature=0.25)
    t = _inputs(greedy, log)
    e_ips = ope.SlateIPS().estimate(log, pi_slate=t["pi_slate"])
    e_rips = ope.RIPS().estimate(log, pi_cascade=t["pi_cascade"])
    assert np.isfinite([e_ips.value, e_rips.value]).all()
    assert abs(e_rips.value - on_policy) > 1e-6
    zero = np.zeros((len(log), log.n_items, log.slate_size))
    e_dr = ope.CascadeDR().estimate(log, cascade_dist=t["cascade_dist"], q_hat=zero)
    assert e_dr.value == pytest.approx(e_rips.value, rel=1e-12)
    top = TopK(logger.n_actions, logger.slate_size, logger.scores)
    tk = _inputs(top, log)
    e_top = ope.RIPS().estimate(log, pi_cascade=tk["pi_cascade"])
    assert e_top.diagnostics["n_zero_weight"] > 0
    assert e_top.value == pytest.approx(ope.CascadeDR().estimate(
        log, cascade_dist=tk["cascade_dist"], q_hat=zero).value, rel=1e-12)
