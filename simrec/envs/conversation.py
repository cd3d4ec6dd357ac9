"""``simrec/Conversation-v0``: a user asks for something in words; the recommender answers with a slate.

An episode is one conversation of at most ``max_turns`` turns with one user. At reset the user states
a request generated from latent preferences (two wanted genres, an avoided genre, a mood, a length;
see :mod:`simrec.sim.conversation`). Each step the recommender shows ``slate_size`` distinct items
(optionally with an explanation, :meth:`ConversationEnv.explain`); the simulator's choice model
decides whether the user takes one. The user then answers in words: *accept* (a click: the episode
terminates with reward 1), *leave* (the session ends: terminated, reward 0), or *refine* (a new
constraint, e.g. "I said no horror.") and the conversation goes on; it is truncated after
``max_turns`` turns. The same seed gives the same words.

Observation (float32, documented encoder :class:`ConversationObservation`): the user's observable
features (``dim``), the text encoding of the opening request (``text_dim``), the text encoding of the
user's latest utterance (``text_dim``), then turn / max_turns and refinements / max_turns. The text
encoder is :class:`simrec.text.HashingEncoder` by default (``encoder="minilm"`` for sentence
embeddings, 384 dimensions).

Action: ``slate_size`` item ids (``MultiDiscrete``). As in ``Slate-v0``, a slot that repeats an item
shown earlier in the slate or names an item not released yet is an *empty slot*: nothing is shown
there, so it draws no click, the user's reply does not mention it and an explanation cannot claim
anything about it (``info["empty_slots"]`` counts them). Reward: click (or watch fraction, per the
world config).

``info`` (reset and step): ``user_text`` (the user's latest utterance), ``request`` (the opening
request); step only: ``response`` (``"accept"``, ``"refine"``, ``"leave"``), ``expected_reward``
(exact, of the shown slate), ``slot_expected_reward``, ``clicked_slot`` (-1 none), ``user_id``,
``n_items_available``, ``explanation_score`` (0 when no explanation was given) and ``explained``.

Ground truth for the current rows (``env.unwrapped``): :meth:`ConversationCore.expected_reward`
(exact expected reward of any slates), :meth:`ConversationCore.expected_reward_items` (every item
alone), :meth:`ConversationCore.preferences` and :meth:`ConversationCore.explanation_scores`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from .._validation import check_int
from ..errors import ConfigError, InvalidActionError
from ..sim import World
from ..sim.conversation import (
    RESPONSES,
    ExplanationScore,
    Preferences,
    preferences_from_rewards,
    reply_text,
    request_text,
    score_explanation,
)
from ..streams import GOLDEN, mix64_np
from ..text import TextEncoder, make_encoder
from ._base import OBS_BOUND, Core, SimrecEnv, SimrecVectorEnv, SlateActions, obs_box

__all__ = ["ConversationCore", "ConversationEnv", "ConversationVectorEnv", "ConversationObservation",
           "TextObservations"]

_SEED_MASK = (1 << 62) - 1
_U64 = (1 << 64) - 1


def _splitmix(z: int) -> int:
    """One SplitMix64 step on a Python int (the golden-ratio increment, then the mixer of
    :mod:`simrec.streams`): a stable hash, the same on every machine."""
    return int(mix64_np(np.uint64((z + int(GOLDEN)) & _U64)))


_TEXT_MEMORY = 65_536  # observations remembered by texts_for


@dataclass(frozen=True)
class ConversationObservation:
    """The documented observation encoder of ``Conversation-v0``.

    ``encode(features, requests, latest, turn, refinements)`` builds the observation rows; the
    ``*_slice`` attributes say where each part sits, so a policy can read the request encoding back
    (e.g. to retrieve items whose text encoding is close to it).
    """

    encoder: TextEncoder
    dim: int
    max_turns: int

    @property
    def features_slice(self) -> slice:
        return slice(0, self.dim)

    @property
    def request_slice(self) -> slice:
        return slice(self.dim, self.dim + self.encoder.dim)

    @property
    def latest_slice(self) -> slice:
        return slice(self.dim + self.encoder.dim, self.dim + 2 * self.encoder.dim)

    @property
    def size(self) -> int:
        return self.dim + 2 * self.encoder.dim + 2

    def space(self) -> gym.spaces.Box:
        return obs_box(self.size)

    def transform(self, obs: Any) -> np.ndarray:
        """Observation rows from what an env emitted: vectors pass through; the dicts of
        :class:`TextObservations` (``request``, ``latest``, ``features``: features then turn and
        refinement fractions) are encoded. A single observation gives one row."""
        many = isinstance(obs, (list, tuple)) and len(obs) > 0 and isinstance(obs[0], dict)
        if isinstance(obs, dict) or many or (isinstance(obs, np.ndarray) and obs.dtype == object):
            rows = [obs] if isinstance(obs, dict) else list(np.ravel(np.asarray(obs, dtype=object)))
            feats = np.array([np.asarray(r["features"], dtype=np.float64) for r in rows]).reshape(len(rows), -1)
            return self.encode(feats[:, : self.dim], [r["request"] for r in rows], [r["latest"] for r in rows],
                               feats[:, self.dim] * self.max_turns, feats[:, self.dim + 1] * self.max_turns)
        X = np.asarray(obs, dtype=np.float32)
        return X[None] if X.ndim == 1 else X

    def encode(self, features: np.ndarray, requests: Sequence[str], latest: Sequence[str],
               turn: np.ndarray, refinements: np.ndarray) -> np.ndarray:
        """Observation rows from their parts (texts are encoded with ``encoder``)."""
        return self.assemble(features, self.encoder.encode(list(requests)), self.encoder.encode(list(latest)),
                             turn, refinements)

    def assemble(self, features: np.ndarray, request_enc: np.ndarray, latest_enc: np.ndarray,
                 turn: np.ndarray, refinements: np.ndarray) -> np.ndarray:
        """Observation rows from already encoded texts."""
        n = request_enc.shape[0]
        out = np.empty((n, self.size), dtype=np.float32)
        out[:, self.features_slice] = features
        out[:, self.request_slice] = request_enc
        out[:, self.latest_slice] = latest_enc
        out[:, -2] = np.asarray(turn) / self.max_turns
        out[:, -1] = np.asarray(refinements) / self.max_turns
        return np.clip(out, -OBS_BOUND, OBS_BOUND, out=out)


class ConversationCore(SlateActions, Core):
    kind = "conversation"
    skips_inactive_actions = True  # World.step validates the slates of active rows only

    def __init__(self, world: World, n_rows: int, slate_size: int = 3, max_turns: int = 5,
                 encoder: str | TextEncoder = "hash", text_dim: int = 32) -> None:
        super().__init__(world, n_rows)
        self.K = check_int(slate_size, name="slate_size", minimum=1, error=ConfigError)
        if self.K > world.n_available:
            raise ConfigError(f"`slate_size` ({self.K}) cannot exceed the {world.n_available} items available")
        self.max_turns = check_int(max_turns, name="max_turns", minimum=1, error=ConfigError)
        enc = make_encoder(encoder, dim=text_dim) if encoder == "hash" else make_encoder(encoder)
        self.observation = ConversationObservation(enc, world.config.dim, self.max_turns)
        self.single_observation_space = self.observation.space()
        self.single_action_space = gym.spaces.MultiDiscrete(np.full(self.K, world.n_items, dtype=np.int64))
        world.reset(np.zeros(n_rows, dtype=np.int64), 0)
        self.turn = np.zeros(n_rows, dtype=np.int64)
        self.refinements = np.zeros(n_rows, dtype=np.int64)
        self.seeds = np.zeros(n_rows, dtype=np.int64)
        self.requests = [""] * n_rows
        self.latest = [""] * n_rows
        self._req_enc = np.zeros((n_rows, enc.dim), dtype=np.float32)  # encodings, updated with the texts
        self._lat_enc = np.zeros((n_rows, enc.dim), dtype=np.float32)
        self.prefs: list[Preferences | None] = [None] * n_rows
        self._explanations: list[str | None] | None = None
        self._memory: OrderedDict[bytes, tuple[str, str]] = OrderedDict()

    # ------------------------------------------------------------------ episodes
    def _variant(self, row: int) -> int:
        """The phrasing variant of row's current turn: a hash of (episode seed, turn)."""
        return _splitmix(_splitmix(int(self.seeds[row]) & _SEED_MASK ^ 0xC04E) + int(self.turn[row])) >> 34

    def start_rows(self, rows: np.ndarray, users: np.ndarray, seeds: np.ndarray) -> None:
        rows = np.asarray(rows, dtype=np.int64)
        seeds = np.asarray(seeds, dtype=np.int64)
        self.world.reset_rows(rows, users, seeds)
        self.turn[rows] = 0
        self.refinements[rows] = 0
        self.seeds[rows] = seeds
        # fresh rows are in their users' initial state, where World.expected_reward is exact
        n_av = self.world.n_available
        users = self.world.state.users[rows]
        R = self.world.expected_reward(np.repeat(users, n_av), np.tile(np.arange(n_av), rows.size)).reshape(-1, n_av)
        draws = np.array([(_splitmix(int(s) & _SEED_MASK ^ 0x1E) >> 11) / 2.0**53 for s in seeds])
        for r, p in zip(rows, preferences_from_rewards(R, self.world.catalog, draws)):
            self.prefs[r] = p
            self.requests[r] = self.latest[r] = request_text(p, self.world.catalog, self._variant(int(r)))
        if rows.size:
            enc = self.observation.encoder.encode([self.requests[r] for r in rows])
            self._req_enc[rows] = enc
            self._lat_enc[rows] = enc

    def observe(self) -> np.ndarray:
        obs = self.observation.assemble(self.world.state.features, self._req_enc, self._lat_enc,
                                        self.turn, self.refinements)
        for b in range(self.n_rows):
            key = obs[b].tobytes()
            self._memory[key] = (self.requests[b], self.latest[b])
            self._memory.move_to_end(key)
        while len(self._memory) > _TEXT_MEMORY:
            self._memory.popitem(last=False)
        return obs

    def texts(self) -> dict[str, np.ndarray]:
        """The current rows' ``request`` and ``user_text`` (latest utterance)."""
        return {"user_text": np.array(self.latest, dtype=str), "request": np.array(self.requests, dtype=str)}

    def texts_for(self, obs: Any) -> list[tuple[str, str] | None]:
        """``(request, latest utterance)`` behind each observation row this env emitted recently
        (the last 65,536), ``None`` for rows it does not know."""
        X = np.asarray(obs, dtype=np.float32)
        X = X[None] if X.ndim == 1 else X
        return [self._memory.get(np.ascontiguousarray(x).tobytes()) for x in X]

    # ------------------------------------------------------------------ actions
    def explain(self, texts: Sequence[str | None]) -> None:
        """Attach an explanation to the next step's slate of each row (``None``: no explanation)."""
        texts = list(texts)
        if len(texts) != self.n_rows:
            raise InvalidActionError(f"`texts` must hold {self.n_rows} explanations (one per row); got {len(texts)}")
        for i, t in enumerate(texts):
            if t is not None and not isinstance(t, str):
                raise InvalidActionError(f"`texts` must hold strings or None; entry {i} is {type(t).__name__}")
        self._explanations = texts

    def step(self, actions: np.ndarray, active: np.ndarray):
        users = self.world.state.users.copy()
        expl, self._explanations = self._explanations, None
        # every element of the action space is valid: repeated or unreleased items are empty slots
        fb = self.world.step(actions, active, lenient=True)
        response = np.full(self.n_rows, "", dtype="<U6")
        score = np.zeros(self.n_rows)
        explained = np.zeros(self.n_rows, dtype=bool)
        cat = self.world.catalog
        for b in np.flatnonzero(active):
            p = self.prefs[b]
            shown = fb.shown[b][fb.shown[b] >= 0]  # what the user saw: no empty slot speaks or is explained
            if expl is not None and expl[b] is not None:
                score[b] = score_explanation(expl[b], shown, p, cat, n_available=self.world.n_available).score
                explained[b] = True
            self.turn[b] += 1
            code = 0 if fb.clicked_item[b] >= 0 else (3 if fb.left[b] else 1)
            self.refinements[b] += code == 1
            response[b] = RESPONSES[code]
            self.latest[b] = reply_text(code, p, cat, shown, int(fb.clicked_item[b]), self._variant(int(b)))
        stepped = np.flatnonzero(active)
        if stepped.size:
            self._lat_enc[stepped] = self.observation.encoder.encode([self.latest[b] for b in stepped])
        term = active & ((fb.clicked_item >= 0) | fb.left)
        trunc = active & ~term & (self.turn >= self.max_turns)
        info = {
            "response": response,
            "expected_reward": fb.expected_reward,
            "slot_expected_reward": fb.slot_expected_reward,
            "clicked_slot": fb.clicked_slot,
            "user_id": users,
            "n_items_available": np.full(self.n_rows, self.world.n_available, dtype=np.int64),
            "explanation_score": score,
            "explained": explained,
            "empty_slots": fb.empty_slots,
            **self.texts(),
        }
        return fb.reward, term, trunc, info

    # ------------------------------------------------------------------ ground truth
    def expected_reward(self, slates: Any) -> np.ndarray:
        """(B,) exact expected reward of showing ``slates[b]`` (B, K) to row b in its current state
        (repeated or unreleased items are empty slots); nothing changes."""
        return self.world.expected_slate_reward(self.check_actions(slates), lenient=True)[0]

    def expected_reward_items(self) -> np.ndarray:
        """(B, n_available): exact expected reward of each released item shown alone to each row."""
        return self.world.expected_rewards_now()

    def preferences(self) -> list[Preferences]:
        """The latent conversational preferences of the current rows."""
        return list(self.prefs)

    def explanation_scores(self, slates: Any, texts: Sequence[str]) -> list[ExplanationScore]:
        """Score ``texts[b]`` as the explanation of ``slates[b]`` for row b, as a step would: only the
        items shown count (repeated or unreleased items are empty slots). Nothing changes."""
        sl = np.asarray(slates)
        if sl.ndim != 2 or sl.shape[0] != self.n_rows or len(texts) != self.n_rows:
            raise InvalidActionError(f"`slates` and `texts` must have {self.n_rows} rows; got {sl.shape}, {len(texts)}")
        shown = self.world.shown_slates(sl)
        return [score_explanation(t, s[s >= 0], p, self.world.catalog, n_available=self.world.n_available)
                for t, s, p in zip(texts, shown, self.prefs)]


