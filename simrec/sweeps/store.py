"""The results store: one Parquet file per run, written atomically, and the consolidated table.

Layout under a sweep's output folder ::

    runs/<run_id>.parquet   one file per finished run (ok or failed), written tmp + os.replace
    results.parquet         every run's rows, sorted; the sweep config travels in its metadata
    sweep.json              the validated sweep config (canonical JSON)

A run whose file exists is finished; resume skips it (and, with ``retry_failed``, reruns the ones
whose status is ``failed``). A crash or Ctrl-C can only lose runs still in flight.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import SweepError

__all__ = ["RunStore", "read_results", "COLUMN_ORDER", "comparable"]

#: preferred column order of the results table (others follow, sorted)
COLUMN_ORDER = (
    "run_id", "sweep", "status", "env", "world", "world_preset", "world_seed", "horizon", "horizon_days",
    "slate_size", "reward", "logging_policy", "n_log", "seed", "policy", "policy_name", "policy_params", "reference",
    "train_rounds", "trained_from", "shaping", "estimator", "estimator_name", "log_kind", "estimand", "truth",
    "truth_se", "truth_method", "estimate", "stderr", "ci_low", "ci_high", "ci_width", "error", "abs_error",
    "squared_error", "covered", "n", "ess", "max_weight", "unsupported_mass", "logger_support_gap", "warnings",
    "diagnostics", "episode_value", "episode_value_se", "logger_value", "adaptive_logger", "n_loggers",
    "log_mean_reward", "n_episodes", "learning_curve", "error_message", "base_seed", "log_seed", "config_hash",
    "simrec_version", "python_version", "numpy_version", "numba_version", "pandas_version", "git_sha",
)
_SORT = ["run_id", "policy", "estimator"]
_META_KEY = b"simrec_sweep"


def _order(df: pd.DataFrame) -> pd.DataFrame:
    cols = [c for c in COLUMN_ORDER if c in df.columns] + sorted(c for c in df.columns if c not in COLUMN_ORDER)
    return df[cols]


def _normalise(df: pd.DataFrame) -> pd.DataFrame:
    """Text columns as object dtype with None where missing, whatever the Parquet files held."""
    for c in _TYPES:
        if c in df.columns:
            df[c] = df[c].astype(object).where(df[c].notna(), None)
    return df


def _atomic_write_table(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


#: columns that may be empty in a run (a failed run) but must keep their type across run files
_TYPES = {c: pa.string() for c in ("policy", "estimator", "error_message", "warnings", "diagnostics", "policy_name",
                                   "estimator_name", "policy_params", "env", "reward", "truth_method", "estimand",
                                   "log_kind", "learning_curve", "shaping", "trained_from")}


class RunStore:
    """Per-run Parquet files under ``root/runs`` and the consolidated ``root/results.parquet``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.runs_dir = self.root / "runs"

    @property
    def results_path(self) -> Path:
        return self.root / "results.parquet"

    def path(self, run_id: str) -> Path:
        return self.runs_dir / f"{run_id}.parquet"

    def statuses(self) -> dict[str, str]:
        """run_id -> "ok" or "failed" for every finished run on disk (a run is ``failed`` when any of
        its rows is; ``undefined`` estimates are results). Unreadable files (a run cut off mid-write by
        a crash) are not finished runs: a resume recomputes them."""
        out = {}
        if not self.runs_dir.is_dir():
            return out
        for p in sorted(self.runs_dir.glob("*.parquet")):
            try:
                status = pq.read_table(p, columns=["status"]).column("status").to_pylist()
            except Exception:  # noqa: BLE001 - an unreadable file is not a finished run
                continue
            out[p.stem] = "failed" if not status or any(s == "failed" for s in status) else "ok"
        return out

    def write_run(self, rows: list[dict[str, Any]]) -> Path:
        """Write one run's rows atomically to ``runs/<run_id>.parquet``."""
        keys = list(dict.fromkeys(k for r in rows for k in r))
        for k in ("policy", "estimator", "error_message", "warnings", "diagnostics"):
            if k not in keys:
                keys.append(k)
        cols = [c for c in COLUMN_ORDER if c in keys] + sorted(c for c in keys if c not in COLUMN_ORDER)
        table = pa.table({c: pa.array([r.get(c) for r in rows], type=_TYPES.get(c)) for c in cols})
        path = self.path(str(rows[0]["run_id"]))
        _atomic_write_table(table, path)
        return path

    def write_config(self, config: dict[str, Any]) -> None:
        """Save the canonical sweep config as ``sweep.json``."""
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / ".sweep.json.tmp"
        tmp.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, self.root / "sweep.json")

    def consolidate(self, run_ids: list[str] | None = None, config: dict[str, Any] | None = None) -> pd.DataFrame:
        """Read the run files (all, or ``run_ids``) into one sorted table and write ``results.parquet``."""
        ids = sorted(self.statuses()) if run_ids is None else sorted(run_ids)
        frames = [pd.read_parquet(self.path(r)) for r in ids if self.path(r).exists()]
        if not frames:
            raise SweepError(f"no finished runs under {str(self.runs_dir)!r}")
        frames = [f for f in frames if not f.empty]
        df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        df = _order(_normalise(df)).sort_values(_SORT, na_position="first", kind="mergesort").reset_index(drop=True)
        table = pa.Table.from_pandas(df, preserve_index=False)
        if config is not None:
            meta = dict(table.schema.metadata or {})
            meta[_META_KEY] = json.dumps(config, sort_keys=True).encode()
            table = table.replace_schema_metadata(meta)
        _atomic_write_table(table, self.results_path)
        return df


