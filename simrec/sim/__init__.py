"""The user-behaviour simulator (no Gymnasium here): catalog, population, mechanisms, World."""

from . import presets
from .catalog import Catalog
from .config import WorldConfig, make_config
from .population import Population
from .world import Feedback, NotifyFeedback, PolicyValue, SessionEnd, UserBatch, World

__all__ = [
    "World",
    "WorldConfig",
    "make_config",
    "presets",
    "Catalog",
    "Population",
    "UserBatch",
    "Feedback",
    "SessionEnd",
    "NotifyFeedback",
    "PolicyValue",
]
