"""The meaning of a sweep file, checked before anything runs: the env is a simrec env and takes the
env parameters given; worlds are known presets whose overrides are valid (no booleans for numbers,
no NaN or infinity); policies, shaping functions and estimators exist with valid parameters; every
estimator reads a log kind the env produces and needs only inputs a run can give it (what each
estimator declares in ``needs``). Every problem comes back as ``(path, message)``; the raw data
is read defensively, since the structural pass may have failed on parts of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError

from ..sim.config import merge_overrides
from . import _registry
from .overrides import Problem, validation_problems, value_problems
from .profiles import INPUTS, PROFILES, make_env, profile, world_overrides
from .schema import ENV_AXES, EstimatorSpec, LoggingSpec, WorldSpec, _named

__all__ = ["semantic_problems"]


def semantic_problems(raw: dict[str, Any]) -> list[Problem]:
    """Problems pydantic cannot see (see the module docstring)."""
    problems: list[Problem] = []
    env = raw.get("env", "simrec/Bandit-v0")
    prof = PROFILES.get(env) if isinstance(env, str) else None
    if prof is None:
        problems.append(("env", f"unknown env {env!r}; sweeps run on {', '.join(PROFILES)}"))
    else:
        for k in ENV_AXES:
            if raw.get(k) is not None and k not in prof.params:
                problems.append((k, f"{env} takes no `{k}` (its parameters: {', '.join(prof.params)})"))
    axes = _axis_values(raw)
    worlds = raw.get("worlds")
    if isinstance(worlds, list):
        for i, w in enumerate(worlds):
            problems += _world_problems(w, f"worlds.{i}", axes, prof)
    probe = _probe_env(env, worlds, axes) if prof is not None and not problems else None
    problems += _policy_problems(raw, probe, prof)
    problems += _logging_problems(raw, probe)
    problems += _estimator_problems(raw, prof)
    return problems


def _axis_values(raw: dict[str, Any]) -> dict[str, list[Any]]:
    out = {}
    for k in ("slate_size", "reward"):
        v = raw.get(k)
        if v is not None:
            out[k] = list(v) if isinstance(v, (list, tuple)) else [v]
    return out


def _world_problems(w: Any, path: str, axes: dict[str, list[Any]], prof: Any = None) -> list[Problem]:
    from ..sim import presets
    from ..sim.config import WorldConfig

    if isinstance(w, str):
        w = {"preset": w}
    if not isinstance(w, dict):
        return []
    try:
        spec = WorldSpec.model_validate(w)
    except ValidationError:
        return []  # reported by the structural pass
    if spec.source is not None:  # a calibrated world: its file must load, and nothing may change it
        from ..errors import ConfigError
        from ..sim import calibrated

        try:
            calibrated.load(spec.source)
        except ConfigError as exc:
            return [(f"{path}.from", str(exc))]
        if axes:
            return [(f"{path}.from", f"a calibrated world takes no world-changing env parameters ({sorted(axes)})")]
        if prof is not None and prof.step_world:
            return [(f"{path}.from", f"{prof.env} cuts episodes by changing the world config; a calibrated world "
                                     "runs on simrec/Bandit-v0")]
        return []
    if spec.preset not in presets.PRESETS:
        return [(f"{path}.preset", f"unknown preset {spec.preset!r}; known presets: {', '.join(presets.names())}")]
    base = presets.get(spec.preset).model_dump()
    problems = value_problems(base, spec.overrides, path)
    problems += merge_overrides(base, spec.overrides, path)
    if problems:
        return problems
    combos = [{}]
    for k, vals in axes.items():
        combos = [{**c, k: v} for c in combos for v in vals if not isinstance(v, bool)]
    seen: set[tuple[str, str]] = set()
    for extra in combos:
        data = dict(base)
        merge_overrides(data, world_overrides(extra))
        try:
            WorldConfig.model_validate(data)
        except ValidationError as exc:
            for p, m in validation_problems(exc, path):
                if extra:
                    m += " (with " + ", ".join(f"{k}={v}" for k, v in extra.items()) + ")"
                if (p, m) not in seen:
                    seen.add((p, m))
                    problems.append((p, m))
    return problems


def _probe_env(env: str, worlds: Any, axes: dict[str, list[Any]]) -> Any:
    """The env of the first world, to check policy parameters against (None if unusable)."""
    if not isinstance(worlds, list) or not worlds:
        return None
    try:
        cfg = WorldSpec.model_validate(worlds[0]).config(**world_overrides({k: v[0] for k, v in axes.items()}))
        return make_env(env, cfg.model_dump(), {})
    except Exception:  # noqa: BLE001 - the world's own problems are reported elsewhere
        return None


def _duplicate(seen: dict[str, str], key: str, path: str, what: str) -> list[Problem]:
    """Record ``key`` at ``path``; a problem if an earlier entry already used it."""
    if key in seen:
        return [(path, f"duplicate {what} {key!r} (also {seen[key]}); set `label`")]
    seen[key] = path
    return []


def _duplicate_spec(seen: dict[str, str], spec: type, entry: Any, path: str, what: str) -> list[Problem]:
    """:func:`_duplicate` keyed by ``entry``'s identity as the model ``spec`` reads it (no problem
    when ``entry`` does not validate: the schema pass reports that)."""
    try:
        key = spec.model_validate(entry).key
    except ValidationError:
        return []
    return _duplicate(seen, key, path, what)


def _named_entries(raw: dict[str, Any], section: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(index, entry)`` of the entries of list ``section`` that name something (a bare name is read as
    ``{name = ...}``); the schema pass reports the others."""
    entries = raw.get(section)
    if not isinstance(entries, list):
        return
    for i, e in enumerate(entries):
        e = _named(e)
        if isinstance(e, dict) and isinstance(e.get("name"), str):
            yield i, e


