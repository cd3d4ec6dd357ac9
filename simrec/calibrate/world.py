"""``fit_world``: a simulator calibrated to a real log (a click model's parameters as a world)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .._validation import as_rng, check_int
from ..data import BanditLog, SlateLog
from ..errors import ConfigError
from ..sim.calibrated import CalibratedWorld
from .base import ClickModel
from .cascade import CascadeModel, DependentClickModel
from .factors import fit_factors
from .pbm import PositionBasedModel

__all__ = ["fit_world"]

_MODELS = {"pbm": PositionBasedModel, "cascade": CascadeModel, "dcm": DependentClickModel}


def _model(model: str | ClickModel, log: BanditLog | SlateLog) -> tuple[str, ClickModel]:
    if isinstance(model, ClickModel):
        for name, cls in _MODELS.items():
            if isinstance(model, cls):
                return name, model
        raise ConfigError(f"`model` must be a PBM, cascade or DCM model; got {type(model).__name__}")
    if model == "auto":
        model = "pbm" if isinstance(log, BanditLog) else "dcm"
    if model not in _MODELS:
        raise ConfigError(f"`model` must be one of {sorted(_MODELS)} or 'auto'; got {model!r}")
    return model, _MODELS[model]()


def fit_world(
    log: BanditLog | SlateLog,
    model: str | ClickModel = "auto",
    *,
    n_users: int = 10_000,
    n_items: int | None = None,
    n_slots: int | None = None,
    rng: int | np.random.Generator | None = 0,
    save: str | Path | None = None,
    factors: int = 0,
) -> CalibratedWorld:
    """Fit a click model to ``log`` and return the calibrated world (optionally saved as ``.npz``).

    Parameters
    ----------
    log : BanditLog (with positions) or SlateLog
    model : {"auto", "pbm", "cascade", "dcm"} or a click-model instance (fitted or not)
        ``"auto"``: PBM for position rows (the only model they support), DCM for slates.
    n_users : int
        Simulated users: rows of ``log.context`` drawn with replacement (so the world's uniform
        draw over users follows the log's context distribution); without contexts, one user.
    n_items : int, optional
        Catalogue size (default: the log's ``n_actions`` / ``n_items``); items without data get the
        model's prior mean attractiveness.
    n_slots : int, optional
        Slots of the world (default: those of the log).
    rng : int, Generator or None
        Seeds the draw of users.
    save : path, optional
        Also write the world there (see :meth:`CalibratedWorld.save`).
    factors : int
        Rank of user (context) and item latent factors (PBM on a BanditLog with contexts; see
        :mod:`simrec.calibrate.factors`); 0 for none. With factors the examination and item
        attractiveness come from the per-(context, item) fit.

    Returns
    -------
    CalibratedWorld
        ``World.from_calibration(result)`` is the simulator; ``meta`` records the fit.
    """
    name, m = _model(model, log)
    if not getattr(m, "fitted_", False):
        m.fit(log)
    items = check_int(n_items if n_items is not None else
                      (log.n_actions if isinstance(log, BanditLog) else log.n_items), name="n_items", minimum=1)
    ids = np.arange(items)
    if name == "pbm":
        k = m.n_positions_ if n_slots is None else check_int(n_slots, name="n_slots", minimum=1)
        exam = m.examination_[np.minimum(np.arange(k), m.examination_.size - 1)]
        attr = m.attractiveness_of(ids) if not m.keys_.by_query else None
        if attr is None:
            raise ConfigError("a world needs attractiveness per item: fit the PBM without `query`")
        cont = None
    else:
        k = m.slate_size_ if n_slots is None else check_int(n_slots, name="n_slots", minimum=1)
        if m.keys_.by_query:
            raise ConfigError("a world needs attractiveness per item: fit the model without `query`")
        exam = np.ones(k)
        attr = m.attractiveness_of(ids)
        cont = getattr(m, "continuation_", None)
    users = None
    user_f = item_f = None
    ctx = getattr(log, "context", None)
    rows = None
    if ctx is not None:
        n = check_int(n_users, name="n_users", minimum=1)
        rows = as_rng(rng).integers(0, ctx.shape[0], n)
        users = ctx[rows]
    if check_int(factors, name="factors", minimum=0):
        if name != "pbm" or rows is None:
            raise ConfigError("latent factors need the PBM and a log with contexts")
        lf = fit_factors(log, factors, prior=m.prior)  # type: ignore[attr-defined]
        exam = lf.examination[np.minimum(np.arange(k), lf.examination.size - 1)]
        attr = 1.0 / (1.0 + np.exp(-lf.item_logit))
        if attr.size < items:
            attr = np.concatenate([attr, np.full(items - attr.size, m._fallback())])
        attr = attr[:items]
        user_f = lf.user_factors[lf.row_context[rows]]
        item_f = np.zeros((items, factors))
        item_f[: lf.item_factors.shape[0]] = lf.item_factors[:items]
    meta: dict[str, Any] = {
        "model": repr(m),
        "n_log_rows": len(log),
        "log_clicks": float(np.asarray(log.reward).sum()),
        "source": str(log.meta.get("source", "")),
    }
    if name == "pbm" and hasattr(m, "relative_examination_se_"):
        meta["relative_examination"] = m.relative_examination_.tolist()
        meta["relative_examination_se"] = m.relative_examination_se_.tolist()
    meta["factors"] = int(factors)
    world = CalibratedWorld(click_model=name, examination=exam, attractiveness=attr, user_features=users,
                            continuation=cont, user_factors=user_f, item_factors=item_f, meta=meta)
    if save is not None:
        world.save(save)
    return world
