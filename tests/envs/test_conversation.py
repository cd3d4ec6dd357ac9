"""simrec/Conversation-v0: conformance, deterministic words, preferences from the choice model, truth."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import simrec  # noqa: F401
from simrec.envs.conversation import ConversationEnv
from simrec.errors import ConfigError, InvalidActionError
from simrec.sim.conversation import score_explanation
from simrec.testing import check_vector_env

WORLD = {"preset": "default", "catalog": {"n_items": 80}}
ID = "simrec/Conversation-v0"


def test_conformance():
    check_env(gym.make(ID, world=WORLD).unwrapped, skip_render_check=True)
    check_vector_env(gym.make_vec(ID, num_envs=4, world=WORLD))
    check_vector_env(gym.make_vec(ID, num_envs=1, world=WORLD, slate_size=1, max_turns=2))


def _dialogue(seed, actions):
    env = gym.make(ID, world=WORLD)
    _, info = env.reset(seed=seed)
    words = [info["user_text"]]
    for a in actions:
        _, _, te, tr, info = env.step(a)
        words.append(info["user_text"])
        if te or tr:
            break
    return words


def test_text_is_deterministic_given_the_seed():
    acts = [np.array([0, 1, 2]), np.array([3, 4, 5]), np.array([6, 7, 8]), np.array([9, 10, 11])]
    assert _dialogue(5, acts) == _dialogue(5, acts)
    openings = {_dialogue(s, [])[0] for s in range(30)}
    assert len(openings) > 20  # different users and phrasings


def test_preferences_come_from_the_choice_model():
    env = gym.make_vec(ID, num_envs=64, world=WORLD)
    env.reset(seed=0)
    core = env.unwrapped._core
    R = core.expected_reward_items()
    topic = core.world.catalog.topic[: R.shape[1]]
    gaps = []
    for b, p in enumerate(core.preferences()):
        want = R[b, np.isin(topic, p.wanted)].mean()
        avoid = R[b, topic == p.avoided].mean()
        gaps.append(want - avoid)
        text = core.requests[b]
        for g in p.wanted_genres(core.world.catalog) + [p.avoided_genre(core.world.catalog)]:
            assert g in text
    assert min(gaps) > 0


def test_refinement_names_the_avoided_genre_when_it_is_shown():
    env = gym.make(ID, world={"preset": "default", "catalog": {"n_items": 80}, "choice": {"no_click_utility": 50.0}})
    hits = 0
    for seed in range(10):
        env.reset(seed=seed)
        core = env.unwrapped._core
        p = core.preferences()[0]
        items = np.flatnonzero(core.world.catalog.topic[:80] == p.avoided)[:3]
        if items.size < 3:
            continue
        _, r, te, tr, info = env.step(items)
        if info["response"] == "refine":
            assert p.avoided_genre(core.world.catalog) in info["user_text"]
            hits += 1
    assert hits >= 5


def test_accept_terminates_with_the_clicked_title():
    env = gym.make(ID, world=WORLD)
    for seed in range(40):
        env.reset(seed=seed)
        _, r, te, tr, info = env.step(np.array([0, 1, 2]))
        if info["response"] == "accept":
            assert r == 1.0 and te
            assert f"#{[0, 1, 2][info['clicked_slot']]}" in info["user_text"]
            return
    pytest.fail("no accept in 40 conversations")


def test_truncated_after_max_turns():
    env = gym.make(ID, world={"preset": "default", "catalog": {"n_items": 80}, "choice": {"no_click_utility": 50.0},
                              "session": {"base": -50.0}}, max_turns=3)
    env.reset(seed=1)
    outs = [env.step(np.array([0, 1, 2]))[2:4] for _ in range(3)]
    assert outs[-1] == (False, True) and all(o == (False, False) for o in outs[:-1])


def test_expected_reward_is_exact_and_changes_nothing():
    env = gym.make_vec(ID, num_envs=6, world=WORLD)
    obs, _ = env.reset(seed=3)
    slates = np.tile(np.array([4, 9, 17]), (6, 1))
    er = env.unwrapped.expected_reward(slates)
    er_again = env.unwrapped.expected_reward(slates)
    obs2, _, _, _, info = env.step(slates)
    assert np.array_equal(er, er_again)
    assert np.allclose(er, info["expected_reward"], rtol=0, atol=1e-12)
    # the same seed and actions without the truth calls give the same trajectory
    env2 = gym.make_vec(ID, num_envs=6, world=WORLD)
    env2.reset(seed=3)
    obs3, *_ = env2.step(slates)
    assert np.array_equal(obs2, obs3)


def test_single_item_truth_matches_the_step():
    env = gym.make_vec(ID, num_envs=5, world=WORLD, slate_size=1)
    env.reset(seed=2)
    R = env.unwrapped.expected_reward_items()
    a = np.arange(5)[:, None] + 10
    _, _, _, _, info = env.step(a)
    assert np.allclose(R[np.arange(5), a[:, 0]], info["expected_reward"], atol=1e-12)


def test_explanations_are_scored_in_info():
    env = gym.make_vec(ID, num_envs=3, world=WORLD)
    env.reset(seed=0)
    core = env.unwrapped._core
    slates = np.array([[0, 1, 2]] * 3)
    cat = core.world.catalog
    good = f"#0 is {cat.attributes(0)['mood']} {cat.attributes(0)['genres'][0]}."
    bad = "#0 is an acclaimed news piece. #55 too." if cat.attributes(0)["genres"][0] != "news" else "#55 fits."
    env.unwrapped.explain([good, bad, None])
    _, _, _, _, info = env.step(slates)
    assert list(info["explained"]) == [True, True, False]
    p = core.preferences()
    assert info["explanation_score"][0] == score_explanation(good, slates[0], p[0], cat).score > 0
    assert info["explanation_score"][1] < 0 and info["explanation_score"][2] == 0
    _, _, _, _, info = env.step(slates)  # explanations apply to one step only
    assert not info["explained"].any()


def test_observation_encodes_the_request_with_the_documented_encoder():
    env = gym.make(ID, world=WORLD)
    obs, info = env.reset(seed=9)
    enc = env.unwrapped.observation_encoder
    assert np.allclose(obs[enc.request_slice], enc.encoder.encode([info["request"]])[0])
    assert np.allclose(obs[enc.features_slice], env.unwrapped.world.state.features[0], atol=1e-6)
    assert env.unwrapped.texts_for(obs) == [(info["request"], info["user_text"])]
    assert env.unwrapped.texts_for(obs + 1) == [None]


@pytest.mark.parametrize("kwargs, match", [({"slate_size": 0}, "slate_size"), ({"slate_size": 500}, "cannot exceed"),
                                           ({"max_turns": 0}, "max_turns"), ({"encoder": "bogus"}, "encoder")])
def test_bad_config(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        ConversationEnv(world=WORLD, **kwargs)


def test_bad_actions_raise_before_anything_changes():
    env = gym.make(ID, world=WORLD)
    env.reset(seed=0)
    *_, info = env.step(np.array([1, 1, 2]))  # every element of the space is valid: a repeat is an empty slot
    assert info["empty_slots"] == 1
    with pytest.raises(InvalidActionError, match="shape"):
        env.step(np.array([1, 2]))
    with pytest.raises(InvalidActionError, match="integer"):
        env.step(np.array([1.0, 2.0, 3.0]))
    with pytest.raises(InvalidActionError, match="1 explanations"):
        env.unwrapped._core.explain(["a", "b"])


GROWING = {"preset": "default", "catalog": {"n_items": 30, "new_items_per_step": 0.5, "max_new_items": 20},
           "choice": {"no_click_utility": 50.0}, "session": {"base": -50.0}}  # no clicks, no leaving: refine


def test_empty_slots_neither_speak_in_the_reply_nor_count_for_explanations():
    """An unreleased item of the avoided genre is an empty slot: the user did not see it, so the reply
    does not complain about it and an explanation cannot lean on it; shown, the same item does both."""
    env = gym.make(ID, world=GROWING)
    checked = 0
    for seed in range(40):
        env.reset(seed=seed)
        core = env.unwrapped._core
        w, cat, p = core.world, core.world.catalog, core.preferences()[0]
        av = p.avoided_genre(cat)
        n = w.n_available
        unrel = [i for i in range(n, w.n_items) if cat.topic[i] == p.avoided]
        good = [i for i in range(n) if cat.topic[i] in p.wanted and av not in cat.genres(i)][:2]
        if not unrel or len(good) < 2:
            continue
        slate = np.array(good + [unrel[0]])
        claim = f"A {av} piece."  # true only of the unreleased item among the three
        expected = core.explanation_scores(slate[None], [claim])[0]
        env.unwrapped.explain(claim)
        _, _, te, tr, info = env.step(slate)
        assert info["empty_slots"] == 1 and info["response"] == "refine"
        assert av not in info["user_text"], info["user_text"]
        assert info["explanation_score"] == expected.score and expected.n_invented == 1 and expected.n_true == 0
        # the same item released and shown: the user names it and the claim holds
        env.reset(seed=seed)
        released = [i for i in range(n) if cat.topic[i] == p.avoided]
        if released:
            env.unwrapped.explain(claim)
            _, _, _, _, info = env.step(np.array(good + released[:1]))
            assert av in info["user_text"] and info["explanation_score"] > 0
        checked += 1
    assert checked >= 3
