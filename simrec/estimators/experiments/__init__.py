"""Online-experiment analysis: A/B tests, variance reduction, power, sequential tests, interleaving.

=======================  ==========================================================================
:func:`analyze_ab`       difference in means (Welch) and relative lift (log-scale delta method)
:func:`ratio_metric`     ratio metrics (clicks / sessions) by the delta method
:func:`cuped`            CUPED (pooled or within-arm slope); :func:`cupac` with a cross-fitted model
:func:`cluster_robust`   OLS with cluster-robust standard errors (statsmodels)
:func:`srm_check`        sample-ratio mismatch (Pearson chi-square)
:func:`power`            power / sample size / MDE with variance-reduction and clustering adjustments
:func:`multiple_testing` Holm, Bonferroni, Benjamini-Hochberg ... (statsmodels)
:class:`MSPRT`           mixture SPRT: always-valid p-values and confidence sequences
:class:`GroupSequential` Lan-DeMets boundaries (O'Brien-Fleming, Pocock)
:func:`team_draft`       team-draft interleaving; :func:`analyze_interleaving` per-user credit
=======================  ==========================================================================

The registered estimators (family ``experiment``) wrap these analyses for sweeps:
:class:`DiffInMeans`, :class:`RelativeLift`, :class:`RatioDelta`, :class:`CUPED`, :class:`CUPAC`.
"""

from .ab import ABResult, SRMResult, analyze_ab, ratio_metric, srm_check, welch
from .data import ExperimentLog
from .estimators import CUPAC, CUPED, DiffInMeans, RatioDelta, RelativeLift
from .interleaving import analyze_interleaving, interleaving_credit, team_draft
from .power import effective_sd, mde, multiple_testing, power, sample_size
from .sequential import MSPRT, GroupSequential, GSResult, msprt_path, spending_function
from .variance import cluster_robust, cupac, cuped

__all__ = [
    "ABResult", "SRMResult", "ExperimentLog", "analyze_ab", "ratio_metric", "srm_check", "welch", "cuped", "cupac",
    "cluster_robust", "power", "sample_size", "mde", "effective_sd", "multiple_testing", "MSPRT", "GroupSequential",
    "GSResult", "msprt_path", "spending_function", "team_draft", "interleaving_credit", "analyze_interleaving",
    "DiffInMeans", "RelativeLift", "RatioDelta", "CUPED", "CUPAC",
]
