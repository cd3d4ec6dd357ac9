"""Latent user (context) and item factors: context-dependent appeal carried into the world."""

from __future__ import annotations

import numpy as np
import pytest

from simrec.calibrate import fit_factors, fit_world
from simrec.data import BanditLog
from simrec.errors import ConfigError, InvalidLogError
from simrec.sim import World

EXAM = np.array([0.9, 0.6, 0.3])


def _log(n: int, seed: int) -> tuple[BanditLog, np.ndarray]:
    """Two contexts with opposite tastes: logit alpha[q, i] = b_i + s_q w_i (rank 1)."""
    rng = np.random.default_rng(seed)
    n_items = 20
    b, w = rng.normal(-1.0, 0.4, n_items), rng.normal(0.0, 1.0, n_items)
    s = np.array([1.0, -1.0])
    alpha = 1 / (1 + np.exp(-(b[None, :] + s[:, None] * w[None, :])))
    q, item, pos = rng.integers(0, 2, n), rng.integers(0, n_items, n), rng.integers(0, 3, n)
    click = (rng.random(n) < EXAM[pos] * alpha[q, item]).astype(float)
    ctx = np.eye(2)[q]
    return BanditLog(action=item, reward=click, position=pos, context=ctx, pscore=np.full(n, 1 / n_items)), alpha


def test_world_with_factors_reproduces_context_dependent_appeal():
    log, alpha = _log(200_000, seed=0)
    with_f = World.from_calibration(fit_world(log, "pbm", factors=1, n_users=200))
    without = World.from_calibration(fit_world(log, "pbm", n_users=200))
    truth = EXAM[0] * alpha  # top slot
    errs = {}
    for name, w in (("factors", with_f), ("none", without)):
        ctx = w.population.features[:, :2].argmax(axis=1)
        users = np.array([np.flatnonzero(ctx == q)[0] for q in (0, 1)])
        got = np.stack([w.expected_reward(np.full(20, u), np.arange(20), 0) for u in users])
        errs[name] = np.abs(got - truth).max()
    assert errs["factors"] < 0.03  # the rank-1 map recovers both contexts' appeal
    assert errs["none"] > 0.15  # one attractiveness per item cannot
    lf = fit_factors(log, 1)
    assert lf.user_factors.shape == (2, 1) and lf.item_factors.shape == (20, 1)


def test_factors_round_trip_and_errors(tmp_path):
    log, _ = _log(20_000, seed=1)
    cw = fit_world(log, "pbm", factors=1, n_users=50, save=tmp_path / "f.npz")
    w = World(str(tmp_path / "f.npz"))
    assert w.config.dim == 3 and w.config.choice.affinity_weight == 1.0
    np.testing.assert_allclose(w.population.features[:, 2], 0.0)  # factors are latent, not observed
    np.testing.assert_allclose(w.population.interest[:, 2], cw.user_factors[:, 0])
    with pytest.raises(ConfigError, match="rank"):
        fit_factors(log, 5)
    with pytest.raises(InvalidLogError, match="context"):
        fit_factors(log.replace(context=None), 1)
    with pytest.raises(ConfigError, match="contexts"):
        fit_world(log.replace(context=None), "pbm", factors=1)
