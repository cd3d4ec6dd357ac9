"""The explanation score ranks faithful, personalised explanations above invented and generic ones."""

from __future__ import annotations

import numpy as np
import pytest

from simrec.sim import World
from simrec.sim.catalog import GENRES, LENGTH_CLASSES, MOODS
from simrec.sim.conversation import LENGTH_PREFS, Preferences, score_explanation


@pytest.fixture(scope="module")
def cat():
    return World({"preset": "default", "catalog": {"n_items": 200}}, seed=1).catalog


def _faithful(cat, item, prefs):
    a = cat.attributes(item)
    g = a["genres"][0]
    return f"#{item} is a {a['length']} {a['mood']} {g} piece, as you asked; no {prefs.avoided_genre(cat)}."


def _invented(cat, item):
    a = cat.attributes(item)
    g = next(x for x in GENRES if x not in a["genres"])
    m = MOODS[1 - MOODS.index(a["mood"])]
    ln = next(x for x in LENGTH_CLASSES if x != a["length"])
    return f"#{item} is a {ln} {m} {g} piece. #{item + 1000} is acclaimed."


GENERIC = "These are great picks that you will love. Enjoy!"


def test_faithful_beats_invented_and_generic(cat):
    rng = np.random.default_rng(0)
    for _ in range(50):
        item = int(rng.integers(cat.size))
        a = cat.attributes(item)
        # a user who wants this item's genre and mood and length, and avoids a genre the item lacks
        t = int(cat.topic[item])
        slate = np.array([item, (item + 1) % cat.size, (item + 2) % cat.size])
        shown = {g for i in slate for g in cat.attributes(int(i))["genres"]}
        avoided = next(s for s in range(cat.topic_centers.shape[0]) if cat.genre_of_topic(s) not in shown)
        prefs = Preferences((t, t), avoided, MOODS.index(a["mood"]), LENGTH_PREFS.index(a["length"]))
        f = score_explanation(_faithful(cat, item, prefs), slate, prefs, cat)
        inv = score_explanation(_invented(cat, item), slate, prefs, cat)
        gen = score_explanation(GENERIC, slate, prefs, cat)
        assert f.score > gen.score > inv.score
        assert f.faithfulness == 1.0 and f.personalisation == 1.0 and f.n_invented == 0
        assert inv.n_invented == inv.n_claims == 4 and inv.score == -1.0
        assert gen.n_claims == 0 and gen.score == 0.0


def test_personalised_beats_merely_faithful(cat):
    item = 3
    a = cat.attributes(item)
    t = int(cat.topic[item])
    other_mood = 1 - MOODS.index(a["mood"])
    prefs_match = Preferences((t, t), (t + 1) % 10, MOODS.index(a["mood"]), 3)
    prefs_other = Preferences(((t + 1) % 10, (t + 2) % 10), (t + 3) % 10, other_mood, 3)
    text = f"#{item} is {a['mood']} {a['genres'][0]}."
    s1 = score_explanation(text, [item, 4, 5], prefs_match, cat)
    s2 = score_explanation(text, [item, 4, 5], prefs_other, cat)
    assert s1.faithfulness == s2.faithfulness == 1.0
    assert s1.score > s2.score


def test_naming_an_item_not_recommended_is_invented(cat):
    prefs = Preferences((0, 1), 2, 0, 3)
    s = score_explanation("#150 is perfect for you.", [1, 2, 3], prefs, cat)
    assert s.n_invented == 1 and s.score < 0


def test_negated_claims(cat):
    slate = [0, 1, 2]
    present = cat.attributes(0)["genres"][0]
    absent = next(g for g in GENRES if all(g not in cat.attributes(i)["genres"] for i in slate))
    prefs = Preferences((0, 1), 5, 0, 3)
    assert score_explanation(f"No {absent} here.", slate, prefs, cat).n_invented == 0
    assert score_explanation(f"No {present} here.", slate, prefs, cat).n_invented == 1


def test_reads_a_bounded_prefix(cat):
    prefs = Preferences((0, 1), 2, 0, 3)
    long = "x" * 5000 + " #999999 is news."
    assert score_explanation(long, [0, 1, 2], prefs, cat).n_claims == 0
