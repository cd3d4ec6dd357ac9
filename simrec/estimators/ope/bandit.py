"""Bandit off-policy estimators with one signature: ``estimate(log, action_dist, q_hat=None, **kw)``.

Notation (DESIGN.md section 5): :math:`w_i = \\pi(a_i|x_i, s_i) / p_i` with ``p = log.pscore``,
:math:`\\hat q_\\pi(x_i) = \\sum_a \\pi(a|x_i, s_i) \\hat q(x_i, a, s_i)` and residual
:math:`\\delta_i = r_i - \\hat q(x_i, a_i, s_i)`. Each estimate is the mean of per-row
contributions (:meth:`BaseEstimator.contributions`); self-normalised estimators return their
linearisation (influence values), whose mean is the estimate and whose spread gives the
delta-method standard error.

Inputs may be dense arrays, a :class:`~simrec.estimators.ope.inputs.ReducedInputs`, or the
keywords ``pi_logged=``, ``q_pi=``, ``q_logged=`` (reduced form, no dense arrays at all).
Unknown keywords are ignored, so one call can serve a list of estimators.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ..._validation import as_rng, check_positive, check_probability
from ...data import BanditLog
from ...errors import ConfigError, InvalidLogError, NotSupportedError
from . import _kernels
from .estimate import Estimate, diagnostics_from_stats, warn_diagnostics, weight_diagnostics
from .inputs import ReducedInputs, as_reduced, reduce_inputs

__all__ = ["BaseEstimator", "IPS", "SNIPS", "DM", "DR", "SNDR", "SwitchDR", "DRos", "SubGaussianIPS",
           "BalancedIPS"]

_CI_KEYS = ("n_boot", "rng", "bound")
_EMPTY = np.empty(0)


def _pscore(log: BanditLog, name: str) -> np.ndarray:
    if log.pscore is None:
        raise InvalidLogError(f"{name} needs logging propensities but `log.pscore` is None; estimate "
                              "them with simrec.estimators.ope.estimate_pscore(log)")
    return log.pscore


class BaseEstimator:
    """Common machinery: input handling, diagnostics, warnings, intervals.

    Subclasses implement ``_terms(log, red, kw) -> (contributions, w_raw, w_used, extra_diagnostics)``
    (``w_raw = pi / pscore``; ``w_used`` the weights applied, ``None`` for the direct method).
    """

    default_name: ClassVar[str] = "estimator"
    needs_q: ClassVar[bool] = False
    needs_pscore: ClassVar[bool] = True
    param: ClassVar[str | None] = None  # the tunable hyper-parameter, if any
    _kind: ClassVar[int | None] = None  # fused kernel kind (see _kernels.weighted_terms), if any

    def __init__(self, *, name: str | None = None) -> None:
        if name is not None and (not isinstance(name, str) or not name):
            raise ConfigError(f"`name` must be a non-empty string; got {name!r}")
        self.name = name or self.default_name

    def __repr__(self) -> str:
        p = f"{self.param}={getattr(self, self.param)!r}" if self.param else ""
        return f"{type(self).__name__}({p})"

    # -- public API -------------------------------------------------------------------------------
    def estimate(
        self,
        log: BanditLog,
        action_dist: Any = None,
        q_hat: Any = None,
        *,
        alpha: float = 0.05,
        ci_method: str = "normal",
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
        **kw
            ``pi_logged``, ``q_pi``, ``q_logged`` (reduced form); ``n_boot``, ``rng``, ``bound``
            (intervals); estimator-specific keywords; anything else is ignored.

        Returns
        -------
        Estimate
        """
        c, diag, ess = self._run(log, action_dist, q_hat, kw)
        ci_kw = {k: kw[k] for k in _CI_KEYS if k in kw}
        est = Estimate.from_contributions(c, name=self.name, ess=ess, diagnostics=diag, alpha=alpha,
                                          ci_method=ci_method, **ci_kw)
        warn_diagnostics(diag, est.n, self.name, stacklevel=3)
        return est

    def contributions(self, log: BanditLog, action_dist: Any = None, q_hat: Any = None,
                      **kw: Any) -> np.ndarray:
        """Per-row contributions whose mean is the estimate (no warnings)."""
        return self._run(log, action_dist, q_hat, kw)[0]

    # -- internals --------------------------------------------------------------------------------
    def _reduced(self, log: BanditLog, action_dist: Any, q_hat: Any, kw: dict[str, Any]) -> ReducedInputs:
        if not isinstance(log, BanditLog):
            raise InvalidLogError(f"`log` must be a BanditLog; got {type(log).__name__}")
        return as_reduced(log, action_dist, q_hat, need_q=self.needs_q, pi_logged=kw.get("pi_logged"),
                          q_pi=kw.get("q_pi"), q_logged=kw.get("q_logged"), estimator=self.name)

    def _kernel_param(self) -> float:
        return np.inf

    def _share_name(self) -> str | None:
        return None

    def _run(self, log: BanditLog, action_dist: Any, q_hat: Any, kw: dict[str, Any]):
        red = self._reduced(log, action_dist, q_hat, kw)
        um = np.nan if red.unsupported_mass is None else red.unsupported_mass
        if self._kind is not None:  # one fused pass for the weighting estimators
            q_pi = red.q_pi if red.q_pi is not None else _EMPTY
            q_log = red.q_logged if red.q_logged is not None else _EMPTY
            c, stats = _kernels.weighted_terms(red.pi_logged, _pscore(log, self.name), log.reward, q_pi,
                                               q_log, self._kind, float(self._kernel_param()))
            if self._kind in (_kernels.SNIPS, _kernels.SNDR) and not stats[4] > 0:
                raise InvalidLogError(f"{self.name} is undefined: the target policy gives probability 0 "
                                      "to every logged action (the weights sum to 0)")
            diag = diagnostics_from_stats(len(log), stats, um)
            share = self._share_name()
            if share:
                diag[share] = stats[6] / len(log)
            if log.meta.get("pscore_estimated"):
                diag["pscore_estimated"] = True
            return c, diag, diag["ess"]
        c, w_raw, w_used, extra = self._terms(log, red, kw)
        if w_used is None:
            diag: dict[str, Any] = {"ess": float(len(log)), "unsupported_mass": float(um)}
        else:
            diag = weight_diagnostics(w_raw, w_used, um)
        diag.update(extra)
        if log.meta.get("pscore_estimated"):
            diag["pscore_estimated"] = True
        return c, diag, diag["ess"]

    def _weights(self, log: BanditLog, red: ReducedInputs) -> np.ndarray:
        return red.pi_logged / _pscore(log, self.name)

    def _terms(self, log: BanditLog, red: ReducedInputs, kw: dict[str, Any]):
        raise NotImplementedError


