"""Worlds fitted to real logs: the arrays a click-model fit produces, and their ``.npz`` file.

A :class:`CalibratedWorld` holds what ``simrec.calibrate.fit_world`` learns from a log: the
examination probability of each slot, each item's attractiveness (its click probability when
examined), the contexts of the logged users, and the click model it came from. It turns into an
ordinary :class:`~simrec.sim.World` (``World.from_calibration`` or ``World({"from": path})``):

- a static world (no drift, boredom, satisfaction, leaving or returns: the log says nothing of them);
- click model ``pbm``: ``examination.model = "table"``, so one item at slot ``k`` is clicked with
  probability ``examination[k] * attractiveness[i]`` exactly (a slate is scanned top-down and stops
  at the first click);
- click model ``cascade`` (and ``dcm``, whose continuation after a click the simulator, one click per
  step, cannot express): cascade examination with ``cascade_continue = 1``;
- items: ``attractiveness`` enters the choice utility as ``logit(attractiveness[i])`` (affinity and
  boredom weights 0, outside option 0), quality 0;
- users: ``user_features`` are the observable features (and the latent interest; with affinity
  weight 0 it has no effect on clicks); a world without contexts has one feature column of ones;
- latent factors (optional): with ``user_factors`` (one row per user) and ``item_factors`` (one row
  per item) of rank ``r``, the world's vectors are ``[features, 0]`` (observable) and
  ``[0, user_factors]`` (interest) for users, ``[0, item_factors]`` for items, with affinity weight
  1: item ``i`` is attractive to user ``u`` with probability
  ``sigmoid(logit(attractiveness[i]) + user_factors[u] . item_factors[i])``.

File format: one ``.npz`` with the arrays and a JSON ``meta`` entry (``format``, ``click_model``,
provenance), written by :meth:`CalibratedWorld.save` and read by :func:`load`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError
from .catalog import Catalog
from .config import WorldConfig, make_config
from .population import Population

__all__ = ["CalibratedWorld", "load", "is_calibrated"]

FORMAT = "simrec-calibrated-world/1"
_MODELS = ("pbm", "cascade", "dcm")
_EPS = 1e-12


@dataclass(frozen=True, eq=False)
class CalibratedWorld:
    """Fitted world arrays (see the module docstring).

    Parameters
    ----------
    click_model : {"pbm", "cascade", "dcm"}
    examination : array of float, shape (K,)
        Examination probability of each slot (all ones for cascade models).
    attractiveness : array of float, shape (n_items,)
        Click probability of each item when examined, in [0, 1].
    user_features : array of float, shape (n_users, d), optional
        Observable features of the simulated users (rows sampled from the log's contexts).
    continuation : array of float, shape (K,), optional
        DCM: probability of going on after a click at each slot (kept for reference).
    user_factors, item_factors : array of float, shapes (n_users, r) and (n_items, r), optional
        Latent factors (both or neither; see the module docstring).
    meta : dict
        JSON-serialisable provenance (source log, fit settings, held-out scores).
    """

    click_model: str
    examination: np.ndarray
    attractiveness: np.ndarray
    user_features: np.ndarray | None = None
    continuation: np.ndarray | None = None
    user_factors: np.ndarray | None = None
    item_factors: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.click_model not in _MODELS:
            raise ConfigError(f"`click_model` must be one of {_MODELS}; got {self.click_model!r}")
        for name in ("examination", "attractiveness"):
            a = np.asarray(getattr(self, name), dtype=np.float64)
            if a.ndim != 1 or a.size == 0:
                raise ConfigError(f"`{name}` must be a non-empty 1-D array; got shape {a.shape}")
            bad = ~((a >= 0) & (a <= 1))
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise ConfigError(f"`{name}` must hold probabilities in [0, 1]; entry {i} is {a[i]}")
            object.__setattr__(self, name, a)
        if self.examination.size > 100:
            raise ConfigError(f"`examination` may cover at most 100 slots; got {self.examination.size}")
        if self.examination.size > self.attractiveness.size:
            raise ConfigError(f"a world needs at least as many items ({self.attractiveness.size}) as slots "
                              f"({self.examination.size})")
        if self.user_features is not None:
            u = np.asarray(self.user_features, dtype=np.float64)
            u = u[:, None] if u.ndim == 1 else u
            if u.ndim != 2 or u.shape[0] == 0 or u.shape[1] == 0 or u.shape[1] > 512 or not np.isfinite(u).all():
                raise ConfigError(f"`user_features` must be a finite (n_users, d) array with 1 <= d <= 512; "
                                  f"got shape {u.shape}")
            object.__setattr__(self, "user_features", u)
        if self.continuation is not None:
            object.__setattr__(self, "continuation", np.asarray(self.continuation, dtype=np.float64))
        if (self.user_factors is None) != (self.item_factors is None):
            raise ConfigError("`user_factors` and `item_factors` go together (both or neither)")
        if self.user_factors is not None:
            uf = np.asarray(self.user_factors, dtype=np.float64)
            itf = np.asarray(self.item_factors, dtype=np.float64)
            n_users = self._users().shape[0]
            if uf.ndim != 2 or uf.shape[0] != n_users or itf.shape != (self.n_items, uf.shape[1]):
                raise ConfigError(f"`user_factors` must be ({n_users}, r) and `item_factors` ({self.n_items}, r); "
                                  f"got {uf.shape} and {itf.shape}")
            if not (np.isfinite(uf).all() and np.isfinite(itf).all()):
                raise ConfigError("`user_factors` and `item_factors` must be finite")
            if self._users().shape[1] + uf.shape[1] > 512:
                raise ConfigError("features plus factors may span at most 512 dimensions")
            object.__setattr__(self, "user_factors", uf)
            object.__setattr__(self, "item_factors", itf)

    @property
    def n_items(self) -> int:
        return int(self.attractiveness.size)

    @property
    def n_slots(self) -> int:
        return int(self.examination.size)

    def _users(self) -> np.ndarray:
        return np.ones((1, 1)) if self.user_features is None else self.user_features

    @property
    def rank(self) -> int:
        """Rank of the latent factors (0 without)."""
        return 0 if self.user_factors is None else int(self.user_factors.shape[1])

    def config(self) -> WorldConfig:
        """The world config: static dynamics, the fitted examination, attractiveness-only choice."""
        users = self._users()
        exam: dict[str, Any]
        if self.click_model == "pbm":
            exam = {"model": "table", "table": [float(v) for v in self.examination]}
        else:
            exam = {"model": "cascade", "cascade_continue": 1.0}
        return make_config({
            "name": f"calibrated-{self.click_model}",
            "dim": users.shape[1] + self.rank,
            "slate_size": self.n_slots,
            "catalog": {"n_items": self.n_items, "n_topics": 1, "quality_sd": 0.0, "attractiveness_sd": 0.0},
            "population": {"n_users": users.shape[0], "obs_noise": 0.0, "position_bias_sd": 0.0},
            "examination": exam,
            "choice": {"affinity_weight": 1.0 if self.rank else 0.0, "attractiveness_weight": 1.0,
                       "boredom_weight": 0.0, "no_click_utility": 0.0},
            "satisfaction": {"enabled": False},
            "drift": {"enabled": False},
            "boredom": {"enabled": False},
            "session": {"enabled": False},
            "returns": {"enabled": False},
            "notifications": {"enabled": False},
        })

    def catalog(self, config: WorldConfig) -> Catalog:
        """Items: ``logit(attractiveness)`` as the attractiveness utility; placeholder embeddings."""
        n, d = self.n_items, config.dim
        a = np.clip(self.attractiveness, _EPS, 1 - _EPS)
        emb = np.zeros((n, d), dtype=np.float32)
        if self.rank:
            emb[:, d - self.rank:] = self.item_factors
        else:
            emb[:, 0] = 1.0  # unit rows; affinity has weight 0 in a calibrated world without factors
        return Catalog(
            embedding=emb,
            topic=np.zeros(n, dtype=np.int64),
            quality=np.zeros(n),
            attractiveness=np.log(a) - np.log1p(-a),
            length=np.full(n, 8.0),
            release_step=np.zeros(n, dtype=np.int64),
            topic_centers=np.eye(1, d),
        )

    def population(self) -> Population:
        """Users: the logged contexts as observable features and interest."""
        u = self._users()
        if self.rank:
            pad = np.zeros((u.shape[0], self.rank))
            features = np.concatenate([u, pad], axis=1)
            interest = np.concatenate([np.zeros_like(u), self.user_factors], axis=1)
        else:
            features, interest = u.copy(), u.copy()
        return Population(ids=np.arange(u.shape[0], dtype=np.int64), interest=interest,
                          position_bias=np.zeros(u.shape[0]), features=features)

    # ---- file -------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the world to ``path`` (``.npz``; the suffix is added when missing)."""
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_name(path.name + ".npz")
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, Any] = {"examination": self.examination, "attractiveness": self.attractiveness}
        if self.user_features is not None:
            arrays["user_features"] = self.user_features
        if self.continuation is not None:
            arrays["continuation"] = self.continuation
        if self.rank:
            arrays["user_factors"], arrays["item_factors"] = self.user_factors, self.item_factors
        meta = {"format": FORMAT, "click_model": self.click_model, **self.meta}
        arrays["meta"] = np.array(json.dumps(meta))
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez_compressed(tmp, **arrays)
        tmp.replace(path)
        return path