def read_results(path: str | Path) -> tuple[pd.DataFrame, dict[str, Any] | None]:
    """Read a results table and the sweep config stored with it.

    ``path`` is a ``results.parquet`` file or a sweep output folder (its ``results.parquet``, or its
    ``runs/`` when the sweep did not finish).
    """
    p = Path(path)
    config = None
    if p.is_dir():
        if (p / "results.parquet").exists():
            p = p / "results.parquet"
        elif (p / "runs").is_dir():
            store = RunStore(p)
            df = store.consolidate()
            cfg = p / "sweep.json"
            return df, json.loads(cfg.read_text()) if cfg.exists() else None
        else:
            raise SweepError(f"{str(path)!r} holds neither results.parquet nor runs/")
    if not p.exists():
        raise SweepError(f"no results at {str(path)!r}")
    with open(p, "rb") as fh:
        head = fh.read(4)
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        fh.seek(max(0, size - 4))
        tail = fh.read(4)
    if head != b"PAR1":
        raise SweepError(f"{str(path)!r} is not a results table: not a Parquet file (give a sweep's "
                         "results.parquet or its output folder)")
    if tail != b"PAR1":
        raise SweepError(f"{str(path)!r} is truncated or damaged (a Parquet file must end with its footer); "
                         "rerun the sweep to rewrite it, or pass the sweep folder to rebuild it from runs/")
    try:
        table = pq.read_table(p)
    except Exception as exc:  # noqa: BLE001
        raise SweepError(f"cannot read results from {str(path)!r}: {exc}") from None
    raw = (table.schema.metadata or {}).get(_META_KEY)
    if raw is not None:
        config = json.loads(raw)
    elif (p.parent / "sweep.json").exists():
        config = json.loads((p.parent / "sweep.json").read_text())
    df = _normalise(table.to_pandas())
    if "run_id" not in df.columns or "status" not in df.columns:
        raise SweepError(f"{str(path)!r} is not a simrec results table (no run_id/status columns)")
    return df, config


def comparable(df: pd.DataFrame) -> pd.DataFrame:
    """The table without the columns that depend on when and where a run executed, sorted."""
    from .compute import VOLATILE_COLUMNS

    out = df.drop(columns=[c for c in VOLATILE_COLUMNS if c in df.columns])
    return out.sort_values(_SORT, na_position="first", kind="mergesort").reset_index(drop=True)
