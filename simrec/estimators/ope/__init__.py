"""Off-policy evaluation: bandit, slate, sequential (RL) and distributional estimators on one base.

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
from .distributional import CumulativeDistributionOPE, ReturnDistribution
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
from .reward_model import crossfit_folds, estimate_pscore, fit_propensity_model, fit_reward_model
from .selection import (
    Selection,
    select_hyperparameter,
    selection_report,
    sharpe_ratio_at_k,
    slope,
    top_k_values,
    type_i_error_rate,
    type_ii_error_rate,
)
from .sequential import FQE, PDIS, WDR, WIS, WPDIS, MarginalIS, SequentialDR, SequentialEstimator, TrajectoryIS
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
    "BalancedIPS", "crossfit_folds", "fit_reward_model", "fit_propensity_model", "estimate_pscore", "evaluate",
    "score_estimators", "select_hyperparameter", "slope", "Selection", "interval", "bootstrap_ci",
    "bootstrap_means", "relative_error", "squared_error", "mse", "nmse", "coverage", "ci_width",
    "rank_correlation", "regret_at_k",
    "SequentialEstimator", "TrajectoryIS", "PDIS", "WIS", "WPDIS", "SequentialDR", "WDR", "FQE", "MarginalIS",
    "CumulativeDistributionOPE", "ReturnDistribution", "sharpe_ratio_at_k", "type_i_error_rate",
    "type_ii_error_rate", "selection_report", "top_k_values",
    # slate family
    "SlateEstimator", "SlateIPS", "SNSlateIPS", "IIPS", "SNIIPS", "RIPS", "SNRIPS", "PseudoInverse",
    "SNPseudoInverse", "CascadeDR", "slate_moment",
]
