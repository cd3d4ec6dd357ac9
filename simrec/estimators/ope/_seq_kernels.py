"""numba kernels of the sequential (trajectory) estimators: pure functions on flat per-step arrays.

Rows of one episode are contiguous; ``offsets[i]`` is the first row of episode ``i`` and ``lens[i]``
the number of its rows inside the horizon. ``pi`` and ``p`` are the target and logging
probabilities of the logged actions, ``q`` the model value of the logged action and ``v`` the
model value of the target policy at each row. Each kernel has an obviously-correct Python
reference in the tests.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["episode_offsets", "trajectory_terms", "weighted_terms", "cumulative_weights"]


@njit(cache=True)
def episode_offsets(episode, step, horizon):
    """``offsets`` (n_episodes + 1,), ``lens`` (rows with ``step < horizon``) and the first row that
    starts an episode at a step other than 0 (-1: none)."""
    n = episode.shape[0]
    n_ep = 1
    for k in range(1, n):
        if episode[k] != episode[k - 1]:
            n_ep += 1
    offsets = np.empty(n_ep + 1, dtype=np.int64)
    lens = np.empty(n_ep, dtype=np.int64)
    bad = -1
    e = 0
    offsets[0] = 0
    for k in range(1, n + 1):
        if k == n or episode[k] != episode[k - 1]:
            e += 1
            offsets[e] = k
    for i in range(n_ep):
        start = offsets[i]
        if step[start] != 0 and bad < 0:
            bad = start
        m = offsets[i + 1] - start
        lens[i] = m if m < horizon else horizon
    return offsets, lens, bad


@njit(cache=True)
def trajectory_terms(offsets, lens, pi, p, r, q, v, gamma, has_q):
    """Per episode: final cumulative weight ``W``, discounted return ``G``, the per-decision IS term
    ``sum_t g^t w_t r_t`` and the DR term ``sum_t g^t (w_t (r_t - q_t) + w_{t-1} v_t)``."""
    n_ep = lens.shape[0]
    W = np.empty(n_ep)
    G = np.empty(n_ep)
    pd = np.empty(n_ep)
    dr = np.empty(n_ep)
    for i in range(n_ep):
        w_prev = 1.0
        disc = 1.0
        g = 0.0
        s_pd = 0.0
        s_dr = 0.0
        o = offsets[i]
        for j in range(lens[i]):
            k = o + j
            w = w_prev * (pi[k] / p[k])
            g += disc * r[k]
            s_pd += disc * w * r[k]
            if has_q:
                s_dr += disc * (w * (r[k] - q[k]) + w_prev * v[k])
            disc *= gamma
            w_prev = w
        W[i] = w_prev
        G[i] = g
        pd[i] = s_pd
        dr[i] = s_dr
    return W, G, pd, dr


@njit(cache=True)
def weighted_terms(offsets, lens, pi, p, r, q, v, gamma, has_q):
    """Per-decision self-normalised estimate (WPDIS, or WDR with ``has_q``) and its per-episode
    influence values (their mean is the estimate).

    With carried weights (an episode that ended keeps its final weight, with zero rewards and model
    values, as in an absorbing state), ``D_t = sum_i w_{i,t}``, ``D_{-1} = n``:
    ``V = sum_t g^t [sum_i w_{i,t} (r - q)_{i,t} / D_t + sum_i w_{i,t-1} v_{i,t} / D_{t-1}]``.
    Returns ``(V, contributions, W)``.
    """
    n_ep = lens.shape[0]
    T = 0
    for i in range(n_ep):
        if lens[i] > T:
            T = lens[i]
    sw = np.zeros(T)
    sxa = np.zeros(T)
    sxb = np.zeros(T)
    end_w = np.zeros(T + 1)
    W = np.empty(n_ep)
    for i in range(n_ep):
        w_prev = 1.0
        o = offsets[i]
        for j in range(lens[i]):
            k = o + j
            w = w_prev * (pi[k] / p[k])
            sw[j] += w
            if has_q:
                sxa[j] += w * (r[k] - q[k])
                sxb[j] += w_prev * v[k]
            else:
                sxa[j] += w * r[k]
            w_prev = w
        W[i] = w_prev
        end_w[lens[i]] += w_prev
    # denominators with carried weights, as means (Ybar_t = D_t / n)
    nf = float(n_ep)
    ybar = np.empty(T)
    carried = 0.0
    for t in range(T):
        carried += end_w[t]
        ybar[t] = (sw[t] + carried) / nf
    ra = np.zeros(T)
    rb = np.zeros(T)
    value = 0.0
    disc = 1.0
    disc_t = np.empty(T)
    for t in range(T):
        disc_t[t] = disc
        if ybar[t] > 0:
            ra[t] = sxa[t] / nf / ybar[t]
        yprev = 1.0 if t == 0 else ybar[t - 1]
        if has_q and yprev > 0:
            rb[t] = sxb[t] / nf / yprev
        value += disc * (ra[t] + rb[t])
        disc *= gamma
    # suffix sums for the carried (ended) part of each episode's influence
    tail = np.zeros(T + 1)
    for t in range(T - 1, -1, -1):
        s = 0.0
        if ybar[t] > 0:
            s += disc_t[t] * ra[t] / ybar[t]
        yprev = 1.0 if t == 0 else ybar[t - 1]
        if has_q and yprev > 0:
            s += disc_t[t] * rb[t] / yprev
        tail[t] = tail[t + 1] + s
    c = np.empty(n_ep)
    for i in range(n_ep):
        w_prev = 1.0
        o = offsets[i]
        acc = value
        for j in range(lens[i]):
            k = o + j
            w = w_prev * (pi[k] / p[k])
            if ybar[j] > 0:
                xa = w * (r[k] - q[k]) if has_q else w * r[k]
                acc += disc_t[j] * (xa - ra[j] * w) / ybar[j]
            if has_q:
                yprev = 1.0 if j == 0 else ybar[j - 1]
                if yprev > 0:
                    acc += disc_t[j] * (w_prev * v[k] - rb[j] * w_prev) / yprev
            w_prev = w
        acc -= w_prev * tail[lens[i]]
        c[i] = acc
    return value, c, W


@njit(cache=True)
def cumulative_weights(offsets, lens, pi, p, n_rows):
    """Per row inside the horizon: the weight of the past ``w_{t-1}`` (1 at an episode's start) and
    the current ratio ``pi / p``; rows outside the horizon get NaN."""
    w_before = np.full(n_rows, np.nan)
    rho = np.full(n_rows, np.nan)
    for i in range(lens.shape[0]):
        w_prev = 1.0
        o = offsets[i]
        for j in range(lens[i]):
            k = o + j
            w_before[k] = w_prev
            rho[k] = pi[k] / p[k]
            w_prev = w_prev * rho[k]
    return w_before, rho
