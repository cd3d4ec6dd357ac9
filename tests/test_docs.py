"""The documentation ships and is checked: `mkdocs build --strict` passes (no warnings), every
Python example in docs/ runs, and the generated reference tables cover every field and estimator."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests._env import load_script

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))


def _hooks():
    return load_script("docs/hooks.py", "simrec_docs_hooks")


def test_docs_build_strict(tmp_path):
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings")
    site = tmp_path / "site"
    res = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"),
                          "-d", str(site)], cwd=ROOT, capture_output=True, text=True,
                         env={**__import__("os").environ, "NO_MKDOCS_2_WARNING": "1"})
    assert res.returncode == 0, res.stdout + res.stderr
    assert "WARNING" not in res.stderr, res.stderr
    html = (site / "sweeps" / "index.html").read_text()
    for key, *_ in _hooks().model_fields(__import__("simrec.sweeps.spec", fromlist=["SweepSpec"]).SweepSpec):
        assert f"<code>{key}</code>" in html, key
    exp = (site / "experiments" / "index.html").read_text()
    from simrec.sweeps.experiment import ExperimentSweepSpec

    for key, *_ in _hooks().model_fields(ExperimentSweepSpec):
        assert f"<code>{key}</code>" in exp, key
    est = (site / "estimators" / "index.html").read_text()
    from simrec.estimators import registry

    for name in registry.names():
        assert f"<code>{name}</code>" in est, name
    assert "<code>simrec/Slate-v0</code>" in (site / "envs" / "index.html").read_text()
    assert "choice.no_click_utility" in (site / "simulator" / "index.html").read_text()


def test_generated_tables_cover_every_model_field():
    from simrec.sim import WorldConfig
    from simrec.sweeps.spec import SweepSpec

    hooks = _hooks()
    keys = {k for k, *_ in hooks.model_fields(SweepSpec)}
    for name in SweepSpec.model_fields:
        assert any(k == name or k.startswith(name + ".") or k.startswith(name + "[]") for k in keys), name
    assert "worlds[].preset" in keys and "interval.method" in keys and "logging[].n" in keys
    wkeys = {k for k, *_ in hooks.model_fields(WorldConfig)}
    assert "choice.no_click_utility" in wkeys and "session.max_steps" in wkeys
    page = hooks.on_page_markdown("x <!-- simrec:sweep-fields --> y")
    assert "`execution.backend`" in page and "<!--" not in page


def _examples():
    out = []
    for page in PAGES:
        for i, block in enumerate(re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S)):
            out.append(pytest.param(block, id=f"{page.stem}-{i}"))
    return out


@pytest.mark.parametrize("code", _examples())
def test_docs_examples_run(code):
    exec(compile(code, "<docs>", "exec"), {"__name__": "__docs__"})


def test_no_pointers_to_files_users_do_not_have():
    """No text of the project points outside it: no parent-directory paths, no absolute paths into
    the workspace it was written in; every document named by a ``docs/`` path exists."""
    pattern = re.compile(r"\.\./|/work/")
    missing = [m for page in [ROOT / "README.md", *PAGES] for m in re.findall(r"docs/[\w./-]+\.md", page.read_text())
               if not (ROOT / m).is_file()]
    assert missing == [], missing
    bad = []
    for folder in ("simrec", "docs", "examples", "benchmarks"):
        for path in (ROOT / folder).rglob("*"):
            if path.suffix in (".py", ".md", ".toml", ".yaml", ".yml") and pattern.search(path.read_text()):
                bad.append(str(path.relative_to(ROOT)))
    if pattern.search((ROOT / "README.md").read_text()):
        bad.append("README.md")
    assert bad == [], bad
