"""Validated columnar logs: :class:`BanditLog`, :class:`SlateLog` and :class:`Trajectories`.

Every container validates on creation (shapes, dtypes, ranges, NaN) and raises
:class:`~simrec.errors.InvalidLogError` naming the argument, what was expected, and the first bad index
and value. Arrays are stored as contiguous, read-only numpy arrays so a log can be shared safely.

Each container round-trips through pandas (``to_pandas`` / ``from_pandas``) and Parquet
(``to_parquet`` / ``read_parquet``). Matrix columns (``context``, ``slate``, ...) are stored as one
column per entry (``context_0``, ``context_1``, ...); per-log data that is not per row
(``n_actions``, ``action_embed``, ``meta``) travels in the Parquet schema metadata and in
``DataFrame.attrs``.

Every container may carry ``user_id`` and ``session_id`` (ints >= 0, one per row): rows of one
user or one session are correlated, and estimators cluster their standard errors on these ids
(:func:`simrec.policies.collect` fills them where the env knows them).

``pscore`` may be ``None`` in a :class:`BanditLog` (real logs often lack propensities); estimators
that need it then raise and point to :func:`simrec.estimators.ope.estimate_pscore`, which returns a
copy of the log with cross-fitted estimated propensities and ``meta["pscore_estimated"] = True``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ._validation import check_array, check_finite, check_in_range, first_bad
from .errors import InvalidLogError

__all__ = ["BanditLog", "SlateLog", "Trajectories", "concat"]

_E = InvalidLogError


def _arr(value: Any, name: str, *, dtype: str, ndim: int | tuple[int, ...], n: int | None = None) -> np.ndarray:
    arr = check_array(value, name=name, ndim=ndim, dtype=dtype, error=_E)
    if n is not None and arr.shape[0] != n:
        raise _E(f"`{name}` must have {n} rows (one per logged round, like `action`); got {arr.shape[0]}")
    if dtype == "float":
        check_finite(arr, name=name, error=_E)
    arr.setflags(write=False)
    return arr


def _per_slot(value: Any, name: str, n: int, k: int) -> np.ndarray:
    """``value`` as a float (n, K) array: one number per slot of each logged slate."""
    arr = _arr(value, name, dtype="float", ndim=2, n=n)
    if arr.shape[1] != k:
        raise _E(f"`{name}` must have shape ({n}, {k}) like `slate`; got {arr.shape}")
    return arr


def _check_distinct_rows(slate: np.ndarray, name: str) -> None:
    """Raise if a row of the (n, K) ``slate`` repeats an item."""
    srt = np.sort(slate, axis=1)
    dup = np.zeros_like(slate, dtype=bool)
    dup[:, 1:] = srt[:, 1:] == srt[:, :-1]
    if dup.any():
        row = int(np.flatnonzero(dup.any(axis=1))[0])
        raise _E(f"`{name}` must not repeat an item within a row; {int(dup.any(axis=1).sum())} rows do, "
                 f"first at row {row} (value {slate[row].tolist()})")


def _nonneg_int(arr: np.ndarray, name: str, high: int | None = None, what: str = "") -> None:
    bad = arr < 0 if high is None else (arr < 0) | (arr >= high)
    if bad.any():
        rng = ">= 0" if high is None else f"in [0, {high - 1}]{what}"
        raise _E(f"`{name}` must be {rng}; {first_bad(bad, arr)}")


def _frozen_setattr(obj: Any, name: str, value: Any) -> None:
    object.__setattr__(obj, name, value)


def _set_pscore(obj: Any, n: int) -> None:
    """Validate and store the optional ``pscore``: one propensity in (0, 1] per row."""
    if obj.pscore is not None:
        p = _arr(obj.pscore, "pscore", dtype="float", ndim=1, n=n)
        check_in_range(p, name="pscore", low=0.0, high=1.0, low_open=True, error=_E)
        _frozen_setattr(obj, "pscore", p)


def _set_ids(obj: Any, n: int) -> None:
    """Validate and store the optional ``user_id`` / ``session_id``: one int >= 0 per row."""
    for name in ("user_id", "session_id"):
        v = getattr(obj, name)
        if v is not None:
            arr = _arr(v, name, dtype="int", ndim=1, n=n)
            _nonneg_int(arr, name)
            _frozen_setattr(obj, name, arr)


class _Columnar:
    """Shared pandas/Parquet IO, slicing and ``replace`` for the log containers."""

    _row_fields: ClassVar[tuple[str, ...]] = ()
    _meta_fields: ClassVar[tuple[str, ...]] = ()

    def __len__(self) -> int:
        return int(getattr(self, self._row_fields[0]).shape[0])

    def replace(self, **changes: Any):
        """Return a validated copy with some fields replaced (like :func:`dataclasses.replace`)."""
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]

    def __getitem__(self, idx: Any):
        """Rows selected by a slice, an integer array or a boolean mask (a new validated log)."""
        if isinstance(idx, (int, np.integer)):
            idx = slice(int(idx), int(idx) + 1 if int(idx) != -1 else None)
        changes = {}
        for f in self._row_fields:
            v = getattr(self, f)
            changes[f] = None if v is None else np.asarray(v)[idx]
        return self.replace(**changes)

    # ---- pandas -------------------------------------------------------------------------------
    def _extra_attrs(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": type(self).__name__}
        for f in self._meta_fields:
            v = getattr(self, f)
            out[f] = v.tolist() if isinstance(v, np.ndarray) else v
        return out

    def to_pandas(self) -> pd.DataFrame:
        """One row per logged round; matrix fields become ``name_0, name_1, ...`` columns."""
        cols: dict[str, np.ndarray] = {}
        for f in self._row_fields:
            v = getattr(self, f)
            if v is None:
                continue
            if v.ndim == 1:
                cols[f] = v
            else:
                flat = v.reshape(v.shape[0], -1)
                for j in range(flat.shape[1]):
                    cols[f"{f}_{j}"] = flat[:, j]
        df = pd.DataFrame(cols)
        attrs = self._extra_attrs()
        attrs["shapes"] = {f: list(getattr(self, f).shape[1:]) for f in self._row_fields
                           if getattr(self, f) is not None and getattr(self, f).ndim > 1}
        df.attrs["simrec"] = attrs
        return df

    @classmethod
    def from_pandas(cls, df: pd.DataFrame, **overrides: Any):
        """Build a log from :meth:`to_pandas` output (or any frame with the same column names).

        Per-log fields (``n_actions``, ``action_embed``, ...) come from ``df.attrs["simrec"]`` when
        present and can be given as keyword overrides.
        """
        if not isinstance(df, pd.DataFrame):
            raise _E(f"`df` must be a pandas DataFrame; got {type(df).__name__}")
        attrs = dict(df.attrs.get("simrec", {}))
        kind = attrs.pop("kind", cls.__name__)
        if kind != cls.__name__:
            raise _E(f"the data holds a {kind}, not a {cls.__name__}")
        shapes = attrs.pop("shapes", {})
        kwargs: dict[str, Any] = {}
        for f in cls._row_fields:
            if f in df.columns:
                kwargs[f] = df[f].to_numpy()
                continue
            prefix = f + "_"
            sub = [c for c in df.columns if isinstance(c, str) and c.startswith(prefix)
                   and c[len(prefix):].isdigit()]
            if sub:
                sub.sort(key=lambda c: int(c[len(prefix):]))
                mat = df[sub].to_numpy()
                shape = shapes.get(f)
                kwargs[f] = mat.reshape((len(df), *shape)) if shape else mat
        for f in cls._meta_fields:
            if f in attrs and attrs[f] is not None:
                kwargs[f] = attrs[f]
        kwargs.update(overrides)
        try:
            return cls(**kwargs)
        except TypeError as exc:  # missing required columns
            raise _E(f"cannot build a {cls.__name__} from the frame: {exc}") from None

    # ---- parquet ------------------------------------------------------------------------------
    def to_parquet(self, path: str | Path) -> None:
        """Write the log to one Parquet file (per-log fields in the schema metadata)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        df = self.to_pandas()
        attrs = df.attrs.pop("simrec")
        table = pa.Table.from_pandas(df, preserve_index=False)
        meta = dict(table.schema.metadata or {})
        meta[b"simrec"] = json.dumps(attrs).encode()
        pq.write_table(table.replace_schema_metadata(meta), str(path))

    @classmethod
    def read_parquet(cls, path: str | Path):
        """Read a log written by :meth:`to_parquet`; malformed files raise ``InvalidLogError``."""
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(str(path))
        except Exception as exc:  # noqa: BLE001 - any reader failure means an unusable file
            raise _E(f"cannot read a {cls.__name__} from {str(path)!r}: {exc}") from None
        raw = (table.schema.metadata or {}).get(b"simrec")
        df = table.to_pandas()
        if raw is not None:
            try:
                df.attrs["simrec"] = json.loads(raw)
            except ValueError as exc:
                raise _E(f"{str(path)!r} has corrupt simrec metadata: {exc}") from None
        return cls.from_pandas(df)


