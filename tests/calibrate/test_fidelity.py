"""The fidelity report: a held-out real log against a log simulated from the calibrated world."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simrec.calibrate import fidelity_report, fit_world, time_split
from simrec.calibrate.fidelity import simulate_like
from simrec.data import BanditLog, read_obd
from simrec.errors import InvalidLogError
from simrec.sim import World
from simrec.sim.calibrated import CalibratedWorld

from ._worlds import pbm_rows, pbm_world

OBD = Path(__file__).resolve().parents[1] / "data" / "obd" / "random" / "all"


def test_simulated_log_follows_the_world():
    log = pbm_rows(40_000, n_items=10, seed=1)
    w = World.from_calibration(CalibratedWorld("pbm", np.array([0.9, 0.55, 0.3]), np.linspace(0.1, 0.5, 10)))
    sim = simulate_like(w, log, rng=3)
    np.testing.assert_array_equal(sim.action, log.action)
    np.testing.assert_array_equal(sim.position, log.position)
    np.testing.assert_array_equal(sim.pscore, log.pscore)
    resid = sim.reward - sim.expected_reward
    assert abs(resid.mean()) < 3 * resid.std() / np.sqrt(resid.size)
    assert not np.array_equal(sim.reward, simulate_like(w, log, rng=4).reward)


def test_fidelity_on_the_world_that_generated_the_log(tmp_path):
    # the world that generated the log must look faithful: CTRs within intervals, truth covered
    log = pbm_rows(60_000, n_items=20, seed=2)
    train, test = log[:40_000], log[40_000:]
    world, _, _ = pbm_world(20)
    rep = fidelity_report(world, test, train, out_dir=tmp_path)
    ctr = rep.ctr_by_position
    se = np.sqrt(ctr.world_expected * (1 - ctr.world_expected) / np.bincount(test.position))
    assert np.all(np.abs(ctr.real_ctr - ctr.world_expected) < 3 * se)  # about 3 Monte Carlo SEs
    assert rep.item_ctr["pearson_real_vs_world"] > 0.95
    # OPE on the real log covers the world's exact value for every target
    assert rep.ope["truth_in_IPS_ci"].all()
    # the exact value of the uniform target: mean over slots of theta_k * mean(alpha)
    shares = np.bincount(test.position) / len(test)
    _, exam, attr = pbm_world(20)
    want = float(shares @ exam) * attr.mean()
    assert rep.ope.loc["uniform", "world_truth"] == pytest.approx(want, rel=1e-9)
    assert (tmp_path / "fidelity.html").read_text().count("data:image/svg+xml;base64") == 2
    assert (tmp_path / "figures" / "ctr_by_position.svg").exists()
    assert "Off-policy evaluation" in (tmp_path / "fidelity.md").read_text()


def test_fidelity_of_a_fitted_world():
    log = pbm_rows(60_000, n_items=20, seed=2)
    train, test = log[:40_000], log[40_000:]
    half = np.r_[np.ones(10), np.zeros(10)] / 10
    rep = fidelity_report(fit_world(train, "pbm"), test, train,
                          targets={"uniform": np.full(20, 0.05), "half|top": half})
    assert rep.ope["truth_in_IPS_ci"].all()  # targets fixed before the fit: the fitted world's values hold
    assert rep.item_ctr["pearson_real_vs_world"] > 0.95
    # a name with a pipe stays one cell of the Markdown table, and the HTML table has every row
    row = next(ln for ln in rep.markdown.splitlines() if ln.startswith("| half"))
    assert row.startswith("| half\\|top |") and row.count(" | ") == len(rep.ope.columns)
    assert rep.html.count("<tr>") == sum(1 + len(t) for t in (rep.ctr_by_position, rep.likelihoods, rep.ope))


def test_fidelity_flags_a_wrong_world():
    log = pbm_rows(60_000, n_items=20, seed=2)
    wrong = CalibratedWorld("pbm", np.array([0.3, 0.55, 0.9]), np.full(20, 0.3))  # reversed examination
    rep = fidelity_report(wrong, log[40_000:], log[:40_000])
    ctr = rep.ctr_by_position
    outside = (ctr.sim_ctr < ctr.real_low) | (ctr.sim_ctr > ctr.real_high)
    assert outside[0] and outside[2]


def test_fidelity_on_the_obd_sample():
    obd = read_obd(OBD)
    train, test = time_split(obd)
    rep = fidelity_report(fit_world(train, "pbm", n_users=500), test, train)
    assert list(rep.ctr_by_position.index) == [0, 1, 2]
    assert set(rep.ope.index) == {"uniform", "top 10%", "best item", "best/uniform 50:50"}
    assert set(rep.likelihoods["log"]) == {"real", "simulated"}
    assert "CTR by position" in rep.markdown and "<table>" in rep.html


def test_fidelity_bad_input():
    cw = CalibratedWorld("pbm", np.array([0.5]), np.full(3, 0.2))
    with pytest.raises(InvalidLogError, match="positions"):
        fidelity_report(cw, BanditLog(action=[0, 1], reward=[0.0, 1.0]))
    log = BanditLog(action=[0, 1], reward=[0.0, 1.0], position=[0, 0], pscore=[0.5, 0.5])
    with pytest.raises(InvalidLogError, match="distribution"):
        fidelity_report(cw, log, targets={"bad": np.array([0.5, 0.2])})
