"""The experiment sweep: validation, one small run end to end (resume, report), the CLI dispatch."""

import importlib.util

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import simrec.sweeps.backends as bk
from simrec.cli import cli
from simrec.sweeps.experiment import ExperimentSweepSpec, load_experiment_sweep, run_experiment_sweep
from simrec.sweeps.spec import SweepSpecError

SMALL = """
kind = "experiment"
name = "tiny"
seeds = 3
[[worlds]]
preset = "clickbait"
[[comparisons]]
name = "cb"
control = "relevance"
treatment = { clickbait = 0.3 }
[[comparisons]]
name = "aa"
control = "relevance"
treatment = "relevance"
[experiment]
n_users = 600
horizon_days = 7
n_truth = 1500
[analysis]
methods = ["welch", "cuped", "msprt", "ratio", "DiffInMeans", "AIPW"]
metrics = ["sessions", "clicks", "ctr_first"]
"""


def test_unknown_keys_and_bad_values_are_rejected(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text(SMALL.replace('name = "cb"', 'name = "cb"\ncolour = 1').replace('"welch", "cuped"', '"welch", "x"'))
    with pytest.raises(SweepSpecError) as exc:
        load_experiment_sweep(p)
    msg = str(exc.value)
    assert "colour" in msg and "unknown method" in msg
    p.write_text(SMALL.replace('metrics = ["sessions"', 'metrics = ["nope"'))
    with pytest.raises(SweepSpecError, match="unknown metric 'nope'"):
        load_experiment_sweep(p)


def test_small_sweep_end_to_end_scores_against_the_truth(tmp_path):
    p = tmp_path / "tiny.toml"
    p.write_text(SMALL)
    spec = load_experiment_sweep(p)
    assert isinstance(spec, ExperimentSweepSpec) and spec.seeds == (0, 1, 2)
    out = tmp_path / "out"
    part = run_experiment_sweep(spec, out, max_runs=2)
    assert part["run_id"].nunique() == 2
    table = run_experiment_sweep(spec, out)  # resumes: the two finished runs are read back
    assert table["run_id"].nunique() == 6
    pd.testing.assert_frame_equal(table[table["run_id"].isin(part["run_id"])].reset_index(drop=True),
                                  part.reset_index(drop=True))
    cb = table[(table["comparison"] == "cb") & (table["method"] == "welch")]
    # the clickbait change truly lowers sessions and raises first-session CTR; the runs see it
    truth = cb.groupby("metric")["true_effect"].first()
    assert truth["sessions"] < 0 < truth["ctr_first"]
    assert (cb.loc[cb["metric"] == "ctr_first", "decision"] == "launch").all()
    aa = table[table["comparison"] == "aa"]
    assert (aa["true_effect"] == 0).all()
    assert {"clicks_per_session"} <= set(table["metric"])
    # a registered estimator named as a method gives the same numbers as the built-in analysis
    w, d = (table[table["method"] == m].sort_values(["run_id", "metric"]) for m in ("welch", "DiffInMeans"))
    assert w["estimate"].to_numpy() == pytest.approx(d["estimate"].to_numpy(), rel=1e-12)
    assert table["covered"].mean() > 0.8
    # a causal estimator (AIPW on the pre-period metrics, known assignment rate) runs as a method; its
    # outcome model uses the users' history, so its intervals are narrower than Welch's
    a = table[table["method"] == "AIPW"].sort_values(["run_id", "metric"])
    assert len(a) == len(w) and a["estimate"].notna().all() and a["p_value"].between(0, 1).all()
    width = {m: (g["ci_high"] - g["ci_low"]).mean() for m, g in (("AIPW", a), ("welch", w))}
    assert width["AIPW"] < 0.97 * width["welch"], width


def test_cli_run_dispatches_experiment_sweeps(tmp_path):
    p = tmp_path / "tiny.toml"
    p.write_text(SMALL.replace("seeds = 3", "seeds = 1"))
    out = tmp_path / "o"
    res = CliRunner().invoke(cli, ["run", str(p), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "2/2 runs finished" in res.output
    md = (out / "report.md").read_text()
    assert "Coverage" in md and "Launch decisions" in md and (out / "figures" / "estimates.svg").exists()
    assert "<img" in (out / "report.html").read_text()
    assert "## Answer" in md and "Mean coverage of the true effects by method" in md
    assert "Launch decisions vs the north star (decided by welch)" in md
    (out / "report.md").unlink()
    res = CliRunner().invoke(cli, ["report", str(out)])  # re-rendered from the saved results and config
    assert res.exit_code == 0, res.output
    assert (out / "report.md").read_text() == md
    res = CliRunner().invoke(cli, ["run", str(p), "--dry-run"])
    assert res.exit_code == 0 and "2 experiment runs" in res.output


def test_sweeps_without_welch_decide_with_their_first_tested_method_and_ratio_estimators_score_the_ratio(tmp_path):
    p = tmp_path / "tiny.toml"
    p.write_text(SMALL.replace("seeds = 3", "seeds = 1").replace(
        '["welch", "cuped", "msprt", "ratio", "DiffInMeans", "AIPW"]', '["RatioDelta", "CUPED"]'))
    out = tmp_path / "o"
    res = CliRunner().invoke(cli, ["run", str(p), "-o", str(out)])
    assert res.exit_code == 0, res.output
    t = pd.read_parquet(out / "results.parquet")
    r = t[t["method"] == "RatioDelta"]  # scored against the true clicks-per-session effect, not per-user clicks
    assert set(r["metric"]) == {"clicks_per_session"} and r["covered"].all()
    truth = pd.read_parquet(out / "truth.parquet").set_index("comparison")["true_clicks_per_session"]
    assert (r["true_effect"].to_numpy() == truth[r["comparison"]].to_numpy()).all()
    md = (out / "report.md").read_text()
    assert "decided by CUPED" in md and "the true effect on sessions" in md


@pytest.mark.parametrize("edit, where", [
    (('metrics = ["sessions", "clicks", "ctr_first"]', 'metrics = ["clicks"]'), "analysis.north_star"),
    (('methods = ["welch", "cuped", "msprt", "ratio", "DiffInMeans", "AIPW"]', "methods = []"), "analysis.methods"),
    (('kind = "experiment"', 'kind = "experiments"'), "kind"),
])
def test_sweep_files_that_cannot_give_an_answer_are_refused(tmp_path, edit, where):
    p = tmp_path / "bad.toml"
    p.write_text(SMALL.replace(*edit))
    res = CliRunner().invoke(cli, ["run", str(p), "--dry-run"])
    assert res.exit_code == 2 and f"  {where}" in res.output, res.output


def test_the_answer_names_the_metric_whose_decisions_go_against_the_north_star():
    from simrec.reports.experiment import answer_lines

    dec = pd.DataFrame({"world": "w", "comparison": "cb", "metric": ["sessions", "ctr_first"], "north_star": "sessions",
                        "true_north_star_effect": -1.3, "launch_rate": [0.0, 0.9], "harmful_launch": [0.0, 0.9],
                        "good_launch": 0.0, "agreement": [1.0, 0.1]})
    summ = pd.DataFrame({"method": ["welch", "welch", "cuped"], "coverage": [0.95, 0.5, 0.94],
                         "coverage_mcse": [0.02, 0.02, 0.02], "variance_reduction": [np.nan, np.nan, 0.3]})
    a = answer_lines(summ, dec)
    assert a[0] == ("**cb** (w): the true effect on sessions is -1.3. Deciding on ctr_first (90% of runs launched) "
                    "goes against it; sessions agree with it in at least 80% of runs.")
    assert "welch 0.72 (1 of 2 cells more than 3 MC SE below 0.95); cuped 0.94" in a[1]
    assert "removed 30% to 30%" in a[2]


@pytest.mark.parametrize("backend", ["local", "dask", "ray"])
def test_every_backend_gives_the_serial_table(tmp_path, backend, monkeypatch):
    if backend != "local" and importlib.util.find_spec("distributed" if backend == "dask" else "ray") is None:
        pytest.skip(f'{backend} is not installed (pip install "simrec[{backend}]")')
    p = tmp_path / "tiny.toml"
    p.write_text(SMALL.replace("seeds = 3", "seeds = 2") + f'[execution]\nbackend = "{backend}"\nn_jobs = 2\n')
    spec = load_experiment_sweep(p)
    assert spec.execution.backend == backend
    serial = run_experiment_sweep(spec, tmp_path / "a", backend="local", n_jobs=1)
    used = []
    real = bk.make_backend

    def spy(name, n_jobs, address):  # the file's [execution] section chooses the backend
        b = real(name, n_jobs, address)
        used.append(b.describe())
        return b

    monkeypatch.setattr(bk, "make_backend", spy)
    other = run_experiment_sweep(spec, tmp_path / "b")
    assert used and used[0].startswith(backend) and "2 workers" in used[0], used
    pd.testing.assert_frame_equal(run_experiment_sweep(spec, tmp_path / "b"), other)  # resumed from disk ...
    assert len(used) == 1  # ... without starting a backend
    pd.testing.assert_frame_equal(serial, other)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "a" / "truth.parquet"),
                                  pd.read_parquet(tmp_path / "b" / "truth.parquet"))


def test_runs_carry_srm_and_holm_adjusted_p_values(tmp_path):
    p = tmp_path / "tiny.toml"
    p.write_text(SMALL.replace("seeds = 3", "seeds = 1"))
    t = run_experiment_sweep(load_experiment_sweep(p), tmp_path / "o")
    assert t["srm_p_value"].between(0, 1).all()
    ok = t[t["p_value"].notna()]
    assert (ok["p_holm"] >= ok["p_value"] - 1e-15).all() and (ok["p_holm"] > ok["p_value"]).any()


def test_worlds_differing_only_in_seed_are_distinct_and_duplicates_are_refused(tmp_path):
    two = SMALL.replace('[[worlds]]\npreset = "clickbait"\n',
                        '[[worlds]]\npreset = "clickbait"\n[[worlds]]\npreset = "clickbait"\nseed = 1\n')
    p = tmp_path / "two.toml"
    p.write_text(two.replace("seeds = 3", "seeds = 1").replace(
        '["welch", "cuped", "msprt", "ratio", "DiffInMeans", "AIPW"]', '["welch"]'))
    spec = load_experiment_sweep(p)
    assert [w.key for w in spec.worlds] == ["clickbait", "clickbait-s1"]
    t = run_experiment_sweep(spec, tmp_path / "o")
    assert t["run_id"].nunique() == 4 and set(t["world"]) == {"clickbait", "clickbait-s1"}
    truth = pd.read_parquet(tmp_path / "o" / "truth.parquet")
    assert len(truth) == 4 and truth["truth_key"].nunique() == 4
    # the two worlds are different worlds: their true effects differ
    tr = truth.set_index(["world", "comparison"])["true_sessions"]
    assert tr[("clickbait", "cb")] != tr[("clickbait-s1", "cb")]
    p.write_text(SMALL.replace('[[worlds]]\npreset = "clickbait"\n',
                               '[[worlds]]\npreset = "clickbait"\n[[worlds]]\npreset = "clickbait"\nseed = 0\n'))
    with pytest.raises(SweepSpecError, match="world 'clickbait' is listed 2 times"):
        load_experiment_sweep(p)


def test_report_coverage_floor_and_nominal_line_follow_alpha(tmp_path):
    from simrec.reports.experiment import build_experiment_report, fig_coverage, summary_table

    runs = pd.DataFrame({"world": "w", "comparison": "cb", "metric": "sessions", "method": "welch",
                         "north_star": "sessions", "run_id": [f"r{i}" for i in range(10)], "estimate": 1.0,
                         "true_effect": 1.0, "ci_low": 0.5,
                         "ci_high": 1.5, "covered": True, "significant": True, "sign_error": False, "miss": False,
                         "decision": "launch", "p_value": 0.001})
    for alpha in (0.05, 0.2):
        s = summary_table(runs, alpha)
        assert s["coverage"].iloc[0] == 1.0  # all covered: the SE is the nominal level's binomial SE
        assert s["coverage_mcse"].iloc[0] == pytest.approx(np.sqrt((1 - alpha) * alpha / 10))
        ax = fig_coverage(s, alpha).axes[0]
        assert [tuple(ln.get_ydata()) for ln in ax.lines if ln.get_linestyle() == "--"] == [(1 - alpha, 1 - alpha)]
    _, md = build_experiment_report(runs, None, {"name": "t", "analysis": {"alpha": 0.2}}, tmp_path)
    assert "nominal 0.80" in md.read_text() and "nominal 0.80" in (tmp_path / "figures" / "coverage.svg").read_text()


def test_report_is_deterministic_and_escapes_table_cells(tmp_path):
    from simrec.reports.experiment import build_experiment_report

    runs = pd.DataFrame({"world": "w", "comparison": "cb", "metric": "sessions", "method": "welch",
                         "north_star": "sessions", "run_id": ["r0", "r1", "r2"], "estimate": [1.0, 1.2, np.nan],
                         "true_effect": 1.0, "ci_low": 0.5, "ci_high": 1.5, "covered": True, "significant": True,
                         "sign_error": False, "miss": False, "decision": "launch", "p_value": 0.001,
                         "error": [None, None, "ValueError: a|b\nc"]})
    outs = []
    for d in ("a", "b"):
        h, m = build_experiment_report(runs, None, {"name": "t"}, tmp_path / d)
        outs.append((h.read_bytes(), m.read_bytes(), (tmp_path / d / "figures" / "coverage.svg").read_bytes()))
    assert outs[0] == outs[1]  # byte-identical: no dates, no creator in the figures
    md = outs[0][1].decode()
    assert "| r2 | sessions | welch | ValueError: a\\|b c |" in md  # a '|' or newline cannot break the table
    assert b"Creator" not in outs[0][2] and b"<dc:date>" not in outs[0][2]


def test_welch_and_lift_share_one_analysis_per_metric(monkeypatch):
    import simrec.estimators.experiments as ex
    from simrec.sweeps.experiment import analyse_run

    rng = np.random.default_rng(0)
    data = pd.DataFrame({"treatment": np.arange(200) % 2, "sessions": rng.poisson(3, 200) + 1.0,
                         "clicks": rng.poisson(2, 200) * 1.0})
    calls = []
    real = ex.analyze_ab
    monkeypatch.setattr(ex, "analyze_ab", lambda *a, **k: calls.append(1) or real(*a, **k))
    rows = analyse_run(data, ("sessions", "clicks"), ("welch", "lift"), 0.05)
    assert len(calls) == 2 and len(rows) == 4
    for r in rows:
        ref = real(data[r["metric"]].to_numpy(), data["treatment"].to_numpy())
        e = ref.diff if r["method"] == "welch" else ref.lift
        assert (r["estimate"], r["ci_low"], r["p_value"]) == (e.value, e.ci[0], ref.p_value)


def test_srm_p_values_use_the_designed_split(tmp_path):
    from simrec.estimators.experiments import srm_check
    from simrec.experiments_sim import simulate_ab
    from simrec.sweeps.experiment import _world
    from simrec.sweeps.grid import derive_seed

    p = tmp_path / "unequal.toml"
    p.write_text(SMALL.replace("seeds = 3", "seeds = 2").replace("n_truth = 1500", "n_truth = 200\np_treatment = 0.3")
                 .replace('["welch", "cuped", "msprt", "ratio", "DiffInMeans", "AIPW"]', '["welch"]'))
    spec = load_experiment_sweep(p)
    t = run_experiment_sweep(spec, tmp_path / "o")
    assert (t["srm_p_value"] > 1e-3).all()  # a 30:70 design is not a mismatch ...
    w, c = spec.worlds[0], spec.comparisons[0]
    for seed, g in t[t["comparison"] == c.name].groupby("seed"):
        sim = simulate_ab(_world(w), c.control, c.treatment, n_users=600, horizon_days=7, p_treatment=0.3,
                          seed=derive_seed("run", w.key, c.name, seed), n_truth=0)
        arms = sim.data["treatment"].to_numpy()
        assert g["srm_p_value"].iloc[0] == srm_check(treatment=arms, ratio=0.3 / 0.7).p_value
        assert srm_check(treatment=arms, ratio=0.7 / 0.3).p_value < 1e-3  # ... a flipped ratio would be