@dataclass(frozen=True, eq=False, repr=False)
class BanditLog(_Columnar):
    """Logged bandit feedback: one row per round, validated on creation.

    Parameters
    ----------
    action : array_like of int, shape (n,)
        Logged action, in ``[0, n_actions)``.
    reward : array_like of float, shape (n,)
        Observed reward (finite).
    pscore : array_like of float, shape (n,), or None
        Logging propensity of the logged action, in (0, 1]. ``None`` when unknown (see the module
        docstring for estimated propensities).
    context : array_like of float, shape (n, d), optional
        Context features (a 1-D array is read as one feature).
    position : array_like of int, shape (n,), optional
        0-based slot in which the action was shown.
    action_embed : array_like of float, shape (n_actions, e), optional
        Item features (one row per action), used by MIPS and action-feature reward models.
    n_actions : int, optional
        Size of the action space; ``max(action) + 1`` when not given.
    expected_reward : array_like of float, shape (n,), optional
        Exact expected reward of the logged action (simulators fill it).
    logger_id : array_like of int, shape (n,), optional
        Which logging policy produced each row (multi-logger logs).
    user_id, session_id : array_like of int, shape (n,), optional
        The user and the session (visit) of each row, ints >= 0; estimators cluster their
        standard errors on them (``session_id`` first).
    meta : dict, optional
        JSON-serialisable provenance (e.g. ``{"pscore_estimated": True}``).

    Examples
    --------
    >>> log = BanditLog(action=[0, 2, 1], reward=[1.0, 0.0, 1.0], pscore=[0.5, 0.25, 0.25])
    >>> len(log), log.n_actions
    (3, 3)
    """

    action: np.ndarray
    reward: np.ndarray
    pscore: np.ndarray | None = None
    context: np.ndarray | None = None
    position: np.ndarray | None = None
    action_embed: np.ndarray | None = None
    n_actions: int | None = None
    expected_reward: np.ndarray | None = None
    logger_id: np.ndarray | None = None
    user_id: np.ndarray | None = None
    session_id: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    _row_fields: ClassVar[tuple[str, ...]] = (
        "action", "reward", "pscore", "context", "position", "expected_reward", "logger_id", "user_id",
        "session_id")
    _meta_fields: ClassVar[tuple[str, ...]] = ("n_actions", "action_embed", "meta")

    def __post_init__(self) -> None:
        action = _arr(self.action, "action", dtype="int", ndim=1)
        n = action.shape[0]
        if n == 0:
            raise _E("`action` must hold at least one logged round; got an empty array")
        _nonneg_int(action, "action")
        _frozen_setattr(self, "action", action)
        _frozen_setattr(self, "reward", _arr(self.reward, "reward", dtype="float", ndim=1, n=n))
        _set_pscore(self, n)
        if self.context is not None:
            ctx = np.asarray(self.context)
            if ctx.ndim == 1:
                ctx = ctx[:, None]
            _frozen_setattr(self, "context", _arr(ctx, "context", dtype="float", ndim=2, n=n))
        if self.position is not None:
            pos = _arr(self.position, "position", dtype="int", ndim=1, n=n)
            _nonneg_int(pos, "position")
            _frozen_setattr(self, "position", pos)
        if self.expected_reward is not None:
            er = _arr(self.expected_reward, "expected_reward", dtype="float", ndim=1, n=n)
            _frozen_setattr(self, "expected_reward", er)
        if self.logger_id is not None:
            lid = _arr(self.logger_id, "logger_id", dtype="int", ndim=1, n=n)
            _nonneg_int(lid, "logger_id")
            _frozen_setattr(self, "logger_id", lid)
        _set_ids(self, n)
        max_a = int(action.max()) + 1
        if self.n_actions is None:
            k = max_a if self.action_embed is None else int(np.shape(self.action_embed)[0])
        else:
            from ._validation import check_int

            k = check_int(self.n_actions, name="n_actions", minimum=1, error=_E)
        _nonneg_int(action, "action", high=k, what=f" (n_actions={k})")
        _frozen_setattr(self, "n_actions", k)
        if self.action_embed is not None:
            emb = np.asarray(self.action_embed)
            if emb.ndim == 1:
                emb = emb[:, None]
            emb = _arr(emb, "action_embed", dtype="float", ndim=2)
            if emb.shape[0] != k:
                raise _E(f"`action_embed` must have one row per action ({k}); got {emb.shape[0]} rows")
            _frozen_setattr(self, "action_embed", emb)
        if not isinstance(self.meta, dict):
            raise _E(f"`meta` must be a dict; got {type(self.meta).__name__}")

    @property
    def n(self) -> int:
        """Number of logged rounds."""
        return len(self)

    @property
    def n_slots(self) -> int:
        """Number of slots (``max(position) + 1``, or 1 without positions)."""
        return 1 if self.position is None else int(self.position.max()) + 1

    def __repr__(self) -> str:
        extra = [f for f in ("pscore", "context", "position", "action_embed", "expected_reward",
                             "logger_id", "user_id", "session_id") if getattr(self, f) is not None]
        return f"BanditLog(n={len(self)}, n_actions={self.n_actions}, with={extra})"


