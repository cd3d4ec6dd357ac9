"""Slate (ranking) estimators on a :class:`~simrec.data.SlateLog`: standard slate IPS, independent
IPS, reward-interaction IPS, the pseudo-inverse estimator, Cascade-DR and self-normalised variants.

The value estimated is the expected **sum of the slot rewards** of a slate shown by the target
policy :math:`\\pi`, :math:`V(\\pi) = E_{x, s \\sim \\pi(\\cdot|x)}[\\sum_{k=1}^K r_k]` (as in Open
Bandit Pipeline 0.5.7, whose ``SlateStandardIPS``, ``SlateIndependentIPS``,
``SlateRewardInteractionIPS``, ``SlateCascadeDoublyRobust`` and self-normalised versions these equal
on identical inputs). Each estimate is the mean of per-slate contributions; self-normalised
estimators return their linearisation (influence values), whose mean is the estimate.

Weights, for the logged slate :math:`s_i` of round :math:`i` (logging policy :math:`\\mu`):

* joint :math:`w_i = \\pi(s_i|x_i) / \\mu(s_i|x_i)` (``pi_slate / log.pscore``);
* marginal :math:`w_{ik} = \\pi(s_{ik} @ k|x_i) / \\mu(s_{ik} @ k|x_i)`
  (``pi_marginal / log.pscore_marginal``);
* prefix :math:`w_{i,1:k} = \\pi(s_{i1..k}|x_i) / \\mu(s_{i1..k}|x_i)`
  (``pi_cascade / log.pscore_cascade``).

Inputs are the reduced form (only what the logged slate needs) or, for small catalogues, dense
per-slot arrays (see :mod:`.slate_inputs`). Diagnostics report the weights per slot: ``ess`` is the
smallest per-slot effective sample size (``ess_by_slot`` lists them all).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ...data import SlateLog
from ...errors import ConfigError, InvalidLogError
from ..base import Estimator, Needs, check_name, check_random_state
from ..estimate import Estimate
from ..registry import register
from . import _slate_kernels as _k
from .base import INTERVAL_KEYWORDS, log_clusters, sn_influence
from .diagnostics import finish_estimate, weight_diagnostics
from .slate_inputs import (
    cascade_inputs,
    check_target_probability,
    gather_slots,
    pseudo_inverse_weights,
    slot_array,
)

__all__ = ["SlateEstimator", "SlateIPS", "SNSlateIPS", "IIPS", "SNIIPS", "RIPS", "SNRIPS", "PseudoInverse",
           "SNPseudoInverse", "CascadeDR"]


def _logged(log: SlateLog, field: str, estimator: str) -> np.ndarray:
    v = getattr(log, field)
    if v is None:
        raise InvalidLogError(f"{estimator} needs the logging propensities `log.{field}`, which this SlateLog "
                              "lacks")
    return v


def _one_of(kw: dict[str, Any], reduced: str, dense: str, estimator: str) -> str:
    has_r, has_d = kw.get(reduced) is not None, kw.get(dense) is not None
    if has_r and has_d:
        raise ConfigError(f"{estimator}: give either `{reduced}` (reduced form) or `{dense}` (dense), not both")
    if not (has_r or has_d):
        raise ConfigError(f"{estimator} needs `{reduced}` (shape (n, K), at the logged slate) or `{dense}` "
                          "(shape (n, n_items, K))")
    return reduced if has_r else dense


def _slot_diagnostics(st: np.ndarray, nz: int, n: int) -> dict[str, Any]:
    """Diagnostics from per-slot stats rows ``(sum w, sum w^2, max w, sum w r)`` and the number of
    zero weights ``nz``."""
    s, s2, mx = st[:, 0], st[:, 1], st[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        ess = np.where(s2 > 0, s * s / np.where(s2 > 0, s2, 1.0), 0.0)
        share = np.where(s > 0, mx / np.where(s > 0, s, 1.0), np.inf)
    out: dict[str, Any] = {
        "ess": float(ess.min()),
        "ess_ratio": float(ess.min() / n),
        "max_weight": float(mx.max()),
        "mean_weight": float(s.mean() / n),
        "weight_share_max": float(share.max()),
        "n_zero_weight": int(nz),
        "unsupported_mass": float("nan"),
    }
    if st.shape[0] > 1:
        out["ess_by_slot"] = [float(v) for v in ess]
        out["mean_weight_by_slot"] = [float(v) for v in s / n]
    return out


class SlateEstimator(Estimator):
    """Common machinery of the slate family: ``estimate(log, **inputs) -> Estimate``.

    Subclasses implement ``_terms(log, kw) -> (contributions, diagnostics)``.
    """

    family = "slate"
    needs: ClassVar[Needs] = Needs("slate", ("pi_slate", "pscore"))
    estimate_keywords: ClassVar[frozenset[str]] = INTERVAL_KEYWORDS

    def __init__(self, *, name: str | None = None, random_state: int | np.random.Generator | None = None) -> None:
        self.name = check_name(name)
        self.random_state = check_random_state(random_state)

    def estimate(self, log: SlateLog, *, alpha: float = 0.05, ci_method: str = "normal",
                 cluster: str | None = "auto", **kw: Any) -> Estimate:
        """Estimate the target policy's value (expected sum of slot rewards) on ``log``.

        Parameters
        ----------
        log : SlateLog
        alpha : float
            Interval level ``1 - alpha``.
        ci_method : {"normal", "t", "bernstein", "bootstrap"}
            The bootstrap draws from the estimator's ``random_state``.
        cluster : {"auto", "session", "user"} or None
            Slates to treat as correlated: the standard error and interval are cluster-robust over
            ``log.session_id`` or ``log.user_id`` (``"auto"``: session if the log has it, else user,
            else none; ``None``: independent slates), as for the bandit family.
        **kw
            The target policy's inputs (see the class docstring) and ``n_boot``, ``bound``
            (intervals). Any other keyword raises :class:`~simrec.errors.ConfigError`.

        Returns
        -------
        Estimate
        """
        self._check_keywords(kw)
        c, diag = self._run(log, kw)
        return finish_estimate(self, c, diag, alpha=alpha, ci_method=ci_method, kw=kw,
                               clusters=log_clusters(log, cluster))

    def contributions(self, log: SlateLog, **kw: Any) -> np.ndarray:
        """Per-slate contributions whose mean is the estimate (no warnings)."""
        self._check_keywords(kw)
        return self._run(log, kw)[0]

    # -- internals --------------------------------------------------------------------------------
    def _run(self, log: Any, kw: dict[str, Any]) -> tuple[np.ndarray, dict[str, Any]]:
        if not isinstance(log, SlateLog):
            raise InvalidLogError(f"`log` must be a SlateLog for {self.label} (a slate-family estimator); got "
                                  f"{type(log).__name__}")
        c, diag = self._terms(log, kw)
        if not np.isfinite(c).all():
            self._explain_nonfinite(log, kw)
            i = int(np.flatnonzero(~np.isfinite(c))[0])
            raise InvalidLogError(f"{self.label}: the contribution of row {i} is not finite ({c[i]!r}); check the "
                                  "inputs of that row")
        if log.meta.get("pscore_estimated"):
            diag["pscore_estimated"] = True
        return c, diag

    def _explain_nonfinite(self, log: SlateLog, kw: dict[str, Any]) -> None:
        for key in ("pi_slate", "pi_marginal", "pi_cascade", "q_logged", "q_pi"):
            v = kw.get(key)
            if v is not None:
                arr = np.asarray(v, dtype=np.float64)
                bad = ~np.isfinite(arr)
                if bad.any():
                    i = int(np.flatnonzero(bad.reshape(arr.shape[0], -1).any(axis=1))[0])
                    raise InvalidLogError(f"`{key}` must be finite; first bad row {i} (value "
                                          f"{np.atleast_1d(arr[i]).tolist()})")

    def _terms(self, log: SlateLog, kw: dict[str, Any]) -> tuple[np.ndarray, dict[str, Any]]:
        raise NotImplementedError

    def _checked(self, arr: np.ndarray, name: str, nbad: int, ninc: int = 0) -> None:
        if nbad or ninc:
            check_target_probability(arr, name, prefix=bool(ninc))

    # inputs -----------------------------------------------------------------------------------------
    def _pi_marginal(self, log: SlateLog, kw: dict[str, Any]) -> tuple[np.ndarray, str]:
        n, K = log.slate.shape
        key = _one_of(kw, "pi_marginal", "slot_dist", self.label)
        if key == "slot_dist":
            return gather_slots(kw["slot_dist"], "slot_dist", log), "slot_dist"
        return slot_array(kw["pi_marginal"], "pi_marginal", n, K, self.label), "pi_marginal"

    def _pi_cascade(self, log: SlateLog, kw: dict[str, Any]) -> tuple[np.ndarray, str]:
        n, K = log.slate.shape
        key = _one_of(kw, "pi_cascade", "cascade_dist", self.label)
        if key == "cascade_dist":
            return cascade_inputs(kw["cascade_dist"], log)["pi_cascade"], "pi_cascade (from cascade_dist)"
        return slot_array(kw["pi_cascade"], "pi_cascade", n, K, self.label), "pi_cascade"


class _SlotIPS(SlateEstimator):
    """Per-slot IPS, ``c_i = sum_k w_ik r_ik``: IIPS (marginal weights) and RIPS (prefix weights)."""

    #: prefix probabilities (RIPS: ``pi_cascade``, ``log.pscore_cascade``), which cannot increase along
    #: the slots; else per-slot marginals (IIPS: ``pi_marginal``, ``log.pscore_marginal``)
    _prefix: ClassVar[bool]

    def _weights(self, log: SlateLog, kw: dict[str, Any]):
        """Target and logging probabilities of the logged slots, and the kernel's per-slot terms."""
        if self._prefix:
            p = _logged(log, "pscore_cascade", self.label)
            pi, key = self._pi_cascade(log, kw)
        else:
            p = _logged(log, "pscore_marginal", self.label)
            pi, key = self._pi_marginal(log, kw)
        c, st, nz, nbad, ninc = _k.slot_terms(log.reward, pi, p, self._prefix)
        self._checked(pi, key, nbad, ninc)
        return pi, p, c, st, nz

    def _terms(self, log, kw):
        _, _, c, st, nz = self._weights(log, kw)
        return c, _slot_diagnostics(st, nz, c.shape[0])


