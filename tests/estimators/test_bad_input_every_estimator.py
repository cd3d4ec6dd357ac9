"""Bad input raises a named simrec error for every registered bandit estimator."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from simrec.data import BanditLog
from simrec.errors import SimrecError
from simrec.estimators import registry
from simrec.testing.check_estimator import _call, bandit_problem

INFOS = registry.infos(family="bandit")


def _problem():
    return bandit_problem(np.random.default_rng(0), n=200)


def _expect(info, log, inputs, match):
    est = info.cls()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(SimrecError, match=match):
            _call(est, log, inputs)


@pytest.mark.parametrize("info", INFOS, ids=[i.name for i in INFOS])
@pytest.mark.parametrize(("case", "match"), [
    ("nan_reward", "`reward`.*(NaN|finite)"),
    ("pscore_zero", r"`pscore`.*\(0.0, 1.0\]"),
    ("pscore_big", r"`pscore`.*\(0.0, 1.0\]"),
    ("action_dist_rows", "action_dist"),
    ("action_dist_cols", "action_dist"),
    ("action_dist_unnormalised", "action_dist.*sum"),
    ("action_dist_nan", "action_dist"),
])
def test_bad_input(info, case, match):
    log, inputs = _problem()
    ad = np.asarray(inputs["action_dist"])
    needs_ad = "action_dist" in info.cls.needs.inputs
    if case == "nan_reward":
        with pytest.raises(SimrecError, match=match):
            log.replace(reward=np.where(np.arange(len(log)) == 3, np.nan, log.reward))
        return
    if case.startswith("pscore"):
        bad = 0.0 if case == "pscore_zero" else 5.0
        with pytest.raises(SimrecError, match=match):
            log.replace(pscore=np.where(np.arange(len(log)) == 3, bad, log.pscore))
        return
    if not needs_ad:
        pytest.skip(f"{info.name} reads no action_dist")
    bad = {"action_dist_rows": ad[:-1], "action_dist_cols": ad[:, :-1],
           "action_dist_unnormalised": ad * 1.5, "action_dist_nan": np.where(ad == ad.max(), np.nan, ad)}[case]
    _expect(info, log, dict(inputs, action_dist=bad), match)


def test_log_errors_name_the_first_bad_row():
    log, _ = _problem()
    with pytest.raises(SimrecError, match="index 3"):
        BanditLog(action=log.action, reward=np.where(np.arange(len(log)) == 3, np.nan, log.reward),
                  pscore=log.pscore)
