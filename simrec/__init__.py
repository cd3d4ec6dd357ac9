"""simrec: recommender-system simulation and offline evaluation.

Importing simrec registers the Gymnasium environments ``simrec/Bandit-v0``, ``simrec/Slate-v0``,
``simrec/Retention-v0`` and ``simrec/Messaging-v0``.
"""

__version__ = "0.1.0"

from .envs import register_envs as _register_envs  # noqa: E402

_register_envs()
