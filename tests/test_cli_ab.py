"""`simrec ab`: an A/B table a user brings, analysed by the registered experiment and causal estimators."""

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from simrec.cli import cli
from simrec.estimators import registry
from simrec.estimators.experiments import ExperimentLog, srm_check


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    rng = np.random.default_rng(4)
    n = 3000
    x = rng.gamma(2.0, 1.0, n)
    t = (rng.random(n) < 0.5).astype(int)
    s = 1 + rng.poisson(2 + x)
    y = 0.8 * x + 0.3 * t + rng.normal(size=n)
    df = pd.DataFrame({"treatment": t, "y": y, "pre": x, "sessions": s, "clicks": rng.binomial(s, 0.3 + 0.05 * t)})
    p = tmp_path_factory.mktemp("ab") / "users.parquet"
    df.to_parquet(p)
    df.to_csv(p.with_suffix(".csv"), index=False)
    return df, p


def _json(args):
    res = CliRunner().invoke(cli, ["ab", *args, "--format", "json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.output)


def test_estimates_equal_the_registered_estimators_on_the_same_log(table):
    df, p = table
    out = _json([str(p), "-y", "y", "--covariate", "pre", "--features", "pre", "--propensity", "0.5"])
    got = {r["estimator"]: r for r in out["estimates"]}
    assert list(got) == ["DiffInMeans", "RelativeLift", "CUPED", "AIPW"]  # defaults follow the columns given
    log = ExperimentLog(df["y"], df["treatment"], covariate=df["pre"], features=df[["pre"]], propensity=0.5)
    for name, row in got.items():
        e = registry.make(name, random_state=0).estimate(log)
        assert row["effect"] == pytest.approx(e.value, rel=1e-12) and row["ci_low"] == pytest.approx(e.ci[0], rel=1e-12)
    assert got["CUPED"]["stderr"] < 0.8 * got["DiffInMeans"]["stderr"]  # the covariate is really used
    assert out["srm"]["p_value"] == pytest.approx(srm_check(treatment=df["treatment"].to_numpy()).p_value)
    ratio = _json([str(p.with_suffix(".csv")), "-y", "clicks", "--denominator", "sessions", "-e", "RatioDelta"])
    e = registry.make("RatioDelta").estimate(ExperimentLog(df["clicks"], df["treatment"], denominator=df["sessions"]))
    assert ratio["estimates"][0]["effect"] == pytest.approx(e.value, rel=1e-12)


def test_table_output_flags_a_sample_ratio_mismatch(table, tmp_path):
    df, _ = table
    skewed = pd.concat([df, df[df["treatment"] == 1].iloc[:400]], ignore_index=True)
    p = tmp_path / "skewed.parquet"
    skewed.to_parquet(p)
    res = CliRunner().invoke(cli, ["ab", str(p), "-y", "y", "-e", "DiffInMeans"])
    assert res.exit_code == 0 and "MISMATCH" in res.output and "DiffInMeans" in res.output
    res = CliRunner().invoke(cli, ["ab", str(table[1]), "-y", "y", "-e", "DiffInMeans"])
    assert "MISMATCH" not in res.output


@pytest.mark.parametrize("args, message", [
    (["-y", "nope"], "column 'nope' is not in the frame"),
    (["-y", "y", "-e", "AIPW"], "AIPW needs features (give --features)"),
    (["-y", "y", "-e", "IPS"], "not an experiment or causal estimator"),
    (["-y", "y", "-e", "CUPED(theta='sideways')", "--covariate", "pre"], "theta"),
    (["-y", "y", "--features", "pre", "--propensity", "1.5", "-e", "AIPW"], "propensity"),
    (["-y", "y", "-t", "pre"], "binary"),
])
def test_bad_input_is_refused_with_the_reason(table, args, message):
    res = CliRunner().invoke(cli, ["ab", str(table[1]), *args])
    assert res.exit_code == 2, res.output
    assert message in res.output, res.output


def test_a_text_feature_column_is_refused_with_the_column_and_row(table, tmp_path):
    df, _ = table
    p = tmp_path / "text.csv"
    df.assign(segment=np.where(np.arange(len(df)) < 5, "silver", "gold")).to_csv(p, index=False)
    res = CliRunner().invoke(cli, ["ab", str(p), "-y", "y", "--features", "pre,segment", "-e", "AIPW",
                                   "--propensity", "0.5"])
    assert res.exit_code == 2, res.output  # a clear refusal, not a traceback
    assert "`features` must be numeric" in res.output and "first at index (0, 1) (value 'silver')" in res.output


def test_expected_ratio_is_the_designed_treatment_to_control_split(table, tmp_path):
    df, _ = table
    ctl = df[df["treatment"] == 0].iloc[:1000]
    trt = df[df["treatment"] == 1].iloc[:1400]  # a 1.4:1 design, run as designed
    p = tmp_path / "uneven.parquet"
    pd.concat([ctl, trt], ignore_index=True).to_parquet(p)
    res = CliRunner().invoke(cli, ["ab", str(p), "-y", "y", "-e", "DiffInMeans", "--expected-ratio", "1.4"])
    assert res.exit_code == 0 and "expected 1.4:1): p = 1\n" in res.output and "MISMATCH" not in res.output, res.output
    res = CliRunner().invoke(cli, ["ab", str(p), "-y", "y", "-e", "DiffInMeans"])  # judged against 1:1
    assert res.exit_code == 0 and "MISMATCH" in res.output, res.output
