"""Nuisance models for OPE: cross-fitted reward models and estimated propensities.

Cross-fitting is the default: rows are split into ``n_folds`` folds and each row's prediction comes
from a model that never saw it (Chernozhukov et al. 2018), so DR does not reuse its own noise.
``n_folds=1`` fits and predicts on the whole log (in-sample; not recommended).

Any scikit-learn regressor works; a classifier (binary rewards) contributes
``predict_proba[:, 1]``. Models are cloned, never mutated.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import clone, is_classifier
from sklearn.model_selection import KFold

from ..._validation import as_rng, check_int
from ...data import BanditLog
from ...errors import ConfigError, InvalidLogError

__all__ = ["fit_reward_model", "fit_propensity_model", "estimate_pscore", "crossfit_folds"]


def crossfit_folds(n: int, n_folds: int, rng: Any) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(train, test)`` index pairs of ``n_folds``-fold cross-fitting over ``n`` rows, shuffled by
    ``rng`` (one fold: train and test are every row). The one place simrec splits rows into folds."""
    n_folds = check_int(n_folds, name="n_folds", minimum=1)
    if n_folds == 1:
        idx = np.arange(n)
        return [(idx, idx)]
    if n_folds > n:
        raise ConfigError(f"`n_folds` must be <= the number of rows ({n}); got {n_folds}")
    seed = int(as_rng(rng).integers(0, 2**31 - 1))
    return list(KFold(n_folds, shuffle=True, random_state=seed).split(np.zeros(n)))


def _context(log: BanditLog) -> np.ndarray:
    return np.zeros((len(log), 1)) if log.context is None else np.asarray(log.context)


def _predict(model: Any, x: np.ndarray) -> np.ndarray:
    if is_classifier(model):
        classes = list(model.classes_)
        proba = model.predict_proba(x)
        return proba[:, classes.index(1)] if 1 in classes else np.zeros(x.shape[0])
    return np.asarray(model.predict(x), dtype=np.float64).reshape(-1)


def _fit(model: Any, x: np.ndarray, y: np.ndarray) -> Any:
    if is_classifier(model) and np.unique(y).size < 2:
        return float(y.mean())  # a classifier cannot fit one class: predict the constant
    return clone(model).fit(x, y)


def _pred(fitted: Any, x: np.ndarray) -> np.ndarray:
    return np.full(x.shape[0], fitted) if isinstance(fitted, float) else _predict(fitted, x)


