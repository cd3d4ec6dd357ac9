"""Exact expectations of the slate estimators on enumerable worlds (every logged slate and click
outcome listed with its probability) against the closed-form value of the target policy.

Theory: standard slate IPS is unbiased for every reward structure (full support); IIPS under
independence; RIPS and Cascade-DR (with any model of the prefix) under the cascade assumption,
which independence satisfies too; the pseudo-inverse estimator when the slate reward is additive
(independent clicks). Each is *measurably* biased (> 1e-3) where its assumption fails.
"""

from __future__ import annotations

import numpy as np
import pytest

from simrec.estimators import ope
from simrec.testing.slate_worlds import (
    CLICK_MODELS,
    SlateWorld,
    enumerated_log,
    exact_moments,
    plackett_luce,
    policy_value,
    prefix_model,
    product_distribution,
    true_q,
)

pytestmark = pytest.mark.filterwarnings("ignore::simrec.errors.SimrecWarning")

ATTRACT = [0.6, 0.3, 0.45, 0.15, 0.5]
EXAM = [1.0, 0.7, 0.5]
LOGGING = plackett_luce([1.0, 1.2, 0.8, 1.1, 0.9], 3)
TARGET = plackett_luce([3.0, 0.5, 1.5, 0.3, 1.0], 3)
EXACT, BIAS = 1e-12, 1e-3


def _inputs(name: str, t: dict) -> tuple[ope.SlateEstimator, dict]:
    return {
        "SlateIPS": (ope.SlateIPS(), {"pi_slate": t["pi_slate"]}),
        "IIPS": (ope.IIPS(), {"pi_marginal": t["pi_marginal"]}),
        "RIPS": (ope.RIPS(), {"pi_cascade": t["pi_cascade"]}),
        "CascadeDR": (ope.CascadeDR(), {"cascade_dist": t["cascade_dist"], "q_hat": t["q_hat"]}),
        "PseudoInverse": (ope.PseudoInverse(), {"slot_dist": t["slot_dist"],
                                                "logging_moment": t["logging_moment"]}),
    }[name]


#: (estimator, click model) -> unbiased?
THEORY = {
    "SlateIPS": {"independent": True, "cascade": True, "standard": True},
    "IIPS": {"independent": True, "cascade": False, "standard": False},
    "RIPS": {"independent": True, "cascade": True, "standard": False},
    "CascadeDR": {"independent": True, "cascade": True, "standard": False},
    "PseudoInverse": {"independent": True, "cascade": False, "standard": False},
}


@pytest.fixture(scope="module", params=CLICK_MODELS)
def world(request):
    w = SlateWorld(ATTRACT, EXAM, request.param)
    # an arbitrary (wrong) model of the prefix: Cascade-DR's unbiasedness must not depend on it
    log, t, probs = enumerated_log(w, LOGGING, TARGET, q_hat=prefix_model(seed=3, n_items=5))
    return w, log, t, probs, policy_value(w, TARGET)


@pytest.mark.parametrize("name", list(THEORY))
def test_exact_expectation_against_truth(world, name):
    w, log, t, probs, truth = world
    est, kw = _inputs(name, t)
    mean, _ = exact_moments(est, log, probs, **kw)
    bias = mean - truth
    if THEORY[name][w.click_model]:
        assert abs(bias) < EXACT, f"{name} should be unbiased under {w.click_model} clicks; bias {bias:.3g}"
    else:
        assert abs(bias) > BIAS, f"{name} should be biased under {w.click_model} clicks; bias {bias:.3g}"


def test_truth_is_the_value_of_the_target_not_of_the_logger(world):
    """The worlds separate the policies: an estimator returning the logger's value would fail."""
    w, log, _, probs, truth = world
    on_policy = float(probs @ log.reward.sum(axis=1))
    assert abs(on_policy - policy_value(w, LOGGING)) < EXACT
    assert abs(truth - on_policy) > 0.02


def test_cascade_dr_with_the_true_model_has_less_variance_than_rips():
    """Under cascade clicks the exact Q removes variance: Cascade-DR's exact variance is below RIPS's,
    and both stay unbiased."""
    w = SlateWorld(ATTRACT, EXAM, "cascade")
    log, t, probs = enumerated_log(w, LOGGING, TARGET, q_hat=lambda S: true_q(w, TARGET, S))
    truth = policy_value(w, TARGET)
    m_dr, v_dr = exact_moments(ope.CascadeDR(), log, probs, cascade_dist=t["cascade_dist"], q_hat=t["q_hat"])
    m_rips, v_rips = exact_moments(ope.RIPS(), log, probs, pi_cascade=t["pi_cascade"])
    assert abs(m_dr - truth) < EXACT and abs(m_rips - truth) < EXACT
    assert v_dr < 0.6 * v_rips


def test_iips_has_less_variance_than_standard_ips_under_independence():
    w = SlateWorld(ATTRACT, EXAM, "independent")
    log, t, probs = enumerated_log(w, LOGGING, TARGET)
    _, v_iips = exact_moments(ope.IIPS(), log, probs, pi_marginal=t["pi_marginal"])
    _, v_rips = exact_moments(ope.RIPS(), log, probs, pi_cascade=t["pi_cascade"])
    _, v_sips = exact_moments(ope.SlateIPS(), log, probs, pi_slate=t["pi_slate"])
    assert v_iips < v_rips < v_sips


# -- the pseudo-inverse estimator's two forms ---------------------------------------------------------
# a Cartesian slate space: slot 0 shows one of items 0-2, slot 1 one of items 3-5
POOLS = np.zeros((6, 2))


