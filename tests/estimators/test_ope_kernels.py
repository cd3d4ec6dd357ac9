"""Each numba kernel against a slow, obviously-correct numpy/Python reference."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simrec.estimators import _kernels as _shared_kernels
from simrec.estimators.ope import _kernels


def reference_reduce(ad, q, action, position, unlogged):
    n = ad.shape[0]
    rows = ad if position is None else ad[np.arange(n), :, position]
    qrows = None if q is None else (q if position is None else q[np.arange(n), :, position])
    pi_log = rows[np.arange(n), action]
    bad_p = [i for i in range(n) if (rows[i] < 0).any() or not abs(math.fsum(rows[i]) - 1) <= 1e-6]
    out = {"pi": pi_log, "unsup": sum(math.fsum(rows[i, unlogged]) for i in range(n)), "bad_p": bad_p}
    if qrows is not None:
        out["q_pi"] = np.array([math.fsum(rows[i] * qrows[i]) for i in range(n)])
        out["q_log"] = qrows[np.arange(n), action]
        out["bad_q"] = [i for i in range(n) if not np.isfinite(qrows[i]).all()]
    return out


def _inputs(seed, n=200, k=7, slots=None):
    rng = np.random.default_rng(seed)
    shape = (n, k) if slots is None else (n, k, slots)
    ad = rng.random(shape)
    ad /= ad.sum(axis=1, keepdims=True)
    q = rng.normal(size=shape)
    action = rng.integers(0, k - 2, n)  # the last two actions are never logged
    pos = None if slots is None else rng.integers(0, slots, n)
    return ad, q, action, pos, np.array([k - 2, k - 1])


@pytest.mark.parametrize("slots", [None, 3])
@pytest.mark.parametrize("with_q", [True, False])
def test_reduce_matches_reference(slots, with_q):
    ad, q, action, pos, unlogged = _inputs(0, slots=slots)
    q = q if with_q else None
    if slots is None:
        pi, q_pi, q_log, unsup, flags = _kernels.reduce_rows(ad, q, action, action, unlogged)
    else:
        pi, q_pi, q_log, unsup, flags = _kernels.reduce_rows(ad, q, action, pos, unlogged)
    ref = reference_reduce(ad, q, action, pos, unlogged)
    np.testing.assert_array_equal(pi, ref["pi"])  # a gather: exact
    assert unsup == pytest.approx(ref["unsup"], rel=1e-13)
    assert flags == (-1, 0, -1, 0)
    if with_q:
        np.testing.assert_allclose(q_pi, ref["q_pi"], rtol=1e-13, atol=1e-15)
        np.testing.assert_array_equal(q_log, ref["q_log"])


@pytest.mark.parametrize("slots", [None, 3])
def test_reduce_flags_bad_rows_like_reference(slots):
    ad, q, action, pos, unlogged = _inputs(1, slots=slots)
    idx = (slice(None),) if slots is None else (slice(None), slice(None), slice(None))
    del idx
    ad[5] *= 1.1            # row sums to 1.1
    ad[9, 0] = -ad[9, 0]    # negative entry
    ad[12, 1] = np.nan
    q[20, 3] = np.inf
    q[30, 0] = np.nan
    if slots is None:
        *_, flags = _kernels.reduce_rows(ad, q, action, action, unlogged)
    else:
        *_, flags = _kernels.reduce_rows(ad, q, action, pos, unlogged)
    ref = reference_reduce(ad, q, action, pos, unlogged)
    assert flags[0] == ref["bad_p"][0] and flags[1] == len(ref["bad_p"])
    want_q = ref["bad_q"]
    assert flags[2] == (want_q[0] if want_q else -1) and flags[3] == len(want_q)


def test_reduce_accepts_float32():
    ad, q, action, _, unlogged = _inputs(2)
    pi, q_pi, *_ = _kernels.reduce_rows(ad.astype(np.float32), q.astype(np.float32), action, action, unlogged)
    np.testing.assert_allclose(q_pi, (ad * q).sum(1), rtol=1e-5, atol=1e-5)


def splitmix_indices(seed, n, count):
    """Python reference of the bootstrap kernel's SplitMix64 + multiply-shift stream."""
    mask = (1 << 64) - 1
    s = seed
    out = []
    for _ in range(count):
        s = (s + 0x9E3779B97F4A7C15) & mask
        z = s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        z ^= z >> 31
        out.append(((z >> 32) * n) >> 32)
    return np.array(out)