@dataclass(frozen=True, eq=False, repr=False)
class SlateLog(_Columnar):
    """Logged slates: ``slate[i, k]`` is the item in slot ``k`` of round ``i``.

    Parameters
    ----------
    slate : array_like of int, shape (n, K)
        Items shown, without duplicates within a row, in ``[0, n_items)``.
    reward : array_like of float, shape (n, K)
        Reward per slot (e.g. clicks).
    pscore : array_like of float, shape (n,), optional
        Probability of the whole slate under the logging policy, in (0, 1].
    pscore_marginal : array_like of float, shape (n, K), optional
        Probability that the logged item appears in that slot, in (0, 1].
    pscore_cascade : array_like of float, shape (n, K), optional
        Probability of the logged prefix ``slate[i, :k+1]`` (the items of slots ``0..k``), in (0, 1]:
        non-increasing along the slots, the last one equal to ``pscore``.
    context : array_like of float, shape (n, d), optional
    n_items : int, optional
        Catalogue size; ``max(slate) + 1`` when not given.
    expected_reward : array_like of float, shape (n, K), optional
    user_id, session_id : array_like of int, shape (n,), optional
        The user and the session of each row (see :class:`BanditLog`).
    meta : dict, optional
    """

    slate: np.ndarray
    reward: np.ndarray
    pscore: np.ndarray | None = None
    pscore_marginal: np.ndarray | None = None
    context: np.ndarray | None = None
    n_items: int | None = None
    expected_reward: np.ndarray | None = None
    user_id: np.ndarray | None = None
    session_id: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    pscore_cascade: np.ndarray | None = None

    _row_fields: ClassVar[tuple[str, ...]] = (
        "slate", "reward", "pscore", "pscore_marginal", "context", "expected_reward", "pscore_cascade", "user_id",
        "session_id")
    _meta_fields: ClassVar[tuple[str, ...]] = ("n_items", "meta")

    def __post_init__(self) -> None:
        slate = _arr(self.slate, "slate", dtype="int", ndim=2)
        n, k = slate.shape
        if n == 0 or k == 0:
            raise _E(f"`slate` must be a non-empty (n, K) array; got shape {slate.shape}")
        _nonneg_int(slate, "slate")
        _check_distinct_rows(slate, "slate")
        items = int(slate.max()) + 1 if self.n_items is None else int(self.n_items)
        _nonneg_int(slate, "slate", high=items, what=f" (n_items={items})")
        _frozen_setattr(self, "slate", slate)
        _frozen_setattr(self, "n_items", items)
        _frozen_setattr(self, "reward", _per_slot(self.reward, "reward", n, k))
        _set_pscore(self, n)
        for name in ("pscore_marginal", "pscore_cascade"):
            if getattr(self, name) is not None:
                ps = _per_slot(getattr(self, name), name, n, k)
                check_in_range(ps, name=name, low=0.0, high=1.0, low_open=True, error=_E)
                _frozen_setattr(self, name, ps)
        _check_slate_pscores(self.pscore, self.pscore_marginal, self.pscore_cascade)
        if self.context is not None:
            ctx = np.asarray(self.context)
            ctx = ctx[:, None] if ctx.ndim == 1 else ctx
            _frozen_setattr(self, "context", _arr(ctx, "context", dtype="float", ndim=2, n=n))
        if self.expected_reward is not None:
            _frozen_setattr(self, "expected_reward", _per_slot(self.expected_reward, "expected_reward", n, k))
        _set_ids(self, n)

    @property
    def slate_size(self) -> int:
        """Number of slots K."""
        return int(self.slate.shape[1])

    def __repr__(self) -> str:
        return f"SlateLog(n={len(self)}, K={self.slate_size}, n_items={self.n_items})"