class _Clipped(BaseEstimator):
    """Shared by IPS and DR: an optional cap ``clip`` on the importance weights."""

    param = "clip"

    def __init__(self, clip: float | None = None, *, name: str | None = None) -> None:
        super().__init__(name=name)
        self.clip = None if clip is None else check_positive(clip, name="clip")

    def _kernel_param(self) -> float:
        return np.inf if self.clip is None else self.clip

    def _share_name(self) -> str | None:
        return None if self.clip is None else "clipped_share"


class IPS(_Clipped):
    """Inverse propensity scoring with optional clipping.

    .. math:: \\hat V_{\\mathrm{IPS}} = \\frac1n \\sum_i \\min(w_i, c)\\, r_i

    Parameters
    ----------
    clip : float, optional
        Weight cap ``c`` (None: no clipping, unbiased). Horvitz & Thompson 1952; clipping as in
        Strehl et al. 2010.
    """

    default_name = "ips"
    _kind = _kernels.IPS


class SNIPS(BaseEstimator):
    """Self-normalised IPS (Swaminathan & Joachims 2015).

    .. math:: \\hat V_{\\mathrm{SNIPS}} = \\sum_i w_i r_i \\Big/ \\sum_i w_i

    Contributions are the influence values :math:`\\hat V + w_i (r_i - \\hat V)/\\bar w`.
    """

    default_name = "snips"
    _kind = _kernels.SNIPS



