"""The structure of a sweep file: frozen pydantic models, unknown keys rejected.

The meaning (known presets, policies and estimators, which estimators fit the env) is checked by
:mod:`simrec.sweeps.checks`; both passes run before anything is computed.

>>> spec = SweepSpec.model_validate({
...     "name": "demo", "seeds": 2,
...     "worlds": [{"preset": "default", "population": {"n_users": 200}, "catalog": {"n_items": 50}}],
...     "policies": ["uniform"], "logging": {"policy": "uniform", "n": 500},
...     "estimators": ["IPS", "DR"]})
>>> spec.seeds
(0, 1)
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from ..errors import ConfigError

__all__ = ["SweepSpec", "WorldSpec", "PolicySpec", "ShapingSpec", "LoggingSpec", "MixtureComponent",
           "EstimatorSpec", "RewardModelSpec", "TruthSpec", "IntervalSpec", "ExecutionSpec", "SweepSpecError",
           "ENV_AXES", "REFERENCE_POLICIES"]

_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
#: sweep fields that are env parameters; a list makes a grid axis
ENV_AXES = ("horizon", "horizon_days", "slate_size", "reward")
#: policies shown for reference but kept out of rankings and regret unless ``reference = false``
REFERENCE_POLICIES = frozenset({"oracle"})


class SweepSpecError(ConfigError):
    """A sweep file is invalid. ``problems`` lists ``(path, message)`` pairs, one per problem."""

    def __init__(self, problems: list[tuple[str, str]], source: str = "sweep file") -> None:
        self.problems = list(problems)
        self.source = source
        lines = [f"invalid {source}: {len(self.problems)} problem(s); nothing was run"]
        lines += [f"  {path}: {msg}" for path, msg in self.problems]
        super().__init__("\n".join(lines))


def _no_bool(v: Any) -> Any:
    if isinstance(v, bool):
        raise ValueError(f"expected an integer, got a boolean ({str(v).lower()})")
    return v


def _no_bool_number(v: Any) -> Any:
    if isinstance(v, bool):
        raise ValueError(f"expected a number, got a boolean ({str(v).lower()})")
    if isinstance(v, float) and not math.isfinite(v):
        raise ValueError(f"must be a finite number; got {v}")
    return v


#: an integer that refuses booleans (pydantic would read ``true`` as 1)
Int = Annotated[int, BeforeValidator(_no_bool)]
Float = Annotated[float, BeforeValidator(_no_bool_number), Field(allow_inf_nan=False)]


def _one_or_many(v: Any) -> Any:
    return [v] if v is not None and not isinstance(v, (list, tuple)) else v


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _named(value: Any) -> Any:
    """``"ips"`` is short for ``{"name": "ips"}``."""
    return {"name": value} if isinstance(value, str) else value


class WorldSpec(_Strict):
    """A world: a preset plus overrides, and the seed of the world instance.

    In a file, overrides sit next to ``preset`` (``{preset = "default", population.n_users = 200}``)
    or under ``overrides``; both are merged into the preset's config and validated against it.
    """

    preset: str = "default"
    label: str | None = Field(None, pattern=_NAME_PATTERN)
    world_seed: Int = Field(0, ge=0, description="seed of the world instance (catalog and users)")
    overrides: dict[str, Any] = Field(default_factory=dict)
    source: str | None = Field(None, alias="from", description="a calibrated world: the .npz file written by "
                               "`simrec calibrate` (no preset or overrides then)")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _collect_overrides(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"preset": data}
        if not isinstance(data, dict):
            return data
        own = {"preset", "label", "world_seed", "overrides", "from", "source"}
        extra = {k: v for k, v in data.items() if k not in own}
        if not extra:
            return data
        out = {k: v for k, v in data.items() if k in own}
        merged = dict(out.get("overrides") or {})
        merged.update(extra)
        out["overrides"] = merged
        return out

    @model_validator(mode="after")
    def _calibrated_alone(self) -> WorldSpec:
        if self.source is not None and self.overrides:
            raise ValueError(f"a calibrated world (from = {self.source!r}) takes no overrides; got "
                             f"{sorted(self.overrides)}")
        return self

    @property
    def name(self) -> str:
        """The label, the calibrated file's stem, or the preset name."""
        if self.label:
            return self.label
        return Path(self.source).stem if self.source else self.preset

    def file_hash(self) -> str | None:
        """SHA-256 of the calibrated world's file (part of a run's identity), None for presets."""
        if self.source is None:
            return None
        return hashlib.sha256(Path(self.source).read_bytes()).hexdigest()

    def config(self, **more: Any) -> Any:
        """The validated :class:`~simrec.sim.WorldConfig` with ``more`` overrides (raises ``ConfigError``)."""
        if self.source is not None:
            from ..sim import calibrated

            if more:
                raise ConfigError(f"env parameters that change the world ({sorted(more)}) cannot apply to the "
                                  f"calibrated world {self.source!r}")
            return calibrated.load(self.source).config()
        from ..sim import presets
        from ..sim.config import make_config, merge_overrides

        base = presets.get(self.preset).model_dump()
        merge_overrides(base, self.overrides)
        merge_overrides(base, more)
        return make_config(base)


