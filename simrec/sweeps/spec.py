"""Loading a sweep file: read (TOML or YAML, UTF-8), apply ``--set`` overrides, validate.

Validation runs two passes before anything is computed: the structure (:mod:`.schema`, pydantic
models with unknown keys rejected) and the meaning (:mod:`.checks`: presets, world overrides,
policies, estimators and which of them fit the env). Every problem of both passes is listed with
its path in one :class:`SweepSpecError`.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from . import schema
from .checks import semantic_problems
from .overrides import assign, validation_problems
from .schema import *  # noqa: F403 - the sweep file's models are part of this module's face
from .schema import SweepSpec, SweepSpecError

__all__ = [*schema.__all__, "load_sweep", "parse_sweep", "apply_overrides"]


def parse_sweep(data: dict[str, Any], source: str = "sweep file") -> SweepSpec:
    """Validate a mapping into a :class:`SweepSpec`, listing every problem of both passes."""
    if not isinstance(data, dict):
        raise SweepSpecError([("<root>", f"a sweep must be a table/mapping; got {type(data).__name__}")], source)
    problems: list[tuple[str, str]] = []
    spec = None
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as exc:
        found = [(_scalar_path(data, p), m) for p, m in validation_problems(exc)]
        # an invalid item also empties its list; that echo is noise next to the item's own problem
        problems += [(p, m) for p, m in found
                     if not (m.startswith("Tuple should have at least 1 item after validation")
                             and sum(q == p for q, _ in found) > 1)]
    problems += [p for p in semantic_problems(data) if p not in problems]
    if problems:
        raise SweepSpecError(problems, source)
    assert spec is not None
    return spec


def _scalar_path(data: dict[str, Any], path: str) -> str:
    """``horizon.0`` -> ``horizon`` when the file gave a scalar (a scalar is read as a one-item axis)."""
    head, _, rest = path.partition(".")
    if rest == "0" and head in data and not isinstance(data[head], (list, tuple)):
        return head
    return path


def _read(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SweepSpecError([("<file>", f"cannot read {str(path)!r}: {exc.strerror or exc}")], str(path)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SweepSpecError([("<file>", f"not UTF-8 text: byte 0x{raw[exc.start]:02x} at line {line} (offset "
                                         f"{exc.start}); save the file as UTF-8")], str(path)) from None
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
    out, problems = assign(data, assignments)
    if problems:
        raise SweepSpecError(problems, "--set overrides")
    return out


def load_sweep(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> SweepSpec:
    """Read, override and validate a sweep file (``.toml``, ``.yaml`` or ``.yml``, UTF-8).

    Raises
    ------
    SweepSpecError
        Listing every problem with its path (e.g. ``worlds.0.population.n_userz: unknown key``).
    """
    path = Path(path)
    data = _read(path)
    if overrides:
        data = apply_overrides(data, overrides)
    if isinstance(data, dict) and "kind" in data:  # an OPE sweep has no kind; the other kind is "experiment"
        raise SweepSpecError([("kind", f"unknown sweep kind {data['kind']!r}: write kind = \"experiment\" for an "
                                       "experiment sweep, or leave `kind` out for an OPE sweep")], str(path))
    return parse_sweep(data, source=str(path))
