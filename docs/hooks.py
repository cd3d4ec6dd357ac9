"""MkDocs hook: fill the reference tables of the docs from the code at build time.

A page holds a marker such as ``<!-- simrec:sweep-fields -->``; :func:`on_page_markdown` replaces it
with a table generated from the pydantic models, the estimator registry or the registered
environments, so the docs cannot drift from the code. ``tests/test_docs.py`` imports this file.
"""

from __future__ import annotations

import inspect
import re
import typing
from typing import Any

from pydantic import BaseModel


def _type_name(ann: Any) -> str:
    text = ann.__name__ if isinstance(ann, type) else str(ann)
    text = re.sub(r"\btyping\.", "", text)
    text = re.sub(r"simrec\.[\w.]+\.", "", text)
    return text.replace("NoneType", "None").replace("|", "or")


def _default(field: Any) -> str:
    if field.is_required():
        return "required"
    if field.default_factory is not None:
        value = field.default_factory()
    else:
        value = field.default
    if isinstance(value, BaseModel):
        return "(table below)"
    return f"`{value!r}`"


def _nested_model(ann: Any) -> type[BaseModel] | None:
    """The pydantic model inside ``ann`` (``Model``, ``tuple[Model, ...]``), if any."""
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann
    for arg in typing.get_args(ann):
        m = _nested_model(arg)
        if m is not None:
            return m
    return None


def model_fields(model: type[BaseModel], prefix: str = "") -> list[tuple[str, str, str, str]]:
    """``(dotted key, type, default, description)`` of every field of ``model``, nested models
    flattened (``worlds[].preset``, ``choice.no_click_utility``)."""
    rows = []
    for name, f in model.model_fields.items():
        nested = _nested_model(f.annotation)
        seq = typing.get_origin(f.annotation) in (tuple, list)
        key = prefix + name
        desc = (f.description or "").replace("|", "\\|")
        if nested is not None:
            if seq:
                doc = (nested.__doc__ or "").strip().splitlines() or [""]
                rows.append((key, f"list of {nested.__name__}", _default(f), desc or doc[0]))
                rows += model_fields(nested, key + "[].")
            else:
                rows += model_fields(nested, key + ".")
        else:
            rows.append((key, _type_name(f.annotation), _default(f), desc))
    return rows


def fields_table(model: type[BaseModel]) -> str:
    lines = ["| key | type | default | meaning |", "|---|---|---|---|"]
    lines += [f"| `{k}` | {t} | {d} | {m} |" for k, t, d, m in model_fields(model)]
    return "\n".join(lines)


def estimator_table() -> str:
    from simrec.estimators import registry

    lines = ["| estimator | family | needs | parameters (defaults) | definition |", "|---|---|---|---|---|"]
    for info in registry.infos():
        params = ", ".join(f"`{k}={v!r}`" for k, v in info.params().items()
                           if k not in ("name", "random_state") and v is not inspect.Parameter.empty)
        doc = (info.cls.__doc__ or "").strip().splitlines()
        needs = ", ".join(info.needs.inputs) + (f" (optional {', '.join(info.needs.optional)})"
                                                if info.needs.optional else "")
        lines.append(f"| `{info.name}` | {info.family} | {needs} | {params or '-'} | {doc[0] if doc else ''} |")
    return "\n".join(lines)


def env_table() -> str:
    import gymnasium as gym

    import simrec

    lines = ["| id | observation space | action space | vector env |", "|---|---|---|---|"]
    for env_id in simrec.envs.ENV_IDS:
        env = gym.make(env_id, disable_env_checker=True)
        spec = gym.spec(env_id)
        lines.append(f"| `{env_id}` | `{env.observation_space}` | `{env.action_space}` | "
                     f"{'yes' if spec.vector_entry_point else 'no'} |")
        env.close()
    return "\n".join(lines)


def _generators() -> dict[str, Any]:
    from simrec.sim import WorldConfig
    from simrec.sweeps.experiment import ExperimentSweepSpec
    from simrec.sweeps.spec import SweepSpec

    return {"sweep-fields": lambda: fields_table(SweepSpec), "world-fields": lambda: fields_table(WorldConfig),
            "experiment-fields": lambda: fields_table(ExperimentSweepSpec),
            "estimators": estimator_table, "envs": env_table}


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    gens = _generators()

    def sub(m: re.Match) -> str:
        key = m.group(1)
        if key not in gens:
            raise ValueError(f"unknown docs marker simrec:{key}")
        return gens[key]()

    return re.sub(r"<!-- simrec:([\w-]+) -->", sub, markdown)
