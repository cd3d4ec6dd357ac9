"""numba kernels: the behaviour mechanisms looped over users (pure functions on arrays).

Each row is a user; rows are independent and each draws from its own counter-based stream
(``key[b]``, ``counter[b]``), so ``prange`` order and thread count never change a result.
Draw indices: 0 click, 1 leave, 2 return gap, 3 churn, 4 notification open, 5 unsubscribe,
6 organic visit. Each kernel has a numpy reference in ``tests/sim/reference.py``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from . import behavior as bh
from ._rng import _GOLDEN, episode_key, uniform

# the draw indices of the module docstring, in its order
_D_CLICK, _D_LEAVE, _D_GAP, _D_CHURN, _D_OPEN, _D_UNSUB, _D_ORGANIC = (np.uint64(k) for k in range(7))
_ONE = np.uint64(1)
_S58 = np.uint64(58)
# Reassociation lets LLVM vectorise the dot products; no nnan/ninf, so NaN checks keep their meaning.
_FM = {"reassoc", "contract"}


@njit(cache=True, parallel=True)
def check_slates(slates: np.ndarray, n_available: int, bad: np.ndarray) -> None:
    """``bad[b]`` = the problem of row b (see :func:`_slate_row_problem`; 0 = valid)."""
    for b in prange(slates.shape[0]):
        bad[b] = _slate_row_problem(slates, b, n_available)


@njit(cache=True, inline="always")
def _slate_row_problem(slates, b, n_available):
    """0 if row b is valid, else 1 + 2k (slot k out of range) or 2 + 2k (slot k repeats an item)."""
    seen = np.uint64(0)  # 64-bit filter of item ids: only a hit needs the exact scan
    for k in range(slates.shape[1]):
        a = slates[b, k]
        if a < 0 or a >= n_available:
            return 1 + 2 * k
        # the filter bit: the top 6 bits of a multiplicative hash (``a & 63`` collides on strided ids)
        bit = np.uint64(1) << ((np.uint64(a) * _GOLDEN) >> _S58)
        if seen & bit:
            for j in range(k):
                if slates[b, j] == a:
                    return 2 + 2 * k
        seen |= bit
    return 0


@njit(cache=True, parallel=True)
def empty_invalid_slots(slates, active, n_available, n_items, n_empty, bad):
    """Lenient slates, in place: a slot naming an unreleased item (``n_available <= id < n_items``)
    or repeating an item already shown earlier in its row becomes empty (-1: nothing is shown
    there); ``n_empty[b]`` counts them (0 for inactive rows, which are not touched). An id outside
    the catalog (< 0 or >= ``n_items``) is no action at all: ``bad[b]`` = 1 + its slot (else 0)."""
    for b in prange(slates.shape[0]):
        n_empty[b] = 0
        bad[b] = 0
        if not active[b]:
            continue
        seen = np.uint64(0)
        for k in range(slates.shape[1]):
            a = slates[b, k]
            if a < 0 or a >= n_items:
                bad[b] = 1 + k
                break
            if a >= n_available:
                slates[b, k] = -1
                n_empty[b] += 1
                continue
            bit = np.uint64(1) << ((np.uint64(a) * _GOLDEN) >> _S58)
            if seen & bit:
                for j in range(k):
                    if slates[b, j] == a:
                        slates[b, k] = -1
                        n_empty[b] += 1
                        break
            seen |= bit


@njit(cache=True, parallel=True, fastmath=_FM)
def slate_logits(slates, active, theta, bored, eta, phi, topic, attract, quality, P, n_available, bad, logits, shift,
                 wlogits):  # fmt: skip
    """Phase 1 of a slate step: the exponents of the choice model per slot (see
    ``behavior.choice_logits``). The caller exponentiates ``logits`` in bulk (vectorised numpy),
    then calls :func:`slate_step`. With reward = watch, ``wlogits[b, k]`` gets minus the
    watch-fraction logit of slot k (so that the watch fraction is ``1 / (1 + exp(wlogits))``, also
    exponentiated in bulk); with clicks ``wlogits`` is not touched (and may be empty). Changes no
    state. With ``n_available >= 0`` each active row is first validated: ``bad[b]`` = 1 + 2k (slot
    k out of range) or 2 + 2k (slot k repeats an item)."""
    B, K = slates.shape
    logk = np.log(np.arange(1, K + 1).astype(np.float64))
    if n_available >= 0:  # a loop of its own: mixed with the logits it slows both down
        for b in prange(B):
            if active[b]:  # inactive rows are not shown their slate: not checked
                bad[b] = _slate_row_problem(slates, b, n_available)
    as_watch = P[bh.REWARD_WATCH] > 0
    for b in prange(B):
        if bad[b] > 0:
            continue
        if not active[b]:
            for k in range(K):
                logits[b, k] = 0.0
            shift[b] = 0.0
            continue
        for k in range(K):
            if slates[b, k] < 0:  # an empty slot (lenient slates): nothing to choose there
                logits[b, k] = -np.inf
                if as_watch:
                    wlogits[b, k] = 0.0
                continue
            it = np.uint64(slates[b, k])  # unsigned indices: no negative-index wraparound code
            aff = bh.affinity(theta, b, phi, it)
            logits[b, k] = bh.utility(aff, attract[it], bored[b, np.uint64(topic[it])], P)
            if as_watch:
                wlogits[b, k] = -bh.watch_logit(aff, quality[it], P)
        shift[b] = bh.choice_logits(logits, b, K, eta[b], P, logk)


@njit(cache=True, inline="always")
def _slot_rewards(slot_exp, b, K, wexp, as_watch):
    """Click probabilities of row b -> expected reward per slot (times the watch fraction when
    reward = watch), in place; returns their sum."""
    tot = 0.0
    for k in range(K):
        if as_watch:
            slot_exp[b, k] *= 1.0 / (1.0 + wexp[b, k])
        tot += slot_exp[b, k]
    return tot


@njit(cache=True, parallel=True, fastmath=_FM)
def slate_step(
    slates, active, theta, sat, bored, key, counter,
    phi, topic, quality, P, shift, wexp,
    clicked_slot, clicked_item, watch, reward, expected, slot_exp, left,
):  # fmt: skip
    """Phase 2 of a slate step, per active row: choice, consumption, state updates, leave.

    ``slot_exp`` comes in holding exp(logits) from :func:`slate_logits` and leaves holding the
    expected reward of each slot (no scratch arrays: the working set stays small)."""
    B, K = slates.shape
    T = bored.shape[1]
    as_watch = P[bh.REWARD_WATCH] > 0
    for b in prange(B):
        if not active[b]:
            clicked_slot[b] = -1
            clicked_item[b] = -1
            watch[b] = 0.0
            reward[b] = 0.0
            expected[b] = 0.0
            left[b] = False
            for k in range(K):
                slot_exp[b, k] = 0.0
            continue
        bh.choice_probs(slot_exp, b, K, shift[b], P)
        u = uniform(key[b], counter[b], _D_CLICK)
        chosen = -1
        cum = 0.0
        for k in range(K):
            cum += slot_exp[b, k]
            if u < cum:
                chosen = k
                break
        # watch fractions: ``wexp`` was exponentiated in bulk when every slot needs one (reward =
        # watch); for clicks only the chosen slot's is needed (theta has not moved yet)
        wf = 0.0
        if chosen >= 0:
            if as_watch:
                wf = 1.0 / (1.0 + wexp[b, chosen])
            else:
                it = np.uint64(slates[b, chosen])
                wf = bh.watch_fraction(bh.affinity(theta, b, phi, it), quality[it], P)
        expected[b] = _slot_rewards(slot_exp, b, K, wexp, as_watch)
        clicked_slot[b] = chosen
        if chosen >= 0:
            it = np.uint64(slates[b, chosen])
            clicked_item[b] = slates[b, chosen]
            watch[b] = wf
            reward[b] = wf if as_watch else 1.0
            bh.consume(theta, sat, b, phi, quality, it, wf, P)
        else:
            clicked_item[b] = -1
            watch[b] = 0.0
            reward[b] = 0.0
            if P[bh.SAT_ON] > 0:
                sat[b] += P[bh.SAT_NC_RATE] * (P[bh.SAT_NC_TARGET] - sat[b])
        slate_bored = 0.0
        if P[bh.BORED_ON] > 0:
            keep = 1.0 - P[bh.BORED_DECAY]
            for t in range(T):
                bored[b, t] *= keep
            shown = 0
            for k in range(K):
                if slates[b, k] >= 0:
                    bored[b, np.uint64(topic[np.uint64(slates[b, k])])] += P[bh.BORED_EXPOSURE]
                    shown += 1
            if chosen >= 0:
                bored[b, np.uint64(topic[it])] += P[bh.BORED_GROWTH] * wf
            for k in range(K):
                if slates[b, k] >= 0:
                    slate_bored += bored[b, np.uint64(topic[np.uint64(slates[b, k])])]
            slate_bored /= max(shown, 1)
        lp = bh.leave_prob(sat[b], slate_bored, chosen >= 0, P)
        left[b] = uniform(key[b], counter[b], _D_LEAVE) < lp
        counter[b] += _ONE


@njit(cache=True, parallel=True)
def end_session(mask, sat, bored, key, counter, P, gap, churned):
    """Rows in ``mask`` end a session: days until the next one, churn, recovery while away."""
    B, T = bored.shape
    for b in prange(B):
        if not mask[b]:
            gap[b] = 0
            churned[b] = False
            continue
        if P[bh.RET_ON] > 0:
            m = bh.mean_gap_days(sat[b], P)
            p = 1.0 / m
            u = uniform(key[b], counter[b], _D_GAP)
            g = 1 if p >= 1.0 else 1 + int(math.floor(math.log(u) / math.log1p(-p)))
            churned[b] = uniform(key[b], counter[b], _D_CHURN) < bh.churn_prob(sat[b], P)
        else:
            g = 1
            churned[b] = False
        gap[b] = g
        if P[bh.BORED_ON] > 0:
            keep = (1.0 - P[bh.BORED_DAILY]) ** g
            for t in range(T):
                bored[b, t] *= keep
        sat[b] *= P[bh.SAT_MEMORY]
        counter[b] += _ONE


@njit(cache=True, parallel=True, fastmath=_FM)
def notify_day(
    items, active, theta, sat, load, unsub, key, counter, phi, quality, P,
    opened, visited, expected, unsubscribed_now,
):  # fmt: skip
    """One day of messaging: ``items[b]`` is the item notified to row b, or -1 for none."""
    B = items.shape[0]
    for b in prange(B):
        opened[b] = False
        visited[b] = False
        unsubscribed_now[b] = False
        if not active[b]:
            expected[b] = 0.0
            continue
        it = items[b]
        sent = it >= 0 and not unsub[b] and P[bh.N_ON] > 0
        p_open = 0.0
        aff = 0.0
        if sent:
            aff = bh.affinity(theta, b, phi, it)
            p_open = bh.open_prob(aff, load[b], P)
        p_org = bh.organic_visit_prob(sat[b], P)
        expected[b] = p_open + (1.0 - p_open) * p_org
        if sent:
            opened[b] = uniform(key[b], counter[b], _D_OPEN) < p_open
            load[b] += 1.0
            if uniform(key[b], counter[b], _D_UNSUB) < bh.unsubscribe_prob(load[b], P):
                unsub[b] = True
                unsubscribed_now[b] = True
        visited[b] = opened[b] or uniform(key[b], counter[b], _D_ORGANIC) < p_org
        if opened[b]:
            wf = bh.watch_fraction(aff, quality[it], P)
            bh.consume(theta, sat, b, phi, quality, it, wf, P)
        load[b] *= 1.0 - P[bh.N_LOAD_DECAY]
        counter[b] += _ONE


@njit(cache=True, parallel=True, fastmath=_FM)
def expected_single(theta, bored, eta, items, positions, phi, topic, quality, attract, P, out):
    """Exact expected reward of item ``items[b]`` shown alone at ``positions[b]`` to row b."""
    as_watch = P[bh.REWARD_WATCH] > 0
    for b in prange(items.shape[0]):
        it = items[b]
        aff = bh.affinity(theta, b, phi, it)
        v = bh.utility(aff, attract[it], bored[b, topic[it]], P)
        p = bh.single_click_prob(v, positions[b], eta[b], P)
        if as_watch:
            p *= bh.watch_fraction(aff, quality[it], P)
        out[b] = p


@njit(cache=True, parallel=True, fastmath=_FM)
def expected_all(theta, bored, eta, phi, topic, quality, attract, n_items, P, out):
    """Exact expected reward of every item ``< n_items`` shown alone at slot 0, for every row."""
    as_watch = P[bh.REWARD_WATCH] > 0
    for b in prange(theta.shape[0]):
        for it in range(n_items):
            aff = bh.affinity(theta, b, phi, it)
            v = bh.utility(aff, attract[it], bored[b, topic[it]], P)
            p = bh.single_click_prob(v, 0, eta[b], P)
            if as_watch:
                p *= bh.watch_fraction(aff, quality[it], P)
            out[b, it] = p


@njit(cache=True, parallel=True)
def reset_rows(rows, users, seeds, salt, pop_features, pop_interest, pop_bias,
               s_users, features, theta, sat, bored, eta, load, unsub, key, counter):  # fmt: skip
    """Put ``users`` (initial state) in batch ``rows``; row keys as :func:`simrec.sim._rng.make_keys`.

    Returns -1, or (changing nothing) the first index i where ``rows[i]`` is out of range or repeats
    an earlier row, or ``users[i]`` is not a user id."""
    seen = np.zeros(s_users.shape[0], dtype=np.bool_)
    for i in range(rows.shape[0]):  # distinct rows in range: then the parallel writes cannot collide
        r = rows[i]
        if r < 0 or r >= seen.shape[0] or seen[r] or users[i] < 0 or users[i] >= pop_bias.shape[0]:
            return i
        seen[r] = True
    salt_mix = np.uint64(salt)
    for i in prange(rows.shape[0]):
        r = rows[i]
        u = users[i]
        s_users[r] = u
        for j in range(features.shape[1]):
            features[r, j] = pop_features[u, j]
            theta[r, j] = pop_interest[u, j]
        for t in range(bored.shape[1]):
            bored[r, t] = 0.0
        sat[r] = 0.0
        eta[r] = pop_bias[u]
        load[r] = 0.0
        unsub[r] = False
        key[r] = episode_key(np.uint64(seeds[i]), np.uint64(u), salt_mix)
        counter[r] = np.uint64(0)
    return -1


@njit(cache=True, parallel=True)
def slate_expectation(exp_logits, shift, wexp, P, slot_exp, expected):
    """The expected reward of each slot (and their sum) from phase 1 of a slate step, changing no
    state: :func:`slate_step`'s expectation without the draws (``exp_logits`` as exponentiated
    after :func:`slate_logits`; ``wexp`` the exponentiated watch logits when reward = watch)."""
    B, K = exp_logits.shape
    as_watch = P[bh.REWARD_WATCH] > 0
    for b in prange(B):
        for k in range(K):
            slot_exp[b, k] = exp_logits[b, k]
        bh.choice_probs(slot_exp, b, K, shift[b], P)
        expected[b] = _slot_rewards(slot_exp, b, K, wexp, as_watch)

