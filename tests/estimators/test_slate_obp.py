"""Slate estimators equal Open Bandit Pipeline 0.5.7's definitions on identical inputs (to 1e-9).

The reference is a transcription of OBP's formulas in OBP's long format
(``_obp_slate_reference.py`` next to this file); simrec's estimators are fed the same numbers in
their (n, K) reduced form and, where offered, in the dense (n, n_items, K) form.
"""

from __future__ import annotations

import _obp_slate_reference as obp
import numpy as np
import pytest

from simrec.data import SlateLog
from simrec.estimators import ope
from simrec.testing.slate_worlds import plackett_luce

# weight diagnostics are not what these tests are about (the zero-target case has extreme weights)
pytestmark = pytest.mark.filterwarnings("ignore::simrec.errors.SimrecWarning")

N_ITEMS, K, N = 6, 3, 500


def _problem(seed: int, target_weights=None, zero_target: bool = False):
    """Slates drawn from a Plackett-Luce logger, continuous slot rewards, exact propensities of
    logger and target, and an arbitrary dense reward model."""
    rng = np.random.default_rng(seed)
    logging = plackett_luce(rng.uniform(0.5, 2.0, N_ITEMS), K)
    tw = rng.uniform(0.1, 3.0, N_ITEMS) if target_weights is None else np.asarray(target_weights, float)
    target = plackett_luce(tw, K)
    if zero_target:  # the target never shows item 0: many zero weights
        keep = ~(target.slates == 0).any(axis=1)
        target = type(target)(target.slates[keep], target.probs[keep] / target.probs[keep].sum(), N_ITEMS)
    idx = rng.choice(logging.probs.size, size=N, p=logging.probs)
    S = logging.slates[idx]
    reward = rng.normal(0.3, 1.0, size=(N, K)) * (rng.random((N, K)) < 0.5)
    mm = logging.marginals()
    log = SlateLog(slate=S, reward=reward, pscore=logging.probs[idx],
                   pscore_marginal=mm[S, np.arange(K)[None, :]], pscore_cascade=logging.prefix_probs(S),
                   n_items=N_ITEMS)
    tm = target.marginals()
    cond = target.conditionals(S)
    empty = cond.sum(axis=1) == 0  # prefixes the target never shows: any law (zero prefix weight)
    i, k = np.nonzero(empty)
    cond[i, :, k] = 1.0 / N_ITEMS
    q_hat = rng.uniform(-0.5, 1.5, size=(N, N_ITEMS, K))
    return log, {
        "pi_slate": target.prob(S), "pi_marginal": tm[S, np.arange(K)[None, :]],
        "pi_cascade": target.prefix_probs(S), "slot_dist": np.broadcast_to(tm[None], (N, N_ITEMS, K)),
        "cascade_dist": cond, "q_hat": q_hat,
    }


CASES = [dict(), dict(zero_target=True), dict(target_weights=np.ones(N_ITEMS))]


@pytest.fixture(params=range(len(CASES)), ids=["pl", "zero-target", "uniform-target"])
def problem(request):
    return _problem(request.param, **CASES[request.param])


def _close(a: float, b: float) -> None:
    assert a == pytest.approx(b, rel=1e-9, abs=1e-12)


def test_standard_ips_equals_obp(problem):
    log, t = problem
    d = obp.to_long(log.slate, log.reward)
    ref = obp.sips(d["slate_id"], d["reward"], d["position"], np.repeat(log.pscore, K), np.repeat(t["pi_slate"], K))
    _close(ope.SlateIPS().estimate(log, pi_slate=t["pi_slate"]).value, ref)
    ref_sn = obp.snsips(d["slate_id"], d["reward"], d["position"], np.repeat(log.pscore, K),
                        np.repeat(t["pi_slate"], K))
    _close(ope.SNSlateIPS().estimate(log, pi_slate=t["pi_slate"]).value, ref_sn)
    assert abs(ref - ref_sn) > 1e-6  # the two definitions differ on this data


