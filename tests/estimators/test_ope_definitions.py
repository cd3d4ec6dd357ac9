"""Each estimator equals its definition (docs/estimators.md) on hand-computed logs (1e-12), and its
expectation equals the true value, by exact enumeration, on small worlds where it is unbiased."""

from __future__ import annotations

import numpy as np
import pytest
from _ope_world import World, random_world, softmax

from simrec.estimators import ope

pytestmark = pytest.mark.filterwarnings("ignore::simrec.errors.SmallSampleWarning")

A = np.array([0, 1, 2, 1, 0])
R = np.array([1.0, 0.0, 0.5, 1.0, 0.2])
P = np.array([0.5, 0.25, 0.25, 0.4, 0.2])
PI = np.array([[0.6, 0.3, 0.1], [0.2, 0.5, 0.3], [0.1, 0.1, 0.8], [0.3, 0.3, 0.4], [1.0, 0.0, 0.0]])
Q = np.array([[0.7, 0.2, 0.4], [0.1, 0.3, 0.9], [0.5, 0.5, 0.6], [0.8, 0.6, 0.1], [0.3, 0.2, 0.2]])
N = len(A)


def by_hand(kind: str, **p) -> float:
    """The definitions written as plain loops."""
    w = [PI[i][A[i]] / P[i] for i in range(N)]
    qpi = [sum(PI[i][a] * Q[i][a] for a in range(3)) for i in range(N)]
    res = [R[i] - Q[i][A[i]] for i in range(N)]
    if kind == "ips":
        c = p.get("clip", float("inf"))
        return sum(min(w[i], c) * R[i] for i in range(N)) / N
    if kind == "snips":
        return sum(w[i] * R[i] for i in range(N)) / sum(w)
    if kind == "dm":
        return sum(qpi) / N
    if kind == "dr":
        c = p.get("clip", float("inf"))
        return sum(qpi[i] + min(w[i], c) * res[i] for i in range(N)) / N
    if kind == "sndr":
        mw = sum(w) / N
        return sum(qpi[i] + w[i] * res[i] / mw for i in range(N)) / N
    if kind == "switch":
        t = p["tau"]
        return sum(qpi[i] + (w[i] if w[i] <= t else 0.0) * res[i] for i in range(N)) / N
    if kind == "dros":
        lam = p["lam"]
        return sum(qpi[i] + lam * w[i] / (w[i] ** 2 + lam) * res[i] for i in range(N)) / N
    if kind == "sg":
        lam = p["lam"]
        return sum(w[i] / (1 - lam + lam * w[i]) * R[i] for i in range(N)) / N
    raise AssertionError(kind)


CASES = [
    (ope.IPS(), "ips", {}),
    (ope.IPS(clip=1.5), "ips", {"clip": 1.5}),
    (ope.SNIPS(), "snips", {}),
    (ope.DM(), "dm", {}),
    (ope.DR(), "dr", {}),
    (ope.DR(clip=1.5), "dr", {"clip": 1.5}),
    (ope.SNDR(), "sndr", {}),
    (ope.SwitchDR(tau=2.0), "switch", {"tau": 2.0}),
    (ope.SwitchDR(tau=100.0), "switch", {"tau": 100.0}),
    (ope.DRos(lam=0.7), "dros", {"lam": 0.7}),
    (ope.SubGaussianIPS(lam=0.3), "sg", {"lam": 0.3}),
    (ope.SubGaussianIPS(lam=0.0), "ips", {}),
]
IDS = [f"{e.label}-{p}" for e, _, p in CASES]


@pytest.fixture
def log():
    return ope.BanditLog(action=A, reward=R, pscore=P, n_actions=3)


@pytest.mark.parametrize(("est", "kind", "params"), CASES, ids=IDS)
def test_matches_definition(est, kind, params, log):
    e = est.estimate(log, PI, Q)
    assert e.value == pytest.approx(by_hand(kind, **params), abs=1e-12)
    assert e.n == N and e.name == est.label
    assert e.contributions.mean() == pytest.approx(e.value, abs=1e-12)
    np.testing.assert_allclose(est.contributions(log, PI, Q), e.contributions, atol=1e-15)


