"""How tests reach this checkout's files: the environment of the subprocesses they start (which import
this checkout's ``simrec`` and ``tests`` package whatever the working directory and whichever simrec is
installed), and its scripts (benchmarks, examples) imported as modules."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def checkout_env(**extra: str) -> dict[str, str]:
    """``os.environ`` with the repository root first on ``PYTHONPATH``, plus ``extra``."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, **extra}


def load_script(relpath: str, name: str | None = None) -> ModuleType:
    """The script at ``relpath`` (from the repository root, e.g. ``"benchmarks/bench_sim.py"``) imported
    as a module named ``name`` (its file name by default), without running its ``__main__`` block."""
    path = ROOT / relpath
    spec = importlib.util.spec_from_file_location(name or path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