class ShapingSpec(_Strict):
    """Reward shaping of a learning policy: a function of :mod:`simrec.policies.shaping` by name."""

    name: Literal["watch_time", "satisfaction_proxy", "retention_bonus"]
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _short(cls, data: Any) -> Any:
        return _named(data)


class PolicySpec(_Strict):
    """A target policy: a name from :func:`simrec.policies.make_policy` and its parameters.

    Learning policies are trained for ``train_rounds`` decisions (the sweep's ``train_rounds``
    when unset), online in the env (``train = "online"``: each batch's real next observations and
    episode ends reach ``update``, so TD learners get their targets) or from the run's logged data
    (``train = "log"``, off-policy, for policies with ``fit``), then frozen: the frozen policy is
    the one evaluated. ``reference = true`` (the default for ``oracle``) shows a policy in the
    report but keeps it out of rankings and regret.
    """

    name: str
    label: str | None = Field(None, pattern=_NAME_PATTERN)
    params: dict[str, Any] = Field(default_factory=dict)
    train_rounds: Int | None = Field(None, ge=0)
    train: Literal["online", "log"] = "online"
    shaping: ShapingSpec | None = None
    reference: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _short(cls, data: Any) -> Any:
        return _named(data)

    @property
    def key(self) -> str:
        """The name shown in results: the label, or the policy name."""
        return self.label or self.name

    @property
    def is_reference(self) -> bool:
        return self.name in REFERENCE_POLICIES if self.reference is None else self.reference


class MixtureComponent(_Strict):
    """One logger of a mixture and its share of the logged rows."""

    policy: str
    params: dict[str, Any] = Field(default_factory=dict)
    weight: Float = Field(1.0, gt=0)
    train_rounds: Int = Field(0, ge=0)


