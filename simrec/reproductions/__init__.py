"""Reproductions of published experiments, one module per paper experiment.

Each module states the paper's setup, its reference numbers and a tolerance per claim, and has
``run(quick=True, seed=0) -> Result``: tables, figures and a verdict per claim computed from those
tolerances. ``write_report(result, out_dir)`` writes ``report.md`` and ``report.html``. From the
shell: ``simrec reproduce --list`` and ``simrec reproduce NAME [--full] [-o DIR]``.

>>> from simrec import reproductions
>>> "dudik2011" in reproductions.names()
True
>>> res = reproductions.run("kang-schafer2007", quick=True)   # doctest: +SKIP
>>> print(res.summary())                                       # doctest: +SKIP

Nothing is downloaded: the data are synthetic, simulated, or scikit-learn's bundled digits.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from ..errors import ConfigError, NotSupportedError
from ._base import (
    NOT_REPRODUCED,
    REPRODUCED,
    AtLeast,
    AtMost,
    Between,
    Claim,
    Holds,
    Near,
    ReportFiles,
    Result,
    Tolerance,
    write_report,
)

__all__ = [
    "names", "get", "status", "missing", "run", "describe", "REGISTRY",
    "Claim", "Result", "Tolerance", "Near", "Between", "AtLeast", "AtMost", "Holds", "ReportFiles",
    "write_report", "REPRODUCED", "NOT_REPRODUCED",
]

#: name -> module, in the order of the project's priorities
REGISTRY: dict[str, str] = {
    "dudik2011": "simrec.reproductions.dudik2011",
    "mips2022": "simrec.reproductions.mips2022",
    "cascade-dr2022": "simrec.reproductions.cascade_dr2022",
    "replay2011": "simrec.reproductions.replay2011",
    "cobs-graph": "simrec.reproductions.cobs_graph",
    "topk-reinforce2019": "simrec.reproductions.topk_reinforce2019",
    "kang-schafer2007": "simrec.reproductions.kang_schafer2007",
    "slateq2019": "simrec.reproductions.slateq2019",
}


def names() -> list[str]:
    """Every registered reproduction."""
    return list(REGISTRY)


def get(name: str) -> ModuleType:
    """The module of reproduction ``name``."""
    if name not in REGISTRY:
        import difflib

        close = difflib.get_close_matches(name, REGISTRY, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"unknown reproduction {name!r}{hint} Known: {', '.join(REGISTRY)}")
    return importlib.import_module(REGISTRY[name])


def missing(name: str) -> list[str]:
    """The names reproduction ``name`` needs that cannot be imported (empty when it can run)."""
    mod = get(name)
    fn = getattr(mod, "missing", None)
    return list(fn()) if fn is not None else []


def status(name: str) -> str:
    """``"ready"`` or ``"needs estimators not yet available: ..."``."""
    miss = missing(name)
    return "ready" if not miss else "needs estimators not yet available: " + ", ".join(miss)


def describe(name: str) -> str:
    """The one-line title of reproduction ``name``."""
    return get(name).TITLE


def run(name: str, quick: bool = True, seed: int = 0) -> Result:
    """Run reproduction ``name`` (quick by default; ``quick=False`` is the paper's size)."""
    mod = get(name)
    miss = missing(name)
    if miss:
        raise NotSupportedError(f"reproduction {name!r} needs names that are not available yet: {', '.join(miss)}")
    return mod.run(quick=quick, seed=seed)
