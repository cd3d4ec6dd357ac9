"""Slice discovery: segments of users or items where a policy does poorly, with false-discovery control.

Candidates are conjunctions of (feature = value) conditions (numeric features cut into quantile
bins), scored by a Welch z-statistic of the outcome gap (or treatment-effect gap) between the slice
and its complement, and filtered by the Benjamini-Hochberg procedure. Slice enumeration as in
SliceLine (Sagadeeva & Boehm, SIGMOD 2021); testing as in Slice Finder (Chung et al., ICDE 2019).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .._validation import check_int, check_probability
from ..errors import ConfigError, InvalidLogError
from .experiments.data import as_treatment

__all__ = ["find_slices"]


def _discretise(df: pd.DataFrame, n_bins: int) -> pd.DataFrame:
    out = {}
    for c in df.columns:
        s = df[c]
        if pd.api.types.is_numeric_dtype(s) and s.nunique() > n_bins:
            q = pd.qcut(s, n_bins, duplicates="drop")
            out[c] = q.astype(str)
        else:
            out[c] = s.astype(str)
    return pd.DataFrame(out, index=df.index)


def find_slices(features: pd.DataFrame, outcome: Any, *, treatment: Any = None, max_depth: int = 2,
                min_support: float = 0.02, n_bins: int = 4, q: float = 0.05, direction: str = "lower"
                ) -> pd.DataFrame:
    """Segments (conjunctions of feature values) where a policy does poorly, with FDR control.

    Numeric features are cut into ``n_bins`` quantile bins. Every conjunction of up to ``max_depth``
    (feature = value) conditions with support at least ``min_support`` is a candidate slice ``S``.
    Without ``treatment`` the statistic is the gap :math:`\\bar y_S - \\bar y_{\\bar S}` of the outcome
    (e.g. a per-user reward or a doubly-robust pseudo-outcome of a policy's value); with it, the gap of
    treatment effects :math:`\\hat\\tau_S - \\hat\\tau_{\\bar S}` (differences in means within each part).
    Welch standard errors give z-statistics and one-sided p-values in ``direction``; the
    Benjamini-Hochberg procedure at level ``q`` over all candidates controls the false-discovery rate
    (Sagadeeva & Boehm 2021 enumerate slices the same way; Chung et al. 2019 test them).

    Returns
    -------
    DataFrame
        Candidates sorted worst first: ``slice``, ``support``, ``n``, ``value`` (mean or effect in the
        slice), ``gap``, ``stderr``, ``z``, ``p_value``, ``q_value`` and ``discovery`` (BH reject).
    """
    from itertools import combinations

    from .experiments.power import multiple_testing

    if not isinstance(features, pd.DataFrame):
        raise InvalidLogError(f"`features` must be a DataFrame of unit attributes; got {type(features).__name__}")
    q = check_probability(q, name="q", open_left=True)
    n = len(features)
    y = np.asarray(outcome, dtype=np.float64)
    if y.shape != (n,) or not np.isfinite(y).all():
        raise InvalidLogError(f"`outcome` must be finite with one value per row of `features` ({n})")
    t = None if treatment is None else as_treatment(treatment, n=n)
    if direction not in ("lower", "higher"):
        raise ConfigError(f"`direction` must be 'lower' or 'higher'; got {direction!r}")
    disc = _discretise(features.reset_index(drop=True), n_bins)
    atoms = []
    for c in disc.columns:
        for v, idx in disc.groupby(c).indices.items():
            m = np.zeros(n, bool)
            m[idx] = True
            atoms.append((c, v, m))
    cands = []
    for d in range(1, check_int(max_depth, name="max_depth", minimum=1) + 1):
        for combo in combinations(atoms, d):
            if len({c for c, _, _ in combo}) < d:
                continue
            m = np.logical_and.reduce([a[2] for a in combo])
            if m.sum() >= max(min_support * n, 4) and (~m).sum() >= 4:
                cands.append((" & ".join(f"{c}={v}" for c, v, _ in combo), m))

    def mean_var(v: np.ndarray) -> tuple[float, float]:
        return float(v.mean()), float(v.var(ddof=1) / v.size)

    rows = []
    for name, m in cands:
        if t is None:
            (a, va), (b, vb) = mean_var(y[m]), mean_var(y[~m])
        else:
            parts = []
            for mm in (m, ~m):
                y1, y0 = y[mm & t], y[mm & ~t]
                if y1.size < 2 or y0.size < 2:
                    break
                (m1, v1), (m0, v0) = mean_var(y1), mean_var(y0)
                parts.append((m1 - m0, v1 + v0))
            if len(parts) < 2:
                continue
            (a, va), (b, vb) = parts
        se = float(np.sqrt(va + vb))
        gap = a - b
        z = gap / se if se > 0 else 0.0
        p = float(stats.norm.cdf(z) if direction == "lower" else stats.norm.sf(z))
        rows.append({"slice": name, "support": float(m.mean()), "n": int(m.sum()), "value": a, "gap": gap,
                     "stderr": se, "z": z, "p_value": p})
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    rej, qv = multiple_testing(out["p_value"].to_numpy(), "bh", alpha=q)
    out["q_value"], out["discovery"] = qv, rej
    return out.sort_values("z", ascending=direction == "lower").reset_index(drop=True)
