"""The core bandit estimators: IPS, SNIPS, DM, DR, SNDR, Switch-DR, DRos and sub-Gaussian IPS.

All share ``estimate(log, action_dist, q_hat=None, **kw)`` (see :class:`.base.BanditEstimator`);
the weighting ones run in one fused numba pass (:func:`._kernels.weighted_terms`).
"""

from __future__ import annotations

import numpy as np

from ..._validation import check_positive, check_probability
from ..base import Needs, check_name, check_random_state
from ..registry import register
from . import _kernels
from .base import BanditEstimator

__all__ = ["IPS", "SNIPS", "DM", "DR", "SNDR", "SwitchDR", "DRos", "SubGaussianIPS"]


class _Clipped(BanditEstimator):
    """Shared by IPS and DR: an optional cap ``clip`` on the importance weights."""

    hyperparameter = "clip"
    def __init__(self, clip: float | None = None, *, name: str | None = None,
                 random_state: int | np.random.Generator | None = None) -> None:
        self.clip = None if clip is None else check_positive(clip, name="clip", allow_inf=True)
        self.name = check_name(name)
        self.random_state = check_random_state(random_state)

    def _share_name(self) -> str | None:
        return None if self.clip is None else "clipped_share"


@register
class IPS(_Clipped):
    """Inverse propensity scoring with optional clipping.

    .. math:: \\hat V_{\\mathrm{IPS}} = \\frac1n \\sum_i \\min(w_i, c)\\, r_i

    Parameters
    ----------
    clip : float, optional
        Weight cap ``c`` (None: no clipping, unbiased). Horvitz & Thompson 1952; clipping as in
        Strehl et al. 2010.
    """

    _kind = _kernels.IPS


@register
class SNIPS(BanditEstimator):
    """Self-normalised IPS (Swaminathan & Joachims 2015).

    .. math:: \\hat V_{\\mathrm{SNIPS}} = \\sum_i w_i r_i \\Big/ \\sum_i w_i

    Contributions are the influence values :math:`\\hat V + w_i (r_i - \\hat V)/\\bar w`.
    """

    _kind = _kernels.SNIPS
    bounded_by_rewards = True


@register
class DM(BanditEstimator):
    """Direct method: the reward model's value of the target policy.

    .. math:: \\hat V_{\\mathrm{DM}} = \\frac1n \\sum_i \\hat q_\\pi(x_i)

    The standard error ignores the reward model's own estimation error.
    """

    needs = Needs("bandit", ("action_dist", "q_hat"))

    def _terms(self, log, red, kw):
        return red.q_pi.copy(), None, None, {}


@register
class DR(_Clipped):
    """Doubly robust estimator (Dudik et al. 2011) with optional weight clipping.

    .. math:: \\hat V_{\\mathrm{DR}} = \\frac1n \\sum_i \\hat q_\\pi(x_i) + \\min(w_i, c)\\,\\delta_i
    """

    _kind = _kernels.DR
    needs = Needs("bandit", ("action_dist", "pscore", "q_hat"))


@register
class SNDR(BanditEstimator):
    """Self-normalised doubly robust estimator.

    .. math:: \\hat V_{\\mathrm{SNDR}} = \\frac1n \\sum_i \\hat q_\\pi(x_i) + w_i \\delta_i / \\bar w,
       \\qquad \\bar w = \\frac1n \\sum_j w_j
    """

    _kind = _kernels.SNDR
    needs = Needs("bandit", ("action_dist", "pscore", "q_hat"))


@register
class SwitchDR(BanditEstimator):
    """Switch doubly robust estimator (Wang, Agarwal & Dudik 2017).

    .. math:: \\hat V = \\frac1n \\sum_i \\hat q_\\pi(x_i) + w_i \\mathbb 1[w_i \\le \\tau]\\, \\delta_i

    Parameters
    ----------
    tau : float
        Weights above ``tau`` fall back to the model (larger: less bias, more variance).
    """

    _kind = _kernels.SWITCH_DR
    hyperparameter = "tau"
    needs = Needs("bandit", ("action_dist", "pscore", "q_hat"))

    def __init__(self, tau: float = 10.0, *, name: str | None = None,
                 random_state: int | np.random.Generator | None = None) -> None:
        self.tau = check_positive(tau, name="tau", allow_inf=True)
        self.name = check_name(name)
        self.random_state = check_random_state(random_state)

    def _share_name(self) -> str | None:
        return "switched_share"


@register
class DRos(BanditEstimator):
    """Doubly robust with optimistic shrinkage (Su et al. 2020).

    .. math:: \\hat V = \\frac1n \\sum_i \\hat q_\\pi(x_i) + \\frac{\\lambda w_i}{w_i^2 + \\lambda}\\, \\delta_i

    Parameters
    ----------
    lam : float
        Shrinkage ``lambda > 0`` (``lambda -> inf`` recovers DR).
    """

    _kind = _kernels.DROS
    hyperparameter = "lam"
    needs = Needs("bandit", ("action_dist", "pscore", "q_hat"))

    def __init__(self, lam: float = 10.0, *, name: str | None = None,
                 random_state: int | np.random.Generator | None = None) -> None:
        self.lam = check_positive(lam, name="lam", allow_inf=True)
        self.name = check_name(name)
        self.random_state = check_random_state(random_state)



@register
class SubGaussianIPS(BanditEstimator):
    """Sub-Gaussian IPS via power-mean correction (Metelli, Russo & Restelli 2021).

    .. math:: \\hat V = \\frac1n \\sum_i \\frac{w_i}{1 - \\lambda + \\lambda w_i}\\, r_i

    Parameters
    ----------
    lam : float in [0, 1]
        ``0`` is IPS; larger values shrink large weights more.
    """

    _kind = _kernels.SG_IPS
    hyperparameter = "lam"

    def __init__(self, lam: float = 0.1, *, name: str | None = None,
                 random_state: int | np.random.Generator | None = None) -> None:
        self.lam = check_probability(lam, name="lam")
        self.name = check_name(name)
        self.random_state = check_random_state(random_state)
