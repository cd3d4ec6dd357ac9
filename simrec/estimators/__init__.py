"""Estimators: off-policy evaluation (:mod:`simrec.estimators.ope`) and the shared foundation.

Every estimator family builds on the same pieces, defined here:

* :class:`Estimate`: value, standard error, interval, ``n``, ESS and diagnostics;
* :mod:`~simrec.estimators.intervals`: normal, t, empirical Bernstein and bootstrap intervals;
* :class:`Estimator`: the base class (scikit-learn conventions: ``get_params``/``set_params``/
  ``clone``, ``random_state``, declared :class:`Needs`, unknown keywords are errors);
* :mod:`~simrec.estimators.registry`: name -> class, family, needs; the one list that sweeps and the
  command line read.

This package never imports the simulator or the environments: it works on any log, real or
simulated, and ground truth reaches it as plain numbers.
"""

from . import intervals, registry
from .base import Estimator, Needs, clone
from .estimate import Estimate

__all__ = ["Estimate", "Estimator", "Needs", "clone", "intervals", "registry"]
