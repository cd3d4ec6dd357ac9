"""The user-behaviour simulator (no Gymnasium here): catalog, population, mechanisms, World.

``mix_seeds(z)`` is the SplitMix64 finaliser on uint64 arrays that the simulator derives its
counter-based streams with; the environments use it to derive episode seeds and users.
``stream_uniform(key, counter, k)`` (numba) is the counter-based uniform itself: a pure function of
a stream key, a step counter and a draw index, for kernels whose results must not depend on threads.
"""

from . import presets
from ._rng import mix64_np as mix_seeds
from ._rng import uniform as stream_uniform
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
    "mix_seeds",
    "stream_uniform",
]
