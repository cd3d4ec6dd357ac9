"""Sequential tests: the mixture SPRT (always-valid p-values) and group-sequential boundaries.

**MSPRT.** After :math:`n` units the difference of means :math:`\\hat d_n` has (plug-in) variance
:math:`V_n = s_1^2/n_1 + s_0^2/n_0` (sample variances with ddof=1). Mixing the likelihood ratio of
:math:`N(\\theta, V_n)` against :math:`N(0, V_n)` over :math:`\\theta \\sim N(0, \\tau^2)` gives

.. math::

    \\Lambda_n = \\sqrt{\\frac{V_n}{V_n + \\tau^2}}
    \\exp\\Big(\\frac{\\tau^2 \\hat d_n^2}{2 V_n (V_n + \\tau^2)}\\Big),\\qquad
    p_n = \\min(p_{n-1}, 1/\\Lambda_n),

an always-valid p-value: :math:`P_0(\\exists n: p_n \\le \\alpha) \\le \\alpha`, so the experiment may
be checked after every unit and stopped at will. Inverting :math:`\\Lambda_n < 1/\\alpha` gives the
confidence sequence :math:`\\hat d_n \\pm \\sqrt{\\frac{V_n (V_n+\\tau^2)}{\\tau^2}\\big(2\\log\\frac1\\alpha
+ \\log\\frac{V_n+\\tau^2}{V_n}\\big)}`.

**Group sequential.** ``K`` planned looks at information fractions :math:`t_k`; two-sided
boundaries :math:`c_k` such that the probability under the null of first crossing at look ``k`` is
:math:`\\alpha(t_k) - \\alpha(t_{k-1})` for a Lan-DeMets spending function
(O'Brien-Fleming-type, applied to each side with :math:`\\alpha_s = \\alpha/2` as gsDesign and
ldbounds do: :math:`\\alpha_s(t) = 2 - 2\\Phi(z_{1-\\alpha_s/2}/\\sqrt t)`; Pocock-type
:math:`\\alpha(t) = \\alpha \\ln(1 + (e-1)t)`), computed by recursive numerical integration of the
score process over the continuation region (Armitage, McPherson & Rowe 1969; gsDesign's method).

References
----------
Johari, R., Pekelis, L. & Walsh, D. (2017/2022). Always valid inference: continuous monitoring of A/B
tests. Operations Research.
Lan, K. K. G. & DeMets, D. L. (1983). Discrete sequential boundaries for clinical trials. Biometrika.
Jennison, C. & Turnbull, B. W. (2000). Group Sequential Methods with Applications to Clinical Trials.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize, stats

from ..._validation import check_int, check_positive, check_probability
from ...errors import ConfigError, InvalidLogError
from .data import as_metric, as_treatment, check_arm_sizes

__all__ = ["MSPRT", "GroupSequential", "msprt_path", "spending_function"]


def msprt_path(y: Any, treatment: Any, *, tau2: float, alpha: float = 0.05, peeks: Any = None,
               burn_in: int = 10) -> dict[str, np.ndarray]:
    """The mixture SPRT evaluated at ``peeks`` (unit counts, in data order), vectorised.

    Returns a dict of arrays (one entry per peek): ``n``, ``diff``, ``variance``, ``lr``
    (:math:`\\Lambda_n`), ``p_value`` (always valid, running minimum), ``ci_low``, ``ci_high``
    (running intersection of the confidence sequence) and ``reject``. Peeks before both arms hold
    ``burn_in`` units report ``p_value = 1`` and an infinite interval.
    """
    t = as_treatment(treatment)
    v = as_metric(y, "y", t.shape[0])
    n = t.shape[0]
    if peeks is None:
        peeks = np.arange(1, n + 1)
    pk = np.asarray(peeks, dtype=np.int64)
    if pk.ndim != 1 or pk.size == 0 or pk.min() < 1 or pk.max() > n or (np.diff(pk) <= 0).any():
        raise ConfigError(f"`peeks` must be increasing unit counts in [1, {n}]")
    shift = float(v[0])
    w = v - shift
    c1, c0 = np.cumsum(t), np.cumsum(~t)
    s1, s0 = np.cumsum(np.where(t, w, 0.0)), np.cumsum(np.where(t, 0.0, w))
    q1, q0 = np.cumsum(np.where(t, w * w, 0.0)), np.cumsum(np.where(t, 0.0, w * w))
    i = pk - 1
    out = _msprt_at(c1[i].astype(np.float64), c0[i].astype(np.float64), s1[i], s0[i], q1[i], q0[i],
                    tau2=tau2, alpha=alpha, burn_in=burn_in)
    return {"n": pk, **out}


def _msprt_at(n1: np.ndarray, n0: np.ndarray, s1: np.ndarray, s0: np.ndarray, q1: np.ndarray, q0: np.ndarray, *,
              tau2: float, alpha: float, burn_in: int) -> dict[str, np.ndarray]:
    """The test at looks with per-arm counts ``n``, sums ``s`` and sums of squares ``q`` (of the
    shifted outcomes): the running minimum p-value and intersected interval over these looks."""
    ok = (n1 >= max(burn_in, 2)) & (n0 >= max(burn_in, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        m1, m0 = s1 / n1, s0 / n0
        var1 = np.maximum(q1 - n1 * m1 * m1, 0.0) / (n1 - 1)
        var0 = np.maximum(q0 - n0 * m0 * m0, 0.0) / (n0 - 1)
        V = var1 / n1 + var0 / n0
        d = m1 - m0
        ok &= V > 0
        log_lr = 0.5 * np.log(V / (V + tau2)) + tau2 * d * d / (2 * V * (V + tau2))
        half = np.sqrt(V * (V + tau2) / tau2 * (2 * math.log(1 / alpha) + np.log((V + tau2) / V)))
    log_lr = np.where(ok, log_lr, -np.inf)
    p = np.minimum.accumulate(np.minimum(1.0, np.exp(-log_lr)))
    lo = np.maximum.accumulate(np.where(ok, d - half, -np.inf))
    hi = np.minimum.accumulate(np.where(ok, d + half, np.inf))
    return {"diff": np.where(ok, d, np.nan), "variance": np.where(ok, V, np.nan), "lr": np.exp(log_lr),
            "p_value": p, "ci_low": lo, "ci_high": hi, "reject": p <= alpha}


class MSPRT:
    """Normal-mixture sequential probability ratio test with always-valid p-values.

    Parameters
    ----------
    alpha : float
        Type-I error guaranteed over any number of looks.
    tau2 : float, optional
        Mixing variance :math:`\\tau^2` (the prior spread of effects, in squared metric units).
    mde : float, optional
        Alternatively, the effect the test should be most sensitive to: :math:`\\tau^2 = \\text{mde}^2`.
    burn_in : int
        Units per arm before the first evaluation (the plug-in variance, per-arm sample variances
        with ddof=1, needs a few).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> t = rng.random(4000) < 0.5
    >>> test = MSPRT(alpha=0.05, mde=0.1).update(rng.normal(size=4000) + 0.3 * t, t)
    >>> bool(test.reject), test.n
    (True, 4000)
    """

    def __init__(self, alpha: float = 0.05, tau2: float | None = None, *, mde: float | None = None,
                 burn_in: int = 10) -> None:
        self.alpha = check_probability(alpha, name="alpha", open_left=True)
        if (tau2 is None) == (mde is None):
            raise ConfigError("give exactly one of `tau2` (mixing variance) and `mde` (tau2 = mde**2)")
        self.tau2 = check_positive(tau2 if tau2 is not None else float(mde) ** 2, name="tau2")
        self.mde = mde
        self.burn_in = check_int(burn_in, name="burn_in", minimum=2)
        self._shift: float | None = None  # the first outcome seen: sums are of y - shift (as msprt_path)
        self._stats = np.zeros(6)  # n1, n0, s1, s0, q1, q0 of the units seen so far
        self._p = 1.0
        self._lo, self._hi = -math.inf, math.inf

    def update(self, y: Any, treatment: Any) -> MSPRT:
        """Add a batch of units and re-evaluate (one look)."""
        t = as_treatment(treatment)
        v = as_metric(y, "y", t.shape[0])
        shift = self._shift if self._shift is not None else (float(v[0]) if v.size else None)
        w = v - (shift or 0.0)
        add = np.array([t.sum(), (~t).sum(), w[t].sum(), w[~t].sum(), (w[t] ** 2).sum(), (w[~t] ** 2).sum()])
        total = self._stats + add
        if min(total[0], total[1]) < 1:  # a batch may hold one arm only; the units seen so far must hold both
            raise InvalidLogError(f"MSPRT needs both arms among the units seen so far: each arm needs at least 1 "
                                  f"unit; `treatment` has {int(total[0])} treated and {int(total[1])} control units")
        self._shift, self._stats = shift, total
        r = _msprt_at(*(np.array([x]) for x in total), tau2=self.tau2, alpha=self.alpha, burn_in=self.burn_in)
        self._p = min(self._p, float(r["p_value"][0]))
        self._lo, self._hi = max(self._lo, float(r["ci_low"][0])), min(self._hi, float(r["ci_high"][0]))
        return self

    @property
    def n(self) -> int:
        """Units seen."""
        return int(self._stats[0] + self._stats[1])

    @property
    def p_value(self) -> float:
        """The always-valid p-value after the looks so far."""
        return self._p

    @property
    def reject(self) -> bool:
        """Whether the null has been rejected at some look."""
        return self._p <= self.alpha

    @property
    def confidence_sequence(self) -> tuple[float, float]:
        """The running intersection of the confidence sequence (valid at every look at once)."""
        return (self._lo, self._hi)

    def path(self, y: Any, treatment: Any, peeks: Any = None) -> dict[str, np.ndarray]:
        """Evaluate the test at every peek of a whole data stream (see :func:`msprt_path`)."""
        return msprt_path(y, treatment, tau2=self.tau2, alpha=self.alpha, peeks=peeks, burn_in=self.burn_in)

    def __repr__(self) -> str:
        return f"MSPRT(alpha={self.alpha}, tau2={self.tau2:.4g}, n={self.n}, p_value={self._p:.4g})"


def spending_function(kind: str, t: np.ndarray, alpha: float) -> np.ndarray:
    """Cumulative two-sided alpha spent at information fractions ``t`` (Lan-DeMets)."""
    t = np.asarray(t, dtype=np.float64)
    if kind in ("obrien-fleming", "obf"):  # per side a_s(t) = 2 - 2 Phi(z_{1 - a_s/2} / sqrt(t)), a_s = alpha/2
        z = stats.norm.isf(alpha / 4)
        return np.where(t > 0, 4 * stats.norm.sf(z / np.sqrt(np.maximum(t, 1e-300))), 0.0)
    if kind == "pocock":
        return alpha * np.log1p((math.e - 1) * t)
    raise ConfigError(f"`spending` must be 'obrien-fleming' or 'pocock'; got {kind!r}")


def _simpson(n: int) -> np.ndarray:
    w = np.ones(n)
    w[1:-1:2], w[2:-1:2] = 4, 2
    return w / 3


def _cross_excess(c: float, wgt: np.ndarray, grid: np.ndarray, sd: float, tk: float, target: float) -> float:
    """P(first crossing at this look | boundary c) - target, from the previous look's sub-density."""
    b = c * math.sqrt(tk)
    return float(np.dot(wgt, stats.norm.cdf((-b - grid) / sd) + stats.norm.sf((b - grid) / sd))) - target


