"""Shared machinery: a batched *core* per environment, and the two Gymnasium faces over it.

A core steps B rows (one user episode each) with numpy/numba arrays. :class:`SimrecEnv` is the
core with B = 1; :class:`SimrecVectorEnv` is the core with B = num_envs and next-step autoreset.
Both use the same code path, so ``make_vec(id, num_envs=1)`` equals ``make(id)`` step for step,
and sub-env i of a vector env seeded s equals a single env seeded s + i.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from ..errors import ConfigError, InvalidActionError, ResetNeededError
from ..sim import World
from ..streams import mix64_np
from .truth import Truth

__all__ = [
    "Core",
    "SimrecEnv",
    "SimrecVectorEnv",
    "next_seeds",
    "obs_box",
    "stack_obs",
    "clip_obs",
    "check_int_actions",
    "SlateActions",
    "OBS_BOUND",
]

_SEED_MASK = np.uint64((1 << 62) - 1)


def next_seeds(seeds: np.ndarray) -> np.ndarray:
    """The episode seeds that follow ``seeds`` (used on autoreset and on unseeded resets)."""
    z = mix64_np(np.asarray(seeds, dtype=np.int64).astype(np.uint64) + np.uint64(0x632BE59BD9B4E019))
    return (z & _SEED_MASK).astype(np.int64)


class Core:
    """B rows of one environment kind. Subclasses define the spaces and the dynamics."""

    single_observation_space: gym.spaces.Box
    single_action_space: gym.Space
    #: the env kind the truth interface reports ("bandit", "slate", "retention", "messaging", ...)
    kind: str = ""
    #: True when :meth:`step` ignores (and does not validate) the actions of inactive rows, so the
    #: ignored actions of autoresetting sub-envs need not be replaced by a valid dummy.
    skips_inactive_actions: bool = False

    def __init__(self, world: World, n_rows: int) -> None:
        self.world = world
        self.n_rows = n_rows

    def reset_rows(self, rows: np.ndarray, seeds: np.ndarray) -> None:
        """Start new episodes in ``rows`` with episode ``seeds`` (the user is a function of the seed)."""
        self.start_rows(rows, self.episode_users(seeds), seeds)

    def start_rows(self, rows: np.ndarray, users: np.ndarray, seeds: np.ndarray) -> None:
        """Start new episodes of ``users`` in ``rows`` with episode ``seeds``."""
        raise NotImplementedError

    def expected_reward(self, actions: np.ndarray) -> np.ndarray:
        """Exact expected reward of validated ``actions`` (one per row) in the rows' current state."""
        raise NotImplementedError

    def observe(self) -> np.ndarray:
        """(B, obs_dim) float32 observations, a fresh array."""
        raise NotImplementedError

    def step(self, actions: np.ndarray, active: np.ndarray) -> tuple[np.ndarray, ...]:
        """Step ``active`` rows; returns (reward, terminated, truncated, info: dict of arrays)."""
        raise NotImplementedError

    def check_actions(self, actions: Any) -> np.ndarray:
        """Validate a batch of actions (B, ...) and return it as int64."""
        raise NotImplementedError

    def dummy_action(self) -> np.ndarray:
        """A valid single action (stands in for the ignored action of an autoresetting row)."""
        raise NotImplementedError

    def sample_action(self, rng: np.random.Generator) -> np.ndarray:
        """A uniformly random *valid* single action (the action space alone may admit invalid ones,
        e.g. a slate with a repeated item)."""
        return np.int64(rng.integers(self.single_action_space.n))

    def initial_reward_matrix(self) -> np.ndarray:
        """(n_users, n_available), read-only: the exact expected reward of each released item shown
        alone at the first slot to each user in their initial state. Computed once per catalog size
        and shared (``Truth.expected_reward_matrix``, the bandit's ``optimal_expected_reward``)."""
        w = self.world
        R = self.__dict__.get("_initial_R")
        if R is None or R.shape != (w.n_users, w.n_available):
            users = np.repeat(np.arange(w.n_users), w.n_available)
            items = np.tile(np.arange(w.n_available), w.n_users)
            R = w.expected_reward(users, items, 0).reshape(w.n_users, w.n_available)
            R.flags.writeable = False
            self._initial_R = R
        return R

    def episode_users(self, seeds: np.ndarray) -> np.ndarray:
        """The user of each episode: a pure function of its seed."""
        z = mix64_np(np.asarray(seeds, dtype=np.int64).astype(np.uint64) ^ np.uint64(0xA24BAED4963EE407))
        return (z % np.uint64(self.world.n_users)).astype(np.int64)


