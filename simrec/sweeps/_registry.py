"""Names in sweep files -> objects: estimators, policies, reward models.

The only place the sweep runner touches the policy and estimator APIs, so an API change there is a
change here.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

__all__ = [
    "ESTIMATORS",
    "estimator_class",
    "make_estimator",
    "estimator_problems",
    "policy_names",
    "policy_problems",
    "make_policy",
    "collect",
    "reward_model",
]

#: estimator class names accepted in sweep files (case-insensitive)
ESTIMATORS = ("IPS", "SNIPS", "DM", "DR", "SNDR", "SwitchDR", "DRos", "SubGaussianIPS", "MIPS", "Replay",
              "BalancedIPS")
_EST_LOWER = {n.lower(): n for n in ESTIMATORS}


def estimator_class(name: str) -> type:
    """The :mod:`simrec.estimators.ope` class called ``name`` (case-insensitive)."""
    from ..estimators import ope

    canonical = _EST_LOWER.get(name.lower())
    if canonical is None:
        raise KeyError(name)
    return getattr(ope, canonical)


def make_estimator(name: str, params: dict[str, Any] | None, label: str) -> Any:
    """An estimator instance named ``label``."""
    return estimator_class(name)(**dict(params or {}), name=label)


def estimator_problems(name: str, params: Any) -> list[tuple[str, str]]:
    """``(field, message)`` problems of an estimator entry, found without running anything."""
    try:
        cls = estimator_class(name)
    except KeyError:
        return [("name", f"unknown estimator {name!r}; known: {', '.join(ESTIMATORS)}")]
    except ImportError as exc:  # pragma: no cover - the estimators package is missing
        return [("name", f"cannot import simrec.estimators.ope: {exc}")]
    if params is None:
        params = {}
    if not isinstance(params, dict):
        return []  # pydantic reports the type
    sig = inspect.signature(cls.__init__)
    accepted = [p for p in sig.parameters if p not in ("self", "name")]
    unknown = [k for k in params if k not in accepted]
    if unknown:
        hint = f"accepted: {', '.join(accepted)}" if accepted else f"{cls.__name__} takes no parameters"
        return [(f"params.{k}", f"unknown parameter of {cls.__name__} ({hint})") for k in unknown]
    try:
        cls(**params)
    except (TypeError, ValueError) as exc:
        return [("params", str(exc))]
    return []


# ---- policies -----------------------------------------------------------------------------------
def _policies_module() -> Any:
    import simrec.policies as pol

    if not hasattr(pol, "make_policy"):
        raise ImportError("simrec.policies has no make_policy yet")
    return pol


def policy_names() -> list[str] | None:
    """Names accepted by :func:`simrec.policies.make_policy` (None when the registry cannot list them)."""
    try:
        pol = _policies_module()
    except ImportError:
        return None
    for attr in ("policy_names", "names", "list_policies"):
        fn = getattr(pol, attr, None)
        if callable(fn):
            return list(fn())
    for attr in ("POLICIES", "REGISTRY", "registry"):
        reg = getattr(pol, attr, None)
        if isinstance(reg, dict):
            return list(reg)
    return None


def _policy_factory(name: str) -> Any:
    pol = _policies_module()
    for attr in ("POLICIES", "REGISTRY", "registry"):
        reg = getattr(pol, attr, None)
        if isinstance(reg, dict) and name in reg:
            return reg[name]
    return None


def policy_problems(name: str, params: Any, logging: bool = False) -> list[tuple[str, str]]:
    """``(field, message)`` problems of a policy entry: unknown name or unknown parameter names."""
    known = policy_names()
    if known is not None and name not in known:
        return [("name", f"unknown policy {name!r}; known: {', '.join(known)}")]
    factory = _policy_factory(name) if known is not None else None
    if factory is None or not isinstance(params, dict) or not params:
        return []
    try:
        sig = inspect.signature(factory)
    except (TypeError, ValueError):
        return []
    if any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
        return []
    accepted = [p for p in sig.parameters if p not in ("self", "env", "cls")]
    return [(f"params.{k}", f"unknown parameter of policy {name!r} (accepted: {', '.join(accepted)})")
            for k in params if k not in accepted]


def make_policy(name: str, env: Any, params: dict[str, Any] | None) -> Any:
    """``simrec.policies.make_policy(name, env, **params)``."""
    return _policies_module().make_policy(name, env, **dict(params or {}))


def collect(env: Any, policy: Any, n: int, seed: int) -> Any:
    """A :class:`~simrec.data.BanditLog` of ``n`` rounds of ``policy`` in ``env``."""
    return _policies_module().collect(env, policy, n, seed=seed)


# ---- reward model -------------------------------------------------------------------------------
def reward_model(spec: dict[str, Any], log: Any, rng: int) -> np.ndarray | None:
    """Cross-fitted reward model predictions (n, n_actions) for DM and the DR family."""
    from ..estimators import ope

    kind = spec.get("model", "ridge")
    if kind == "mean":
        return np.full((len(log), log.n_actions), float(np.mean(log.reward)))
    if kind == "ridge":
        from sklearn.linear_model import Ridge

        model: Any = Ridge(alpha=float(spec.get("alpha", 1.0)))
    else:
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=1.0 / float(spec.get("alpha", 1.0)), max_iter=200)
    return ope.fit_reward_model(log, model, n_folds=int(spec.get("n_folds", 2)),
                                per_action=bool(spec.get("per_action", False)), rng=rng)
