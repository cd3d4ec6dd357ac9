"""Click data from logs: validated position rows or whole slates, as plain arrays for the fits."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data import BanditLog, SlateLog
from ..errors import InvalidLogError, NotSupportedError

__all__ = ["Rows", "Slates", "as_rows", "as_slates", "check_clicks"]

_E = InvalidLogError


def check_clicks(clicks: np.ndarray, name: str = "reward") -> np.ndarray:
    """Clicks must be 0 or 1; returns them as float64."""
    c = np.asarray(clicks, dtype=np.float64)
    bad = (c != 0.0) & (c != 1.0)
    if bad.any():
        idx = np.argwhere(bad)[0]
        row = int(idx[0])
        where = f"row {row}" if c.ndim == 1 else f"row {row} slot {int(idx[1])}"
        raise _E(f"`{name}` must hold clicks (0 or 1) for a click model; {int(bad.sum())} entries do not, "
                 f"first at {where} (value {c[tuple(idx)]!r})")
    return c


def _query(query: object, n: int) -> np.ndarray | None:
    if query is None:
        return None
    q = np.asarray(query)
    if q.shape != (n,) or q.dtype.kind not in "iu":
        raise _E(f"`query` must be {n} integer ids (one per row); got {q.dtype} {q.shape}")
    if (q < 0).any():
        i = int(np.flatnonzero(q < 0)[0])
        raise _E(f"`query` must hold ids >= 0; first bad at row {i} (value {int(q[i])})")
    return q.astype(np.int64)


@dataclass(frozen=True)
class Rows:
    """One (item, slot, click) observation per row; ``query`` groups rows (e.g. a context id)."""

    item: np.ndarray  # (n,) int64
    pos: np.ndarray  # (n,) int64
    click: np.ndarray  # (n,) float64
    query: np.ndarray | None
    n_items: int

    def __len__(self) -> int:
        return int(self.item.size)


@dataclass(frozen=True)
class Slates:
    """Whole slates: ``item[i, k]`` shown in slot k of impression i, ``click[i, k]`` its click."""

    item: np.ndarray  # (n, K) int64
    click: np.ndarray  # (n, K) float64
    query: np.ndarray | None
    n_items: int

    def __len__(self) -> int:
        return int(self.item.shape[0])

    def rows(self) -> Rows:
        n, k = self.item.shape
        q = None if self.query is None else np.repeat(self.query, k)
        return Rows(self.item.ravel(), np.tile(np.arange(k), n), self.click.ravel(), q, self.n_items)


def as_rows(log: BanditLog | SlateLog, query: object = None) -> Rows:
    """Position rows of ``log``: a BanditLog with ``position``, or every slot of a SlateLog."""
    if isinstance(log, SlateLog):
        return as_slates(log, query).rows()
    if not isinstance(log, BanditLog):
        raise _E(f"`log` must be a BanditLog (with positions) or a SlateLog; got {type(log).__name__}")
    if log.position is None:
        raise _E("`log.position` is required: a click model needs the slot each item was shown in "
                 "(read the log with its position column)")
    return Rows(np.asarray(log.action, dtype=np.int64), np.asarray(log.position, dtype=np.int64),
                check_clicks(log.reward), _query(query, len(log)), int(log.n_actions))


def as_slates(log: BanditLog | SlateLog, query: object = None, model: str = "this model") -> Slates:
    """Whole slates of a SlateLog (cascade-family models need them)."""
    if isinstance(log, BanditLog):
        raise NotSupportedError(
            f"{model} needs whole slates (a SlateLog): it explains each click by the items above it. "
            "A BanditLog of lone (item, position) rows supports only position-based models")
    if not isinstance(log, SlateLog):
        raise _E(f"`log` must be a SlateLog; got {type(log).__name__}")
    return Slates(np.asarray(log.slate, dtype=np.int64), check_clicks(log.reward),
                  _query(query, len(log)), int(log.n_items))
