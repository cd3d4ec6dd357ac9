"""numba kernels of the envs' session statistics (what a recommender logs about a session).

Pure functions on arrays; each has a numpy reference in ``tests/sim/test_kernels.py``.
"""

from __future__ import annotations

from numba import njit, prange


@njit(cache=True, parallel=True)
def session_stats(active, clicked_item, watch, phi, steps, clicks, click_sum, last_watch):
    """Per-session history a recommender logs: steps, clicks, sum of clicked embeddings, last watch."""
    for b in prange(active.shape[0]):
        if not active[b]:
            continue
        steps[b] += 1
        last_watch[b] = watch[b]
        it = clicked_item[b]
        if it >= 0:
            clicks[b] += 1.0
            for j in range(phi.shape[1]):
                click_sum[b, j] += phi[it, j]


@njit(cache=True)
def reset_session_stats(rows, steps, clicks, click_sum, last_watch):
    """Zero the session statistics of ``rows`` (a new session starts there)."""
    for i in range(rows.shape[0]):
        r = rows[i]
        steps[r] = 0
        clicks[r] = 0.0
        last_watch[r] = 0.0
        for j in range(click_sum.shape[1]):
            click_sum[r, j] = 0.0


@njit(cache=True, parallel=True)
def session_obs(features, click_sum, clicks, steps, max_steps, last_watch, bound, out):
    """Fill ``out[:, :2d+3]`` (float32) with the session observation, clipped to [-bound, bound]."""
    d = features.shape[1]
    for b in prange(features.shape[0]):
        n = clicks[b] if clicks[b] > 1.0 else 1.0
        for j in range(d):
            out[b, j] = min(max(features[b, j], -bound), bound)
            out[b, d + j] = min(max(click_sum[b, j] / n, -bound), bound)
        out[b, 2 * d] = steps[b] / max_steps
        out[b, 2 * d + 1] = clicks[b] / (steps[b] if steps[b] > 1 else 1)
        out[b, 2 * d + 2] = last_watch[b]
