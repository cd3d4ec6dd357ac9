"""The real Open Bandit Dataset sample: what lone (item, position, click) rows can and cannot say."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simrec.calibrate import (
    CascadeModel,
    ClickThroughRateModel,
    PositionBasedModel,
    analyze_position_log,
    position_test,
    time_split,
)
from simrec.data import read_obd
from simrec.errors import NotSupportedError

from ._worlds import pbm_rows

OBD = Path(__file__).resolve().parents[1] / "data" / "obd" / "random" / "all"


@pytest.fixture(scope="module")
def obd():
    return read_obd(OBD)


@pytest.fixture(scope="module")
def analysis(obd):
    return analyze_position_log(obd, train_frac=0.8)


def test_counts_and_time_split(obd, analysis):
    c = analysis.counts
    assert (c["n"], c["n_train"], c["n_test"], c["clicks"]) == (10_000, 8_000, 2_000, 38)
    assert c["clicks_train"] + c["clicks_test"] == 38
    train, test = time_split(obd)
    assert c["clicks_train"] == train.reward.sum()
    # most items never clicked in training: item-level attractiveness is mostly the prior
    assert c["items_without_train_click"] > c["n_items"] / 2


def test_examination_intervals_and_position_test(analysis):
    ex = analysis.examination
    assert ex.loc[0, "examination_vs_top"] == 1.0
    # with ~30 training clicks the intervals are wide and contain 1 (equal examination)
    assert np.all(ex.ci_low[1:] < 1) and np.all(ex.ci_high[1:] > 1)
    assert np.all(ex.ci_high[1:] - ex.ci_low[1:] > 0.5)
    pt = analysis.position_test
    assert pt["chi2_p"] > 0.05 and pt["lr_p"] > 0.05
    assert "do not show that examination differs" in analysis.conclusions[0]


def test_position_test_detects_real_position_effects():
    # the same test on a PBM log of similar size but with strong position bias rejects equality
    pt = position_test(pbm_rows(10_000, n_items=80, seed=9))
    assert pt["chi2_p"] < 1e-6 and pt["lr_p"] < 1e-6


def test_held_out_comparison_against_ctr_baselines(analysis):
    comp = analysis.comparison
    assert {"global CTR", "position CTR", "item CTR", "item CTR (shrunk)", "PBM"} <= set(comp.index)
    assert comp.attrs["reference"] == "global CTR"
    for name in ("PBM", "position CTR"):  # not distinguishable from a global CTR on this sample
        assert abs(comp.loc[name, "z"]) < 2
        assert "not distinguishable" in next(s for s in analysis.conclusions if s.startswith(name))
    # perplexities are those of near-certain non-clicks (CTR ~ 0.4%): all close to 1
    assert np.all(comp["perplexity"] < 1.05)
    md = analysis.to_markdown()
    assert "What the data can and cannot distinguish" in md and "| PBM |" in md


def test_held_out_scores_are_the_formulas(obd):
    train, test = time_split(obd)
    g = ClickThroughRateModel("global", prior=(0, 0)).fit(train)
    p = train.reward.mean()
    s = g.score(test)
    c = test.reward
    ll = np.where(c > 0, np.log(p), np.log1p(-p))
    assert s.log_likelihood == pytest.approx(ll.mean(), rel=1e-12)
    k0 = test.position == 0
    assert s.perplexity_by_position[0] == pytest.approx(2 ** (-np.mean(ll[k0] / np.log(2))), rel=1e-12)
    pbm = PositionBasedModel().fit(train)
    assert pbm.score(test).n == len(test)


def test_cascade_models_do_not_apply_to_obd_rows(obd):
    with pytest.raises(NotSupportedError, match="position-based"):
        CascadeModel().fit(obd)
