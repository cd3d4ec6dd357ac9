"""Reference values of Open Bandit Pipeline 0.5.7's slate estimators, transcribed from
``obp/ope/estimators_slate.py`` (SlateStandardIPS, SlateIndependentIPS, SlateRewardInteractionIPS,
SlateCascadeDoublyRobust and SelfNormalizedSlate{Standard,Independent,RewardInteraction}IPS).

obp itself does not install on Python 3.11, so the tests compare against this transcription. It
keeps OBP's *long* data format (one row per (slate, slot): ``slate_id``, ``position``, ``reward`` and
the per-row propensities, the joint one repeated on every slot of its slate) and OBP's order of
operations, including Cascade-DR's flattened ``(n * K * n_items,)`` model and target arrays and its
``np.roll`` of the prefix weights. It shares no code with simrec's implementation.
"""

from __future__ import annotations

import numpy as np


def to_long(slate: np.ndarray, reward: np.ndarray) -> dict[str, np.ndarray]:
    """OBP's long format of an (n, K) slate log: slate_id, position, action, reward, each (n * K,)."""
    n, K = slate.shape
    return {"slate_id": np.repeat(np.arange(n), K), "position": np.tile(np.arange(K), n),
            "action": slate.reshape(-1), "reward": reward.reshape(-1)}


def _n_rounds(slate_id: np.ndarray) -> int:
    return np.unique(slate_id).shape[0]


def _ipw_rows(reward, behavior_pscore, evaluation_pscore):
    # BaseSlateInverseProbabilityWeighting._estimate_round_rewards
    return reward * (evaluation_pscore / behavior_pscore)


def sips(slate_id, reward, position, pscore, evaluation_policy_pscore):
    """SlateStandardIPS.estimate_policy_value (joint pscores repeated on every slot)."""
    return _ipw_rows(reward, pscore, evaluation_policy_pscore).sum() / _n_rounds(slate_id)


def iips(slate_id, reward, position, pscore_item_position, evaluation_policy_pscore_item_position):
    """SlateIndependentIPS.estimate_policy_value."""
    return _ipw_rows(reward, pscore_item_position, evaluation_policy_pscore_item_position).sum() / _n_rounds(slate_id)


def rips(slate_id, reward, position, pscore_cascade, evaluation_policy_pscore_cascade):
    """SlateRewardInteractionIPS.estimate_policy_value (prefix pscores)."""
    return _ipw_rows(reward, pscore_cascade, evaluation_policy_pscore_cascade).sum() / _n_rounds(slate_id)


def snsips(slate_id, reward, position, pscore, evaluation_policy_pscore):
    """SelfNormalizedSlateStandardIPS: weights divided by their mean over all (slate, slot) rows."""
    iw = evaluation_policy_pscore / pscore
    rows = reward * iw / iw.mean()
    return rows.sum() / _n_rounds(slate_id)


def _sn_per_position(reward, position, behavior_pscore, evaluation_pscore, len_list):
    # BaseSlateSelfNormalizedInverseProbabilityWeighting._estimate_round_rewards: each position's
    # weights are divided by their mean over the rows of that position
    rows = np.zeros_like(behavior_pscore)
    iw = np.zeros_like(behavior_pscore)
    for pos_ in range(len_list):
        idx = position == pos_
        iw[idx] = evaluation_pscore[idx] / behavior_pscore[idx]
        rows[idx] = reward[idx] * iw[idx] / iw[idx].mean()
    return rows


def sniips(slate_id, reward, position, pscore_item_position, evaluation_policy_pscore_item_position, len_list):
    """SelfNormalizedSlateIndependentIPS (per-position normalisation)."""
    rows = _sn_per_position(reward, position, pscore_item_position, evaluation_policy_pscore_item_position,
                            len_list)
    return rows.sum() / _n_rounds(slate_id)


def snrips(slate_id, reward, position, pscore_cascade, evaluation_policy_pscore_cascade, len_list):
    """SelfNormalizedSlateRewardInteractionIPS (per-position normalisation)."""
    rows = _sn_per_position(reward, position, pscore_cascade, evaluation_policy_pscore_cascade, len_list)
    return rows.sum() / _n_rounds(slate_id)


def cascade_dr(slate_id, action, reward, position, pscore_cascade, evaluation_policy_pscore_cascade, q_hat,
               evaluation_policy_action_dist, len_list, n_unique_action):
    """SlateCascadeDoublyRobust.estimate_policy_value.

    ``q_hat`` and ``evaluation_policy_action_dist`` are flattened ``(n * K * n_items,)`` arrays
    (slate, then slot, then item), as in OBP.
    """
    n_rounds = _n_rounds(slate_id)
    q3 = q_hat.reshape((-1, len_list, n_unique_action))
    q_obs = []
    for i in range(n_rounds):
        for pos_ in range(len_list):
            q_obs.append(q3[i, pos_, action[i * len_list + pos_]])
    q_obs = np.array(q_obs)
    q_expected = (evaluation_policy_action_dist * q_hat).reshape((-1, len_list, n_unique_action)).sum(axis=2)
    q_expected = q_expected.flatten()
    iw = evaluation_policy_pscore_cascade / pscore_cascade
    iw_prev = np.roll(iw, 1)
    iw_prev[np.array([i * len_list for i in range(n_rounds)])] = 1
    rows = iw * (reward - q_obs) + iw_prev * q_expected
    return rows.sum() / n_rounds
