"""The behaviour mechanisms, one small function each, on one user's state.

These are the formulas of the model (see docs/simulator.md); :mod:`simrec.sim._kernels` loops them
over users in parallel. All parameters travel in one packed float64 vector (see :func:`pack`).

Choice with position bias is an *examination-weighted multinomial logit*: with utilities
``v_k = a * <theta, phi_k> + b * c_k - g * boredom[topic_k]`` and examination weights
``e_k = (k + 1) ** -eta_u`` (PBM),

.. math:: P(\\text{click } k) = \\frac{e_k e^{v_k}}{e^{v_0} + \\sum_j e_j e^{v_j}},

so the expected reward of any slate, or of one item at one position, is exact in closed form.
The cascade model scans top-down: ``P(click k) = gamma^k * p_k * prod_{j<k} (1 - p_j)`` with
``p_k = sigmoid(v_k - v_0)``. A fitted examination table ``e_k`` (``examination.model = "table"``, as
calibrated worlds use) makes one item at slot ``k`` a position-based model, ``P(click) = e_k p``,
and a slate a top-down scan that stops at the first click:
``P(click k) = e_k p_k prod_{j<k} (1 - e_j p_j)``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .config import WorldConfig

# indices into the packed parameter vector
EXAM_MODEL, CASCADE_CONT, W_AFF, W_ATTR, W_BORED, V0 = 0, 1, 2, 3, 4, 5
C_BIAS, C_AFF, C_Q = 6, 7, 8
SAT_ON, SAT_RATE, SAT_NC_RATE, SAT_NC_TARGET = 9, 10, 11, 12
DRIFT_ON, DRIFT_RATE = 13, 14
BORED_ON, BORED_GROWTH, BORED_DECAY, BORED_DAILY = 15, 16, 17, 18
LEAVE_ON, LEAVE_BASE, LEAVE_SAT, LEAVE_BORED, LEAVE_NC = 19, 20, 21, 22, 23
REWARD_WATCH = 24
RET_ON, GAP_BASE, GAP_SAT, CHURN_BASE, CHURN_SAT, SAT_MEMORY = 25, 26, 27, 28, 29, 30
N_ON, N_OPEN, N_REL, N_LOAD, N_LOAD_DECAY, N_UNSUB, N_UNSUB_LOAD, N_ORGANIC = 31, 32, 33, 34, 35, 36, 37, 38
BORED_EXPOSURE = 39
EXAM_TABLE0, MAX_TABLE = 40, 100  # fitted examination per slot (``examination.model = "table"``)
N_PARAMS = EXAM_TABLE0 + MAX_TABLE

EXAM_NONE, EXAM_PBM, EXAM_CASCADE, EXAM_TABLE = 0.0, 1.0, 2.0, 3.0


def pack(config: WorldConfig) -> np.ndarray:
    """The packed parameter vector of ``config``; switched-off mechanisms get neutral values."""
    c = config
    p = np.zeros(N_PARAMS)
    p[EXAM_MODEL] = {"none": EXAM_NONE, "pbm": EXAM_PBM, "cascade": EXAM_CASCADE,
                     "table": EXAM_TABLE}[c.examination.model]
    if c.examination.table:  # slots past the table's end repeat its last entry
        t = list(c.examination.table)[:MAX_TABLE]
        p[EXAM_TABLE0:] = t + [t[-1]] * (MAX_TABLE - len(t))
    p[CASCADE_CONT] = c.examination.cascade_continue
    p[W_AFF], p[W_ATTR] = c.choice.affinity_weight, c.choice.attractiveness_weight
    p[W_BORED] = c.choice.boredom_weight if c.boredom.enabled else 0.0
    p[V0] = c.choice.no_click_utility
    p[C_BIAS], p[C_AFF], p[C_Q] = c.consumption.bias, c.consumption.affinity_weight, c.consumption.quality_weight
    p[SAT_ON] = float(c.satisfaction.enabled)
    p[SAT_RATE], p[SAT_NC_RATE] = c.satisfaction.rate, c.satisfaction.no_click_rate
    p[SAT_NC_TARGET] = c.satisfaction.no_click_target
    p[DRIFT_ON], p[DRIFT_RATE] = float(c.drift.enabled), c.drift.rate
    p[BORED_ON], p[BORED_GROWTH] = float(c.boredom.enabled), c.boredom.growth
    p[BORED_DECAY], p[BORED_DAILY] = c.boredom.decay, c.boredom.daily_decay
    p[BORED_EXPOSURE] = c.boredom.exposure_growth
    s = c.session
    p[LEAVE_ON], p[LEAVE_BASE], p[LEAVE_SAT] = float(s.enabled), s.base, s.satisfaction_weight
    p[LEAVE_BORED], p[LEAVE_NC] = s.boredom_weight, s.no_click_weight
    p[REWARD_WATCH] = float(c.reward == "watch")
    r = c.returns
    p[RET_ON], p[GAP_BASE], p[GAP_SAT] = float(r.enabled), r.gap_base, r.gap_satisfaction_weight
    p[CHURN_BASE], p[CHURN_SAT], p[SAT_MEMORY] = r.churn_base, r.churn_satisfaction_weight, r.satisfaction_memory
    n = c.notifications
    p[N_ON], p[N_OPEN], p[N_REL], p[N_LOAD] = float(n.enabled), n.open_base, n.relevance_weight, n.load_weight
    p[N_LOAD_DECAY], p[N_UNSUB], p[N_UNSUB_LOAD] = n.load_decay, n.unsubscribe_base, n.unsubscribe_load_weight
    p[N_ORGANIC] = n.organic_visit_base
    return p


@njit(cache=True, inline="always")
def sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


@njit(cache=True, inline="always")
def affinity(theta: np.ndarray, b: int, phi: np.ndarray, item: int) -> float:
    """<theta[b], phi[item]>. Rows are indexed in place (per-row array views would cost reference
    counting in threads); kernels compile this with ``reassoc`` so the sum vectorises."""
    s = 0.0
    for j in range(theta.shape[1]):
        s += theta[b, j] * phi[item, j]
    return s


@njit(cache=True, inline="always")
def utility(aff: float, attract: float, bored: float, P: np.ndarray) -> float:
    """Choice utility of an item: affinity and attractiveness draw, boredom repels (its weight is
    packed as 0 when boredom is off, so no branch)."""
    return P[W_AFF] * aff + P[W_ATTR] * attract - P[W_BORED] * bored


@njit(cache=True, inline="always")
def watch_logit(aff: float, quality: float, P: np.ndarray) -> float:
    """Logit of the watch fraction: driven by affinity and quality, not attractiveness."""
    return P[C_BIAS] + P[C_AFF] * aff + P[C_Q] * quality


@njit(cache=True, inline="always")
def watch_fraction(aff: float, quality: float, P: np.ndarray) -> float:
    """Share of a clicked item consumed: ``sigmoid(watch_logit)``."""
    return sigmoid(watch_logit(aff, quality, P))


@njit(cache=True, inline="always")
def choice_logits(v: np.ndarray, b: int, k_n: int, eta: float, P: np.ndarray, logk: np.ndarray) -> float:
    """Turn utilities ``v[b, :k_n]`` into the exponents of the choice model, in place; returns the
    shift ``m`` that :func:`choice_probs` needs. After ``exp`` (done in bulk, vectorised) the row
    holds ``e_k exp(v_k - m)`` (PBM / none; ``logk[k]`` = log(k + 1)) or ``exp(v_0 - v_k)``
    (cascade), from which :func:`choice_probs` gets the click probabilities."""
    model = P[EXAM_MODEL]
    if model == EXAM_CASCADE or model == EXAM_TABLE:
        for k in range(k_n):
            v[b, k] = P[V0] - v[b, k]
        return 0.0
    m = P[V0]
    for k in range(k_n):
        if model != EXAM_NONE:
            v[b, k] -= eta * logk[k]
        if v[b, k] > m:
            m = v[b, k]
    for k in range(k_n):
        v[b, k] -= m
    return m


@njit(cache=True, inline="always")
def choice_probs(ex: np.ndarray, b: int, k_n: int, m: float, P: np.ndarray) -> None:
    """``ex[b, k]`` (the exponentials of :func:`choice_logits`) -> P(click slot k), in place."""
    model = P[EXAM_MODEL]
    if model == EXAM_CASCADE or model == EXAM_TABLE:
        reach = 1.0
        table = model == EXAM_TABLE
        g = 1.0 if table else P[CASCADE_CONT]
        for k in range(k_n):
            pk = 1.0 / (1.0 + ex[b, k])  # sigmoid(v_k - v_0)
            if table:  # examined with the fitted probability of slot k, clicked if attracted
                pk *= P[EXAM_TABLE0 + min(k, MAX_TABLE - 1)]
            ex[b, k] = reach * pk
            reach *= (1.0 - pk) * g
        return
    denom = 1.0 if m == P[V0] else math.exp(P[V0] - m)  # the outside option's share
    for k in range(k_n):
        denom += ex[b, k]
    inv = 1.0 / denom
    for k in range(k_n):
        ex[b, k] *= inv


@njit(cache=True, inline="always")
def single_click_prob(v: float, position: int, eta: float, P: np.ndarray) -> float:
    """P(click) of one item shown alone at ``position`` (0-based)."""
    model = P[EXAM_MODEL]
    if model == EXAM_CASCADE:
        return P[CASCADE_CONT] ** position * sigmoid(v - P[V0])
    if model == EXAM_TABLE:  # the position-based model: examination x attractiveness
        return P[EXAM_TABLE0 + min(position, MAX_TABLE - 1)] * sigmoid(v - P[V0])
    e = 1.0 if model == EXAM_NONE else (position + 1.0) ** (-eta)
    return sigmoid(math.log(e) + v - P[V0])


@njit(cache=True, inline="always")
def consume(theta: np.ndarray, sat: np.ndarray, b: int, phi: np.ndarray, quality: np.ndarray, item: int,
            wf: float, P: np.ndarray) -> None:  # fmt: skip
    """Row b consumed ``item`` (watch fraction ``wf``): satisfaction moves toward the item's quality
    and the interest drifts toward the item, in proportion to how much was watched."""
    if P[SAT_ON] > 0:
        sat[b] += P[SAT_RATE] * (quality[item] - sat[b])
    if P[DRIFT_ON] > 0:
        r = P[DRIFT_RATE] * wf
        for j in range(theta.shape[1]):
            theta[b, j] += r * (phi[item, j] - theta[b, j])


@njit(cache=True, inline="always")
def leave_prob(sat: float, bored: float, clicked: bool, P: np.ndarray) -> float:
    """Hazard of leaving the session after a step."""
    if P[LEAVE_ON] == 0:
        return 0.0
    x = P[LEAVE_BASE] - P[LEAVE_SAT] * sat + P[LEAVE_BORED] * bored
    if not clicked:
        x += P[LEAVE_NC]
    return sigmoid(x)


@njit(cache=True, inline="always")
def mean_gap_days(sat: float, P: np.ndarray) -> float:
    """Mean days until the next session (>= 1); shorter when satisfied."""
    return 1.0 + math.exp(P[GAP_BASE] - P[GAP_SAT] * sat)


@njit(cache=True, inline="always")
def churn_prob(sat: float, P: np.ndarray) -> float:
    """Probability that a session end is the user's last."""
    return sigmoid(P[CHURN_BASE] - P[CHURN_SAT] * sat)


@njit(cache=True, inline="always")
def open_prob(aff: float, load: float, P: np.ndarray) -> float:
    """Probability a notification is opened: relevance helps, accumulated load hurts."""
    return sigmoid(P[N_OPEN] + P[N_REL] * aff - P[N_LOAD] * load)


@njit(cache=True, inline="always")
def unsubscribe_prob(load: float, P: np.ndarray) -> float:
    return sigmoid(P[N_UNSUB] + P[N_UNSUB_LOAD] * load)


@njit(cache=True, inline="always")
def organic_visit_prob(sat: float, P: np.ndarray) -> float:
    return sigmoid(P[N_ORGANIC] + sat)
