"""Policy-vs-simulator sweeps: a validated sweep file, a grid of runs, pluggable backends, a
Parquet results store that resumes.

>>> from simrec.sweeps import load_sweep, run_sweep       # doctest: +SKIP
>>> result = run_sweep(load_sweep("examples/quickstart.toml"), "local", n_jobs=2)  # doctest: +SKIP
"""

from .backends import BACKENDS, Backend, BackendUnavailable, DaskBackend, LocalBackend, RayBackend, make_backend
from .compute import IDENTITY_COLUMNS, VOLATILE_COLUMNS, execute
from .grid import RunTask, derive_seed, expand
from .runner import SweepInterrupted, SweepResult, plan, provenance, run_sweep
from .spec import SweepSpec, SweepSpecError, apply_overrides, load_sweep, parse_sweep
from .store import RunStore, comparable, read_results

__all__ = [
    "SweepSpec", "SweepSpecError", "load_sweep", "parse_sweep", "apply_overrides",
    "RunTask", "expand", "derive_seed", "execute", "IDENTITY_COLUMNS", "VOLATILE_COLUMNS",
    "run_sweep", "SweepResult", "SweepInterrupted", "plan", "provenance",
    "RunStore", "read_results", "comparable",
    "Backend", "LocalBackend", "DaskBackend", "RayBackend", "BackendUnavailable", "make_backend", "BACKENDS",
]