def _gs_boundaries(t: np.ndarray, cum: np.ndarray, n_grid: int = 1201) -> np.ndarray:
    """Two-sided z boundaries by recursive integration of the score process S_k ~ BM(t_k)."""
    K = t.size
    out = np.empty(K)
    grid = dens = None
    prev_t, prev_cum = 0.0, 0.0
    for k in range(K):
        sd = math.sqrt(t[k] - prev_t)
        target = cum[k] - prev_cum
        if k == 0:
            c = float(stats.norm.isf(target / 2)) if target > 0 else math.inf
        else:
            wgt = dens * _simpson(grid.size) * (grid[1] - grid[0])
            c = math.inf if target <= 0 else float(optimize.brentq(
                _cross_excess, 1e-6, 40.0, args=(wgt, grid, sd, float(t[k]), target), xtol=1e-12))
        out[k] = c
        b = c * math.sqrt(t[k]) if np.isfinite(c) else 12.0 * math.sqrt(t[k])
        new = np.linspace(-b, b, n_grid)
        if k == 0:
            dens = stats.norm.pdf(new / sd) / sd
        else:
            dens = (stats.norm.pdf((new[:, None] - grid[None, :]) / sd) / sd) @ wgt
        grid = new
        prev_t, prev_cum = t[k], cum[k]
    return out


