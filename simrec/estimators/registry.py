"""The estimator registry: the one list of estimators that sweeps, the CLI and reports read.

Each entry maps a name (the class name; lookups ignore case) to the class, its family and what it
needs (:class:`~simrec.estimators.base.Needs`). Estimator modules register their classes with
:func:`register`; the registry imports the families on first use.

>>> from simrec.estimators import registry
>>> registry.get("switchdr").name, registry.get("SwitchDR").family
('SwitchDR', 'bandit')
>>> registry.make("DRos", lam=100.0)
DRos(lam=100.0)
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from .base import Estimator, Needs, check_keywords

__all__ = ["EstimatorInfo", "register", "get", "names", "infos", "make", "FAMILY_MODULES"]

#: modules whose import registers each family (loaded lazily, in this order)
FAMILY_MODULES = ("simrec.estimators.ope", "simrec.estimators.experiments", "simrec.estimators.causal_estimators")


@dataclass(frozen=True)
class EstimatorInfo:
    """A registry entry."""

    name: str
    cls: type[Estimator]
    family: str
    needs: Needs

    @property
    def summary(self) -> str:
        """The first line of the class docstring."""
        doc = (self.cls.__doc__ or "").strip().splitlines()
        return doc[0].strip() if doc else ""

    def params(self) -> dict[str, Any]:
        """Constructor parameters and their defaults (``inspect.Parameter.empty`` when required)."""
        return self.cls._parameters()


_REGISTRY: dict[str, EstimatorInfo] = {}
_loaded = False


def register(cls: type[Estimator] | None = None, *, family: str | None = None) -> Any:
    """Class decorator: add an :class:`Estimator` subclass under its class name."""

    def deco(c: type[Estimator]) -> type[Estimator]:
        if not (isinstance(c, type) and issubclass(c, Estimator)):
            raise ConfigError(f"only Estimator subclasses can be registered; got {c!r}")
        fam = family or c.family
        if not fam:
            raise ConfigError(f"{c.__name__} declares no family")
        if not isinstance(getattr(c, "needs", None), Needs):
            raise ConfigError(f"{c.__name__} must declare `needs` (a Needs)")
        key = c.__name__.lower()
        old = _REGISTRY.get(key)
        if old is not None and old.cls is not c and (old.cls.__module__, old.cls.__qualname__) != (
                c.__module__, c.__qualname__):
            raise ConfigError(f"an estimator named {c.__name__!r} is already registered ({old.cls.__module__})")
        _REGISTRY[key] = EstimatorInfo(c.__name__, c, fam, c.needs)
        return c

    return deco(cls) if cls is not None else deco


def _load() -> None:
    global _loaded
    if not _loaded:
        for mod in FAMILY_MODULES:
            importlib.import_module(mod)
        _loaded = True


def get(name: str) -> EstimatorInfo:
    """The entry called ``name`` (case-insensitive); :class:`ConfigError` with suggestions if unknown."""
    _load()
    if not isinstance(name, str):
        raise ConfigError(f"estimator names are strings; got {name!r}")
    info = _REGISTRY.get(name.lower())
    if info is None:
        known = [i.name for i in _REGISTRY.values()]
        close = difflib.get_close_matches(name, known, n=1) or difflib.get_close_matches(
            name.lower(), [k.lower() for k in known], n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"unknown estimator {name!r}{hint}; known: {', '.join(sorted(known))}")
    return info


def infos(family: str | None = None, where: Callable[[EstimatorInfo], bool] | None = None) -> list[EstimatorInfo]:
    """Registered entries, optionally of one ``family`` and filtered by ``where``, in registration order."""
    _load()
    out = [i for i in _REGISTRY.values() if family is None or i.family == family]
    return [i for i in out if where is None or where(i)]


def names(family: str | None = None) -> list[str]:
    """Registered estimator names, optionally of one ``family``."""
    return [i.name for i in infos(family)]


def make(estimator: str, /, **params: Any) -> Estimator:
    """An instance of the estimator called ``estimator``; unknown parameters raise, naming the accepted ones."""
    info = get(estimator)
    accepted = info.params()
    check_keywords(params, frozenset(accepted), info.name)
    return info.cls(**params)
