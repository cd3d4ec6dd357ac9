"""A report computes each of its expensive tables once (the results are those of the separate calls)."""

from __future__ import annotations

import pandas as pd

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
