"""simrec.data: validated logs and their pandas/Parquet round trips."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simrec.data import BanditLog, SlateLog, Trajectories, concat
from simrec.errors import InvalidLogError


def full_log(n=6):
    rng = np.random.default_rng(0)
    return BanditLog(action=rng.integers(0, 3, n), reward=rng.random(n), pscore=rng.uniform(0.1, 1, n),
                     context=rng.normal(size=(n, 2)), position=rng.integers(0, 2, n),
                     action_embed=rng.normal(size=(4, 3)), n_actions=4, expected_reward=rng.random(n),
                     logger_id=rng.integers(0, 2, n), meta={"source": "test"})


def assert_same(a: BanditLog, b: BanditLog):
    for f in ("action", "reward", "pscore", "context", "position", "expected_reward", "logger_id",
              "action_embed"):
        x, y = getattr(a, f), getattr(b, f)
        assert (x is None) == (y is None), f
        if x is not None:
            np.testing.assert_array_equal(x, y, err_msg=f)
            assert x.dtype == y.dtype, f
    assert a.n_actions == b.n_actions and a.meta == b.meta


def test_dtypes_defaults_and_inference():
    log = BanditLog(action=[0, 2, 1], reward=[1, 0, 1], pscore=[0.5, 0.25, 0.25])
    assert len(log) == 3 and log.n_actions == 3 and log.n_slots == 1
    assert log.action.dtype == np.int64 and log.reward.dtype == np.float64
    assert not log.action.flags.writeable
    assert BanditLog(action=[0], reward=[1.0], pscore=None).pscore is None
    assert BanditLog(action=[0, 1], reward=[1, 2], context=[1.0, 2.0]).context.shape == (2, 1)
    assert BanditLog(action=[0], reward=[1], action_embed=np.ones((5, 2))).n_actions == 5
    with pytest.raises(AttributeError):
        log.reward = np.zeros(3)


@pytest.mark.parametrize(("kw", "match"), [
    ({"action": []}, "at least one"),
    ({"action": [[0, 1]]}, "1-dimensional"),
    ({"action": ["a", "b"]}, "must hold integers"),
    ({"reward": [1.0, np.nan]}, r"`reward` must be finite.*index 1"),
    ({"pscore": [0.5, 1.2]}, r"`pscore` must lie in \(0.0, 1.0\].*index 1.*1.2"),
    ({"pscore": [0.0, 0.5]}, r"`pscore` must lie in.*index 0"),
    ({"n_actions": 1}, r"`action` must be in \[0, 0\]"),
    ({"n_actions": 0}, r"`n_actions` must be >= 1"),
    ({"logger_id": [0]}, r"`logger_id` must have 2 rows"),
    ({"expected_reward": [0.1, np.inf]}, r"`expected_reward` must be finite"),
    ({"meta": []}, "`meta` must be a dict"),
])
def test_invalid(kw, match):
    args = dict(action=[0, 1], reward=[1.0, 0.0], pscore=[0.5, 0.5])
    args.update(kw)
    with pytest.raises(InvalidLogError, match=match):
        BanditLog(**args)


def test_pandas_round_trip():
    log = full_log()
    df = log.to_pandas()
    assert {"action", "reward", "pscore", "context_0", "context_1", "position"} <= set(df.columns)
    assert_same(log, BanditLog.from_pandas(df))
    # a plain frame (no attrs) works too, with overrides
    plain = pd.DataFrame({"action": [0, 1], "reward": [1.0, 0.0], "pscore": [0.5, 0.5]})
    assert BanditLog.from_pandas(plain, n_actions=5).n_actions == 5
    with pytest.raises(InvalidLogError, match="cannot build a BanditLog"):
        BanditLog.from_pandas(pd.DataFrame({"reward": [1.0]}))
    with pytest.raises(InvalidLogError, match="pandas DataFrame"):
        BanditLog.from_pandas({"action": [0]})


def test_parquet_round_trip(tmp_path):
    log = full_log(50)
    log.to_parquet(tmp_path / "log.parquet")
    assert_same(log, BanditLog.read_parquet(tmp_path / "log.parquet"))
    minimal = BanditLog(action=[0, 1], reward=[1.0, 0.0])
    minimal.to_parquet(tmp_path / "m.parquet")
    assert_same(minimal, BanditLog.read_parquet(tmp_path / "m.parquet"))


def test_read_parquet_errors(tmp_path):
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not a parquet file")
    with pytest.raises(InvalidLogError, match="cannot read a BanditLog"):
        BanditLog.read_parquet(bad)
    with pytest.raises(InvalidLogError, match="cannot read"):
        BanditLog.read_parquet(tmp_path / "missing.parquet")
    pd.DataFrame({"action": [0, 1], "reward": [1.0, np.nan]}).to_parquet(tmp_path / "nan.parquet")
    with pytest.raises(InvalidLogError, match=r"`reward` must be finite.*index 1"):
        BanditLog.read_parquet(tmp_path / "nan.parquet")
    SlateLog(slate=[[0, 1]], reward=[[1.0, 0.0]]).to_parquet(tmp_path / "slate.parquet")
    with pytest.raises(InvalidLogError, match="holds a SlateLog, not a BanditLog"):
        BanditLog.read_parquet(tmp_path / "slate.parquet")


def test_slicing_and_concat():
    log = full_log(10)
    part = log[2:5]
    assert len(part) == 3 and part.n_actions == 4
    np.testing.assert_array_equal(part.reward, log.reward[2:5])
    assert len(log[log.reward > 0.5]) == int((log.reward > 0.5).sum())
    assert len(log[3]) == 1
    both = concat([log[:4], log[4:]])
    assert_same(both, log)
    with pytest.raises(InvalidLogError, match="only some have `pscore`"):
        concat([log, log.replace(pscore=None)])


def test_concat_slate_logs_keeps_every_field():
    s = SlateLog(slate=[[0, 3, 1], [2, 1, 0], [1, 2, 3]], reward=np.eye(3), pscore=[0.1, 0.2, 0.3],
                 pscore_marginal=np.full((3, 3), 0.5), pscore_cascade=[[0.5, 0.2, 0.1], [0.5, 0.3, 0.2],
                                                                      [0.5, 0.4, 0.3]],
                 context=np.arange(6.0).reshape(3, 2), user_id=[4, 5, 4], session_id=[0, 1, 2])
    both = concat([s[:1], s[1:]])
    assert isinstance(both, SlateLog) and both.n_items == s.n_items
    for f in SlateLog._row_fields:
        np.testing.assert_array_equal(getattr(both, f), getattr(s, f))
    with pytest.raises(InvalidLogError, match="different slate sizes"):
        concat([s, SlateLog(slate=[[0, 1]], reward=[[0.0, 1.0]])])
    with pytest.raises(InvalidLogError, match="cannot concatenate a BanditLog"):
        concat([s, full_log(3)])


def test_slate_log():
    s = SlateLog(slate=[[0, 3, 1], [2, 1, 0]], reward=np.zeros((2, 3)), pscore=[0.1, 0.2],
                 pscore_marginal=np.full((2, 3), 0.5), context=np.ones((2, 2)))
    assert s.slate_size == 3 and s.n_items == 4 and len(s) == 2
    with pytest.raises(InvalidLogError, match=r"must not repeat an item.*row 1 \(value \[2, 2, 0\]\)"):
        SlateLog(slate=[[0, 1, 2], [2, 2, 0]], reward=np.zeros((2, 3)))
    with pytest.raises(InvalidLogError, match=r"`reward` must have shape \(2, 3\)"):
        SlateLog(slate=[[0, 1, 2], [2, 1, 0]], reward=np.zeros((2, 2)))
    with pytest.raises(InvalidLogError, match="`pscore_marginal` must lie in"):
        SlateLog(slate=[[0, 1]], reward=[[0.0, 0.0]], pscore_marginal=[[0.5, 1.5]])


def test_slate_log_round_trip(tmp_path):
    s = SlateLog(slate=[[0, 3, 1], [2, 1, 0]], reward=[[1.0, 0, 0], [0, 0, 1]], pscore=[0.1, 0.2],
                 pscore_marginal=np.full((2, 3), 0.5), n_items=6, expected_reward=np.full((2, 3), 0.3))
    s.to_parquet(tmp_path / "s.parquet")
    s2 = SlateLog.read_parquet(tmp_path / "s.parquet")
    for f in ("slate", "reward", "pscore", "pscore_marginal", "expected_reward"):
        np.testing.assert_array_equal(getattr(s, f), getattr(s2, f))
    assert s2.n_items == 6


def test_trajectories(tmp_path):
    obs = np.arange(2 * 3 * 2, dtype=float).reshape(2, 3, 2)
    t = Trajectories.from_padded(obs, np.zeros((2, 3), int), np.ones((2, 3)),
                                 pscore=np.full((2, 3), 0.5), done=[[0, 0, 1], [0, 1, 0]],
                                 lengths=[3, 2], n_actions=2)
    assert len(t) == 5 and t.n_episodes == 2 and t.done.tolist() == [False, False, True, False, True]
    t.to_parquet(tmp_path / "t.parquet")
    t2 = Trajectories.read_parquet(tmp_path / "t.parquet")
    np.testing.assert_array_equal(t2.obs, t.obs)
    np.testing.assert_array_equal(t2.done, t.done)
    with pytest.raises(InvalidLogError, match="non-decreasing"):
        Trajectories(episode=[1, 0], obs=np.zeros((2, 1)), action=[0, 0], reward=[0.0, 0.0])
    with pytest.raises(InvalidLogError, match="only be true on an episode's last step"):
        Trajectories(episode=[0, 0], obs=np.zeros((2, 1)), action=[0, 0], reward=[0.0, 0.0],
                     done=[True, False])


def test_trajectories_hold_slate_actions_and_reject_repeats(tmp_path):
    from simrec.data import Trajectories
    from simrec.errors import InvalidLogError

    t = Trajectories(episode=[0, 0, 1], obs=[[0.0], [1.0], [2.0]], action=[[1, 2], [3, 0], [2, 1]],
                     reward=[0, 1, 0], pscore=[0.1, 0.1, 0.1], done=[False, True, False], n_actions=4)
    assert t.action.shape == (3, 2)
    t.to_parquet(tmp_path / "t.parquet")
    np.testing.assert_array_equal(Trajectories.read_parquet(tmp_path / "t.parquet").action, t.action)
    with pytest.raises(InvalidLogError, match="must not repeat an item within a row"):
        Trajectories(episode=[0, 0], obs=[[0.0], [1.0]], action=[[1, 1], [2, 3]], reward=[0, 1])
