"""The user browsing model (UBM) fitted by EM.

UBM (Dupret & Piwowarski 2008): examination depends on the slot ``r`` and on the slot ``r'`` of the
previous click in the impression (``r' = -1`` when there is none):
:math:`P(C_r = 1 \\mid c_{<r}) = \\gamma_{r, r'} \\alpha_{d_r}`. Given the clicks above it, each slot is
a position-based observation whose "position" is the pair ``(r, r')``, so the EM updates are the
PBM's (see :mod:`simrec.calibrate.pbm`) on (pair, item) cells, with the same pseudo-counts, SQUAREM
acceleration and expected-information standard errors (relative to :math:`\\gamma_{0,-1}`).

The full (marginal) click probability of slot ``r`` sums over where the previous click was:
with :math:`q_r(j)` the probability that the last click above ``r`` is at ``j``,
:math:`P(C_r = 1) = \\sum_j q_r(j) \\gamma_{r,j} \\alpha_{d_r}`, computed slot by slot.

References
----------
Dupret, Piwowarski. A user browsing model to predict search engine click data from past
observations. SIGIR 2008.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..data import BanditLog, SlateLog
from ..errors import ConfigError
from ._data import Slates, as_slates
from .base import ClickModel, Keys
from .pbm import _cells, pbm_em, pbm_stderr

__all__ = ["UserBrowsingModel"]


def _prev_click(click: np.ndarray) -> np.ndarray:
    """Slot of the last click above each slot (-1 for none), shape (n, K)."""
    n, k = click.shape
    idx = np.where(click > 0, np.arange(k)[None, :], -1)
    run = np.maximum.accumulate(idx, axis=1)
    prev = np.full((n, k), -1, dtype=np.int64)
    prev[:, 1:] = run[:, :-1]
    return prev


class UserBrowsingModel(ClickModel):
    """User browsing model: examination per (slot, slot of the previous click) x attractiveness.

    Parameters are those of :class:`~simrec.calibrate.PositionBasedModel`.

    Attributes
    ----------
    examination_ : ndarray, shape (K, K + 1)
        :math:`\\gamma_{r, r'}` at ``[r, r' + 1]`` (entries with ``r' >= r`` are unused).
    relative_examination_, relative_examination_se_ : ndarray, shape (K, K + 1)
        :math:`\\gamma_{r,r'} / \\gamma_{0,-1}` and standard errors (nan where there is no data).
    attractiveness_, scaled_attractiveness_, scaled_attractiveness_se_ : ndarray
    """

    name = "UBM"

    def __init__(self, prior: tuple[float, float] = (1.0, 1.0), init: float = 0.5, max_iter: int = 10_000,
                 tol: float = 1e-8, max_prob: float = 1 - 1e-6, accelerate: bool = True) -> None:
        self._set_em(prior, init, max_iter, tol)
        if not 0 < float(max_prob) <= 1:
            raise ConfigError(f"`max_prob` must lie in (0, 1]; got {max_prob!r}")
        self.max_prob = float(max_prob)
        self.accelerate = bool(accelerate)

    def _pairs(self, s: Slates) -> tuple[np.ndarray, np.ndarray]:
        n, k = s.item.shape
        pair = np.arange(k)[None, :] * (k + 1) + _prev_click(s.click) + 1
        q = None if s.query is None else np.repeat(s.query, k)
        return pair.ravel(), self.keys_.index(s.item.ravel(), q)

    def fit(self, log: SlateLog | BanditLog, query: Any = None) -> UserBrowsingModel:
        s = as_slates(log, query, model="UserBrowsingModel")
        n, k = s.item.shape
        self.slate_size_ = k
        self.keys_ = Keys(s.item.ravel(), None if s.query is None else np.repeat(s.query, k), s.n_items)
        pair, key = self._pairs(s)
        n_pair = k * (k + 1)
        cells = _cells(pair, key, s.click.ravel(), n_pair, self.keys_.n)
        gamma, alpha, it = pbm_em(*cells, n_pair, self.keys_.n, self.prior, self.init, self.max_iter, self.tol,
                                  self.max_prob, self.accelerate)
        se_g, se_a = pbm_stderr(*cells, gamma, alpha, self.prior, n_pair, self.keys_.n)
        g0 = gamma[0]
        self.examination_ = gamma.reshape(k, k + 1)
        self.relative_examination_ = self.examination_ / g0
        self.relative_examination_se_ = (se_g / g0).reshape(k, k + 1)
        self.attractiveness_, self.n_iter_ = alpha, it
        self.scaled_attractiveness_, self.scaled_attractiveness_se_ = alpha * g0, se_a * g0
        self.fitted_ = True
        return self

    def attractiveness_of(self, item: np.ndarray, query: np.ndarray | None = None) -> np.ndarray:
        return self._keyed_attractiveness(item, query)

    def _probs(self, log, query):
        s = as_slates(log, query, model="UserBrowsingModel")
        n, k = s.item.shape
        if k > self.slate_size_:
            raise ConfigError(f"the log has {k} slots; the model was fitted on {self.slate_size_}")
        al = self.attractiveness_of(s.item.ravel(), None if s.query is None else np.repeat(s.query, k)).reshape(n, k)
        g = self.examination_
        prev = _prev_click(s.click)
        cond = g[np.arange(k)[None, :], prev + 1] * al
        full = np.empty((n, k))
        last = np.zeros((n, k + 1))  # distribution of the last click above the current slot (index j + 1)
        last[:, 0] = 1.0
        for r in range(k):
            p_click = last[:, : r + 1] * g[r, : r + 1][None, :] * al[:, r : r + 1]  # via each previous click
            full[:, r] = p_click.sum(axis=1)
            last[:, : r + 1] -= p_click
            last[:, r + 1] = full[:, r]
        out_pos, imp = np.tile(np.arange(k), n), np.repeat(np.arange(n), k)
        return cond.ravel(), full.ravel(), out_pos, imp
