"""Public names, the registry, check_policy on every policy, logs that validate, bad input."""

from __future__ import annotations

import copy

import gymnasium as gym
import numpy as np
import pytest

import simrec.policies as P
from simrec.data import BanditLog, SlateLog
from simrec.errors import InvalidObservationError, InvalidPolicyInputError, NotSupportedError
from simrec.testing import PolicyCheckError, check_policy

from .conftest import SMALL

PUBLIC = ["Policy", "Uniform", "Popularity", "Softmax", "EpsilonGreedy", "Oracle", "UCB1", "LinUCB", "LinearTS",
          "BernoulliTS", "LogisticTS", "PlackettLuce", "TopK", "REINFORCE", "SlateQ", "QLearning", "collect",
          "run_online", "make_policy", "EpsilonMixture", "LinearQ"]
BANDIT_NAMES = ["uniform", "popularity", "softmax", "epsilon-greedy", "epsilon-mixture", "ucb1", "linucb", "linear-ts",
                "bernoulli-ts", "logistic-ts", "oracle", "reinforce", "q-learning", "linear-q"]
SLATE_NAMES = ["topk", "plackett-luce", "slateq", "linucb", "uniform", "reinforce"]


def test_public_names_are_exported_and_documented():
    assert set(PUBLIC) <= set(P.__all__), set(PUBLIC) - set(P.__all__)
    undocumented = [n for n in P.__all__ if not (getattr(P, n).__doc__ or "").strip()]
    assert not undocumented, undocumented


def test_registry_lists_the_documented_names():
    assert set(BANDIT_NAMES + SLATE_NAMES) <= set(P.policy_names())


def _trained(name, env, **kw):
    pol = P.make_policy(name, env, rng=0, **kw)
    P.collect(env, pol, 120, seed=1, learn=True)  # put some learned state in
    return pol


@pytest.mark.parametrize("name", BANDIT_NAMES)
def test_check_policy_bandit(name, bandit):
    pol = _trained(name, bandit.vec)
    assert isinstance(pol, P.Policy)
    before = copy.deepcopy(pol.__dict__.get("counts_"))
    report = check_policy(pol, bandit.obs, n_samples=1500)
    assert report["propensity_type"] in ("exact", "deterministic", "monte-carlo")
    if before is not None:  # check_policy works on copies
        np.testing.assert_array_equal(pol.counts_, before)


@pytest.mark.parametrize("name", SLATE_NAMES)
def test_check_policy_slate(name, slate):
    pol = _trained(name, slate.vec)
    assert pol.is_slate
    report = check_policy(pol, slate.obs, n_samples=1500)
    assert report["is_slate"]


@pytest.mark.parametrize("name", ["linucb", "linear-ts", "logistic-ts"])
def test_check_policy_shared_models(name, bandit):
    pol = _trained(name, bandit.vec, model="shared")
    check_policy(pol, bandit.obs, n_samples=1500)


def test_check_policy_plackett_luce_temperature_and_pl_wrapper(slate):
    pol = P.make_policy("linucb", slate.vec, slate="plackett-luce", temperature=0.3, rng=0)
    assert isinstance(pol, P.PlackettLuce) and pol.temperature == 0.3
    check_policy(pol, slate.obs, n_samples=1500)


@pytest.mark.parametrize("name", ["uniform", "softmax", "epsilon-greedy", "linear-ts", "bernoulli-ts", "logistic-ts",
                                  "linucb", "oracle", "reinforce", "popularity", "ucb1", "epsilon-mixture"])
def test_logs_pass_banditlog_validation(name, bandit):
    pol = P.make_policy(name, bandit.vec, rng=3)
    log = P.collect(bandit.vec, pol, 100, seed=2, learn=True)
    assert isinstance(log, BanditLog) and len(log) == 100
    # re-validate from the raw columns: a new BanditLog must accept them
    again = BanditLog(action=log.action, reward=log.reward, pscore=log.pscore, context=log.context,
                      action_embed=log.action_embed, n_actions=log.n_actions, expected_reward=log.expected_reward)
    assert again.n_actions == 30 and again.action_embed.shape == (30, 16)
    assert log.meta["propensity_type"] == pol.propensity_type


def test_slate_logs_validate(slate):
    pol = P.make_policy("plackett-luce", slate.vec, rng=0)
    log = P.collect(slate.vec, pol, 40, seed=0)
    assert isinstance(log, SlateLog) and log.pscore_marginal is not None
    SlateLog(slate=log.slate, reward=log.reward, pscore=log.pscore, pscore_marginal=log.pscore_marginal,
             context=log.context, n_items=log.n_items, expected_reward=log.expected_reward)
    # the slate propensity is the product of the conditional choice probabilities, below each marginal of slot 0
    assert (log.pscore <= log.pscore_marginal[:, 0] + 1e-12).all()


