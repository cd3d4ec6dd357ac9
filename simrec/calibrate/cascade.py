"""Cascade-family click models on whole slates: the cascade model and the dependent click model.

Cascade model (CM; Craswell et al. 2008): the user scans the slate top-down, clicks the first
attractive item and stops. Items down to the first click (all items when there is none) were
examined, later ones were not, so the maximum-a-posteriori attractiveness is a count:

.. math:: \\alpha_u = \\frac{\\#\\text{clicks on } u + a}{\\#\\text{times } u \\text{ was examined} + a + b}.

Clicks below the first one contradict the model; the fit ignores them and counts them in
``n_ignored_clicks_``.

Dependent click model (DCM; Guo, Liu & Wang 2009): the user examines top-down; after a non-click
they always go on, after a click at slot ``r`` they go on with probability :math:`\\lambda_r`.
With ``l`` the last clicked slot and :math:`P = \\prod_{j>l}(1 - \\alpha_{d_j})`, the posterior
probability that the user went on after the last click is

.. math:: \\gamma = \\frac{\\lambda_l P}{1 - \\lambda_l + \\lambda_l P},

and EM updates (pseudo-counts ``(a, b)``): every shown item counts once in its denominator; its
numerator gets the click for slots up to ``l`` and :math:`(1 - \\gamma) \\alpha_u` below ``l``
(not examined: attractive with the prior probability; examined: not attractive); a session without
clicks examined everything. :math:`\\lambda_r \\leftarrow (\\#\\{\\text{click at } r < l\\} +
\\sum_{l = r} \\gamma + a) / (\\#\\{\\text{click at } r\\} + a + b)`. The cascade model is DCM with
:math:`\\lambda \\equiv 0`. PyClick fits DCM by counting, assuming the last click ends the
session; the EM here does not assume that.

Standard errors: binomial for CM (exact for its closed form), a bootstrap over impressions for DCM.

References
----------
Craswell, Zoeter, Taylor, Ramsey. An experimental comparison of click position-bias models. WSDM 2008.
Guo, Liu, Wang. Efficient multiple-click models in web search. WSDM 2009.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import as_rng, check_int
from ..data import BanditLog, SlateLog
from ._data import Slates, as_slates
from .base import ClickModel, Keys, check_prior

__all__ = ["CascadeModel", "DependentClickModel"]


def _last_click(click: np.ndarray) -> np.ndarray:
    """Last clicked slot per impression, -1 for none."""
    k = click.shape[1]
    rev = np.argmax(click[:, ::-1] > 0, axis=1)
    return np.where(click.any(axis=1), k - 1 - rev, -1)


def _first_click(click: np.ndarray) -> np.ndarray:
    """First clicked slot per impression, K for none."""
    return np.where(click.any(axis=1), np.argmax(click > 0, axis=1), click.shape[1])


class _SlateModel(ClickModel):
    def _setup(self, log, query) -> tuple[Slates, np.ndarray]:
        s = as_slates(log, query, model=type(self).__name__)
        self.keys_ = Keys(s.item.ravel(), None if s.query is None else np.repeat(s.query, s.item.shape[1]),
                          s.n_items)
        self.slate_size_ = s.item.shape[1]
        return s, self._key(s)

    def _key(self, s: Slates) -> np.ndarray:
        k = s.item.shape[1]
        q = None if s.query is None else np.repeat(s.query, k)
        return self.keys_.index(s.item.ravel(), q).reshape(s.item.shape)

    def _alpha(self, key: np.ndarray) -> np.ndarray:
        return np.where(key >= 0, self.attractiveness_[np.maximum(key, 0)], self._fallback())

    def attractiveness_of(self, item: np.ndarray, query: np.ndarray | None = None) -> np.ndarray:
        """Fitted attractiveness of items (of (query, item) pairs); unseen ones get the prior mean."""
        self._require_fit()
        return self._alpha(self.keys_.index(np.asarray(item, dtype=np.int64), query))

    def _out(self, s: Slates, cond: np.ndarray, full: np.ndarray):
        n, k = s.item.shape
        return cond.ravel(), full.ravel(), np.tile(np.arange(k), n), np.repeat(np.arange(n), k)


class CascadeModel(_SlateModel):
    """Cascade click model (see the module docstring).

    Parameters
    ----------
    prior : (float, float)
        Pseudo-counts (clicks, non-clicks) of every attractiveness; ``(0, 0)`` is maximum likelihood.

    Attributes
    ----------
    attractiveness_, attractiveness_se_ : ndarray
    n_ignored_clicks_ : int
    """

    name = "cascade"

    def __init__(self, prior: tuple[float, float] = (1.0, 1.0)) -> None:
        self.prior = check_prior(prior)

    def fit(self, log: SlateLog | BanditLog, query: Any = None) -> CascadeModel:
        s, key = self._setup(log, query)
        n, k = s.item.shape
        first = _first_click(s.click)
        examined = np.arange(k)[None, :] <= first[:, None]
        a, b = self.prior
        shows = np.bincount(key[examined], minlength=self.keys_.n).astype(float)
        clicks = np.bincount(key[examined], s.click[examined], minlength=self.keys_.n)
        den = shows + a + b
        with np.errstate(invalid="ignore", divide="ignore"):
            alpha = np.where(den > 0, (clicks + a) / den, self._fallback())
            self.attractiveness_se_ = np.where(den > 0, np.sqrt(alpha * (1 - alpha) / den), np.inf)
        self.attractiveness_ = alpha
        self.shows_, self.clicks_ = shows, clicks
        self.n_ignored_clicks_ = int(s.click.sum() - s.click[examined].sum())
        self.fitted_ = True
        return self

    def _probs(self, log, query):
        s = as_slates(log, query, model="CascadeModel")
        al = self._alpha(self._key(s))
        reach = np.cumprod(np.concatenate([np.ones((len(s), 1)), 1 - al[:, :-1]], axis=1), axis=1)
        full = al * reach
        before = np.cumsum(s.click, axis=1) - s.click  # clicks above each slot
        cond = np.where(before > 0, 0.0, al)
        return self._out(s, cond, full)


class DependentClickModel(_SlateModel):
    """Dependent click model fitted by EM (see the module docstring).

    Parameters
    ----------
    prior : (float, float)
        Pseudo-counts (clicks, non-clicks) of every parameter.
    init : float
        Starting value of every parameter.
    max_iter, tol : int, float
        Most EM iterations; stop when no parameter moves more than ``tol``.
    n_boot : int
        Bootstrap replicates (resampled impressions) for the standard errors; 0 skips them.
    random_state : int, Generator or None
        Seeds the bootstrap.

    Attributes
    ----------
    attractiveness_, continuation_ : ndarray
        :math:`\\alpha` per item and :math:`\\lambda` per slot.
    attractiveness_se_, continuation_se_ : ndarray
        Bootstrap standard errors (when ``n_boot > 0``).
    """

    name = "DCM"

    def __init__(self, prior: tuple[float, float] = (1.0, 1.0), init: float = 0.5, max_iter: int = 200,
                 tol: float = 1e-8, n_boot: int = 0, random_state: int | np.random.Generator | None = None) -> None:
        self._set_em(prior, init, max_iter, tol)
        self.n_boot = check_int(n_boot, name="n_boot", minimum=0)
        self.random_state = random_state

    def _em(self, key: np.ndarray, click: np.ndarray, alpha: np.ndarray, lam: np.ndarray):
        n_keys, k = alpha.size, lam.size
        a, b = self.prior
        last = _last_click(click)
        has = last >= 0
        slots = np.arange(k)[None, :]
        upto = slots <= np.where(has, last, k - 1)[:, None]
        den_a = np.bincount(key.ravel(), minlength=n_keys) + a + b
        clicked = click > 0
        den_l = clicked.sum(axis=0) + a + b
        n_cont_sure = (clicked & (slots < last[:, None])).sum(axis=0).astype(float)
        base_num = np.bincount(key[upto], click[upto], minlength=n_keys)
        # the latent part: slots below the last click of sessions with a click (flat, once)
        sess = np.flatnonzero(has)
        after = has[:, None] & (slots > last[:, None])
        a_sess, a_slot = np.nonzero(after)
        a_key = key[a_sess, a_slot]
        pos_in = np.searchsorted(sess, a_sess)  # index of each latent cell's session among `sess`
        lam_idx = last[sess]
        it = 0
        for it in range(1, self.max_iter + 1):  # noqa: B007
            al = alpha[a_key]
            with np.errstate(divide="ignore"):
                log_p = np.bincount(pos_in, np.log1p(-al), minlength=sess.size)
            P = np.exp(log_p)  # prod over slots below the last click of (1 - alpha)
            lam_l = lam[lam_idx]
            gamma = lam_l * P / (1.0 - lam_l + lam_l * P)
            num_a = base_num + np.bincount(a_key, (1.0 - gamma[pos_in]) * al, minlength=n_keys)
            num_l = n_cont_sure + np.bincount(lam_idx, gamma, minlength=k)
            new_a = np.where(den_a > 0, (num_a + a) / np.where(den_a > 0, den_a, 1), alpha)
            new_l = np.where(den_l > 0, (num_l + a) / np.where(den_l > 0, den_l, 1), lam)
            change = max(np.abs(new_a - alpha).max(), np.abs(new_l - lam).max())
            alpha, lam = new_a, new_l
            if self.tol > 0 and change < self.tol:
                break
        return alpha, lam, it

    def fit(self, log: SlateLog | BanditLog, query: Any = None) -> DependentClickModel:
        s, key = self._setup(log, query)
        k = s.item.shape[1]
        alpha0, lam0 = np.full(self.keys_.n, self.init), np.full(k, self.init)
        self.attractiveness_, self.continuation_, self.n_iter_ = self._em(key, s.click, alpha0, lam0)
        if self.n_boot:
            rng = as_rng(self.random_state)
            n = key.shape[0]
            boots_a, boots_l = [], []
            for _ in range(self.n_boot):
                idx = rng.integers(0, n, n)
                a_b, l_b, _ = self._em(key[idx], s.click[idx], self.attractiveness_, self.continuation_)
                boots_a.append(a_b)
                boots_l.append(l_b)
            self.attractiveness_se_ = np.std(boots_a, axis=0, ddof=1)
            self.continuation_se_ = np.std(boots_l, axis=0, ddof=1)
        self.fitted_ = True
        return self

    def _probs(self, log, query):
        s = as_slates(log, query, model="DependentClickModel")
        al = self._alpha(self._key(s))
        lam = self.continuation_
        n, k = s.item.shape
        full = np.empty((n, k))
        cond = np.empty((n, k))
        exam_f = np.ones(n)
        exam_c = np.ones(n)
        for r in range(k):
            lr = lam[min(r, lam.size - 1)]
            full[:, r] = al[:, r] * exam_f
            exam_f = exam_f * (lr * al[:, r] + 1 - al[:, r])
            p = al[:, r] * exam_c
            cond[:, r] = p
            clicked = s.click[:, r] > 0
            with np.errstate(invalid="ignore", divide="ignore"):
                exam_c = np.where(clicked, lr, exam_c * (1 - al[:, r]) / np.maximum(1 - p, 1e-300))
        return self._out(s, cond, full)
