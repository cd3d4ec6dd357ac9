"""Dotted-key overrides and validation messages: the one place sweeps merge ``a.b.c = value`` keys
into nested data and turn pydantic errors into ``(path, message)`` problems.

* nested or dotted world overrides are merged by :func:`simrec.sim.config.merge_overrides` (the one
  implementation of the merging);
* :func:`assign` applies ``key.path=value`` strings to a raw sweep mapping (``--set``);
* :func:`validation_problems` formats a pydantic ``ValidationError`` as ``(path, message)`` pairs
  (the simulator's :func:`simrec.sim.config.validation_problems`, one wording for every config);
* :func:`value_problems` flags what pydantic lets through where a number is expected: booleans
  (``horizon = true`` would run as 1) and non-finite floats (TOML allows ``nan`` and ``inf``).
"""

from __future__ import annotations

import copy
import math
from typing import Any

import yaml

from ..sim.config import validation_problems

__all__ = ["Problem", "assign", "validation_problems", "value_problems"]

#: a problem found in a sweep file: (dotted path, message)
Problem = tuple[str, str]


def value_problems(base: dict[str, Any], overrides: dict[str, Any], path: str = "") -> list[Problem]:
    """Booleans where ``base`` holds a number, and NaN/infinity anywhere, in ``overrides``."""
    problems: list[Problem] = []
    for key, value in overrides.items():
        parts = str(key).split(".")
        node: Any = base
        for p in parts:
            node = node.get(p) if isinstance(node, dict) else None
        here = f"{path}.{key}" if path else str(key)
        if isinstance(value, dict):
            problems += value_problems(node if isinstance(node, dict) else {}, value, here)
        elif isinstance(value, bool):
            if isinstance(node, (int, float)) and not isinstance(node, bool):
                kind = "an integer" if isinstance(node, int) else "a number"
                problems.append((here, f"expected {kind}, got a boolean ({str(value).lower()})"))
        elif isinstance(value, float) and not math.isfinite(value):
            problems.append((here, f"must be a finite number; got {value}"))
    return problems


def assign(data: dict[str, Any], assignments: list[str] | tuple[str, ...]) -> tuple[dict[str, Any], list[Problem]]:
    """Apply ``key.path=value`` assignments (values parsed as YAML scalars/lists) to a copy of ``data``.

    Integer parts index lists (``worlds.0.population.n_users=200``); missing tables are created.
    Returns the new mapping and the assignments that could not be applied.
    """
    out = copy.deepcopy(data)
    problems: list[Problem] = []
    for text in assignments:
        if "=" not in text:
            problems.append((text, "an override must look like key.path=value"))
            continue
        key, _, value_s = text.partition("=")
        try:
            value = yaml.safe_load(value_s)
        except yaml.YAMLError:
            value = value_s
        parts = key.strip().split(".")
        node: Any = out
        ok = True
        for i, p in enumerate(parts[:-1]):
            nxt = parts[i + 1]
            if isinstance(node, list):
                if not p.isdigit() or int(p) >= len(node):
                    problems.append((key, f"{p!r} is not an index of the list at {'.'.join(parts[:i]) or '<root>'}"))
                    ok = False
                    break
                node = node[int(p)]
            elif isinstance(node, dict):
                if p not in node:
                    node[p] = [] if nxt.isdigit() else {}
                node = node[p]
            else:
                problems.append((key, f"{'.'.join(parts[:i + 1])} is not a table"))
                ok = False
                break
        if not ok:
            continue
        last = parts[-1]
        if isinstance(node, list) and last.isdigit() and int(last) < len(node):
            node[int(last)] = value
        elif isinstance(node, dict):
            node[last] = value
        else:
            problems.append((key, "cannot assign here"))
    return out, problems
