"""Slate and sequential estimators cluster their standard errors like the bandit family: on the log's
session (slates) or user (episodes) ids, with the same CR1 formula, and refuse ids that cannot
define clusters."""

import numpy as np
import pytest

from simrec.errors import InvalidLogError
from simrec.estimators.intervals import cluster_mean_se
from simrec.estimators.ope import PDIS, RIPS, SlateIPS
from simrec.testing.check_estimator import PROBLEMS


def test_slate_estimates_are_cluster_robust_over_sessions():
    log, kw = PROBLEMS["slate"](np.random.default_rng(0))
    n = len(log)
    sessions = np.repeat(np.arange(n // 8), 8)  # 8 slates per session
    slog = log.replace(session_id=sessions, user_id=sessions // 2)
    for est, inputs in ((SlateIPS(), {"pi_slate": kw["pi_slate"]}), (RIPS(), {"pi_cascade": kw["pi_cascade"]})):
        c = est.contributions(slog, **inputs)
        auto = est.estimate(slog, **inputs)
        m, se, g = cluster_mean_se(c, sessions)
        assert auto.diagnostics["n_clusters"] == g == n // 8 and auto.stderr == pytest.approx(se, rel=1e-12)
        users = est.estimate(slog, cluster="user", **inputs)
        assert users.diagnostics["n_clusters"] == n // 16
        iid = est.estimate(slog, cluster=None, **inputs)
        assert "n_clusters" not in iid.diagnostics and iid.stderr == pytest.approx(c.std(ddof=1) / np.sqrt(n))
        assert auto.value == pytest.approx(iid.value, rel=1e-12) and auto.stderr != iid.stderr
        with pytest.raises(InvalidLogError, match="session_id"):
            est.estimate(log, cluster="session", **inputs)


def test_episode_estimates_are_cluster_robust_over_users():
    log, kw = PROBLEMS["trajectories"](np.random.default_rng(1))
    ep = log.episode
    users = ep // 3  # three episodes per user
    ulog = log.replace(user_id=users)
    est = PDIS()
    c = est.contributions(ulog, kw["action_dist"])
    auto = est.estimate(ulog, kw["action_dist"])
    first = np.r_[True, ep[1:] != ep[:-1]]
    m, se, g = cluster_mean_se(c, users[first])
    assert auto.diagnostics["n_clusters"] == g == len(np.unique(users)) and auto.stderr == pytest.approx(se, rel=1e-12)
    iid = est.estimate(ulog, kw["action_dist"], cluster=None)
    assert "n_clusters" not in iid.diagnostics and auto.stderr != iid.stderr
    # an id that changes inside an episode cannot make episodes clusters
    sess = np.arange(len(log))
    with pytest.raises(InvalidLogError, match="changes inside episode"):
        est.estimate(log.replace(session_id=sess), kw["action_dist"], cluster="session")


def test_one_row_clusters_bootstrap_like_rows():
    """Ids that put every row in its own cluster (a fresh user per row) resample like the row
    bootstrap: the same interval from the same seed, on the row bootstrap's fast path."""
    from simrec.estimators import intervals

    c = np.random.default_rng(3).normal(size=5000)
    ids = np.random.default_rng(4).permutation(5000)
    assert intervals.interval(c, "bootstrap", n_boot=500, rng=7, clusters=ids) == \
        intervals.interval(c, "bootstrap", n_boot=500, rng=7)
    pairs = np.arange(5000) // 2  # real clusters still resample clusters
    assert intervals.interval(c, "bootstrap", n_boot=500, rng=7, clusters=pairs) != \
        intervals.interval(c, "bootstrap", n_boot=500, rng=7)
