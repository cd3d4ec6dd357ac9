"""Bad input never passes silently: clear errors; statistical danger gives warnings + diagnostics."""

from __future__ import annotations

import numpy as np
import pytest

from simrec.errors import (
    ConfigError,
    ExtremeWeightWarning,
    InvalidLogError,
    SmallSampleWarning,
    SupportDeficiencyWarning,
)
from simrec.estimators import ope

N, K = 200, 5
RNG = np.random.default_rng(0)
ACTION = RNG.integers(0, K, N)
REWARD = RNG.random(N)
PSCORE = np.full(N, 1 / K)
PI = np.full((N, K), 1 / K)
Q = RNG.random((N, K))


def good_log(**kw):
    args = dict(action=ACTION, reward=REWARD, pscore=PSCORE, n_actions=K)
    args.update(kw)
    return ope.BanditLog(**args)


def with_(arr, idx, val):
    out = np.array(arr, dtype=float, copy=True)
    out[idx] = val
    return out


LOG_CASES = [
    ({"reward": with_(REWARD, 7, np.nan)}, r"`reward` must be finite.*index 7.*nan"),
    ({"reward": with_(REWARD, 3, np.inf)}, r"`reward` must be finite.*index 3.*inf"),
    ({"pscore": with_(PSCORE, 11, np.nan)}, r"`pscore` must be finite.*index 11"),
    ({"pscore": with_(PSCORE, 4, 1.7)}, r"`pscore` must lie in \(0.0, 1.0\].*index 4.*1.7"),
    ({"pscore": with_(PSCORE, 2, 0.0)}, r"`pscore` must lie in.*index 2"),
    ({"pscore": with_(PSCORE, 2, -0.3)}, r"`pscore` must lie in.*index 2"),
    ({"reward": REWARD[:-1]}, r"`reward` must have 200 rows.*got 199"),
    ({"pscore": PSCORE[:150]}, r"`pscore` must have 200 rows.*got 150"),
    ({"action": with_(ACTION, 9, K)}, r"`action` must be in \[0, 4\].*index 9.*5"),
    ({"action": with_(ACTION, 9, -1)}, r"`action` must be >= 0.*index 9"),
    ({"action": with_(ACTION, 9, 1.5)}, r"`action` must hold integers.*index 9"),
    ({"context": np.ones((N - 1, 2))}, r"`context` must have 200 rows"),
    ({"position": np.full(N, -1)}, r"`position` must be >= 0"),
    ({"action_embed": np.ones((K + 1, 2))}, r"`action_embed` must have one row per action"),
]


@pytest.mark.parametrize(("kw", "match"), LOG_CASES, ids=[m[:30] for _, m in LOG_CASES])
def test_bad_logs_raise(kw, match):
    with pytest.raises(InvalidLogError, match=match):
        good_log(**kw)


def _bad_dist(kind):
    ad = PI.copy()
    if kind == "negative":
        ad[13] = [-0.5, 0.5, 0.5, 0.25, 0.25]
    elif kind == "nan":
        ad[13, 2] = np.nan
    elif kind == "unnormalised":
        ad[13] *= 0.9
    elif kind == "inf":
        ad[13, 0] = np.inf
    return ad


EST_CASES = [
    (dict(action_dist=_bad_dist("negative")), r"`action_dist` must hold probabilities.*row 13.*-0.5"),
    (dict(action_dist=_bad_dist("nan")), r"`action_dist` must hold probabilities.*row 13.*nan"),
    (dict(action_dist=_bad_dist("inf")), r"`action_dist` .*row 13"),
    (dict(action_dist=_bad_dist("unnormalised")), r"`action_dist` rows must sum to 1.*row 13 sums to 0.9"),
    (dict(q_hat=with_(Q, (17, 3), np.nan)), r"`q_hat` must be finite.*row 17, action 3.*nan"),
    (dict(q_hat=with_(Q, (18, 0), -np.inf)), r"`q_hat` must be finite.*row 18, action 0.*inf"),
    (dict(action_dist=PI[:-3]), r"`action_dist` must have shape \(200, 5\).*got \(197, 5\)"),
    (dict(action_dist=np.full((N, K + 1), 1 / (K + 1))), r"`action_dist` must have shape \(200, 5\)"),
    (dict(q_hat=Q[:, :3]), r"`q_hat` must have the shape of `action_dist`"),
    (dict(action_dist=PI[:, :, None]), r"`log.position` is None"),
    (dict(action_dist=PI.ravel()), r"`action_dist` must have shape \(n, n_actions\)"),
    (dict(pi_logged=with_(np.full(N, 0.2), 5, 1.5), action_dist=None),
     r"`pi_logged` must lie in \[0.0, 1.0\].*index 5.*1.5"),
    (dict(pi_logged=np.full(N - 1, 0.2), action_dist=None), r"reduced inputs have 199 rows"),
    (dict(pi_logged=np.full(N, 0.2), q_pi=with_(np.zeros(N), 8, np.nan), q_logged=np.zeros(N),
          action_dist=None), r"`q_pi` must be finite.*index 8"),
]