class SlateActions:
    """Slate actions of ``K`` item ids per row, shared by the slate-showing cores (``Slate-v0``,
    ``Retention-v0``, ``Conversation-v0``): the dtype and shape are checked here; ids outside the
    catalog, repeats and unreleased items in ``World.step`` (errors, or empty slots when lenient)."""

    world: World
    n_rows: int
    K: int

    def check_actions(self, actions: Any) -> np.ndarray:
        arr = np.asarray(actions)
        if arr.ndim != 2 or arr.shape != (self.n_rows, self.K):
            raise InvalidActionError(
                f"`action` must be a slate of {self.K} item ids per env, shape ({self.n_rows}, {self.K}) "
                f"batched or ({self.K},) single; got shape {arr.shape[1:] if self.n_rows == 1 else arr.shape}"
            )
        return self.world._slate_array(arr, self.n_rows)

    def dummy_action(self) -> np.ndarray:
        return np.arange(self.K, dtype=np.int64)

    def sample_action(self, rng: np.random.Generator) -> np.ndarray:
        return rng.choice(self.world.n_available, size=self.K, replace=False).astype(np.int64)


OBS_BOUND = 10.0


def obs_box(dim: int) -> gym.spaces.Box:
    """The observation space of every simrec env: float32 in [-10, 10] (observations are clipped)."""
    return gym.spaces.Box(-OBS_BOUND, OBS_BOUND, shape=(dim,), dtype=np.float32)


def clip_obs(out: np.ndarray) -> np.ndarray:
    """Clip an observation batch to the space's bounds, in place."""
    return np.clip(out, -OBS_BOUND, OBS_BOUND, out=out)


def stack_obs(cols: list[np.ndarray]) -> np.ndarray:
    """Columns -> a clipped float32 observation batch."""
    return clip_obs(np.concatenate(cols, axis=1, dtype=np.float32))


def check_int_actions(actions: Any, shape: tuple[int, ...], high: int, name: str = "action") -> np.ndarray:
    """Integer actions of ``shape`` in [0, high)."""
    arr = np.asarray(actions)
    if arr.dtype.kind not in "iu":
        raise InvalidActionError(f"`{name}` must hold integers; got dtype {arr.dtype} (value {actions!r:.80})")
    if arr.shape != shape:
        raise InvalidActionError(f"`{name}` must have shape {shape}; got {arr.shape}")
    arr = arr.astype(np.int64)
    bad = (arr < 0) | (arr >= high)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise InvalidActionError(f"`{name}` must lie in [0, {high}); entry {idx} is {arr[idx]}")
    return arr


def _entropy_seed() -> int:
    return int(np.random.SeedSequence().generate_state(1, np.uint64)[0] & _SEED_MASK)


def _info_with_masks(info: dict[str, np.ndarray], mask: np.ndarray) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in info.items():
        out[k] = v
        out["_" + k] = mask.copy()
    return out


def _vector_env(core_class: type[Core], num_envs: int, world: Any, world_seed: int,
                kwargs: dict[str, Any]) -> SimrecVectorEnv:
    """A fresh vector env over ``core_class`` (what :class:`Truth` rolls policies out in)."""
    env = SimrecVectorEnv.__new__(SimrecVectorEnv)
    env.core_class = core_class
    SimrecVectorEnv.__init__(env, num_envs, world, world_seed, **kwargs)
    return env


class _TruthMixin:
    """The public truth interface of both faces (``env.unwrapped.truth``)."""

    _core: Core
    _make_args: tuple[Any, int, dict[str, Any]]

    @property
    def truth(self) -> Truth:
        """Ground truth of this env: see :class:`simrec.envs.truth.Truth`."""
        t = self.__dict__.get("_truth")
        if t is None:
            config, seed, kwargs = self._make_args
            cls = type(self._core)
            t = self._truth = Truth(self._core, lambda n: _vector_env(cls, n, config, seed, kwargs), cls.kind)
        return t

    @property
    def world(self) -> World:
        """The simulator behind the env (ground truth; policies use :attr:`truth`)."""
        return self._core.world


