"""Small sweeps shared by the sweep, report and CLI tests (runs take well under a second each)."""

from __future__ import annotations

import copy
from typing import Any

TINY_WORLD = {"preset": "default", "population": {"n_users": 200}, "catalog": {"n_items": 50}}

TINY: dict[str, Any] = {
    "name": "tiny",
    "seeds": 2,
    "horizon": 20,
    "train_rounds": 200,
    "worlds": [TINY_WORLD],
    "policies": ["uniform", "oracle", {"name": "linucb", "label": "LinUCB"}],
    "logging": {"policy": "softmax", "n": 600},
    "estimators": ["IPS", "SNIPS", "DM", "DR", {"name": "SwitchDR", "params": {"tau": 5.0}}],
    "truth": {"episodes": 16, "train_batch": 50},
}

TINY_TOML = """\
name = "tiny"
seeds = 2
horizon = 20
train_rounds = 200
worlds = [{preset = "default", population.n_users = 200, catalog.n_items = 50}]
policies = ["uniform", "oracle", {name = "linucb", label = "LinUCB"}]
logging = {policy = "softmax", n = 600}
estimators = ["IPS", "SNIPS", "DM", "DR", {name = "SwitchDR", params = {tau = 5.0}}]
truth = {episodes = 16, train_batch = 50}
"""

TINY_YAML = """\
name: tiny
seeds: 2
horizon: 20
train_rounds: 200
worlds:
  - {preset: default, population: {n_users: 200}, catalog: {n_items: 50}}
policies: [uniform, oracle, {name: linucb, label: LinUCB}]
logging: {policy: softmax, n: 600}
estimators: [IPS, SNIPS, DM, DR, {name: SwitchDR, params: {tau: 5.0}}]
truth: {episodes: 16, train_batch: 50}
"""


def tiny(**changes: Any) -> dict[str, Any]:
    """A copy of :data:`TINY` with top-level ``changes``."""
    out = copy.deepcopy(TINY)
    out.update(copy.deepcopy(changes))
    return out
