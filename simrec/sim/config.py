"""Validated, frozen configuration of a simulated world.

A :class:`WorldConfig` is a tree of small pydantic models, one per mechanism. Every mechanism has
an ``enabled`` switch (or a strength that can be set to zero) so that its effect can be isolated;
unknown keys are rejected, and sizes and rates are range-checked on creation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_serializer, model_validator

from ..errors import ConfigError

__all__ = [
    "CatalogConfig",
    "PopulationConfig",
    "ExaminationConfig",
    "ChoiceConfig",
    "ConsumptionConfig",
    "SatisfactionConfig",
    "DriftConfig",
    "BoredomConfig",
    "SessionConfig",
    "ReturnConfig",
    "NotificationConfig",
    "WorldConfig",
    "make_config",
    "merge_overrides",
    "validation_problems",
    "format_validation_error",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, allow_inf_nan=False)


class CatalogConfig(_Frozen):
    """Items: topic embeddings, quality, attractiveness (clickbait) and a release schedule."""

    n_items: int = Field(1000, ge=1, description="items available at step 0")
    n_topics: int = Field(10, ge=1, le=256, description="number of topic clusters")
    topic_spread: float = Field(0.3, ge=0, description="noise of item embeddings around their topic")
    quality_sd: float = Field(1.0, ge=0, description="sd of intrinsic quality q_i ~ N(0, sd^2)")
    attractiveness_sd: float = Field(1.0, ge=0, description="sd of attractiveness c_i")
    clickbait_corr: float = Field(
        0.0, ge=-1, le=1, description="correlation of attractiveness with quality (< 0: clickbait)"
    )
    new_items_per_step: float = Field(
        0.0, ge=0, description="expected new items per world step (cold start); 0 = fixed catalog"
    )
    max_new_items: int = Field(
        0, ge=0, description="capacity reserved for items released later (> 0 exactly when new_items_per_step > 0)"
    )

    @model_validator(mode="after")
    def _growth_needs_capacity(self) -> CatalogConfig:
        if self.new_items_per_step > 0 and self.max_new_items == 0:
            raise ConfigError("new_items_per_step > 0 needs max_new_items > 0 (the reserved capacity)")
        if self.max_new_items > 0 and self.new_items_per_step == 0:
            raise ConfigError(
                f"max_new_items={self.max_new_items} reserves items for release but new_items_per_step is 0 "
                "(nothing would ever be released); give new_items_per_step > 0, or max_new_items=0 for a "
                "fixed catalog"
            )
        return self


class PopulationConfig(_Frozen):
    """Users: latent interests, position-bias strength and how much of them a recommender sees."""

    n_users: int = Field(1000, ge=1)
    interest_concentration: float = Field(
        2.0, ge=0, description="how peaked a user's interest is around their favourite topics"
    )
    obs_noise: float = Field(0.5, ge=0, description="noise of the observable user features")
    position_bias_sd: float = Field(0.2, ge=0, description="sd of the per-user position-bias exponent")


class ExaminationConfig(_Frozen):
    """Examination by position: position-based model (PBM), cascade, a fitted table, or none."""

    model: Literal["pbm", "cascade", "table", "none"] = "pbm"
    eta: float = Field(1.0, ge=0, description="PBM exponent: examination of slot k is 1/(k+1)^eta")
    cascade_continue: float = Field(
        0.9, ge=0, le=1, description="cascade: probability of moving on to the next slot"
    )
    table: tuple[float, ...] | None = Field(
        None, description="model 'table': examination probability of each slot (fitted by simrec.calibrate)"
    )

    @model_serializer(mode="wrap")
    def _omit_absent_table(self, handler: Any) -> dict[str, Any]:
        # dumps of worlds without a table stay as they were (sweep run ids hash them)
        data = handler(self)
        if self.table is None:
            data.pop("table", None)
        return data

    @model_validator(mode="after")
    def _table_fits(self) -> ExaminationConfig:
        if (self.model == "table") != (self.table is not None):
            raise ValueError("examination.table is given exactly when examination.model is 'table'")
        if self.table is not None:
            if not 1 <= len(self.table) <= 100:
                raise ValueError(f"examination.table must hold 1 to 100 slots; got {len(self.table)}")
            bad = [i for i, v in enumerate(self.table) if not 0.0 <= v <= 1.0]
            if bad:
                raise ValueError(f"examination.table must hold probabilities in [0, 1]; slot {bad[0]} "
                                 f"is {self.table[bad[0]]}")
        return self


class ChoiceConfig(_Frozen):
    """Multinomial-logit choice among examined items, with an outside (no-click) option."""

    affinity_weight: float = Field(3.0, ge=0, description="weight of <theta_u, phi_i>")
    attractiveness_weight: float = Field(0.5, ge=0, description="weight of attractiveness c_i")
    boredom_weight: float = Field(2.0, ge=0, description="weight of the user's boredom with the topic")
    no_click_utility: float = Field(2.0, description="utility of the outside option")


class ConsumptionConfig(_Frozen):
    """Watch fraction of a clicked item: sigmoid(bias + a * affinity + b * quality)."""

    bias: float = Field(0.0)
    affinity_weight: float = Field(1.5, ge=0)
    quality_weight: float = Field(1.0, ge=0)


class SatisfactionConfig(_Frozen):
    """Satisfaction s_u moves toward the quality of a consumed item, toward ``no_click_target`` otherwise."""

    enabled: bool = True
    rate: float = Field(0.2, ge=0, le=1)
    no_click_rate: float = Field(0.05, ge=0, le=1)
    no_click_target: float = Field(-0.2)


class DriftConfig(_Frozen):
    """Interest drift toward consumed items: theta += rate * watch * (phi_i - theta)."""

    enabled: bool = True
    rate: float = Field(0.05, ge=0, le=1)


class BoredomConfig(_Frozen):
    """Per-topic boredom that grows with exposure to and consumption of the topic and decays every step."""

    enabled: bool = True
    growth: float = Field(0.3, ge=0, description="added to the topic's boredom per unit watched")
    exposure_growth: float = Field(0.03, ge=0, description="added to a topic's boredom per slot showing it")
    decay: float = Field(0.1, ge=0, le=1, description="fraction of boredom lost per step")
    daily_decay: float = Field(0.5, ge=0, le=1, description="fraction lost per day away")


class SessionConfig(_Frozen):
    """Leaving a session: logit = base - satisfaction_weight * s + boredom_weight * b + no_click."""

    enabled: bool = True
    base: float = Field(-2.5)
    satisfaction_weight: float = Field(1.5, ge=0)
    boredom_weight: float = Field(1.0, ge=0)
    no_click_weight: float = Field(0.5, ge=0)
    max_steps: int = Field(50, ge=1, description="session steps before truncation")


class ReturnConfig(_Frozen):
    """Gap to the next session (days, geometric with mean exp(base - w * s)) and churn at a session end."""

    enabled: bool = True
    gap_base: float = Field(0.7, description="log of the mean gap in days at satisfaction 0")
    gap_satisfaction_weight: float = Field(1.0, ge=0)
    churn_base: float = Field(-3.5, description="logit of churn at a session end at satisfaction 0")
    churn_satisfaction_weight: float = Field(2.0, ge=0)
    satisfaction_memory: float = Field(0.8, ge=0, le=1, description="share of s kept between sessions")


class NotificationConfig(_Frozen):
    """Daily notifications: opens (relevance vs load), load that decays, unsubscribes from overload."""

    enabled: bool = True
    open_base: float = Field(-1.0)
    relevance_weight: float = Field(2.0, ge=0)
    load_weight: float = Field(0.8, ge=0)
    load_decay: float = Field(0.3, ge=0, le=1, description="fraction of notification load lost per day")
    unsubscribe_base: float = Field(-5.0)
    unsubscribe_load_weight: float = Field(1.2, ge=0)
    organic_visit_base: float = Field(-1.0, description="logit of an unprompted daily visit at s = 0")


class WorldConfig(_Frozen):
    """A whole world. ``dim`` is the embedding size; ``slate_size`` the number of slots shown."""

    name: str = "custom"
    dim: int = Field(16, ge=1, le=512)
    slate_size: int = Field(5, ge=1, le=100)
    reward: Literal["click", "watch"] = "click"
    catalog: CatalogConfig = CatalogConfig()
    population: PopulationConfig = PopulationConfig()
    examination: ExaminationConfig = ExaminationConfig()
    choice: ChoiceConfig = ChoiceConfig()
    consumption: ConsumptionConfig = ConsumptionConfig()
    satisfaction: SatisfactionConfig = SatisfactionConfig()
    drift: DriftConfig = DriftConfig()
    boredom: BoredomConfig = BoredomConfig()
    session: SessionConfig = SessionConfig()
    returns: ReturnConfig = ReturnConfig()
    notifications: NotificationConfig = NotificationConfig()

    @model_validator(mode="after")
    def _slate_fits(self) -> WorldConfig:
        if self.slate_size > self.catalog.n_items:
            raise ConfigError(
                f"slate_size ({self.slate_size}) cannot exceed catalog.n_items ({self.catalog.n_items})"
            )
        return self

    def replace(self, **overrides: Any) -> WorldConfig:
        """Return a copy with nested ``overrides`` applied (``{"catalog": {"n_items": 10}}`` or
        dotted keys ``{"catalog.n_items": 10}``), validated again."""
        data = self.model_dump()
        problems = merge_overrides(data, overrides)
        if problems:
            raise ConfigError("invalid overrides: " + "; ".join(f"{where}: {msg}" for where, msg in problems))
        return make_config(data)


def merge_overrides(data: dict[str, Any], overrides: Mapping[str, Any], path: str = "") -> list[tuple[str, str]]:
    """Merge ``overrides`` (nested dicts or dotted keys, ``{"catalog.n_items": 10}``) into the nested
    dict ``data``, in place: the one implementation of dotted-key override merging.

    A key whose section is not a table of ``data`` is not applied: it comes back as a problem
    ``(path, "unknown config section")`` (``path`` prefixed by ``path``); unknown *fields* are left
    for validation to report. Returns the problems (empty when every key was applied)."""
    problems: list[tuple[str, str]] = []
    for key, value in overrides.items():
        parts = str(key).split(".")
        node, where = data, path
        for p in parts[:-1]:
            where = f"{where}.{p}" if where else p
            if not isinstance(node.get(p), dict):
                problems.append((where, "unknown config section"))
                break
            node = node[p]
        else:
            last = parts[-1]
            if isinstance(value, dict) and isinstance(node.get(last), dict):
                problems += merge_overrides(node[last], value, f"{where}.{last}" if where else last)
            else:
                node[last] = value
    return problems


def make_config(data: dict[str, Any] | WorldConfig) -> WorldConfig:
    """Validate ``data`` into a :class:`WorldConfig`, listing every problem with its path."""
    if isinstance(data, WorldConfig):
        return data
    try:
        return WorldConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, "world config")) from None


def validation_problems(exc: ValidationError, prefix: str = "") -> list[tuple[str, str]]:
    """``(path, message)`` per problem of a pydantic error: the one place simrec words them.

    Unknown keys read "unknown key", missing ones "required key is missing"; a validator's message
    loses pydantic's "Value error, " lead; other messages end with the offending value (scalars
    only, unless the message already says what it got); a wrapper validator's name is dropped from
    the path, and ``prefix`` (e.g. ``worlds.0``) is put in front of it."""
    out = []
    for err in exc.errors():
        kind = err["type"]
        msg = "unknown key" if kind == "extra_forbidden" else err["msg"]
        if kind == "missing":
            msg = "required key is missing"
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        got = err.get("input")
        if kind not in ("extra_forbidden", "missing") and not isinstance(got, (dict, list, tuple)) \
                and "got " not in msg:
            msg += f" (got {got!r})"
        loc = [str(p) for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        out.append((".".join([prefix, *loc] if prefix else loc) or "<root>", msg))
    return out


def format_validation_error(exc: ValidationError, what: str) -> str:
    """One line per problem: ``path: message (got value)`` (see :func:`validation_problems`)."""
    lines = [f"invalid {what}: {exc.error_count()} problem(s)"]
    lines += [f"  {path}: {msg}" for path, msg in validation_problems(exc)]
    return "\n".join(lines)
