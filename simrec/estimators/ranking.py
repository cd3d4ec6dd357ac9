"""Offline ranking metrics of recommendation lists against held-out relevance: DCG, nDCG, recall@k, precision@k.

Rankings are integer item ids per user, best first (``(n_users, L)``); relevance is either a dense
``(n_users, n_items)`` array of gains (0/1 clicks or graded) or per-user sets of relevant items.
With gains :math:`g` and positions :math:`i = 1..k`:

.. math::

    \\mathrm{DCG@k} = \\sum_{i=1}^{k} \\frac{g_{\\pi(i)}}{\\log_2(i + 1)},\\qquad
    \\mathrm{nDCG@k} = \\frac{\\mathrm{DCG@k}}{\\mathrm{IDCG@k}},\\qquad
    \\mathrm{recall@k} = \\frac{|\\text{top}_k \\cap R|}{|R|}

(IDCG@k: the DCG of the ideal ordering; users without relevant items are skipped by nDCG and
recall, reported as NaN per user). Note (Jeunen, Potapov & Ustimenko 2024): the per-user
normalisation of nDCG can reorder policies relative to DCG, an unbiased estimator of online reward
under position-based exposure; :func:`dcg_at_k` is offered for that reason.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import check_int
from ..errors import InvalidLogError

__all__ = ["dcg_at_k", "ndcg_at_k", "recall_at_k", "precision_at_k", "as_gains"]


def as_gains(relevance: Any, n_users: int, n_items: int | None = None) -> np.ndarray:
    """Dense ``(n_users, n_items)`` gains from a dense array or a list of per-user relevant-item collections."""
    if isinstance(relevance, (list, tuple)):
        if len(relevance) != n_users:
            raise InvalidLogError(f"`relevance` must have one entry per user ({n_users}); got {len(relevance)}")
        m = n_items if n_items is not None else 1 + max((max(r) for r in relevance if len(r)), default=0)
        g = np.zeros((n_users, m))
        for u, items in enumerate(relevance):
            if len(items):
                g[u, np.asarray(list(items), dtype=np.int64)] = 1.0
        return g
    g = np.asarray(relevance, dtype=np.float64)
    if g.ndim != 2 or g.shape[0] != n_users:
        raise InvalidLogError(f"`relevance` must have shape ({n_users}, n_items); got {g.shape}")
    if not np.isfinite(g).all() or (g < 0).any():
        raise InvalidLogError("`relevance` gains must be finite and non-negative")
    return g


def _check(rankings: Any, relevance: Any, k: int) -> tuple[np.ndarray, np.ndarray, int]:
    r = np.asarray(rankings)
    if r.ndim != 2 or r.dtype.kind not in "iu":
        raise InvalidLogError(f"`rankings` must be a 2-D integer array (users x ranked items); got {r.dtype} {r.shape}")
    g = as_gains(relevance, r.shape[0])
    if r.size and (r.min() < 0 or r.max() >= g.shape[1]):
        raise InvalidLogError(f"`rankings` must hold item ids in [0, {g.shape[1]}); got range [{r.min()}, {r.max()}]")
    kk = min(check_int(k, name="k", minimum=1), r.shape[1])
    return r[:, :kk], g, kk


def dcg_at_k(rankings: Any, relevance: Any, k: int = 10) -> np.ndarray:
    """Per-user DCG@k (no normalisation)."""
    r, g, kk = _check(rankings, relevance, k)
    disc = 1.0 / np.log2(np.arange(2, kk + 2))
    return (np.take_along_axis(g, r, 1) * disc).sum(1)


def ndcg_at_k(rankings: Any, relevance: Any, k: int = 10) -> np.ndarray:
    """Per-user nDCG@k (NaN for users without relevant items)."""
    r, g, kk = _check(rankings, relevance, k)
    disc = 1.0 / np.log2(np.arange(2, kk + 2))
    dcg = (np.take_along_axis(g, r, 1) * disc).sum(1)
    ideal = -np.sort(-g, axis=1)[:, :kk]
    idcg = (ideal * disc[: ideal.shape[1]]).sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(idcg > 0, dcg / idcg, np.nan)


def recall_at_k(rankings: Any, relevance: Any, k: int = 10) -> np.ndarray:
    """Per-user recall@k of the relevant items (gain > 0); NaN for users without any."""
    r, g, _ = _check(rankings, relevance, k)
    rel = g > 0
    hit = np.take_along_axis(rel, r, 1).sum(1)
    tot = rel.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(tot > 0, hit / tot, np.nan)


def precision_at_k(rankings: Any, relevance: Any, k: int = 10) -> np.ndarray:
    """Per-user precision@k: the share of the top k that is relevant."""
    r, g, kk = _check(rankings, relevance, k)
    return np.take_along_axis(g > 0, r, 1).sum(1) / kk
