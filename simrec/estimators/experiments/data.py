"""Validated per-unit inputs of an A/B test: outcomes, a binary treatment, optional covariates.

Every analysis function of :mod:`simrec.estimators.experiments` checks its arrays here, so bad input
fails the same way everywhere: mismatched lengths, an empty or one-unit arm, a treatment that is not
0/1, NaN or infinite metrics all raise :class:`~simrec.errors.InvalidLogError` naming the argument,
what was expected, what was seen and the first bad row.

:class:`ExperimentLog` bundles the arrays of one experiment (the ``experiment`` log kind of the
estimator registry).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..._validation import check_array, first_bad
from ...errors import InvalidLogError

__all__ = ["ExperimentLog", "as_matrix", "as_metric", "as_treatment", "check_propensity", "split_arms"]


def as_metric(values: Any, name: str, n: int | None = None, *, allow_nan: bool = False) -> np.ndarray:
    """``values`` as a contiguous 1-D float64 array of length ``n`` with finite entries."""
    if values is None:
        raise InvalidLogError(f"`{name}` is required; got None")
    arr = check_array(values, name=name, error=InvalidLogError)
    if arr.ndim != 1:
        raise InvalidLogError(f"`{name}` must be 1-dimensional (one value per unit); got shape {arr.shape}")
    if n is not None and arr.shape[0] != n:
        raise InvalidLogError(f"`{name}` must have one value per unit ({n}, the length of `treatment`); "
                              f"got {arr.shape[0]}")
    if not allow_nan and not np.isfinite(arr).all():
        bad = ~np.isfinite(arr)
        raise InvalidLogError(f"`{name}` must be finite (no NaN or inf); {first_bad(bad, arr)}")
    return arr


def as_matrix(values: Any, name: str, n: int | None = None, *, d: int | None = None) -> np.ndarray:
    """``values`` as a contiguous finite float64 ``(n, d)`` matrix (a 1-D array is one column).

    Text (e.g. a string column of a frame), the wrong number of rows or columns and NaN/inf raise
    :class:`~simrec.errors.InvalidLogError` naming ``name`` and the first bad cell.
    """
    if values is None:
        raise InvalidLogError(f"`{name}` is required; got None")
    x = check_array(values, name=name, ndim=(1, 2), error=InvalidLogError)
    x = x[:, None] if x.ndim == 1 else x
    if (n is not None and x.shape[0] != n) or (d is not None and x.shape[1] != d):
        raise InvalidLogError(f"`{name}` must have shape ({n if n is not None else 'rows'}, "
                              f"{d if d is not None else 'd'}); got {x.shape}")
    if not np.isfinite(x).all():
        raise InvalidLogError(f"`{name}` must be finite (no NaN or inf); {first_bad(~np.isfinite(x), x)}")
    return np.ascontiguousarray(x, dtype=np.float64)


def as_treatment(values: Any, name: str = "treatment", n: int | None = None) -> np.ndarray:
    """``values`` as a boolean array (True = treatment); only 0/1 (or bool) are accepted."""
    if values is None:
        raise InvalidLogError(f"`{name}` is required; got None")
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise InvalidLogError(f"`{name}` must be 1-dimensional (one arm per unit); got shape {arr.shape}")
    if n is not None and arr.shape[0] != n:
        raise InvalidLogError(f"`{name}` must have one entry per unit ({n}, the length of the outcome); "
                              f"got {arr.shape[0]}")
    if arr.dtype == bool:
        return arr
    if arr.dtype.kind not in "iuf":
        raise InvalidLogError(f"`{name}` must be binary (0 = control, 1 = treatment); got dtype {arr.dtype}")
    bad = (arr != 0) & (arr != 1)
    if bad.any():
        raise InvalidLogError(f"`{name}` must be binary (0 = control, 1 = treatment); {first_bad(bad, arr)}")
    return arr.astype(bool)


def split_arms(y: Any, treatment: Any, *, name: str = "y", min_per_arm: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Validate ``(y, treatment)`` and return ``(y_treatment, y_control)``."""
    t = as_treatment(treatment)
    v = as_metric(y, name, t.shape[0])
    check_arm_sizes(t, min_per_arm)
    return v[t], v[~t]


def check_arm_sizes(t: np.ndarray, min_per_arm: int = 2) -> tuple[int, int]:
    """``(n_treatment, n_control)``; raises if an arm has fewer than ``min_per_arm`` units."""
    n1 = int(np.count_nonzero(t))
    n0 = int(t.shape[0] - n1)
    if min(n0, n1) < min_per_arm:
        raise InvalidLogError(f"each arm needs at least {min_per_arm} units; `treatment` has {n1} treated and "
                              f"{n0} control units")
    return n1, n0


