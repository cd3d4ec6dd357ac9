"""What ``simrec calibrate LOG -o WORLD.npz`` does: read a log, fit, save the world, summarise."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..data import BanditLog, SlateLog, read_log, read_obd
from ..errors import InvalidLogError
from .analysis import compare_models, time_split
from .base import ClickModel
from .cascade import CascadeModel, DependentClickModel
from .pbm import ClickThroughRateModel, PositionBasedModel
from .ubm import UserBrowsingModel
from .world import fit_world

__all__ = ["load_any_log", "calibrate"]

_OBD_COLUMNS = {"timestamp", "item_id", "position", "click", "propensity_score"}


def load_any_log(path: str | Path, columns: Mapping[str, Any] | None = None, first_position: int = 0
                 ) -> BanditLog | SlateLog:
    """A log from: an OBD folder or ``all.csv``; a simrec Parquet log (``to_parquet``); or any
    CSV/Parquet file with a column map (``columns``, see :func:`simrec.data.read_log`)."""
    path = Path(path)
    if columns:
        return read_log(path, columns, first_position=first_position)
    if path.is_dir() or path.name.startswith("all.csv"):
        return read_obd(path)
    if path.suffix in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        kind = (pq.read_schema(path).metadata or {}).get(b"simrec", b"")
        cls = SlateLog if b'"SlateLog"' in kind else BanditLog
        return cls.read_parquet(path)
    if path.suffix in (".csv", ".gz"):
        import pandas as pd

        head = set(pd.read_csv(path, nrows=1).columns)
        if _OBD_COLUMNS <= head:
            return read_obd(path)
        raise InvalidLogError(f"{path.name} is not in the Open Bandit Dataset layout (columns {sorted(_OBD_COLUMNS)}); "
                              "map its columns with --column FIELD=COLUMN (action, reward, position, ...)")
    raise InvalidLogError(f"cannot tell how to read {str(path)!r}: give an OBD folder, a .csv or a .parquet file")


def calibrate(log: BanditLog | SlateLog, out: str | Path, model: str = "auto", train_frac: float = 0.8,
              n_users: int = 10_000, seed: int = 0, factors: int = 0) -> tuple[Path, list[str]]:
    """Fit on the first ``train_frac`` of ``log`` (time order), score on the rest, save the world
    fitted on the training part; returns the file and the summary lines."""
    train, test = time_split(log, train_frac)
    if model == "auto":
        model = "pbm" if isinstance(log, BanditLog) else "dcm"
    candidates: dict[str, ClickModel] = {"global CTR": ClickThroughRateModel("global")}
    if isinstance(log, SlateLog):
        candidates.update({"PBM": PositionBasedModel(), "UBM": UserBrowsingModel(), "cascade": CascadeModel(),
                           "DCM": DependentClickModel()})
    else:
        candidates.update({"item CTR": ClickThroughRateModel("item"), "PBM": PositionBasedModel()})
    comp = compare_models(candidates, train, test, reference="global CTR")  # fits every candidate on train
    fitted: ClickModel | None = candidates.get({"pbm": "PBM", "cascade": "cascade", "dcm": "DCM"}[model])
    if fitted is None:  # a cascade model on a bandit log is no candidate: its own fit says why it cannot be
        fitted = {"cascade": CascadeModel, "dcm": DependentClickModel}[model]().fit(train)
    world = fit_world(train, fitted, n_users=n_users, rng=seed, factors=factors)
    world.meta["held_out"] = {name: {"log_likelihood": float(r.log_likelihood), "perplexity": float(r.perplexity)}
                              for name, r in comp.iterrows()}
    path = world.save(out)
    lines = [f"log: {len(log)} rows ({len(train)} train / {len(test)} held out, split in row order), "
             f"{int(np.asarray(log.reward).sum())} clicks",
             f"model: {model}; world: {world.n_items} items, {world.n_slots} slots, "
             f"{world.rank} latent factors -> {path}"]
    if isinstance(fitted, PositionBasedModel):
        se = fitted.relative_examination_se_
        lines.append("examination relative to the top slot: " + ", ".join(
            f"{v:.3f} (se {s:.3f})" for v, s in zip(fitted.relative_examination_, se)))
    lines.append("held-out log-likelihood per impression / perplexity:")
    for name, r in comp.iterrows():
        lines.append(f"  {name:<12} {r.log_likelihood:.5f} / {r.perplexity:.4f}  (vs global CTR: z = {r.z:+.1f})")
    return path, lines
