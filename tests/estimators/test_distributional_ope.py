"""Distributional OPE: the estimated CDF of returns against the exact return distribution of the
Graph MDP, exact pointwise unbiasedness by enumeration, and the statistics of a distribution."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from simrec.data import BanditLog
from simrec.errors import ConfigError, InvalidLogError
from simrec.estimators import Estimate, ope
from simrec.estimators.ope import CumulativeDistributionOPE, ReturnDistribution
from simrec.testing.mdp import graph_mdp, graph_policy

GAMMA = 0.98


def exact_stats(support, prob):
    F = np.cumsum(prob)
    mean = prob @ support

    def cvar(level):
        return np.diff(np.minimum(F, level), prepend=0.0) @ support / level

    return F, mean, prob @ (support - mean) ** 2, cvar, support[np.searchsorted(F, 0.5 - 1e-12)]


@pytest.fixture(scope="module")
def world():
    mdp = graph_mdp(4, gamma=GAMMA)
    pb, pe = graph_policy(0.6, mdp.n_states), graph_policy(0.35, mdp.n_states)
    log, state = mdp.sample(pb, 2000, rng=0)
    q = mdp.q_values(pe)[log.step, state]
    return mdp, pb, pe, log, state, q


@pytest.mark.parametrize("method", ["sntis", "tis", "tdr"])
def test_cdf_matches_the_exact_return_distribution_within_its_intervals(world, method):
    mdp, pb, pe, log, state, q = world
    support, prob = mdp.return_distribution(pe)
    F, mean, var, cvar, median = exact_stats(support, prob)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = CumulativeDistributionOPE(method=method, gamma=GAMMA, n_boot=300, random_state=0).fit(
            log, pe[state], q, alpha=0.01)
    j = np.abs(d.grid[:, None] - support[None]).argmin(0)  # grid point of each exact return
    assert np.abs(d.grid[j] - support).max() < 1e-9
    lo, hi = d.cdf_band()
    assert np.all((lo[j] - 1e-12 <= F) & (F <= hi[j] + 1e-12)), (lo[j], F, hi[j])
    assert np.abs(d.cdf[j] - F).max() < 0.08
    lo_m, hi_m = d.interval("mean")
    assert lo_m <= mean <= hi_m
    lo_v, hi_v = d.interval("variance")
    assert lo_v <= var <= hi_v
    lo_c, hi_c = d.interval("cvar", 0.3)
    assert lo_c <= cvar(0.3) <= hi_c
    lo_q, hi_q = d.interval("quantile", 0.5)
    assert lo_q - 1e-9 <= median <= hi_q + 1e-9
    # negative control: the behaviour policy's return distribution lies outside the band
    Fb = np.cumsum(mdp.return_distribution(pb)[1])
    assert not np.all((lo[j] <= Fb) & (Fb <= hi[j]))


def raw_cdf_at(d: ReturnDistribution, y: np.ndarray) -> np.ndarray:
    idx = np.searchsorted(d.grid, y + 1e-9, side="right") - 1
    return np.where(idx >= 0, d.raw_cdf[np.maximum(idx, 0)], 0.0)


def test_tis_and_tdr_cdfs_are_exactly_unbiased_pointwise():
    mdp = graph_mdp(3, gamma=0.9)
    pb, pe = graph_policy(0.7, mdp.n_states), graph_policy(0.2, mdp.n_states)
    log, prob, state = mdp.enumerate(pb)
    support, p_exact = mdp.return_distribution(pe)
    F = np.cumsum(p_exact)
    q_any = np.random.default_rng(1).normal(size=(3, mdp.n_states, 2))[log.step, state]  # any model of (t, s, a)
    expected = {m: np.zeros_like(F) for m in ("tis", "tdr", "sntis")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(log.n_episodes):
            rows = log.episode == i
            for m in expected:
                d = CumulativeDistributionOPE(method=m, gamma=0.9, n_boot=1).fit(log[rows], pe[state[rows]],
                                                                                  q_any[rows])
                expected[m] += prob[i] * raw_cdf_at(d, support)
    np.testing.assert_allclose(expected["tis"], F, atol=1e-12)
    np.testing.assert_allclose(expected["tdr"], F, atol=1e-12)
    # self-normalised on one trajectory is that trajectory's indicator: the behaviour CDF (biased)
    Fb = np.cumsum(mdp.return_distribution(pb)[1])
    np.testing.assert_allclose(expected["sntis"], Fb, atol=1e-12)
    assert np.abs(Fb - F).max() > 0.2


def test_estimate_is_the_linear_mean_and_registry_compatible(world):
    mdp, pb, pe, log, state, q = world
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sn = CumulativeDistributionOPE(gamma=GAMMA).estimate(log, pe[state])
        tis = CumulativeDistributionOPE(method="tis", gamma=GAMMA).estimate(log, pe[state])
        tdr = CumulativeDistributionOPE(method="tdr", gamma=GAMMA).estimate(log, pe[state], q)
        d = CumulativeDistributionOPE(gamma=GAMMA).fit(log, pe[state])
        wis = ope.WIS(gamma=GAMMA).estimate(log, pe[state]).value
        tis_ref = ope.TrajectoryIS(gamma=GAMMA).estimate(log, pe[state]).value
        pdis = ope.PDIS(gamma=GAMMA).estimate(log, pe[state])
    assert isinstance(sn, Estimate) and sn.n == 2000
    assert sn.value == pytest.approx(wis, rel=1e-12) and d.mean == pytest.approx(wis, rel=1e-9)
    assert tis.value == pytest.approx(tis_ref, rel=1e-12)
    # the exact initial value as control variate: trajectory DR has a smaller standard error than
    # trajectory IS (modestly: the model enters only through the initial state)
    assert tdr.stderr < tis.stderr and abs(tdr.value - mdp.value(pe)) < 3 * tdr.stderr
    assert pdis.n == tdr.n
    from simrec.estimators import registry

    assert registry.get("CumulativeDistributionOPE").family == "distributional"


def test_statistics_of_a_known_distribution():
    grid = np.array([0.0, 1.0, 2.0, 3.0])
    cdf = np.array([0.1, 0.4, 0.9, 1.0])
    d = ReturnDistribution(grid=grid, cdf=cdf, raw_cdf=cdf, boot_cdf=np.tile(cdf, (5, 1)), alpha=0.05,
                           method="sntis", name="x", n=10)
    assert d.mean == pytest.approx(1.6)
    assert d.variance == pytest.approx(0.1 * 1.6**2 + 0.3 * 0.6**2 + 0.5 * 0.4**2 + 0.1 * 1.4**2)
    assert d.quantile(0.5) == 2.0 and d.quantile(0.4) == 1.0 and d.quantile(0.05) == 0.0
    assert d.cvar(0.2) == pytest.approx((0.1 * 0 + 0.1 * 1) / 0.2)
    assert d.cvar(1.0) == pytest.approx(d.mean)
    np.testing.assert_allclose(d.cdf_at([-1, 0, 0.5, 2.5, 9]), [0, 0.1, 0.1, 0.9, 1.0])
    assert d.interval("cvar", 0.2) == (pytest.approx(0.5), pytest.approx(0.5))
    with pytest.raises(ConfigError, match="level"):
        d.interval("quantile")
    with pytest.raises(ConfigError, match="stat"):
        d.interval("median")


def test_repair_and_bootstrap_determinism(world):
    mdp, pb, pe, log, state, q = world
    est = CumulativeDistributionOPE(method="tis", gamma=GAMMA, n_boot=50, random_state=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a, b = est.fit(log, pe[state]), est.fit(log, pe[state])
        c = est.clone().set_params(random_state=4).fit(log, pe[state])
    assert np.all(np.diff(a.cdf) >= 0) and a.cdf[-1] == 1.0 and a.cdf.min() >= 0
    np.testing.assert_array_equal(a.boot_cdf, b.boot_cdf)
    assert not np.array_equal(a.boot_cdf, c.boot_cdf)


def test_bad_input():
    with pytest.raises(ConfigError, match="method"):
        CumulativeDistributionOPE(method="dr")
    blog = BanditLog(action=[0, 1], reward=[1.0, 0.0], pscore=[0.5, 0.5])
    with pytest.raises(InvalidLogError, match="`log` must be a Trajectories"):
        CumulativeDistributionOPE().fit(blog, np.full((2, 2), 0.5))