class DM(BaseEstimator):
    """Direct method: the reward model's value of the target policy.

    .. math:: \\hat V_{\\mathrm{DM}} = \\frac1n \\sum_i \\hat q_\\pi(x_i)

    The standard error ignores the reward model's own estimation error.
    """

    default_name = "dm"
    needs_q = True
    needs_pscore = False

    def _terms(self, log, red, kw):
        return red.q_pi.copy(), None, None, {}


class DR(_Clipped):
    """Doubly robust estimator (Dudik et al. 2011) with optional weight clipping.

    .. math:: \\hat V_{\\mathrm{DR}} = \\frac1n \\sum_i \\hat q_\\pi(x_i) + \\min(w_i, c)\\,\\delta_i
    """

    default_name = "dr"
    _kind = _kernels.DR
    needs_q = True


class SNDR(BaseEstimator):
    """Self-normalised doubly robust estimator.

    .. math:: \\hat V_{\\mathrm{SNDR}} = \\frac1n \\sum_i \\hat q_\\pi(x_i) + w_i \\delta_i / \\bar w,
       \\qquad \\bar w = \\frac1n \\sum_j w_j
    """

    default_name = "sndr"
    _kind = _kernels.SNDR
    needs_q = True



class SwitchDR(BaseEstimator):
    """Switch doubly robust estimator (Wang, Agarwal & Dudik 2017).

    .. math:: \\hat V = \\frac1n \\sum_i \\hat q_\\pi(x_i) + w_i \\mathbb 1[w_i \\le \\tau]\\, \\delta_i

    Parameters
    ----------
    tau : float
        Weights above ``tau`` fall back to the model (larger: less bias, more variance).
    """

    default_name = "switch-dr"
    _kind = _kernels.SWITCH_DR
    needs_q = True
    param = "tau"

    def __init__(self, tau: float = 10.0, *, name: str | None = None) -> None:
        super().__init__(name=name)
        self.tau = check_positive(tau, name="tau")

    def _kernel_param(self) -> float:
        return self.tau

    def _share_name(self) -> str | None:
        return "switched_share"


class DRos(BaseEstimator):
    """Doubly robust with optimistic shrinkage (Su et al. 2020).

    .. math:: \\hat V = \\frac1n \\sum_i \\hat q_\\pi(x_i) + \\frac{\\lambda w_i}{w_i^2 + \\lambda}\\, \\delta_i

    Parameters
    ----------
    lam : float
        Shrinkage ``lambda > 0`` (``lambda -> inf`` recovers DR).
    """

    default_name = "dr-os"
    _kind = _kernels.DROS
    needs_q = True
    param = "lam"

    def __init__(self, lam: float = 10.0, *, name: str | None = None) -> None:
        super().__init__(name=name)
        self.lam = check_positive(lam, name="lam")

    def _kernel_param(self) -> float:
        return self.lam


class SubGaussianIPS(BaseEstimator):
    """Sub-Gaussian IPS via power-mean correction (Metelli, Russo & Restelli 2021).

    .. math:: \\hat V = \\frac1n \\sum_i \\frac{w_i}{1 - \\lambda + \\lambda w_i}\\, r_i

    Parameters
    ----------
    lam : float in [0, 1]
        ``0`` is IPS; larger values shrink large weights more.
    """

    default_name = "sg-ips"
    _kind = _kernels.SG_IPS
    param = "lam"

    def __init__(self, lam: float = 0.1, *, name: str | None = None) -> None:
        super().__init__(name=name)
        self.lam = check_probability(lam, name="lam")

    def _kernel_param(self) -> float:
        return self.lam


