"""Cluster-robust standard errors and intervals clipped to the reward range."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import simrec  # noqa: F401
from simrec.data import BanditLog, SlateLog, Trajectories
from simrec.errors import ConfigError, InvalidLogError
from simrec.estimators import Estimate, intervals, ope


def test_cluster_se_by_hand():
    c = np.array([1.0, 2.0, 4.0, 0.0, 3.0])
    g = np.array([7, 7, 3, 3, 9])
    m = c.mean()
    tot = np.array([(1 - m) + (2 - m), (4 - m) + (0 - m), 3 - m])
    se = np.sqrt(3 / 2 * (tot ** 2).sum()) / 5
    e = Estimate.from_contributions(c, clusters=g)
    assert e.value == pytest.approx(m) and e.stderr == pytest.approx(se, rel=1e-12)
    assert e.diagnostics["n_clusters"] == 3
    # one row per cluster: exactly the i.i.d. standard error
    assert Estimate.from_contributions(c, clusters=np.arange(5)).stderr == pytest.approx(
        Estimate.from_contributions(c).stderr, rel=1e-12)


def test_duplicated_rows_do_not_shrink_the_clustered_se():
    rng = np.random.default_rng(0)
    c = rng.normal(size=400)
    c2, g2 = np.repeat(c, 2), np.repeat(np.arange(400), 2)
    base = Estimate.from_contributions(c)
    iid = Estimate.from_contributions(c2)
    cl = Estimate.from_contributions(c2, clusters=g2)
    assert iid.stderr < 0.75 * base.stderr  # i.i.d. errors pretend there are 800 rows
    assert cl.stderr == pytest.approx(base.stderr, rel=1e-9)
    # t with G-1 df, and the cluster bootstrap resamples the pairs together
    t = Estimate.from_contributions(c2, clusters=g2, ci_method="t")
    assert t.ci == pytest.approx(intervals.t_ci(c, 0.05), rel=1e-9)
    b = Estimate.from_contributions(c2, clusters=g2, ci_method="bootstrap", rng=1, n_boot=4000)
    bi = Estimate.from_contributions(c2, ci_method="bootstrap", rng=1, n_boot=4000)
    wb, wbi = b.ci[1] - b.ci[0], bi.ci[1] - bi.ci[0]
    assert wb == pytest.approx(2 * 1.96 * base.stderr, rel=0.08)
    assert wbi < 0.8 * wb
    # the stored clusters travel to later intervals
    assert cl.interval("t") == pytest.approx(t.ci, rel=1e-12)


@pytest.mark.parametrize(("clusters", "match"), [
    (np.arange(3), "one id per row"), (np.linspace(0, 1, 4), "integer ids")])
def test_bad_clusters(clusters, match):
    with pytest.raises(ConfigError, match=match):
        Estimate.from_contributions(np.ones(4), clusters=clusters)


def _log(**kw):
    rng = np.random.default_rng(3)
    n = 600
    a = rng.integers(0, 3, n)
    return BanditLog(action=a, reward=(rng.random(n) < 0.3).astype(float), pscore=np.full(n, 1 / 3),
                     n_actions=3, **kw)


def test_bandit_estimators_cluster_on_session_then_user():
    n = 600
    sess, user = np.arange(n) // 6, np.arange(n) // 60
    ad = np.full((n, 3), 1 / 3)
    plain = ope.IPS().estimate(_log(), ad)
    by_s = ope.IPS().estimate(_log(session_id=sess, user_id=user), ad)
    by_u = ope.IPS().estimate(_log(session_id=sess, user_id=user), ad, cluster="user")
    only_u = ope.IPS().estimate(_log(user_id=user), ad)
    none = ope.IPS().estimate(_log(session_id=sess), ad, cluster=None)
    assert by_s.diagnostics["n_clusters"] == 100 and by_u.diagnostics["n_clusters"] == 10
    assert only_u.stderr == by_u.stderr
    assert none.stderr == plain.stderr and "n_clusters" not in plain.diagnostics
    assert by_s.stderr != plain.stderr
    with pytest.raises(InvalidLogError, match="session_id"):
        ope.IPS().estimate(_log(), ad, cluster="session")
    with pytest.raises(ConfigError, match="cluster"):
        ope.IPS().estimate(_log(), ad, cluster="users")


@pytest.mark.parametrize("field", ["user_id", "session_id"])
@pytest.mark.parametrize(("value", "match"), [
    (np.full(600, np.nan), "integer|int"), (-np.ones(600, dtype=int), ">= 0"), (np.zeros(5, dtype=int), "600 rows")])
def test_log_ids_are_validated(field, value, match):
    with pytest.raises(InvalidLogError, match=field + ".*" + match if match != "600 rows" else field):
        _log(**{field: value})


def test_ids_round_trip_and_slice(tmp_path):
    log = _log(user_id=np.arange(600) // 60, session_id=np.arange(600) // 6)
    log.to_parquet(tmp_path / "l.parquet")
    back = BanditLog.read_parquet(tmp_path / "l.parquet")
    np.testing.assert_array_equal(back.session_id, log.session_id)
    assert log[60:70].user_id.tolist() == [1] * 10
    s = SlateLog(slate=[[0, 1], [1, 2]], reward=np.zeros((2, 2)), user_id=[4, 4], session_id=[0, 1])
    t = Trajectories(episode=[0, 0, 1], obs=np.zeros(3), action=[0, 1, 0], reward=np.zeros(3), user_id=[2, 2, 5])
    assert s.session_id.tolist() == [0, 1] and t.user_id.tolist() == [2, 2, 5]


def test_collect_records_sessions_and_users():
    from simrec.policies import collect, make_policy

    env = gym.make("simrec/Slate-v0")
    log = collect(env, make_policy("uniform", env), 60, seed=0, marginals=False)
    assert log.session_id is not None and log.user_id is not None
    # single env: a new session starts after each terminated/truncated step, and a session has one user
    assert (np.diff(log.session_id) >= 0).all() and len(np.unique(log.session_id)) > 1
    for s in np.unique(log.session_id):
        assert len(np.unique(log.user_id[log.session_id == s])) == 1
    venv = gym.make_vec("simrec/Bandit-v0", num_envs=8)
    blog = collect(venv, make_policy("uniform", venv), 40, seed=0)
    assert blog.user_id is not None and blog.session_id is None  # a Bandit-v0 round is a fresh user


def test_bernstein_ctr_interval_stays_in_0_1():
    rng = np.random.default_rng(0)
    r = (rng.random(200) < 0.02).astype(float)
    log = BanditLog(action=np.zeros(200, dtype=int), reward=r, pscore=np.ones(200), n_actions=1)
    ad = np.ones((200, 1))
    e = ope.IPS().estimate(log, ad, ci_method="bernstein")
    raw = ope.IPS().estimate(log, ad, ci_method="bernstein", reward_range=None)
    assert raw.ci[0] < 0  # the unclipped empirical Bernstein interval of a rare click goes below 0
    assert e.ci[0] == 0.0 and e.ci[1] == pytest.approx(raw.ci[1]) and e.reward_range == (0.0, 1.0)
    # rewards that are not all 0/1: no range is assumed unless given
    log2 = log.replace(reward=r * 0.5)
    assert ope.IPS().estimate(log2, ad, ci_method="bernstein").ci[0] < 0
    assert ope.IPS().estimate(log2, ad, ci_method="bernstein", reward_range=(0, 0.5)).ci[0] == 0.0
    with pytest.raises(ConfigError, match="reward_range"):
        ope.IPS().estimate(log2, ad, reward_range=(1, 0))
    # the clip applies to every method and to later intervals
    assert e.interval("normal")[0] >= 0 and e.with_interval("bootstrap", rng=0).ci[0] >= 0


def test_clipping_never_excludes_the_estimate():
    # an IPS estimate above 1 on clicks: the interval is clipped below at 0 but still reaches the value
    c = np.array([0.0] * 6 + [4.0] * 4)
    e = Estimate.from_contributions(c, reward_range=(0.0, 1.0))
    assert e.value == pytest.approx(1.6) and e.ci[0] >= 0.0 and e.ci[0] <= e.value <= e.ci[1] == e.value
    assert intervals.interval(c, "bernstein", reward_range=(0.0, 1.0))[1] == pytest.approx(1.6)
    assert intervals.interval(c, "bernstein")[1] > 1.6