class _SelfNormalized(_SlotIPS):
    """Per-slot IPS with the weights self-normalised per slot (OBP's convention)."""

    def _terms(self, log, kw):
        pi, p, _, st, nz = self._weights(log, kw)
        n = log.slate.shape[0]
        s = st[:, 0]
        if not (s > 0).all():
            k = int(np.flatnonzero(~(s > 0))[0])
            raise InvalidLogError(f"{self.label} is undefined: the target policy gives probability 0 to the logged "
                                  f"item of slot {k} in every row (its weights sum to 0)")
        value = st[:, 3] / s
        return _k.sn_slot_contributions(log.reward, pi, p, value, s / n), _slot_diagnostics(st, nz, n)


# ---------------------------------------------------------------------------------------------------
@register
class SlateIPS(SlateEstimator):
    """Standard slate IPS: the whole slate's importance weight (McInerney et al. 2020).

    .. math:: \\hat V_{\\mathrm{SIPS}} = \\frac1n \\sum_i \\frac{\\pi(s_i|x_i)}{\\mu(s_i|x_i)}
              \\sum_{k=1}^K r_{ik}

    Unbiased for any reward structure when :math:`\\mu` covers :math:`\\pi`'s slates; its variance
    grows with the number of slates. Equals OBP's ``SlateStandardIPS``.

    Inputs: ``pi_slate`` (n,), the target's probability of each logged slate (joint slate
    propensity); ``log.pscore`` (the logging one).
    """

    needs = Needs("slate", ("pi_slate", "pscore"))
    estimate_keywords = INTERVAL_KEYWORDS | {"pi_slate"}

    def _inputs(self, log: SlateLog, kw: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        p = _logged(log, "pscore", self.label)
        return slot_array(kw.get("pi_slate"), "pi_slate", log.slate.shape[0], None, self.label), p

    def _terms(self, log, kw):
        pi, p = self._inputs(log, kw)
        c, st, nz, nbad, _ = _k.joint_terms(log.reward, pi, p)
        self._checked(pi, "pi_slate", nbad)
        return c, _slot_diagnostics(st, nz, c.shape[0])


@register
class SNSlateIPS(SlateIPS):
    """Self-normalised standard slate IPS (OBP's ``SelfNormalizedSlateStandardIPS``).

    .. math:: \\hat V = \\frac{\\sum_i w_i \\sum_k r_{ik}}{\\sum_i w_i}, \\qquad
              w_i = \\frac{\\pi(s_i|x_i)}{\\mu(s_i|x_i)}

    Inputs as :class:`SlateIPS`. The value lies within the range of the slate totals
    :math:`\\sum_k r_{ik}`.
    """

    def _terms(self, log, kw):
        pi, p = self._inputs(log, kw)
        c, st, nz, nbad, _ = _k.joint_terms(log.reward, pi, p)
        self._checked(pi, "pi_slate", nbad)
        n = c.shape[0]
        if not st[0, 0] > 0:
            raise InvalidLogError(f"{self.label} is undefined: the target policy gives probability 0 to every "
                                  "logged slate (the weights sum to 0)")
        _, infl = sn_influence(pi / p, log.reward.sum(axis=1))
        return infl, _slot_diagnostics(st, nz, n)


@register
class IIPS(_SlotIPS):
    """Independent IPS: per-slot marginal weights (Li et al. 2018).

    .. math:: \\hat V_{\\mathrm{IIPS}} = \\frac1n \\sum_i \\sum_{k=1}^K
              \\frac{\\pi(s_{ik} @ k|x_i)}{\\mu(s_{ik} @ k|x_i)}\\, r_{ik}

    Unbiased when the reward of a slot depends only on the item in it and the slot (independence,
    e.g. a position-based click model); biased when slots interact. Equals OBP's
    ``SlateIndependentIPS``.

    Inputs: ``pi_marginal`` (n, K), the target's per-slot marginals at the logged slate (or the dense
    ``slot_dist`` (n, n_items, K)); ``log.pscore_marginal`` (the logging per-slot marginals).
    """

    needs = Needs("slate", ("pi_marginal", "pscore_marginal"))
    estimate_keywords = INTERVAL_KEYWORDS | {"pi_marginal", "slot_dist"}
    _prefix = False


@register
class SNIIPS(_SelfNormalized, IIPS):
    """Self-normalised independent IPS, normalised per slot (OBP's ``SelfNormalizedSlateIndependentIPS``).

    .. math:: \\hat V = \\sum_{k=1}^K \\frac{\\sum_i w_{ik} r_{ik}}{\\sum_i w_{ik}}

    Inputs as :class:`IIPS`.
    """


@register
class RIPS(_SlotIPS):
    """Reward-interaction IPS: per-slot prefix weights (McInerney et al. 2020).

    .. math:: \\hat V_{\\mathrm{RIPS}} = \\frac1n \\sum_i \\sum_{k=1}^K
              \\frac{\\pi(s_{i1}, \\dots, s_{ik}|x_i)}{\\mu(s_{i1}, \\dots, s_{ik}|x_i)}\\, r_{ik}

    Unbiased under the cascade assumption (a slot's reward depends on the items at and above it,
    not below); biased when lower items change the rewards above. Equals OBP's
    ``SlateRewardInteractionIPS``.

    Inputs: ``pi_cascade`` (n, K), the target's prefix probabilities of the logged slate (or the
    dense ``cascade_dist`` (n, n_items, K): the target's law of slot k given the logged items
    above); ``log.pscore_cascade`` (the logging prefix probabilities).
    """

    needs = Needs("slate", ("pi_cascade", "pscore_cascade"))
    estimate_keywords = INTERVAL_KEYWORDS | {"pi_cascade", "cascade_dist"}
    _prefix = True


@register
class SNRIPS(_SelfNormalized, RIPS):
    """Self-normalised RIPS, normalised per slot (OBP's ``SelfNormalizedSlateRewardInteractionIPS``).

    .. math:: \\hat V = \\sum_{k=1}^K \\frac{\\sum_i w_{i,1:k} r_{ik}}{\\sum_i w_{i,1:k}}

    Inputs as :class:`RIPS`.
    """


@register
class PseudoInverse(SlateEstimator):
    """Pseudo-inverse estimator (Swaminathan et al. 2017) of the slate reward :math:`\\sum_k r_{ik}`.

    .. math:: \\hat V_{\\mathrm{PI}} = \\frac1n \\sum_i w_i \\sum_{k=1}^K r_{ik}, \\qquad
              w_i = \\theta_\\pi(x_i)^\\top \\Gamma_\\mu(x_i)^\\dagger \\mathbb 1_{s_i}

    where :math:`\\mathbb 1_s` indicates the (slot, item) pairs of slate :math:`s`,
    :math:`\\theta_\\pi = E_\\pi[\\mathbb 1_s]` (the target's per-slot marginals) and
    :math:`\\Gamma_\\mu = E_\\mu[\\mathbb 1_s \\mathbb 1_s^\\top]`. It uses only the slate-level reward and
    is unbiased when the expected slate reward is additive over (slot, item) pairs (e.g. independent
    slots) and :math:`\\theta_\\pi` lies in the span of :math:`\\Gamma_\\mu`; biased when slots interact.

    Two forms:

    * **product logging** (default, any catalogue size): when :math:`\\mu` draws each slot
      independently (a Cartesian slate space, e.g. each slot from its own pool),
      :math:`w_i = \\sum_k \\pi(s_{ik} @ k|x_i)/\\mu(s_{ik} @ k|x_i) - (K - 1)` (their Example 4; the
      form Vowpal Wabbit's estimator implements). Inputs: ``pi_marginal`` (n, K) or ``slot_dist``;
      ``log.pscore_marginal``. With other logging policies this form is biased.
    * **general logging** (small catalogues): pass ``logging_moment``, the matrix
      :math:`\\Gamma_\\mu` of shape (K m, K m) shared by all rows or (n, K m, K m) (see
      :func:`~simrec.estimators.ope.slate_inputs.slate_moment`), with the dense ``slot_dist``
      (n, n_items, K).

    ``diagnostics["pi_form"]`` says which form was used. The weights may be negative.
    """

    needs = Needs("slate", ("pi_marginal", "pscore_marginal"), ("logging_moment",))
    estimate_keywords = INTERVAL_KEYWORDS | {"pi_marginal", "slot_dist", "logging_moment"}

    def _weights(self, log: SlateLog, kw: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, str]:
        n, K = log.slate.shape
        if kw.get("logging_moment") is not None:
            if kw.get("slot_dist") is None:
                raise ConfigError(f"{self.label} with `logging_moment` needs the dense target marginals "
                                  "`slot_dist` (n, n_items, K)")
            if kw.get("pi_marginal") is not None:
                raise ConfigError(f"{self.label}: `pi_marginal` is not used with `logging_moment`; give `slot_dist`")
            w = pseudo_inverse_weights(kw["slot_dist"], log, kw["logging_moment"])
            return w * log.reward.sum(axis=1), w, "moment"
        p = _logged(log, "pscore_marginal", self.label)
        pi, key = self._pi_marginal(log, kw)
        c, w, nbad = _k.pi_product_terms(log.reward, pi, p)
        self._checked(pi, key, nbad)
        return c, w, "product"

    def _terms(self, log, kw):
        c, w, form = self._weights(log, kw)
        diag = weight_diagnostics(w, w, float("nan"))
        diag["pi_form"] = form
        return c, diag


@register
class SNPseudoInverse(PseudoInverse):
    """Self-normalised pseudo-inverse estimator (wPI in Swaminathan et al. 2017).

    .. math:: \\hat V_{\\mathrm{wPI}} = \\frac{\\sum_i w_i \\sum_k r_{ik}}{\\sum_i w_i}

    with the pseudo-inverse weights :math:`w_i` of :class:`PseudoInverse` (same inputs and forms).
    """

    def _terms(self, log, kw):
        c, w, form = self._weights(log, kw)
        tot = log.reward.sum(axis=1)
        s = w.sum()
        if not abs(s) > 0:
            raise InvalidLogError(f"{self.label} is undefined: the pseudo-inverse weights sum to 0")
        _, infl = sn_influence(w, tot)
        diag = weight_diagnostics(w, w, float("nan"))
        diag["pi_form"] = form
        return infl, diag


@register
class CascadeDR(SlateEstimator):
    """Cascade doubly robust estimator (Kiyohara et al. 2022).

    .. math:: \\hat V_{\\mathrm{CDR}} = \\frac1n \\sum_i \\sum_{k=1}^K
              w_{i,1:k}\\big(r_{ik} - \\hat Q_k(x_i, s_{i,1:k})\\big)
              + w_{i,1:k-1} \\sum_a \\pi(a|x_i, s_{i,<k})\\, \\hat Q_k(x_i, s_{i,<k}, a)

    with prefix weights :math:`w_{i,1:k} = \\pi(s_{i,1:k}|x_i)/\\mu(s_{i,1:k}|x_i)`,
    :math:`w_{i,1:0} = 1`, and :math:`\\hat Q_k` a model of the expected reward of slots
    :math:`k..K` given the items down to slot k (fitted recursively, as OBP's
    ``SlateRegressionModel``). Unbiased under the cascade assumption for any :math:`\\hat Q`; the
    model only lowers the variance. With :math:`\\hat Q = 0` it is :class:`RIPS`. Equals OBP's
    ``SlateCascadeDoublyRobust``.

    Inputs, reduced: ``pi_cascade`` (n, K) (target prefix probabilities), ``q_logged`` (n, K)
    (:math:`\\hat Q_k` of the logged prefix) and ``q_pi`` (n, K) (its expectation over the
    target's choice of slot k given the logged items above). Dense: ``cascade_dist``
    (n, n_items, K) (the target's law of slot k given the logged items above) and ``q_hat``
    (n, n_items, K). Logging: ``log.pscore_cascade``.
    """

    needs = Needs("slate", ("pi_cascade", "pscore_cascade", "q_logged", "q_pi"))
    estimate_keywords = INTERVAL_KEYWORDS | {"pi_cascade", "q_logged", "q_pi", "cascade_dist", "q_hat"}

    def _terms(self, log, kw):
        n, K = log.slate.shape
        p = _logged(log, "pscore_cascade", self.label)
        dense = kw.get("cascade_dist") is not None or kw.get("q_hat") is not None
        if dense:
            extra = [k for k in ("pi_cascade", "q_logged", "q_pi") if kw.get(k) is not None]
            if extra or kw.get("cascade_dist") is None or kw.get("q_hat") is None:
                given = sorted(k for k in kw if kw[k] is not None)
                raise ConfigError(f"{self.label}: give either the reduced `pi_cascade`, `q_logged`, `q_pi` or the "
                                  f"dense `cascade_dist` and `q_hat` (both); got {given}")
            red = cascade_inputs(kw["cascade_dist"], log, kw["q_hat"])
            pi, ql, qp, key = red["pi_cascade"], red["q_logged"], red["q_pi"], "pi_cascade (from cascade_dist)"
        else:
            pi = slot_array(kw.get("pi_cascade"), "pi_cascade", n, K, self.label)
            ql = slot_array(kw.get("q_logged"), "q_logged", n, K, self.label)
            qp = slot_array(kw.get("q_pi"), "q_pi", n, K, self.label)
            key = "pi_cascade"
        c, st, nz, nbad, ninc = _k.slot_terms(log.reward, pi, p, True, ql, qp)
        self._checked(pi, key, nbad, ninc)
        return c, _slot_diagnostics(st, nz, n)
