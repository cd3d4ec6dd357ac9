"""Off-policy evaluation of bandit policies.

>>> from simrec.estimators import ope
>>> est = ope.DR().estimate(log, action_dist, q_hat=q)   # doctest: +SKIP
>>> est.value, est.stderr, est.ci, est.ess, est.diagnostics   # doctest: +SKIP

Estimators share ``estimate(log, action_dist, q_hat=None, **kw) -> Estimate`` (DESIGN.md §5);
``action_dist`` may be dense or :class:`ReducedInputs` (see :mod:`.inputs`).
"""

from ...data import BanditLog
from .bandit import (
    DM,
    DR,
    IPS,
    MIPS,
    SNDR,
    SNIPS,
    BalancedIPS,
    BaseEstimator,
    DRos,
    Replay,
    SubGaussianIPS,
    SwitchDR,
)
from .estimate import Estimate
from .evaluation import evaluate, score_estimators
from .inputs import ReducedInputs, reduce_inputs
from .intervals import bootstrap_ci, bootstrap_means, interval
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
from .reward_model import estimate_pscore, fit_propensity_model, fit_reward_model
from .selection import Selection, select_hyperparameter, slope

__all__ = [
    "BanditLog", "Estimate", "ReducedInputs", "reduce_inputs", "BaseEstimator",
    "DM", "IPS", "SNIPS", "DR", "SNDR", "SwitchDR", "DRos", "SubGaussianIPS", "MIPS", "Replay",
    "BalancedIPS", "fit_reward_model", "fit_propensity_model", "estimate_pscore", "evaluate",
    "score_estimators", "select_hyperparameter", "slope", "Selection", "interval", "bootstrap_ci",
    "bootstrap_means", "relative_error", "squared_error", "mse", "nmse", "coverage", "ci_width",
    "rank_correlation", "regret_at_k",
]
