"""IPS on the LLM policy's propensities recovers its simulated value from a uniform log."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import simrec  # noqa: F401
from simrec.data import BanditLog
from simrec.estimators import ope
from simrec.policies import make_policy

WORLD = {"preset": "default", "catalog": {"n_items": 30}}


def _env(n):
    # one turn per conversation: rows are independent episodes, so IPS's i.i.d. interval applies
    return gym.make_vec("simrec/Conversation-v0", num_envs=n, world=WORLD, slate_size=1, max_turns=1)


def _uniform_log(env, steps, seed):
    rng = np.random.default_rng(seed)
    obs, info = env.reset(seed=seed)
    B = env.num_envs
    rows = {"obs": [], "texts": [], "action": [], "reward": [], "q": []}
    resetting = np.zeros(B, dtype=bool)
    for _ in range(steps):
        n_av = env.unwrapped.world.n_available
        a = rng.integers(n_av, size=B)
        q = env.unwrapped.expected_reward_items()  # exact E[r | x, a] for every item, current rows
        texts = list(zip(info["request"], info["user_text"]))
        nobs, r, te, tr, info = env.step(a[:, None])
        keep = np.flatnonzero(~resetting)
        rows["obs"].append(obs[keep])
        rows["texts"] += [texts[i] for i in keep]
        rows["action"].append(a[keep])
        rows["reward"].append(r[keep])
        rows["q"].append(q[keep])
        resetting = te | tr
        obs = nobs
    out = {k: (np.concatenate(v) if k != "texts" else v) for k, v in rows.items()}
    return out, n_av


def test_ips_recovers_the_llm_policy_value():
    env = _env(200)
    data, n_av = _uniform_log(env, 40, seed=11)
    n = data["action"].size
    pol = make_policy("llm", env, backend="scripted", n_samples=4, temperature=1.0, rng=0)
    pi = pol.action_probs(data["obs"], texts=data["texts"])[:, :, 0]  # (n, n_items)
    assert np.allclose(pi.sum(axis=1), 1.0)
    log = BanditLog(action=data["action"], reward=data["reward"], pscore=np.full(n, 1.0 / n_av),
                    context=data["obs"], n_actions=n_av)
    est = ope.IPS().estimate(log, pi)
    truth_ctx = float((pi * data["q"]).sum(axis=1).mean())  # exact value on the logged contexts

    # the policy's simulated value: it acts on-policy in fresh conversations (exact expected rewards)
    env2 = _env(200)
    obs, info = env2.reset(seed=99)
    vals, resetting = [], np.zeros(200, dtype=bool)
    for _ in range(20):
        a, _ = pol.act(obs, rng=1, texts=list(zip(info["request"], info["user_text"])))
        obs, r, te, tr, info = env2.step(a)
        vals.append(info["expected_reward"][~resetting])
        resetting = te | tr
    v = np.concatenate(vals)
    sim_value, sim_se = float(v.mean()), float(v.std(ddof=1) / np.sqrt(v.size))
    logger_value = float(data["q"].mean())
    lo, hi = est.ci
    print(f"\nIPS {est.value:.4f} [{lo:.4f}, {hi:.4f}] (n={n}); exact value on logged contexts {truth_ctx:.4f}; "
          f"simulated value {sim_value:.4f} +- {sim_se:.4f}; uniform logger {logger_value:.4f}; "
          f"propensity type {pol.propensity_type} ({pol.propensity_source})")
    assert lo <= truth_ctx <= hi
    assert lo <= sim_value <= hi
    assert abs(sim_value - truth_ctx) < 3 * (sim_se + est.stderr)
    # power: the LLM policy is far from the logger, so ignoring its propensities would miss
    assert not lo <= logger_value <= hi


@pytest.mark.slow
def test_ips_interval_coverage_over_seeds():
    """Monte Carlo check: over 20 independent uniform logs, IPS's 95% interval covers the LLM policy's
    exact value on the logged contexts in at least 16 (P(<= 15 | 0.95) = 1.6%)."""
    env = _env(100)
    pol = make_policy("llm", env, backend="scripted", n_samples=4, temperature=1.0, rng=0)
    covered, errors = 0, []
    for seed in range(20):
        data, n_av = _uniform_log(env, 30, seed=1000 + seed)
        n = data["action"].size
        pi = pol.action_probs(data["obs"], texts=data["texts"])[:, :, 0]
        log = BanditLog(action=data["action"], reward=data["reward"], pscore=np.full(n, 1.0 / n_av),
                        context=data["obs"], n_actions=n_av)
        est = ope.IPS().estimate(log, pi)
        truth = float((pi * data["q"]).sum(axis=1).mean())
        covered += est.ci[0] <= truth <= est.ci[1]
        errors.append(est.value - truth)
    print(f"\ncoverage {covered}/20, mean error {np.mean(errors):+.4f} (se {np.std(errors, ddof=1) / np.sqrt(20):.4f})")
    assert covered >= 16
    assert abs(np.mean(errors)) < 3 * np.std(errors, ddof=1) / np.sqrt(20)
