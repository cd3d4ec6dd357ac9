"""Language-model backends behind one small interface, for :class:`simrec.policies.llm.LLMRecommender`.

A backend turns chat messages into one completion::

    backend.complete(messages, *, temperature=0.0, seed=None, max_tokens=256) -> Completion

``messages`` is a list of ``{"role": ..., "content": ...}`` dicts (the OpenAI chat format);
``Completion.text`` is the answer (untrusted text) and ``Completion.logprob`` the summed token
log-probability when the backend reports it. Failures (timeouts, HTTP errors, answers that do not
follow the wire format) raise :class:`BackendError`; the recommender counts them and falls back.

``deterministic`` says whether the same (messages, temperature, seed) always gives the same answer.

Backends
--------
:class:`ScriptedBackend`
    Offline and deterministic, for tests and examples: a keyword-matching recommender that answers
    in the requested JSON format (sampling with seeded Gumbel noise when ``temperature > 0``), or a
    script of answers / a function you give (to play garbage, invented ids, prompt injection).
:class:`OpenAICompatibleBackend`
    HTTP ``POST {base_url}/chat/completions`` (vLLM, llama.cpp server, Ollama, hosted APIs) with
    timeouts, retries with exponential backoff and a request-rate limit. The API key is read from the
    environment variable named by ``api_key_env`` at each request; it is never stored on the object,
    shown in its repr, or written into an error message.
:class:`TransformersBackend`
    A local Hugging Face ``transformers`` causal language model (``pip install 'simrec[llm]'``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .._validation import check_int, check_nonnegative, check_positive
from ..errors import ConfigError, NotSupportedError, SimrecError

__all__ = [
    "Backend",
    "BackendError",
    "Completion",
    "ScriptedBackend",
    "OpenAICompatibleBackend",
    "TransformersBackend",
    "make_backend",
]

Messages = Sequence[dict[str, str]]


class BackendError(SimrecError, RuntimeError):
    """A backend could not produce an answer (timeout, HTTP error, malformed wire response)."""


@dataclass(frozen=True)
class Completion:
    """One answer: its text and, when the backend reports it, the summed token log-probability."""

    text: str
    logprob: float | None = None


@runtime_checkable
class Backend(Protocol):
    """What a language-model backend provides (see the module docstring)."""

    deterministic: bool

    def complete(self, messages: Messages, *, temperature: float = 0.0, seed: int | None = None,
                 max_tokens: int = 256) -> Completion:
        ...


def _check_messages(messages: Any) -> list[dict[str, str]]:
    out = list(messages)
    for i, m in enumerate(out):
        if not isinstance(m, dict) or not isinstance(m.get("role"), str) or not isinstance(m.get("content"), str):
            raise ConfigError(f"`messages` must be {{'role': str, 'content': str}} dicts; entry {i} is {m!r:.80}")
    return out


def _stable_int(*parts: Any) -> int:
    h = hashlib.blake2b(digest_size=8)
    for p in parts:
        h.update(repr(p).encode())
        h.update(b"\x00")
    return int.from_bytes(h.digest(), "little")


# ---------------------------------------------------------------------- scripted (offline)
_CAND = re.compile(r"^\s*-\s*id\s+(\d+)\s*:\s*(.*)$", re.MULTILINE)
_WORDS = re.compile(r"[a-z]+")
_NEG = {"no", "not", "nothing", "without", "drop", "avoid"}
_STOP = {"a", "an", "the", "or", "and", "of", "for", "to", "me", "i", "something", "piece", "story", "with",
         "touch", "please", "in", "mood", "want", "maybe", "about", "rather", "than", "looking", "can", "you",
         "recommend", "it", "is", "be", "more", "those", "other", "said", "really", "minute", "by"}


class _Picklable:
    """Backends hold a ``threading.Lock`` (``_lock``); pickling (process-pool sweeps) drops it and
    unpickling makes a new one."""

    _lock: threading.Lock

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("_lock", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()


class ScriptedBackend(_Picklable):
    """A deterministic offline backend.

    Parameters
    ----------
    script : None, sequence of str, or callable
        ``None``: a keyword-matching recommender. It reads the candidate lines (``- id N: text``) and the
        user's words from the last message, scores each candidate by the words it shares with the
        request (minus words the user negated, e.g. "no horror"), and answers
        ``{"items": [...], "explanation": "..."}`` naming the shared words; with ``temperature > 0``
        it adds Gumbel noise of scale ``temperature`` drawn from (prompt, seed), so answers vary with
        the seed and repeat exactly for the same seed. A sequence: answers returned in turn (cycling).
        A callable ``script(messages, seed) -> str``: its return value.
    slate_size : int
        How many items the default recommender names (it also reads "recommend K" from the prompt).
    """

    deterministic = True

    def __init__(self, script: None | Sequence[str] | Callable[[list[dict[str, str]], int | None], str] = None,
                 *, slate_size: int = 3) -> None:
        if script is not None and not callable(script):
            script = [str(s) for s in script]
            if not script:
                raise ConfigError("`script` must hold at least one answer")
        self.script = script
        self.slate_size = check_int(slate_size, name="slate_size", minimum=1, error=ConfigError)
        self.n_calls = 0
        self._lock = threading.Lock()

    def complete(self, messages: Messages, *, temperature: float = 0.0, seed: int | None = None,
                 max_tokens: int = 256) -> Completion:
        msgs = _check_messages(messages)
        with self._lock:
            i = self.n_calls
            self.n_calls += 1
        if callable(self.script):
            return Completion(str(self.script(msgs, seed)))
        if self.script is not None:
            return Completion(self.script[i % len(self.script)])
        return self._recommend(msgs, float(temperature), seed)

    def _recommend(self, msgs: list[dict[str, str]], temperature: float, seed: int | None) -> Completion:
        text = msgs[-1]["content"]
        cands = [(int(m.group(1)), m.group(2)) for m in _CAND.finditer(text)]
        if not cands:
            return Completion('{"items": [], "explanation": "I found no candidates."}')
        head = text.split("- id", 1)[0].lower()
        words = _WORDS.findall(head)
        neg = {w for j, w in enumerate(words) if any(x in _NEG for x in words[max(0, j - 3):j])}
        want = {w for w in words if w not in _STOP and w not in neg}
        k = self.slate_size
        m = re.search(r"recommend (\d+)", head)
        if m:
            k = max(1, int(m.group(1)))
        scores, shared = [], []
        for _, t in cands:
            ws = set(_WORDS.findall(t.lower()))
            s = ws & want
            shared.append(sorted(s))
            scores.append(len(s) - 2.0 * len(ws & neg))
        sc = np.asarray(scores, dtype=np.float64)
        if temperature > 0:
            g = np.random.default_rng(_stable_int(text, seed)).gumbel(size=sc.size)
            sc = sc + temperature * g
        order = np.argsort(-sc, kind="stable")[:k]
        items = [cands[j][0] for j in order]
        parts = [f"#{cands[j][0]} is {' and '.join(shared[j])}" for j in order if shared[j]]
        expl = ("; ".join(parts) + ".") if parts else "These match your request."
        return Completion(json.dumps({"items": items, "explanation": expl}))

    def __repr__(self) -> str:
        if self.script is None:
            kind = "keyword"
        else:
            kind = "callable" if callable(self.script) else f"{len(self.script)} answers"
        return f"ScriptedBackend(script={kind})"


# ---------------------------------------------------------------------- OpenAI-compatible HTTP
class OpenAICompatibleBackend(_Picklable):
    """Chat completions over HTTP in the OpenAI wire format.

    Parameters
    ----------
    base_url : str
        E.g. ``"http://localhost:8000/v1"`` (vLLM), ``"http://localhost:11434/v1"`` (Ollama),
        ``"https://api.openai.com/v1"``. ``/chat/completions`` is appended.
    model : str
        The model name the server expects.
    api_key_env : str or None
        Name of the environment variable holding the API key (sent as a Bearer token). Never the
        key itself: keys must not live in code or sweep files.
    timeout : float
        Seconds per attempt (connect and read).
    max_retries : int
        Extra attempts after a timeout, a connection error, HTTP 429 or 5xx.
    backoff : float
        Seconds before the first retry; doubled each retry (capped at 30 s).
    max_requests_per_second : float or None
        Client-side rate limit (requests are spaced at least ``1 / rate`` seconds apart).
    max_response_bytes : int
        Larger responses are refused (an answer is untrusted input).
    logprobs : bool
        Ask the server for token log-probabilities (``Completion.logprob``).
    """

    deterministic = False  # servers honour ``seed`` on a best-effort basis

    def __init__(self, base_url: str, model: str, *, api_key_env: str | None = None, timeout: float = 30.0,
                 max_retries: int = 2, backoff: float = 0.5, max_requests_per_second: float | None = None,
                 max_response_bytes: int = 1_000_000, logprobs: bool = False) -> None:
        if not isinstance(base_url, str) or not re.match(r"^https?://", base_url):
            raise ConfigError(f"`base_url` must be an http(s) URL; got {str(base_url)[:80]!r}")
        if not isinstance(model, str) or not model:
            raise ConfigError("`model` must be a non-empty string")
        if api_key_env is not None and (not isinstance(api_key_env, str)
                                        or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", api_key_env)):
            raise ConfigError("`api_key_env` must be the *name* of an environment variable (letters, digits, _)")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key_env = api_key_env
        self.timeout = check_positive(timeout, name="timeout")
        self.max_retries = check_int(max_retries, name="max_retries", minimum=0, error=ConfigError)
        self.backoff = check_nonnegative(backoff, name="backoff")
        self.max_requests_per_second = (None if max_requests_per_second is None
                                        else check_positive(max_requests_per_second, name="max_requests_per_second"))
        self.max_response_bytes = check_int(max_response_bytes, name="max_response_bytes", minimum=1,
                                            error=ConfigError)
        self.logprobs = bool(logprobs)
        self.n_requests = 0
        self.n_retries = 0
        self._last = 0.0
        self._lock = threading.Lock()

    def _key(self) -> str | None:
        if self.api_key_env is None:
            return None
        key = os.environ.get(self.api_key_env)
        if not key:
            raise BackendError(f"the environment variable {self.api_key_env} named by `api_key_env` is not set")
        return key

    def _scrub(self, msg: str) -> str:
        key = os.environ.get(self.api_key_env) if self.api_key_env else None
        msg = str(msg)
        if key:
            msg = msg.replace(key, "***")
        return re.sub(r"(?i)bearer\s+\S+", "Bearer ***", msg)[:500]

    def _wait_turn(self) -> None:
        if self.max_requests_per_second is None:
            return
        with self._lock:
            gap = 1.0 / self.max_requests_per_second
            now = time.monotonic()
            wait = self._last + gap - now
            if wait > 0:
                time.sleep(wait)
            self._last = max(now, self._last + gap)

    def complete(self, messages: Messages, *, temperature: float = 0.0, seed: int | None = None,
                 max_tokens: int = 256) -> Completion:
        body: dict[str, Any] = {"model": self.model, "messages": _check_messages(messages),
                                "temperature": float(temperature), "max_tokens": int(max_tokens), "n": 1}
        if seed is not None:
            body["seed"] = int(seed)
        if self.logprobs:
            body["logprobs"] = True
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        key = self._key()
        if key:
            headers["Authorization"] = "Bearer " + key
        url = self.base_url + "/chat/completions"
        last = "no attempt made"
        for attempt in range(self.max_retries + 1):
            if attempt:
                self.n_retries += 1
                time.sleep(min(30.0, self.backoff * 2 ** (attempt - 1)))
            self._wait_turn()
            self.n_requests += 1
            req = urllib.request.Request(url, data=data, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310 (http(s) only)
                    raw = resp.read(self.max_response_bytes + 1)
            except urllib.error.HTTPError as exc:
                try:
                    detail = self._scrub(exc.read(300).decode("utf-8", "replace")) if exc.fp else ""
                except (OSError, ValueError):
                    detail = ""
                last = f"HTTP {exc.code} from {url}: {detail}"
                if exc.code == 429 or exc.code >= 500:
                    continue
                raise BackendError(last) from None
            except (TimeoutError, urllib.error.URLError, ConnectionError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                last = f"request to {url} failed after {self.timeout:g} s timeout or connection error: " \
                       f"{self._scrub(str(reason))}"
                continue
            if len(raw) > self.max_response_bytes:
                raise BackendError(f"response from {url} exceeds max_response_bytes={self.max_response_bytes}")
            return self._parse(raw, url)
        raise BackendError(f"{last} (after {self.max_retries + 1} attempts)")

    def _parse(self, raw: bytes, url: str) -> Completion:
        try:
            obj = json.loads(raw.decode("utf-8"))
            choice = obj["choices"][0]
            text = choice["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError, UnicodeDecodeError):
            raise BackendError(f"response from {url} is not an OpenAI chat completion "
                               f"(first bytes: {self._scrub(raw[:80].decode('utf-8', 'replace'))!r})") from None
        if not isinstance(text, str):
            raise BackendError(f"response from {url}: choices[0].message.content must be a string")
        lp = None
        try:
            toks = choice.get("logprobs", {}) or {}
            vals = [float(t["logprob"]) for t in toks.get("content", []) or []]
            lp = float(sum(vals)) if vals else None
        except (TypeError, KeyError, ValueError, AttributeError):
            lp = None
        return Completion(text, lp)

    def __repr__(self) -> str:
        return (f"OpenAICompatibleBackend(base_url={self.base_url!r}, model={self.model!r}, "
                f"api_key_env={self.api_key_env!r}, timeout={self.timeout:g}, max_retries={self.max_retries})")


# ---------------------------------------------------------------------- local transformers
class TransformersBackend:
    """A local causal language model through Hugging Face ``transformers``.

    Parameters
    ----------
    model : str, path or a ``PreTrainedModel``
        A local folder or hub name (loaded with ``local_files_only=True``: never downloads), or a model
        object (e.g. one built from a config for tests).
    tokenizer : a tokenizer, optional
        Required with a model object; loaded from the same folder otherwise.
    max_new_tokens : int
        Cap on generated tokens (``max_tokens`` of a call is capped by it).

    Sampling is seeded (``seed``) inside a forked torch RNG, so the global torch RNG is untouched and
    the same seed gives the same answer: ``deterministic`` is True.
    """

    deterministic = True

    def __init__(self, model: Any, tokenizer: Any = None, *, max_new_tokens: int = 128) -> None:
        try:
            import torch  # noqa: F401
            import transformers
        except ImportError as exc:
            raise NotSupportedError(f"TransformersBackend needs torch and transformers ({exc}); "
                                    "install them with pip install 'simrec[llm]'") from None
        if isinstance(model, (str, os.PathLike)):
            self.model_name = str(model)
            self.model = transformers.AutoModelForCausalLM.from_pretrained(self.model_name, local_files_only=True)
            tokenizer = tokenizer or transformers.AutoTokenizer.from_pretrained(self.model_name, local_files_only=True)
        else:
            self.model = model
            self.model_name = type(model).__name__
        if tokenizer is None:
            raise ConfigError("`tokenizer` is required when `model` is a model object")
        self.tokenizer = tokenizer
        self.model.eval()
        self.max_new_tokens = check_int(max_new_tokens, name="max_new_tokens", minimum=1, error=ConfigError)

    def _prompt(self, msgs: list[dict[str, str]]) -> str:
        if getattr(self.tokenizer, "chat_template", None):
            return self.tokenizer.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
        return "".join(f"{m['role']}: {m['content']}\n" for m in msgs) + "assistant: "

    def complete(self, messages: Messages, *, temperature: float = 0.0, seed: int | None = None,
                 max_tokens: int = 256) -> Completion:
        import torch

        msgs = _check_messages(messages)
        enc = self.tokenizer(self._prompt(msgs), return_tensors="pt")
        n_new = min(int(max_tokens), self.max_new_tokens)
        sample = float(temperature) > 0
        kw: dict[str, Any] = {"max_new_tokens": n_new, "do_sample": sample, "return_dict_in_generate": True,
                              "output_scores": True}
        if sample:
            kw.update(temperature=float(temperature), top_k=0)
        pad = getattr(self.tokenizer, "pad_token_id", None)
        kw["pad_token_id"] = pad if pad is not None else getattr(self.tokenizer, "eos_token_id", None) or 0
        try:
            with torch.random.fork_rng(devices=[]), torch.no_grad():
                torch.manual_seed(0 if seed is None else int(seed) % (2**63))
                out = self.model.generate(**enc, **kw)
                new = out.sequences[0, enc["input_ids"].shape[1]:]
                scores = self.model.compute_transition_scores(out.sequences, out.scores, normalize_logits=True)
        except Exception as exc:  # a local model failing is a backend failure, not a crash of the caller
            raise BackendError(f"transformers generation failed: {type(exc).__name__}: {str(exc)[:200]}") from None
        text = self.tokenizer.decode(new, skip_special_tokens=True)
        lp = float(scores[0].sum()) if scores.numel() else None
        return Completion(text, lp)

    def __repr__(self) -> str:
        return f"TransformersBackend(model={self.model_name!r}, max_new_tokens={self.max_new_tokens})"


def make_backend(spec: Any) -> Backend:
    """A backend from a spec: a backend object, ``"scripted"``, or a dict with ``kind`` in
    ``{"scripted", "openai", "transformers"}`` and the class's keyword arguments (what a sweep file
    holds). API keys are never accepted in a spec: name the environment variable (``api_key_env``)."""
    if isinstance(spec, Backend):
        return spec
    if isinstance(spec, str):
        spec = {"kind": spec}
    if not isinstance(spec, dict):
        raise ConfigError(
            f"`backend` must be a backend object, 'scripted' or a dict with 'kind'; got {type(spec).__name__}")
    params = dict(spec)
    kind = params.pop("kind", None)
    for k in list(params):
        if "key" in k.lower() and k != "api_key_env":
            raise ConfigError(f"backend spec field {k!r} is not allowed: API keys come from the environment; "
                              "set api_key_env to the name of the variable that holds the key")
    builders: dict[str, Callable[..., Backend]] = {
        "scripted": ScriptedBackend, "openai": OpenAICompatibleBackend, "transformers": TransformersBackend}
    if kind not in builders:
        raise ConfigError(f"backend `kind` must be one of {sorted(builders)}; got {kind!r}")
    try:
        return builders[kind](**params)
    except TypeError as exc:
        raise ConfigError(f"bad parameters for backend {kind!r}: {exc}") from None