def _product(p0, p1):
    m = POOLS.copy()
    m[:3, 0] = p0
    m[3:, 1] = p1
    return product_distribution(m)


PRODUCT_LOGGING = _product([0.5, 0.3, 0.2], [0.2, 0.3, 0.5])


def _mixture(a, b, wa):
    """A target on the same space that is not a product (slots correlated)."""
    s = np.vstack([a.slates, b.slates])
    p = np.concatenate([wa * a.probs, (1 - wa) * b.probs])
    return type(a)(s, p, a.n_items)


PRODUCT_TARGET = _mixture(_product([0.8, 0.1, 0.1], [0.1, 0.1, 0.8]), _product([0.1, 0.1, 0.8], [0.8, 0.1, 0.1]), 0.6)
ATTRACT6 = [0.6, 0.3, 0.45, 0.15, 0.5, 0.7]


@pytest.mark.parametrize("click_model", CLICK_MODELS)
def test_pseudo_inverse_product_form(click_model):
    """Under product logging the closed form equals the general pseudo-inverse weights, and it is
    unbiased exactly when the slate reward is additive."""
    w = SlateWorld(ATTRACT6, [1.0, 0.6], click_model)
    log, t, probs = enumerated_log(w, PRODUCT_LOGGING, PRODUCT_TARGET)
    truth = policy_value(w, PRODUCT_TARGET)
    closed = ope.PseudoInverse().contributions(log, pi_marginal=t["pi_marginal"])
    general = ope.PseudoInverse().contributions(log, slot_dist=t["slot_dist"], logging_moment=t["logging_moment"])
    np.testing.assert_allclose(closed, general, rtol=1e-9, atol=1e-12)
    bias = float(probs @ closed) - truth
    if click_model == "independent":
        assert abs(bias) < EXACT
    else:
        assert abs(bias) > BIAS


def test_pseudo_inverse_product_form_is_biased_when_logging_is_not_a_product():
    """Plackett-Luce logging (without replacement) breaks the product form even under additivity;
    the general form with the logger's moment matrix stays unbiased."""
    w = SlateWorld(ATTRACT, EXAM, "independent")
    log, t, probs = enumerated_log(w, LOGGING, TARGET)
    truth = policy_value(w, TARGET)
    m_prod, _ = exact_moments(ope.PseudoInverse(), log, probs, pi_marginal=t["pi_marginal"])
    m_gen, _ = exact_moments(ope.PseudoInverse(), log, probs, slot_dist=t["slot_dist"],
                             logging_moment=t["logging_moment"])
    assert abs(m_gen - truth) < EXACT
    assert abs(m_prod - truth) > BIAS


@pytest.mark.parametrize("click_model", CLICK_MODELS)
def test_self_normalised_estimators_are_consistent(click_model):
    """Self-normalised estimators are ratios (biased at small n) but consistent: on the enumerated log
    taken as the population (its rows weighted by their probabilities: multiplying every target
    probability of a row by the row's probability, a factor the self-normalisation cancels) they
    equal the truth exactly where their unnormalised version is unbiased, and differ where not."""
    w = SlateWorld(ATTRACT, EXAM, click_model)
    log, t, probs = enumerated_log(w, LOGGING, TARGET)
    truth = policy_value(w, TARGET)
    pr = probs[:, None]
    cases = {
        "SlateIPS": ope.SNSlateIPS().estimate(log, pi_slate=t["pi_slate"] * probs).value,
        "IIPS": ope.SNIIPS().estimate(log, pi_marginal=t["pi_marginal"] * pr).value,
        "RIPS": ope.SNRIPS().estimate(log, pi_cascade=t["pi_cascade"] * pr).value,
    }
    for name, value in cases.items():
        if THEORY[name][click_model]:
            assert abs(value - truth) < 1e-9, name
        else:
            assert abs(value - truth) > BIAS, name


@pytest.mark.slow
@pytest.mark.parametrize("name", ["SNSlateIPS", "SNIIPS", "SNRIPS", "CascadeDR"])
def test_normal_intervals_cover_the_truth(name):
    """Monte Carlo: 400 logs of 600 slates each from the cascade world; the 95% normal interval of each
    estimator (delta-method standard errors for the self-normalised ones) covers the exact value
    at the nominal rate, within 3 Monte Carlo standard errors."""
    w = SlateWorld(ATTRACT, EXAM, "cascade")
    log, t, probs = enumerated_log(w, LOGGING, TARGET, q_hat=prefix_model(seed=5, n_items=5))
    truth = policy_value(w, TARGET)
    est = {"SNSlateIPS": ope.SNSlateIPS(), "SNIIPS": ope.SNIIPS(), "SNRIPS": ope.SNRIPS(),
           "CascadeDR": ope.CascadeDR()}[name]
    keys = {"SNSlateIPS": ("pi_slate",), "SNIIPS": ("pi_marginal",), "SNRIPS": ("pi_cascade",),
            "CascadeDR": ("pi_cascade", "q_logged", "q_pi")}[name]
    rng = np.random.default_rng(11)
    reps, n, hits = 400, 600, 0
    for _ in range(reps):
        idx = rng.choice(probs.size, size=n, p=probs)
        e = est.estimate(log[idx], **{k: t[k][idx] for k in keys})
        hits += e.ci[0] <= truth <= e.ci[1]
    cover = hits / reps
    se = np.sqrt(0.95 * 0.05 / reps)
    if name == "SNIIPS":  # biased under cascade clicks: its interval must miss more often
        assert cover < 0.95 - 3 * se
    else:
        assert abs(cover - 0.95) < 3 * se, cover
