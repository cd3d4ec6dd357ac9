"""API keys come from the environment and never appear in any output; sweep files cannot hold them."""

from __future__ import annotations

import logging
import pickle
import traceback
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import simrec  # noqa: F401
from simrec.errors import ConfigError
from simrec.policies import collect, make_policy
from simrec.policies.llm import BackendError, OpenAICompatibleBackend
from simrec.sweeps import parse_sweep, run_sweep

from .conftest import SMALL_WORLD

KEY = "sk-SIMREC-planted-3f9a1c7e5b2d"
VAR = "SIMREC_PLANTED_KEY"


def _grep(tree: Path) -> list[str]:
    return [str(p) for p in tree.rglob("*") if p.is_file() and KEY.encode() in p.read_bytes()]


@pytest.fixture
def planted(monkeypatch):
    monkeypatch.setenv(VAR, KEY)


def test_key_never_leaks(planted, fake_openai, tmp_path, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    spec = {"kind": "openai", "base_url": fake_openai.base_url, "model": "m", "api_key_env": VAR,
            "timeout": 1.0, "max_retries": 1, "backoff": 0.0}
    # 1. the server echoes our request headers (Authorization included) in its error bodies
    fake_openai.behaviours = [("echo", 401)]
    b = OpenAICompatibleBackend(**{k: v for k, v in spec.items() if k != "kind"})
    with pytest.raises(BackendError) as err:
        b.complete([{"role": "user", "content": "hi"}])
    assert fake_openai.headers[0]["Authorization"] == f"Bearer {KEY}"  # the key was sent ...
    texts += [str(err.value), repr(err.value), "".join(traceback.format_exception(err.value))]
    fake_openai.behaviours = [("echo", 500)]
    with pytest.raises(BackendError) as err:
        b.complete([{"role": "user", "content": "hi"}])
    texts += [str(err.value), repr(b), str(vars(b)), pickle.dumps(b).decode("latin-1")]

    # 2. a policy acting and logging through that backend (every answer an echoed error: fallbacks)
    env = gym.make_vec("simrec/Conversation-v0", num_envs=4, world=SMALL_WORLD)
    pol = make_policy("llm", env, backend=spec, n_samples=2, rng=0)
    log = collect(env, pol, 40, seed=0)
    log.to_parquet(tmp_path / "log.parquet")
    texts += [repr(pol), str(pol.stats_), str(log.meta), str(pol.last_explanations_), pol.last_error_]
    assert "HTTP 500" in pol.last_error_
    assert pol.fallback_rate == 1.0

    # 3. a sweep whose policy parameters name the variable
    sweep = {
        "name": "secret", "seeds": 1, "horizon": 5, "train_rounds": 10,
        "worlds": [{"preset": "default", "population": {"n_users": 50}, "catalog": {"n_items": 20}}],
        "policies": ["uniform", {"name": "llm", "params": {"backend": spec, "n_samples": 1}}],
        "logging": {"policy": "uniform", "n": 100}, "estimators": ["IPS"],
        "truth": {"episodes": 4, "train_batch": 4},
    }
    res = run_sweep(parse_sweep(sweep), "local", out_dir=tmp_path / "sweep", progress=False)
    import pandas as pd

    table = pd.read_parquet(res.out_dir / "results.parquet") if (res.out_dir / "results.parquet").exists() else None
    assert table is not None and (table["policy_name"] == "llm").any()
    assert (table.loc[table["policy_name"] == "llm", "status"] == "ok").all()

    out = capsys.readouterr()
    texts += [out.out, out.err, caplog.text, table.to_csv()]
    leaks = [t[:200] for t in texts if KEY in t]
    assert not leaks, leaks
    assert not _grep(tmp_path), _grep(tmp_path)
    assert "***" in texts[0]  # the echoed header was scrubbed, not just absent


def test_sweep_files_cannot_hold_keys(fake_openai):
    with pytest.raises(ConfigError, match="environment"):
        make_policy("llm", gym.make_vec("simrec/Conversation-v0", num_envs=1, world=SMALL_WORLD),
                    backend={"kind": "openai", "base_url": fake_openai.base_url, "model": "m", "api_key": KEY})


def test_the_key_is_read_at_request_time(planted, fake_openai, monkeypatch):
    fake_openai.behaviours = [("ok", "x")]
    b = OpenAICompatibleBackend(fake_openai.base_url, "m", api_key_env=VAR)
    monkeypatch.setenv(VAR, "rotated")
    b.complete([{"role": "user", "content": "hi"}])
    assert fake_openai.headers[-1]["Authorization"] == "Bearer rotated"
    assert not any(isinstance(v, str) and "rotated" in v for v in vars(b).values())
    assert np.all([KEY not in repr(v) for v in vars(b).values()])
