"""The reproduction framework: verdicts come from the stated tolerances; reports say why."""

from __future__ import annotations

import math
import pkgutil

import pandas as pd
import pytest
from click.testing import CliRunner

from simrec import reproductions
from simrec.cli import cli
from simrec.errors import ConfigError, NotSupportedError
from simrec.reproductions import AtLeast, AtMost, Between, Claim, Holds, Near, Result, write_report


@pytest.mark.parametrize("tol, inside, outside", [
    (Near(-0.28, abs=0.03), -0.30, -0.32),
    (Near(10.0, rel=0.02), 10.19, 10.21),
    (Near(0.4, abs=0.5, rel=0.3), -0.09, -0.11),
    (Between(0.2, 0.6), 0.6, 0.61),
    (AtLeast(5.0), 5.0, 4.99),
    (AtMost(3.0), 3.0, 3.01),
])
def test_verdict_follows_the_tolerance(tol, inside, outside):
    assert Claim("c", None, tol, inside).verdict == reproductions.REPRODUCED
    bad = Claim("c", None, tol, outside)
    assert bad.verdict == reproductions.NOT_REPRODUCED and not bad.reproduced
    assert "is not" in bad.why()


@pytest.mark.parametrize("tol", [Near(1.0, abs=1.0), Between(0, 1), AtLeast(0), AtMost(1)])
def test_nan_is_never_reproduced(tol):
    assert Claim("c", 1.0, tol, math.nan).verdict == reproductions.NOT_REPRODUCED


def test_holds_needs_a_boolean():
    assert Claim("order", "a < b", Holds("a < b"), True).reproduced
    assert not Claim("order", "a < b", Holds("a < b"), False).reproduced
    with pytest.raises(ConfigError, match="True/False"):
        Claim("order", "a < b", Holds("a < b"), 0.5)
    with pytest.raises(ConfigError, match="number"):
        Claim("x", 1, AtLeast(1), True)
    with pytest.raises(ConfigError, match="Tolerance"):
        Claim("x", 1, 0.5, 1.0)
    with pytest.raises(ConfigError):
        Near(1.0)


def test_module_tolerances_decide():
    """Numbers outside the tolerances stated in the modules give 'not reproduced'."""
    dudik2011, mips2022, replay2011, kang_schafer2007 = map(reproductions.get, (
        "dudik2011", "mips2022", "replay2011", "kang-schafer2007"))
    assert Claim("ratio", 0.37, dudik2011.TOL_A_RATIO, 0.37).reproduced
    assert not Claim("ratio", 0.37, dudik2011.TOL_A_RATIO, 0.7).reproduced
    assert not Claim("DM bias", -0.28, dudik2011.TOL_A_DM_BIAS, -0.2).reproduced
    assert not Claim("unbiased", "< 3", dudik2011.TOL_A_UNBIASED, 3.5).reproduced
    assert not Claim("MIPS vs IPS", 19, mips2022.TOL_MEDIAN_RATIO_LARGE, 9.9).reproduced
    assert not Claim("band", 0.05, mips2022.TOL_MIPS_BAND, 0.2).reproduced
    assert not Claim("KS", 0.5, replay2011.TOL_KS_P, 0.001).reproduced
    # the replay tolerances scale with the number of runs: 5% at 4,000 runs
    assert replay2011.sd_tolerance(4000).high == pytest.approx(1.0486, abs=1e-3)
    assert replay2011.sd_tolerance(100).high > replay2011.sd_tolerance(4000).high
    assert replay2011.events_tolerance(500, 4000).rel == replay2011.TOL_EVENTS_REL
    assert kang_schafer2007.TOL_BIAS_ABS == 0.5


def _result(measured: float) -> Result:
    return Result(name="toy", title="Toy paper", citation="A. Author 2020", quick=True, seed=0, setup={"n": 10},
                  claims=[Claim("ratio in range", 0.37, Between(0.2, 0.6), measured, note="the ratio moved")])


def test_report_shows_paper_beside_ours_and_why(tmp_path):
    files = write_report(_result(0.9), tmp_path)
    md = files.markdown.read_text()
    html = files.html.read_text()
    assert files.html.exists() and "<table>" in html
    assert "0 of 1 claims reproduced" in md and "not reproduced" in md
    assert "0.37" in md and "0.9" in md  # paper and ours side by side
    assert "measured 0.9 is not between 0.2 and 0.6; the ratio moved" in md
    assert "did not reproduce" in md
    ok = write_report(_result(0.4), tmp_path / "ok").markdown.read_text()
    assert "1 of 1 claims reproduced" in ok and "not reproduced" not in ok


