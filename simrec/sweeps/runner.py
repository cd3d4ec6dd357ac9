"""The sweep runner: expand the grid, skip finished runs, execute the rest on a backend, store each
result as it arrives, consolidate the table.

>>> from simrec.sweeps import load_sweep, run_sweep          # doctest: +SKIP
>>> result = run_sweep(load_sweep("examples/quickstart.toml"))  # doctest: +SKIP
>>> result.table.groupby("estimator").abs_error.mean()      # doctest: +SKIP
"""

from __future__ import annotations

import functools
import platform
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import SweepError
from .backends import Backend, resolve_backend
from .compute import execute
from .estimation import last_line
from .grid import RunTask, expand
from .schema import SweepSpec
from .store import RunStore

__all__ = ["run_sweep", "SweepResult", "SweepInterrupted", "provenance", "plan"]


class SweepInterrupted(SweepError):
    """Ctrl-C stopped a sweep; the finished runs are saved and a rerun resumes."""


@dataclass
class SweepResult:
    """What a sweep did: the consolidated table, this invocation's counts and the totals on disk.

    ``n_executed``/``n_skipped`` count this invocation; ``n_ok``/``n_failed`` count every run of the
    sweep on disk (so they are the same whether the sweep ran in one go or resumed); ``n_undefined`` counts
    estimates that are undefined on their log (their runs are still ``ok``).
    """

    out_dir: Path
    table: pd.DataFrame
    n_runs: int
    n_skipped: int
    n_executed: int
    n_failed: int
    failed_ids: list[str] = field(default_factory=list)
    n_ok: int = 0
    n_undefined: int = 0

    @property
    def results_path(self) -> Path:
        return self.out_dir / "results.parquet"

    def summary(self) -> str:
        und = f", {self.n_undefined} undefined estimate(s)" if self.n_undefined else ""
        return (f"{self.n_runs} runs: {self.n_executed} executed now, {self.n_skipped} already finished (skipped); "
                f"{self.n_ok} ok, {self.n_failed} failed{und}; results: {self.results_path}")


@functools.cache
def provenance() -> dict[str, str]:
    """Versions and the git commit of simrec's source, recorded in every row."""
    import numba
    import numpy

    import simrec

    sha = ""
    try:
        root = Path(simrec.__file__).resolve().parent.parent
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                             text=True, timeout=5, check=False)
        sha = out.stdout.strip() if out.returncode == 0 else ""
    except (OSError, subprocess.SubprocessError):
        pass
    return {
        "simrec_version": simrec.__version__,
        "python_version": platform.python_version(),
        "numpy_version": numpy.__version__,
        "numba_version": numba.__version__,
        "pandas_version": pd.__version__,
        "git_sha": sha,
    }


def plan(spec: SweepSpec, out_dir: str | Path | None = None, retry_failed: bool = False
         ) -> tuple[list[RunTask], list[RunTask], dict[str, str]]:
    """``(all runs, runs to execute, statuses on disk)`` for ``spec`` in ``out_dir``."""
    store = RunStore(Path(out_dir) if out_dir is not None else spec.output_dir)
    tasks = expand(spec, provenance())
    statuses = store.statuses()
    todo = [t for t in tasks if t.run_id not in statuses or (retry_failed and statuses[t.run_id] == "failed")]
    return tasks, todo, statuses


def run_sweep(
    spec: SweepSpec,
    backend: Backend | str | None = None,
    *,
    out_dir: str | Path | None = None,
    n_jobs: int | None = None,
    address: str | None = None,
    retry_failed: bool = False,
    progress: bool | None = None,
    max_runs: int | None = None,
    echo: bool = False,
) -> SweepResult:
    """Run (or resume) a sweep and write its results table.

    Parameters
    ----------
    spec : SweepSpec
        A validated sweep (:func:`~simrec.sweeps.load_sweep`).
    backend : Backend or {"local", "dask", "ray"}, optional
        Where runs execute; default the sweep file's ``execution.backend``.
    out_dir : path, optional
        Output folder; default ``spec.output_dir`` (``reports/<name>``).
    n_jobs, address : optional
        Workers and cluster address for a backend given by name (default from the sweep file).
    retry_failed : bool
        Rerun runs recorded as failed (finished ``ok`` runs are always skipped).
    progress : bool or None
        Show a progress bar with ETA on stderr: always (True), never (False), or when stderr is a
        terminal (None, the default).
    max_runs : int, optional
        Execute at most this many runs now (the rest stay for a later resume).
    echo : bool
        Print each failed run's error on stderr as it arrives.

    Returns
    -------
    SweepResult

    Raises
    ------
    SweepInterrupted
        On Ctrl-C: workers are stopped, finished runs stay saved, and a rerun resumes.

    Notes
    -----
    The local process pool, Dask's LocalCluster and Ray start worker processes: a script that calls
    ``run_sweep`` with more than one worker must do so under ``if __name__ == "__main__":``.
    """
    out = Path(out_dir) if out_dir is not None else spec.output_dir
    store = RunStore(out)
    tasks, todo, _ = plan(spec, out, retry_failed)
    if max_runs is not None:
        todo = todo[:max_runs]
    backend, own = resolve_backend(backend, spec.execution, n_jobs, address)
    store.write_config(spec.model_dump(mode="json"))
    try:
        if todo:
            _execute(todo, backend, store, spec.name, progress, echo)
    except KeyboardInterrupt:
        disk = store.statuses()
        done = sum(1 for t in tasks if t.run_id in disk)
        raise SweepInterrupted(f"interrupted: {done} of {len(tasks)} runs are finished and saved under "
                               f"{str(out / 'runs')!r}; rerun the same command to resume") from None
    finally:
        if own:
            backend.close()
    ids = [t.run_id for t in tasks]
    disk = store.statuses()
    table = store.consolidate([i for i in ids if i in disk], config=spec.model_dump(mode="json"))
    failed_all = [i for i in ids if disk.get(i) == "failed"]
    n_und = int((table["status"] == "undefined").sum()) if "status" in table.columns else 0
    return SweepResult(out_dir=out, table=table, n_runs=len(tasks), n_skipped=len(tasks) - len(todo),
                       n_executed=len(todo), n_failed=len(failed_all), failed_ids=failed_all,
                       n_ok=sum(1 for i in ids if disk.get(i) == "ok"),
                       n_undefined=n_und)


def _last_line(rows: list[dict]) -> str:
    """The last line of the first failed row's error."""
    r = next((r for r in rows if r.get("status") == "failed"), {})
    return last_line(r.get("error_message"), "unknown error")


def _execute(todo: list[RunTask], backend: Backend, store: RunStore, name: str, progress: bool | None,
             echo: bool) -> list[str]:
    from tqdm.auto import tqdm

    failed: list[str] = []
    fn = functools.partial(execute, threads=1)
    disable = None if progress is None else not progress  # None: only on a terminal
    bar = tqdm(total=len(todo), desc=f"{name} [{backend.describe()}]", unit="run", disable=disable,
               file=sys.stderr, dynamic_ncols=True)
    try:
        for res in backend.map_unordered(fn, todo):
            store.write_run(res["rows"])
            if res["status"] != "ok":
                failed.append(res["run_id"])
                bar.set_postfix(failed=len(failed), refresh=False)
                if echo:
                    tqdm.write(f"run {res['run_id']} failed: {_last_line(res['rows'])}", file=sys.stderr)
            bar.update(1)
    finally:
        bar.close()
    return failed
