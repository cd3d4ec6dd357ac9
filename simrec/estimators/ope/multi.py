"""Logs pooled from several logging policies: balanced (multiple-importance) IPS."""

from __future__ import annotations

import numpy as np

from ..._validation import check_array, check_finite, check_in_range
from ...errors import InvalidLogError
from ..base import Needs
from ..registry import register
from .base import BANDIT_KEYWORDS, BanditEstimator

__all__ = ["BalancedIPS"]


@register
class BalancedIPS(BanditEstimator):
    """IPS for logs pooled from several logging policies, weighting by their mixture
    (balance heuristic; Agarwal et al. 2017, Kallus, Saito & Uehara 2021).

    .. math:: \\hat V = \\frac1n \\sum_i \\frac{\\pi(a_i|x_i)}{\\bar\\pi_0(a_i|x_i)} r_i, \\qquad
       \\bar\\pi_0(a|x) = \\sum_k \\rho_k \\pi_k(a|x), \\quad \\rho_k = n_k / n

    Unbiased for stratified logs (fixed ``n_k`` rows from logger ``k``), and never worse in
    variance than pooling per-logger IPS estimates by sample size.

    Keywords of :meth:`estimate`
    ----------------------------
    logger_pscores : array_like (n, n_loggers)
        Probability each logger gives to the logged action; combined with ``logger_shares``
        (default: the shares of ``log.logger_id``).
    pscore_avg : array_like (n,)
        Or give :math:`\\bar\\pi_0(a_i|x_i)` directly.
    """

    needs = Needs("bandit", ("action_dist", "logger_pscores"), optional=("logger_shares",))
    estimate_keywords = BANDIT_KEYWORDS | {"logger_pscores", "logger_shares", "pscore_avg"}

    def _terms(self, log, red, kw):
        n = len(log)
        avg = kw.get("pscore_avg")
        lp = kw.get("logger_pscores")
        if avg is None and lp is None:
            raise InvalidLogError(f"{self.label} needs `logger_pscores` (n, n_loggers) or `pscore_avg` (n,)")
        if avg is None:
            lp = check_array(lp, name="logger_pscores", ndim=2, error=InvalidLogError)
            if lp.shape[0] != n:
                raise InvalidLogError(f"`logger_pscores` must have {n} rows; got {lp.shape[0]}")
            check_in_range(check_finite(lp, name="logger_pscores", error=InvalidLogError),
                           name="logger_pscores", low=0.0, high=1.0, error=InvalidLogError)
            shares = kw.get("logger_shares")
            if shares is None:
                if log.logger_id is None:
                    raise InvalidLogError("`logger_shares` is needed when `log.logger_id` is None")
                if int(log.logger_id.max()) >= lp.shape[1]:
                    raise InvalidLogError(f"`log.logger_id` has ids >= n_loggers={lp.shape[1]} of "
                                          "`logger_pscores`")
                shares = np.bincount(log.logger_id, minlength=lp.shape[1]) / n
            shares = np.asarray(shares, dtype=np.float64)
            if shares.shape != (lp.shape[1],) or (shares < 0).any() or abs(shares.sum() - 1) > 1e-9:
                raise InvalidLogError(f"`logger_shares` must be {lp.shape[1]} non-negative numbers "
                                      f"summing to 1; got {shares!r}")
            avg = lp @ shares
        avg = np.asarray(avg, dtype=np.float64)
        if avg.shape != (n,):
            raise InvalidLogError(f"`pscore_avg` must have shape ({n},); got {avg.shape}")
        check_in_range(avg, name="pscore_avg", low=0.0, high=1.0, low_open=True, error=InvalidLogError)
        w = red.pi_logged / avg
        return w * log.reward, w, w, {"n_loggers": int(0 if lp is None else np.shape(lp)[1])}
