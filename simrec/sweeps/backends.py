"""Execution backends behind one interface: ``map_unordered(fn, tasks) -> iterator of results``.

``local``
    No server. Serial in this process (``n_jobs=1``) or a pool of ``n_jobs`` worker processes
    (forkserver on POSIX), each capped to one numba/BLAS thread.
``dask``
    A ``dask.distributed`` client: a new ``LocalCluster`` of ``n_jobs`` single-threaded worker
    processes, or the scheduler at ``address`` (``tcp://host:8786``). Extra: ``simrec[dask]``.
``ray``
    Ray tasks on a local instance started for the sweep (``n_jobs`` CPUs) or on the cluster at
    ``address`` (``auto``, ``ray://host:10001``). Extra: ``simrec[ray]``.

Results do not depend on the backend: a run's seeds derive from its identity, and every worker
computes with one thread.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ..errors import SweepError

__all__ = ["Backend", "LocalBackend", "DaskBackend", "RayBackend", "BackendUnavailable", "make_backend",
           "resolve_backend", "BACKENDS"]

BACKENDS = ("local", "dask", "ray")


class BackendUnavailable(SweepError, ImportError):
    """The backend's package is not installed (the message says what to install)."""


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class Backend:
    """Runs ``fn(task)`` for every task and yields the results as they complete."""

    name = "backend"

    def map_unordered(self, fn: Callable[[Any], Any], tasks: Sequence[Any]) -> Iterator[Any]:
        raise NotImplementedError

    @property
    def workers(self) -> int:
        """How many runs execute at once."""
        return 1

    def close(self) -> None:
        """Release workers, clusters and connections this backend started."""

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def describe(self) -> str:
        return f"{self.name} ({self.workers} worker{'s' if self.workers != 1 else ''})"


class LocalBackend(Backend):
    """Serial (``n_jobs=1``) or a local process pool (``n_jobs > 1``; ``-1`` = every core)."""

    name = "local"

    def __init__(self, n_jobs: int = 1) -> None:
        if not isinstance(n_jobs, int) or n_jobs == 0 or n_jobs < -1:
            raise SweepError(f"`n_jobs` must be a positive integer or -1 (all cores); got {n_jobs!r}")
        self.n_jobs = _cpu_count() if n_jobs == -1 else n_jobs

    @property
    def workers(self) -> int:
        return self.n_jobs

    def map_unordered(self, fn: Callable[[Any], Any], tasks: Sequence[Any]) -> Iterator[Any]:
        if self.n_jobs == 1 or len(tasks) <= 1:
            for t in tasks:
                yield fn(t)
            return
        import multiprocessing as mp
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
        from concurrent.futures.process import BrokenProcessPool

        # forkserver (POSIX): workers fork from a server that has imported simrec once, so they start
        # in a fraction of a second and share nothing with this process's threads. As with any
        # process pool, a script calling run_sweep(..., n_jobs>1) needs `if __name__ == "__main__":`.
        methods = mp.get_all_start_methods()
        if "forkserver" in methods:
            ctx = mp.get_context("forkserver")
            ctx.set_forkserver_preload(list(_PRELOAD))
        else:  # pragma: no cover - Windows/macOS without forkserver
            ctx = mp.get_context("spawn")
        env_before = {k: os.environ.get(k) for k in _THREAD_VARS}
        os.environ.update({k: "1" for k in _THREAD_VARS})  # inherited by the workers: one thread each
        try:
            ex = ProcessPoolExecutor(max_workers=self.n_jobs, mp_context=ctx, initializer=_ignore_sigint)
        finally:
            for k, v in env_before.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        pending = set()
        it = iter(tasks)
        try:
            for t in it:  # keep at most 2 tasks per worker in flight
                pending.add(ex.submit(fn, t))
                if len(pending) >= 2 * self.n_jobs:
                    break
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    try:
                        yield fut.result()
                    except BrokenProcessPool as exc:
                        raise SweepError(f"a local worker process died ({exc}); finished runs are saved, "
                                         "rerun to resume") from None
                    nxt = next(it, None)
                    if nxt is not None:
                        pending.add(ex.submit(fn, nxt))
        except BaseException:  # Ctrl-C or an error: stop the workers now, their runs are lost
            for fut in pending:
                fut.cancel()
            for proc in list(getattr(ex, "_processes", {}).values()):
                proc.terminate()
            ex.shutdown(wait=False, cancel_futures=True)
            raise
        ex.shutdown(wait=True)


