"""The public truth interface ``env.unwrapped.truth``: exact values equal brute force, expectations
equal what a step reports, rollouts are seeded with common random numbers, and no part of simrec
reaches past it into env or simulator internals."""

from __future__ import annotations

import ast
import itertools
import pathlib

import gymnasium as gym
import numpy as np
import pytest

import simrec
from simrec.errors import InvalidActionError, InvalidObservationError, NotSupportedError
from simrec.policies import make_policy

SMALL = {"preset": "default", "population": {"n_users": 30}, "catalog": {"n_items": 6}, "slate_size": 2}
ROOT = pathlib.Path(simrec.__file__).parent


def _imports(tree: ast.AST) -> list[tuple[str, int]]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            out.append(("." * node.level + (node.module or ""), node.lineno))
            out += [("." * node.level + (node.module or "") + "." + a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names]
    return out


def test_nothing_outside_sim_imports_its_private_modules_and_nothing_reads_core():
    bad = []
    for f in ROOT.rglob("*.py"):
        rel = f.relative_to(ROOT)
        tree = ast.parse(f.read_text())
        if rel.parts[0] != "sim":
            for mod, line in _imports(tree):
                parts = mod.lstrip(".").split(".")
                if "sim" in parts and any(p.startswith("_") for p in parts[parts.index("sim") + 1:]):
                    bad.append(f"{rel}:{line} imports {mod}")
        if rel.parts[0] != "envs":
            for node in ast.walk(tree):
                if isinstance(node, ast.Attribute) and node.attr in ("core", "_core"):
                    bad.append(f"{rel}:{node.lineno} reads .{node.attr}")
    assert not bad, bad


def test_bandit_exact_value_equals_brute_force():
    env = gym.make("simrec/Bandit-v0", world=SMALL)
    truth = env.unwrapped.truth
    w = env.unwrapped.world
    pol = make_policy("softmax", env, temperature=0.3, rng=0)
    probs = pol.action_probs(truth.user_features())
    brute = np.mean([sum(probs[u, a] * w.expected_reward([u], [a], [0])[0] for a in range(6)) for u in range(30)])
    assert truth.policy_value(pol) == pytest.approx(brute, abs=1e-12)
    assert truth.policy_value(probs) == pytest.approx(brute, abs=1e-12)
    assert truth.n_available == truth.n_items == 6 and truth.action_offset == 0 and truth.slate_size is None
    assert truth.item_features().shape == (6, w.config.dim)


def _pl_prob(weights: np.ndarray, slate: tuple[int, ...]) -> float:
    """Plackett-Luce probability of an ordered slate, by its definition."""
    p, left = 1.0, weights.sum()
    for i in slate:
        p *= weights[i] / left
        left -= weights[i]
    return p


def test_slate_one_step_values_equal_brute_force_enumeration():
    env = gym.make("simrec/Slate-v0", world=SMALL)
    truth = env.unwrapped.truth
    w = env.unwrapped.world
    pl = make_policy("plackett-luce", env, rng=0)
    topk = make_policy("topk", env, rng=0)
    # every user at the start of a session, seen through the env itself
    venv = gym.make_vec("simrec/Slate-v0", num_envs=1, world=SMALL)
    total_pl, total_top = 0.0, 0.0
    for u in range(30):
        obs = np.zeros((1, venv.single_observation_space.shape[0]), dtype=np.float32)
        obs[0, : w.config.dim] = np.clip(w.population.features[u], -10, 10)
        weights = pl.weights(obs)[0]
        for s in itertools.permutations(range(6), 2):
            w.reset([u], [0])
            r = w.step(np.array([s])).expected_reward[0]  # the stepping path, not the truth's
            total_pl += _pl_prob(weights, s) * r
        w.reset([u], [0])
        total_top += w.step(topk.act(obs, 0)[0]).expected_reward[0]
    assert truth.policy_value(pl) == pytest.approx(total_pl / 30, abs=1e-12)
    assert truth.policy_value(topk) == pytest.approx(total_top / 30, abs=1e-12)
    with pytest.raises(NotSupportedError, match="rollout"):
        truth.policy_value(pl, max_enumerated=10)


@pytest.mark.parametrize("env_id", ["simrec/Bandit-v0", "simrec/Slate-v0", "simrec/Retention-v0",
                                    "simrec/Messaging-v0", "simrec/Conversation-v0"])
def test_expected_reward_of_any_action_equals_what_the_step_reports(env_id):
    env = gym.make_vec(env_id, num_envs=16, world=SMALL)
    truth = env.unwrapped.truth
    env.reset(seed=3)
    rng = np.random.default_rng(0)
    for _ in range(4):
        a = np.stack([truth.random_action(rng) for _ in range(16)])
        before = truth.expected_reward(a)
        again = truth.expected_reward(a)  # changes nothing
        _, _, term, trunc, info = env.step(a)
        np.testing.assert_allclose(before, info["expected_reward"], rtol=0, atol=1e-12)
        np.testing.assert_array_equal(before, again)
        if (term | trunc).any():
            break


def test_rollouts_share_random_numbers_and_agree_across_seeds():
    env = gym.make("simrec/Retention-v0", world={"preset": "clickbait", "population": {"n_users": 200}},
                   horizon_days=10)
    truth = env.unwrapped.truth
    pol = make_policy("plackett-luce", env, rng=0)
    a = truth.rollout(pol, 300, seed=1)
    b = truth.rollout(pol, 300, seed=1)
    c = truth.rollout(pol, 300, seed=2)
    assert a.value == b.value and np.array_equal(a.returns, b.returns)  # common random numbers
    assert abs(a.value - c.value) < 4 * np.hypot(a.stderr, c.stderr) and a.stderr > 0
    assert {"clicks", "watch", "sessions", "retained", "return", "steps"} <= set(a.outcomes)
    assert 0 <= a.outcomes["retained"][0] <= 1 and a.outcomes["sessions"][0] >= 1
    m = gym.make("simrec/Messaging-v0", world=SMALL, horizon_days=5).unwrapped.truth.rollout(lambda o: np.ones(
        o.shape[0], dtype=np.int64), 50, seed=0)
    assert {"visits", "opens", "unsubscribed"} <= set(m.outcomes) and m.outcomes["steps"][0] == 5


def test_clickbait_greedy_wins_clicks_now_and_loses_users_later():
    """The trade-off the long-term truth exists for, measured through the interface."""
    world = {"preset": "clickbait", "population": {"n_users": 300}}
    env = gym.make("simrec/Retention-v0", world=world, horizon_days=20)
    truth = env.unwrapped.truth
    attract = env.unwrapped.world.catalog.attractiveness
    quality = env.unwrapped.world.catalog.quality
    k = truth.slate_size

    def by(score):
        top = np.argsort(-score)[:k]
        return lambda obs: np.tile(top, (obs.shape[0], 1))

    bait, good = truth.rollout(by(attract), 400, seed=5).outcomes, truth.rollout(by(quality), 400, seed=5).outcomes
    assert bait["clicks"][0] / bait["steps"][0] > 5 * good["clicks"][0] / good["steps"][0]  # clicks now
    assert bait["retained"][0] + 4 * bait["retained"][1] < good["retained"][0]  # users kept
    assert bait["sessions"][0] < good["sessions"][0]


def test_users_of_rejects_observations_of_no_user():
    env = gym.make("simrec/Bandit-v0", world=SMALL)
    truth = env.unwrapped.truth
    X = truth.user_features()[[3, 1]]
    assert list(truth.users_of(X)) == [3, 1]
    with pytest.raises(InvalidObservationError, match="row 0"):
        truth.users_of(X + 0.5)


# -- Gymnasium's contract: every element of the action space is a valid action -------------------
def test_repeated_and_unreleased_items_are_empty_slots_unless_strict():
    world = {"preset": "cold-start", "population": {"n_users": 40}}
    env = gym.make_vec("simrec/Slate-v0", num_envs=3, world=world)
    truth = env.unwrapped.truth
    env.reset(seed=1)
    k, avail, cap = truth.slate_size, truth.n_available, truth.n_items
    assert avail < cap
    clean = np.arange(k)
    dup = clean.copy()
    dup[1:] = 0  # slot 0 shown once; the later copies are empty
    unreleased = clean.copy()
    unreleased[-1] = cap - 1  # not released yet: empty
    a = np.stack([clean, dup, unreleased])
    before = truth.expected_reward(a)
    w = env.unwrapped.world
    one_item = w.expected_slate_reward(np.zeros((3, 1), dtype=np.int64))[0]  # item 0 shown alone
    assert before[1] == pytest.approx(one_item[1], abs=1e-12)  # empties add nothing, take nothing
    _, _, _, _, info = env.step(a)
    assert list(info["empty_slots"]) == [0, k - 1, 1]
    np.testing.assert_allclose(info["expected_reward"], before, atol=1e-12)
    assert (info["slot_expected_reward"][1, 1:] == 0).all() and info["slot_expected_reward"][2, -1] == 0
    for outside in (-1, cap):  # not an element of the action space: an error even when lenient
        with pytest.raises(InvalidActionError, match=r"catalog.*row 0 slot 1"):
            env.step(np.stack([np.r_[0, outside, np.arange(2, k)]] * 3))
    strict = gym.make_vec("simrec/Slate-v0", num_envs=3, world=world, strict_slates=True)
    strict.reset(seed=1)
    with pytest.raises(Exception, match="twice"):
        strict.step(a)


def test_gymnasium_check_env_samples_raw_slates():
    from gymnasium.utils.env_checker import check_env

    for env_id in ("simrec/Slate-v0", "simrec/Retention-v0"):
        env = gym.make(env_id, world=SMALL).unwrapped
        env.reset(seed=0)
        for _ in range(50):  # raw MultiDiscrete samples repeat items often with 6 items
            _, _, te, tr, info = env.step(env.action_space.sample())
            assert info["empty_slots"] >= 0
            if te or tr:
                env.reset()
        check_env(env, skip_render_check=True)


def test_slate_policy_value_reads_slates_as_the_env_does():
    """A deterministic policy that repeats an item is valued, like the env steps it, with empty slots:
    item 0 in every slot is worth item 0 shown alone; a strict env refuses it in both places."""
    env = gym.make("simrec/Slate-v0", world=SMALL)
    truth = env.unwrapped.truth
    w = env.unwrapped.world
    k = truth.slate_size

    class Repeat:
        propensity_type = "deterministic"

        def act(self, obs, rng):
            return np.zeros((obs.shape[0], k), dtype=np.int64), np.ones(obs.shape[0])

    brute = []
    for u in range(30):  # the stepping path, one user at a time at the start of a session
        w.reset([u], [0])
        brute.append(w.step(np.zeros((1, k), dtype=np.int64), lenient=True).expected_reward[0])
    alone = w.expected_reward(np.arange(30), 0, 0).mean()
    assert truth.policy_value(Repeat()) == pytest.approx(np.mean(brute), abs=1e-12)
    assert truth.policy_value(Repeat()) == pytest.approx(alone, abs=1e-12)
    strict = gym.make("simrec/Slate-v0", world=SMALL, strict_slates=True)
    with pytest.raises(InvalidActionError, match="twice"):
        strict.unwrapped.truth.policy_value(Repeat())