class _TextFace:
    """What both faces add: text in ``reset`` info, explanations, the observation encoder."""

    _core: ConversationCore

    @property
    def observation_encoder(self) -> ConversationObservation:
        """The documented encoder of this env's observations."""
        return self._core.observation

    def texts_for(self, obs: Any) -> list[tuple[str, str] | None]:
        """See :meth:`ConversationCore.texts_for`."""
        return self._core.texts_for(obs)

    def expected_reward(self, slates: Any) -> np.ndarray:
        """See :meth:`ConversationCore.expected_reward` (a single env takes one slate (K,) too)."""
        sl = np.asarray(slates)
        return self._core.expected_reward(sl[None] if sl.ndim == 1 else sl)

    def expected_reward_items(self) -> np.ndarray:
        return self._core.expected_reward_items()


class ConversationEnv(_TextFace, SimrecEnv):
    """Single-episode ``simrec/Conversation-v0`` (see the module docstring)."""

    core_class = ConversationCore

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        obs, _ = super().reset(seed=seed, options=options)
        return obs, {k: str(v[0]) for k, v in self._core.texts().items()}

    def step(self, action: Any):
        obs, r, te, tr, info = super().step(action)
        for k in ("response", "user_text", "request"):
            info[k] = str(info[k])
        return obs, r, te, tr, info

    def explain(self, text: str | None) -> None:
        """The explanation that goes with the next action (scored in the step's ``info``)."""
        self._core.explain([text])