def fit_reward_model(
    log: BanditLog,
    model: Any = None,
    *,
    n_folds: int = 5,
    per_action: bool = True,
    action_features: str = "onehot",
    rng: int | np.random.Generator | None = None,
) -> np.ndarray:
    """Cross-fitted reward model predictions :math:`\\hat q(x_i, a[, s])` for every action.

    Parameters
    ----------
    log : BanditLog
    model : scikit-learn estimator, optional
        Regressor, or classifier for 0/1 rewards. Default ``Ridge(alpha=1.0)``.
    n_folds : int
        Cross-fitting folds (1: in-sample).
    per_action : bool
        One model per action on that action's rows (features: context and slot one-hot). Actions
        without rows in a training fold fall back to the fold's mean reward. If False, one joint
        model on ``[context, action features, slot one-hot]``.
    action_features : {"onehot", "embed"}
        Action features of the joint model: one-hot, or ``log.action_embed`` rows.
    rng : seed for the fold split.

    Returns
    -------
    numpy.ndarray
        Shape (n, n_actions), or (n, n_actions, n_slots) when ``log.position`` is set.
    """
    if model is None:
        from sklearn.linear_model import Ridge

        model = Ridge(alpha=1.0)
    if not hasattr(model, "fit"):
        raise ConfigError(f"`model` must be a scikit-learn estimator; got {type(model).__name__}")
    if action_features not in ("onehot", "embed"):
        raise ConfigError(f"`action_features` must be 'onehot' or 'embed'; got {action_features!r}")
    if action_features == "embed" and log.action_embed is None:
        raise InvalidLogError("`action_features='embed'` needs `log.action_embed`")
    if is_classifier(model) and not np.isin(log.reward, (0.0, 1.0)).all():
        raise InvalidLogError("a classifier reward model needs 0/1 rewards; use a regressor")
    n, k = len(log), log.n_actions
    ctx = _context(log)
    n_slots = log.n_slots
    slot_oh = None if log.position is None else np.eye(n_slots)[log.position]
    afeat = np.eye(k) if action_features == "onehot" else log.action_embed
    out = np.empty((n, k, n_slots))

    def base(rows: np.ndarray, slot: int | None) -> np.ndarray:
        parts = [ctx[rows]]
        if slot_oh is not None:
            parts.append(slot_oh[rows] if slot is None else np.tile(np.eye(n_slots)[slot], (rows.size, 1)))
        return np.hstack(parts)

    for train, test in crossfit_folds(n, n_folds, rng):
        fallback = float(log.reward[train].mean())
        if per_action:
            for a in range(k):
                rows = train[log.action[train] == a]
                fitted = _fit(model, base(rows, None), log.reward[rows]) if rows.size >= 2 else (
                    float(log.reward[rows].mean()) if rows.size else fallback)
                for s in range(n_slots):
                    out[test, a, s] = _pred(fitted, base(test, s if slot_oh is not None else None))
        else:
            x = np.hstack([base(train, None), afeat[log.action[train]]])
            fitted = _fit(model, x, log.reward[train])
            for a in range(k):
                for s in range(n_slots):
                    xt = np.hstack([base(test, s if slot_oh is not None else None),
                                    np.tile(afeat[a], (test.size, 1))])
                    out[test, a, s] = _pred(fitted, xt)
    if not np.isfinite(out).all():
        raise InvalidLogError("the reward model produced non-finite predictions")
    return out[:, :, 0] if log.position is None else out


def fit_propensity_model(
    log: BanditLog,
    model: Any = None,
    *,
    labels: np.ndarray | None = None,
    n_classes: int | None = None,
    n_folds: int = 5,
    min_prob: float = 1e-4,
    rng: int | np.random.Generator | None = None,
) -> np.ndarray:
    """Cross-fitted class probabilities :math:`\\hat p(y_i = c \\mid x_i)` (default: the logged
    action), shape (n, n_classes), floored at ``min_prob`` and renormalised.

    ``model`` defaults to ``LogisticRegression(max_iter=1000)``; features are ``log.context``
    (a constant when absent, giving the marginal frequencies).
    """
    if model is None:
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(max_iter=1000)
    y = log.action if labels is None else np.asarray(labels, dtype=np.int64)
    c = log.n_actions if n_classes is None else int(n_classes)
    x = _context(log)
    out = np.zeros((len(log), c))
    for train, test in crossfit_folds(len(log), n_folds, rng):
        present = np.unique(y[train])
        if present.size == 1:
            out[test, present[0]] = 1.0
            continue
        fitted = clone(model).fit(x[train], y[train])
        out[np.ix_(test, np.asarray(fitted.classes_, dtype=np.int64))] = fitted.predict_proba(x[test])
    out = np.maximum(out, min_prob)
    return out / out.sum(axis=1, keepdims=True)


def estimate_pscore(log: BanditLog, model: Any = None, *, n_folds: int = 5,
                    rng: int | np.random.Generator | None = None) -> BanditLog:
    """A copy of ``log`` with cross-fitted estimated propensities of the logged actions and
    ``meta["pscore_estimated"] = True`` (reported in every estimate's diagnostics)."""
    probs = fit_propensity_model(log, model, n_folds=n_folds, rng=rng)
    p = probs[np.arange(len(log)), log.action]
    return log.replace(pscore=p, meta={**log.meta, "pscore_estimated": True})
