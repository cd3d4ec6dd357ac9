"""Sweeps on every simrec env: end to end from a file, resume, identical reruns, truth per env,
every registered estimator either runs where its log kind exists or is rejected by the spec."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from simrec.estimators import registry
from simrec.sweeps import SweepSpecError, comparable, load_sweep, parse_sweep, run_sweep
from simrec.sweeps.profiles import PROFILES

from ._fixtures import env_sweep

ENVS = ["simrec/Bandit-v0", "simrec/Slate-v0", "simrec/Retention-v0", "simrec/Messaging-v0"]


@pytest.mark.parametrize("env", ENVS)
def test_a_sweep_file_runs_end_to_end_resumes_and_reruns_identically(env, tmp_path):
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(env_sweep(env)))
    spec = load_sweep(path)
    first = run_sweep(spec, "local", out_dir=tmp_path / "a", progress=False, max_runs=1)
    assert first.n_executed == 1 and first.n_ok == 1
    resumed = run_sweep(spec, "local", out_dir=tmp_path / "a", progress=False)
    assert resumed.n_skipped == 1 and resumed.n_executed == 1 and resumed.n_ok == 2 and resumed.n_failed == 0
    df = resumed.table
    assert (df["status"] == "ok").all(), df.loc[df["status"] != "ok", "error_message"].head().tolist()
    assert (df["env"] == env).all() and df["run_id"].nunique() == 2
    assert len(df) == 2 * len(spec.policies) * len(spec.estimators)
    # truth through the env's truth interface: a step value (exact or with its SE) and an episode value
    assert set(df["truth_method"]) <= {"exact", "rollout"}
    assert ((df["truth_method"] == "exact") == (df["truth_se"] == 0)).all()
    assert (df["episode_value_se"] > 0).all() and np.isfinite(df["episode_value"]).all()
    assert np.allclose(df["error"], df["estimate"] - df["truth"])
    if env in ("simrec/Retention-v0", "simrec/Messaging-v0"):
        outcome = "outcome_retained" if env == "simrec/Retention-v0" else "outcome_unsubscribed"
        assert df[outcome].between(0, 1).all() and (df[f"{outcome}_se"] >= 0).all()
    if env == "simrec/Slate-v0":  # a deterministic slate policy's one-step value is enumerated exactly
        assert (df.loc[df["policy"] == "topk", "truth_method"] == "exact").all()
        assert (df["log_kind"] == "bandit").all()  # the bandit family, slot by slot
    # a rerun from scratch is identical, value for value, to the resumed sweep
    again = run_sweep(spec, "local", out_dir=tmp_path / "b", progress=False)
    pd.testing.assert_frame_equal(comparable(again.table), comparable(df), check_exact=True)


def _accepted(env: str, name: str) -> tuple[bool, list[tuple[str, str]]]:
    try:
        parse_sweep(env_sweep(env, estimators=[name]))
        return True, []
    except SweepSpecError as exc:
        return False, exc.problems


def test_every_registered_estimator_runs_where_its_log_exists_or_is_rejected(tmp_path):
    infos = registry.infos()
    ran: set[str] = set()
    needs_input: set[str] = set()  # rejected because a sweep cannot give them an input they need
    for env in ENVS:
        prof = PROFILES[env]
        ok = []
        for info in infos:
            accepted, problems = _accepted(env, info.name)
            if accepted:
                assert info.needs.log in prof.log_kinds
                ok.append(info.name)
                continue
            # a rejection names the estimator and why: a log kind the env does not produce, or an input
            msgs = [m for p, m in problems if p == "estimators.0.name"]
            assert msgs and info.name in msgs[0], problems
            assert ("reads" in msgs[0] and info.needs.log not in prof.log_kinds) or "needs" in msgs[0], msgs
            if info.needs.log in prof.log_kinds:
                needs_input.add(info.name)
        if not ok:
            continue
        res = run_sweep(parse_sweep(env_sweep(env, estimators=ok, seeds=1)), "local", out_dir=tmp_path / env[7:],
                        progress=False)
        df = res.table
        assert set(df["estimator"]) == set(ok)
        bad = df[df["status"] == "failed"]
        assert bad.empty, (env, bad[["estimator", "error_message"]].to_string()[-3000:])
        ran |= set(ok)
    # every estimator whose log kind some env produces ran somewhere
    kinds = {k for p in PROFILES.values() for k in p.log_kinds}
    missing = {i.name for i in infos if i.needs.log in kinds} - ran
    # the rest were rejected with a message naming the input (RIPS / Cascade-DR: prefix propensities)
    assert missing <= needs_input, missing - needs_input
    assert len(ran) >= len(missing) * 5


def test_a_mixture_of_loggers_feeds_balanced_ips(tmp_path):
    sweep = env_sweep("simrec/Bandit-v0", seeds=1, estimators=["IPS", "BalancedIPS"],
                      logging={"mixture": [{"policy": "uniform", "weight": 1}, {"policy": "softmax", "weight": 3}],
                               "n": 400})
    df = run_sweep(parse_sweep(sweep), "local", out_dir=tmp_path, progress=False).table
    assert (df["status"] == "ok").all(), df["error_message"].dropna().tolist()
    assert (df["n_loggers"] == 2).all() and (df["logging_policy"] == "mixture(uniform+softmax)").all()
    ips = df[df["estimator"] == "IPS"].set_index("policy")["estimate"]
    bal = df[df["estimator"] == "BalancedIPS"].set_index("policy")["estimate"]
    assert not np.allclose(ips, bal)  # the balance heuristic reads every logger's propensity


def test_an_adaptive_logger_is_flagged(tmp_path):
    sweep = env_sweep("simrec/Bandit-v0", seeds=1, logging={"policy": "linucb", "adaptive": True, "n": 300})
    df = run_sweep(parse_sweep(sweep), "local", out_dir=tmp_path, progress=False).table
    assert (df["status"] == "ok").all() and df["adaptive_logger"].all()


def test_env_parameters_are_grid_axes(tmp_path):
    sweep = env_sweep("simrec/Slate-v0", seeds=1, slate_size=[2, 3], estimators=["IPS"], policies=["uniform"])
    spec = parse_sweep(sweep)
    res = run_sweep(spec, "local", out_dir=tmp_path, progress=False)
    df = res.table
    assert res.n_runs == 2 and sorted(df["slate_size"].unique()) == [2, 3]
    assert sorted(df["world"].unique()) == ["clickbait[slate_size=2]", "clickbait[slate_size=3]"]
    # the value of a uniformly random slate grows with its size
    v = df.groupby("slate_size")["truth"].mean()
    assert v[3] > v[2]


def test_shaping_by_name_changes_what_is_learned(tmp_path):
    """The same policy, label and seeds with and without shaping: only the shaped reward differs."""
    def run(pol, out):
        sweep = env_sweep("simrec/Retention-v0", seeds=1, policies=[pol], estimators=["IPS"])
        return run_sweep(parse_sweep(sweep), "local", out_dir=out, progress=False).table.iloc[0]

    raw = run({"name": "slateq", "label": "p", "params": {"gamma": 0.0}}, tmp_path / "raw")
    shaped = run({"name": "slateq", "label": "p", "params": {"gamma": 0.0},
                  "shaping": {"name": "satisfaction_proxy", "params": {"weight": 5.0}}}, tmp_path / "shaped")
    assert raw["base_seed"] == shaped["base_seed"] and not raw["shaping"] and shaped["shaping"]
    assert raw["learning_curve"] != shaped["learning_curve"]
