"""Fixtures of the LLM tests: a small world and a loopback server speaking the OpenAI chat wire format."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import gymnasium as gym
import pytest

import simrec  # noqa: F401  (registers the envs)
from simrec.policies import make_policy

SMALL_WORLD = {"preset": "default", "catalog": {"n_items": 60}}


def grounded_run(backend, *, num_envs: int, steps: int, n_samples: int):
    """An ``llm`` policy over ``backend`` acting ``steps`` times on Conversation-v0 (``SMALL_WORLD``,
    ``num_envs`` rows); every action must be a catalog id with a positive propensity. The policy."""
    env = gym.make_vec("simrec/Conversation-v0", num_envs=num_envs, world=SMALL_WORLD)
    pol = make_policy("llm", env, backend=backend, n_samples=n_samples, rng=0)
    obs, _ = env.reset(seed=0)
    for _ in range(steps):
        a, p = pol.act(obs)
        assert ((a >= 0) & (a < SMALL_WORLD["catalog"]["n_items"])).all() and (p > 0).all()
        obs, *_ = env.step(a)
    return pol


class FakeOpenAI:
    """A loopback ``/v1/chat/completions`` server. ``behaviours`` is a list of what to do with the
    next requests (the last one repeats): ``("ok", content)``, ``("status", code, body)``,
    ``("raw", bytes)``, ``("hang", seconds)``, ``("echo", code)`` (the request headers in the body),
    or a callable ``request_json -> content``."""

    def __init__(self) -> None:
        self.behaviours: list = [("ok", '{"items": [], "explanation": ""}')]
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self.times: list[float] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):  # noqa: N802 (http.server's name)
                n = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(n) or b"{}")
                outer.requests.append(body)
                outer.headers.append(dict(self.headers))
                outer.times.append(time.monotonic())
                i = min(len(outer.requests) - 1, len(outer.behaviours) - 1)
                b = outer.behaviours[i]
                if callable(b):
                    b = ("ok", b(body))
                kind = b[0]
                if kind == "hang":
                    time.sleep(b[1])
                    return
                if kind == "ok":
                    payload = json.dumps({"id": "x", "object": "chat.completion", "model": body.get("model"),
                                          "choices": [{"index": 0, "finish_reason": "stop",
                                                       "message": {"role": "assistant", "content": b[1]}}]}).encode()
                    code = 200
                elif kind == "status":
                    code, payload = b[1], b[2].encode()
                elif kind == "echo":
                    code, payload = b[1], json.dumps(dict(self.headers)).encode()
                else:
                    code, payload = 200, b[1]
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_openai():
    srv = FakeOpenAI()
    yield srv
    srv.close()
