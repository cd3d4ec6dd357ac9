"""Read what a policy needs (spaces, item features, the truth interface) off a Gymnasium env.

Works on simrec single envs (possibly wrapped by ``gym.make``), simrec vector envs, any Gymnasium
env with a ``Box`` observation space and a ``Discrete``/``MultiDiscrete`` action space, and on a
``(observation_space, action_space)`` pair.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from ..errors import InvalidPolicyInputError

__all__ = ["env_truth", "env_spaces", "env_item_features", "env_item_texts", "env_observation_encoder",
           "is_vector_env", "n_available", "needs_encoding", "EncodedObservations"]


def env_truth(env: Any) -> Any:
    """The truth interface ``env.unwrapped.truth`` of a simrec env (``None`` for other envs and for
    ``(observation_space, action_space)`` pairs)."""
    if isinstance(env, (tuple, list, dict)):
        return None
    try:
        return getattr(env.unwrapped, "truth", None)
    except AttributeError:
        return None


def is_vector_env(env: Any) -> bool:
    """True for a Gymnasium vector env."""
    return isinstance(env, gym.vector.VectorEnv) or hasattr(env, "num_envs") and hasattr(env, "single_action_space")


def _spaces(env_or_spaces: Any) -> tuple[gym.Space, gym.Space]:
    if isinstance(env_or_spaces, (tuple, list)) and len(env_or_spaces) == 2:
        return env_or_spaces[0], env_or_spaces[1]
    if isinstance(env_or_spaces, dict):
        return env_or_spaces["observation_space"], env_or_spaces["action_space"]
    if is_vector_env(env_or_spaces):
        return env_or_spaces.single_observation_space, env_or_spaces.single_action_space
    if hasattr(env_or_spaces, "observation_space") and hasattr(env_or_spaces, "action_space"):
        return env_or_spaces.observation_space, env_or_spaces.action_space
    raise InvalidPolicyInputError(
        "expected a Gymnasium env, a vector env or an (observation_space, action_space) pair; "
        f"got {type(env_or_spaces).__name__}")


def env_observation_encoder(env: Any) -> Any:
    """The documented observation encoder of an env (``env.observation_encoder`` on the env or any
    wrapper, else on ``env.unwrapped``), or None.

    An encoder has ``space()`` (the 1-D ``Box`` of encoded observations), ``transform(obs)`` (the env's
    raw observations -> rows of that Box), ``request_slice`` (where the encoding of the user's request
    sits) and ``encoder`` (the text encoder: ``dim`` and ``encode(texts)``); ``simrec/Conversation-v0``
    documents its own (:class:`simrec.envs.conversation.ConversationObservation`).
    """
    if isinstance(env, (tuple, list, dict)):
        return None
    e, seen = env, 0
    while e is not None and seen < 20:  # wrappers first: a wrapper may change the observations
        enc = e.__dict__.get("observation_encoder") if hasattr(e, "__dict__") else None
        enc = enc or getattr(type(e), "observation_encoder", None) and e.observation_encoder
        if enc is not None:
            return enc
        e = getattr(e, "env", None)
        seen += 1
    return getattr(getattr(env, "unwrapped", None), "observation_encoder", None)


def needs_encoding(env: Any) -> bool:
    """True when ``env``'s observations are not a 1-D ``Box`` and policies must see them through
    its :func:`env_observation_encoder`."""
    obs_space, _ = _spaces(env)
    return not (isinstance(obs_space, gym.spaces.Box) and len(obs_space.shape) == 1)


class EncodedObservations:
    """A policy seen through an env's observation encoder: ``act``/``action_probs``/``update`` encode
    the env's raw observations (text, dicts) into vectors first. Everything else is the inner policy's."""

    def __init__(self, policy: Any, transform: Any) -> None:
        self.policy = policy
        self.transform = transform

    def __getattr__(self, name: str) -> Any:
        if name in ("policy", "transform") or name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.policy, name)

    def action_probs(self, obs: Any, *args: Any, **kw: Any) -> np.ndarray:
        return self.policy.action_probs(self.transform(obs), *args, **kw)

    def act(self, obs: Any, rng: Any = None, *args: Any, **kw: Any) -> tuple[Any, Any]:
        single = isinstance(obs, dict)
        a, p = self.policy.act(self.transform(obs), rng, *args, **kw)
        return (a[0], float(p[0])) if single else (a, p)

    def update(self, obs: Any, actions: Any, rewards: Any, propensities: Any = None, **feedback: Any) -> None:
        self.policy.update(self.transform(obs), actions, rewards, propensities, **feedback)

    def __repr__(self) -> str:
        return f"EncodedObservations({self.policy!r})"


def env_item_texts(env: Any) -> list[str] | None:
    """The catalog text (title and description) of every released item of a simrec env (None otherwise)."""
    truth = env_truth(env)
    return None if truth is None else truth.item_texts()


def env_spaces(env_or_spaces: Any) -> tuple[int, int, int | None]:
    """``(obs_dim, n_actions, slate_size)``; ``slate_size`` is None for a ``Discrete`` action space.

    For a simrec env whose catalog grows, ``n_actions`` is the number of items released so far.
    An env whose observations are not a 1-D ``Box`` (text, dicts) works when it documents an
    observation encoder (:func:`env_observation_encoder`): ``obs_dim`` is then the size of the encoded
    observation, which is what vector-observation policies are given.
    """
    obs_space, act_space = _spaces(env_or_spaces)
    if not isinstance(obs_space, gym.spaces.Box) or len(obs_space.shape) != 1:
        enc = env_observation_encoder(env_or_spaces)
        if enc is None:
            raise InvalidPolicyInputError(
                f"policies need a 1-D Box observation space, or an env that documents an observation_encoder "
                f"turning its observations into one; got {obs_space}")
        obs_space = enc.space()
    obs_dim = int(obs_space.shape[0])
    if isinstance(act_space, gym.spaces.Discrete):
        n, k = int(act_space.n), None
    elif isinstance(act_space, gym.spaces.MultiDiscrete) and act_space.nvec.ndim == 1:
        nvec = np.asarray(act_space.nvec)
        if not (nvec == nvec[0]).all():
            raise InvalidPolicyInputError(f"slate action spaces need equal sizes per slot; got {nvec}")
        n, k = int(nvec[0]), int(nvec.shape[0])
    else:
        raise InvalidPolicyInputError(f"policies need a Discrete or MultiDiscrete action space; got {act_space}")
    truth = env_truth(env_or_spaces)
    if truth is not None:  # Messaging-v0: action 0 = no notification, then the released items
        n = min(n, truth.n_available + truth.action_offset)
    return obs_dim, n, k


def n_available(env: Any) -> int | None:
    """Items released so far in a simrec env's world (None for other envs)."""
    truth = env_truth(env)
    return None if truth is None else truth.n_available


def env_item_features(env_or_spaces: Any) -> np.ndarray | None:
    """The observable item embeddings ``(n_items, dim)`` of a simrec env (None otherwise)."""
    truth = env_truth(env_or_spaces)
    return None if truth is None else truth.item_features()
