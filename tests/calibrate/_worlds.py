"""Logs simulated by simrec's own calibrated worlds with known click-model parameters."""

from __future__ import annotations

import numpy as np

from simrec.calibrate.fidelity import simulate_like
from simrec.data import BanditLog, SlateLog
from simrec.sim import World
from simrec.sim.calibrated import CalibratedWorld

EXAM = np.array([0.9, 0.55, 0.3])


def attractiveness(n_items: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.05, 0.6, n_items)


def pbm_world(n_items: int = 100) -> tuple[World, np.ndarray, np.ndarray]:
    attr = attractiveness(n_items)
    return World.from_calibration(CalibratedWorld("pbm", EXAM, attr)), EXAM, attr


def cascade_world(n_items: int = 100, k: int = 3) -> tuple[World, np.ndarray]:
    attr = attractiveness(n_items, seed=2) * 0.6
    return World.from_calibration(CalibratedWorld("cascade", np.ones(k), attr)), attr


def random_slates(n: int, n_items: int, k: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.argsort(rng.random((n, n_items)), axis=1)[:, :k]


def pbm_rows(n: int, n_items: int = 100, seed: int = 0) -> BanditLog:
    """(item, slot, click) rows from the PBM world under uniform random logging."""
    world, _, _ = pbm_world(n_items)
    rng = np.random.default_rng(seed)
    k = EXAM.size
    tmpl = BanditLog(action=rng.integers(0, n_items, n), reward=np.zeros(n), position=rng.integers(0, k, n),
                     pscore=np.full(n, 1.0 / n_items), n_actions=n_items)  # P(item | slot), as in OBD
    return simulate_like(world, tmpl, rng)


def pbm_slates(n: int, n_items: int = 100, seed: int = 0) -> SlateLog:
    """Whole slates with independent PBM clicks in every slot (several clicks per slate possible)."""
    world, _, _ = pbm_world(n_items)
    k = EXAM.size
    slates = random_slates(n, n_items, k, seed)
    flat = BanditLog(action=slates.ravel(), reward=np.zeros(n * k), position=np.tile(np.arange(k), n),
                     n_actions=n_items)
    sim = simulate_like(world, flat, seed + 1)
    return SlateLog(slate=slates, reward=sim.reward.reshape(n, k), n_items=n_items)


def cascade_slates(n: int, n_items: int = 100, k: int = 3, seed: int = 0) -> SlateLog:
    """Slates clicked by the cascade world (``World.step``: top-down scan, first attractive item)."""
    world, _ = cascade_world(n_items, k)
    slates = random_slates(n, n_items, k, seed)
    tmpl = SlateLog(slate=slates, reward=np.zeros((n, k)), n_items=n_items)
    return simulate_like(world, tmpl, seed + 1)
