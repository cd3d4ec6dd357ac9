"""Slow, obviously-correct numpy/Python references of the simulator's numba kernels."""

from __future__ import annotations

import math

import numpy as np

from simrec.sim import behavior as bh
from simrec.sim._rng import uniform_np


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _u(key, counter, k) -> float:
    return float(uniform_np(key, counter, k))


def click_probs(v, eta, P):
    """P(click slot k) from utilities ``v``; ``-inf`` is an empty slot: never clicked, but it keeps its
    position (a cascade user still passes it, a later slot keeps its position bias)."""
    K = len(v)
    if P[bh.EXAM_MODEL] == bh.EXAM_CASCADE:
        out, reach = np.zeros(K), 1.0
        for k in range(K):
            p = 0.0 if v[k] == -np.inf else _sigmoid(v[k] - P[bh.V0])
            out[k] = reach * p
            reach *= (1 - p) * P[bh.CASCADE_CONT]
        return out
    e = np.ones(K) if P[bh.EXAM_MODEL] == bh.EXAM_NONE else (np.arange(K) + 1.0) ** (-eta)
    num = e * np.exp(np.asarray(v))
    return num / (math.exp(P[bh.V0]) + num.sum())


def slate_step(slates, active, theta, sat, bored, eta, key, counter, phi, topic, quality, attract, P):
    """Mutates the state arrays like the kernel; returns (slot, watch, reward, expected, slot_exp, left).

    A slot holding -1 is empty (a lenient step): it is never clicked, adds no boredom exposure, and
    the slate's boredom that drives leaving is the mean over the shown slots only."""
    B, K = slates.shape
    slot = np.full(B, -1)
    watch, reward, expected = np.zeros(B), np.zeros(B), np.zeros(B)
    slot_exp, left = np.zeros((B, K)), np.zeros(B, dtype=bool)
    as_watch = P[bh.REWARD_WATCH] > 0
    for b in range(B):
        if not active[b]:
            continue
        shown = slates[b] >= 0
        items = slates[b][shown]  # the shown items, in slot order
        v, w = np.full(K, -np.inf), np.zeros(K)
        aff = phi[items] @ theta[b]
        v[shown] = P[bh.W_AFF] * aff + P[bh.W_ATTR] * attract[items]
        if P[bh.BORED_ON]:
            v[shown] -= P[bh.W_BORED] * bored[b, topic[items]]
        w[shown] = [_sigmoid(P[bh.C_BIAS] + P[bh.C_AFF] * a + P[bh.C_Q] * q) for a, q in zip(aff, quality[items])]
        items = slates[b]
        pr = click_probs(v, eta[b], P)
        u = _u(key[b], counter[b], 0)
        cum = np.cumsum(pr)
        hit = np.flatnonzero(u < cum)
        chosen = int(hit[0]) if hit.size else -1
        slot_exp[b] = pr * w if as_watch else pr
        expected[b] = slot_exp[b].sum()
        slot[b] = chosen
        if chosen >= 0:
            it = items[chosen]
            watch[b] = w[chosen]
            reward[b] = w[chosen] if as_watch else 1.0
            if P[bh.SAT_ON]:
                sat[b] += P[bh.SAT_RATE] * (quality[it] - sat[b])
            if P[bh.DRIFT_ON]:
                theta[b] += P[bh.DRIFT_RATE] * w[chosen] * (phi[it] - theta[b])
        elif P[bh.SAT_ON]:
            sat[b] += P[bh.SAT_NC_RATE] * (P[bh.SAT_NC_TARGET] - sat[b])
        sb = 0.0
        if P[bh.BORED_ON]:
            bored[b] *= 1 - P[bh.BORED_DECAY]
            for t in topic[items[shown]]:
                bored[b, t] += P[bh.BORED_EXPOSURE]
            if chosen >= 0:
                bored[b, topic[items[chosen]]] += P[bh.BORED_GROWTH] * watch[b]
            sb = bored[b, topic[items[shown]]].mean() if shown.any() else 0.0
        if P[bh.LEAVE_ON]:
            x = P[bh.LEAVE_BASE] - P[bh.LEAVE_SAT] * sat[b] + P[bh.LEAVE_BORED] * sb + P[bh.LEAVE_NC] * (chosen < 0)
            left[b] = _u(key[b], counter[b], 1) < _sigmoid(x)
        counter[b] += np.uint64(1)
    return slot, watch, reward, expected, slot_exp, left