@pytest.mark.parametrize(("est", "kind", "params"), CASES, ids=IDS)
def test_reduced_form_equals_dense(est, kind, params, log):
    rows = np.arange(N)
    red = dict(pi_logged=PI[rows, A], q_pi=(PI * Q).sum(1), q_logged=Q[rows, A])
    v_kw = est.estimate(log, **red).value
    v_obj = est.estimate(log, ope.ReducedInputs(**red)).value
    assert v_kw == pytest.approx(by_hand(kind, **params), abs=1e-12)
    assert v_obj == v_kw


@pytest.mark.parametrize(("est", "kind", "params"), CASES, ids=IDS)
def test_slot_axis_uses_logged_position(est, kind, params):
    """(n, K, L) inputs with ``log.position`` read the slice of each row's slot."""
    pos = np.array([1, 0, 2, 1, 0])
    rng = np.random.default_rng(3)
    ad3 = softmax(rng.normal(size=(N, 3, 3)).transpose(0, 2, 1)).transpose(0, 2, 1)
    q3 = rng.random((N, 3, 3))
    ad3[np.arange(N), :, pos] = PI
    q3[np.arange(N), :, pos] = Q
    log = ope.BanditLog(action=A, reward=R, pscore=P, position=pos, n_actions=3)
    assert est.estimate(log, ad3, q3).value == pytest.approx(by_hand(kind, **params), abs=1e-12)


def test_name_default_and_override():
    """One spelling: an estimator's results carry its registry (class) name unless renamed."""
    assert [ope.IPS().label, ope.DR().label, ope.SwitchDR().label, ope.DRos().label] == [
        "IPS", "DR", "SwitchDR", "DRos"]
    assert ope.IPS(clip=5, name="ips5").label == "ips5" and ope.IPS(clip=5, name="ips5").name == "ips5"
    assert ope.SwitchDR(tau=3.0).tau == 3.0 and ope.DRos(lam=2.0).lam == 2.0
    assert ope.SubGaussianIPS(lam=0.2).lam == 0.2 and ope.IPS(clip=2).clip == 2.0


def test_mips_definition():
    emb = np.array([[0.0], [0.0], [1.0]])  # actions 0 and 1 share an embedding
    pi0 = np.array([[0.5, 0.2, 0.3], [0.25, 0.25, 0.5], [0.5, 0.25, 0.25], [0.2, 0.4, 0.4],
                    [0.2, 0.3, 0.5]])
    log = ope.BanditLog(action=A, reward=R, pscore=pi0[np.arange(N), A], action_embed=emb)
    cat = [0, 0, 1]
    want = 0.0
    for i in range(N):
        same = [a for a in range(3) if cat[a] == cat[A[i]]]
        want += sum(PI[i][a] for a in same) / sum(pi0[i][a] for a in same) * R[i] / N
    assert ope.MIPS().estimate(log, PI, logging_dist=pi0).value == pytest.approx(want, abs=1e-12)
    p0e = np.array([sum(pi0[i][a] for a in range(3) if cat[a] == cat[A[i]]) for i in range(N)])
    assert ope.MIPS().estimate(log, PI, pscore_embed=p0e).value == pytest.approx(want, abs=1e-12)


def test_replay_definition_deterministic_target_uniform_logger():
    target = np.eye(3)[[0, 2, 2, 1, 1]]  # matches the logged action in rows 0, 2, 3
    log = ope.BanditLog(action=A, reward=R, pscore=np.full(N, 1 / 3))
    e = ope.Replay().estimate(log, target)
    assert e.value == pytest.approx((R[0] + R[2] + R[3]) / 3, abs=1e-12)
    assert e.diagnostics["n_accepted"] == 3 and e.ess == 3


def test_replay_rejection_sampling_is_seeded_and_unbiased_on_average():
    log = ope.BanditLog(action=A, reward=R, pscore=P)
    a = ope.Replay(random_state=1).estimate(log, PI).value
    assert ope.Replay(random_state=1).estimate(log, PI).value == a
    w = PI[np.arange(N), A] / P
    # average over the acceptance draws of sum(A r)/sum(A) is close to the SNIPS-like ratio
    vals = [ope.Replay(random_state=s).contributions(log, PI).mean() for s in range(3000)]
    accept = w / w.max()
    # exact expectation of the replay ratio by enumerating the 2^5 acceptance patterns
    exact = 0.0
    for bits in range(1, 32):
        m = np.array([(bits >> j) & 1 for j in range(N)], bool)
        pr = np.prod(np.where(m, accept, 1 - accept))
        exact += pr * R[m].mean()
    exact /= 1 - np.prod(1 - accept)
    assert np.mean(vals) == pytest.approx(exact, abs=4 * np.std(vals) / np.sqrt(3000))


