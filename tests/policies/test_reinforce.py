"""REINFORCE's off-policy correction and returns-to-go, each in a world where getting it wrong shows."""

from __future__ import annotations

import numpy as np
import pytest

import simrec.policies as P
from simrec.data import BanditLog, Trajectories
from simrec.errors import InvalidPolicyInputError
from simrec.policies.reinforce import returns_to_go


def test_importance_weight_is_the_capped_ratio_computed_by_hand():
    pi = P.REINFORCE(3, 1, max_weight=2.0, rng=0)
    pi.params_["W"][-1] = np.log([1.0, 2.0, 1.0])  # the intercept row: pi = (1/4, 1/2, 1/4) everywhere
    X = np.zeros((4, 1))
    actions, beta = np.array([0, 1, 2, 1]), np.array([0.5, 0.1, 0.25, 0.5])
    # pi/beta = 0.25/0.5, 0.5/0.1 (capped at 2), 0.25/0.25, 0.5/0.5
    np.testing.assert_allclose(pi.importance_weights(X, actions, beta), [0.5, 2.0, 1.0, 1.0], rtol=1e-12)
    pi.off_policy = False
    np.testing.assert_array_equal(pi.importance_weights(X, actions, beta), np.ones(4))
    with pytest.raises(InvalidPolicyInputError, match="pscore"):
        pi.importance_weights(X, actions, np.array([0.5, 0.0, 0.25, 0.5]))


# A bandit where the logger mostly plays a decent arm and rarely the best one. Without the weights
# the gradient on arm k's logit is beta_k (mu_k - mean reward): the often-logged decent arm wins.
# With them it is pi_k (mu_k - V(pi)), the on-policy gradient, which climbs to the best arm.
MU = np.array([0.7, 0.3, 0.9])
BETA = np.array([0.8, 0.15, 0.05])


def _fit_value(seed: int, off_policy: bool, n: int = 4000) -> float:
    g = np.random.default_rng(seed)
    a = g.choice(3, size=n, p=BETA)
    r = (g.random(n) < MU[a]).astype(float)
    log = BanditLog(context=g.standard_normal((n, 2)), action=a, reward=r, pscore=BETA[a], n_actions=3)
    pi = P.REINFORCE(3, 2, off_policy=off_policy, rng=0).fit(log, epochs=20, seed=seed)
    return float((pi.action_probs(g.standard_normal((2000, 2))) @ MU).mean())  # true value, exact given pi


def test_off_policy_correction_removes_the_loggers_bias():
    seeds = range(8)
    corrected = np.array([_fit_value(s, True) for s in seeds])
    uncorrected = np.array([_fit_value(s, False) for s in seeds])
    diff = corrected - uncorrected
    se = diff.std(ddof=1) / np.sqrt(diff.size)
    print(f"true value: corrected {corrected.mean():.3f}, uncorrected {uncorrected.mean():.3f}, "
          f"difference {diff.mean():.3f} (se {se:.4f}); best arm {MU.max()}, logger {BETA @ MU:.3f}")
    assert uncorrected.mean() < 0.8  # the world makes the uncorrected fit biased toward the logged arm
    assert diff.mean() > 5 * se and diff.mean() > 0.1
    assert corrected.mean() > 0.85  # close to the best arm's 0.9


def test_reinforce_on_trajectories_follows_the_return_to_go():
    np.testing.assert_allclose(returns_to_go(np.array([0, 0, 0, 1, 1]), np.array([1.0, 0.0, 2.0, 1.0, 1.0]), 0.5),
                               [1.5, 1.0, 2.0, 1.5, 1.0])
    # two-step episodes: action 0 first pays 1 now; action 1 pays nothing now but 2 at the next step
    g = np.random.default_rng(0)
    n_ep = 2000
    first = g.integers(0, 2, n_ep)
    episode = np.repeat(np.arange(n_ep), 2)
    obs = np.tile(np.eye(2), (n_ep, 1))  # the step index, one-hot
    action = np.column_stack([first, g.integers(0, 2, n_ep)]).ravel()
    reward = np.column_stack([(first == 0) * 1.0, (first == 1) * 2.0]).ravel()
    tr = Trajectories(episode=episode, obs=obs, action=action, reward=reward, pscore=np.full(2 * n_ep, 0.5),
                      n_actions=2)
    far = P.REINFORCE(2, 2, gamma=0.9, rng=0).fit(tr, epochs=10)  # return of action 1: 1.8 > 1
    myopic = P.REINFORCE(2, 2, gamma=0.0, rng=0).fit(tr, epochs=10)
    assert far.action_probs(np.array([[1.0, 0.0]]))[0, 1] > 0.8
    assert myopic.action_probs(np.array([[1.0, 0.0]]))[0, 0] > 0.8
