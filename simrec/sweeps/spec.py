"""The sweep file: a validated, frozen description of a policy-vs-simulator grid.

A sweep file is TOML or YAML. It is validated in two passes that both run before anything is
computed: the structure (pydantic models, unknown keys rejected) and the meaning (world presets and
their overrides, policy and estimator names and parameters). Every problem of both passes is listed
with its path in one :class:`SweepSpecError`.

>>> spec = SweepSpec.model_validate({
...     "name": "demo", "seeds": 2,
...     "worlds": [{"preset": "default", "population": {"n_users": 200}, "catalog": {"n_items": 50}}],
...     "policies": ["uniform"], "logging": {"policy": "uniform", "n": 500},
...     "estimators": ["IPS", "DR"]})
>>> spec.seeds
(0, 1)
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..errors import ConfigError

__all__ = [
    "SweepSpec",
    "WorldSpec",
    "PolicySpec",
    "LoggingSpec",
    "EstimatorSpec",
    "RewardModelSpec",
    "TruthSpec",
    "IntervalSpec",
    "ExecutionSpec",
    "SweepSpecError",
    "load_sweep",
    "parse_sweep",
    "apply_overrides",
]

#: environments a sweep can run (the bandit estimators need a contextual bandit)
SUPPORTED_ENVS = ("simrec/Bandit-v0",)
_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"


class SweepSpecError(ConfigError):
    """A sweep file is invalid. ``problems`` lists ``(path, message)`` pairs, one per problem."""

    def __init__(self, problems: list[tuple[str, str]], source: str = "sweep file") -> None:
        self.problems = list(problems)
        self.source = source
        lines = [f"invalid {source}: {len(self.problems)} problem(s); nothing was run"]
        lines += [f"  {path}: {msg}" for path, msg in self.problems]
        super().__init__("\n".join(lines))


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
    world_seed: int = Field(0, ge=0, description="seed of the world instance (catalog and users)")
    overrides: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _collect_overrides(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"preset": data}
        if not isinstance(data, dict):
            return data
        own = {"preset", "label", "world_seed", "overrides"}
        extra = {k: v for k, v in data.items() if k not in own}
        if not extra:
            return data
        out = {k: v for k, v in data.items() if k in own}
        merged = dict(out.get("overrides") or {})
        merged.update(extra)
        out["overrides"] = merged
        return out

    @property
    def name(self) -> str:
        """The label, or the preset name."""
        return self.label or self.preset

    def config(self) -> Any:
        """The validated :class:`~simrec.sim.WorldConfig` (raises ``ConfigError``)."""
        from ..sim import presets

        return presets.get(self.preset, **self.overrides)


class PolicySpec(_Strict):
    """A target policy: a name from :func:`simrec.policies.make_policy` and its parameters.

    Learning policies (LinUCB, Thompson sampling, ...) are trained online in the world for
    ``train_rounds`` rounds (the sweep's ``train_rounds`` when unset), then frozen: the frozen
    policy is the one evaluated.
    """

    name: str
    label: str | None = Field(None, pattern=_NAME_PATTERN)
    params: dict[str, Any] = Field(default_factory=dict)
    train_rounds: int | None = Field(None, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _short(cls, data: Any) -> Any:
        return _named(data)

    @property
    def key(self) -> str:
        """The name shown in results: the label, or the policy name."""
        return self.label or self.name


class LoggingSpec(_Strict):
    """The logging policy and the log size(s); a list of sizes is a grid axis."""

    policy: str
    label: str | None = Field(None, pattern=_NAME_PATTERN)
    params: dict[str, Any] = Field(default_factory=dict)
    n: tuple[int, ...] = Field(..., description="rows in the log; a list makes a grid axis")
    train_rounds: int = Field(0, ge=0, description="online rounds before logging (learning loggers)")

    @field_validator("n", mode="before")
    @classmethod
    def _sizes(cls, v: Any) -> Any:
        return [v] if isinstance(v, int) and not isinstance(v, bool) else v

    @field_validator("n")
    @classmethod
    def _positive(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if not v:
            raise ValueError("needs at least one log size")
        bad = [x for x in v if x < 10]
        if bad:
            raise ValueError(f"log sizes must be >= 10; got {bad}")
        return v

    @property
    def key(self) -> str:
        return self.label or self.policy


class EstimatorSpec(_Strict):
    """An estimator of :mod:`simrec.estimators.ope` (class name, case-insensitive) and its parameters."""

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
        from ..errors import ConfigError
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
    alpha: float = Field(1.0, gt=0, description="ridge penalty / inverse logistic C")
    n_folds: int = Field(2, ge=1, le=20, description="cross-fitting folds (1 = in-sample)")


class TruthSpec(_Strict):
    """How the ground truth is computed.

    ``value_exact`` is the exact population value (enumeration over every user; stderr 0).
    ``value_rollout`` is the mean exact expected reward over ``episodes`` seeded simulator episodes
    of ``horizon`` rounds, with its standard error across episodes.
    """

    episodes: int = Field(64, ge=2, description="simulator episodes for the rollout value")
    train_batch: int = Field(50, ge=1, description="users per online training step")


class IntervalSpec(_Strict):
    """Confidence intervals of the estimates."""

    alpha: float = Field(0.05, gt=0, lt=1)
    method: Literal["normal", "t", "bernstein", "bootstrap"] = "normal"


class ExecutionSpec(_Strict):
    """Where the sweep runs by default (the command line overrides it)."""

    backend: Literal["local", "dask", "ray"] = "local"
    n_jobs: int = Field(1, ge=-1, description="local workers; -1 = all cores")
    address: str | None = Field(None, description="dask scheduler / ray cluster address")

    @field_validator("n_jobs")
    @classmethod
    def _not_zero(cls, v: int) -> int:
        if v == 0:
            raise ValueError("n_jobs must be a positive number of workers or -1 (all cores); got 0")
        return v


class SweepSpec(_Strict):
    """A whole sweep: worlds x logging policies x log sizes x seeds, each run evaluating every
    target policy with every estimator."""

    name: str = Field(..., pattern=_NAME_PATTERN)
    description: str = ""
    env: str = "simrec/Bandit-v0"
    horizon: int = Field(100, ge=1, description="rounds per episode (rollouts and training)")
    seeds: tuple[int, ...] = Field((0,), description="replicate seeds; an integer n means 0..n-1")
    train_rounds: int = Field(1000, ge=0, description="default online training rounds of target policies")
    worlds: tuple[WorldSpec, ...] = Field(..., min_length=1)
    policies: tuple[PolicySpec, ...] = Field(..., min_length=1)
    logging: tuple[LoggingSpec, ...] = Field(..., min_length=1)
    estimators: tuple[EstimatorSpec, ...] = Field(..., min_length=1)
    reward_model: RewardModelSpec = RewardModelSpec()
    truth: TruthSpec = TruthSpec()
    interval: IntervalSpec = IntervalSpec()
    execution: ExecutionSpec = ExecutionSpec()
    output: str | None = Field(None, description="output folder; default reports/<name>")

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
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, dict) else v

    @field_validator("env")
    @classmethod
    def _env(cls, v: str) -> str:
        if v not in SUPPORTED_ENVS:
            raise ValueError(f"sweeps run on {', '.join(SUPPORTED_ENVS)}; got {v!r}")
        return v

    @property
    def output_dir(self) -> Path:
        """Where the sweep writes (``reports/<name>`` unless ``output`` is set)."""
        return Path(self.output) if self.output else Path("reports") / self.name

    def canonical(self) -> dict[str, Any]:
        """The parts that determine results (not where or how the sweep runs), JSON-ready."""
        return self.model_dump(mode="json", exclude={"execution", "output", "description"})

    def config_hash(self) -> str:
        """sha256 (16 hex digits) of :meth:`canonical`."""
        import hashlib

        text = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


# ---- semantic checks (second pass) -----------------------------------------------------------------
def _semantic_problems(raw: dict[str, Any]) -> list[tuple[str, str]]:
    """Problems pydantic cannot see: unknown presets, invalid world overrides, unknown policy and
    estimator names or parameters, duplicate labels. Works on the raw data, skipping broken parts."""
    from . import _registry

    problems: list[tuple[str, str]] = []
    worlds = raw.get("worlds")
    if isinstance(worlds, list):
        for i, w in enumerate(worlds):
            problems += _world_problems(w, f"worlds.{i}")
    env = _probe_env(worlds) if problems == [] else None
    pols = raw.get("policies")
    keys: dict[str, str] = {}
    if isinstance(pols, list):
        for i, p in enumerate(pols):
            p = _named(p)
            if not isinstance(p, dict) or not isinstance(p.get("name"), str):
                continue
            found = _registry.policy_problems(p["name"], p.get("params"), env)
            problems += [(f"policies.{i}.{k}", m) for k, m in found]
            problems += _duplicate(keys, p.get("label") or p["name"], f"policies.{i}", "policy")
    logs = raw.get("logging")
    logs = [logs] if isinstance(logs, dict) else logs
    if isinstance(logs, list):
        for i, lg in enumerate(logs):
            if isinstance(lg, dict) and isinstance(lg.get("policy"), str):
                found = _registry.policy_problems(lg["policy"], lg.get("params"), env)
                problems += [(f"logging.{i}.{'policy' if k == 'name' else k}", m) for k, m in found]
    ests = raw.get("estimators")
    ekeys: dict[str, str] = {}
    if isinstance(ests, list):
        for i, e in enumerate(ests):
            e = _named(e)
            if not isinstance(e, dict) or not isinstance(e.get("name"), str):
                continue
            found = _registry.estimator_problems(e["name"], e.get("params"), "bandit")  # sweeps log bandits
            problems += [(f"estimators.{i}.{k}", m) for k, m in found]
            try:
                key = EstimatorSpec.model_validate(e).key
            except ValidationError:
                continue
            problems += _duplicate(ekeys, key, f"estimators.{i}", "estimator")
    return problems


def _duplicate(seen: dict[str, str], key: str, path: str, what: str) -> list[tuple[str, str]]:
    """Record ``key`` at ``path``; a problem if an earlier entry already used it."""
    if key in seen:
        return [(path, f"duplicate {what} {key!r} (also {seen[key]}); set `label`")]
    seen[key] = path
    return []


def _probe_env(worlds: Any) -> Any:
    """A bandit env of the first world, to check policy parameters against (None if unusable)."""
    if not isinstance(worlds, list) or not worlds:
        return None
    try:
        import gymnasium as gym

        import simrec  # noqa: F401 - registers the environments

        return gym.make("simrec/Bandit-v0", world=WorldSpec.model_validate(worlds[0]).config(),
                        disable_env_checker=True)
    except Exception:  # noqa: BLE001 - the world's own problems are reported elsewhere
        return None


def _world_problems(w: Any, path: str) -> list[tuple[str, str]]:
    from ..sim import presets
    from ..sim.config import WorldConfig

    if isinstance(w, str):
        w = {"preset": w}
    if not isinstance(w, dict):
        return []
    try:
        spec = WorldSpec.model_validate(w)
    except ValidationError:
        return []
    if spec.preset not in presets.PRESETS:
        return [(f"{path}.preset", f"unknown preset {spec.preset!r}; known presets: {', '.join(presets.names())}")]
    base = presets.get(spec.preset).model_dump()
    problems: list[tuple[str, str]] = []
    try:
        _merge(base, spec.overrides, path, problems)
    except _MergeError:
        return problems
    if problems:
        return problems
    try:
        WorldConfig.model_validate(base)
    except ValidationError as exc:
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"])
            msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            got = err.get("input")
            got_s = "" if isinstance(got, dict) or err["type"] == "extra_forbidden" else f" (got {got!r})"
            problems.append((f"{path}.{loc}" if loc else path, msg + got_s))
    return problems


class _MergeError(Exception):
    pass


def _merge(base: dict[str, Any], overrides: dict[str, Any], path: str, problems: list[tuple[str, str]]) -> None:
    """Merge nested/dotted ``overrides`` into ``base``; unknown sections are problems."""
    for key, value in overrides.items():
        parts = str(key).split(".")
        node = base
        where = path
        for p in parts[:-1]:
            where = f"{where}.{p}"
            if not isinstance(node.get(p), dict):
                problems.append((where, "unknown config section"))
                break
            node = node[p]
        else:
            last = parts[-1]
            if isinstance(value, dict) and isinstance(node.get(last), dict):
                _merge(node[last], value, f"{where}.{last}", problems)
            else:
                node[last] = value


# ---- loading ------------------------------------------------------------------------------------
def _loc(err: dict[str, Any]) -> str:
    return ".".join(str(p) for p in err["loc"]) or "<root>"


def _pydantic_problems(exc: ValidationError) -> list[tuple[str, str]]:
    out = []
    for err in exc.errors():
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        if err["type"] == "missing":
            msg = "required key is missing"
        got = err.get("input")
        if err["type"] not in ("extra_forbidden", "missing") and not isinstance(got, (dict, list)):
            msg += f" (got {got!r})"
        # a wrapper validator's path ends in the validator's name; keep the user's path only
        loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        out.append((".".join(str(p) for p in loc) or "<root>", msg))
    return out


def parse_sweep(data: dict[str, Any], source: str = "sweep file") -> SweepSpec:
    """Validate a mapping into a :class:`SweepSpec`, listing every problem of both passes."""
    if not isinstance(data, dict):
        raise SweepSpecError([("<root>", f"a sweep must be a table/mapping; got {type(data).__name__}")], source)
    problems: list[tuple[str, str]] = []
    spec = None
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as exc:
        problems += _pydantic_problems(exc)
    problems += [p for p in _semantic_problems(data) if p not in problems]
    if problems:
        raise SweepSpecError(problems, source)
    assert spec is not None
    return spec


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SweepSpecError([("<file>", f"cannot read {str(path)!r}: {exc.strerror or exc}")], str(path)) from None
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            return tomllib.loads(text)
        if suffix in (".yaml", ".yml"):
            data = yaml.safe_load(text)
            return {} if data is None else data
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise SweepSpecError([("<file>", f"not valid {suffix[1:].upper()}: {exc}")], str(path)) from None
    raise SweepSpecError([("<file>", f"a sweep file must end in .toml, .yaml or .yml; got {path.name!r}")], str(path))


def apply_overrides(data: dict[str, Any], assignments: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """Apply ``key.path=value`` assignments (values parsed as YAML scalars/lists) to a raw sweep mapping.

    ``worlds.0.population.n_users=200``, ``seeds=[0,1]``, ``execution.n_jobs=2``. Integer parts index
    lists. Returns a new mapping; the result is validated by :func:`parse_sweep` as usual.
    """
    import copy

    out = copy.deepcopy(data)
    problems = []
    for text in assignments:
        if "=" not in text:
            problems.append((text, "an override must look like key.path=value"))
            continue
        key, _, value_s = text.partition("=")
        try:
            value = yaml.safe_load(value_s)
        except yaml.YAMLError:
            value = value_s
        parts = key.strip().split(".")
        node: Any = out
        ok = True
        for i, p in enumerate(parts[:-1]):
            nxt = parts[i + 1]
            if isinstance(node, list):
                if not p.isdigit() or int(p) >= len(node):
                    problems.append((key, f"{p!r} is not an index of the list at {'.'.join(parts[:i]) or '<root>'}"))
                    ok = False
                    break
                node = node[int(p)]
            elif isinstance(node, dict):
                if p not in node:
                    node[p] = [] if nxt.isdigit() else {}
                node = node[p]
            else:
                problems.append((key, f"{'.'.join(parts[:i + 1])} is not a table"))
                ok = False
                break
        if not ok:
            continue
        last = parts[-1]
        if isinstance(node, list) and last.isdigit() and int(last) < len(node):
            node[int(last)] = value
        elif isinstance(node, dict):
            node[last] = value
        else:
            problems.append((key, "cannot assign here"))
    if problems:
        raise SweepSpecError(problems, "--set overrides")
    return out


def load_sweep(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> SweepSpec:
    """Read, override and validate a sweep file (``.toml``, ``.yaml`` or ``.yml``).

    Raises
    ------
    SweepSpecError
        Listing every problem with its path (e.g. ``worlds.0.population.n_userz: unknown key``).
    """
    path = Path(path)
    data = _read(path)
    if overrides:
        data = apply_overrides(data, overrides)
    return parse_sweep(data, source=str(path))
