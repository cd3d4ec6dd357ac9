"""Cascade and dependent click models: recovery on slate logs, and the right model wins held out."""

from __future__ import annotations

import numpy as np
import pytest

from simrec.calibrate import CascadeModel, DependentClickModel, PositionBasedModel, compare_models
from simrec.data import BanditLog, SlateLog
from simrec.errors import NotSupportedError

from ._worlds import cascade_slates, cascade_world, pbm_slates, random_slates


@pytest.fixture(scope="module")
def cascade_log():
    return cascade_slates(100_000, seed=0)


@pytest.fixture(scope="module")
def pbm_slate_log():
    return pbm_slates(100_000, seed=0)


def test_cascade_recovers_world_attractiveness_within_three_standard_errors(cascade_log):
    _, attr = cascade_world()
    m = CascadeModel().fit(cascade_log)
    z = (m.attractiveness_ - attr) / m.attractiveness_se_
    assert np.all(np.abs(z) < 3), np.abs(z).max()
    assert 0.8 < z.std() < 1.2
    assert m.n_ignored_clicks_ == 0  # the world clicks at most once per slate


def _dcm_log(n: int, attr: np.ndarray, lam: np.ndarray, seed: int) -> SlateLog:
    """Slates clicked by a DCM with known parameters (numpy, slot by slot)."""
    rng = np.random.default_rng(seed)
    k = lam.size
    slates = random_slates(n, attr.size, k, seed)
    clicks = np.zeros((n, k))
    going = np.ones(n, dtype=bool)
    for r in range(k):
        c = going & (rng.random(n) < attr[slates[:, r]])
        clicks[:, r] = c
        going &= ~c | (rng.random(n) < lam[r])
    return SlateLog(slate=slates, reward=clicks, n_items=attr.size)


def test_dcm_recovers_attractiveness_and_continuation():
    attr = np.random.default_rng(4).uniform(0.1, 0.6, 30)
    lam = np.array([0.7, 0.4, 0.5, 0.5])
    log = _dcm_log(60_000, attr, lam, seed=1)
    m = DependentClickModel(n_boot=20, random_state=0).fit(log)
    z_a = (m.attractiveness_ - attr) / m.attractiveness_se_
    z_l = (m.continuation_[:-1] - lam[:-1]) / m.continuation_se_[:-1]  # the last slot's is not identified
    assert np.all(np.abs(z_a) < 3), np.abs(z_a).max()
    assert np.all(np.abs(z_l) < 3), z_l
    # the cascade model (lambda = 0) is biased on the same log: it ignores clicks below the first
    cm = CascadeModel().fit(log)
    assert cm.n_ignored_clicks_ > 1000
    assert DependentClickModel().fit(log).score(log).log_likelihood > cm.score(log).log_likelihood


def test_right_model_wins_on_held_out_likelihood(cascade_log, pbm_slate_log):
    models = {"PBM": PositionBasedModel(), "cascade": CascadeModel(), "DCM": DependentClickModel()}
    on_cascade = compare_models(models, cascade_log[:80_000], cascade_log[80_000:], reference="cascade")
    on_pbm = compare_models(models, pbm_slate_log[:80_000], pbm_slate_log[80_000:], reference="PBM")
    # cascade world: the cascade model beats PBM by many standard errors; DCM (which nests it) ties
    assert on_cascade.loc["PBM", "z"] < -5
    assert abs(on_cascade.loc["DCM", "ll_diff_vs_ref"]) < 1e-3
    # PBM world: PBM beats both cascade-family models
    assert on_pbm.loc["cascade", "z"] < -5 and on_pbm.loc["DCM", "z"] < -5
    assert on_pbm["log_likelihood"].idxmax() == "PBM"


def test_cascade_family_needs_slates():
    log = BanditLog(action=[0, 1], reward=[0.0, 1.0], position=[0, 1])
    for m in (CascadeModel(), DependentClickModel()):
        with pytest.raises(NotSupportedError, match="whole slates"):
            m.fit(log)


def test_cascade_probabilities_are_the_model_formulas():
    log = SlateLog(slate=[[0, 1, 2], [2, 1, 0]], reward=[[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]], n_items=3)
    m = CascadeModel(prior=(0, 0)).fit(log)
    a = m.attractiveness_
    np.testing.assert_allclose(a, [0.0, 0.5, 0.0])  # item 1: 1 click in 2 examinations; item 0 examined twice
    p = m.predict_proba(log)
    np.testing.assert_allclose(p[0], [a[0], (1 - a[0]) * a[1], (1 - a[0]) * (1 - a[1]) * a[2]])
