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


@pytest.mark.slow
@needs_dask
def test_dask_local_cluster_gives_the_local_table(tiny_serial, tmp_path):
    spec, ref = tiny_serial
    backend = make_backend("dask", n_jobs=2)
    try:
        assert backend.workers == 2
        from dask.distributed import LocalCluster

        assert isinstance(backend._cluster, LocalCluster)
        res = run_sweep(spec, backend, out_dir=tmp_path, progress=False)
    finally:
        backend.close()
    _same(res, ref)
    assert res.n_executed == 2


@pytest.mark.slow
@needs_ray
def test_ray_local_instance_gives_the_local_table(tiny_serial, tmp_path):
    spec, ref = tiny_serial
    import ray

    backend = make_backend("ray", n_jobs=2)
    try:
        assert ray.is_initialized() and backend.workers == 2
        res = run_sweep(spec, backend, out_dir=tmp_path, progress=False)
    finally:
        backend.close()
    assert not ray.is_initialized()
    _same(res, ref)
    assert res.n_executed == 2


@pytest.fixture(scope="module", params=["simrec/Slate-v0", "simrec/Retention-v0"])
def env_serial(request, tmp_path_factory):
    """A slate and a long-term sweep run serially once: (spec, result)."""
    spec = parse_sweep(env_sweep(request.param))
    return spec, run_sweep(spec, "local", out_dir=tmp_path_factory.mktemp("env_serial"), progress=False)


@pytest.mark.slow
@needs_dask
def test_dask_gives_the_local_table_on_slate_and_long_term_envs(env_serial, tmp_path):
    spec, ref = env_serial
    backend = make_backend("dask", n_jobs=2)
    try:
        res = run_sweep(spec, backend, out_dir=tmp_path, progress=False)
    finally:
        backend.close()
    _same(res, ref)


@pytest.mark.slow
@needs_ray
def test_ray_gives_the_local_table_on_slate_and_long_term_envs(env_serial, tmp_path):
    spec, ref = env_serial
    backend = make_backend("ray", n_jobs=2)
    try:
        res = run_sweep(spec, backend, out_dir=tmp_path, progress=False)
    finally:
        backend.close()
    _same(res, ref)


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
