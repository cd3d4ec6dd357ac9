from __future__ import annotations

import shutil

import pytest

from simrec.sweeps import parse_sweep, run_sweep

from ._fixtures import tiny


@pytest.fixture(scope="session")
def tiny_serial(tmp_path_factory):
    """The tiny sweep run serially once: (spec, result). Copy ``result.out_dir`` before changing it."""
    spec = parse_sweep(tiny())
    out = tmp_path_factory.mktemp("tiny_serial")
    return spec, run_sweep(spec, "local", out_dir=out, progress=False)


@pytest.fixture
def tiny_copy(tiny_serial, tmp_path):
    """A private copy of the serial run's output folder."""
    spec, res = tiny_serial
    dst = tmp_path / "out"
    shutil.copytree(res.out_dir, dst)
    return spec, dst