def end_session(mask, sat, bored, key, counter, P):
    B = len(mask)
    gap, churned = np.zeros(B, dtype=np.int64), np.zeros(B, dtype=bool)
    for b in range(B):
        if not mask[b]:
            continue
        if P[bh.RET_ON]:
            m = 1 + math.exp(P[bh.GAP_BASE] - P[bh.GAP_SAT] * sat[b])
            gap[b] = 1 + math.floor(math.log(_u(key[b], counter[b], 2)) / math.log(1 - 1 / m))
            churned[b] = _u(key[b], counter[b], 3) < _sigmoid(P[bh.CHURN_BASE] - P[bh.CHURN_SAT] * sat[b])
        else:
            gap[b] = 1
        if P[bh.BORED_ON]:
            bored[b] *= (1 - P[bh.BORED_DAILY]) ** gap[b]
        sat[b] *= P[bh.SAT_MEMORY]
        counter[b] += np.uint64(1)
    return gap, churned


def notify_day(items, active, theta, sat, load, unsub, key, counter, phi, quality, P):
    B = len(items)
    opened, visited, unsub_now = np.zeros(B, bool), np.zeros(B, bool), np.zeros(B, bool)
    expected = np.zeros(B)
    for b in range(B):
        if not active[b]:
            continue
        it = items[b]
        sent = it >= 0 and not unsub[b] and P[bh.N_ON] > 0
        p_open, aff = 0.0, 0.0
        if sent:
            aff = float(theta[b] @ phi[it])
            p_open = _sigmoid(P[bh.N_OPEN] + P[bh.N_REL] * aff - P[bh.N_LOAD] * load[b])
        p_org = _sigmoid(P[bh.N_ORGANIC] + sat[b])
        expected[b] = p_open + (1 - p_open) * p_org
        if sent:
            opened[b] = _u(key[b], counter[b], 4) < p_open
            load[b] += 1
            if _u(key[b], counter[b], 5) < _sigmoid(P[bh.N_UNSUB] + P[bh.N_UNSUB_LOAD] * load[b]):
                unsub[b] = unsub_now[b] = True
        visited[b] = opened[b] or _u(key[b], counter[b], 6) < p_org
        if opened[b]:
            w = _sigmoid(P[bh.C_BIAS] + P[bh.C_AFF] * aff + P[bh.C_Q] * quality[it])
            if P[bh.SAT_ON]:
                sat[b] += P[bh.SAT_RATE] * (quality[it] - sat[b])
            if P[bh.DRIFT_ON]:
                theta[b] += P[bh.DRIFT_RATE] * w * (phi[it] - theta[b])
        load[b] *= 1 - P[bh.N_LOAD_DECAY]
        counter[b] += np.uint64(1)
    return opened, visited, expected, unsub_now


def expected_single(theta, eta, items, positions, phi, topic, quality, attract, P):
    out = np.zeros(len(items))
    for b, (it, pos) in enumerate(zip(items, positions)):
        aff = float(theta[b] @ phi[it])
        v = P[bh.W_AFF] * aff + P[bh.W_ATTR] * attract[it]
        if P[bh.EXAM_MODEL] == bh.EXAM_CASCADE:
            p = P[bh.CASCADE_CONT] ** pos * _sigmoid(v - P[bh.V0])
        else:
            e = 1.0 if P[bh.EXAM_MODEL] == bh.EXAM_NONE else (pos + 1.0) ** (-eta[b])
            p = e * math.exp(v) / (math.exp(P[bh.V0]) + e * math.exp(v))
        if P[bh.REWARD_WATCH]:
            p *= _sigmoid(P[bh.C_BIAS] + P[bh.C_AFF] * aff + P[bh.C_Q] * quality[it])
        out[b] = p
    return out
