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


#: a tiny world for the slate and long-term envs (enumerable slates of 2 from 12 items)
SMALL_WORLD = {"preset": "clickbait", "population": {"n_users": 60}, "catalog": {"n_items": 12}}


def env_sweep(env: str, **changes: Any) -> dict[str, Any]:
    """A tiny sweep on ``env`` with policies and estimators that fit it (about 2 s a run)."""
    base: dict[str, Any] = {"name": "env-" + env.split("/")[-1].lower(), "env": env, "seeds": 2, "train_rounds": 100,
                            "worlds": [SMALL_WORLD], "logging": {"policy": "uniform", "n": 300, "episodes": 12},
                            "estimators": ["IPS", "SNIPS", "DR"],
                            "truth": {"episodes": 8, "step_episodes": 200, "train_batch": 20}}
    if env == "simrec/Bandit-v0":
        base.update(horizon=5, policies=["uniform", "softmax", {"name": "linucb", "label": "LinUCB"}])
    elif env == "simrec/Slate-v0":
        base.update(slate_size=2, policies=["uniform", "topk", {"name": "slateq", "params": {"gamma": 0.5}}])
    elif env == "simrec/Retention-v0":
        base.update(slate_size=2, horizon_days=3, policies=[
            "uniform", {"name": "epsilon-greedy", "label": "click-greedy"},
            {"name": "slateq", "shaping": {"name": "retention_bonus", "params": {"penalty": 2.0}}}])
    else:
        base.update(horizon_days=3, policies=["uniform", "softmax", "linear-q",
                                              {"name": "reinforce", "train": "log"}])
    base.update(copy.deepcopy(changes))
    return base
