"""The position-based model: PyClick's numbers, parameter recovery with calibrated standard errors."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from simrec.calibrate import ClickThroughRateModel, PositionBasedModel
from simrec.data import BanditLog
from simrec.errors import ConfigError, InvalidLogError

from ._worlds import EXAM, pbm_rows, pbm_world

# ---- an independent re-implementation of PyClick's PBM EM, mirroring its code structure ---------
# (pyclick/click_models/{Param,ParamContainer,PBM,Inference}.py: a parameter object per (query,
# document) and per rank, updated row by row from the previous iteration's model; 50 iterations.)


class _PBMParamEM:
    """PyClick's ``PBMAttrEM`` (``kind="attr"``) and ``PBMExamEM`` (``kind="exam"``): the same EM update
    with the roles of the two parameters swapped. For a non-click the posterior that this parameter's
    event happened (the other one did not) is ``(1 - other) * own / (1 - exam * attr)``."""

    PROB_MIN = 0.000001

    def __init__(self, kind):
        self.kind, self.other = kind, {"attr": "exam", "exam": "attr"}[kind]
        self._numerator = 1
        self._denominator = 2

    def value(self):
        return min(self._numerator / float(self._denominator), 1 - self.PROB_MIN)

    def update(self, click, rank, session_params):
        own = session_params[rank][self.kind].value()
        other = session_params[rank][self.other].value()
        if click:
            self._numerator += 1
        else:
            self._numerator += (1 - other) * own / (1 - other * own)
        self._denominator += 1


class _PyClickPBM:
    def __init__(self):
        self.attr: dict = {}
        self.exam: dict = {}

    def get_session_params(self, session):
        query, docs, _ = session
        out = []
        for rank, doc in enumerate(docs):
            a = self.attr.setdefault((query, doc), _PBMParamEM("attr"))
            e = self.exam.setdefault(rank, _PBMParamEM("exam"))
            out.append({"attr": a, "exam": e})
        return out


def _pyclick_em(sessions, iter_num=50):
    model = _PyClickPBM()
    orig = copy.deepcopy(model)
    for _ in range(iter_num):
        new = copy.deepcopy(orig)
        for session in sessions:
            current = model.get_session_params(session)
            new_params = new.get_session_params(session)
            for rank, click in enumerate(session[2]):
                for param in new_params[rank].values():
                    param.update(click, rank, current)
        model = new
    return model


def test_pbm_equals_pyclick_configured_alike():
    rng = np.random.default_rng(3)
    n, k, n_items, n_q = 1500, 3, 12, 4
    docs = np.argsort(rng.random((n, n_items)), axis=1)[:, :k]
    query = rng.integers(0, n_q, n)
    exam = np.array([0.9, 0.5, 0.3])
    attr = rng.uniform(0.1, 0.7, (n_q, n_items))
    clicks = rng.random((n, k)) < exam[None, :] * attr[query[:, None], docs]
    sessions = [(int(query[i]), docs[i].tolist(), clicks[i].tolist()) for i in range(n)]
    ref = _pyclick_em(sessions)

    log = BanditLog(action=docs.ravel(), reward=clicks.ravel().astype(float), position=np.tile(np.arange(k), n))
    ours = PositionBasedModel(prior=(1, 1), init=0.5, max_iter=50, tol=0.0, max_prob=1 - 1e-6, accelerate=False).fit(
        log, query=np.repeat(query, k))
    assert ours.n_iter_ == 50
    np.testing.assert_allclose(ours.examination_, [ref.exam[r].value() for r in range(k)], rtol=0, atol=1e-9)
    pairs = sorted(ref.attr)
    got = ours.attractiveness_of(np.array([d for _, d in pairs]), np.array([q for q, _ in pairs]))
    np.testing.assert_allclose(got, [ref.attr[p].value() for p in pairs], rtol=0, atol=1e-9)
    # the numbers moved far from the start: the comparison is not of two untouched initial states
    assert np.abs(ours.examination_ - 0.5).max() > 0.2


def test_pbm_recovers_world_parameters_within_three_standard_errors():
    log = pbm_rows(300_000, seed=0)
    _, exam, attr = pbm_world()
    m = PositionBasedModel().fit(log)
    z_e = (m.relative_examination_[1:] - exam[1:] / exam[0]) / m.relative_examination_se_[1:]
    z_a = (m.scaled_attractiveness_ - attr * exam[0]) / m.scaled_attractiveness_se_
    assert np.all(np.abs(z_e) < 3), z_e
    assert np.all(np.abs(z_a) < 3), np.abs(z_a).max()
    # the standard errors are calibrated: the z-scores spread like a standard normal
    assert 0.8 < z_a.std() < 1.2 and abs(z_a.mean()) < 0.3


def test_pbm_standard_errors_match_the_spread_over_replications():
    ests = []
    for seed in range(30):
        m = PositionBasedModel(prior=(0, 0)).fit(pbm_rows(20_000, n_items=20, seed=seed))
        ests.append(m.relative_examination_[1:])
    last_se = m.relative_examination_se_[1:]
    sd = np.std(ests, axis=0, ddof=1)
    np.testing.assert_allclose(last_se, sd, rtol=0.35)


def test_examination_matters_pbm_beats_item_ctr_on_held_out_position_rows():
    log = pbm_rows(60_000, seed=5)
    tr, te = log[:48_000], log[48_000:]
    pbm = PositionBasedModel().fit(tr).score(te)
    item = ClickThroughRateModel("item").fit(tr).score(te)
    d = pbm.row_loglik - item.row_loglik
    assert d.mean() / (d.std(ddof=1) / np.sqrt(d.size)) > 5
    assert np.all(pbm.perplexity_by_position <= item.perplexity_by_position)


def test_per_query_attractiveness_and_unseen_fallback():
    rng = np.random.default_rng(0)
    n = 40_000
    item, pos, q = rng.integers(0, 4, n), rng.integers(0, 2, n), rng.integers(0, 2, n)
    attr = np.array([[0.1, 0.2, 0.3, 0.4], [0.4, 0.3, 0.2, 0.1]])
    click = (rng.random(n) < np.array([1.0, 0.5])[pos] * attr[q, item]).astype(float)
    log = BanditLog(action=item, reward=click, position=pos)
    m = PositionBasedModel(prior=(0, 0)).fit(log, query=q)
    got = m.attractiveness_of(np.array([0, 3, 0, 3]), np.array([0, 0, 1, 1])) * m.examination_[0]
    np.testing.assert_allclose(got, [0.1, 0.4, 0.4, 0.1], atol=0.03)
    assert m.attractiveness_of(np.array([0]), np.array([7]))[0] == 0.5  # unseen pair: the start value
    with pytest.raises(ConfigError, match="query"):
        m.score(log)


def test_accelerated_em_reaches_the_plain_em_fixed_point_in_fewer_updates():
    log = pbm_rows(100_000, n_items=50, seed=4)
    plain = PositionBasedModel(accelerate=False, max_iter=100_000, tol=1e-11).fit(log)
    fast = PositionBasedModel(tol=1e-11).fit(log)
    np.testing.assert_allclose(fast.relative_examination_, plain.relative_examination_, atol=1e-7)
    np.testing.assert_allclose(fast.scaled_attractiveness_, plain.scaled_attractiveness_, atol=1e-7)
    assert fast.n_iter_ < plain.n_iter_ / 5
    # 20 plain updates are far from the fixed point: the comparison above is not vacuous
    early = PositionBasedModel(accelerate=False, max_iter=20, tol=0).fit(log)
    assert np.abs(early.relative_examination_ - plain.relative_examination_).max() > 1e-4


def test_expected_and_observed_information():
    log = pbm_rows(100_000, n_items=30, seed=6)
    e = PositionBasedModel(stderr="expected").fit(log)
    o = PositionBasedModel(stderr="observed").fit(log)
    # at an interior maximum with plenty of data the two agree closely
    np.testing.assert_allclose(e.relative_examination_se_[1:], o.relative_examination_se_[1:], rtol=0.1)
    np.testing.assert_allclose(e.scaled_attractiveness_se_, o.scaled_attractiveness_se_, rtol=0.1)
    # an item without clicks fitted by maximum likelihood sits on the boundary (alpha = 0): the
    # observed information is no maximum there (nan), the expected one still gives the slots' errors
    item, pos = np.tile(np.arange(4), 500), np.repeat(np.arange(2), 1000)
    click = ((item < 3) & (np.arange(2000) % 7 == 0)).astype(float)
    log0 = BanditLog(action=item, reward=click, position=pos)
    eb = PositionBasedModel(prior=(0, 0), stderr="expected").fit(log0)
    ob = PositionBasedModel(prior=(0, 0), stderr="observed").fit(log0)
    assert eb.attractiveness_[3] < 1e-6
    assert np.isfinite(eb.relative_examination_se_[1]) and eb.relative_examination_se_[1] > 0
    assert np.isnan(ob.relative_examination_se_[1])


@pytest.mark.parametrize("kwargs, match", [
    ({"prior": (-1, 1)}, "prior"), ({"prior": 3}, "prior"), ({"init": 1.0}, "init"),
    ({"max_iter": 0}, "max_iter"), ({"max_prob": 0}, "max_prob"), ({"stderr": "boot"}, "stderr"),
])
def test_bad_hyperparameters(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        PositionBasedModel(**kwargs)


def test_bad_logs_name_the_field_and_row():
    with pytest.raises(InvalidLogError, match="position"):
        PositionBasedModel().fit(BanditLog(action=[0, 1], reward=[0.0, 1.0]))
    with pytest.raises(InvalidLogError, match=r"`reward` must hold clicks.*row 2.*0\.5"):
        PositionBasedModel().fit(BanditLog(action=[0, 1, 1], reward=[0.0, 1.0, 0.5], position=[0, 1, 0]))
    with pytest.raises(ConfigError, match="not fitted"):
        PositionBasedModel().score(BanditLog(action=[0], reward=[0.0], position=[0]))
    m = PositionBasedModel().fit(BanditLog(action=[0, 1], reward=[0.0, 1.0], position=[0, 1]))
    with pytest.raises(ConfigError, match="slot 2"):
        m.score(BanditLog(action=[0], reward=[0.0], position=[2]))


def test_exam_constant_is_the_truth_used():
    # guard for the fixtures: the PBM world's expected reward is examination x attractiveness
    world, exam, attr = pbm_world()
    np.testing.assert_allclose(world.expected_reward([0, 0, 0], [5, 5, 5], [0, 1, 2]), exam * attr[5], rtol=1e-12)
    assert EXAM is exam
