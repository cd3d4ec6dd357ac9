"""The conversational channel of the simulator: preferences stated in text, replies, explanation scores.

A user in a conversation has latent *preferences*: two wanted genres, one avoided genre, a mood and a
length. Genres and mood are read off the choice model (the topics and the mood whose items have the
highest exact expected reward for this user, the topic with the lowest is avoided), so what the user
asks for is what the choice model rewards; length is a stated taste drawn per episode (the choice
model has no length term, so it shapes the words and the explanation score, not the clicks).

Texts are templates filled from these preferences and from the catalog's item attributes
(:meth:`simrec.sim.Catalog.attributes`); the template variant is drawn from the episode's seed, so
the same seed gives the same words.

Explanations are scored by checking their *claims* against the catalog and the user
(:func:`score_explanation`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .catalog import GENRES, LENGTH_BOUNDS, LENGTH_CLASSES, MOODS, Catalog

__all__ = [
    "Preferences",
    "preferences_from_rewards",
    "request_text",
    "reply_text",
    "ExplanationScore",
    "score_explanation",
    "RESPONSES",
    "LENGTH_PREFS",
]

#: the user's response to a slate: 0 accept (clicked), 1 refine (a new constraint), 2 reject, 3 leave
RESPONSES = ("accept", "refine", "reject", "leave")
#: stated length preferences (index 3 = no preference)
LENGTH_PREFS = ("short", "medium", "long", "any")


@dataclass(frozen=True)
class Preferences:
    """Latent conversational preferences of one user (topic ids, mood and length indices)."""

    wanted: tuple[int, int]
    avoided: int
    mood: int  # index into MOODS
    length: int  # index into LENGTH_PREFS

    def wanted_genres(self, catalog: Catalog) -> list[str]:
        return [catalog.genre_of_topic(t) for t in self.wanted]

    def avoided_genre(self, catalog: Catalog) -> str:
        return catalog.genre_of_topic(self.avoided)


def preferences_from_rewards(rewards: np.ndarray, catalog: Catalog, length_draw: np.ndarray) -> list[Preferences]:
    """Preferences of each row from its exact expected rewards ``rewards`` (B, n_available).

    ``length_draw`` (B,) are uniform numbers in [0, 1) that pick the stated length preference.
    Genres whose names coincide (more than 16 topics) are merged, so the two wanted genres and the
    avoided one always read differently.
    """
    R = np.asarray(rewards, dtype=np.float64)
    n = R.shape[1]
    T = catalog.topic_centers.shape[0]
    names = [catalog.genre_of_topic(t) for t in range(T)]
    cell = catalog.topic[:n] * 2 + catalog.mood_index()[:n]  # (topic, mood) cell of each item
    onehot = np.zeros((n, 2 * T))
    onehot[np.arange(n), cell] = 1.0
    S = (R @ onehot).reshape(-1, T, 2)  # reward sums per row, topic and mood
    C = onehot.sum(axis=0).reshape(T, 2)  # item counts per topic and mood
    cnt = C.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(cnt > 0, S.sum(axis=2) / np.maximum(cnt, 1), -np.inf)  # (B, T)
    out = []
    for b in range(R.shape[0]):
        picked: list[int] = []
        seen: set[str] = set()
        for t in np.argsort(-mean[b], kind="stable"):
            if cnt[t] > 0 and names[t] not in seen:
                seen.add(names[t])
                picked.append(int(t))
        wanted = (picked[0], picked[1] if len(picked) > 1 else picked[0])
        avoided = picked[-1] if len(picked) > 2 else picked[0]
        w = sorted(set(wanted))
        ms = S[b, w].sum(axis=0)
        mc = C[w].sum(axis=0)
        m = np.where(mc > 0, ms / np.maximum(mc, 1), -np.inf)
        length = min(int(length_draw[b] * len(LENGTH_PREFS)), len(LENGTH_PREFS) - 1)
        out.append(Preferences(wanted, int(avoided), int(np.argmax(m)), length))
    return out


_LEN_PHRASE = ("something short", "medium length", "something long", "")
_REQUESTS = (
    "Can you recommend something {mood}? I'm in the mood for {w0} or {w1}{len}. Please, no {av}.",
    "I want a {w0} piece that feels {mood}, maybe {w1}{len}; nothing about {av}.",
    "Looking for {w0} or {w1}, {mood} rather than {other}{len}. Not {av}.",
)


def request_text(p: Preferences, catalog: Catalog, variant: int) -> str:
    """The user's opening request, stating every preference."""
    w0, w1 = p.wanted_genres(catalog)
    lp = _LEN_PHRASE[p.length]
    return _REQUESTS[variant % len(_REQUESTS)].format(
        mood=MOODS[p.mood], other=MOODS[1 - p.mood], w0=w0, w1=w1, av=p.avoided_genre(catalog),
        len=f", {lp}" if lp else "")


