"""Click models fitted to real logs, and worlds calibrated from them.

- :class:`PositionBasedModel` (EM), :class:`CascadeModel`, :class:`DependentClickModel` (EM),
  :class:`UserBrowsingModel` (EM) and the
  :class:`ClickThroughRateModel` baselines; each with standard errors, held-out log-likelihood and
  perplexity per slot (:meth:`~ClickModel.score`).
- :func:`fit_world`: a :class:`~simrec.sim.calibrated.CalibratedWorld` from a log, which
  ``World.from_calibration`` (or ``World({"from": path})``) turns into a simulator.
- :func:`analyze_position_log`: what a log of lone (item, position) rows can say (time split,
  examination with intervals, a test of whether positions differ, held-out perplexity against
  CTR baselines); :func:`fidelity_report`: a held-out real log against a log simulated from the
  calibrated world.
"""

from .analysis import PositionAnalysis, analyze_position_log, compare_models, position_test, time_split
from .base import ClickModel, ClickScores
from .cascade import CascadeModel, DependentClickModel
from .factors import LatentFactors, fit_factors
from .fidelity import FidelityReport, fidelity_report
from .pbm import ClickThroughRateModel, PositionBasedModel
from .ubm import UserBrowsingModel
from .world import fit_world

__all__ = [
    "ClickModel",
    "ClickScores",
    "PositionBasedModel",
    "CascadeModel",
    "DependentClickModel",
    "UserBrowsingModel",
    "ClickThroughRateModel",
    "fit_world",
    "fit_factors",
    "LatentFactors",
    "time_split",
    "compare_models",
    "position_test",
    "analyze_position_log",
    "PositionAnalysis",
    "fidelity_report",
    "FidelityReport",
]
