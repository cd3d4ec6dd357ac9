"""User and item latent factors from the clicks: a low-rank map of context-dependent attractiveness.

The position-based model is fitted with attractiveness per (context, item) pair (each distinct row of
``log.context`` is a context), which separates position bias from appeal. Its logit table
:math:`L_{qi} = \\operatorname{logit} \\alpha_{qi}` is split into an item effect :math:`c_i` (the
show-weighted mean over contexts) and a rank-``r`` interaction from the truncated singular value
decomposition of the centred table (pairs never shown count as 0, i.e. as the item's mean):

.. math:: L_{qi} \\approx c_i + u_q \\cdot v_i, \\qquad u = U_r S_r^{1/2}, \\; v = V_r S_r^{1/2}.

In a calibrated world, user ``u`` of context ``q`` clicks item ``i`` at slot ``k`` with probability
:math:`\\theta_k \\, \\sigma(c_i + u_q \\cdot v_i)`. With few clicks per pair the table is mostly the
prior, and the factors mostly noise: check held-out scores before trusting them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import check_int
from ..data import BanditLog
from ..errors import ConfigError, InvalidLogError
from .pbm import PositionBasedModel

__all__ = ["LatentFactors", "fit_factors"]


@dataclass(frozen=True)
class LatentFactors:
    """Result of :func:`fit_factors`."""

    examination: np.ndarray  # (K,) of the per-pair PBM
    item_logit: np.ndarray  # (n_items,) c_i
    user_factors: np.ndarray  # (n_contexts, r) u_q
    item_factors: np.ndarray  # (n_items, r) v_i
    contexts: np.ndarray  # (n_contexts, d) the distinct context rows
    row_context: np.ndarray  # (n,) context id of each log row

    def attractiveness(self, context_id: np.ndarray, item: np.ndarray) -> np.ndarray:
        """:math:`\\sigma(c_i + u_q \\cdot v_i)` of (context, item) pairs."""
        z = self.item_logit[item] + np.einsum("nr,nr->n", self.user_factors[context_id], self.item_factors[item])
        return 1.0 / (1.0 + np.exp(-z))


def fit_factors(log: BanditLog, rank: int, prior: tuple[float, float] = (1.0, 1.0)) -> LatentFactors:
    """Fit rank-``rank`` user (context) and item factors to a position log with contexts."""
    r = check_int(rank, name="rank", minimum=1)
    if not isinstance(log, BanditLog) or log.context is None or log.position is None:
        raise InvalidLogError("latent factors need a BanditLog with `context` and `position`")
    contexts, q = np.unique(log.context, axis=0, return_inverse=True)
    q = q.ravel().astype(np.int64)
    n_ctx, n_items = contexts.shape[0], int(log.n_actions)
    if r > min(n_ctx, n_items):
        raise ConfigError(f"`rank` must be at most min(contexts, items) = {min(n_ctx, n_items)}; got {r}")
    pbm = PositionBasedModel(prior=prior, stderr="none").fit(log, query=q)
    qq, ii = np.meshgrid(np.arange(n_ctx), np.arange(n_items), indexing="ij")
    alpha = pbm.attractiveness_of(ii.ravel(), qq.ravel()).reshape(n_ctx, n_items)
    shows = np.zeros((n_ctx, n_items))
    np.add.at(shows, (q, log.action), 1.0)
    a = np.clip(alpha, 1e-9, 1 - 1e-9)
    logit = np.log(a) - np.log1p(-a)
    w = shows.sum(axis=0)
    item_logit = np.where(w > 0, (shows * logit).sum(axis=0) / np.maximum(w, 1), logit.mean(axis=0))
    resid = np.where(shows > 0, logit - item_logit[None, :], 0.0)
    U, S, Vt = np.linalg.svd(resid, full_matrices=False)
    root = np.sqrt(S[:r])
    return LatentFactors(pbm.examination_, item_logit, U[:, :r] * root, Vt[:r].T * root, contexts, q)
