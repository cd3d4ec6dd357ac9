"""The adapters between sweep files and the policy/estimator APIs, and the bilinear reward model."""

from __future__ import annotations

import numpy as np
import pytest

from simrec.data import BanditLog
from simrec.sweeps import _registry

from ._fixtures import tiny
from .test_spec import _problems


def _bilinear_log(n=3000, d=4, e=3, k=12, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    Phi = rng.normal(size=(k, e))
    W = rng.normal(size=(d, e))
    a = rng.integers(0, k, n)
    Q = X @ W @ Phi.T + 0.5
    r = Q[np.arange(n), a] + noise * rng.normal(size=n)
    log = BanditLog(action=a, reward=r, pscore=np.full(n, 1 / k), context=X, action_embed=Phi, n_actions=k)
    return log, Q


def test_bilinear_reward_model_recovers_a_bilinear_reward():
    log, Q = _bilinear_log()
    q = _registry.reward_model({"model": "bilinear", "alpha": 1e-6, "n_folds": 2}, log, rng=0)
    assert q.shape == Q.shape
    inside = (Q >= log.reward.min()) & (Q <= log.reward.max())  # predictions are clipped to the reward range
    np.testing.assert_allclose(q[inside], Q[inside], atol=1e-4)


def test_bilinear_reward_model_is_cross_fitted():
    # pure-noise rewards: an in-sample fit correlates with its own rows' noise, a cross-fit does not
    c_in, c_cf = [], []
    for seed in range(5):
        log, _ = _bilinear_log(n=100, seed=seed)
        log = log.replace(reward=np.random.default_rng(seed + 10).normal(size=log.n))
        rows = np.arange(log.n)
        for folds, acc in ((1, c_in), (2, c_cf)):
            q = _registry.reward_model({"model": "bilinear", "n_folds": folds, "alpha": 1e-3}, log, rng=0)
            acc.append(np.corrcoef(q[rows, log.action], log.reward)[0, 1])
    assert np.mean(c_in) > 0.25 and np.mean(c_cf) < 0.1, (c_in, c_cf)


def test_reward_model_falls_back_without_item_features():
    log, _ = _bilinear_log(n=200)
    plain = log.replace(action_embed=None)
    q = _registry.reward_model({"model": "bilinear"}, plain, rng=0)
    assert q.shape == (200, 12) and np.isfinite(q).all()
    q_mean = _registry.reward_model({"model": "mean"}, plain, rng=0)
    assert np.allclose(q_mean, plain.reward.mean())


@pytest.mark.parametrize(("entry", "path", "match"), [
    ({"name": "linucb", "params": {"alpha": -1.0}}, "policies.0.params", "alpha"),
    ({"name": "linucb", "params": {"alpah": 1.0}}, "policies.0.params", "alpah"),
    ({"name": "nosuch"}, "policies.0.name", "unknown policy 'nosuch'"),
])
def test_policy_parameters_are_checked_before_running(entry, path, match):
    probs = _problems(tiny(policies=[entry]))
    assert path in probs and match in probs[path], probs


def test_estimator_names_are_case_insensitive():
    from simrec.estimators import registry

    assert registry.get("snips").cls.__name__ == "SNIPS"
    assert _registry.estimator_problems("SwitchDR", {"tau": 2.0}) == []
    assert _registry.estimator_problems("SNIPS", {"clip": 2.0})[0][0] == "params.clip"
