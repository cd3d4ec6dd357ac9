"""Off-policy evaluation: bandit and slate estimators (the sequential family builds on the same base).

>>> from simrec.estimators import ope
>>> est = ope.DR().estimate(log, action_dist, q_hat=q)   # doctest: +SKIP
>>> est.value, est.stderr, est.ci, est.ess, est.diagnostics   # doctest: +SKIP

Bandit estimators share ``estimate(log, action_dist, q_hat=None, **kw) -> Estimate``;
``action_dist`` may be dense or :class:`ReducedInputs` (see :mod:`.inputs`). Every estimator is
listed in :mod:`simrec.estimators.registry`.
"""

from ...data import BanditLog
from ..estimate import Estimate
from ..intervals import bootstrap_ci, bootstrap_means, interval
from .bandit import DM, DR, IPS, SNDR, SNIPS, DRos, SubGaussianIPS, SwitchDR
from .base import BanditEstimator
from .embed import MIPS
from .evaluation import evaluate, score_estimators
from .inputs import ReducedInputs, reduce_inputs
from .metrics import (
    ci_width,
    coverage,
    mse,
    nmse,
    rank_correlation,
    regret_at_k,
    relative_error,
    squared_error,
)
from .multi import BalancedIPS
from .replay import Replay
from .reward_model import estimate_pscore, fit_propensity_model, fit_reward_model
from .selection import Selection, select_hyperparameter, slope
from .slate import (
    IIPS,
    RIPS,
    SNIIPS,
    SNRIPS,
    CascadeDR,
    PseudoInverse,
    SlateEstimator,
    SlateIPS,
    SNPseudoInverse,
    SNSlateIPS,
)
from .slate_inputs import slate_moment

__all__ = [
    "BanditLog", "Estimate", "ReducedInputs", "reduce_inputs", "BanditEstimator",
    "DM", "IPS", "SNIPS", "DR", "SNDR", "SwitchDR", "DRos", "SubGaussianIPS", "MIPS", "Replay",
    "BalancedIPS", "fit_reward_model", "fit_propensity_model", "estimate_pscore", "evaluate",
    "score_estimators", "select_hyperparameter", "slope", "Selection", "interval", "bootstrap_ci",
    "bootstrap_means", "relative_error", "squared_error", "mse", "nmse", "coverage", "ci_width",
    "rank_correlation", "regret_at_k",
    # slate family
    "SlateEstimator", "SlateIPS", "SNSlateIPS", "IIPS", "SNIIPS", "RIPS", "SNRIPS", "PseudoInverse",
    "SNPseudoInverse", "CascadeDR", "slate_moment",
]
