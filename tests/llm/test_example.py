"""examples/llm_conversation.py runs (quick), reports what it claims, and never writes an API key."""

from __future__ import annotations

import json

import pytest

from simrec.policies.llm import ScriptedBackend
from tests._env import load_script

KEY = "sk-SIMREC-example-9d8e7f6a5b4c"


@pytest.fixture(scope="module")
def example():
    return load_script("examples/llm_conversation.py")


def test_quick_offline_run(example, tmp_path):
    res = example.main(["--quick", "--out", str(tmp_path)])
    assert {r["policy"] for r in res["online"]} == {"llm", "linucb", "popularity"}
    llm = next(r for r in res["online"] if r["policy"] == "llm")
    assert 0.0 <= llm["fallback_rate"] <= 1.0 and llm["propensity_source"] == "repeated-sampling"
    # personalised explanations beat the baselines' faithful attribute lists, which beat nothing
    assert llm["explanation_score"] > max(r["explanation_score"] for r in res["online"] if r is not llm) > 0
    ips = res["ope"]["estimates"][0]
    assert ips["estimator"] == "IPS" and ips["ci_low"] <= res["ope"]["truth"] <= ips["ci_high"]
    report = (tmp_path / "report.md").read_text()
    assert "fallback rate" in report and "| IPS |" in report
    assert (tmp_path / "figure.png").stat().st_size > 10_000
    assert json.loads((tmp_path / "results.json").read_text())["ope"]["n"] == res["ope"]["n"]


def test_run_against_a_server_never_writes_the_key(example, fake_openai, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("SIMREC_EXAMPLE_KEY", KEY)
    sb = ScriptedBackend()
    fake_openai.behaviours = [lambda body: sb.complete(body["messages"], temperature=body["temperature"],
                                                       seed=body.get("seed")).text]
    res = example.main(["--quick", "--out", str(tmp_path), "--items", "30", "--envs", "5", "--samples", "2",
                        "--base-url", fake_openai.base_url, "--model", "m", "--api-key-env", "SIMREC_EXAMPLE_KEY"])
    assert fake_openai.headers and fake_openai.headers[0]["Authorization"] == f"Bearer {KEY}"
    llm = next(r for r in res["online"] if r["policy"] == "llm")
    assert llm["fallback_rate"] == 0.0 and llm["propensity_type"] == "monte-carlo"
    out = capsys.readouterr()
    assert KEY not in out.out + out.err
    for p in tmp_path.rglob("*"):
        assert KEY.encode() not in p.read_bytes(), p
