"""The bandit-family base: input handling, diagnostics, warnings and intervals of ``estimate``.

Notation: :math:`w_i = \\pi(a_i|x_i, s_i) / p_i` with ``p = log.pscore``,
:math:`\\hat q_\\pi(x_i) = \\sum_a \\pi(a|x_i, s_i) \\hat q(x_i, a, s_i)` and residual
:math:`\\delta_i = r_i - \\hat q(x_i, a_i, s_i)`. Each estimate is the mean of per-row
contributions (:meth:`BanditEstimator.contributions`); self-normalised estimators return their
linearisation (influence values), whose mean is the estimate and whose spread gives the
delta-method standard error.

Inputs may be dense arrays, a :class:`~simrec.estimators.ope.inputs.ReducedInputs`, or the
keywords ``pi_logged=``, ``q_pi=``, ``q_logged=`` (reduced form, no dense arrays at all).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ...data import BanditLog
from ...errors import ConfigError, InvalidLogError
from ..base import Estimator, Needs, check_name, check_random_state
from ..estimate import Estimate
from . import _kernels
from .diagnostics import INTERVAL_KEYWORDS, diagnostics_from_stats, finish_estimate, weight_diagnostics
from .inputs import ReducedInputs, as_reduced

__all__ = ["BanditEstimator", "BANDIT_KEYWORDS", "INTERVAL_KEYWORDS", "logged_pscore", "log_clusters", "sn_influence",
           "resolve_reward_range"]

#: keywords of every ``estimate`` that tune the interval
#: the reduced-form keywords of the bandit family
BANDIT_KEYWORDS = frozenset({"pi_logged", "q_pi", "q_logged"}) | INTERVAL_KEYWORDS
_EMPTY = np.empty(0)


def log_clusters(log: Any, cluster: str | None) -> np.ndarray | None:
    """The cluster ids ``cluster`` names on ``log`` (``"auto"``: session, else user, else none)."""
    if cluster is None:
        return None
    if cluster not in ("auto", "session", "user"):
        raise ConfigError(f"`cluster` must be 'auto', 'session', 'user' or None; got {cluster!r}")
    sid, uid = getattr(log, "session_id", None), getattr(log, "user_id", None)
    if cluster == "auto":
        return sid if sid is not None else uid
    ids = sid if cluster == "session" else uid
    if ids is None:
        raise InvalidLogError(f"cluster={cluster!r} needs `log.{cluster}_id`, which this log does not have")
    return ids


def resolve_reward_range(reward: np.ndarray, reward_range: Any) -> tuple[float, float] | None:
    """``reward_range`` with ``"auto"`` resolved: ``(0, 1)`` when every reward is 0 or 1, else None."""
    if isinstance(reward_range, str):
        if reward_range != "auto":
            raise ConfigError(f"`reward_range` must be 'auto', a pair (lo, hi) or None; got {reward_range!r}")
        r = np.asarray(reward)
        return (0.0, 1.0) if bool(((r == 0.0) | (r == 1.0)).all()) else None
    return reward_range


def sn_influence(w: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """The self-normalised estimate :math:`\\hat V = \\sum_i w_i y_i / \\sum_i w_i` and its per-row
    influence values :math:`\\hat V + w_i (y_i - \\hat V) / \\bar w` (their mean is :math:`\\hat V`).
    Callers check first that the weights do not sum to 0."""
    value = float(np.dot(w, y) / w.sum())
    return value, value + w * (y - value) / (w.sum() / w.shape[0])


def logged_pscore(log: BanditLog, name: str) -> np.ndarray:
    """``log.pscore``, or an error saying how to get it."""
    if log.pscore is None:
        raise InvalidLogError(f"{name} needs logging propensities but `log.pscore` is None; estimate "
                              "them with simrec.estimators.ope.estimate_pscore(log)")
    return log.pscore


class BanditEstimator(Estimator):
    """Common machinery of the bandit family: ``estimate(log, action_dist, q_hat=None, **kw)``.

    Subclasses either set ``_kind`` (a fused kernel of :func:`_kernels.weighted_terms`) or
    implement ``_terms(log, red, kw) -> (contributions, w_raw, w_used, extra_diagnostics)``
    (``w_raw = pi / pscore``; ``w_used`` the weights applied, ``None`` for the direct method).
    """

    family = "bandit"
    needs: ClassVar[Needs] = Needs("bandit", ("action_dist", "pscore"))
    estimate_keywords = BANDIT_KEYWORDS
    #: the tunable hyper-parameter (``clip``, ``tau``, ``lam``), if any; see ``select_hyperparameter``
    hyperparameter: ClassVar[str | None] = None
    _kind: ClassVar[int | None] = None  # fused kernel kind (see _kernels.weighted_terms), if any

    def __init__(self, *, name: str | None = None, random_state: int | np.random.Generator | None = None) -> None:
        self.name = check_name(name)
        self.random_state = check_random_state(random_state)

    @property
    def needs_q(self) -> bool:
        """Whether the estimator reads a reward model ``q_hat``."""
        return self.needs.requires("q_hat")

    # -- public API -------------------------------------------------------------------------------
    def estimate(
        self,
        log: BanditLog,
        action_dist: Any = None,
        q_hat: Any = None,
        *,
        alpha: float = 0.05,
        ci_method: str = "normal",
        cluster: str | None = "auto",
        reward_range: Any = "auto",
        **kw: Any,
    ) -> Estimate:
        """Estimate the target policy's value on ``log``.

        Parameters
        ----------
        log : BanditLog
        action_dist : array_like (n, n_actions[, n_slots]) or ReducedInputs
            The target policy (or its reduced form).
        q_hat : array_like, same shape as ``action_dist``, optional
            Reward model predictions (DM and the DR family).
        alpha : float
            Interval level ``1 - alpha``.
        ci_method : {"normal", "t", "bernstein", "bootstrap"}
            The bootstrap draws from the estimator's ``random_state``.
        cluster : {"auto", "session", "user"} or None
            Rows to treat as correlated: the standard error and interval are cluster-robust over
            ``log.session_id`` (``"session"``) or ``log.user_id`` (``"user"``); ``"auto"`` takes
            ``session_id`` if the log has it, else ``user_id``, else none; ``None`` treats rows as
            independent. See :meth:`~simrec.estimators.Estimate.from_contributions`.
        reward_range : "auto", (lo, hi) or None
            Known range of the rewards; the interval is clipped to it (the policy value lies in it).
            ``"auto"``: ``(0, 1)`` when every logged reward is 0 or 1 (clicks), else no clipping;
            ``None``: no clipping. The interval is never clipped so far that it excludes the value.
        **kw
            ``pi_logged``, ``q_pi``, ``q_logged`` (reduced form); ``n_boot``, ``bound``
            (intervals); the estimator's own keywords (see its docstring). Any other keyword
            raises :class:`~simrec.errors.ConfigError`.

        Returns
        -------
        Estimate
        """
        self._check_keywords(kw)
        c, diag, _ = self._run(log, action_dist, q_hat, kw)
        return finish_estimate(self, c, diag, alpha=alpha, ci_method=ci_method, kw=kw,
                               clusters=log_clusters(log, cluster),
                               reward_range=resolve_reward_range(log.reward, reward_range))

    def contributions(self, log: BanditLog, action_dist: Any = None, q_hat: Any = None,
                      **kw: Any) -> np.ndarray:
        """Per-row contributions whose mean is the estimate (no warnings)."""
        self._check_keywords(kw)
        return self._run(log, action_dist, q_hat, kw)[0]

    # -- internals --------------------------------------------------------------------------------
    def _check_log(self, log: Any) -> None:
        if not isinstance(log, BanditLog):
            raise InvalidLogError(f"`log` must be a BanditLog for {self.label} (a {self.family}-family "
                                  f"estimator); got {type(log).__name__}")

    def _reduced(self, log: BanditLog, action_dist: Any, q_hat: Any, kw: dict[str, Any]) -> ReducedInputs:
        self._check_log(log)
        return as_reduced(log, action_dist, q_hat, need_q=self.needs_q, pi_logged=kw.get("pi_logged"),
                          q_pi=kw.get("q_pi"), q_logged=kw.get("q_logged"), estimator=self.label)

    def _kernel_param(self) -> float:
        """What the fused kernel reads as ``param``: the hyper-parameter's value (``inf`` without one,
        or when it is None: no clipping)."""
        value = None if self.hyperparameter is None else getattr(self, self.hyperparameter)
        return np.inf if value is None else value

    def _share_name(self) -> str | None:
        return None

    def _run(self, log: BanditLog, action_dist: Any, q_hat: Any, kw: dict[str, Any]):
        red = self._reduced(log, action_dist, q_hat, kw)
        um = np.nan if red.unsupported_mass is None else red.unsupported_mass
        if self._kind is not None:  # one fused pass for the weighting estimators
            q_pi = red.q_pi if red.q_pi is not None else _EMPTY
            q_log = red.q_logged if red.q_logged is not None else _EMPTY
            c, stats = _kernels.weighted_terms(red.pi_logged, logged_pscore(log, self.label), log.reward, q_pi,
                                               q_log, self._kind, float(self._kernel_param()))
            if self._kind in (_kernels.SNIPS, _kernels.SNDR) and not stats[4] > 0:
                raise InvalidLogError(f"{self.label} is undefined: the target policy gives probability 0 "
                                      "to every logged action (the weights sum to 0)")
            diag = diagnostics_from_stats(len(log), stats, um)
            share = self._share_name()
            if share:
                diag[share] = stats[6] / len(log)
        else:
            c, w_raw, w_used, extra = self._terms(log, red, kw)
            if w_used is None:
                diag = {"ess": float(len(log)), "unsupported_mass": float(um)}
            else:
                diag = weight_diagnostics(w_raw, w_used, um)
            diag.update(extra)
        if log.meta.get("pscore_estimated"):
            diag["pscore_estimated"] = True
        return c, diag, diag["ess"]

    def _terms(self, log: BanditLog, red: ReducedInputs, kw: dict[str, Any]):
        raise NotImplementedError