class BalancedIPS(BaseEstimator):
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

    default_name = "balanced-ips"
    needs_pscore = False

    def _weights(self, log, red):
        raise AssertionError  # pragma: no cover - not used

    def _terms(self, log, red, kw):
        n = len(log)
        avg = kw.get("pscore_avg")
        lp = kw.get("logger_pscores")
        if avg is None and lp is None:
            raise InvalidLogError(f"{self.name} needs `logger_pscores` (n, n_loggers) or `pscore_avg` (n,)")
        if avg is None:
            from ..._validation import check_array, check_finite, check_in_range

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
        from ..._validation import check_in_range

        check_in_range(avg, name="pscore_avg", low=0.0, high=1.0, low_open=True, error=InvalidLogError)
        w = red.pi_logged / avg
        return w * log.reward, w, w, {"n_loggers": int(0 if lp is None else np.shape(lp)[1])}


# ------------------------------------------------------------------------------------------------
class MIPS(BaseEstimator):
    """Marginalised IPS over action embeddings (Saito & Joachims 2022).

    With deterministic item features ``e(a) = log.action_embed[a]`` (identical rows form one
    category),

    .. math:: \\hat V = \\frac1n \\sum_i \\frac{p_\\pi(e_i|x_i)}{p_0(e_i|x_i)} r_i, \\qquad
       p(e|x) = \\sum_{a: e(a)=e} \\pi(a|x)

    Unbiased when rewards depend on the action only through its embedding and the logger covers
    every embedding the target uses; the weights are far smaller than IPS's when many actions share
    an embedding.

    Keywords of :meth:`estimate`: ``logging_dist`` (n, n_actions) dense logging policy, or
    ``pscore_embed`` (n,) :math:`p_0(e_i|x_i)` directly; without either, :math:`p_0(e|x)` is
    estimated from ``log.context`` by a cross-fitted classifier (``estimated_pscore`` in diagnostics).
    ``action_dist`` must be dense (n, n_actions).
    """

    default_name = "mips"

    def _run(self, log, action_dist, q_hat, kw):
        if not isinstance(log, BanditLog):
            raise InvalidLogError(f"`log` must be a BanditLog; got {type(log).__name__}")
        if log.action_embed is None:
            raise InvalidLogError(f"{self.name} needs `log.action_embed` (n_actions, e)")
        if isinstance(action_dist, ReducedInputs) or action_dist is None:
            raise NotSupportedError(f"{self.name} needs the dense `action_dist` (n, n_actions)")
        ad = np.asarray(action_dist)
        if ad.ndim != 2:
            raise NotSupportedError(f"{self.name} supports (n, n_actions) `action_dist` only; got {ad.shape}")
        red = reduce_inputs(log, ad)  # validates
        _, cat = np.unique(log.action_embed, axis=0, return_inverse=True)
        cat = cat.ravel()
        onehot = np.zeros((log.n_actions, int(cat.max()) + 1))
        onehot[np.arange(log.n_actions), cat] = 1.0
        rows = np.arange(len(log))
        cat_logged = cat[log.action]
        p_pi = (ad @ onehot)[rows, cat_logged]
        extra: dict[str, Any] = {"n_embed_categories": int(onehot.shape[1])}
        if kw.get("logging_dist") is not None:
            p0 = reduce_inputs(log, kw["logging_dist"])
            p0e = (np.asarray(kw["logging_dist"], dtype=np.float64) @ onehot)[rows, cat_logged]
            del p0
        elif kw.get("pscore_embed") is not None:
            p0e = np.asarray(kw["pscore_embed"], dtype=np.float64)
            if p0e.shape != (len(log),):
                raise InvalidLogError(f"`pscore_embed` must have shape ({len(log)},); got {p0e.shape}")
        else:
            from .reward_model import fit_propensity_model

            probs = fit_propensity_model(log, labels=cat_logged, n_classes=onehot.shape[1],
                                         model=kw.get("model"), rng=kw.get("rng"))
            p0e = probs[rows, cat_logged]
            extra["estimated_pscore"] = True
        from ..._validation import check_in_range

        check_in_range(p0e, name="p_0(e_i|x_i)", low=0.0, high=1.0, low_open=True, error=InvalidLogError)
        w = p_pi / p0e
        diag = weight_diagnostics(w, w, red.unsupported_mass)
        diag.update(extra)
        return w * log.reward, diag, diag["ess"]