def test_report_tables_mark_verdicts_and_keep_significant_digits(tmp_path):
    """The verdict column is coloured (class ok / bad), numbers are right-aligned, and reproduction
    tables show 4 significant digits where sweep reports show 4 decimals."""
    res = _result(0.9)
    res.claims.append(Claim("near", -0.28, Near(-0.28, abs=0.05), -0.26))
    res.tables["numbers"] = pd.DataFrame({"x": [0.123456, 12.3456], "flag": [True, False]})
    files = write_report(res, tmp_path)
    html, md = files.html.read_text(), files.markdown.read_text()
    assert '<td class="bad">not reproduced</td>' in html and '<td class="ok">reproduced</td>' in html
    assert "td.ok{" in html and "td.bad{" in html
    assert '<td class="num">0.1235</td>' in html and '<td class="num">12.35</td>' in html
    assert "| 0.1235 | yes |" in md and "| 12.35 | no |" in md


def test_registry_lists_every_name_with_a_status():
    """Every reproduction module in the package is registered once, under a name that is its module's
    name spelt with hyphens (so a module that loses its entry, or an entry that loses its module, fails)."""
    on_disk = {m.name for m in pkgutil.iter_modules(reproductions.__path__) if not m.name.startswith("_")}
    assert len(on_disk) >= 8  # the eight of this release; more may come
    assert {reproductions.REGISTRY[n].rsplit(".", 1)[1] for n in reproductions.names()} == on_disk
    assert len(reproductions.names()) == len(on_disk)
    for name in reproductions.names():
        assert name == reproductions.get(name).__name__.rsplit(".", 1)[1].replace("_", "-")
    for name in ("dudik2011", "mips2022", "replay2011", "topk-reinforce2019", "kang-schafer2007"):
        assert reproductions.status(name) == "ready"
    with pytest.raises(ConfigError, match="did you mean 'dudik2011'"):
        reproductions.get("dudik")


@pytest.mark.parametrize("name", ["cascade-dr2022", "cobs-graph", "slateq2019"])
def test_pending_reproductions_name_what_is_missing(name):
    miss = reproductions.missing(name)
    if not miss:
        pytest.skip(f"{name} can run in this checkout (its estimators are available)")
    assert miss and reproductions.status(name).startswith("needs")
    with pytest.raises(NotSupportedError, match=name):
        reproductions.run(name)
    mod = reproductions.get(name)
    with pytest.raises(NotSupportedError, match="needs"):
        mod.run()
    assert mod.REFERENCE and mod.SETUP and mod.TOLERANCE


def test_missing_names_are_the_unimportable_ones(monkeypatch):
    from simrec.estimators import ope
    from simrec.reproductions import _pending, cobs_graph

    assert _pending.missing_names("simrec.estimators.ope", ("IPS", "NoSuchEstimator")) == [
        "simrec.estimators.ope.NoSuchEstimator"]
    assert _pending.missing_names("simrec.no_such_module", ("X",)) == ["simrec.no_such_module.X"]
    for n in cobs_graph.NEEDS:
        monkeypatch.setattr(ope, n, object(), raising=False)
    assert not any(m.startswith("simrec.estimators.ope") for m in cobs_graph.missing())


def test_cli_list_and_errors(tmp_path):
    runner = CliRunner()
    out = runner.invoke(cli, ["reproduce", "--list"])
    assert out.exit_code == 0
    for name in reproductions.names():
        assert name in out.output
    assert "ready" in out.output
    assert ("pending" in out.output) == any(reproductions.missing(n) for n in reproductions.names())
    bad = runner.invoke(cli, ["reproduce", "dudik"])
    assert bad.exit_code == 2 and "did you mean" in bad.output
    if reproductions.missing("slateq2019"):
        pending = runner.invoke(cli, ["reproduce", "slateq2019", "-o", str(tmp_path)])
        assert pending.exit_code == 3 and "slateq2019" in pending.output
    assert runner.invoke(cli, ["reproduce"]).exit_code != 0
