"""The position-based click model (PBM) fitted by EM, and click-through-rate baselines.

PBM (Craswell et al. 2008; Chuklin, Markov & de Rijke 2015, ch. 3): an item in slot ``k`` is
examined with probability :math:`\\theta_k` and clicked, if examined, with its attractiveness
:math:`\\alpha_i`, independently: :math:`P(C = 1) = \\theta_k \\alpha_i`.

EM (as in PyClick). For a row without a click,

.. math::

    E[\\text{examined}] = \\frac{\\theta_k (1 - \\alpha_i)}{1 - \\theta_k \\alpha_i}, \\qquad
    E[\\text{attractive}] = \\frac{\\alpha_i (1 - \\theta_k)}{1 - \\theta_k \\alpha_i};

a click sets both to 1. The M-step with pseudo-counts ``prior = (a, b)`` (``a`` clicks and ``b``
non-clicks seen before the data; ``(0, 0)`` is maximum likelihood, PyClick uses ``(1, 1)``):

.. math::

    \\theta_k \\leftarrow \\frac{\\sum_{\\text{rows at } k} E[\\text{examined}] + a}{N_k + a + b}, \\qquad
    \\alpha_i \\leftarrow \\frac{\\sum_{\\text{rows of } i} E[\\text{attractive}] + a}{N_i + a + b},

both from the previous iteration's values, capped at ``max_prob``. The E-step depends on a row only
through (slot, item, click), so the fit first counts shows and clicks per (slot, item) cell and
iterates on the cells: one pass over the log, then O(cells) per iteration.

Only :math:`\\theta_k / \\theta_0` and :math:`\\alpha_i \\theta_0` are identified (scaling all
examination by ``c`` and all attractiveness by ``1/c`` leaves the likelihood unchanged); they are
reported as ``relative_examination_`` and ``scaled_attractiveness_`` (the click probability in the
top slot) with standard errors from the information at the fit, holding :math:`\\theta_0` fixed
(that removes the flat direction): the expected (Fisher) information by default, the observed
information on request (at an interior maximum both are valid; on the boundary, e.g. an item
without clicks fitted without pseudo-counts, only the expected one is). Per cell with ``n`` shows,
``c`` clicks and :math:`p = \\theta\\alpha`, the expected information is
:math:`n \\nabla p \\nabla p^\\top / (p(1-p))`. The information includes the prior's
curvature; its blocks are diagonal in :math:`\\theta` and :math:`\\alpha` with cross terms per
cell, so the inverse takes a Schur complement on the small :math:`\\theta` block.

References
----------
Craswell, Zoeter, Taylor, Ramsey. An experimental comparison of click position-bias models. WSDM 2008.
Varadhan, Roland. Simple and globally convergent methods for accelerating the convergence of any EM
algorithm. Scandinavian Journal of Statistics 35, 2008.
Chuklin, Markov, de Rijke. Click Models for Web Search. Morgan & Claypool, 2015.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from scipy.special import xlog1py, xlogy

from .._validation import check_int
from ..data import BanditLog, SlateLog
from ..errors import ConfigError
from ._data import as_rows
from .base import ClickModel, Keys, check_prior, rows_index

__all__ = ["PositionBasedModel", "ClickThroughRateModel"]


def _cells(pos: np.ndarray, key: np.ndarray, click: np.ndarray, n_pos: int, n_keys: int):
    """Shows and clicks per (slot, key) cell, for the cells that occur."""
    code = pos * n_keys + key
    size = n_pos * n_keys
    shows = np.bincount(code, minlength=size)
    clicks = np.bincount(code, click, minlength=size)
    idx = np.flatnonzero(shows)
    return idx // n_keys, idx % n_keys, shows[idx].astype(np.float64), clicks[idx]


def pbm_em(cell_pos: np.ndarray, cell_key: np.ndarray, shows: np.ndarray, clicks: np.ndarray, n_pos: int,
           n_keys: int, prior: tuple[float, float], init: float | tuple[np.ndarray, np.ndarray], max_iter: int,
           tol: float, max_prob: float, accelerate: bool = False) -> tuple[np.ndarray, np.ndarray, int]:
    """EM on (slot, key) cells; returns examination, attractiveness and the EM updates run.

    With ``accelerate``, SQUAREM (Varadhan & Roland 2008, scheme S3): from two EM updates
    ``x1 = F(x0)``, ``x2 = F(x1)``, ``r = x1 - x0``, ``v = x2 - 2 x1 + x0`` and ``s = -|r|/|v|``,
    jump to ``x0 - 2 s r + s^2 v`` (kept inside the parameter box), then one EM update; the jump is
    dropped for ``x2`` when it lowers the log-posterior, so the sequence stays monotone.
    """
    a, b = prior
    n_k = np.bincount(cell_pos, shows, minlength=n_pos)
    n_i = np.bincount(cell_key, shows, minlength=n_keys)
    if isinstance(init, tuple):
        theta, alpha = init[0].copy(), init[1].copy()
    else:
        theta, alpha = np.full(n_pos, float(init)), np.full(n_keys, float(init))
    den_t, den_a = n_k + a + b, n_i + a + b
    ok_t, ok_a = den_t > 0, den_a > 0
    noclick = shows - clicks

    def update(theta: np.ndarray, alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        t = theta[cell_pos]
        al = alpha[cell_key]
        w = noclick / (1.0 - t * al)
        num_t = np.bincount(cell_pos, clicks + w * t * (1.0 - al), minlength=n_pos)
        num_a = np.bincount(cell_key, clicks + w * al * (1.0 - t), minlength=n_keys)
        new_t = np.where(ok_t, np.minimum((num_t + a) / np.where(ok_t, den_t, 1.0), max_prob), theta)
        new_a = np.where(ok_a, np.minimum((num_a + a) / np.where(ok_a, den_a, 1.0), max_prob), alpha)
        return new_t, new_a

    def objective(theta: np.ndarray, alpha: np.ndarray) -> float:
        p = theta[cell_pos] * alpha[cell_key]
        with np.errstate(divide="ignore", invalid="ignore"):  # 0 log 0 = 0 (xlogy)
            ll = np.sum(xlogy(clicks, p) + xlog1py(noclick, -p))
            for x in (theta, alpha):
                ll += np.sum(xlogy(a, x) + xlog1py(b, -x))
        return float(ll) if not np.isnan(ll) else -np.inf

    def moved(t1, a1, t0, a0) -> float:
        # converged when the identified quantities (theta / theta_0, alpha * theta_0) stop moving;
        # the flat direction of the likelihood (theta * c, alpha / c) may drift on slowly
        return max(np.abs(t1 / t1[0] - t0 / t0[0]).max(), np.abs(a1 * t1[0] - a0 * t0[0]).max() if n_keys else 0.0)

    it = 0
    lo = 1e-10
    while it < max_iter:
        if not accelerate or max_iter - it < 3:
            new_t, new_a = update(theta, alpha)
            it += 1
        else:
            t1, a1 = update(theta, alpha)
            t2, a2 = update(t1, a1)
            it += 2
            r = np.concatenate([t1 - theta, a1 - alpha])
            v = np.concatenate([t2 - 2 * t1 + theta, a2 - 2 * a1 + alpha])
            nv = np.linalg.norm(v)
            new_t, new_a = t2, a2
            if nv > 0:
                step = min(-np.linalg.norm(r) / nv, -1.0)
                jt = np.clip(theta - 2 * step * r[:n_pos] + step**2 * v[:n_pos], lo, max_prob)
                ja = np.clip(alpha - 2 * step * r[n_pos:] + step**2 * v[n_pos:], lo, max_prob)
                jt, ja = update(jt, ja)
                it += 1
                if objective(jt, ja) >= objective(t2, a2):
                    new_t, new_a = jt, ja
        change = moved(new_t, new_a, theta, alpha)
        theta, alpha = new_t, new_a
        if tol > 0 and change < tol:
            break
    return theta, alpha, it


def pbm_stderr(cell_pos, cell_key, shows, clicks, theta, alpha, prior, n_pos, n_keys, kind="expected"):
    """Standard errors of theta[1:] and alpha with theta[0] held fixed (expected or observed information)."""
    a, b = prior
    t, al = theta[cell_pos], alpha[cell_key]
    q = 1.0 - t * al
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "observed":  # minus second derivatives of the log-likelihood per cell
            nc = shows - clicks
            h_tt = clicks / t**2 + nc * al**2 / q**2
            h_aa = clicks / al**2 + nc * t**2 / q**2
            h_ta = nc / q**2
        else:  # expected: n grad(p) grad(p)' / (p (1 - p)) with p = t * al
            h_tt = shows * al / (t * q)
            h_aa = shows * t / (al * q)
            h_ta = shows / q
    def curvature(x: np.ndarray) -> np.ndarray:  # of the log prior; a zero pseudo-count adds nothing
        with np.errstate(divide="ignore"):
            return (a / x**2 if a > 0 else 0.0) + (b / (1 - x) ** 2 if b > 0 else 0.0)

    pt, pa = curvature(theta), curvature(alpha)
    A = np.bincount(cell_pos, h_tt, minlength=n_pos) + pt
    D = np.bincount(cell_key, h_aa, minlength=n_keys) + pa
    D = np.where(D > 0, D, np.inf)
    B = np.zeros((n_pos, n_keys))
    np.add.at(B, (cell_pos, cell_key), h_ta)
    used = np.bincount(cell_pos, minlength=n_pos) > 0
    free = np.flatnonzero(used[1:]) + 1  # slots without data have no standard error (nan)
    Bf = B[free]  # (K-1, n_keys)
    S = np.diag(A[free]) - (Bf / D) @ Bf.T  # Schur complement: information of theta[1:]
    se_t = np.where(used, 0.0, np.nan)
    if free.size and not np.linalg.eigvalsh(S).min() > 0:  # not a maximum in the free directions
        return np.where(used, np.nan, np.nan), np.full(n_keys, np.nan)
    if free.size:
        S_inv = np.linalg.inv(S)
        se_t[free] = np.sqrt(np.maximum(np.diag(S_inv), 0.0))
        BD = Bf / D  # (K-1, n_keys)
        var_a = 1.0 / D + np.einsum("ki,kl,li->i", BD, S_inv, BD)
    else:
        var_a = 1.0 / D
    return se_t, np.sqrt(np.maximum(var_a, 0.0))


class PositionBasedModel(ClickModel):
    """Position-based click model: examination per slot x attractiveness per item (or per
    (query, item) pair), fitted by EM (see the module docstring for the updates).

    Parameters
    ----------
    prior : (float, float)
        Pseudo-counts (clicks, non-clicks) added to every parameter: ``(0, 0)`` is maximum
        likelihood, ``(1, 1)`` (default) is PyClick's.
    init : float
        Starting value of every parameter (PyClick: 0.5).
    max_iter : int
        Most EM iterations (PyClick runs 50).
    tol : float
        Stop when no identified quantity (:math:`\\theta_k/\\theta_0`, :math:`\\alpha_i\\theta_0`) moves more
        than ``tol`` in an iteration; 0 runs ``max_iter``.
    max_prob : float
        Cap of every parameter (PyClick: 1 - 1e-6), which keeps ``1 - theta alpha`` positive.
    stderr : {"expected", "observed", "none"}
        Standard errors from the expected (Fisher) or the observed information (see the module
        docstring), or none.
    accelerate : bool
        SQUAREM extrapolation of the EM updates (Varadhan & Roland 2008), monotone in the
        log-posterior; ``False`` runs plain EM (as PyClick does, one update per iteration).

    Attributes
    ----------
    examination_, attractiveness_ : ndarray
        The fitted parameters (one scale of the flat direction).
    relative_examination_, relative_examination_se_ : ndarray
        :math:`\\theta_k / \\theta_0` and its standard error (0 for slot 0).
    scaled_attractiveness_, scaled_attractiveness_se_ : ndarray
        :math:`\\alpha_i \\theta_0` (click probability in the top slot) and its standard error.
    n_iter_ : int
        EM updates run (SQUAREM counts each of its updates).

    Examples
    --------
    >>> import numpy as np
    >>> from simrec.data import BanditLog
    >>> rng = np.random.default_rng(0)
    >>> item, pos = rng.integers(0, 5, 100_000), rng.integers(0, 3, 100_000)
    >>> click = rng.random(100_000) < np.array([0.8, 0.4, 0.24])[pos] * np.linspace(0.1, 0.5, 5)[item]
    >>> pbm = PositionBasedModel().fit(BanditLog(action=item, reward=click * 1.0, position=pos))
    >>> np.round(pbm.relative_examination_, 1)   # truth: 1, 0.5, 0.3
    array([1. , 0.5, 0.3])
    """

    name = "PBM"

    def __init__(self, prior: tuple[float, float] = (1.0, 1.0), init: float = 0.5, max_iter: int = 10_000,
                 tol: float = 1e-8, max_prob: float = 1 - 1e-6,
                 stderr: Literal["expected", "observed", "none"] = "expected", accelerate: bool = True) -> None:
        self._set_em(prior, init, max_iter, tol)
        if not 0 < float(max_prob) <= 1:
            raise ConfigError(f"`max_prob` must lie in (0, 1]; got {max_prob!r}")
        self.max_prob = float(max_prob)
        if stderr not in ("expected", "observed", "none"):
            raise ConfigError(f"`stderr` must be 'expected', 'observed' or 'none'; got {stderr!r}")
        self.stderr = stderr
        self.accelerate = bool(accelerate)

    def fit(self, log: BanditLog | SlateLog, query: Any = None, n_positions: int | None = None) -> PositionBasedModel:
        """Fit on a BanditLog with positions (or every slot of a SlateLog); ``query`` (one int per
        row) makes attractiveness per (query, item)."""
        rows = as_rows(log, query)
        k = int(rows.pos.max()) + 1 if n_positions is None else check_int(n_positions, name="n_positions", minimum=1)
        if rows.pos.max() >= k:
            raise ConfigError(f"`n_positions`={k} but the log shows slot {int(rows.pos.max())}")
        self.keys_ = Keys(rows.item, rows.query, rows.n_items)
        key = self.keys_.index(rows.item, rows.query)
        cells = _cells(rows.pos, key, rows.click, k, self.keys_.n)
        theta, alpha, it = pbm_em(*cells, k, self.keys_.n, self.prior, self.init, self.max_iter, self.tol,
                                  self.max_prob, self.accelerate)
        self.examination_, self.attractiveness_, self.n_iter_ = theta, alpha, it
        self.n_positions_ = k
        self.shows_ = np.bincount(cells[1], cells[2], minlength=self.keys_.n)
        self.clicks_ = np.bincount(cells[1], cells[3], minlength=self.keys_.n)
        t0 = theta[0]
        self.relative_examination_ = theta / t0
        self.scaled_attractiveness_ = alpha * t0
        if self.stderr != "none":
            se_t, se_a = pbm_stderr(*cells, theta, alpha, self.prior, k, self.keys_.n, self.stderr)
            self.relative_examination_se_ = se_t / t0
            self.scaled_attractiveness_se_ = se_a * t0
        self.fitted_ = True
        return self

    def attractiveness_of(self, item: np.ndarray, query: np.ndarray | None = None) -> np.ndarray:
        """Fitted attractiveness of items (of (query, item) pairs); unseen ones get the prior mean."""
        return self._keyed_attractiveness(item, query)

    def _probs(self, log, query):
        rows = as_rows(log, query)
        if rows.pos.max() >= self.n_positions_:
            raise ConfigError(f"the log shows slot {int(rows.pos.max())}; the model was fitted on "
                              f"{self.n_positions_} slots")
        p = self.examination_[rows.pos] * self.attractiveness_of(rows.item, rows.query)
        pos, imp = rows_index(rows) if not isinstance(log, SlateLog) else (rows.pos, np.repeat(
            np.arange(len(log)), log.slate_size))
        return p, p, pos, imp


class ClickThroughRateModel(ClickModel):
    """Click-through-rate baselines: one click probability for every row (``by="global"``), per item
    (``"item"``) or per slot (``"position"``), with pseudo-counts ``prior``:
    :math:`(\\text{clicks} + a) / (\\text{shows} + a + b)`."""

    def __init__(self, by: Literal["global", "item", "position"] = "global",
                 prior: tuple[float, float] = (1.0, 1.0)) -> None:
        if by not in ("global", "item", "position"):
            raise ConfigError(f"`by` must be 'global', 'item' or 'position'; got {by!r}")
        self.by = by
        self.prior = check_prior(prior)

    @property
    def name(self) -> str:  # type: ignore[override]
        return {"global": "global CTR", "item": "item CTR", "position": "position CTR"}[self.by]

    def _group(self, rows) -> np.ndarray:
        return {"global": np.zeros_like(rows.item), "item": rows.item, "position": rows.pos}[self.by]

    def fit(self, log: BanditLog | SlateLog) -> ClickThroughRateModel:
        rows = as_rows(log)
        g = self._group(rows)
        n = max(int(g.max()) + 1, rows.n_items if self.by == "item" else 1)
        a, b = self.prior
        shows = np.bincount(g, minlength=n).astype(float)
        clicks = np.bincount(g, rows.click, minlength=n)
        with np.errstate(invalid="ignore"):
            self.ctr_ = np.where(shows + a + b > 0, (clicks + a) / (shows + a + b), self._fallback())
        self.fitted_ = True
        return self

    def _fallback(self) -> float:
        a, b = self.prior
        return a / (a + b) if a + b > 0 else 0.0

    def _probs(self, log, query):
        rows = as_rows(log)
        g = self._group(rows)
        p = np.where(g < self.ctr_.size, self.ctr_[np.minimum(g, self.ctr_.size - 1)], self._fallback())
        pos, imp = rows_index(rows) if not isinstance(log, SlateLog) else (rows.pos, np.repeat(
            np.arange(len(log)), log.slate_size))
        return p, p, pos, imp
