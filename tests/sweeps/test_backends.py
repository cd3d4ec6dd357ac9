"""Every backend gives the same results table (same run ids, same values) as the local serial run."""

from __future__ import annotations

import importlib.util

import pandas as pd
import pytest

from simrec.errors import SweepError
from simrec.sweeps import BackendUnavailable, LocalBackend, comparable, make_backend, parse_sweep, run_sweep

from ._fixtures import env_sweep

needs_dask = pytest.mark.skipif(importlib.util.find_spec("distributed") is None,
                                reason='dask.distributed is not installed (pip install "simrec[dask]")')
needs_ray = pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                               reason='ray is not installed (pip install "simrec[ray]")')


def _same(res, ref):
    assert sorted(res.table["run_id"].unique()) == sorted(ref.table["run_id"].unique())
    pd.testing.assert_frame_equal(comparable(res.table), comparable(ref.table), check_exact=True)


def _dask_started(backend):
    from dask.distributed import LocalCluster

    return isinstance(backend._cluster, LocalCluster)


def _ray_started(backend):
    import ray

    return ray.is_initialized()


def _ray_stopped():
    import ray

    return not ray.is_initialized()


#: each distributed backend, how to tell that it started a local instance and (ray) that close() stopped it
BACKENDS = [
    pytest.param("dask", _dask_started, None, marks=[pytest.mark.slow, needs_dask], id="dask"),
    pytest.param("ray", _ray_started, _ray_stopped, marks=[pytest.mark.slow, needs_ray], id="ray"),
]


def _run_on(name, spec, out_dir, started=None, stopped=None):
    """Run ``spec`` on a fresh 2-worker local ``name`` backend, closing it whatever happens."""
    backend = make_backend(name, n_jobs=2)
    try:
        if started is not None:
            assert started(backend) and backend.workers == 2
        res = run_sweep(spec, backend, out_dir=out_dir, progress=False)
    finally:
        backend.close()
    if stopped is not None:
        assert stopped()
    return res


@pytest.mark.parametrize("name, started, stopped", BACKENDS)
def test_local_instance_gives_the_local_table(name, started, stopped, tiny_serial, tmp_path):
    spec, ref = tiny_serial
    res = _run_on(name, spec, tmp_path, started, stopped)
    _same(res, ref)
    assert res.n_executed == 2


@pytest.fixture(scope="module", params=["simrec/Slate-v0", "simrec/Retention-v0"])
def env_serial(request, tmp_path_factory):
    """A slate and a long-term sweep run serially once: (spec, result)."""
    spec = parse_sweep(env_sweep(request.param))
    return spec, run_sweep(spec, "local", out_dir=tmp_path_factory.mktemp("env_serial"), progress=False)


@pytest.mark.parametrize("name, started, stopped", BACKENDS)
def test_slate_and_long_term_envs_give_the_local_table(name, started, stopped, env_serial, tmp_path):
    spec, ref = env_serial
    _same(_run_on(name, spec, tmp_path), ref)


def test_backend_arguments_are_checked():
    with pytest.raises(SweepError, match="n_jobs"):
        LocalBackend(0)
    with pytest.raises(SweepError, match="unknown backend"):
        make_backend("spark")
    with pytest.raises(SweepError, match="no --address"):
        make_backend("local", address="tcp://x:1")
    assert issubclass(BackendUnavailable, ImportError)
    assert list(LocalBackend(1).map_unordered(lambda x: x * 2, [1, 2, 3])) == [2, 4, 6]


def test_local_pool_runs_tasks_concurrently():
    """2 local workers overlap their tasks: once the pool is up, 8 half-second tasks take about 2 s,
    not 4 s. (Sleeping tasks, so the check holds on a busy machine; benchmarks/bench_sweep.py times
    real runs.)"""
    import time

    backend = LocalBackend(2)
    stamps = []
    for _ in backend.map_unordered(time.sleep, [0.5] * 8):
        stamps.append(time.perf_counter())
    assert len(stamps) == 8
    after_first = stamps[-1] - stamps[0]  # 7 more tasks after the first result: 3.5 s if serial
    assert after_first < 2.6, after_first