def reply_text(response: int, p: Preferences, catalog: Catalog, slate: np.ndarray, clicked: int,
               variant: int) -> str:
    """The user's reply to a slate (``response`` indexes :data:`RESPONSES`).

    A refinement names the first mismatch it sees, in this order: an avoided genre shown, no wanted
    genre shown, the wrong mood, the wrong length.
    """
    if response == 0:
        title = catalog.title(clicked)
        return ("Yes, I'll take {t}.", "Great, {t} it is.", "That one: {t}.")[variant % 3].format(t=title)
    if response == 3:
        return ("No thanks, that's all for now.", "Never mind, bye.", "I'll stop here.")[variant % 3]
    if response == 2:
        return ("None of those, sorry.", "No, show me something else.", "Not really what I want.")[variant % 3]
    return refinement(p, catalog, slate, variant)


def refinement(p: Preferences, catalog: Catalog, slate: np.ndarray, variant: int) -> str:
    """The constraint the user adds after a slate they did not take (see :func:`reply_text`)."""
    slate = np.asarray(slate, dtype=np.int64)
    topics = catalog.topic[slate]
    w0, w1 = p.wanted_genres(catalog)
    av = p.avoided_genre(catalog)
    if (topics == p.avoided).any():
        return ("I said no {av}.", "Please drop the {av}.", "No {av}, really.")[variant % 3].format(av=av)
    if not np.isin(topics, p.wanted).any():
        return ("Those aren't what I asked for; I want {w0}.", "More {w0} or {w1}, please.",
                "I'd rather have {w1}.")[variant % 3].format(w0=w0, w1=w1)
    moods = catalog._mood_index[slate]  # (same package: no copy per reply)
    if (moods != p.mood).all():
        return ("Something more {m}, please.", "Too {o} for me; more {m}.", "I'd like it {m}.")[variant % 3].format(
            m=MOODS[p.mood], o=MOODS[1 - p.mood])
    if p.length < 3 and (catalog._length_index[slate] != p.length).all():
        return ("Something {l}, please.", "Can it be {l}?", "Only {l} ones.")[variant % 3].format(
            l=LENGTH_CLASSES[p.length])
    return ("Close, but show me other {w0} picks.", "Other {w0} ones?", "More like that, please.")[variant % 3].format(
        w0=w0)


# ---------------------------------------------------------------------- explanation score
_NEG = {"no", "not", "without", "nothing", "avoid", "avoids", "avoiding", "skip", "drop", "never"}
_ITEM_REF = re.compile(r"(?:#|\bitem\s*|\bid\s*)(\d{1,12})\b", re.IGNORECASE)
_MINUTES = re.compile(r"\b(\d{1,4})[- ]?min(?:ute)?s?\b", re.IGNORECASE)
_WORD = re.compile(r"[a-z]+")
_SENT = re.compile(r"(?<=[.!?;\n])\s+")


@dataclass(frozen=True)
class ExplanationScore:
    """How good an explanation is.

    ``score = (faithfulness + personalisation) / 2 - invented_penalty * invented`` where, over the
    ``n_claims`` attribute claims found in the text, ``faithfulness`` is the share that is true of the
    items they refer to, ``personalisation`` the share that is true *and* matches this user's
    preferences, and ``invented`` the share that is false (including references to items that were
    not recommended). No claim at all (a generic explanation) scores 0. Range [-penalty, 1].
    """

    score: float
    faithfulness: float
    personalisation: float
    invented: float
    n_claims: int
    n_true: int
    n_relevant: int
    n_invented: int


