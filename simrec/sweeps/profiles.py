"""What a sweep does on each simrec environment: the logs it can collect, the env parameters it
takes, and how the one-decision (step) estimand is isolated.

Two estimands are measured against ground truth:

``step``
    The expected reward of one decision at the start of an episode (a bandit round; the first slate
    of a session; the first slate of the first day; the first day's notification). Step logs
    (``bandit`` and ``slate``, and ``bandit`` per slot of a slate log) are collected on the env cut
    to one decision per episode, so that every logged row is such a decision and the estimators'
    target is exactly this value. Its truth is exact where ``truth.policy_value`` enumerates it,
    else a seeded rollout of the one-step env with its standard error.
``episode``
    The expected sum of rewards over a whole episode (``Retention-v0``, ``Messaging-v0``), read by
    the sequential estimators from ``trajectories`` logs of complete episodes. Its truth is
    ``truth.rollout`` with its standard error, and the long-term outcomes go with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError

__all__ = ["EnvProfile", "PROFILES", "profile", "INPUTS"]


@dataclass(frozen=True)
class EnvProfile:
    """A simrec env as sweeps see it."""

    env: str
    #: log kinds a run can produce on this env (estimators reading other kinds are rejected)
    log_kinds: tuple[str, ...]
    #: sweep fields that are env parameters here (``horizon``, ``horizon_days``, ``slate_size``, ``reward``)
    params: tuple[str, ...]
    #: env keyword arguments and world overrides that cut an episode to one decision
    step_kwargs: dict[str, Any] = field(default_factory=dict)
    step_world: dict[str, Any] = field(default_factory=dict)
    slate: bool = False

    def env_kwargs(self, values: dict[str, Any]) -> dict[str, Any]:
        """The env constructor's keyword arguments among the sweep's env parameters."""
        return {k: values[k] for k in ("horizon", "horizon_days") if k in self.params and values.get(k) is not None}


PROFILES: dict[str, EnvProfile] = {
    "simrec/Bandit-v0": EnvProfile("simrec/Bandit-v0", ("bandit",), ("horizon", "reward"), step_kwargs={"horizon": 1}),
    "simrec/Slate-v0": EnvProfile("simrec/Slate-v0", ("slate", "bandit"), ("slate_size", "reward"),
                                  step_world={"session": {"max_steps": 1}}, slate=True),
    "simrec/Retention-v0": EnvProfile("simrec/Retention-v0", ("slate", "bandit", "trajectories"),
                                      ("horizon_days", "slate_size", "reward"), step_kwargs={"horizon_days": 1},
                                      step_world={"session": {"max_steps": 1}}, slate=True),
    "simrec/Messaging-v0": EnvProfile("simrec/Messaging-v0", ("bandit", "trajectories"), ("horizon_days",),
                                      step_kwargs={"horizon_days": 1}),
}

#: inputs a run can give an estimator, per log kind (beyond the log itself). An estimator whose
#: ``needs.inputs`` names anything else is rejected by the sweep's checks.
INPUTS: dict[str, frozenset[str]] = {
    "bandit": frozenset({"action_dist", "pscore", "q_hat", "logger_pscores", "logger_shares", "action_embed",
                         "context", "logging_dist"}),
    "slate": frozenset({"pi_slate", "pscore", "pi_marginal", "pscore_marginal", "slot_dist"}),
    "trajectories": frozenset({"action_dist", "pscore", "pi_logged", "q_hat"}),
}


def profile(env: str) -> EnvProfile:
    """The profile of ``env`` (``KeyError`` if sweeps do not know it)."""
    return PROFILES[env]


def world_overrides(values: dict[str, Any]) -> dict[str, Any]:
    """World-config overrides among the sweep's env parameters (``slate_size``, ``reward``)."""
    return {k: values[k] for k in ("slate_size", "reward") if values.get(k) is not None}


def make_env(env: str, world: dict[str, Any], values: dict[str, Any], *, num_envs: int | None = None,
             step: bool = False, world_seed: int = 0) -> Any:
    """The env ``env`` of ``world`` (a WorldConfig dump, or ``{"from": path}`` / ``{"from": CalibratedWorld}``
    for a calibrated world) with the sweep's env parameters ``values``;
    ``step=True`` cuts its episodes to one decision (see the module docstring); a vector env of
    ``num_envs`` rows when given."""
    import gymnasium as gym

    import simrec  # noqa: F401 - registers the environments in a fresh worker

    from ..sim.calibrated import CalibratedWorld
    from ..sim.config import make_config, merge_overrides

    prof = profile(env)
    if "from" in world:  # a calibrated world: World loads its file (no config to merge into)
        if step and prof.step_world:
            raise ConfigError(f"{env} cuts episodes by changing the world config ({prof.step_world}); a calibrated "
                              "world cannot take that: use simrec/Bandit-v0")
        src = world["from"]  # a path, or the world already read from it (one read per run)
        kw0: dict[str, Any] = {"world": src if isinstance(src, CalibratedWorld) else {"from": src},
                               "world_seed": world_seed, **prof.env_kwargs(values)}
        if step:
            kw0.update(prof.step_kwargs)
        return gym.make(env, disable_env_checker=True, **kw0) if num_envs is None else gym.make_vec(
            env, num_envs=num_envs, **kw0)
    data = dict(world)
    if step and prof.step_world:
        import copy

        data = copy.deepcopy(data)
        merge_overrides(data, prof.step_world)
    kw: dict[str, Any] = {"world": make_config(data), "world_seed": world_seed, **prof.env_kwargs(values)}
    if step:
        kw.update(prof.step_kwargs)
    if num_envs is None:
        return gym.make(env, disable_env_checker=True, **kw)
    return gym.make_vec(env, num_envs=num_envs, **kw)