#: relative tolerance of the consistency checks between a slate's propensities
_SLATE_RTOL = 1e-6


def _check_slate_pscores(joint: np.ndarray | None, marg: np.ndarray | None, casc: np.ndarray | None) -> None:
    """The slate's propensities must be consistent: an event is never likelier than one it implies.

    ``P(slate) <= P(prefix of slots 0..k) <= P(item k in slot k)``, prefixes non-increasing along the
    slots, and the full prefix is the slate (``pscore_cascade[:, -1] == pscore``).
    """

    def above(a: np.ndarray, b: np.ndarray) -> np.ndarray:  # a > b beyond rounding
        return a > b * (1.0 + _SLATE_RTOL) + 1e-300

    def fail(what: str, bad: np.ndarray, left: np.ndarray, right: np.ndarray, lname: str, rname: str) -> None:
        rows = bad.reshape(bad.shape[0], -1).any(axis=1)
        i = int(np.flatnonzero(rows)[0])
        raise _E(f"{what}; {int(rows.sum())} rows are not, first at row {i} ({lname}={np.atleast_1d(left[i]).tolist()}"
                 f", {rname}={np.atleast_1d(right[i]).tolist()})")

    if joint is not None and marg is not None:
        bad = above(joint[:, None], marg)
        if bad.any():
            fail("`pscore` (the whole slate) must not exceed any `pscore_marginal` of its slots", bad,
                 joint, marg, "pscore", "pscore_marginal")
    if casc is None:
        return
    bad = np.zeros(casc.shape, dtype=bool)
    bad[:, 1:] = above(casc[:, 1:], casc[:, :-1])
    if bad.any():
        fail("`pscore_cascade` (prefix propensities) must be non-increasing along the slots", bad, casc, casc,
             "pscore_cascade", "pscore_cascade")
    if marg is not None:
        bad = above(casc, marg)
        if bad.any():
            fail("`pscore_cascade` must not exceed `pscore_marginal` (a prefix implies its last item's slot)",
                 bad, casc, marg, "pscore_cascade", "pscore_marginal")
    if joint is not None:
        last = casc[:, -1]
        bad = np.abs(last - joint) > _SLATE_RTOL * np.maximum(last, joint)
        if bad.any():
            fail("`pscore_cascade[:, -1]` (the full prefix) must equal `pscore` (the slate)", bad, last, joint,
                 "pscore_cascade[-1]", "pscore")


