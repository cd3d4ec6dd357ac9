"""Named worlds. ``get("clickbait")`` returns a validated :class:`WorldConfig`."""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from .config import WorldConfig, make_config

__all__ = ["PRESETS", "names", "get", "describe"]

PRESETS: dict[str, tuple[str, dict[str, Any]]] = {
    "default": (
        "1,000 users, 1,000 items in 10 topics, 16-dim, slates of 5; every mechanism on, mild effects.",
        {},
    ),
    "clickbait": (
        "Attractiveness anti-correlated with quality and weighted heavily in choice; satisfaction "
        "drives leaving, return gaps and churn: clicks now vs retention later.",
        {
            "catalog": {"clickbait_corr": -0.8, "attractiveness_sd": 1.5},
            "choice": {"attractiveness_weight": 1.5, "affinity_weight": 2.0},
            "consumption": {"quality_weight": 2.0},
            "satisfaction": {"rate": 0.3},
            "session": {"satisfaction_weight": 2.5, "base": -2.2},
            "returns": {"gap_satisfaction_weight": 2.5, "churn_satisfaction_weight": 4.0, "churn_base": -3.0},
        },
    ),
    "cold-start": (
        "A catalog that grows: 200 items at step 0 and about 2 new items per step (up to 2,000 more).",
        {"catalog": {"n_items": 200, "new_items_per_step": 2.0, "max_new_items": 2000}},
    ),
    "large-catalog": (
        "100,000 items in 50 topics, 10,000 users, 16-dim embeddings, slates of 10.",
        {
            "slate_size": 10,
            "catalog": {"n_items": 100_000, "n_topics": 50},
            "population": {"n_users": 10_000},
        },
    ),
    "cascade": (
        "The default world with cascade examination instead of the position-based model.",
        {"examination": {"model": "cascade", "cascade_continue": 0.85}},
    ),
    "static": (
        "No dynamics: no drift, boredom, satisfaction, leaving or returns (a contextual-bandit world).",
        {
            "satisfaction": {"enabled": False},
            "drift": {"enabled": False},
            "boredom": {"enabled": False},
            "session": {"enabled": False},
            "returns": {"enabled": False},
        },
    ),
}


def names() -> list[str]:
    """The preset names."""
    return list(PRESETS)


def describe(name: str) -> str:
    """One line on what preset ``name`` models."""
    return _lookup(name)[0]


def get(name: str = "default", **overrides: Any) -> WorldConfig:
    """The config of preset ``name`` with ``overrides`` (nested dicts or dotted keys) applied."""
    _, data = _lookup(name)
    cfg = make_config({**data, "name": name})
    return cfg.replace(**overrides) if overrides else cfg


def _lookup(name: str) -> tuple[str, dict[str, Any]]:
    if name not in PRESETS:
        raise ConfigError(f"unknown world preset {name!r}; known presets: {', '.join(PRESETS)}")
    return PRESETS[name]


def resolve(config: str | dict[str, Any] | WorldConfig) -> WorldConfig:
    """A preset name, a dict (optionally with ``preset`` and overrides) or a config -> config."""
    if isinstance(config, WorldConfig):
        return config
    if isinstance(config, str):
        return get(config)
    if isinstance(config, dict):
        data = dict(config)
        preset = data.pop("preset", None)
        if preset is None:
            return make_config(data)
        return get(preset, **data)
    raise ConfigError(f"a world must be a preset name, a dict or a WorldConfig; got {type(config).__name__}")