def _policy_problems(raw: dict[str, Any], probe: Any, prof: Any) -> list[Problem]:
    problems: list[Problem] = []
    keys: dict[str, str] = {}
    for i, p in _named_entries(raw, "policies"):
        path = f"policies.{i}"
        found = _registry.policy_problems(p["name"], p.get("params") or {}, probe)
        if p["name"] == "oracle" and prof is not None and prof.env != "simrec/Bandit-v0":
            found = [("name", f"the oracle scores the live state of its own env's rows, so on {prof.env} it cannot "
                              "be evaluated on logged data or in rollouts; it is available on simrec/Bandit-v0")]
        problems += [(f"{path}.{k}", m) for k, m in found]
        sh = _named(p.get("shaping"))
        if isinstance(sh, dict) and isinstance(sh.get("name"), str):
            problems += [(f"{path}.shaping.{k}", m) for k, m in _registry.shaping_problems(sh["name"],
                                                                                          sh.get("params") or {})]
        if p.get("train") == "log" and probe is not None and not found:
            problems += _train_from_log_problems(p, probe, prof, path)
        problems += _duplicate(keys, p.get("label") or p["name"], path, "policy")
    return problems


def _train_from_log_problems(p: dict[str, Any], probe: Any, prof: Any, path: str) -> list[Problem]:
    try:
        pol = _registry.make_policy(p["name"], probe, p.get("params"), rng=0)
    except Exception:  # noqa: BLE001 - reported by policy_problems
        return []
    if prof.slate:
        return [(f"{path}.train", f"train = \"log\" needs single-item logs; {prof.env} logs slates "
                                  "(use train = \"online\")")]
    if not hasattr(pol, "fit"):
        return [(f"{path}.train", f"policy {p['name']!r} cannot learn from logged data (no `fit`); "
                                  "use train = \"online\"")]
    return []


def _logging_problems(raw: dict[str, Any], probe: Any) -> list[Problem]:
    logs = raw.get("logging")
    logs = [logs] if isinstance(logs, dict) else logs
    if not isinstance(logs, list):
        return []
    problems: list[Problem] = []
    keys: dict[str, str] = {}
    for i, lg in enumerate(logs):
        if not isinstance(lg, dict):
            continue
        if isinstance(lg.get("policy"), str):
            found = _registry.policy_problems(lg["policy"], lg.get("params") or {}, probe)
            problems += [(f"logging.{i}.{'policy' if k == 'name' else k}", m) for k, m in found]
        mix = lg.get("mixture")
        if isinstance(mix, list):
            for j, c in enumerate(mix):
                if isinstance(c, dict) and isinstance(c.get("policy"), str):
                    found = _registry.policy_problems(c["policy"], c.get("params") or {}, probe)
                    problems += [(f"logging.{i}.mixture.{j}.{'policy' if k == 'name' else k}", m) for k, m in found]
        problems += _duplicate_spec(keys, LoggingSpec, lg, f"logging.{i}", "logging policy")
    return problems


def _estimator_problems(raw: dict[str, Any], prof: Any) -> list[Problem]:
    problems: list[Problem] = []
    keys: dict[str, str] = {}
    for i, e in _named_entries(raw, "estimators"):
        if prof is None:
            found = _registry.estimator_problems(e["name"], e.get("params"))
        else:
            found = _registry.estimator_problems(e["name"], e.get("params"), prof.log_kinds, prof.env, INPUTS,
                                                 prof.slate)
        problems += [(f"estimators.{i}.{k}", m) for k, m in found]
        problems += _duplicate_spec(keys, EstimatorSpec, e, f"estimators.{i}", "estimator")
    return problems


def log_kinds_needed(estimators: list[str], env: str) -> list[str]:
    """The log kinds a run must collect for ``estimators`` on ``env``, in the profile's order."""
    from ..estimators import registry

    kinds = {registry.get(n).needs.log for n in estimators}
    return [k for k in profile(env).log_kinds if k in kinds]
