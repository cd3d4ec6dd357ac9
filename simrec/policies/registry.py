"""Build policies by name from an env (or its spaces): ``make_policy("linucb", env, alpha=0.5)``.

Names (see :func:`policy_names`): ``uniform``, ``popularity``, ``softmax``, ``epsilon-greedy``,
``epsilon-mixture``, ``ucb1``, ``linucb``, ``linear-ts``, ``bernoulli-ts``, ``logistic-ts``, ``oracle``,
``topk``, ``plackett-luce``, ``reinforce``, ``q-learning``, ``linear-q``, ``slateq``, ``llm``
(:class:`~simrec.policies.llm.LLMRecommender`: ``backend=`` a backend or a spec dict, ``template=``).

On an env with a slate action space (``Slate-v0``, ``Retention-v0``) a single-action policy is
wrapped so that it shows a slate: ``TopK`` over its scores (``slate="topk"``, default) or
``PlackettLuce`` (``slate="plackett-luce"``, with ``temperature``).

Score-based policies (``softmax``, ``topk``, ``plackett-luce``) take ``scores``: ``"affinity"``
(default: the user features dotted with the item features, what a content-based recommender would
use), ``"oracle"`` (the simulator's exact expected reward), the name of another policy (its scores),
a list of per-item scores, or a callable.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import InvalidPolicyInputError
from .bandits import UCB1, BernoulliTS, EpsilonGreedy, LinearTS, LinUCB, LogisticTS
from .base import BasePolicy
from .baselines import EpsilonMixture, Oracle, Popularity, Softmax, Uniform
from .envtools import (
    EncodedObservations,
    env_item_features,
    env_item_texts,
    env_observation_encoder,
    env_spaces,
    env_truth,
    needs_encoding,
)
from .qlearning import LinearQ, QLearning, SlateQ
from .reinforce import REINFORCE
from .slates import PlackettLuce, TopK

__all__ = ["make_policy", "policy_names", "policy_parameters", "register_policy"]

_Builder = Callable[..., BasePolicy]
_REGISTRY: dict[str, _Builder] = {}


class _Ctx:
    """What builders need to know about the env."""

    def __init__(self, env: Any) -> None:
        self.env = env
        self.obs_dim, self.n_actions, self.slate_size = env_spaces(env)
        self.item_features = env_item_features(env)
        # Messaging-v0: action 0 = no notification, item a - 1 otherwise
        self.offset = 1 if self.item_features is not None and _has_null_action(env) else 0

    def affinity(self) -> Callable[[np.ndarray], np.ndarray]:
        F = self.item_features
        if F is None:
            raise InvalidPolicyInputError("scores='affinity' needs a simrec env (item features)")
        d, off = F.shape[1], self.offset

        def fn(X: np.ndarray) -> np.ndarray:  # every item of the capacity; policies keep the released ones
            s = X[:, :d] @ F.T
            return np.hstack([np.zeros((X.shape[0], off)), s]) if off else s

        return fn

    def scores(self, scores: Any, rng: Any) -> Any:
        if scores is None or (isinstance(scores, str) and scores == "affinity"):
            return self.affinity()
        if isinstance(scores, str):
            return make_policy(scores, self.env, rng=rng, slate=None)
        return scores


def _has_null_action(env: Any) -> bool:
    truth = env_truth(env)
    return truth is not None and truth.action_offset > 0


def register_policy(name: str) -> Callable[[_Builder], _Builder]:
    """Decorator registering ``builder(ctx, **params) -> policy`` under ``name``."""

    def deco(fn: _Builder) -> _Builder:
        _REGISTRY[name] = fn
        return fn

    return deco


def policy_names() -> list[str]:
    """The registered policy names."""
    return sorted(_REGISTRY)


def make_policy(name: str, env_or_spaces: Any, *, rng: int | np.random.Generator | None = None,
                slate: str | None = "auto", **params: Any) -> BasePolicy:
    """Build the policy registered as ``name`` for ``env_or_spaces``.

    Parameters
    ----------
    name : str
        A registered name (:func:`policy_names`).
    env_or_spaces : gymnasium.Env, VectorEnv or (observation_space, action_space)
    rng : int, Generator or None
        Seed of the policy.
    slate : {"auto", "topk", "plackett-luce"} or None
        How a single-action policy fills a slate on slate envs (``temperature`` goes with
        ``"plackett-luce"``). ``"auto"``: a policy with exact stochastic propensities (uniform,
        softmax, epsilon-greedy, ...) samples its slate without replacement (Plackett-Luce over its
        probabilities, so ``uniform`` shows uniformly random slates); a greedy or Thompson-sampling
        policy shows the top-K of its scores.
    **params
        Hyper-parameters of the policy (e.g. ``alpha`` for LinUCB, ``epsilon``).

    Examples
    --------
    >>> import gymnasium as gym, simrec
    >>> env = gym.make("simrec/Bandit-v0", world={"preset": "default", "catalog": {"n_items": 20}})
    >>> make_policy("linucb", env, alpha=0.5, rng=0)
    LinUCB(n_actions=20)
    """
    if name not in _REGISTRY:
        near = difflib.get_close_matches(str(name), policy_names(), n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        raise InvalidPolicyInputError(f"unknown policy {name!r}{hint}; known policies: {', '.join(policy_names())}")
    known = policy_parameters(name)
    for key in params:
        if key not in known and not (key == "temperature" and slate in ("auto", "plackett-luce")):
            near = difflib.get_close_matches(key, list(known) + ["temperature"], n=1)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            raise InvalidPolicyInputError(
                f"unknown parameter {key!r} for policy {name!r}{hint} (its parameters: "
                f"{', '.join(known) or 'none'}; see `simrec policies`)")
    ctx = _Ctx(env_or_spaces)
    temperature = params.pop("temperature", None) if slate in ("auto", "plackett-luce") and name not in (
        "softmax", "plackett-luce") else None
    try:
        pol = _REGISTRY[name](ctx, rng=rng, **params)
    except TypeError as exc:
        raise InvalidPolicyInputError(f"bad parameters for policy {name!r}: {exc}") from None
    if ctx.slate_size is not None and slate is not None and not pol.is_slate:
        if slate == "auto":
            slate = "plackett-luce" if getattr(pol, "propensity_type", "") == "exact" else "topk"
        if slate == "topk":
            pol = TopK(ctx.n_actions, ctx.slate_size, pol, obs_dim=ctx.obs_dim, rng=rng)
        elif slate == "plackett-luce":
            pol = PlackettLuce(ctx.n_actions, ctx.slate_size, pol, temperature=temperature or 1.0,
                               obs_dim=ctx.obs_dim, rng=rng)
        else:
            raise InvalidPolicyInputError(f"`slate` must be 'topk' or 'plackett-luce'; got {slate!r}")
    if not isinstance(env_or_spaces, (tuple, list, dict)) and needs_encoding(env_or_spaces):
        pol = EncodedObservations(pol, env_observation_encoder(env_or_spaces).transform)
    return pol


#: the class each name builds (its constructor's keywords are the policy's parameters)
_CLASSES: dict[str, type] = {
    "uniform": Uniform, "popularity": Popularity, "softmax": Softmax, "epsilon-greedy": EpsilonGreedy,
    "epsilon-mixture": EpsilonMixture, "ucb1": UCB1, "bernoulli-ts": BernoulliTS, "linucb": LinUCB,
    "linear-ts": LinearTS, "logistic-ts": LogisticTS, "oracle": Oracle, "topk": TopK,
    "plackett-luce": PlackettLuce, "reinforce": REINFORCE, "q-learning": QLearning, "linear-q": LinearQ,
    "slateq": SlateQ,
}
#: constructor arguments the builder fills from the env (not user parameters), for every policy ...
_FROM_ENV = {"self", "n_actions", "obs_dim", "rng", "policy", "expected_reward", "item_texts"}
#: ... and for particular ones
_FROM_ENV_OF = {"slateq": {"slate_size", "item_features"}}


def policy_parameters(name: str) -> dict[str, Any]:
    """The parameters ``make_policy(name, env, **params)`` accepts, with their defaults
    (``inspect.Parameter.empty`` for a required one); ``rng`` and ``slate`` are always accepted."""
    if name not in _REGISTRY:
        raise InvalidPolicyInputError(f"unknown policy {name!r}; known policies: {', '.join(policy_names())}")
    out: dict[str, Any] = {}
    cls = _CLASSES.get(name)
    if cls is None and name == "llm":  # imported on use, like the policy itself
        from .llm import LLMRecommender as cls
    sources = [_REGISTRY[name]] + ([cls.__init__] if cls is not None else [])
    for fn in sources:
        for p in inspect.signature(fn).parameters.values():
            if p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL) or p.name in _FROM_ENV or p.name == "ctx" \
                    or p.name in _FROM_ENV_OF.get(name, ()):
                continue
            out.setdefault(p.name, p.default)
    return out


def _feats(ctx: _Ctx, params: dict[str, Any]) -> Any:
    if params.get("model") == "shared" and params.get("item_features") is None:
        if ctx.item_features is None:
            raise InvalidPolicyInputError("model='shared' needs item features (a simrec env or item_features=)")
        params["item_features"] = ctx.item_features
    return params


def _plain(cls: type) -> _Builder:
    """The builder of a policy that needs only the number of actions and the observation size."""

    def build(ctx: _Ctx, **p: Any) -> BasePolicy:
        return cls(ctx.n_actions, obs_dim=ctx.obs_dim, **p)

    return build


def _linear(cls: type) -> _Builder:
    """The builder of a linear contextual bandit (``model="shared"`` takes the env's item features)."""

    def build(ctx: _Ctx, **p: Any) -> BasePolicy:
        return cls(ctx.n_actions, ctx.obs_dim, **_feats(ctx, p))

    return build


def _scored_slate(name: str) -> _Builder:
    """The builder of a slate policy over per-item ``scores`` (``topk``, ``plackett-luce``)."""
    cls = _CLASSES[name]

    def build(ctx: _Ctx, scores: Any = None, slate_size: int | None = None, **p: Any) -> BasePolicy:
        k = slate_size or ctx.slate_size
        if k is None:
            raise InvalidPolicyInputError(f"{name!r} needs a slate env or slate_size=")
        return cls(ctx.n_actions, k, ctx.scores(scores, p.get("rng")), obs_dim=ctx.obs_dim, **p)

    return build


for _name in ("uniform", "popularity", "epsilon-greedy", "ucb1", "bernoulli-ts"):
    register_policy(_name)(_plain(_CLASSES[_name]))
for _name in ("linucb", "linear-ts", "logistic-ts"):
    register_policy(_name)(_linear(_CLASSES[_name]))
for _name in ("topk", "plackett-luce"):
    register_policy(_name)(_scored_slate(_name))


@register_policy("softmax")
def _softmax(ctx: _Ctx, scores: Any = None, **p: Any) -> BasePolicy:
    return Softmax(ctx.n_actions, ctx.scores(scores, p.get("rng")), obs_dim=ctx.obs_dim, **p)


@register_policy("epsilon-mixture")
def _eps_mix(ctx: _Ctx, base: str = "softmax", epsilon: float = 0.1, base_params: dict | None = None,
             **p: Any) -> BasePolicy:
    inner = make_policy(base, ctx.env, rng=p.get("rng"), slate=None, **(base_params or {}))
    return EpsilonMixture(inner, epsilon, **p)


@register_policy("oracle")
def _oracle(ctx: _Ctx, **p: Any) -> BasePolicy:
    if isinstance(ctx.env, (tuple, list, dict)):
        raise InvalidPolicyInputError("the oracle needs a simrec env, not just spaces")
    return Oracle.from_env(ctx.env, **p)


@register_policy("reinforce")
def _reinforce(ctx: _Ctx, **p: Any) -> BasePolicy:
    if ctx.item_features is not None and ctx.offset == 0:
        p.setdefault("item_features", ctx.item_features)
    if ctx.slate_size is not None:
        p.setdefault("top_k", ctx.slate_size)
    return REINFORCE(ctx.n_actions, ctx.obs_dim, **p)


@register_policy("q-learning")
def _qlearning(ctx: _Ctx, n_states: int = 1000, **p: Any) -> BasePolicy:
    return QLearning(ctx.n_actions, n_states, obs_dim=ctx.obs_dim, **p)


@register_policy("linear-q")
def _linear_q(ctx: _Ctx, **p: Any) -> BasePolicy:
    return LinearQ(ctx.n_actions, ctx.obs_dim, **p)


@register_policy("slateq")
def _slateq(ctx: _Ctx, **p: Any) -> BasePolicy:
    if ctx.slate_size is None or ctx.item_features is None:
        raise InvalidPolicyInputError("'slateq' needs a simrec slate env (Slate-v0, Retention-v0)")
    return SlateQ(ctx.n_actions, ctx.obs_dim, ctx.slate_size, ctx.item_features, **p)



@register_policy("llm")
def _llm(ctx: _Ctx, backend: Any = "scripted", **p: Any) -> BasePolicy:
    from .llm import LLMRecommender  # imported on use: the module is only needed by this policy

    texts = env_item_texts(ctx.env)
    if texts is None:
        raise InvalidPolicyInputError("'llm' needs a simrec env (catalog texts), not just spaces")
    k = p.pop("slate_size", None) or ctx.slate_size
    enc = env_observation_encoder(ctx.env)
    if enc is not None:
        p.setdefault("query_slice", enc.request_slice)
        p.setdefault("encoder", enc.encoder)
    elif ctx.item_features is not None and ctx.offset == 0:
        p.setdefault("item_features", ctx.item_features)
    face = getattr(ctx.env, "unwrapped", ctx.env)
    if callable(getattr(face, "texts_for", None)):
        p.setdefault("text_fn", face.texts_for)
    return LLMRecommender(backend, texts, k, obs_dim=ctx.obs_dim, **p)
