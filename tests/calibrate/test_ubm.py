"""The user browsing model: recovery on a UBM log, its probabilities, and held-out comparisons."""

from __future__ import annotations

import numpy as np
import pytest

from simrec.calibrate import PositionBasedModel, UserBrowsingModel, compare_models
from simrec.data import SlateLog
from simrec.errors import NotSupportedError

from ._worlds import pbm_slates, random_slates

K = 3
# gamma[r, r' + 1]: examination of slot r after a click at r' (r' = -1: no click above)
GAMMA = np.array([[0.95, 0.0, 0.0, 0.0], [0.5, 0.9, 0.0, 0.0], [0.3, 0.4, 0.8, 0.0]])


def _ubm_log(n: int, attr: np.ndarray, seed: int) -> SlateLog:
    rng = np.random.default_rng(seed)
    slates = random_slates(n, attr.size, K, seed)
    clicks = np.zeros((n, K))
    prev = np.full(n, -1)
    for r in range(K):
        c = rng.random(n) < GAMMA[r, prev + 1] * attr[slates[:, r]]
        clicks[:, r] = c
        prev = np.where(c, r, prev)
    return SlateLog(slate=slates, reward=clicks, n_items=attr.size)


@pytest.fixture(scope="module")
def attr():
    return np.random.default_rng(7).uniform(0.1, 0.7, 40)


def test_ubm_recovers_parameters_within_three_standard_errors(attr):
    m = UserBrowsingModel().fit(_ubm_log(150_000, attr, seed=1))
    used = np.tril(np.ones((K, K + 1), dtype=bool), k=0)  # r' < r
    rel = GAMMA / GAMMA[0, 0]
    diff, se = m.relative_examination_[used] - rel[used], m.relative_examination_se_[used]
    z_g = diff[1:] / se[1:]  # the reference entry (0, -1) is fixed
    z_a = (m.scaled_attractiveness_ - attr * GAMMA[0, 0]) / m.scaled_attractiveness_se_
    assert np.all(np.abs(z_g) < 3), z_g
    assert np.all(np.abs(z_a) < 3), np.abs(z_a).max()
    assert np.isnan(m.relative_examination_se_[0, 1])  # no data for a click at or below the slot


def test_ubm_marginal_probabilities_match_simulation(attr):
    log = _ubm_log(200_000, attr, seed=2)
    m = UserBrowsingModel().fit(log)
    # with the fitted parameters, the marginal click rate by slot matches the log's
    p = m.predict_proba(log).mean(axis=0)
    np.testing.assert_allclose(p, log.reward.mean(axis=0), atol=3e-3)
    # the marginal differs from the conditional used for the likelihood (the DP matters)
    cond, full, _, _ = m._probs(log, None)
    assert not np.allclose(cond, full)


def test_ubm_wins_on_ubm_logs_and_ties_on_pbm_logs(attr):
    log = _ubm_log(100_000, attr, seed=3)
    models = {"PBM": PositionBasedModel(), "UBM": UserBrowsingModel()}
    on_ubm = compare_models(models, log[:80_000], log[80_000:], reference="PBM")
    assert on_ubm.loc["UBM", "z"] > 5
    pl = pbm_slates(60_000, seed=4)
    on_pbm = compare_models(models, pl[:48_000], pl[48_000:], reference="PBM")
    assert abs(on_pbm.loc["UBM", "z"]) < 3  # UBM nests PBM: no real gain


def test_ubm_needs_slates():
    from simrec.data import BanditLog

    with pytest.raises(NotSupportedError, match="whole slates"):
        UserBrowsingModel().fit(BanditLog(action=[0, 1], reward=[0.0, 1.0], position=[0, 1]))