class ConversationVectorEnv(_TextFace, SimrecVectorEnv):
    """Natively batched ``simrec/Conversation-v0``."""

    core_class = ConversationCore

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        obs, _ = super().reset(seed=seed, options=options)
        info: dict[str, Any] = {}
        for k, v in self._core.texts().items():
            info[k] = v
            info["_" + k] = np.ones(self.num_envs, dtype=bool)
        return obs, info

    def step(self, actions: Any):
        obs, r, te, tr, info = super().step(actions)
        for k, v in self._core.texts().items():  # rows that just reset show their new request
            info[k] = v
            info["_" + k] = np.ones(self.num_envs, dtype=bool)
        return obs, r, te, tr, info

    def explain(self, texts: Sequence[str | None]) -> None:
        """The explanations that go with the next actions, one per sub-env (``None``: none)."""
        self._core.explain(texts)


class TextObservations(gym.ObservationWrapper, gym.utils.RecordConstructorArgs):
    """``Conversation-v0`` with raw observations: a dict of the user's ``request`` and ``latest`` words
    (``Text`` spaces) and ``features`` (user features, turn / max_turns, refinements / max_turns).

    Vector-observation policies still work on it: the wrapper documents its
    ``observation_encoder`` (:meth:`ConversationObservation.transform` turns these dicts into the
    vectors of ``Conversation-v0``), which :func:`simrec.policies.make_policy` applies for them.
    """

    def __init__(self, env: gym.Env, max_length: int = 1000) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, max_length=max_length)
        gym.ObservationWrapper.__init__(self, env)
        core: ConversationCore = env.unwrapped._core
        n = core.observation.dim + 2
        text = gym.spaces.Text(max_length=max_length, charset=frozenset(chr(i) for i in range(32, 127)))
        self.observation_space = gym.spaces.Dict({
            "request": text, "latest": text,
            "features": gym.spaces.Box(-OBS_BOUND, OBS_BOUND, shape=(n,), dtype=np.float32)})

    @property
    def observation_encoder(self) -> ConversationObservation:
        return self.env.unwrapped._core.observation

    def observation(self, observation: np.ndarray) -> dict[str, Any]:
        core: ConversationCore = self.env.unwrapped._core
        enc = core.observation
        feats = np.concatenate([observation[enc.features_slice], observation[-2:]]).astype(np.float32)
        return {"request": core.requests[0], "latest": core.latest[0], "features": feats}
