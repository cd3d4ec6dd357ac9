"""The logs of a run keep every per-row id through mixtures and per-slot views."""

from __future__ import annotations

import numpy as np
import pytest

from simrec.errors import InvalidLogError
from simrec.sim import presets
from simrec.sweeps import _registry
from simrec.sweeps.logs import concat_bandit, per_slot, step_log
from simrec.sweeps.profiles import make_env

from ._fixtures import SMALL_WORLD


def _world():
    return presets.get(SMALL_WORLD["preset"], **{"population.n_users": 60, "catalog.n_items": 12}).model_dump(
        mode="json")


def _loggers(env):
    return [_registry.make_policy("softmax", env, {"temperature": t}, rng=i) for i, t in enumerate((0.3, 3.0))]


def test_slate_mixture_keeps_ids_and_sessions_do_not_collide():
    env = make_env("simrec/Slate-v0", _world(), {"slate_size": 2}, step=True)
    venv = make_env("simrec/Slate-v0", _world(), {"slate_size": 2}, num_envs=4, step=True)
    sl = step_log(venv, _loggers(env), [0.5, 0.5], 120, seed=3)
    log = sl.log
    assert log.meta["loggers"] == 2
    assert log.user_id is not None and log.session_id is not None
    # each part numbers its sessions from 0: the mixture must not merge part 0's session i with part 1's
    half = 60
    assert set(log.session_id[:half]).isdisjoint(log.session_id[half:])
    # one decision per episode on the step env: every row its own session
    assert len(np.unique(log.session_id)) == len(log)
    # users are the world's users: ids stay as logged (inside the population)
    assert log.user_id.max() < SMALL_WORLD["population"]["n_users"]
    bl, lp = per_slot(log, sl.logger_marginals)
    K = log.slate.shape[1]
    np.testing.assert_array_equal(bl.session_id, np.repeat(log.session_id, K))
    np.testing.assert_array_equal(bl.user_id, np.repeat(log.user_id, K))
    np.testing.assert_array_equal(bl.position, np.tile(np.arange(K), len(log)))
    assert lp.shape == (len(log) * K, 2)


def test_bandit_mixture_keeps_every_field():
    from simrec.data import BanditLog

    def part(n, shift):
        return BanditLog(action=np.arange(n) % 3, reward=np.ones(n), pscore=np.full(n, 0.5),
                         context=np.ones((n, 2)) * shift, position=np.arange(n) % 2, user_id=np.arange(n) + shift,
                         session_id=np.arange(n), n_actions=3)

    a, b = part(4, 0), part(3, 10)
    log = concat_bandit([a, b])
    np.testing.assert_array_equal(log.logger_id, [0, 0, 0, 0, 1, 1, 1])
    np.testing.assert_array_equal(log.user_id, np.r_[a.user_id, b.user_id])  # the same users, kept
    np.testing.assert_array_equal(log.position, np.r_[a.position, b.position])
    np.testing.assert_array_equal(log.session_id, np.arange(7))  # part 1's sessions follow part 0's
    with pytest.raises(InvalidLogError, match="only some have `session_id`"):
        concat_bandit([a, b.replace(session_id=None)])


def test_trajectory_logs_carry_user_ids_and_sequential_estimates_cluster_on_them():
    import gymnasium as gym

    import simrec  # noqa: F401
    from simrec.estimators.ope import PDIS
    from simrec.policies import make_policy
    from simrec.sweeps.logs import trajectory_log

    def make(m):
        return gym.make_vec("simrec/Retention-v0", num_envs=m, world="default")

    pol = make_policy("uniform", make(2))
    log = trajectory_log(make, [pol, pol], [0.5, 0.5], 30, seed=1)
    assert log.user_id is not None and log.user_id.shape == log.episode.shape
    est = PDIS().estimate(log, pi_logged=log.pscore)  # the logger itself as target (slates: pi_logged)
    first = np.r_[True, log.episode[1:] != log.episode[:-1]]
    assert est.diagnostics["n_clusters"] == len(np.unique(log.user_id[first]))
