"""The item catalog: topic embeddings, quality, attractiveness, length, release step, metadata."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import WorldConfig

__all__ = ["Catalog", "make_catalog"]

_GENRES = (
    "news", "comedy", "music", "sports", "science", "cooking", "travel", "gaming", "fashion",
    "finance", "history", "nature", "tech", "art", "fitness", "film",
)
_ADJ = ("quick", "deep", "wild", "calm", "bold", "quiet", "bright", "hidden", "classic", "fresh")


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

    def title(self, item: int) -> str:
        """A synthetic title derived from the item's topic."""
        g = _GENRES[int(self.topic[item]) % len(_GENRES)]
        a = _ADJ[item % len(_ADJ)]
        return f"The {a} {g} story #{item}"

    def genres(self, item: int) -> list[str]:
        """Two genres: the topic's and the nearest other topic's."""
        t = int(self.topic[item])
        sims = self.topic_centers @ self.embedding[item]
        sims[t] = -np.inf
        return [_GENRES[t % len(_GENRES)], _GENRES[int(np.argmax(sims)) % len(_GENRES)]]

    def description(self, item: int) -> str:
        """A one-line synthetic description."""
        g1, g2 = self.genres(item)
        return f"A {self.length[item]:.0f}-minute {g1} piece with a touch of {g2}."


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