def test_bootstrap_exact_kernel_matches_reference():
    c = np.random.default_rng(0).normal(size=37)
    got = _shared_kernels.bootstrap_means_exact(c, 5, 12345)
    idx = splitmix_indices(12345, 37, 5 * 37).reshape(5, 37)
    want = np.array([math.fsum(c[i]) / 37 for i in idx])
    np.testing.assert_allclose(got, want, rtol=1e-14)


def test_range_violations_mean_var_weight_stats():
    x = np.array([0.5, -0.1, 0.2, np.nan, 1.5])
    assert _kernels.range_violations(x, 0.0, 1.0) == (3, 1)
    assert _kernels.range_violations(np.array([0.0, 1.0]), 0.0, 1.0) == (0, -1)
    c = np.random.default_rng(1).normal(3, 2, 1001)
    m, v = _shared_kernels.mean_var(c)
    assert m == pytest.approx(c.mean(), rel=1e-13) and v == pytest.approx(c.var(ddof=1), rel=1e-12)
    wr = np.array([0.0, 2.0, 0.5, 4.0])
    wu = np.minimum(wr, 3.0)
    s, s2, amax, rmax, rs, nz = _kernels.weight_stats(wr, wu)
    assert (s, s2, amax, rmax, rs, nz) == pytest.approx((5.5, 13.25, 3.0, 4.0, 6.5, 1))


@pytest.mark.parametrize(("kind", "param"), [
    (_kernels.IPS, np.inf), (_kernels.IPS, 1.5), (_kernels.DR, np.inf), (_kernels.DR, 1.5),
    (_kernels.SWITCH_DR, 2.0), (_kernels.DROS, 0.7), (_kernels.SG_IPS, 0.3), (_kernels.SNIPS, np.inf),
    (_kernels.SNDR, np.inf)])
def test_weighted_terms_matches_numpy(kind, param):
    rng = np.random.default_rng(kind)
    n = 301
    pi, p, r = rng.random(n), rng.uniform(0.1, 1, n), rng.normal(size=n)
    pi[:3] = 0.0
    qp, ql = rng.normal(size=n), rng.normal(size=n)
    w = pi / p
    res = r - ql
    with np.errstate(all="ignore"):
        u = {_kernels.IPS: np.minimum(w, param), _kernels.DR: np.minimum(w, param),
             _kernels.SWITCH_DR: np.where(w <= param, w, 0.0), _kernels.DROS: param * w / (w**2 + param),
             _kernels.SG_IPS: w / (1 - param + param * w)}.get(kind, w)
    if kind in (_kernels.IPS, _kernels.SG_IPS):
        want = u * r
    elif kind == _kernels.SNIPS:
        v = (w * r).sum() / w.sum()
        want = v + w * (r - v) / w.mean()
    elif kind == _kernels.SNDR:
        th = (w * res).sum() / w.sum()
        want = qp + th + w * (res - th) / w.mean()
    else:
        want = qp + u * res
    c, stats = _kernels.weighted_terms(pi, p, r, qp, ql, kind, param)
    np.testing.assert_allclose(c, want, rtol=1e-12, atol=1e-14)
    ref = (u.sum(), (u * u).sum(), np.abs(u).max(), w.max(), w.sum(), 3, int((w > param).sum()))
    assert stats == pytest.approx(ref, rel=1e-12)