def is_calibrated(config: Any) -> bool:
    """Whether ``config`` names a calibrated world: a :class:`CalibratedWorld`, a ``.npz`` path or a
    dict ``{"from": path}``."""
    if isinstance(config, CalibratedWorld):
        return True
    if isinstance(config, Path) or (isinstance(config, str) and config.endswith(".npz")):
        return True
    return isinstance(config, dict) and "from" in config


def load(source: str | Path | dict[str, Any] | CalibratedWorld) -> CalibratedWorld:
    """Read a calibrated world from a ``.npz`` file (or ``{"from": path}``; an object passes through)."""
    if isinstance(source, CalibratedWorld):
        return source
    if isinstance(source, dict):
        extra = sorted(set(source) - {"from"})
        if extra:
            raise ConfigError(f"a calibrated world is named by {{'from': path}} alone; unknown key(s) {extra}")
        source = source["from"]
    if not isinstance(source, (str, Path)):
        raise ConfigError(f"a calibrated world is a path to an .npz file; got {type(source).__name__}")
    path = Path(source)
    if not path.exists():
        raise ConfigError(f"calibrated world file {str(path)!r} does not exist (write one with "
                          f"`simrec calibrate LOG -o {path.name}`)")
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
        meta = json.loads(str(data.pop("meta")))
    except Exception as exc:  # noqa: BLE001 - any reader failure means an unusable file
        raise ConfigError(f"cannot read a calibrated world from {str(path)!r}: {exc}") from None
    if meta.pop("format", None) != FORMAT:
        raise ConfigError(f"{str(path)!r} is not a simrec calibrated world (format {FORMAT!r})")
    missing = [k for k in ("examination", "attractiveness") if k not in data]
    if missing:
        raise ConfigError(f"{str(path)!r} lacks the array(s) {missing}")
    return CalibratedWorld(click_model=meta.pop("click_model"), examination=data["examination"],
                           attractiveness=data["attractiveness"], user_features=data.get("user_features"),
                           continuation=data.get("continuation"), user_factors=data.get("user_factors"),
                           item_factors=data.get("item_factors"), meta=meta)