class SimrecEnv(_TruthMixin, gym.Env):
    """A single-episode Gymnasium face over a core with one row."""

    metadata: dict[str, Any] = {"render_modes": []}
    core_class: type[Core]

    def __init__(self, world: str | dict | Any = "default", world_seed: int = 0, **kwargs: Any) -> None:
        w = World(world, world_seed)
        self._core = self.core_class(w, 1, **kwargs)
        self._make_args = (w.config, w.seed, dict(kwargs))
        self.observation_space = self._core.single_observation_space
        self.action_space = self._core.single_action_space
        self._seed: np.ndarray | None = None
        self._needs_reset = True

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        if seed is not None:
            self._seed = np.array([seed], dtype=np.int64)
        elif self._seed is None:
            self._seed = np.array([_entropy_seed()], dtype=np.int64)
        else:
            self._seed = next_seeds(self._seed)
        self._core.reset_rows(np.array([0]), self._seed)
        self._needs_reset = False
        return self._core.observe()[0], {}

    def step(self, action: Any):
        if self._needs_reset:
            raise ResetNeededError("call reset() before step() (and after an episode ends)")
        batch = self._core.check_actions(np.asarray(action)[None, ...])
        reward, term, trunc, info = self._core.step(batch, np.ones(1, dtype=bool))
        self._needs_reset = bool(term[0] or trunc[0])
        single = {k: (v[0].item() if v[0].ndim == 0 else v[0].copy()) for k, v in info.items()}
        return self._core.observe()[0], float(reward[0]), bool(term[0]), bool(trunc[0]), single


class SimrecVectorEnv(_TruthMixin, gym.vector.VectorEnv):
    """A natively batched vector env: all sub-envs are rows of one core (next-step autoreset)."""

    metadata: dict[str, Any] = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": []}
    core_class: type[Core]

    def __init__(
        self, num_envs: int = 1, world: str | dict | Any = "default", world_seed: int = 0, **kwargs: Any
    ) -> None:
        if not isinstance(num_envs, (int, np.integer)) or num_envs < 1:
            raise ConfigError(f"`num_envs` must be a positive integer; got {num_envs!r}")
        self.num_envs = int(num_envs)
        w = World(world, world_seed)
        self._core = self.core_class(w, self.num_envs, **kwargs)
        self._make_args = (w.config, w.seed, dict(kwargs))
        self.single_observation_space = self._core.single_observation_space
        self.single_action_space = self._core.single_action_space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._seeds: np.ndarray | None = None
        self._autoreset = np.zeros(self.num_envs, dtype=bool)
        self._started = False

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        if seed is not None:
            self._np_random, self._np_random_seed = gym.utils.seeding.np_random(seed)
            self._seeds = int(seed) + np.arange(self.num_envs, dtype=np.int64)
        elif self._seeds is None:
            self._seeds = _entropy_seed() + np.arange(self.num_envs, dtype=np.int64)
        else:
            self._seeds = next_seeds(self._seeds)
        self._core.reset_rows(np.arange(self.num_envs), self._seeds)
        self._autoreset[:] = False
        self._started = True
        return self._core.observe(), {}

    def step(self, actions: Any):
        if not self._started:
            raise ResetNeededError("call reset() before step()")
        acts = np.asarray(actions)
        if self._autoreset.any() and acts.shape[:1] == (self.num_envs,) and not self._core.skips_inactive_actions:
            acts = acts.copy()
            acts[self._autoreset] = self._core.dummy_action()
        batch = self._core.check_actions(acts)
        resetting = self._autoreset.copy()
        active = ~resetting
        if resetting.any():
            rows = np.flatnonzero(resetting)
            self._seeds[rows] = next_seeds(self._seeds[rows])
            self._core.reset_rows(rows, self._seeds[rows])
        reward, term, trunc, info = self._core.step(batch, active)
        reward = np.where(active, reward, 0.0)
        term &= active
        trunc &= active
        self._autoreset = term | trunc
        return self._core.observe(), reward, term, trunc, _info_with_masks(info, active)