@pytest.mark.parametrize(("kw", "match"), EST_CASES, ids=[m[:40] for _, m in EST_CASES])
@pytest.mark.parametrize("est", [ope.DR(), ope.SNDR()], ids=["dr", "sndr"])
def test_bad_estimator_inputs_raise(est, kw, match):
    args = dict(action_dist=PI, q_hat=Q)
    args.update(kw)
    ad = args.pop("action_dist")
    q = args.pop("q_hat")
    with pytest.raises(InvalidLogError, match=match):
        est.estimate(good_log(), ad, q, **args)


def test_bad_inputs_in_chunks_name_global_row():
    ad = _bad_dist("negative")
    with pytest.raises(InvalidLogError, match=r"row 13"):
        ope.ReducedInputs.from_chunks(good_log(), lambda a, b: ad[a:b], chunk_size=8)


def test_missing_requirements_raise():
    with pytest.raises(InvalidLogError, match="needs a reward model"):
        ope.DR().estimate(good_log(), PI)
    with pytest.raises(InvalidLogError, match="`log.pscore` is None.*estimate_pscore"):
        ope.IPS().estimate(good_log(pscore=None), PI)
    with pytest.raises(InvalidLogError, match="must be a BanditLog"):
        ope.IPS().estimate({"action": ACTION}, PI)
    with pytest.raises(InvalidLogError, match="either `action_dist` or `pi_logged`"):
        ope.IPS().estimate(good_log(), PI, pi_logged=np.full(N, 0.2))
    with pytest.raises(InvalidLogError, match="needs `log.action_embed`"):
        ope.MIPS().estimate(good_log(), PI, logging_dist=PI)
    with pytest.raises(InvalidLogError, match="logger_pscores"):
        ope.BalancedIPS().estimate(good_log(), PI)
    zero = np.zeros((N, K))
    zero[np.arange(N), (ACTION + 1) % K] = 1.0  # never the logged action
    with pytest.raises(InvalidLogError, match="undefined"):
        ope.SNIPS().estimate(good_log(), zero)


@pytest.mark.parametrize(("cls", "kw", "match"), [
    (ope.IPS, {"clip": 0}, "`clip` must be a positive"),
    (ope.DR, {"clip": -1}, "`clip` must be a positive"),
    (ope.SwitchDR, {"tau": np.nan}, "`tau` must be a positive"),
    (ope.DRos, {"lam": 0.0}, "`lam` must be a positive"),
    (ope.SubGaussianIPS, {"lam": 1.5}, r"`lam` must lie in \[0, 1\]"),
    (ope.IPS, {"name": ""}, "`name` must be a non-empty string"),
])
def test_bad_hyperparameters(cls, kw, match):
    with pytest.raises(ConfigError, match=match):
        cls(**kw)


def test_duplicate_estimator_names_rejected():
    with pytest.raises(ConfigError, match=r"names must be unique; \['IPS'\]"):
        ope.evaluate(good_log(), {"u": PI}, [ope.IPS(), ope.IPS(clip=2.0)])
    table = ope.evaluate(good_log(), {"u": PI}, [ope.IPS(), ope.IPS(clip=2.0, name="ips-2")])
    assert list(table["estimator"]) == ["IPS", "ips-2"]


def test_bad_interval_arguments():
    e = ope.IPS().estimate(good_log(), PI)
    with pytest.raises(ConfigError, match="`method` must be one of"):
        e.interval("magic")
    with pytest.raises(ConfigError, match="`alpha`"):
        e.interval("normal", alpha=1.5)


# ---- warnings and diagnostics -------------------------------------------------------------------
def test_support_deficiency_warns_and_reports_mass():
    log = good_log(action=ACTION % 3)  # actions 3 and 4 are never logged
    pi = np.tile([0.1, 0.1, 0.2, 0.3, 0.3], (N, 1))
    with pytest.warns(SupportDeficiencyWarning, match="60.00% of its mass on actions never logged"):
        e = ope.IPS().estimate(log, pi)
    assert e.diagnostics["unsupported_mass"] == pytest.approx(0.6)


def test_no_warning_on_a_healthy_log():
    e = ope.DR().estimate(good_log(), PI, Q)  # SimrecWarning is an error in this suite
    assert e.ess == pytest.approx(N) and e.diagnostics["unsupported_mass"] == 0.0


def test_tiny_ess_and_extreme_weight_warn():
    pscore = PSCORE.copy()
    pscore[0] = 1e-6
    log = good_log(pscore=pscore)
    with pytest.warns(SmallSampleWarning, match="effective sample size 1.0"), \
            pytest.warns(ExtremeWeightWarning, match="one row carries"):
        e = ope.IPS().estimate(log, PI)
    d = e.diagnostics
    assert d["max_weight"] == pytest.approx(0.2 / 1e-6)
    assert d["weight_share_max"] > 0.99 and e.ess < 1.01


def test_tiny_log_warns_small_sample():
    with pytest.warns(SmallSampleWarning, match="effective sample size"):
        ope.IPS().estimate(good_log()[:10], PI[:10])


def test_evaluate_records_warnings():
    log = good_log(action=ACTION % 3)
    pi = np.tile([0.1, 0.1, 0.2, 0.3, 0.3], (N, 1))
    with pytest.warns(SupportDeficiencyWarning):
        t = ope.evaluate(log, {"p": pi}, [ope.IPS()])
    assert t.loc[0, "warnings"] == "SupportDeficiencyWarning"
    assert t.loc[0, "unsupported_mass"] == pytest.approx(0.6)
