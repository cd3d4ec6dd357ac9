"""Grid expansion: a :class:`~simrec.sweeps.schema.SweepSpec` -> one :class:`RunTask` per run.

A run is one (world, env parameters, logging policy, log size, seed): it evaluates every target
policy with every estimator on one log. Its ``run_id`` is the sha256 of everything that determines
its results, so it is the same on every machine and backend; its random streams derive from its
identity too, never from the order in which runs execute.

Seeds are split so that comparisons share randomness: the world instance depends only on the
world; target training and rollouts on (world, env parameters, seed); the log on those plus the
logging policy and log size. The truth of a target is therefore identical across logging
policies and log sizes of one seed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from .profiles import world_overrides
from .schema import SweepSpec

__all__ = ["RunTask", "expand", "derive_seed", "stable_hash"]


def stable_hash(obj: Any) -> str:
    """sha256 hex digest of the canonical JSON of ``obj`` (never Python's ``hash``)."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def derive_seed(*parts: Any) -> int:
    """A 62-bit seed that is a pure function of ``parts`` (strings, numbers, JSON-able objects)."""
    return int(stable_hash(list(parts))[:16], 16) >> 2


@dataclass(frozen=True)
class RunTask:
    """Everything a worker needs to compute one run: plain, picklable data."""

    run_id: str
    sweep: str
    config_hash: str
    world: dict[str, Any]  # WorldSpec dump, plus "config": the resolved WorldConfig dump (env axes applied)
    world_key: str
    env: str
    env_params: dict[str, Any]  # this run's values of the env axes (horizon, horizon_days, slate_size, reward)
    seed: int
    logging: dict[str, Any]  # LoggingSpec dump without "n"
    n_log: int
    policies: tuple[dict[str, Any], ...]
    estimators: tuple[dict[str, Any], ...]
    reward_model: dict[str, Any]
    truth: dict[str, Any]
    interval: dict[str, Any]
    base_seed: int  # world x env parameters x seed: target training and rollouts
    log_seed: int  # base x logging policy x log size: the logged data
    provenance: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _axes_label(values: dict[str, Any], varying: set[str]) -> str:
    shown = [f"{k}={v}" for k, v in values.items() if k in varying]
    return f"[{','.join(shown)}]" if shown else ""


def expand(spec: SweepSpec, provenance: dict[str, Any] | None = None) -> list[RunTask]:
    """The runs of ``spec`` in a stable order (worlds, env parameters, logging policies, log sizes, seeds)."""
    config_hash = spec.config_hash()
    policies = tuple(
        {**p.model_dump(mode="json"), "key": p.key, "reference": p.is_reference,
         "train_rounds": spec.train_rounds if p.train_rounds is None else p.train_rounds}
        for p in spec.policies
    )
    estimators = tuple({**e.model_dump(mode="json"), "key": e.key} for e in spec.estimators)
    shared = {
        "env": spec.env,
        "policies": policies,
        "estimators": estimators,
        "reward_model": spec.reward_model.model_dump(mode="json"),
        "truth": spec.truth.model_dump(mode="json"),
        "interval": spec.interval.model_dump(mode="json"),
    }
    grid = spec.env_grid()
    varying = {k for k in grid[0] if len({g[k] for g in grid}) > 1}
    tasks: list[RunTask] = []
    keys = [w.name for w in spec.worlds]
    for wi, w in enumerate(spec.worlds):
        wname = w.name if keys.count(w.name) == 1 else f"{w.name}-{wi}"
        file_hash = w.file_hash()  # a calibrated world: its arrays are part of the identity (hashed once)
        for values in grid:
            cfg = w.config(**world_overrides(values)).model_dump(mode="json")
            wdump = {**w.model_dump(mode="json"), "config": cfg}
            wkey = wname + _axes_label(values, varying)
            world_identity = {"config": cfg, "world_seed": w.world_seed}
            if file_hash is not None:
                world_identity["file_sha256"] = file_hash
            for lg in spec.logging:
                ldump = {k: v for k, v in lg.model_dump(mode="json").items() if k != "n"}
                ldump["key"] = lg.key
                for n in lg.n:
                    for seed in spec.seeds:
                        base_seed = derive_seed("base", world_identity, spec.env, values, seed)
                        log_seed = derive_seed("log", base_seed, ldump, n)
                        identity = {**shared, "world": world_identity, "env_params": values, "seed": seed,
                                    "logging": ldump, "n_log": n, "train_rounds": spec.train_rounds}
                        tasks.append(RunTask(
                            run_id=stable_hash(identity)[:16], sweep=spec.name, config_hash=config_hash,
                            world=wdump, world_key=wkey, env=spec.env, env_params=dict(values), seed=seed,
                            logging=ldump, n_log=n, policies=policies, estimators=estimators,
                            reward_model=shared["reward_model"], truth=shared["truth"],
                            interval=shared["interval"],
                            base_seed=base_seed, log_seed=log_seed, provenance=dict(provenance or {}),
                        ))
    ids = [t.run_id for t in tasks]
    if len(set(ids)) != len(ids):
        from ..errors import ConfigError

        raise ConfigError("two runs of the sweep are identical (repeated worlds or log sizes?); make them differ")
    return tasks