@dataclass(frozen=True, eq=False, repr=False)
class Trajectories(_Columnar):
    """Logged episodes in flat (long) form: one row per step, grouped by ``episode``.

    Rows of one episode are contiguous and in time order; ``done`` is true on (and only on) the last
    step of an episode that terminated. Use :meth:`from_padded` for ``(n, T, ...)`` arrays.

    Parameters
    ----------
    episode : array_like of int, shape (N,)
        Episode id of each step (non-decreasing).
    obs : array_like of float, shape (N, d)
    action : array_like of int, shape (N,) or (N, K)
        The action of each step; a slate of ``K`` distinct items per step for slate environments.
    reward : array_like of float, shape (N,)
    pscore : array_like of float, shape (N,), optional
        Logging probability of each action (of the whole slate), in (0, 1].
    done : array_like of bool, shape (N,), optional
        Termination flag of each step (all false when not given).
    user_id, session_id : array_like of int, shape (N,), optional
        The user and the session of each step (see :class:`BanditLog`).
    n_actions : int, optional
    meta : dict, optional
    step : array_like of int, shape (N,), optional
        Time step of each row within its episode: consecutive (``+1`` per row, no gaps) within an
        episode. Derived as ``0, 1, ...`` per episode when not given.
    """

    episode: np.ndarray
    obs: np.ndarray
    action: np.ndarray
    reward: np.ndarray
    pscore: np.ndarray | None = None
    done: np.ndarray | None = None
    n_actions: int | None = None
    user_id: np.ndarray | None = None
    session_id: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    step: np.ndarray | None = None

    _row_fields: ClassVar[tuple[str, ...]] = (
        "episode", "obs", "action", "reward", "pscore", "done", "step", "user_id", "session_id")
    _meta_fields: ClassVar[tuple[str, ...]] = ("n_actions", "meta")

    def __post_init__(self) -> None:
        ep = _arr(self.episode, "episode", dtype="int", ndim=1)
        n = ep.shape[0]
        if n == 0:
            raise _E("`episode` must hold at least one step; got an empty array")
        dec = np.zeros(n, dtype=bool)
        dec[1:] = ep[1:] < ep[:-1]
        if dec.any():
            raise _E(f"`episode` must be non-decreasing (steps of an episode contiguous); {first_bad(dec, ep)}")
        _frozen_setattr(self, "episode", ep)
        obs = np.asarray(self.obs)
        obs = obs[:, None] if obs.ndim == 1 else obs
        _frozen_setattr(self, "obs", _arr(obs, "obs", dtype="float", ndim=2, n=n))
        a = _arr(self.action, "action", dtype="int", ndim=(1, 2), n=n)
        if a.ndim == 2:
            _check_distinct_rows(a, "action")
        k = int(a.max()) + 1 if self.n_actions is None else int(self.n_actions)
        _nonneg_int(a, "action", high=k, what=f" (n_actions={k})")
        _frozen_setattr(self, "action", a)
        _frozen_setattr(self, "n_actions", k)
        _frozen_setattr(self, "reward", _arr(self.reward, "reward", dtype="float", ndim=1, n=n))
        _set_pscore(self, n)
        d = np.zeros(n, dtype=bool) if self.done is None else np.asarray(self.done)
        if d.shape != (n,):
            raise _E(f"`done` must have shape ({n},); got {d.shape}")
        if d.dtype.kind not in "biu" or ((d != 0) & (d != 1)).any():
            raise _E("`done` must hold booleans (or 0/1)")
        d = np.ascontiguousarray(d, dtype=bool)
        not_last = np.ones(n, dtype=bool)
        not_last[:-1] = ep[1:] == ep[:-1]
        not_last[-1] = False
        if (d & not_last).any():
            raise _E(f"`done` may only be true on an episode's last step; {first_bad(d & not_last, d)}")
        d.setflags(write=False)
        _frozen_setattr(self, "done", d)
        first = np.ones(n, dtype=bool)
        first[1:] = ep[1:] != ep[:-1]
        if self.step is None:
            idx = np.arange(n, dtype=np.int64)
            st = idx - np.maximum.accumulate(np.where(first, idx, 0))
            st.setflags(write=False)
        else:
            st = _arr(self.step, "step", dtype="int", ndim=1, n=n)
            _nonneg_int(st, "step")
            gap = np.zeros(n, dtype=bool)
            gap[1:] = ~first[1:] & (st[1:] != st[:-1] + 1)
            if gap.any():
                i = int(np.flatnonzero(gap)[0])
                raise _E(f"`step` must increase by 1 from row to row within an episode (no gaps); "
                         f"{int(gap.sum())} rows do not, first at row {i} (step {int(st[i])} after step "
                         f"{int(st[i - 1])} in episode {int(ep[i])})")
        _frozen_setattr(self, "step", st)
        _set_ids(self, n)

    @property
    def n_episodes(self) -> int:
        """Number of distinct episodes."""
        return int(np.count_nonzero(np.diff(self.episode)) + 1)

    @classmethod
    def from_padded(cls, obs: Any, action: Any, reward: Any, pscore: Any = None, done: Any = None,
                    lengths: Any = None, **kwargs: Any) -> Trajectories:
        """Build from padded ``(n, T, ...)`` arrays; ``lengths[i]`` valid steps in episode ``i``."""
        obs = np.asarray(obs)
        if obs.ndim == 2:
            obs = obs[:, :, None]
        n, t = obs.shape[:2]
        lengths = np.full(n, t) if lengths is None else np.asarray(lengths, dtype=np.int64)
        mask = np.arange(t)[None, :] < lengths[:, None]
        ep = np.broadcast_to(np.arange(n)[:, None], (n, t))[mask]
        return cls(episode=ep, obs=obs[mask], action=np.asarray(action)[mask],
                   reward=np.asarray(reward)[mask],
                   pscore=None if pscore is None else np.asarray(pscore)[mask],
                   done=None if done is None else np.asarray(done)[mask], **kwargs)

    def __repr__(self) -> str:
        return f"Trajectories(steps={len(self)}, episodes={self.n_episodes}, n_actions={self.n_actions})"


