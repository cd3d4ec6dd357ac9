"""The click-model base class: priors as pseudo-counts, attractiveness keys, scores on held-out logs.

Every model predicts, for each shown (item, slot), the probability of the observed click given the
clicks above it in the same impression (the *conditional* probabilities that make the likelihood)
and the *full* (marginal) click probability. From them, as in Chuklin, Markov & de Rijke (2015) and
Grotov et al. (2015):

.. math::

    LL = \\frac{1}{|S|} \\sum_{s \\in S} \\sum_k \\log P(C_{s,k} = c_{s,k} \\mid c_{s,<k}), \\qquad
    \\text{perplexity}_k = 2^{-\\frac{1}{|S|} \\sum_s \\log_2 P(C_{s,k} = c_{s,k})},

and the perplexity of a model is the mean of the per-slot perplexities (1 is perfect, 2 is a coin).
For logs of lone (item, slot) rows each row is its own impression.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import check_int
from ..data import BanditLog, SlateLog
from ..errors import ConfigError
from ._data import Rows

__all__ = ["ClickModel", "ClickScores", "Keys"]

PROB_EPS = 1e-10


@dataclass(frozen=True)
class ClickScores:
    """Held-out scores of a click model on a log (see the module docstring for the formulas)."""

    model: str
    log_likelihood: float  # mean per impression, natural log
    perplexity: float  # mean over slots
    perplexity_by_position: np.ndarray  # (K,)
    n: int  # impressions
    row_loglik: np.ndarray  # (n,) per-impression conditional log-likelihood (for paired comparisons)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"model": self.model, "log_likelihood": self.log_likelihood,
                               "perplexity": self.perplexity, "n": self.n}
        for k, v in enumerate(self.perplexity_by_position):
            out[f"perplexity_{k}"] = float(v)
        return out


class Keys:
    """Attractiveness index: per item, or per (query, item) pair when queries are given."""

    def __init__(self, item: np.ndarray, query: np.ndarray | None, n_items: int) -> None:
        self.n_items = int(max(n_items, int(item.max()) + 1 if item.size else 0))
        self.by_query = query is not None
        if query is None:
            self.pairs = None
            self.n = self.n_items
        else:
            combined = query * self.n_items + item
            self.pairs = np.unique(combined)
            self.n = int(self.pairs.size)

    def index(self, item: np.ndarray, query: np.ndarray | None) -> np.ndarray:
        """Key of each (query, item); -1 where the model has no parameter (unseen)."""
        if self.by_query != (query is not None):
            raise ConfigError("pass `query` to a model fitted with queries, and only then")
        if query is None:
            return np.where(item < self.n, item, -1)
        combined = query * self.n_items + item
        pos = np.searchsorted(self.pairs, combined)
        pos = np.minimum(pos, self.pairs.size - 1)
        return np.where((self.pairs[pos] == combined) & (item < self.n_items), pos, -1)


def check_prior(prior: Any) -> tuple[float, float]:
    try:
        a, b = (float(v) for v in prior)
    except (TypeError, ValueError):
        raise ConfigError(f"`prior` must be a pair of pseudo-counts (clicks, non-clicks); got {prior!r}") from None
    if not (a >= 0 and b >= 0 and np.isfinite(a) and np.isfinite(b)):
        raise ConfigError(f"`prior` pseudo-counts must be finite and >= 0; got {prior!r}")
    return a, b


class ClickModel:
    """Base class: subclasses implement ``fit`` and ``_probs(log, query) -> (cond, full, pos, imp)``
    where ``cond``/``full`` are per shown (item, slot), ``pos`` its slot and ``imp`` its impression."""

    name = "click model"

    def get_params(self) -> dict[str, Any]:
        import inspect

        sig = inspect.signature(type(self).__init__)
        return {p: getattr(self, p) for p in sig.parameters if p != "self"}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def _require_fit(self) -> None:
        if not getattr(self, "fitted_", False):
            raise ConfigError(f"{type(self).__name__} is not fitted; call fit(log) first")

    def _fallback(self) -> float:
        """Attractiveness of a key never seen in training: the prior mean (or the start value)."""
        a, b = self.prior  # type: ignore[attr-defined]
        return a / (a + b) if a + b > 0 else float(getattr(self, "init", 0.5))

    def _set_em(self, prior: Any, init: float, max_iter: int, tol: float) -> None:
        """Validate and store the settings every EM-fitted model shares."""
        self.prior = check_prior(prior)
        if not 0 < float(init) < 1:
            raise ConfigError(f"`init` must lie in (0, 1); got {init!r}")
        self.init = float(init)
        self.max_iter = check_int(max_iter, name="max_iter", minimum=1)
        self.tol = float(tol)

    def _keyed_attractiveness(self, item: np.ndarray, query: np.ndarray | None) -> np.ndarray:
        """``attractiveness_`` of items (of (query, item) pairs) by their keys; unseen keys get
        :meth:`_fallback`."""
        self._require_fit()
        key = self.keys_.index(np.asarray(item, dtype=np.int64), query)  # type: ignore[attr-defined]
        return np.where(key >= 0, self.attractiveness_[np.maximum(key, 0)], self._fallback())  # type: ignore

    def _probs(self, log: BanditLog | SlateLog, query: Any) -> tuple[np.ndarray, ...]:
        raise NotImplementedError

    def predict_proba(self, log: BanditLog | SlateLog, query: Any = None) -> np.ndarray:
        """Full (marginal) click probability of every shown item: (n,) for rows, (n, K) for slates."""
        self._require_fit()
        _, full, _, _ = self._probs(log, query)
        return full.reshape(np.shape(log.reward))

    def score(self, log: BanditLog | SlateLog, query: Any = None) -> ClickScores:
        """Log-likelihood and perplexity per slot on ``log`` (usually held out)."""
        self._require_fit()
        cond, full, pos, imp = self._probs(log, query)
        c = np.asarray(log.reward, dtype=np.float64).ravel()
        cond = np.clip(cond, PROB_EPS, 1 - PROB_EPS)
        full = np.clip(full, PROB_EPS, 1 - PROB_EPS)
        ll = np.where(c > 0, np.log(cond), np.log1p(-cond))
        l2 = np.where(c > 0, np.log2(full), np.log2(-full + 1))
        n_imp = int(imp.max()) + 1
        row_ll = np.bincount(imp, ll, minlength=n_imp)
        k = int(pos.max()) + 1
        cnt = np.bincount(pos, minlength=k)
        with np.errstate(invalid="ignore", divide="ignore"):
            ppl = np.exp2(-np.bincount(pos, l2, minlength=k) / cnt)
        return ClickScores(self.name, float(row_ll.mean()), float(np.nanmean(ppl)), ppl, n_imp, row_ll)

    def log_likelihood(self, log: BanditLog | SlateLog, query: Any = None) -> float:
        """Mean conditional log-likelihood per impression (natural log)."""
        return self.score(log, query).log_likelihood

    def perplexity(self, log: BanditLog | SlateLog, query: Any = None) -> float:
        """Mean over slots of the per-slot perplexity (see :meth:`score` for each slot)."""
        return self.score(log, query).perplexity


def rows_index(rows: Rows) -> tuple[np.ndarray, np.ndarray]:
    """Slot and impression of each row of a position-row log (each row its own impression)."""
    return rows.pos, np.arange(len(rows))