def test_check_policy_catches_a_lying_policy(bandit):
    class Liar(P.Uniform):
        def act(self, obs, rng=None):
            a, p = super().act(obs, rng)
            return a, p * 0.5  # wrong propensities

    with pytest.raises(PolicyCheckError, match="propensities do not match"):
        check_policy(Liar(5, obs_dim=16), bandit.obs)

    class McLiar(P.BernoulliTS):
        def act(self, obs, rng=None):
            a, p = super().act(obs, rng)
            return a, p + 0.08  # off by 0.08 on probabilities near 1/30 (the old tolerance allowed 0.1)

    with pytest.raises(PolicyCheckError, match="propensities do not match"):
        check_policy(McLiar(30, obs_dim=16, mc_samples=1000), bandit.obs)
    check_policy(P.BernoulliTS(30, obs_dim=16, mc_samples=1000), bandit.obs)  # the honest one passes

    class Biased(P.Uniform):
        def act(self, obs, rng=None):
            a, p = super().act(obs, rng)
            return np.zeros_like(a), p  # always action 0 but claims uniform

    with pytest.raises(PolicyCheckError):
        check_policy(Biased(5, obs_dim=16), bandit.obs)

    class Unseeded(P.Uniform):
        def act(self, obs, rng=None):
            return super().act(obs, np.random.default_rng())  # ignores the seed: fresh entropy

    with pytest.raises(PolicyCheckError, match="deterministic"):
        check_policy(Unseeded(5, obs_dim=16, rng=None), bandit.obs)
    # also on one observation and two actions, where two unseeded draws agree half the time
    for _ in range(20):
        with pytest.raises(PolicyCheckError, match="deterministic"):
            check_policy(Unseeded(2, obs_dim=16, rng=None), bandit.obs[:1], n_samples=200)


def test_seeded_policies_are_reproducible(bandit):
    logs = [P.collect(bandit.vec, P.make_policy("linear-ts", bandit.vec, rng=7), 64, seed=5, learn=True)
            for _ in range(2)]
    np.testing.assert_array_equal(logs[0].action, logs[1].action)
    np.testing.assert_array_equal(logs[0].pscore, logs[1].pscore)


# ---------------------------------------------------------------------------------------- bad input
def _pol(name):
    env = gym.make("simrec/Bandit-v0", world=SMALL)
    return P.make_policy(name, env, rng=0)


@pytest.mark.parametrize("name", ["uniform", "softmax", "linucb", "linear-ts", "logistic-ts", "epsilon-greedy",
                                  "ucb1", "bernoulli-ts", "reinforce", "oracle", "linear-q"])
@pytest.mark.parametrize("obs, match", [
    (np.zeros((2, 15)), "16 features"),
    (np.zeros((2, 3, 16)), "shape"),
    (np.full((2, 16), np.nan), "finite"),
    (np.zeros((0, 16)), "at least one row"),
])
def test_bad_observations(name, obs, match):
    pol = _pol(name)
    with pytest.raises(InvalidObservationError, match=match):
        pol.act(obs)
    with pytest.raises(InvalidObservationError, match=match):
        pol.action_probs(obs)


@pytest.mark.parametrize("name", ["epsilon-greedy", "linucb", "linear-ts", "logistic-ts", "ucb1", "popularity",
                                  "reinforce", "linear-q", "bernoulli-ts"])
@pytest.mark.parametrize("actions, match", [([0, 30], r"\[0, 30\)"), ([-1, 0], r"\[0, 30\)"), ([0.5, 1], "integer"),
                                            ([0], "2 rows")])
def test_actions_outside_the_space(name, actions, match):
    pol = _pol(name)
    with pytest.raises(InvalidPolicyInputError, match=match):
        pol.update(np.zeros((2, 16)), actions, [1.0, 0.0])


def test_bad_rewards():
    with pytest.raises(InvalidPolicyInputError, match="finite"):
        _pol("linucb").update(np.zeros((2, 16)), [0, 1], [np.nan, 0.0])
    with pytest.raises(InvalidPolicyInputError, match=r"\[0, 1\]"):
        _pol("logistic-ts").update(np.zeros((1, 16)), [0], [2.0])


