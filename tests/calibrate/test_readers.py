"""Readers of real logs: the Open Bandit Dataset layout and any CSV/Parquet with a column map."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simrec.data import BanditLog, SlateLog, read_log, read_obd
from simrec.errors import InvalidLogError

OBD = Path(__file__).resolve().parents[1] / "data" / "obd" / "random" / "all"


@pytest.fixture(scope="module")
def obd() -> BanditLog:
    return read_obd(OBD)


def test_read_obd_sample(obd):
    raw = pd.read_csv(OBD / "all.csv.gz", index_col=0)
    assert len(obd) == len(raw) == 10_000
    assert obd.n_actions == 80 and obd.action_embed.shape[0] == 80
    assert obd.reward.sum() == raw["click"].sum() == 38
    np.testing.assert_array_equal(np.sort(np.unique(obd.position)), [0, 1, 2])  # 1..3 in the file
    np.testing.assert_allclose(obd.pscore, 1 / 80)  # uniform over 80 items per slot
    # four hashed user features, one-hot: exactly one category of each per row
    assert obd.context.shape == (10_000, sum(raw[f"user_feature_{j}"].nunique() for j in range(4)))
    np.testing.assert_array_equal(obd.context.sum(axis=1), 4.0)
    assert obd.meta["sorted_by"] == "timestamp"
    # rows in time order, and row i is the file's i-th row by time (same item, slot and click)
    raw = raw.iloc[np.argsort(pd.to_datetime(raw["timestamp"]).to_numpy(), kind="stable")]
    np.testing.assert_array_equal(obd.action, raw["item_id"].to_numpy())
    np.testing.assert_array_equal(obd.position, raw["position"].to_numpy() - 1)
    # item features: numeric first feature as is, hashed ones one-hot
    ic = pd.read_csv(OBD / "item_context.csv", index_col=0)
    np.testing.assert_allclose(obd.action_embed[ic["item_id"].to_numpy(), 0], ic["item_feature_0"].to_numpy())


def test_read_obd_options(obd):
    ordinal = read_obd(OBD / "all.csv.gz", encoding="ordinal", affinity=True, item_context=False)
    assert ordinal.context.shape == (10_000, 4 + 80)
    assert ordinal.action_embed is None
    codes = ordinal.context[:, 0].astype(int)
    onehot0 = obd.context[:, : codes.max() + 1]
    np.testing.assert_array_equal(onehot0.argmax(axis=1), codes)


def _write(tmp_path: Path, df: pd.DataFrame, name: str = "log.csv") -> Path:
    p = tmp_path / name
    if name.endswith(".parquet"):
        df.to_parquet(p)
    else:
        df.to_csv(p, index=False)
    return p


def _frame(n: int = 6) -> pd.DataFrame:
    return pd.DataFrame({
        "imp": np.repeat(np.arange(n // 2), 2), "item": np.arange(n) % 5, "rank": np.tile([1, 2], n // 2),
        "clicked": [0, 1] * (n // 2), "p": 0.2, "ts": pd.date_range("2024-01-01", periods=n, freq="min")[::-1],
        "device": ["a", "b", "a", "c", "b", "a"][:n],
    })


@pytest.mark.parametrize("name", ["log.csv", "log.parquet"])
def test_read_log_with_column_map(tmp_path, name):
    path = _write(tmp_path, _frame(), name)
    cols = {"action": "item", "reward": "clicked", "position": "rank", "pscore": "p", "context": ["device"],
            "timestamp": "ts"}
    log = read_log(path, cols, first_position=1)
    assert isinstance(log, BanditLog)
    np.testing.assert_array_equal(log.position, [1, 0, 1, 0, 1, 0])  # 0-based, sorted by time (reversed)
    np.testing.assert_array_equal(log.action, (np.arange(6) % 5)[::-1])
    assert log.context.shape == (6, 3)  # device one-hot: a, b, c
    assert log.meta["features"]["categories"]["device"] == ["a", "b", "c"]


def test_read_log_builds_slates_when_impressions_are_whole(tmp_path):
    path = _write(tmp_path, _frame())
    log = read_log(path, {"action": "item", "reward": "clicked", "position": "rank", "slate_id": "imp"},
                   first_position=1)
    assert isinstance(log, SlateLog) and log.slate.shape == (3, 2)
    np.testing.assert_array_equal(log.slate, [[0, 1], [2, 3], [4, 0]])
    np.testing.assert_array_equal(log.reward, [[0, 1]] * 3)
    # an impression missing a slot: no whole slates, a BanditLog with positions instead
    df = _frame().iloc[:-1]
    log2 = read_log(_write(tmp_path, df, "part.csv"), {"action": "item", "reward": "clicked", "position": "rank",
                                                       "slate_id": "imp"}, first_position=1)
    assert isinstance(log2, BanditLog) and log2.position is not None


OBD_COLS = ["timestamp", "item_id", "position", "click", "propensity_score", "user_feature_0"]


def _obd_frame() -> pd.DataFrame:
    return pd.DataFrame({"timestamp": pd.date_range("2019-11-24", periods=5, freq="min").astype(str),
                         "item_id": [0, 1, 2, 1, 0], "position": [1, 2, 3, 1, 2], "click": [0, 1, 0, 0, 0],
                         "propensity_score": [0.1] * 5, "user_feature_0": list("abcab")})


PS, CL = r"`propensity_score` must hold propensities in \(0, 1\]", r"`click` must hold clicks \(0 or 1\)"


@pytest.mark.parametrize("change, match", [
    (lambda d: d.drop(columns="click"), r"missing column\(s\) \['click'\]"),
    (lambda d: d.drop(columns=["propensity_score", "position"]), r"\['position', 'propensity_score'\]"),
    (lambda d: d.assign(position=[1, 2, 4, 1, 2]), r"`position` must hold positions in \[1, 3\].*row 2 \(value 4\)"),
    (lambda d: d.assign(position=[1, 0, 1, 1, 2]), r"`position`.*data row 1 \(value 0\)"),
    (lambda d: d.assign(propensity_score=[0.1, 0.1, 0.1, 0.0, 0.1]), PS + ".*data row 3"),
    (lambda d: d.assign(propensity_score=[0.1, 1.5, 0.1, 0.1, 0.1]), r"`propensity_score`.*data row 1 \(value 1\.5\)"),
    (lambda d: d.assign(click=[0, 1, 2, 0, 0]), CL + r".*data row 2 \(value 2"),
    (lambda d: d.assign(click=[0, 1, 0, 0, "yes"]), r"`click` must hold numbers.*data row 4"),
    (lambda d: d.assign(item_id=[0, 1, 2.5, 1, 0]), r"`item_id` must hold integers.*data row 2"),
    (lambda d: d.iloc[:0], "empty"),
])
def test_read_obd_bad_input(tmp_path, change, match):
    path = _write(tmp_path, change(_obd_frame()), "all.csv")
    with pytest.raises(InvalidLogError, match=match):
        read_obd(path)


@pytest.mark.parametrize("cols, change, match", [
    ({"action": "item"}, None, "'reward'"),
    ({"action": "item", "reward": "clicked", "bogus": "x"}, None, "unknown field"),
    ({"action": "item", "reward": "nope"}, None, r"missing column\(s\) \['nope'\]"),
    ({"action": "item", "reward": "clicked", "position": "rank"}, lambda d: d.assign(rank=[0, 1, 2, 1, 2, 1]),
     r"`rank` must hold positions >= 1.*data row 0"),
    ({"action": "item", "reward": "clicked", "pscore": "p", "timestamp": "ts"},  # rows named in file order
     lambda d: d.assign(p=[0.2, 0.2, -1, 0.2, 0.2, 0.2]), r"`p` must hold propensities.*data row 2"),
])
def test_read_log_bad_input(tmp_path, cols, change, match):
    df = _frame() if change is None else change(_frame())
    with pytest.raises(InvalidLogError, match=match):
        read_log(_write(tmp_path, df), cols, first_position=1)


def test_missing_file(tmp_path):
    with pytest.raises(InvalidLogError, match="does not exist"):
        read_log(tmp_path / "none.csv", {"action": "a", "reward": "r"})
    with pytest.raises(InvalidLogError, match="no all.csv"):
        read_obd(tmp_path)


def test_readers_import_in_any_order():
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    for stmt in ("import simrec.readers", "from simrec.data import read_obd", "import simrec.calibrate"):
        res = subprocess.run([sys.executable, "-c", stmt], cwd=root, capture_output=True, text=True)
        assert res.returncode == 0, res.stderr