@dataclass(frozen=True)
class GSResult:
    """Outcome of a group-sequential analysis."""

    z: np.ndarray
    boundaries: np.ndarray
    reject: bool
    stopped_at: int | None  # 0-based look at which a boundary was crossed, None if never


class GroupSequential:
    """Group-sequential design with Lan-DeMets alpha spending (two-sided, symmetric boundaries).

    Parameters
    ----------
    n_looks : int
        Planned analyses ``K``.
    alpha : float
        Total two-sided type-I error.
    spending : {"obrien-fleming", "pocock"}
        Spending function (module docstring).
    timing : array_like, optional
        Information fractions of the looks (increasing, ending at 1); default equally spaced.

    Attributes
    ----------
    boundaries : ndarray (K,)
        Critical :math:`|z|` per look.
    alpha_spent : ndarray (K,)
        Cumulative type-I error spent by each look.

    Examples
    --------
    >>> gs = GroupSequential(5, alpha=0.05, spending="obrien-fleming")
    >>> np.round(gs.boundaries, 3).tolist()
    [4.877, 3.357, 2.68, 2.29, 2.031]
    """

    def __init__(self, n_looks: int = 5, alpha: float = 0.05, spending: str = "obrien-fleming",
                 timing: Any = None) -> None:
        self.n_looks = check_int(n_looks, name="n_looks", minimum=1)
        self.alpha = check_probability(alpha, name="alpha", open_left=True)
        self.spending = spending
        if timing is None:
            tt = np.arange(1, self.n_looks + 1) / self.n_looks
        else:
            tt = np.asarray(timing, dtype=np.float64)
            if tt.shape != (self.n_looks,) or (np.diff(tt) <= 0).any() or tt[0] <= 0 or not math.isclose(tt[-1], 1):
                raise ConfigError(f"`timing` must be {self.n_looks} increasing fractions in (0, 1] ending at 1; "
                                  f"got {np.asarray(timing).tolist()}")
        self.timing = tt
        self.alpha_spent = spending_function(spending, tt, self.alpha)
        self.boundaries = _gs_boundaries(tt, self.alpha_spent)

    def test(self, z: Any) -> GSResult:
        """Apply the boundaries to the z-statistics of the looks done so far (in order)."""
        zz = as_metric(np.atleast_1d(z), "z")
        if zz.size > self.n_looks:
            raise InvalidLogError(f"`z` has {zz.size} looks; the design plans {self.n_looks}")
        hit = np.flatnonzero(np.abs(zz) >= self.boundaries[: zz.size])
        stop = int(hit[0]) if hit.size else None
        return GSResult(zz, self.boundaries[: zz.size], stop is not None, stop)

    def analyze(self, y: Any, treatment: Any) -> GSResult:
        """Welch z at each planned look over a data stream in arrival order (look k at ``t_k * n`` units)."""
        t = as_treatment(treatment)
        v = as_metric(y, "y", t.shape[0])
        check_arm_sizes(t)
        n = t.size
        zs = []
        for frac in self.timing:
            m = int(round(frac * n))
            tt, vv = t[:m], v[:m]
            check_arm_sizes(tt)
            a, b = vv[tt], vv[~tt]
            se = math.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
            zs.append((a.mean() - b.mean()) / se if se > 0 else 0.0)
        return self.test(np.array(zs))

    def __repr__(self) -> str:
        return (f"GroupSequential(n_looks={self.n_looks}, alpha={self.alpha}, spending={self.spending!r}, "
                f"boundaries={np.round(self.boundaries, 3).tolist()})")
