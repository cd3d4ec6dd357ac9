"""A report computes each of its expensive tables once (the results are those of the separate calls)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simrec.reports import render, summary, verdict


def _counting(monkeypatch, module, name):
    calls = []
    real = getattr(module, name)

    def wrapped(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapped)
    return calls


def test_answers_bootstrap_the_estimator_scores_once(tiny_serial, monkeypatch):
    df = tiny_serial[1].table
    alone = {"trusted": verdict.trusted_estimator(df), "problems": verdict.problems(df),
             "scores": verdict.estimator_scores(df)}
    calls = _counting(monkeypatch, verdict, "estimator_scores")
    ans = verdict.answers(df)
    assert len(calls) == 1
    pd.testing.assert_frame_equal(ans["scores"], alone["scores"])
    assert ans["trusted"] == alone["trusted"] and ans["problems"] == alone["problems"]


def test_the_ranking_reads_the_estimates_table_it_is_drawn_from(tiny_serial, monkeypatch):
    df = tiny_serial[1].table
    s = summary.settings(df)[0]
    alone = summary.ranking_table(df, s)
    calls = _counting(monkeypatch, summary, "estimates_table")
    est = summary.estimates_table(summary.not_reference(df), s)
    pd.testing.assert_frame_equal(summary.ranking_table(df, s, estimates=est), alone)
    assert len(calls) == 1
    calls.clear()
    render.render_report(df)
    # one table per setting in the estimates section and one for its ranking, not two for the ranking
    assert len(calls) == 2 * len(summary.settings(df))


def test_one_wilson_interval_for_scalars_and_arrays():
    from statsmodels.stats.proportion import proportion_confint

    k, n = np.array([0, 3, 17, 40]), np.array([10, 10, 40, 40])
    lo, hi = verdict.wilson(k, n, z=1.959963984540054)
    want = np.array([proportion_confint(a, b, alpha=0.05, method="wilson") for a, b in zip(k, n)])
    np.testing.assert_allclose(np.c_[lo, hi], want, rtol=1e-12, atol=1e-15)
    one = verdict.wilson(3, 10)
    assert isinstance(one[0], float) and one == pytest.approx((lo[1], hi[1]), rel=1e-6)
    assert all(np.isnan(verdict.wilson(0, 0))) and np.isnan(verdict.wilson(k, np.zeros(4))[1]).all()


def test_the_last_line_of_an_error():
    from simrec.sweeps.estimation import last_line
    from simrec.sweeps.runner import _last_line

    tb = "Traceback (most recent call last):\n  File x\nValueError: bad thing\n\n"
    assert last_line(tb) == "ValueError: bad thing"
    assert last_line(None) == last_line(float("nan")) == last_line("  ") == ""
    assert _last_line([{"status": "ok"}, {"status": "failed", "error_message": tb}]) == "ValueError: bad thing"
    assert _last_line([{"status": "failed", "error_message": None}]) == "unknown error"
    df = pd.DataFrame({"run_id": ["r"], "status": ["failed"], "policy": ["p"], "estimator": ["IPS"],
                       "error_message": [tb]})
    assert summary.failures_table(df)["error"].tolist() == ["ValueError: bad thing"]
    assert verdict.problems(df) == ["1 estimate(s) failed (e.g. IPS for p: ValueError: bad thing)"]


def test_the_trade_off_figure_plots_an_outcome_that_differs_between_policies():
    lt = pd.DataFrame({"policy": ["a", "b"], "retained": [1.0, 1.0], "visits": [2.0, 3.5], "sessions": [1.0, 2.0]})
    assert render._tradeoff_outcome(lt) == "visits"  # every user kept by both: no trade-off to show in retained
    assert render._tradeoff_outcome(lt.assign(retained=[0.4, 0.6])) == "retained"
    assert render._tradeoff_outcome(lt.assign(visits=[2.0, 2.0], sessions=[1.0, 1.0])) == "retained"  # none varies
    assert render._tradeoff_outcome(lt[["policy"]]) is None