class Replay(BaseEstimator):
    """Replay / rejection-sampling evaluation (Li, Chu, Langford & Wang 2011).

    Row ``i`` is accepted with probability :math:`w_i / M`, :math:`M = \\max_j w_j` (or given),
    and the estimate is the mean reward of accepted rows:

    .. math:: \\hat V = \\sum_i A_i r_i \\Big/ \\sum_i A_i, \\qquad A_i \\sim \\mathrm{Bernoulli}(w_i / M)

    With a deterministic target and a uniform logger, :math:`A_i = 1[\\pi(x_i) = a_i]` (no
    randomness): Li et al.'s replay. :meth:`evaluate_learner` replays a *learning* policy, updating
    it on accepted rows only. Keyword ``rng`` seeds the acceptance draws.
    """

    default_name = "replay"

    def __init__(self, M: float | None = None, *, name: str | None = None) -> None:
        super().__init__(name=name)
        self.M = None if M is None else check_positive(M, name="M")

    def _terms(self, log, red, kw):
        w = self._weights(log, red)
        m = float(w.max()) if self.M is None else self.M
        if m <= 0:
            raise InvalidLogError(f"{self.name}: the target gives probability 0 to every logged action")
        p = w / m
        if (p > 1 + 1e-12).any():
            raise InvalidLogError(f"{self.name}: `M`={m} is below the largest weight {float(w.max())}")
        if np.all((p == 0) | (np.abs(p - 1) <= 1e-12)):
            acc = p > 0.5
        else:
            acc = as_rng(kw.get("rng")).random(p.shape[0]) < p
        k = int(acc.sum())
        if k == 0:
            raise InvalidLogError(f"{self.name}: no row was accepted; the estimate is undefined")
        r = log.reward
        v = float(r[acc].mean())
        a = acc.astype(np.float64)
        return v + a * (r - v) / (k / len(r)), w, a, {"n_accepted": k, "M": m}

    def evaluate_learner(self, log: BanditLog, policy: Any, *, rng: int | np.random.Generator | None = None,
                         alpha: float = 0.05) -> Estimate:
        """Replay a learning ``policy`` (``action_probs(obs)``, ``update(obs, a, r, p)``) through
        ``log`` in order; accepted rows (probability :math:`\\pi_t(a_i|x_i) p_{\\min} / p_i`) are
        shown to the policy and update it. Returns the mean reward over accepted rows."""
        pscore = _pscore(log, self.name)
        if log.context is None:
            raise InvalidLogError(f"{self.name}.evaluate_learner needs `log.context` as observations")
        gen = as_rng(rng)
        m = 1.0 / float(pscore.min()) if self.M is None else self.M
        acc = np.zeros(len(log), dtype=bool)
        for i in range(len(log)):
            obs = log.context[i:i + 1]
            probs = np.asarray(policy.action_probs(obs), dtype=np.float64).reshape(-1)
            if probs.shape[0] != log.n_actions:
                raise InvalidLogError(f"policy.action_probs returned {probs.shape[0]} probabilities; "
                                      f"the log has {log.n_actions} actions")
            a = log.action[i]
            if gen.random() < probs[a] / (m * pscore[i]):
                acc[i] = True
                policy.update(obs, log.action[i:i + 1], log.reward[i:i + 1], probs[a:a + 1])
        k = int(acc.sum())
        if k == 0:
            raise InvalidLogError(f"{self.name}: no row was accepted; the estimate is undefined")
        est = Estimate.from_contributions(log.reward[acc], name=self.name + "-learner", ess=k,
                                          diagnostics={"ess": float(k), "n_accepted": k, "M": m},
                                          alpha=alpha)
        warn_diagnostics(est.diagnostics, est.n, est.name, stacklevel=3)
        return est