def test_probabilities_a_policy_cannot_provide(slate):
    with pytest.raises(NotSupportedError, match="Monte Carlo"):
        _pol("linear-ts").action_probs(np.zeros((1, 16)), exact=True)
    with pytest.raises(NotSupportedError, match="Monte Carlo"):
        _pol("bernoulli-ts").action_probs(np.zeros((1, 16)), exact=True)
    with pytest.raises(NotSupportedError, match="exact base probabilities"):
        P.EpsilonMixture(_pol("logistic-ts"), 0.1)
    big = P.PlackettLuce(1000, 5, np.zeros(1000), obs_dim=4)
    with pytest.raises(NotSupportedError, match="prefixes"):
        big.action_probs(np.zeros((1, 4)), exact=True)
    assert big.marginal_type == "monte-carlo"
    with pytest.raises(NotSupportedError):
        P.base.BasePolicy(3).action_probs(np.zeros((1, 2)))


@pytest.mark.parametrize("build, match", [
    (lambda: P.Uniform(0), "n_actions"),
    (lambda: P.EpsilonGreedy(5, epsilon=1.5), "epsilon"),
    (lambda: P.LinUCB(5, 4, alpha=-1), "alpha"),
    (lambda: P.LinUCB(5, 4, model="hybrid"), "model"),
    (lambda: P.LinearTS(5, 4, model="shared"), "item_features"),
    (lambda: P.Softmax(5, np.zeros(5), temperature=0), "temperature"),
    (lambda: P.TopK(3, 4, np.zeros(3)), "slate_size"),
    (lambda: P.Popularity(3, mode="sometimes"), "mode"),
    (lambda: P.make_policy("no-such-policy", gym.make("simrec/Bandit-v0", world=SMALL)), "unknown policy"),
    (lambda: P.make_policy("linucb", gym.make("simrec/Bandit-v0", world=SMALL), bogus=1), "unknown parameter .bogus."),
])
def test_bad_hyper_parameters(build, match):
    with pytest.raises(InvalidPolicyInputError, match=match):
        build()


def test_score_function_of_the_wrong_shape():
    pol = P.Softmax(5, lambda X: np.zeros((X.shape[0], 4)))
    with pytest.raises(InvalidPolicyInputError, match=r"shape \(2, 5\)"):
        pol.act(np.zeros((2, 3)))


def test_single_observation_gives_scalars(bandit):
    pol = P.make_policy("softmax", bandit.vec, rng=0)
    a, p = pol.act(np.zeros(16, dtype=np.float32))
    assert np.ndim(a) == 0 and isinstance(p, float) and 0 < p <= 1
    slate = P.make_policy("plackett-luce", gym.make("simrec/Slate-v0", world=SMALL), rng=0)
    s, ps = slate.act(np.zeros(35))
    assert s.shape == (5,) and 0 < ps <= 1


def test_spaces_pair_and_foreign_env():
    spaces = (gym.spaces.Box(-1, 1, (3,)), gym.spaces.Discrete(4))
    pol = P.make_policy("linucb", spaces, rng=0)
    assert pol.n_actions == 4 and pol.obs_dim == 3
    env = gym.make("CartPole-v1")
    log = P.collect(env, P.make_policy("uniform", env, rng=0), 50, seed=0)
    assert log.n_actions == 2 and log.expected_reward is None
    with pytest.raises(InvalidPolicyInputError, match="spaces"):
        P.make_policy("oracle", spaces)


def test_policy_constructors_take_n_actions_first_then_obs_dim():
    import inspect

    wrappers = {"EpsilonMixture"}  # wraps a policy and takes its n_actions
    for name in P.__all__:
        cls = getattr(P, name)
        if not (isinstance(cls, type) and issubclass(cls, P.BasePolicy)) or name in wrappers:
            continue
        params = list(inspect.signature(cls.__init__).parameters.values())[1:]
        positional = [p.name for p in params if p.kind is p.POSITIONAL_OR_KEYWORD]
        assert positional[0] == "n_actions", (name, positional)
        if "obs_dim" in positional:
            assert positional[1] == "obs_dim", (name, positional)


def test_softmax_over_another_policys_scores():
    """`scores` may name a policy (here the oracle): the softmax uses its score method."""
    env = gym.make("simrec/Bandit-v0", world={"preset": "default", "population": {"n_users": 40}})
    truth = env.unwrapped.truth
    pol = P.make_policy("softmax", env, scores="oracle", temperature=1e-3)
    best = truth.expected_reward_matrix().argmax(axis=1)
    assert (pol.action_probs(truth.user_features()).argmax(axis=1) == best).all()
