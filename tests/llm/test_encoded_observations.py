"""Vector-observation policies on an env whose observations are text use its documented encoder."""

from __future__ import annotations

import copy

import gymnasium as gym
import numpy as np
import pytest

import simrec  # noqa: F401
from simrec.envs.conversation import TextObservations
from simrec.errors import InvalidPolicyInputError
from simrec.policies import make_policy
from simrec.policies.envtools import env_spaces

from .conftest import SMALL_WORLD


def _pair(seed=0):
    plain = gym.make("simrec/Conversation-v0", world=SMALL_WORLD)
    text = TextObservations(gym.make("simrec/Conversation-v0", world=SMALL_WORLD))
    return plain, text


def test_text_observations_are_encoded_for_vector_policies():
    plain, text = _pair()
    assert isinstance(text.observation_space, gym.spaces.Dict)
    assert env_spaces(text) == env_spaces(plain)
    p_text = make_policy("linucb", text, alpha=0.5, rng=0)
    p_plain = make_policy("linucb", plain, alpha=0.5, rng=0)
    o_text, _ = text.reset(seed=4)
    o_plain, _ = plain.reset(seed=4)
    assert isinstance(o_text["request"], str) and o_text in text.observation_space
    enc = text.observation_encoder
    assert np.allclose(enc.transform(o_text)[0], o_plain, atol=1e-6)
    for _ in range(4):
        a1, p1 = p_text.act(o_text, rng=1)
        a2, p2 = p_plain.act(o_plain, rng=1)
        assert np.array_equal(a1, a2) and p1 == p2
        o_text, r1, te, tr, _ = text.step(a1)
        o_plain, r2, *_ = plain.step(a2)
        p_text.update([o_text], a1[None], [r1])
        p_plain.update(o_plain[None], a2[None], [r2])
        if te or tr:
            break
    assert repr(p_text).startswith("EncodedObservations(") and copy.deepcopy(p_text).n_actions == 60


def test_text_observations_pass_check_env():
    import warnings

    from gymnasium.utils.env_checker import check_env

    env = TextObservations(gym.make("simrec/Conversation-v0", world=SMALL_WORLD).unwrapped)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "the env is wrapped": intended here
        check_env(env, skip_render_check=True)


def test_envs_without_box_or_encoder_are_rejected():
    spaces = (gym.spaces.Text(10), gym.spaces.Discrete(3))
    with pytest.raises(InvalidPolicyInputError, match="observation_encoder"):
        env_spaces(spaces)
