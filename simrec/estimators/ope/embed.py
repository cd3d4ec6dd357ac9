"""Large action spaces: marginalised IPS over action embeddings (MIPS)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._validation import check_in_range
from ...errors import InvalidLogError, NotSupportedError
from ..base import Needs
from ..registry import register
from .base import INTERVAL_KEYWORDS, BanditEstimator
from .diagnostics import weight_diagnostics
from .inputs import ReducedInputs, reduce_inputs
from .reward_model import fit_propensity_model

__all__ = ["MIPS"]


@register
class MIPS(BanditEstimator):
    """Marginalised IPS over action embeddings (Saito & Joachims 2022).

    With deterministic item features ``e(a) = log.action_embed[a]`` (identical rows form one
    category),

    .. math:: \\hat V = \\frac1n \\sum_i \\frac{p_\\pi(e_i|x_i)}{p_0(e_i|x_i)} r_i, \\qquad
       p(e|x) = \\sum_{a: e(a)=e} \\pi(a|x)

    Unbiased when rewards depend on the action only through its embedding and the logger covers
    every embedding the target uses; the weights are far smaller than IPS's when many actions share
    an embedding.

    Keywords of :meth:`estimate`: ``logging_dist`` (n, n_actions) dense logging policy, or
    ``pscore_embed`` (n,) :math:`p_0(e_i|x_i)` directly; without either, :math:`p_0(e|x)` is
    estimated from ``log.context`` by a cross-fitted classifier (``estimated_pscore`` in diagnostics)
    whose folds come from ``random_state``.
    ``action_dist`` must be dense (n, n_actions).
    """

    needs = Needs("bandit", ("action_dist", "action_embed"), optional=("logging_dist", "pscore_embed", "context"))
    estimate_keywords = INTERVAL_KEYWORDS | {"logging_dist", "pscore_embed", "model"}

    def _run(self, log, action_dist, q_hat, kw):
        self._check_log(log)
        if log.action_embed is None:
            raise InvalidLogError(f"{self.label} needs `log.action_embed` (n_actions, e)")
        if isinstance(action_dist, ReducedInputs) or action_dist is None:
            raise NotSupportedError(f"{self.label} needs the dense `action_dist` (n, n_actions)")
        ad = np.asarray(action_dist)
        if ad.ndim != 2:
            raise NotSupportedError(f"{self.label} supports (n, n_actions) `action_dist` only; got {ad.shape}")
        red = reduce_inputs(log, ad)  # validates
        _, cat = np.unique(log.action_embed, axis=0, return_inverse=True)
        cat = cat.ravel()
        onehot = np.zeros((log.n_actions, int(cat.max()) + 1))
        onehot[np.arange(log.n_actions), cat] = 1.0
        rows = np.arange(len(log))
        cat_logged = cat[log.action]
        p_pi = (ad @ onehot)[rows, cat_logged]
        extra: dict[str, Any] = {"n_embed_categories": int(onehot.shape[1])}
        if kw.get("logging_dist") is not None:
            reduce_inputs(log, kw["logging_dist"])  # validates the logging distribution
            p0e = (np.asarray(kw["logging_dist"], dtype=np.float64) @ onehot)[rows, cat_logged]
        elif kw.get("pscore_embed") is not None:
            p0e = np.asarray(kw["pscore_embed"], dtype=np.float64)
            if p0e.shape != (len(log),):
                raise InvalidLogError(f"`pscore_embed` must have shape ({len(log)},); got {p0e.shape}")
        else:
            probs = fit_propensity_model(log, labels=cat_logged, n_classes=onehot.shape[1],
                                         model=kw.get("model"), rng=self._random())
            p0e = probs[rows, cat_logged]
            extra["estimated_pscore"] = True
        check_in_range(p0e, name="p_0(e_i|x_i)", low=0.0, high=1.0, low_open=True, error=InvalidLogError)
        w = p_pi / p0e
        diag = weight_diagnostics(w, w, red.unsupported_mass)
        diag.update(extra)
        return w * log.reward, diag, diag["ess"]