#: per-slot IPS: (estimator, self-normalised one, OBP's two, logging probabilities, reduced and dense target)
PER_SLOT = {
    "independent": (ope.IIPS, ope.SNIIPS, obp.iips, obp.sniips, "pscore_marginal", "pi_marginal", "slot_dist"),
    "reward-interaction": (ope.RIPS, ope.SNRIPS, obp.rips, obp.snrips, "pscore_cascade", "pi_cascade",
                           "cascade_dist"),
}


@pytest.mark.parametrize("weights", PER_SLOT)
def test_per_slot_ips_equals_obp(problem, weights):
    """IIPS / RIPS and their self-normalised versions, from the reduced and the dense target inputs."""
    est, sn_est, ref_fn, sn_ref_fn, pscore, reduced, dense = PER_SLOT[weights]
    log, t = problem
    d = obp.to_long(log.slate, log.reward)
    args = (d["slate_id"], d["reward"], d["position"], getattr(log, pscore).reshape(-1), t[reduced].reshape(-1))
    ref, ref_sn = ref_fn(*args), sn_ref_fn(*args, len_list=K)
    for key in (reduced, dense):
        _close(est().estimate(log, **{key: t[key]}).value, ref)
        _close(sn_est().estimate(log, **{key: t[key]}).value, ref_sn)


def test_cascade_dr_equals_obp(problem):
    log, t = problem
    d = obp.to_long(log.slate, log.reward)
    # OBP flattens (slate, slot, item); simrec's dense layout is (slate, item, slot)
    q_flat = t["q_hat"].transpose(0, 2, 1).reshape(-1)
    dist_flat = t["cascade_dist"].transpose(0, 2, 1).reshape(-1)
    ref = obp.cascade_dr(d["slate_id"], d["action"], d["reward"], d["position"], log.pscore_cascade.reshape(-1),
                         t["pi_cascade"].reshape(-1), q_flat, dist_flat, K, N_ITEMS)
    dense = ope.CascadeDR().estimate(log, cascade_dist=t["cascade_dist"], q_hat=t["q_hat"]).value
    idx = np.arange(N)[:, None]
    q_logged = t["q_hat"][idx, log.slate, np.arange(K)[None, :]]
    q_pi = (t["cascade_dist"] * t["q_hat"]).sum(axis=1)
    reduced = ope.CascadeDR().estimate(log, pi_cascade=t["pi_cascade"], q_logged=q_logged, q_pi=q_pi).value
    _close(dense, ref)
    _close(reduced, ref)
    # and with the model switched off Cascade-DR is RIPS
    zero = np.zeros((N, K))
    _close(ope.CascadeDR().estimate(log, pi_cascade=t["pi_cascade"], q_logged=zero, q_pi=zero).value,
           ope.RIPS().estimate(log, pi_cascade=t["pi_cascade"]).value)


def test_contributions_are_per_slate_sums_of_obp_rows(problem):
    """The per-slate contributions of IIPS sum OBP's per-(slate, slot) rows (what its bootstrap uses)."""
    log, t = problem
    rows = log.reward * t["pi_marginal"] / log.pscore_marginal
    np.testing.assert_allclose(ope.IIPS().contributions(log, pi_marginal=t["pi_marginal"]), rows.sum(axis=1),
                               rtol=1e-12)


def test_single_slot_estimators_coincide():
    """With one slot the joint, marginal and prefix weights are the same number."""
    log, t = _problem(4)
    one = SlateLog(slate=log.slate[:, :1], reward=log.reward[:, :1], pscore=log.pscore_marginal[:, 0],
                   pscore_marginal=log.pscore_marginal[:, :1], pscore_cascade=log.pscore_marginal[:, :1],
                   n_items=N_ITEMS)
    p = t["pi_marginal"][:, :1]
    vals = [ope.SlateIPS().estimate(one, pi_slate=p[:, 0]).value, ope.IIPS().estimate(one, pi_marginal=p).value,
            ope.RIPS().estimate(one, pi_cascade=p).value, ope.PseudoInverse().estimate(one, pi_marginal=p).value]
    assert np.ptp(vals) < 1e-12
