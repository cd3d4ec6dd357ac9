"""Replay / rejection-sampling evaluation (Li, Chu, Langford & Wang 2011), also of learning policies."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._validation import as_rng, check_int, check_positive
from ...data import BanditLog
from ...errors import InvalidLogError
from ..base import Needs, check_name, check_random_state
from ..estimate import Estimate
from ..registry import register
from .base import BanditEstimator, logged_pscore, sn_influence
from .diagnostics import warn_diagnostics

__all__ = ["Replay"]


@register
class Replay(BanditEstimator):
    """Replay / rejection-sampling evaluation (Li, Chu, Langford & Wang 2011).

    Row ``i`` is accepted with probability :math:`w_i / M`, :math:`M = \\max_j w_j` (or given),
    and the estimate is the mean reward of accepted rows:

    .. math:: \\hat V = \\sum_i A_i r_i \\Big/ \\sum_i A_i, \\qquad A_i \\sim \\mathrm{Bernoulli}(w_i / M)

    With a deterministic target and a uniform logger, :math:`A_i = 1[\\pi(x_i) = a_i]` (no
    randomness): Li et al.'s replay. Otherwise the acceptance draws come from ``random_state``.
    :meth:`evaluate_learner` replays a *learning* policy, updating it on accepted rows only.

    Parameters
    ----------
    M : float, optional
        Acceptance bound (default: the largest weight in the log).
    """

    needs = Needs("bandit", ("action_dist", "pscore"))
    bounded_by_rewards = True

    def __init__(self, M: float | None = None, *, name: str | None = None,
                 random_state: int | np.random.Generator | None = None) -> None:
        self.M = None if M is None else check_positive(M, name="M")
        self.name = check_name(name)
        self.random_state = check_random_state(random_state)

    def _terms(self, log, red, kw):
        w = red.pi_logged / logged_pscore(log, self.label)
        m = float(w.max()) if self.M is None else self.M
        if m <= 0:
            raise InvalidLogError(f"{self.label}: the target gives probability 0 to every logged action")
        p = w / m
        if (p > 1 + 1e-12).any():
            raise InvalidLogError(f"{self.label}: `M`={m} is below the largest weight {float(w.max())}")
        if np.all((p == 0) | (np.abs(p - 1) <= 1e-12)):
            acc = p > 0.5
        else:
            acc = self._random().random(p.shape[0]) < p
        k = int(acc.sum())
        if k == 0:
            raise InvalidLogError(f"{self.label}: no row was accepted; the estimate is undefined")
        a = acc.astype(np.float64)
        return sn_influence(a, log.reward)[1], w, a, {"n_accepted": k, "M": m}

    def evaluate_learner(self, log: BanditLog, policy: Any, *, max_accepted: int | None = None,
                         alpha: float = 0.05) -> Estimate:
        """Replay a learning ``policy`` (``action_probs(obs)``, ``update(obs, a, r, p)``) through
        ``log`` in order.

        Row ``i`` is accepted with probability :math:`\\pi_t(a_i|x_i)\\, p_{\\min} / p_i` (draws from
        ``random_state``); accepted rows are shown to the policy and update it. Li et al.'s protocol
        (the learner's reward over its first ``T`` rounds) is ``max_accepted=T``: the replay stops
        after ``T`` accepted rows.

        Returns
        -------
        Estimate
            The mean reward over accepted rows; ``diagnostics["accepted_rows"]`` lists the accepted
            row indices in order and ``diagnostics["rows_scanned"]`` how far the replay read.
        """
        self._check_log(log)
        pscore = logged_pscore(log, self.label)
        if log.context is None:
            raise InvalidLogError(f"{self.label}.evaluate_learner needs `log.context` as observations")
        limit = len(log) if max_accepted is None else check_int(max_accepted, name="max_accepted", minimum=1)
        gen = as_rng(self._random())
        m = 1.0 / float(pscore.min()) if self.M is None else self.M
        accepted: list[int] = []
        scanned = 0
        for i in range(len(log)):
            if len(accepted) >= limit:
                break
            scanned = i + 1
            obs = log.context[i:i + 1]
            probs = np.asarray(policy.action_probs(obs), dtype=np.float64).reshape(-1)
            if probs.shape[0] != log.n_actions:
                raise InvalidLogError(f"policy.action_probs returned {probs.shape[0]} probabilities; "
                                      f"the log has {log.n_actions} actions")
            a = log.action[i]
            if gen.random() < probs[a] / (m * pscore[i]):
                accepted.append(i)
                policy.update(obs, log.action[i:i + 1], log.reward[i:i + 1], probs[a:a + 1])
        k = len(accepted)
        if k == 0:
            raise InvalidLogError(f"{self.label}: no row was accepted; the estimate is undefined")
        rows = np.asarray(accepted, dtype=np.int64)
        diag = {"ess": float(k), "n_accepted": k, "M": m, "accepted_rows": rows, "rows_scanned": scanned,
                "reached_max_accepted": bool(max_accepted is not None and k >= limit)}
        est = Estimate.from_contributions(log.reward[rows], name=self.label + "-learner", ess=k,
                                          diagnostics=diag, alpha=alpha)
        warn_diagnostics(est.diagnostics, est.n, est.name, stacklevel=3)
        return est
