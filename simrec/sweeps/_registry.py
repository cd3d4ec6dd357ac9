"""Names in sweep files -> objects: estimators (from :mod:`simrec.estimators.registry`), policies
(from :func:`simrec.policies.make_policy`), reward shaping (:mod:`simrec.policies.shaping`) and the
reward models of DM and the DR family. The sweep checks, the runs and ``simrec ope`` share them.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..estimators import registry
from ..policies import make_policy as _make_policy
from ..policies import policy_names as _policy_names
from ..policies import shaping

__all__ = [
    "needs_reward_model",
    "make_estimator",
    "estimator_problems",
    "policy_names",
    "policy_problems",
    "make_policy",
    "reward_fn",
    "shaping_problems",
    "reward_model",
]


def make_estimator(name: str, params: dict[str, Any] | None, label: str, random_state: int | None = None) -> Any:
    """An estimator instance named ``label`` (its random draws from ``random_state``)."""
    return registry.make(name, **dict(params or {}), name=label, random_state=random_state)


def estimator_problems(name: str, params: Any, log_kinds: tuple[str, ...] | None = None, env: str = "",
                       inputs: dict[str, frozenset[str]] | None = None, slate_env: bool = False
                       ) -> list[tuple[str, str]]:
    """``(field, message)`` problems of an estimator entry, found without running anything: an unknown
    name, unknown or invalid parameters, and (given ``log_kinds``) a log kind the env does not produce
    or an input (``needs.inputs``) a sweep cannot give it."""
    try:
        info = registry.get(name)
    except ConfigError as exc:
        return [("name", str(exc))]
    if params is None:
        params = {}
    if not isinstance(params, dict):
        return []  # pydantic reports the type
    accepted = [p for p in info.params() if p not in ("name", "random_state")]
    unknown = [k for k in params if k not in accepted]
    if unknown:
        hint = f"accepted: {', '.join(accepted)}" if accepted else f"{info.name} takes no parameters"
        return [(f"params.{k}", f"unknown parameter of {info.name} ({hint})") for k in unknown]
    try:
        info.cls(**params)
    except (TypeError, ValueError) as exc:
        return [("params", str(exc))]
    if log_kinds is None:
        return []
    kind = info.needs.log
    if kind not in log_kinds:
        fits = [i.name for i in registry.infos() if i.needs.log in log_kinds]
        return [("name", f"{info.name} reads {kind} logs; {env or 'this env'} sweeps produce "
                         f"{' and '.join(log_kinds)} logs (estimators that fit: {', '.join(fits)})")]
    have = set((inputs or {}).get(kind, frozenset()))
    if kind == "trajectories" and slate_env:  # slate actions: no dense action_dist, the reduced form instead
        have.discard("action_dist")
        if ("pi_logged" in info.cls.estimate_keywords and "action_dist" in info.needs.inputs
                and not getattr(info.cls, "dense_target", False)):
            have.add("action_dist")
    missing = [i for i in info.needs.inputs if i not in have]
    if missing:
        return [("name", f"{info.name} needs {', '.join(missing)}, which a {env or 'sweep'} run cannot provide "
                         f"for {kind} logs (it provides: {', '.join(sorted(have))})")]
    return []


def needs_reward_model(names: list[str]) -> bool:
    """Whether any of the estimators called ``names`` reads a reward model ``q_hat`` (required input)."""
    return any(registry.get(n).needs.requires("q_hat") for n in names)


# ---- policies -----------------------------------------------------------------------------------
def policy_names() -> list[str]:
    """Names accepted by :func:`simrec.policies.make_policy`."""
    return list(_policy_names())


def policy_problems(name: str, params: Any, env: Any = None) -> list[tuple[str, str]]:
    """``(field, message)`` problems of a policy entry: an unknown name, or parameters the policy
    rejects when built for ``env`` (checked only when ``env`` is given)."""
    known = policy_names()
    if name not in known:
        return [("name", f"unknown policy {name!r}; known: {', '.join(known)}")]
    if env is None or not isinstance(params, dict):
        return []
    try:
        make_policy(name, env, params, rng=0)
    except Exception as exc:  # noqa: BLE001 - any construction error is a problem of the entry
        return [("params" if params else "name", str(exc))]
    return []


def make_policy(name: str, env: Any, params: dict[str, Any] | None, rng: int | None = None,
                reward_fn: Any = None) -> Any:
    """``simrec.policies.make_policy(name, env, rng=rng, **params)`` (plus ``reward_fn`` when shaping)."""
    kw = dict(params or {})
    if reward_fn is not None:
        kw["reward_fn"] = reward_fn
    return _make_policy(name, env, rng=rng, **kw)


# ---- reward shaping -----------------------------------------------------------------------------
def reward_fn(name: str, params: dict[str, Any] | None, user_dim: int) -> Any:
    """The shaping function ``simrec.policies.shaping.<name>(**params)``; ``user_dim`` is filled in
    from the world when the function takes it."""
    fn = getattr(shaping, name)
    kw = dict(params or {})
    if "user_dim" in inspect.signature(fn).parameters:
        kw.setdefault("user_dim", user_dim)
    return fn(**kw)


def shaping_problems(name: str, params: Any) -> list[tuple[str, str]]:
    """Unknown or invalid parameters of a shaping function."""
    if not isinstance(params, dict) or not hasattr(shaping, name):
        return []
    sig = inspect.signature(getattr(shaping, name))
    unknown = [k for k in params if k not in sig.parameters]
    if unknown:
        return [(f"params.{k}", f"unknown parameter of {name} (accepted: {', '.join(sig.parameters)})")
                for k in unknown]
    bad = [k for k, v in params.items() if isinstance(v, bool) or not isinstance(v, (int, float))]
    return [(f"params.{k}", f"must be a number; got {params[k]!r}") for k in bad]


# ---- reward model -------------------------------------------------------------------------------
def reward_model(spec: dict[str, Any], log: Any, rng: int) -> np.ndarray:
    """Cross-fitted reward model predictions (n, n_actions) for DM and the DR family.

    ``bilinear`` (default): ridge regression of the reward on ``x (x) phi_a``, ``x`` and ``phi_a``
    (context, item features ``log.action_embed``), i.e. :math:`\\hat q(x, a) = x' W \\phi_a + b'x
    + c'\\phi_a + d`; closed form and vectorised over actions, so 1,000 items cost one matrix product.
    It falls back to ``ridge`` when the log has no item features. ``ridge``, ``ridge-per-action`` and
    ``logistic`` use :func:`simrec.estimators.ope.fit_reward_model` (one-hot actions in a joint model,
    one model per action, or a logistic joint model). ``mean`` predicts the mean reward.
    """
    from ..estimators import ope

    kind = spec.get("model", "bilinear")
    alpha = float(spec.get("alpha", 1.0))
    n_folds = int(spec.get("n_folds", 2))
    if kind == "mean":
        return np.full((len(log), log.n_actions), float(np.mean(log.reward)))
    if kind == "bilinear" and log.action_embed is not None and log.context is not None:
        return _bilinear(log, alpha, n_folds, rng)
    if kind == "logistic":
        from sklearn.linear_model import LogisticRegression

        model: Any = LogisticRegression(C=1.0 / alpha, max_iter=200)
    else:
        from sklearn.linear_model import Ridge

        model = Ridge(alpha=alpha)
    return ope.fit_reward_model(log, model, n_folds=n_folds, per_action=kind == "ridge-per-action", rng=rng)


def _bilinear_features(X: np.ndarray, F: np.ndarray) -> np.ndarray:
    n = X.shape[0]
    outer = (X[:, :, None] * F[:, None, :]).reshape(n, -1)
    return np.hstack([outer, X, F, np.ones((n, 1))])


def _bilinear(log: Any, alpha: float, n_folds: int, rng: int) -> np.ndarray:
    X = np.asarray(log.context, dtype=np.float64)
    Phi = np.asarray(log.action_embed, dtype=np.float64)
    r = np.asarray(log.reward, dtype=np.float64)
    n, d = X.shape
    e = Phi.shape[1]
    Z = _bilinear_features(X, Phi[log.action])
    folds = np.random.default_rng(rng).permutation(n) % max(1, n_folds)
    out = np.empty((n, Phi.shape[0]))
    lo, hi = float(r.min()), float(r.max())
    for f in range(max(1, n_folds)):
        test = folds == f
        train = ~test if n_folds > 1 else test
        Zt = Z[train]
        A = Zt.T @ Zt + alpha * np.eye(Zt.shape[1])
        w = np.linalg.solve(A, Zt.T @ r[train])
        W = w[: d * e].reshape(d, e)
        bx, bf, c = w[d * e: d * e + d], w[d * e + d: d * e + d + e], w[-1]
        Xs = X[test]
        out[test] = Xs @ W @ Phi.T + (Xs @ bx)[:, None] + (Phi @ bf)[None, :] + c
    return np.clip(out, lo, hi)
