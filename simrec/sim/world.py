"""``World``: a catalog, a user population and a batch of users stepped together.

>>> from simrec.sim import World
>>> w = World("default", seed=0)
>>> w.reset(users=[0, 1, 2], seeds=7)
>>> fb = w.step([[0, 1, 2, 3, 4]] * 3)
>>> fb.reward.shape
(3,)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import check_array, check_int
from ..errors import ConfigError, InvalidActionError, ResetNeededError
from . import _kernels as K
from . import calibrated
from .behavior import pack
from .catalog import Catalog, make_catalog
from .config import WorldConfig
from .population import Population, make_users
from .presets import resolve

__all__ = ["World", "UserBatch", "Feedback", "SessionEnd", "NotifyFeedback", "PolicyValue"]

_SALT_EPISODE = 0x45_50_49_53


@dataclass(eq=False)
class UserBatch:
    """Mutable state of the batch rows (one user each). Latent fields are the simulator's own."""

    users: np.ndarray  # (B,) int64
    features: np.ndarray  # (B, d) observable features
    theta: np.ndarray  # (B, d) latent interest
    sat: np.ndarray  # (B,) satisfaction
    bored: np.ndarray  # (B, n_topics)
    eta: np.ndarray  # (B,) position-bias exponent
    load: np.ndarray  # (B,) notification load
    unsub: np.ndarray  # (B,) bool
    key: np.ndarray  # (B,) uint64 stream keys
    counter: np.ndarray  # (B,) uint64 step counters

    def __len__(self) -> int:
        return int(self.users.shape[0])


@dataclass(frozen=True, eq=False)
class Feedback:
    """What happened in one slate step, per row."""

    clicked_slot: np.ndarray  # (B,) int64, -1 = no click
    clicked_item: np.ndarray  # (B,) int64, -1 = no click
    watch: np.ndarray  # (B,) watch fraction of the clicked item
    reward: np.ndarray  # (B,) click (0/1) or watch fraction, per the config
    expected_reward: np.ndarray  # (B,) exact expectation of `reward` given the state and slate
    slot_expected_reward: np.ndarray  # (B, K) exact expected reward of each slot
    left: np.ndarray  # (B,) bool: the user leaves the session after this step
    empty_slots: np.ndarray | None = None  # (B,) slots left empty by a lenient step (None: strict)
    shown: np.ndarray | None = None  # (B, K) int64 the slates as shown: item ids, -1 = an empty slot


@dataclass(frozen=True, eq=False)
class SessionEnd:
    gap_days: np.ndarray  # (B,) int64, days until the next session (0 for rows not ending)
    churned: np.ndarray  # (B,) bool


@dataclass(frozen=True, eq=False)
class NotifyFeedback:
    opened: np.ndarray
    visited: np.ndarray
    expected_reward: np.ndarray  # P(visit)
    unsubscribed: np.ndarray  # unsubscribed on this day


@dataclass(frozen=True)
class PolicyValue:
    """A policy value from seeded rollouts: mean per-user return and its standard error."""

    value: float
    stderr: float
    n: int
    returns: np.ndarray

    def ci(self, z: float = 1.959964) -> tuple[float, float]:
        return (self.value - z * self.stderr, self.value + z * self.stderr)