class LoggingSpec(_Strict):
    """The logging policy (or a stratified mixture of several) and the log size(s).

    ``n`` (rows; a list makes a grid axis) sizes the step logs; ``episodes`` the trajectory logs
    of long-term envs (complete episodes). ``adaptive = true`` keeps a learning logger updating
    while it logs (each row carries the propensity in force when it was logged): the results flag
    such rows (``adaptive_logger``), since the rows are then not independent.
    """

    policy: str | None = None
    label: str | None = Field(None, pattern=_NAME_PATTERN)
    params: dict[str, Any] = Field(default_factory=dict)
    mixture: tuple[MixtureComponent, ...] = ()
    n: tuple[Int, ...] = Field(..., description="rows in the log; a list makes a grid axis")
    episodes: Int = Field(200, ge=2, description="episodes in trajectory logs (long-term envs)")
    train_rounds: Int = Field(0, ge=0, description="online rounds before logging (learning loggers)")
    adaptive: bool = False

    @field_validator("n", mode="before")
    @classmethod
    def _sizes(cls, v: Any) -> Any:
        return _one_or_many(v)

    @field_validator("n")
    @classmethod
    def _positive(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if not v:
            raise ValueError("needs at least one log size")
        bad = [x for x in v if x < 10]
        if bad:
            raise ValueError(f"log sizes must be >= 10; got {bad}")
        if len(set(v)) != len(v):
            raise ValueError(f"log sizes must be distinct; got {list(v)}")
        return v

    @model_validator(mode="after")
    def _one_logger(self) -> LoggingSpec:
        if (self.policy is None) == (not self.mixture):
            raise ValueError("give either `policy` (one logger) or `mixture` (a list of loggers), not both")
        if self.mixture and self.adaptive:
            raise ValueError("`adaptive` applies to one learning logger, not to a mixture")
        return self

    @property
    def key(self) -> str:
        if self.label:
            return self.label
        if self.policy is not None:
            return self.policy
        return "mixture(" + "+".join(c.policy for c in self.mixture) + ")"


class EstimatorSpec(_Strict):
    """An estimator of the registry (class name, case-insensitive) and its parameters."""

    name: str
    label: str | None = Field(None, min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _short(cls, data: Any) -> Any:
        return _named(data)

    @field_validator("name")
    @classmethod
    def _canonical(cls, v: str) -> str:
        from ..estimators import registry

        try:
            return registry.get(v).name
        except ConfigError:
            return v  # reported by the semantic check, with suggestions

    @property
    def key(self) -> str:
        """The name shown in results: the label, the class name with parameters, or the class name."""
        if self.label:
            return self.label
        if not self.params:
            return self.name
        inner = ",".join(f"{k}={v}" for k, v in sorted(self.params.items()))
        return f"{self.name}({inner})"


class RewardModelSpec(_Strict):
    """The reward model shared by DM and the DR family (see :func:`simrec.sweeps._registry.reward_model`):
    ``bilinear`` (default; context x item features), ``ridge`` (one-hot items), ``ridge-per-action``,
    ``logistic`` or ``mean``; always cross-fitted over ``n_folds``."""

    model: Literal["bilinear", "ridge", "ridge-per-action", "logistic", "mean"] = "bilinear"
    alpha: Float = Field(1.0, gt=0, description="ridge penalty / inverse logistic C")
    n_folds: Int = Field(2, ge=1, le=20, description="cross-fitting folds (1 = in-sample)")


class TruthSpec(_Strict):
    """How the ground truth is computed: exact step values where ``truth.policy_value`` can
    enumerate them within ``max_enumerated`` user x slate pairs, else ``step_episodes`` seeded
    one-decision rollouts; episode values from ``episodes`` seeded rollouts (common random numbers
    across target policies); ``train_batch`` users per online training step."""

    episodes: Int = Field(64, ge=2, description="simulator episodes for episode (rollout) values")
    step_episodes: Int = Field(2000, ge=2, description="one-decision episodes when a step value is not enumerable")
    max_enumerated: Int = Field(200_000, ge=1, description="user x slate pairs enumerated at most for an exact value")
    train_batch: Int = Field(50, ge=1, description="users per online training step")


class IntervalSpec(_Strict):
    """Confidence intervals of the estimates."""

    alpha: Float = Field(0.05, gt=0, lt=1)
    method: Literal["normal", "t", "bernstein", "bootstrap"] = "normal"


class ExecutionSpec(_Strict):
    """Where the sweep runs by default (the command line overrides it)."""

    backend: Literal["local", "dask", "ray"] = "local"
    n_jobs: Int = Field(1, ge=-1, description="local workers; -1 = all cores")
    address: str | None = Field(None, description="dask scheduler / ray cluster address")

    @field_validator("n_jobs")
    @classmethod
    def _not_zero(cls, v: int) -> int:
        if v == 0:
            raise ValueError("n_jobs must be a positive number of workers or -1 (all cores); got 0")
        return v


class SweepSpec(_Strict):
    """A whole sweep: worlds x env parameters x logging policies x log sizes x seeds, each run
    evaluating every target policy with every estimator."""

    name: str = Field(..., pattern=_NAME_PATTERN)
    description: str = ""
    env: str = "simrec/Bandit-v0"
    horizon: tuple[Int, ...] | None = Field(None, description="Bandit-v0: rounds per episode (default 100)")
    horizon_days: tuple[Int, ...] | None = Field(None, description="Retention-v0/Messaging-v0: days (default 30)")
    slate_size: tuple[Int, ...] | None = Field(None, description="slate envs: items per slate (default: the world's)")
    reward: tuple[Literal["click", "watch"], ...] | None = Field(None, description="reward type (default: world's)")
    seeds: tuple[Int, ...] = Field((0,), description="replicate seeds; an integer n means 0..n-1")
    train_rounds: Int = Field(1000, ge=0, description="default training decisions of learning targets")
    worlds: tuple[WorldSpec, ...] = Field(..., min_length=1)
    policies: tuple[PolicySpec, ...] = Field(..., min_length=1)
    logging: tuple[LoggingSpec, ...] = Field(..., min_length=1)
    estimators: tuple[EstimatorSpec, ...] = Field(..., min_length=1)
    reward_model: RewardModelSpec = RewardModelSpec()
    truth: TruthSpec = TruthSpec()
    interval: IntervalSpec = IntervalSpec()
    execution: ExecutionSpec = ExecutionSpec()
    output: str | None = Field(None, description="output folder; default reports/<name>")

    @field_validator("horizon", "horizon_days", "slate_size", "reward", mode="before")
    @classmethod
    def _axis(cls, v: Any) -> Any:
        return _one_or_many(v)

    @field_validator("horizon", "horizon_days", "slate_size", "reward")
    @classmethod
    def _axis_values(cls, v: Any) -> Any:
        if v is None:
            return v
        if not v:
            raise ValueError("needs at least one value")
        if len(set(v)) != len(v):
            raise ValueError(f"values must be distinct; got {list(v)}")
        if any(isinstance(x, int) and x < 1 for x in v):
            raise ValueError(f"values must be >= 1; got {list(v)}")
        return v

    @field_validator("seeds", mode="before")
    @classmethod
    def _seeds(cls, v: Any) -> Any:
        if isinstance(v, int) and not isinstance(v, bool):
            if v < 1:
                raise ValueError(f"an integer `seeds` is a count and must be >= 1; got {v}")
            return list(range(v))
        return v

    @field_validator("seeds")
    @classmethod
    def _unique_seeds(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if not v:
            raise ValueError("needs at least one seed")
        if len(set(v)) != len(v) or any(s < 0 for s in v):
            raise ValueError(f"seeds must be distinct non-negative integers; got {list(v)}")
        return v

    @field_validator("logging", mode="before")
    @classmethod
    def _loggers(cls, v: Any) -> Any:
        return [v] if isinstance(v, dict) else v

    @property
    def output_dir(self) -> Path:
        """Where the sweep writes (``reports/<name>`` unless ``output`` is set)."""
        return Path(self.output) if self.output else Path("reports") / self.name

    def env_grid(self) -> list[dict[str, Any]]:
        """Every combination of the env parameters set in the file (``[{}]`` when none is)."""
        import itertools

        axes = [(k, getattr(self, k)) for k in ENV_AXES if getattr(self, k) is not None]
        return [dict(zip([k for k, _ in axes], combo)) for combo in itertools.product(*[v for _, v in axes])]

    def canonical(self) -> dict[str, Any]:
        """The parts that determine results (not where or how the sweep runs), JSON-ready."""
        return self.model_dump(mode="json", exclude={"execution", "output", "description"})

    def config_hash(self) -> str:
        """sha256 (16 hex digits) of :meth:`canonical`."""
        text = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]
