"""Shared by the reproductions that wait for parts of simrec still being built."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from ..errors import NotSupportedError

__all__ = ["missing_names", "refuse"]

DRIVER_PENDING = "this reproduction's driver (setup, references and tolerances are stated; run() is not written yet)"


def missing_names(module: str, names: tuple[str, ...]) -> list[str]:
    """The ``module.name`` entries of ``names`` that cannot be imported."""
    try:
        mod = importlib.import_module(module)
    except ImportError:
        return [f"{module}.{n}" for n in names]
    return [f"{module}.{n}" for n in names if not hasattr(mod, n)]


def refuse(name: str, missing: Callable[[], list[str]]) -> None:
    """Raise :class:`NotSupportedError` naming what reproduction ``name`` still lacks."""
    miss = missing()
    raise NotSupportedError(f"reproduction {name!r} cannot run yet; it needs: {'; '.join(miss)}")
