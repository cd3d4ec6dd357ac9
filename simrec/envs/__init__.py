"""Gymnasium environments over :mod:`simrec.sim`; registered on ``import simrec``."""

from __future__ import annotations

import gymnasium as gym

from .bandit import BanditEnv, BanditVectorEnv
from .conversation import ConversationEnv, ConversationVectorEnv
from .messaging import MessagingEnv, MessagingVectorEnv
from .retention import RetentionEnv, RetentionVectorEnv
from .slate import SlateEnv, SlateVectorEnv
from .wrappers import DistinctSlate

__all__ = [
    "ENV_IDS",
    "register_envs",
    "BanditEnv",
    "BanditVectorEnv",
    "SlateEnv",
    "SlateVectorEnv",
    "RetentionEnv",
    "RetentionVectorEnv",
    "MessagingEnv",
    "MessagingVectorEnv",
    "ConversationEnv",
    "ConversationVectorEnv",
    "DistinctSlate",
]

_ENVS = {
    "simrec/Bandit-v0": ("bandit", "BanditEnv", "BanditVectorEnv"),
    "simrec/Slate-v0": ("slate", "SlateEnv", "SlateVectorEnv"),
    "simrec/Retention-v0": ("retention", "RetentionEnv", "RetentionVectorEnv"),
    "simrec/Messaging-v0": ("messaging", "MessagingEnv", "MessagingVectorEnv"),
    "simrec/Conversation-v0": ("conversation", "ConversationEnv", "ConversationVectorEnv"),
}
ENV_IDS = tuple(_ENVS)


def register_envs() -> None:
    """Register every simrec environment with Gymnasium (idempotent)."""
    for env_id, (mod, single, vector) in _ENVS.items():
        if env_id in gym.registry:
            continue
        gym.register(
            id=env_id,
            entry_point=f"simrec.envs.{mod}:{single}",
            vector_entry_point=f"simrec.envs.{mod}:{vector}",
            disable_env_checker=False,
        )
