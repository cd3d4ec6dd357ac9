"""The item catalog: topic embeddings, quality, attractiveness, length, release step, metadata."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .config import WorldConfig

__all__ = ["Catalog", "make_catalog", "GENRES", "MOODS", "LENGTH_CLASSES"]

_GENRES = (
    "news", "comedy", "music", "sports", "science", "cooking", "travel", "gaming", "fashion",
    "finance", "history", "nature", "tech", "art", "fitness", "film",
)
GENRES = _GENRES
#: moods of items (and of what users ask for); index 0 and 1 of :meth:`Catalog.mood_index`
MOODS = ("upbeat", "thoughtful")
#: length classes; an item is short below 6 minutes, long above 15
LENGTH_CLASSES = ("short", "medium", "long")
LENGTH_BOUNDS = (6.0, 15.0)
_ADJ = (("quick", "wild", "bold", "bright", "fresh"), ("deep", "calm", "quiet", "hidden", "classic"))


@dataclass(frozen=True, eq=False)
class Catalog:
    """Item arrays, one row per item id (ids are in release order).

    ``embedding`` (phi_i, unit norm) and ``topic`` are content features a recommender may see;
    ``quality`` and ``attractiveness`` are latent (only the simulator uses them).
    """

    embedding: np.ndarray  # (n, d) float32, unit rows
    topic: np.ndarray  # (n,) int64
    quality: np.ndarray  # (n,) float64
    attractiveness: np.ndarray  # (n,) float64
    length: np.ndarray  # (n,) float64, minutes
    release_step: np.ndarray  # (n,) int64, non-decreasing
    topic_centers: np.ndarray  # (n_topics, d)

    @property
    def size(self) -> int:
        """Capacity: items at step 0 plus those released later."""
        return int(self.topic.shape[0])

    def n_available(self, step: int) -> int:
        """Number of items released by world step ``step`` (ids ``0 .. n-1``)."""
        return int(np.searchsorted(self.release_step, step, side="right"))

    # ------------------------------------------------------------------ text metadata
    # Every word of an item's text is derived from its arrays, so a claim about an item ("a short,
    # upbeat comedy") can be checked against the item: see :meth:`attributes`.

    def genre_of_topic(self, topic: int) -> str:
        """The genre name of a topic (names repeat when there are more than 16 topics)."""
        return GENRES[int(topic) % len(GENRES)]

    def secondary_topic(self, item: int) -> int:
        """The topic, other than its own, whose centre is nearest to the item's embedding."""
        t = int(self.topic[item])
        sims = self.topic_centers @ self.embedding[item].astype(np.float64)
        if sims.shape[0] == 1:
            return t
        sims[t] = -np.inf
        return int(np.argmax(sims))

    def mood(self, item: int) -> str:
        """``"upbeat"`` or ``"thoughtful"``: the sign of the item's offset from its topic centre along the
        first embedding axis, ``r_0`` with ``r = phi_i - (phi_i . c_t) c_t`` (positive: upbeat). Among
        items of one topic a user prefers the mood whose sign matches their interest's offset from that
        centre, so the mood a user asks for is the one the choice model rewards."""
        return MOODS[int(self._mood_index[item])]

    @cached_property
    def _mood_index(self) -> np.ndarray:
        phi = self.embedding.astype(np.float64)
        c = self.topic_centers[self.topic]
        r0 = phi[:, 0] - np.einsum("ij,ij->i", phi, c) * c[:, 0]
        return (r0 < 0).astype(np.int64)

    def mood_index(self) -> np.ndarray:
        """(n,) int64: 0 = upbeat, 1 = thoughtful, for every item (see :meth:`mood`)."""
        return self._mood_index.copy()

    @cached_property
    def _length_index(self) -> np.ndarray:
        return np.searchsorted(np.asarray(LENGTH_BOUNDS), self.length, side="right").astype(np.int64)

    def length_index(self) -> np.ndarray:
        """(n,) int64: 0 = short (< 6 min), 1 = medium (6 to 15 min), 2 = long (> 15 min)."""
        return self._length_index.copy()

    @cached_property
    def _acclaimed(self) -> np.ndarray:
        q = self.quality
        return q > q.mean() + q.std()

    def acclaimed(self) -> np.ndarray:
        """(n,) bool: items whose quality is in the top tier (more than one standard deviation of
        the catalog's quality above its mean); the text calls them "acclaimed", as critics would."""
        return self._acclaimed.copy()

    def attributes(self, item: int) -> dict[str, object]:
        """The checkable attributes an item's text states: ``genres`` (primary, secondary), ``mood``,
        ``length`` class, ``minutes`` and ``acclaimed``."""
        return {
            "genres": self.genres(item),
            "mood": self.mood(item),
            "length": LENGTH_CLASSES[int(self._length_index[item])],
            "minutes": int(round(float(self.length[item]))),
            "acclaimed": bool(self._acclaimed[item]),
        }

    def title(self, item: int) -> str:
        """A synthetic title from the item's mood and genre, e.g. ``"The bright comedy story #12"``."""
        adj = _ADJ[int(self._mood_index[item])]
        g = self.genre_of_topic(int(self.topic[item]))
        return f"The {adj[item % len(adj)]} {g} story #{item}"

    def genres(self, item: int) -> list[str]:
        """Two genres: the topic's and the nearest other topic's."""
        return [self.genre_of_topic(int(self.topic[item])), self.genre_of_topic(self.secondary_topic(item))]

    def description(self, item: int) -> str:
        """A one-line description stating the item's length, mood, genres and acclaim."""
        a = self.attributes(item)
        g1, g2 = a["genres"]
        tail = ", acclaimed by critics" if a["acclaimed"] else ""
        art = "An" if str(a["minutes"]).startswith("8") or a["minutes"] in (11, 18) else "A"
        return f"{art} {a['minutes']}-minute {a['length']} {a['mood']} {g1} piece with a touch of {g2}{tail}."

    def text(self, item: int) -> str:
        """Title and description: the item's whole catalog text."""
        return f"{self.title(item)}. {self.description(item)}"


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def make_catalog(config: WorldConfig, rng: np.random.Generator) -> Catalog:
    """Draw a catalog for ``config`` from ``rng`` (a stream dedicated to the catalog)."""
    cc = config.catalog
    n0, extra, d = cc.n_items, cc.max_new_items, config.dim
    n = n0 + extra
    centers = _unit(rng.standard_normal((cc.n_topics, d)))
    topic = rng.integers(0, cc.n_topics, size=n).astype(np.int64)
    emb = _unit(centers[topic] + cc.topic_spread * rng.standard_normal((n, d)) / np.sqrt(d))
    z1, z2 = rng.standard_normal(n), rng.standard_normal(n)
    quality = cc.quality_sd * z1
    rho = cc.clickbait_corr
    attract = cc.attractiveness_sd * (rho * z1 + np.sqrt(max(0.0, 1 - rho * rho)) * z2)
    length = np.exp(rng.normal(np.log(8.0), 0.6, size=n))
    release = np.zeros(n, dtype=np.int64)
    if extra:
        gaps = rng.exponential(1.0 / cc.new_items_per_step, size=extra)
        release[n0:] = np.maximum(1, np.ceil(np.cumsum(gaps))).astype(np.int64)
    return Catalog(
        embedding=np.ascontiguousarray(emb, dtype=np.float32),  # half the cache traffic of the hot gather
        topic=topic,
        quality=np.ascontiguousarray(quality),
        attractiveness=np.ascontiguousarray(attract),
        length=length,
        release_step=release,
        topic_centers=centers,
    )
