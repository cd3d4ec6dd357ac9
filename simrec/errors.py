"""The simrec exception and warning hierarchy.

Every simrec error is also the builtin a Python user would catch for the same problem, so
``except ValueError`` keeps working: ``InvalidLogError`` is both a :class:`SimrecError` and a
:class:`ValueError`.
"""

from __future__ import annotations

__all__ = [
    "SimrecError",
    "ConfigError",
    "InvalidLogError",
    "InvalidActionError",
    "InvalidObservationError",
    "InvalidPolicyInputError",
    "NotSupportedError",
    "SweepError",
    "ResetNeededError",
    "SimrecWarning",
    "SupportDeficiencyWarning",
    "SmallSampleWarning",
    "ExtremeWeightWarning",
]


class SimrecError(Exception):
    """Base class of every error raised by simrec."""


class ConfigError(SimrecError, ValueError):
    """A configuration (world, sweep, estimator hyper-parameter) is invalid."""


class InvalidLogError(SimrecError, ValueError):
    """A logged dataset or an estimator input is malformed (shape, dtype, range, NaN)."""


class InvalidActionError(SimrecError, ValueError):
    """An action or slate given to a simulator or environment is invalid."""


class InvalidObservationError(SimrecError, ValueError):
    """An observation given to a policy has the wrong shape, dtype or values."""


class InvalidPolicyInputError(SimrecError, ValueError):
    """A policy was given inputs it cannot use."""


class NotSupportedError(SimrecError, NotImplementedError):
    """The object cannot provide what was asked (e.g. exact probabilities of a sampler)."""


class ResetNeededError(SimrecError, RuntimeError):
    """An environment or world was stepped before it was reset (or after its episode ended)."""


class SweepError(SimrecError, RuntimeError):
    """A sweep could not be run or read."""


class SimrecWarning(UserWarning):
    """Base class of simrec warnings: statistical danger that is not an error."""


class SupportDeficiencyWarning(SimrecWarning):
    """The target policy puts mass on actions the logging policy never takes."""


class SmallSampleWarning(SimrecWarning):
    """The effective sample size is too small for the estimate to be trusted."""


class ExtremeWeightWarning(SimrecWarning):
    """Importance weights are extreme; the estimate is dominated by a few rows."""