def test_balanced_ips_definition():
    lp = np.array([[0.5, 0.1], [0.25, 0.5], [0.25, 0.3], [0.4, 0.2], [0.2, 0.6]])
    log = ope.BanditLog(action=A, reward=R, pscore=P, logger_id=[0, 0, 1, 1, 1])
    avg = lp @ np.array([0.4, 0.6])
    want = sum(PI[i][A[i]] / avg[i] * R[i] for i in range(N)) / N
    assert ope.BalancedIPS().estimate(log, PI, logger_pscores=lp).value == pytest.approx(want, abs=1e-12)
    assert ope.BalancedIPS().estimate(log, PI, pscore_avg=avg).value == pytest.approx(want, abs=1e-12)


# ---- exact expectations by enumeration ------------------------------------------------------------
WORLD = random_world(np.random.default_rng(11))
Q_WRONG = np.random.default_rng(5).random(WORLD.mu.shape)
W_MAX = float((WORLD.pi / WORLD.pi0).max())

UNBIASED = [
    (ope.IPS(), None),
    (ope.IPS(clip=W_MAX), None),
    (ope.SubGaussianIPS(lam=0.0), None),
    (ope.DM(), WORLD.mu),
    (ope.DR(), Q_WRONG),
    (ope.DR(), WORLD.mu),
    (ope.SwitchDR(tau=W_MAX), Q_WRONG),
    (ope.SwitchDR(tau=0.5), WORLD.mu),
    (ope.DRos(lam=0.3), WORLD.mu),
    (ope.DR(clip=0.5), WORLD.mu),
]


@pytest.mark.parametrize(("est", "q"), UNBIASED, ids=[f"{e!r}-{'none' if q is None else 'q'}"
                                                      for e, q in UNBIASED])
def test_expectation_equals_truth_by_enumeration(est, q):
    log, ad, qh, prob = WORLD.enumerate(q)
    assert prob.sum() == pytest.approx(1.0, abs=1e-12)
    assert prob @ est.contributions(log, ad, qh) == pytest.approx(WORLD.truth, abs=1e-12)


@pytest.mark.parametrize("est", [ope.IPS(clip=0.5), ope.SubGaussianIPS(lam=0.5), ope.DM(),
                                 ope.DRos(lam=0.3)], ids=repr)
def test_enumeration_detects_bias(est):
    """The enumeration check can fail: biased configurations miss the truth."""
    log, ad, qh, prob = WORLD.enumerate(Q_WRONG)
    assert abs(prob @ est.contributions(log, ad, qh) - WORLD.truth) > 1e-3


def test_mips_unbiased_when_reward_depends_on_embedding_only():
    rng = np.random.default_rng(2)
    cat = np.array([0, 0, 1, 1, 2])
    mu = rng.uniform(0.1, 0.9, (3, 3))[:, cat]
    w = World(np.array([0.2, 0.5, 0.3]), mu, softmax(rng.normal(size=(3, 5))),
              softmax(rng.normal(size=(3, 5))))
    log, ad, _, prob = w.enumerate()
    log = log.replace(action_embed=cat[:, None].astype(float))
    x = log.context.argmax(1)
    c = ope.MIPS().contributions(log, ad, logging_dist=w.pi0[x])
    assert prob @ c == pytest.approx(w.truth, abs=1e-12)
    # and its variance (over the enumerated rows, weighted by their probabilities) is below IPS's
    c_ips = ope.IPS().contributions(log, ad)
    assert prob @ c_ips**2 - (prob @ c_ips) ** 2 > prob @ c**2 - (prob @ c) ** 2 + 1e-6


def test_balanced_ips_unbiased_for_stratified_loggers():
    rng = np.random.default_rng(4)
    base = random_world(rng)
    pis0 = [softmax(rng.normal(size=base.mu.shape)) for _ in range(2)]
    shares = np.array([0.3, 0.7])
    total = 0.0
    for k, pi0 in enumerate(pis0):
        wk = World(base.px, base.mu, pi0, base.pi)
        log, ad, _, prob = wk.enumerate()
        x = log.context.argmax(1)
        lp = np.stack([p[x, log.action] for p in pis0], axis=1)
        c = ope.BalancedIPS().contributions(log, ad, logger_pscores=lp, logger_shares=shares)
        total += shares[k] * (prob @ c)
    assert total == pytest.approx(base.truth, abs=1e-12)
