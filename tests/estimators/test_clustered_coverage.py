"""Cluster-robust intervals on Slate-v0 session logs: rows of one session share a user, so their
rewards are correlated and i.i.d. standard errors are too small.

A stochastic logger (softmax over affinity scores, Plackett-Luce slates) runs on
``gym.make_vec("simrec/Slate-v0")`` in a world with long sessions and heterogeneous users; the log
is read per slot as a bandit log (``position``, per-slot marginal propensities, the session and
user ids that ``collect`` records) and IPS estimates the logger's click-through rate per slot
(target = logger, so the weights are 1 and the estimate is unbiased). The truth is the mean of the
exact expected rewards over all replications.
"""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest

import simrec  # noqa: F401  (registers the environments)
from simrec.data import BanditLog, SlateLog
from simrec.estimators import ope
from simrec.policies import collect, make_policy
from simrec.sim import presets

WORLD = {"population.n_users": 100_000, "population.position_bias_sd": 1.0,
         "population.interest_concentration": 6.0, "population.obs_noise": 0.0,
         "boredom.enabled": False, "satisfaction.enabled": False, "drift.enabled": False,
         "choice.affinity_weight": 5.0, "choice.no_click_utility": 3.0, "session.base": -6.0}


def per_slot(log: SlateLog) -> BanditLog:
    """One bandit row per (step, slot), carrying the step's session and user ids."""
    n, k = log.slate.shape
    step = np.repeat(np.arange(n), k)
    return BanditLog(action=log.slate.ravel(), reward=log.reward.ravel(), pscore=log.pscore_marginal.ravel(),
                     position=np.tile(np.arange(k), n), n_actions=log.n_items,
                     expected_reward=log.expected_reward.ravel(), session_id=log.session_id[step],
                     user_id=log.user_id[step])


def coverage_run(n_reps: int, num_envs: int = 20, n_steps: int = 1000):
    env = gym.make_vec("simrec/Slate-v0", num_envs=num_envs, world=presets.get("default", **WORLD))
    logger = make_policy("softmax", env, temperature=0.2, slate="plackett-luce")
    truth_parts, out = [], {"session": [], None: []}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for rep in range(n_reps):
            # seeds far apart: sub-env i of a vector env seeded s is the single env seeded s + i
            bl = per_slot(collect(env, logger, n_steps, seed=1_000_003 * (rep + 1)))
            truth_parts.append(bl.expected_reward.mean())
            for cluster in out:
                e = ope.IPS().estimate(bl, pi_logged=bl.pscore, cluster=cluster, ci_method="t")
                out[cluster].append((e.ci[0], e.ci[1], e.stderr, e.value))
    truth = float(np.mean(truth_parts))
    res = {}
    for cluster, rows in out.items():
        a = np.asarray(rows)
        res[cluster] = {"coverage": float(np.mean((a[:, 0] <= truth) & (truth <= a[:, 1]))),
                        "mean_se": float(a[:, 2].mean()), "sd_value": float(a[:, 3].std(ddof=1))}
    return res


@pytest.mark.slow
def test_session_clustered_intervals_cover_on_slate_sessions():
    n_reps = 200
    res = coverage_run(n_reps)
    mc_se = np.sqrt(0.95 * 0.05 / n_reps)
    print(f"\nSlate-v0 session logs, {n_reps} replications, 95% t intervals (Monte Carlo se {mc_se:.4f}):")
    for k, v in res.items():
        print(f"  cluster={k!s:8}: coverage {v['coverage']:.3f}, mean se {v['mean_se']:.5f}, "
              f"sd of the estimates {v['sd_value']:.5f}")
    assert abs(res["session"]["coverage"] - 0.95) <= 3 * mc_se
    assert res[None]["coverage"] < 0.95 - 6 * mc_se  # i.i.d. errors: far below nominal