class ExperimentLog:
    """Per-unit data of one randomised experiment (the ``experiment`` log kind).

    Parameters
    ----------
    outcome : array_like (n,)
        The metric per randomisation unit (e.g. clicks per user); the numerator of a ratio metric.
    treatment : array_like (n,) of {0, 1}
        The arm of each unit.
    covariate : array_like (n,), optional
        A pre-experiment covariate (CUPED), e.g. the same metric in the pre-period.
    denominator : array_like (n,), optional
        The denominator of a ratio metric per unit (e.g. sessions); enables ratio estimators.
    features : array_like (n, d), optional
        Pre-treatment unit features (CUPAC, heterogeneous effects).
    cluster : array_like (n,), optional
        Cluster ids when units are not independent (e.g. households).
    propensity : float or array_like (n,), optional
        Known :math:`P(T=1 \\mid x)` of each unit, in (0, 1]: the logging policy's propensity for
        logged (observational) data, or the assignment rate of a randomised experiment (a single
        number applies to every unit). A control unit cannot have propensity 1. The causal estimators
        use it instead of estimating the propensity.
    """

    def __init__(self, outcome: Any, treatment: Any, *, covariate: Any = None, denominator: Any = None,
                 features: Any = None, cluster: Any = None, propensity: Any = None) -> None:
        self.treatment = as_treatment(treatment)
        n = self.treatment.shape[0]
        self.outcome = as_metric(outcome, "outcome", n)
        check_arm_sizes(self.treatment)
        self.covariate = None if covariate is None else as_metric(covariate, "covariate", n)
        self.denominator = None if denominator is None else as_metric(denominator, "denominator", n)
        if self.denominator is not None and (self.denominator < 0).any():
            raise InvalidLogError(f"`denominator` must be >= 0; {first_bad(self.denominator < 0, self.denominator)}")
        self.features = None if features is None else as_matrix(features, "features", n)
        if cluster is None:
            self.cluster = None
        else:
            c = np.asarray(cluster)
            if c.ndim != 1 or c.shape[0] != n:
                raise InvalidLogError(f"`cluster` must have one id per unit ({n}); got shape {c.shape}")
            if pd.isna(c).any():
                raise InvalidLogError(f"`cluster` ids must not be missing (NaN/None); {first_bad(pd.isna(c), c)}")
            self.cluster = c
        self.propensity = (None if propensity is None
                           else check_propensity(propensity, n, treatment=self.treatment, overlap=False))

    def __len__(self) -> int:
        return int(self.treatment.shape[0])

    def __repr__(self) -> str:
        extra = [k for k in ("covariate", "denominator", "features", "cluster", "propensity")
                 if getattr(self, k) is not None]
        return (f"ExperimentLog(n={len(self)}, treated={int(self.treatment.sum())}"
                + (f", with {', '.join(extra)}" if extra else "") + ")")

    @classmethod
    def from_frame(cls, df: Any, outcome: str, treatment: str, *, covariate: str | None = None,
                   denominator: str | None = None, features: list[str] | None = None,
                   cluster: str | None = None, propensity: str | float | None = None) -> ExperimentLog:
        """Build from the columns of a pandas DataFrame (``propensity``: a column, or one number for
        every unit, e.g. a randomised test's assignment rate)."""
        prop_col = propensity if isinstance(propensity, str) else None
        for col in [outcome, treatment, covariate, denominator, cluster, prop_col, *(features or [])]:
            if col is not None and col not in df.columns:
                raise InvalidLogError(f"column {col!r} is not in the frame; columns: {', '.join(map(str, df.columns))}")
        return cls(df[outcome].to_numpy(), df[treatment].to_numpy(),
                   covariate=None if covariate is None else df[covariate].to_numpy(),
                   denominator=None if denominator is None else df[denominator].to_numpy(),
                   features=None if not features else df[features].to_numpy(),
                   cluster=None if cluster is None else df[cluster].to_numpy(),
                   propensity=df[prop_col].to_numpy() if prop_col is not None else propensity)


def check_propensity(values: Any, n: int, *, treatment: np.ndarray | None = None, overlap: bool = True,
                     name: str = "propensity", who: str = "") -> np.ndarray:
    r"""Known :math:`P(T=1 \mid x)` per unit, validated: one number for every unit or one finite value
    per unit, in (0, 1) with ``overlap`` (both arms possible for every unit: what inverse weights
    need), else in (0, 1] and, given ``treatment``, below 1 for control units. ``who`` prefixes the
    message (e.g. the estimator that needs overlap). The one propensity check of the experiment and
    causal estimators."""
    if np.ndim(values) == 0:
        try:
            values = np.full(n, float(values))
        except (TypeError, ValueError):
            raise InvalidLogError(f"{who}`{name}` must be numeric; got {values!r}") from None
    elif np.ndim(values) > 1:
        raise InvalidLogError(f"{who}`{name}` must be a number or one value per unit ({n}); "
                              f"got shape {np.shape(values)}")
    e = as_metric(values, name, n)
    out = ~((e > 0) & (e < 1)) if overlap else ~((e > 0) & (e <= 1))
    if out.any():
        what = "(0, 1) (both arms possible for every unit)" if overlap else "(0, 1]"
        raise InvalidLogError(f"{who}`{name}` (P(T=1|x) per unit) must lie in {what}; {first_bad(out, e)}")
    if treatment is not None and not overlap:
        impossible = ~treatment & (e == 1)
        if impossible.any():
            raise InvalidLogError(f"{who}`{name}` must be below 1 for control units (a unit with P(T=1|x) = 1 "
                                  "cannot be in control); " + first_bad(impossible, e))
    return e