def concat(logs: Sequence[BanditLog] | Sequence[SlateLog]) -> BanditLog | SlateLog:
    """Concatenate bandit logs, or slate logs, row-wise (same kind, same optional fields).

    Every per-row field travels, ids included (``user_id``, ``session_id``, ``logger_id``,
    ``position``, ``pscore_cascade``), unchanged: ids that mean different things in different logs
    (e.g. sessions each numbered from 0) must be made distinct by the caller. The action space is
    the largest of the parts (``n_actions`` / ``n_items``); ``action_embed`` and ``meta`` come from
    the first log.
    """
    logs = list(logs)
    if not logs:
        raise _E("`logs` must hold at least one BanditLog or SlateLog")
    first = logs[0]
    kind = type(first)
    if kind not in (BanditLog, SlateLog):
        raise _E(f"`logs` must hold BanditLog or SlateLog objects; got a {kind.__name__}")
    for i, lg in enumerate(logs):
        if type(lg) is not kind:
            raise _E(f"cannot concatenate a {type(lg).__name__} (log {i}) with a {kind.__name__} (log 0)")
        if kind is SlateLog and lg.slate_size != first.slate_size:
            raise _E(f"cannot concatenate slate logs of different slate sizes: log {i} has K={lg.slate_size}, "
                     f"log 0 has K={first.slate_size}")
    kwargs: dict[str, Any] = {}
    for f in kind._row_fields:
        vals = [getattr(lg, f) for lg in logs]
        present = [v is not None for v in vals]
        if any(present) and not all(present):
            raise _E(f"cannot concatenate logs where only some have `{f}`")
        kwargs[f] = np.concatenate(vals) if all(present) else None
    if kind is SlateLog:
        return SlateLog(n_items=max(lg.n_items for lg in logs), meta=dict(first.meta), **kwargs)
    return BanditLog(n_actions=max(lg.n_actions for lg in logs), action_embed=first.action_embed,
                     meta=dict(first.meta), **kwargs)


# Readers of real logs (Open Bandit Dataset, any CSV/Parquet with a column map) live in readers.py
# (which imports this module, so they are looked up on first use).
_READERS = ("read_obd", "read_log", "encode_features")
__all__ += list(_READERS)


def __getattr__(name: str) -> Any:
    if name in _READERS:
        from . import readers

        return getattr(readers, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