class World:
    """A simulated world: catalog, population and a batch of users stepped together.

    Parameters
    ----------
    config : str, dict, WorldConfig or CalibratedWorld
        A preset name (see :mod:`simrec.sim.presets`), a dict (with an optional ``preset`` key and
        overrides) or a config; or a world fitted to a log (see :meth:`from_calibration`): a
        ``.npz`` path, ``{"from": path}`` or a :class:`~simrec.sim.calibrated.CalibratedWorld`.
    seed : int
        Seeds the catalog and the population. User ``u``'s attributes depend only on (seed, u).
    """

    def __init__(self, config: str | dict[str, Any] | WorldConfig = "default", seed: int = 0) -> None:
        fitted = calibrated.load(config) if calibrated.is_calibrated(config) else None
        self.config: WorldConfig = resolve(config) if fitted is None else fitted.config()
        self.seed = check_int(seed, name="seed", minimum=0)
        if fitted is None:
            self.catalog: Catalog = make_catalog(self.config, np.random.default_rng([self.seed, 0xCA7]))
        else:
            self.catalog = fitted.catalog(self.config)
        self.params = pack(self.config)
        if fitted is None:
            self.population: Population = make_users(
                self.config, self.catalog, self.seed, np.arange(self.config.population.n_users)
            )
        else:
            self.population = fitted.population()
        self.clock = 0
        self.state: UserBatch | None = None

    @classmethod
    def from_calibration(cls, source: Any, seed: int = 0) -> World:
        """A world fitted to a real log by :func:`simrec.calibrate.fit_world`: ``source`` is the
        ``.npz`` file it saved (a path or ``{"from": path}``) or the fitted object itself."""
        return cls(calibrated.load(source), seed)

    # ----------------------------------------------------------------- sizes
    @property
    def n_users(self) -> int:
        return self.config.population.n_users

    @property
    def n_items(self) -> int:
        """Catalog capacity (items released now and later)."""
        return self.catalog.size

    @property
    def n_available(self) -> int:
        """Items released by the current world step."""
        return self.catalog.n_available(self.clock)

    @property
    def n_topics(self) -> int:
        return int(self.catalog.topic_centers.shape[0])

    @property
    def item_features(self) -> np.ndarray:
        """Observable item features: the content embedding (a recommender knows its items' topics)."""
        return self.catalog.embedding

    # ----------------------------------------------------------------- batch
    def reset(self, users: Any, seeds: Any = 0) -> UserBatch:
        """Start a batch: rows are ``users`` (ids) in their initial state, with episode ``seeds``
        (one per row or a scalar). Row b draws from the stream keyed by (seeds[b], users[b])."""
        users = check_array(users, name="users", ndim=1, dtype="int", error=ConfigError)
        if users.size and (users.min() < 0 or users.max() >= self.n_users):
            bad = users[(users < 0) | (users >= self.n_users)][0]
            raise ConfigError(f"`users` must be ids in [0, {self.n_users}); got {bad}")
        seeds = np.broadcast_to(check_array(seeds, name="seeds", dtype="int", error=ConfigError), users.shape)
        B, d = users.size, self.config.dim
        self.state = UserBatch(
            users=np.empty(B, np.int64), features=np.empty((B, d)), theta=np.empty((B, d)), sat=np.empty(B),
            bored=np.empty((B, self.n_topics)), eta=np.empty(B), load=np.empty(B), unsub=np.empty(B, dtype=bool),
            key=np.empty(B, np.uint64), counter=np.empty(B, np.uint64),
        )  # fmt: skip
        self.reset_rows(np.arange(B), users, seeds)
        return self.state

    def reset_rows(self, rows: np.ndarray, users: np.ndarray, seeds: np.ndarray) -> None:
        """Put new ``users`` (with episode ``seeds``) in batch ``rows``, keeping the other rows."""
        s = self._require_state()
        pop = self.population
        rows, users, seeds = (np.ascontiguousarray(a, np.int64) for a in (rows, users, seeds))
        if not rows.ndim == users.ndim == seeds.ndim == 1 or not rows.size == users.size == seeds.size:
            raise ConfigError(
                f"`rows`, `users` and `seeds` must be 1-D of one length; got {rows.shape}, {users.shape}, {seeds.shape}"
            )
        bad = K.reset_rows(
            rows, users, seeds, _SALT_EPISODE, pop.features, pop.interest, pop.position_bias,
            s.users, s.features, s.theta, s.sat, s.bored, s.eta, s.load, s.unsub, s.key, s.counter,
        )  # fmt: skip
        if bad >= 0:
            r, u = int(rows[bad]), int(users[bad])
            if not 0 <= u < self.n_users:
                raise ConfigError(f"`users` must be ids in [0, {self.n_users}); entry {bad} is {u}")
            raise ConfigError(f"`rows` must be distinct rows in [0, {len(s)}); entry {bad} is {r}")

    def _require_state(self) -> UserBatch:
        if self.state is None:
            raise ResetNeededError("call World.reset(users, seeds) before stepping")
        return self.state

    def check_slates(self, slates: Any, n_rows: int | None = None) -> np.ndarray:
        """Validate ``slates`` (B, K) of item ids: integer dtype, released items, no duplicates."""
        arr = self._slate_array(slates, n_rows)
        bad = np.zeros(arr.shape[0], np.int64)
        K.check_slates(arr, self.n_available, bad)
        self._raise_slate_problem(arr, bad)
        return arr

    @staticmethod
    def _slate_array(slates: Any, n_rows: int | None) -> np.ndarray:
        arr = np.asarray(slates)
        if arr.dtype.kind not in "iu":
            raise InvalidActionError(f"`slates` must hold integer item ids; got dtype {arr.dtype}")
        if arr.ndim != 2:
            raise InvalidActionError(f"`slates` must be 2-dimensional (rows, slots); got shape {arr.shape}")
        if n_rows is not None and arr.shape[0] != n_rows:
            raise InvalidActionError(f"`slates` must have {n_rows} rows (one per user); got {arr.shape[0]}")
        if arr.shape[1] < 1:
            raise InvalidActionError("`slates` must have at least one slot")
        return np.ascontiguousarray(arr, dtype=np.int64)

    def shown_slates(self, slates: Any) -> np.ndarray:
        """The slates (B, K) as a lenient :meth:`step` shows them, changing nothing: a copy with every
        unreleased or repeated item replaced by -1 (an empty slot). Ids outside the catalog raise."""
        sl = self._slate_array(slates, None)
        return self._lenient_slates(sl, np.ones(sl.shape[0], dtype=bool), True)[0]

    def _lenient_slates(self, sl: np.ndarray, active: np.ndarray, copy: bool) -> tuple[np.ndarray, np.ndarray]:
        """``sl`` (a copy when ``copy``) with unreleased and repeated items made empty slots (-1), and
        the number of empty slots per row; ids outside the catalog raise (before any change)."""
        sl = sl.copy() if copy else sl
        n_empty, bad = np.empty(sl.shape[0], np.int64), np.empty(sl.shape[0], np.int64)
        K.empty_invalid_slots(sl, active, self.n_available, self.n_items, n_empty, bad)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            col = int(bad[row]) - 1
            raise InvalidActionError(f"`slates` must hold item ids in [0, {self.n_items}) (the catalog); "
                                     f"row {row} slot {col} is {int(sl[row, col])}")
        return sl, n_empty

    def _raise_slate_problem(self, slates: np.ndarray, bad: np.ndarray) -> None:
        """Raise for the first row flagged in ``bad`` (codes of ``_kernels._slate_row_problem``)."""
        if not bad.any():
            return
        row = int(np.flatnonzero(bad)[0])
        col = (int(bad[row]) - 1) // 2
        val = int(slates[row, col])
        if bad[row] % 2 == 1:
            raise InvalidActionError(
                f"`slates` must hold item ids in [0, {self.n_available}) (items released by step "
                f"{self.clock}); row {row} slot {col} is {val}"
            )
        raise InvalidActionError(f"`slates` must not repeat an item; row {row} shows item {val} twice")

    def step(self, slates: Any, active: np.ndarray | None = None, *, validate: bool = True,
             lenient: bool = False) -> Feedback:
        """Show ``slates[b]`` to row b (rows where ``active`` is False are skipped and untouched).

        Advances the world clock by one step (new items may be released). Slates are validated
        (dtype, shape, released items, no repeats; see :meth:`check_slates`) before any state
        changes; ``validate=False`` skips the item checks for callers that already made them.
        With ``lenient=True`` a slot that names an unreleased item or repeats an item shown earlier
        in its slate is an *empty slot*: nothing is shown there (it draws no click, no exposure) and
        ``Feedback.empty_slots`` counts such slots per row. ``Feedback.shown`` holds the slates as
        shown (-1 in empty slots; rows where ``active`` is False as given)."""
        s = self._require_state()
        B = len(s)
        sl = self._slate_array(slates, B)
        act = np.ones(B, dtype=bool) if active is None else _active_mask(active, B)
        n_empty = None
        shared = np.shares_memory(sl, np.asarray(slates))  # the caller's array: not ours to keep or change
        if lenient:
            sl, n_empty = self._lenient_slates(sl, act, shared)
            validate, shared = False, False
        Kn = sl.shape[1]
        slot, item, watch, reward = np.empty(B, np.int64), np.empty(B, np.int64), np.empty(B), np.empty(B)
        expected, slot_exp, left = np.empty(B), np.empty((B, Kn)), np.empty(B, dtype=bool)
        c = self.catalog
        as_watch = self.config.reward == "watch"
        shift, bad, wexp = np.empty(B), np.zeros(B, np.int64), np.empty((B, Kn) if as_watch else (0, 0))
        n_check = self.n_available if validate else -1
        K.slate_logits(sl, act, s.theta, s.bored, s.eta, c.embedding, c.topic, c.attractiveness, c.quality,
                       self.params, n_check, bad, slot_exp, shift, wexp)  # fmt: skip
        self._raise_slate_problem(sl, bad)  # nothing has changed yet
        with np.errstate(over="ignore"):  # cascade: exp(v0 - v) may overflow to inf -> click prob 0
            np.exp(slot_exp, out=slot_exp)  # in bulk: numpy's vectorised exp
            if as_watch:  # every slot's watch fraction enters the expectation
                np.exp(wexp, out=wexp)
        K.slate_step(
            sl, act, s.theta, s.sat, s.bored, s.key, s.counter,
            c.embedding, c.topic, c.quality, self.params, shift, wexp,
            slot, item, watch, reward, expected, slot_exp, left,
        )  # fmt: skip
        self.clock += 1
        return Feedback(slot, item, watch, reward, expected, slot_exp, left, n_empty, sl.copy() if shared else sl)

    def end_session(self, mask: np.ndarray) -> SessionEnd:
        """Rows in ``mask`` end their session: the gap in days to the next one, and churn."""
        s = self._require_state()
        mask = np.ascontiguousarray(mask, dtype=bool)
        gap, churned = np.empty(len(s), np.int64), np.empty(len(s), dtype=bool)
        K.end_session(mask, s.sat, s.bored, s.key, s.counter, self.params, gap, churned)
        return SessionEnd(gap, churned)

    def expected_visit(self, items: Any) -> np.ndarray:
        """Exact P(visit) of one day of messaging with ``items[b]`` notified to row b (-1 for none),
        for the rows in their current state, changing nothing (what :meth:`notify` would report)."""
        s = self._require_state()
        saved = (s.theta, s.sat, s.load, s.unsub, s.key, s.counter)
        s.theta, s.sat, s.load, s.unsub, s.key, s.counter = (a.copy() for a in saved)
        try:
            return self.notify(items).expected_reward
        finally:
            s.theta, s.sat, s.load, s.unsub, s.key, s.counter = saved

    def notify(self, items: Any, active: np.ndarray | None = None) -> NotifyFeedback:
        """One day of messaging: ``items[b]`` is the item notified to row b, -1 for none."""
        s = self._require_state()
        B = len(s)
        arr = np.asarray(items)
        if arr.dtype.kind not in "iu" or arr.shape != (B,):
            raise InvalidActionError(
                f"`items` must be {B} integer item ids (-1 = no notification); got {arr.dtype} {arr.shape}"
            )
        arr = arr.astype(np.int64)
        bad = (arr < -1) | (arr >= self.n_available)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InvalidActionError(f"`items` must lie in [-1, {self.n_available}); row {i} is {arr[i]}")
        act = np.ones(B, dtype=bool) if active is None else np.ascontiguousarray(active, dtype=bool)
        opened, visited = np.empty(B, dtype=bool), np.empty(B, dtype=bool)
        expected, unsub_now = np.empty(B), np.empty(B, dtype=bool)
        c = self.catalog
        K.notify_day(
            arr, act, s.theta, s.sat, s.load, s.unsub, s.key, s.counter, c.embedding, c.quality,
            self.params, opened, visited, expected, unsub_now,
        )  # fmt: skip
        return NotifyFeedback(opened, visited, expected, unsub_now)

    def advance_clock(self, steps: int = 1) -> None:
        """Move the world clock on without stepping users (days without a session)."""
        self.clock += int(steps)

    # ----------------------------------------------------------------- ground truth
    def expected_reward(self, users: Any, items: Any, positions: Any = 0) -> np.ndarray:
        """Exact one-step expected reward of ``items[j]`` shown alone at ``positions[j]`` (0-based)
        to user ``users[j]`` in their initial state. Arguments broadcast together."""
        u = check_array(users, name="users", dtype="int", error=InvalidActionError)
        i = check_array(items, name="items", dtype="int", error=InvalidActionError)
        p = check_array(positions, name="positions", dtype="int", error=InvalidActionError)
        u, i, p = (np.ascontiguousarray(a.ravel()) for a in np.broadcast_arrays(u, i, p))
        if u.size and (u.min() < 0 or u.max() >= self.n_users):
            raise InvalidActionError(f"`users` must lie in [0, {self.n_users})")
        if i.size and (i.min() < 0 or i.max() >= self.n_items):
            raise InvalidActionError(f"`items` must lie in [0, {self.n_items})")
        if p.size and p.min() < 0:
            raise InvalidActionError("`positions` must be >= 0")
        pop = self.population
        out = np.empty(u.size)
        c = self.catalog
        K.expected_single(
            pop.interest[u], np.zeros((u.size, self.n_topics)), pop.position_bias[u], i, p,
            c.embedding, c.topic, c.quality, c.attractiveness, self.params, out,
        )  # fmt: skip
        return out

    def expected_slate_reward(self, slates: Any, users: Any = None, *,
                              lenient: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Exact expected reward of showing ``slates`` (B, K), changing no state.

        With ``users=None`` row b of the current batch sees ``slates[b]`` in its current state (what
        :meth:`step` would report as ``expected_reward``); otherwise user ``users[b]`` sees it in their
        initial state. ``lenient`` as in :meth:`step` (invalid or repeated slots are empty). Returns
        the expected reward of each slate (B,) and of each slot (B, K).
        """
        n_rows = len(self._require_state()) if users is None else None
        if lenient:
            sl = self._slate_array(slates, n_rows)
            sl = self._lenient_slates(sl, np.ones(sl.shape[0], dtype=bool), True)[0]
        if users is None:
            s = self._require_state()
            theta, bored, eta = s.theta, s.bored, s.eta
            if not lenient:
                sl = self.check_slates(slates, len(s))
        else:
            u = check_array(users, name="users", ndim=1, dtype="int", error=InvalidActionError)
            if u.size and (u.min() < 0 or u.max() >= self.n_users):
                raise InvalidActionError(f"`users` must lie in [0, {self.n_users})")
            pop = self.population
            theta, eta = pop.interest[u], pop.position_bias[u]
            bored = np.zeros((u.size, self.n_topics))
            if not lenient:
                sl = self.check_slates(slates, u.size)
            elif sl.shape[0] != u.size:
                raise InvalidActionError(f"`slates` must have {u.size} rows (one per user); got {sl.shape[0]}")
        B, Kn = sl.shape
        c = self.catalog
        as_watch = self.config.reward == "watch"
        logits, shift, bad = np.empty((B, Kn)), np.empty(B), np.zeros(B, np.int64)
        wexp = np.empty((B, Kn) if as_watch else (0, 0))
        K.slate_logits(sl, np.ones(B, dtype=bool), theta, bored, eta, c.embedding, c.topic, c.attractiveness,
                       c.quality, self.params, -1, bad, logits, shift, wexp)  # fmt: skip
        with np.errstate(over="ignore"):
            np.exp(logits, out=logits)
            if as_watch:
                np.exp(wexp, out=wexp)
        slot_exp, expected = np.empty((B, Kn)), np.empty(B)
        K.slate_expectation(logits, shift, wexp, self.params, slot_exp, expected)
        return expected, slot_exp

    def expected_rewards_now(self) -> np.ndarray:
        """(B, n_available): exact expected reward of every released item shown alone at slot 0 to
        every batch row in its current state (what an oracle would maximise)."""
        s = self._require_state()
        out = np.empty((len(s), self.n_available))
        c = self.catalog
        K.expected_all(
            s.theta, s.bored, s.eta, c.embedding, c.topic, c.quality, c.attractiveness,
            self.n_available, self.params, out,
        )  # fmt: skip
        return out

    def rollout(
        self,
        policy: Callable[[World, np.ndarray], np.ndarray],
        users: Any,
        seeds: Any,
        horizon: int,
    ) -> np.ndarray:
        """Per-row total reward of one session of at most ``horizon`` steps under ``policy``.

        ``policy(world, active) -> slates`` sees the world (use only observable fields for a
        realistic policy). Rows stop when the user leaves. Same users and seeds give the same
        random numbers to every policy (common random numbers)."""
        self.reset(users, seeds)
        s = self._require_state()
        active = np.ones(len(s), dtype=bool)
        total = np.zeros(len(s))
        for _ in range(check_int(horizon, name="horizon", minimum=1)):
            fb = self.step(policy(self, active), active)
            total += fb.reward
            active &= ~fb.left
            if not active.any():
                break
        return total

    def policy_value(
        self,
        policy: Any,
        n_users: int = 1000,
        horizon: int = 20,
        seed: int = 0,
    ) -> PolicyValue:
        """Value of ``policy`` (mean session return) from ``n_users`` seeded rollouts, with its
        standard error. Users are drawn from the population by ``seed``; two policies valued with
        the same seed face the same users and random numbers.

        Parameters
        ----------
        policy : callable or policy object
            Either a callable ``policy(world, active) -> slates`` (``(B, slate_size)`` item ids for
            the ``B`` rows of the batch; ``active`` marks the rows still in session; it may read
            any field of the world) or a policy object with ``act(obs, rng) -> (slates,
            propensities)`` (every :mod:`simrec.policies` policy), which is passed ``obs`` = the
            rows' observable user features ``world.state.features`` (shape ``(B, dim)``, so build it
            with ``obs_dim=world.config.dim``) and a generator seeded from ``seed``.
        n_users, horizon, seed : int
        """
        n = check_int(n_users, name="n_users", minimum=2)
        rng = np.random.default_rng([seed, 0x5EED])
        users = rng.integers(0, self.n_users, size=n)
        seeds = rng.integers(0, 2**62, size=n)
        if hasattr(policy, "act") and not _is_world_callable(policy):
            obj, act_rng = policy, np.random.default_rng([seed, 0xAC7])

            def policy(world: World, active: np.ndarray) -> np.ndarray:
                slates, _ = obj.act(np.asarray(world.state.features), act_rng)
                return np.asarray(slates)
        elif not callable(policy):
            raise ConfigError(f"`policy` must be a callable policy(world, active) -> slates or a policy "
                              f"object with act(obs, rng); got {type(policy).__name__}")
        r = self.rollout(policy, users, seeds, horizon)
        return PolicyValue(float(r.mean()), float(r.std(ddof=1) / np.sqrt(n)), n, r)


def _is_world_callable(policy: Any) -> bool:
    """A plain function (or callable object without ``act``) follows ``policy(world, active)``."""
    return not hasattr(policy, "act")


def _active_mask(active: Any, n_rows: int) -> np.ndarray:
    """``active`` as a bool mask of ``n_rows``: booleans, or numbers that are exactly 0 or 1."""
    arr = np.asarray(active)
    if arr.shape != (n_rows,):
        raise InvalidActionError(f"`active` must be a mask of shape ({n_rows},); got shape {arr.shape}")
    if arr.dtype.kind == "b":
        return np.ascontiguousarray(arr)
    if arr.dtype.kind not in "iuf":
        raise InvalidActionError(f"`active` must hold booleans (or 0/1); got dtype {arr.dtype}")
    bad = ~((arr == 0) | (arr == 1))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InvalidActionError(f"`active` must hold booleans (or 0/1); {int(bad.sum())} values do not, "
                                 f"first at row {i} (value {arr[i].item()!r})")
    return np.ascontiguousarray(arr, dtype=bool)
