"""Readers of real logs: the Open Bandit Dataset layout and any CSV/Parquet log with a column map.

Both readers validate the file's columns before building a log and raise
:class:`~simrec.errors.InvalidLogError` naming the file's column, what was expected and the first bad
data row (0-based, in file order): missing columns, positions out of range, propensities outside
(0, 1], clicks that are not 0/1, and empty logs.

Positions become 0-based. Hashed (string) categorical features are one-hot encoded (or coded as
integers with ``encoding="ordinal"``); the categories are listed in ``log.meta["features"]`` so that a
second file can be encoded alike.

>>> from simrec.data import read_log   # doctest: +SKIP
>>> log = read_log("clicks.parquet", columns={"action": "item", "position": "rank", "reward": "click"},
...                first_position=1)   # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from .data import BanditLog, SlateLog
from .errors import InvalidLogError

__all__ = ["read_obd", "read_log", "encode_features"]

_E = InvalidLogError
_FIELDS = ("action", "reward", "position", "pscore", "context", "timestamp", "slate_id")


def _read_table(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise _E(f"log file {str(path)!r} does not exist")
    name = path.name.lower()
    try:
        if name.endswith((".parquet", ".pq")):
            return pd.read_parquet(path)
        df = pd.read_csv(path)
    except Exception as exc:  # noqa: BLE001 - any reader failure means an unusable file
        raise _E(f"cannot read {str(path)!r}: {exc}") from None
    first = df.columns[0] if len(df.columns) else None
    if isinstance(first, str) and (first == "" or first.startswith("Unnamed: 0")):
        df = df.drop(columns=first)  # a written pandas index
    return df


def _first(mask: np.ndarray, values: Any) -> str:
    idx = np.flatnonzero(mask)
    v = np.asarray(values)[idx[0]]
    v = v.item() if isinstance(v, np.generic) else v
    noun = "1 row does not" if idx.size == 1 else f"{idx.size} rows do not"
    return f"{noun}, first at data row {int(idx[0])} (value {v!r})"


def _require(df: pd.DataFrame, cols: Sequence[str], path: Path) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        shown = ", ".join(map(str, list(df.columns)[:12])) + (" ..." if len(df.columns) > 12 else "")
        raise _E(f"{path.name}: missing column(s) {missing}; the file has columns [{shown}]")


def _numeric(df: pd.DataFrame, col: str) -> np.ndarray:
    s = pd.to_numeric(df[col], errors="coerce")
    bad = s.isna().to_numpy()
    if bad.any():
        raise _E(f"column `{col}` must hold numbers; {_first(bad, df[col].to_numpy())}")
    return s.to_numpy()


def _ints(df: pd.DataFrame, col: str) -> np.ndarray:
    v = _numeric(df, col)
    bad = v != np.round(v)
    if bad.any():
        raise _E(f"column `{col}` must hold integers; {_first(bad, v)}")
    return v.astype(np.int64)


def _clicks(df: pd.DataFrame, col: str) -> np.ndarray:
    v = _numeric(df, col)
    bad = (v != 0) & (v != 1)
    if bad.any():
        raise _E(f"column `{col}` must hold clicks (0 or 1); {_first(bad, v)}")
    return v.astype(np.float64)


def _positions(df: pd.DataFrame, col: str, first_position: int, n_positions: int | None) -> np.ndarray:
    raw = _ints(df, col)
    pos = raw - int(first_position)
    hi = n_positions if n_positions is not None else None
    bad = pos < 0 if hi is None else (pos < 0) | (pos >= hi)
    if bad.any():
        rng = f">= {first_position}" if hi is None else f"in [{first_position}, {first_position + hi - 1}]"
        raise _E(f"column `{col}` must hold positions {rng} (first position {first_position}); {_first(bad, raw)}")
    return pos


def _pscores(df: pd.DataFrame, col: str) -> np.ndarray:
    v = _numeric(df, col).astype(np.float64)
    bad = ~((v > 0) & (v <= 1))
    if bad.any():
        raise _E(f"column `{col}` must hold propensities in (0, 1]; {_first(bad, v)}")
    return v


def encode_features(
    df: pd.DataFrame,
    columns: Sequence[str],
    *,
    encoding: Literal["onehot", "ordinal"] = "onehot",
    categories: Mapping[str, Sequence[Any]] | None = None,
) -> tuple[np.ndarray, dict[str, list[Any]]]:
    """Encode feature ``columns`` of ``df`` as a float matrix.

    Numeric columns pass through; other (e.g. hashed string) columns are categorical: one-hot
    (``encoding="onehot"``, one column per category) or integer codes (``"ordinal"``). Categories are
    sorted, or taken from ``categories`` (values not listed there get all-zero one-hot rows / code -1).

    Returns
    -------
    X : ndarray of float, shape (n, p)
    categories : dict
        The categories used per categorical column (pass back to encode another file alike).
    """
    blocks: list[np.ndarray] = []
    cats_out: dict[str, list[Any]] = {}
    for c in columns:
        s = df[c]
        if pd.api.types.is_numeric_dtype(s) and not (categories and c in categories):
            v = s.to_numpy(dtype=np.float64)
            bad = ~np.isfinite(v)
            if bad.any():
                raise _E(f"column `{c}` must hold finite numbers; {_first(bad, v)}")
            blocks.append(v[:, None])
            continue
        vals = s.astype(str).to_numpy()
        cats = list(categories[c]) if categories and c in categories else sorted(set(vals.tolist()))
        cats_out[c] = cats
        codes = np.asarray(pd.Categorical(vals, categories=cats).codes, dtype=np.int64)  # unknown -> -1
        if encoding == "ordinal":
            blocks.append(codes[:, None].astype(np.float64))
        else:
            oh = np.zeros((vals.size, len(cats)))
            ok = codes >= 0
            oh[np.flatnonzero(ok), codes[ok]] = 1.0
            blocks.append(oh)
    if not blocks:
        return np.zeros((len(df), 0)), cats_out
    return np.concatenate(blocks, axis=1), cats_out


def _obd_files(path: Path) -> tuple[Path, Path | None]:
    if path.is_dir():
        for name in ("all.csv", "all.csv.gz", "all.parquet"):
            if (path / name).exists():
                log_file = path / name
                break
        else:
            raise _E(f"{str(path)!r} holds no all.csv (the Open Bandit Dataset layout: <policy>/<campaign>/all.csv)")
    else:
        log_file = path
    ctx = log_file.parent / "item_context.csv"
    return log_file, ctx if ctx.exists() else None


def read_obd(
    path: str | Path,
    *,
    item_context: str | Path | None | bool = True,
    affinity: bool = False,
    encoding: Literal["onehot", "ordinal"] = "onehot",
    n_positions: int = 3,
) -> BanditLog:
    """Read a log in the Open Bandit Dataset (OBD) layout into a :class:`~simrec.data.BanditLog`.

    OBD (Saito et al. 2021) logs one row per shown item: ``timestamp, item_id, position (1-based),
    click, propensity_score, user_feature_0..3`` (hashed categorical) and
    ``user-item_affinity_0..`` (numeric), with item features in ``item_context.csv`` beside it.

    Parameters
    ----------
    path : str or Path
        The ``all.csv`` file (``.csv``, ``.csv.gz`` or ``.parquet``) or the folder holding it.
    item_context : path, bool or None
        ``True``: read ``item_context.csv`` beside the log when present (item features become
        ``action_embed``: the numeric feature as is, the hashed ones one-hot). A path reads that
        file; ``False``/``None`` skips it.
    affinity : bool
        Append the ``user-item_affinity_*`` columns to the context.
    encoding : {"onehot", "ordinal"}
        How hashed user features are encoded.
    n_positions : int
        Number of slots (OBD has 3); positions outside ``1..n_positions`` are errors.

    Returns
    -------
    BanditLog
        Rows sorted by time; ``action`` = item id, ``reward`` = click, ``pscore`` = the logging
        propensity, ``position`` 0-based, ``context`` = encoded user features. ``meta`` records the
        source, that rows are in time order (``"sorted_by": "timestamp"``), the first and last
        timestamps and the feature categories. Whole slates cannot be rebuilt from OBD rows (each row
        has its own timestamp), so the result is a ``BanditLog`` with positions.

    References
    ----------
    Saito, Aihara, Matsutani, Narita. Open Bandit Dataset and Pipeline: Towards Realistic and
    Reproducible Off-Policy Evaluation. NeurIPS Datasets and Benchmarks, 2021.
    """
    log_file, ctx_file = _obd_files(Path(path))
    df = _read_table(log_file)
    ufeat = sorted((c for c in df.columns if isinstance(c, str) and c.startswith("user_feature_")),
                   key=lambda c: int(c.rsplit("_", 1)[1]) if c.rsplit("_", 1)[1].isdigit() else 0)
    _require(df, ["timestamp", "item_id", "position", "click", "propensity_score"], log_file)
    if len(df) == 0:
        raise _E(f"{log_file.name}: the log is empty (no data rows)")
    ts = pd.to_datetime(df["timestamp"], errors="coerce", utc=True)
    if ts.isna().any():
        raise _E(f"column `timestamp` must hold times; {_first(ts.isna().to_numpy(), df['timestamp'].to_numpy())}")
    # validate in file order (errors name the file's rows), then sort by time
    action = _ints(df, "item_id")
    bad = action < 0
    if bad.any():
        raise _E(f"column `item_id` must hold item ids >= 0; {_first(bad, action)}")
    click = _clicks(df, "click")
    pscore = _pscores(df, "propensity_score")
    position = _positions(df, "position", 1, n_positions)
    order = np.argsort(ts.to_numpy(), kind="stable")
    df = df.iloc[order].reset_index(drop=True)
    ts = ts.iloc[order].reset_index(drop=True)
    action, click, pscore, position = action[order], click[order], pscore[order], position[order]
    aff_cols = [c for c in df.columns if isinstance(c, str) and c.startswith("user-item_affinity_")]
    ctx_cols = ufeat + (aff_cols if affinity else [])
    X, cats = encode_features(df, ctx_cols, encoding=encoding)
    embed = None
    n_actions = None
    icats: dict[str, list[Any]] = {}
    ctx_path = None if item_context in (False, None) else (ctx_file if item_context is True else Path(item_context))
    if ctx_path is not None:
        ic = _read_table(ctx_path)
        _require(ic, ["item_id"], ctx_path)
        ids = _ints(ic, "item_id")
        n_actions = int(max(ids.max(), action.max())) + 1
        fcols = [c for c in ic.columns if c != "item_id"]
        F, icats = encode_features(ic, fcols, encoding="onehot")
        embed = np.zeros((n_actions, F.shape[1]))
        embed[ids] = F
    return BanditLog(
        action=action,
        reward=click,
        pscore=pscore,
        context=X if X.shape[1] else None,
        position=position,
        action_embed=embed,
        n_actions=n_actions,
        meta={
            "source": f"Open Bandit Dataset ({log_file.parent.parent.name}/{log_file.parent.name})",
            "sorted_by": "timestamp",
            "time_start": str(ts.iloc[0]),
            "time_end": str(ts.iloc[-1]),
            "features": {"context": ctx_cols, "categories": cats, "item_categories": icats},
        },
    )


def read_log(
    path: str | Path,
    columns: Mapping[str, str | Sequence[str]],
    *,
    first_position: int = 0,
    n_positions: int | None = None,
    encoding: Literal["onehot", "ordinal"] = "onehot",
    n_actions: int | None = None,
) -> BanditLog | SlateLog:
    """Read any CSV or Parquet log with a column mapping.

    Parameters
    ----------
    path : str or Path
        ``.csv`` (also ``.csv.gz``) or ``.parquet``.
    columns : mapping
        simrec field -> the file's column: ``action`` and ``reward`` are required; optional
        ``position`` (slot shown), ``pscore`` (logging propensity), ``context`` (a list of feature
        columns), ``timestamp`` (rows are sorted by it) and ``slate_id`` (rows of one impression).
    first_position : int
        The file's number for the top slot (1 for 1-based positions); positions become 0-based.
    n_positions : int, optional
        Number of slots; positions beyond are errors.
    encoding : {"onehot", "ordinal"}
        How non-numeric context columns are encoded.
    n_actions : int, optional
        Size of the action space (``max(action) + 1`` when not given).

    Returns
    -------
    BanditLog or SlateLog
        A :class:`~simrec.data.SlateLog` when ``slate_id`` and ``position`` are given and every
        impression shows each of its slots ``0..K-1`` exactly once (then ``reward[i, k]`` is the click
        in slot ``k``, ``context`` comes from the impression's first row, ``pscore`` is dropped: a
        per-row propensity is not a slate propensity); otherwise a ``BanditLog`` with positions.
    """
    path = Path(path)
    unknown = sorted(set(columns) - set(_FIELDS))
    if unknown:
        raise _E(f"`columns` has unknown field(s) {unknown}; known fields: {list(_FIELDS)}")
    for req in ("action", "reward"):
        if req not in columns:
            raise _E(f"`columns` must map the field {req!r} to a column of the file")
    df = _read_table(path)
    ctx_cols = columns.get("context", [])
    ctx_cols = [ctx_cols] if isinstance(ctx_cols, str) else list(ctx_cols)
    needed = [columns[f] for f in _FIELDS if f in columns and f != "context"] + ctx_cols
    _require(df, needed, path)  # type: ignore[arg-type]
    if len(df) == 0:
        raise _E(f"{path.name}: the log is empty (no data rows)")
    # validate in file order (errors name the file's rows), then sort by time
    action = _ints(df, columns["action"])  # type: ignore[arg-type]
    bad = action < 0
    if bad.any():
        raise _E(f"column `{columns['action']}` must hold ids >= 0; {_first(bad, action)}")
    reward = _numeric(df, columns["reward"]).astype(np.float64)  # type: ignore[arg-type]
    pos = None if "position" not in columns else _positions(df, columns["position"], first_position, n_positions)  # type: ignore[arg-type]
    ps = None if "pscore" not in columns else _pscores(df, columns["pscore"])  # type: ignore[arg-type]
    X, cats = encode_features(df, ctx_cols, encoding=encoding)
    if "timestamp" in columns:
        ts = pd.to_datetime(df[columns["timestamp"]], errors="coerce", utc=True)
        if ts.isna().any():
            raise _E(f"column `{columns['timestamp']}` must hold times; "
                     f"{_first(ts.isna().to_numpy(), df[columns['timestamp']].to_numpy())}")
        order = np.argsort(ts.to_numpy(), kind="stable")
        df = df.iloc[order].reset_index(drop=True)
        action, reward, X = action[order], reward[order], X[order]
        pos = None if pos is None else pos[order]
        ps = None if ps is None else ps[order]
    meta: dict[str, Any] = {"source": path.name, "features": {"context": ctx_cols, "categories": cats}}
    if "timestamp" in columns:
        meta["sorted_by"] = "timestamp"
    if "slate_id" in columns and pos is not None:
        slate = _as_slates(df[columns["slate_id"]].to_numpy(), pos, action, reward, X)  # type: ignore[index]
        if slate is not None:
            s, r, x = slate
            return SlateLog(slate=s, reward=r, context=x if x.shape[1] else None, n_items=n_actions, meta=meta)
    return BanditLog(action=action, reward=reward, pscore=ps, context=X if X.shape[1] else None,
                     position=pos, n_actions=n_actions, meta=meta)


def _as_slates(sid: np.ndarray, pos: np.ndarray, action: np.ndarray, reward: np.ndarray,
               X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Rows grouped by impression -> (slate, reward, context) if every impression is a full slate."""
    _, inv, counts = np.unique(sid, return_inverse=True, return_counts=True)
    k = int(pos.max()) + 1
    if not (counts == k).all():
        return None
    n = counts.size
    slate = np.full((n, k), -1, dtype=np.int64)
    rew = np.zeros((n, k))
    slate[inv, pos] = action
    rew[inv, pos] = reward
    if (slate < 0).any():  # a slot repeated within an impression
        return None
    first_row = np.full(n, -1, dtype=np.int64)
    first_row[inv[::-1]] = np.arange(inv.size)[::-1]
    return slate, rew, X[first_row]