def _ignore_sigint() -> None:
    """Workers ignore Ctrl-C: the driver stops them, so no worker prints a traceback."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


#: imported once by the fork server, so that workers start with them loaded (imports only: running numba's
#: parallel kernels there would start threads that a fork must not inherit)
_PRELOAD = ("simrec.sweeps.compute", "simrec.envs", "simrec.policies", "simrec.estimators.ope", "sklearn.linear_model")
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


class DaskBackend(Backend):
    """``dask.distributed``: a LocalCluster started here, or an existing scheduler at ``address``."""

    name = "dask"

    def __init__(self, n_jobs: int = 2, address: str | None = None, retries: int = 1) -> None:
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError as exc:
            msg = f'the dask backend needs dask.distributed: pip install "simrec[dask]" ({exc})'
            raise BackendUnavailable(msg) from None
        self.address = address or os.environ.get("DASK_SCHEDULER_ADDRESS")
        self.retries = retries
        self._cluster = None
        if self.address:
            try:
                self.client = Client(self.address, timeout="20s")
            except (OSError, TimeoutError) as exc:
                raise SweepError(f"cannot reach the Dask scheduler at {self.address!r}: {exc}") from None
        else:
            n = _cpu_count() if n_jobs == -1 else max(1, n_jobs)
            self._cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                                         silence_logs=logging.ERROR)
            self.client = Client(self._cluster)

    @property
    def workers(self) -> int:
        return sum(w["nthreads"] for w in self.client.scheduler_info()["workers"].values()) or 1

    def map_unordered(self, fn: Callable[[Any], Any], tasks: Sequence[Any]) -> Iterator[Any]:
        from dask.distributed import as_completed

        if not tasks:
            return
        nonce = uuid.uuid4().hex[:8]
        keys = [f"simrec-run-{getattr(t, 'run_id', i)}-{nonce}" for i, t in enumerate(tasks)]
        futures = self.client.map(fn, list(tasks), key=keys, pure=False, retries=self.retries)
        try:
            for fut in as_completed(futures):
                yield fut.result()
        finally:
            for f in futures:
                f.cancel()

    def close(self) -> None:
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()


def _apply(fn: Callable[[Any], Any], task: Any) -> Any:
    return fn(task)


class RayBackend(Backend):
    """Ray tasks: a local instance started for the sweep, or the cluster at ``address``."""

    name = "ray"

    def __init__(self, n_jobs: int = 2, address: str | None = None, retries: int = 1) -> None:
        try:
            import ray
        except ImportError as exc:
            raise BackendUnavailable(f'the ray backend needs ray: pip install "simrec[ray]" ({exc})') from None
        self._ray = ray
        self._owns = False
        self.retries = retries
        if not ray.is_initialized():
            kw: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
            if address:
                kw["address"] = address
            else:
                kw["num_cpus"] = _cpu_count() if n_jobs == -1 else max(1, n_jobs)
            try:
                ray.init(**kw)
            except ConnectionError as exc:
                raise SweepError(f"cannot reach the Ray cluster at {address!r}: {exc}") from None
            self._owns = True

    @property
    def workers(self) -> int:
        return int(self._ray.cluster_resources().get("CPU", 1))

    def map_unordered(self, fn: Callable[[Any], Any], tasks: Sequence[Any]) -> Iterator[Any]:
        ray = self._ray
        if not tasks:
            return
        remote = ray.remote(num_cpus=1, max_retries=self.retries)(_apply)
        fn_ref = ray.put(fn)
        pending = [remote.remote(fn_ref, t) for t in tasks]
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                yield ray.get(done[0])
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)

    def close(self) -> None:
        if self._owns and self._ray.is_initialized():
            self._ray.shutdown()


def resolve_backend(backend: Backend | str | None, execution: Any, n_jobs: int | None = None,
                    address: str | None = None) -> tuple[Backend, bool]:
    """The backend a sweep runs on, and whether the caller started it (and must close it): ``backend``
    itself when it is a :class:`Backend`, else one made from its name, ``n_jobs`` and ``address``,
    each defaulting to the sweep file's ``execution`` section."""
    if isinstance(backend, Backend):
        return backend, False
    return make_backend(backend or execution.backend, n_jobs if n_jobs is not None else execution.n_jobs,
                        address if address is not None else execution.address), True


def make_backend(name: str = "local", n_jobs: int = 1, address: str | None = None) -> Backend:
    """A backend by name: ``local`` (default), ``dask`` or ``ray``."""
    if name == "local":
        if address:
            raise SweepError("the local backend takes no --address (use --backend dask or ray)")
        return LocalBackend(n_jobs)
    if name == "dask":
        return DaskBackend(n_jobs=n_jobs, address=address)
    if name == "ray":
        return RayBackend(n_jobs=n_jobs, address=address)
    raise SweepError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