def _claims(sentence: str) -> list[tuple[str, str, bool]]:
    """(kind, value, negated) attribute claims in one sentence."""
    words = _WORD.findall(sentence.lower())
    out = []
    genres, lengths = set(GENRES), set(LENGTH_CLASSES)
    for j, w in enumerate(words):
        neg = any(x in _NEG for x in words[max(0, j - 2):j])
        if w in genres:
            out.append(("genre", w, neg))
        elif w in MOODS:
            out.append(("mood", w, neg))
        elif w in lengths:
            out.append(("length", w, neg))
        elif w in ("acclaimed", "award", "critics"):
            out.append(("acclaimed", "acclaimed", neg))
    seen, uniq = set(), []
    for c in out:
        if c not in seen:
            seen.add(c)
            uniq.append(c)
    return uniq


def _holds(kind: str, value: str, item: int, catalog: Catalog) -> bool:
    a = catalog.attributes(item)
    if kind == "genre":
        return value in a["genres"]
    if kind == "mood":
        return a["mood"] == value
    if kind == "length":
        return a["length"] == value
    if kind == "minutes":
        return abs(int(a["minutes"]) - int(value)) <= 1
    return bool(a["acclaimed"])


def _relevant(kind: str, value: str, neg: bool, p: Preferences, catalog: Catalog) -> bool:
    if kind == "genre":
        return (value == p.avoided_genre(catalog)) if neg else value in p.wanted_genres(catalog)
    if kind == "mood":
        return not neg and value == MOODS[p.mood]
    if kind in ("length", "minutes"):
        if p.length == 3 or neg:
            return False
        want = LENGTH_PREFS[p.length]
        if kind == "length":
            return value == want
        return LENGTH_CLASSES[int(np.searchsorted(LENGTH_BOUNDS, float(value), side="right"))] == want
    return False


def score_explanation(text: str, slate: np.ndarray, prefs: Preferences, catalog: Catalog, *,
                      n_available: int | None = None, invented_penalty: float = 1.0,
                      max_chars: int = 4000) -> ExplanationScore:
    """Score ``text`` as the explanation of recommending ``slate`` to a user with ``prefs``.

    A sentence that names items (``#12``, ``item 12``) makes claims about those items; any other
    sentence about the slate (a claim holds if it holds for some recommended item). A negated claim
    ("no horror") holds if no referred item has the attribute. Naming an item that is not in the
    slate counts as an invented claim. Only the first ``max_chars`` characters are read.
    """
    slate = [int(i) for i in np.asarray(slate).ravel()]
    n_avail = catalog.size if n_available is None else int(n_available)
    in_slate = set(slate)
    n_claims = n_true = n_rel = n_inv = 0
    for sentence in _SENT.split(str(text)[:max_chars]):
        refs = [int(m) for m in _ITEM_REF.findall(sentence)]
        bad_refs = [r for r in refs if r not in in_slate]
        n_claims += len(bad_refs)
        n_inv += len(bad_refs)
        targets = [r for r in refs if r in in_slate and r < n_avail] or ([] if refs else slate)
        if not targets:
            continue
        named = bool(refs)
        claims = _claims(sentence) + [("minutes", m, False) for m in _MINUTES.findall(sentence)]
        for kind, value, neg in claims:
            hits = [_holds(kind, value, i, catalog) for i in targets]
            if neg:
                ok = not any(hits)
            else:
                ok = all(hits) if named else any(hits)
            n_claims += 1
            if ok:
                n_true += 1
                n_rel += _relevant(kind, value, neg, prefs, catalog)
            else:
                n_inv += 1
    if n_claims == 0:
        return ExplanationScore(0.0, 0.0, 0.0, 0.0, 0, 0, 0, 0)
    f, pers, inv = n_true / n_claims, n_rel / n_claims, n_inv / n_claims
    return ExplanationScore(0.5 * (f + pers) - invented_penalty * inv, f, pers, inv, n_claims, n_true, n_rel, n_inv)
