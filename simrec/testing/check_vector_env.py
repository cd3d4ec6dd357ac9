"""``check_vector_env``: the conformance check of a batched (vector) environment.

Gymnasium ships ``check_env`` for single environments; this is its counterpart for natively
batched :class:`gymnasium.vector.VectorEnv` implementations. It checks batched spaces and dtypes,
seeded determinism, that returned buffers are not shared or mutated later, next-step autoreset
semantics, and that every sub-env i of a vector env seeded ``s`` behaves exactly like a single env
seeded ``s + i`` (so ``num_envs=1`` equals the single env).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

__all__ = ["check_vector_env", "VectorEnvCheckError"]


class VectorEnvCheckError(AssertionError):
    """A vector environment failed a conformance check."""


def _fail(msg: str) -> None:
    raise VectorEnvCheckError(msg)


def _same_space(a: gym.Space, b: gym.Space) -> bool:
    return type(a) is type(b) and a == b


def _sampler(env: Any, space: gym.Space) -> Callable[[np.random.Generator], Any]:
    truth = getattr(env.unwrapped, "truth", None)
    if truth is not None and hasattr(truth, "random_action"):
        return truth.random_action  # simrec envs: valid actions only (released, distinct items)

    def sample(rng: np.random.Generator) -> Any:
        space.seed(int(rng.integers(2**31)))
        return space.sample()

    return sample


def _rollout(env: VectorEnv, seed: int, actions: list[np.ndarray]) -> list[tuple]:
    obs, _ = env.reset(seed=seed)
    out = [(obs.copy(), None, None, None)]
    for a in actions:
        o, r, te, tr, _ = env.step(a)
        out.append((o.copy(), np.asarray(r).copy(), np.asarray(te).copy(), np.asarray(tr).copy()))
    return out


def check_vector_env(
    env: VectorEnv,
    make_single: Callable[[], gym.Env] | None = None,
    *,
    seed: int = 123,
    n_steps: int = 60,
    sample_action: Callable[[np.random.Generator], Any] | None = None,
) -> None:
    """Raise :class:`VectorEnvCheckError` if ``env`` breaks the vector-env contract.

    Parameters
    ----------
    env : VectorEnv
        The environment under test (it is reset and stepped).
    make_single : callable, optional
        Makes the equivalent single environment. Defaults to ``gym.make(env.spec.id, **kwargs)``
        when ``env.spec`` is set; pass it explicitly for unregistered envs.
    seed : int
        Base seed of the checks.
    n_steps : int
        Steps per rollout; long enough for some sub-envs to finish and autoreset.
    sample_action : callable, optional
        ``rng -> single action``; by default the env's own valid sampler if it has one, else the
        single action space's ``sample``.
    """
    if not isinstance(env, VectorEnv):
        _fail(f"expected a gymnasium.vector.VectorEnv, got {type(env).__name__}")
    n = env.num_envs
    if not isinstance(n, int) or n < 1:
        _fail(f"num_envs must be a positive int, got {n!r}")
    # 1. spaces
    if not _same_space(env.observation_space, batch_space(env.single_observation_space, n)):
        _fail("observation_space is not batch_space(single_observation_space, num_envs)")
    if not _same_space(env.action_space, batch_space(env.single_action_space, n)):
        _fail("action_space is not batch_space(single_action_space, num_envs)")
    mode = env.metadata.get("autoreset_mode")
    if mode is None:
        _fail('metadata["autoreset_mode"] is not declared')
    if mode != AutoresetMode.NEXT_STEP and mode != AutoresetMode.NEXT_STEP.value:
        _fail(f"only next-step autoreset is checked here; env declares {mode!r}")
    sampler = sample_action or _sampler(env, env.single_action_space)
    rng = np.random.default_rng(seed)
    actions = [np.stack([np.asarray(sampler(rng)) for _ in range(n)]) for _ in range(n_steps)]

    # 2. reset and step outputs: types, shapes, dtypes, membership
    obs, info = env.reset(seed=seed)
    if not isinstance(info, dict):
        _fail(f"reset() info must be a dict, got {type(info).__name__}")
    if obs not in env.observation_space:
        _fail(f"reset() observation is not in observation_space (shape {np.shape(obs)}, dtype {obs.dtype})")
    if obs.dtype != env.single_observation_space.dtype:
        _fail(f"observation dtype {obs.dtype} != space dtype {env.single_observation_space.dtype}")
    prev_obs, prev_copy = obs, obs.copy()
    any_done = False
    for t, a in enumerate(actions):
        o, r, te, tr, inf = env.step(a)
        for name, arr, kind in (("rewards", r, "f"), ("terminations", te, "b"), ("truncations", tr, "b")):
            arr = np.asarray(arr)
            if arr.shape != (n,):
                _fail(f"step {t}: {name} must have shape ({n},), got {arr.shape}")
            if arr.dtype.kind != kind and not (kind == "f" and arr.dtype.kind in "iu"):
                _fail(f"step {t}: {name} has dtype {arr.dtype}")
        if o not in env.observation_space:
            _fail(f"step {t}: observation not in observation_space")
        if not isinstance(inf, dict):
            _fail(f"step {t}: info must be a dict")
        for k, v in inf.items():
            if not k.startswith("_") and np.shape(v)[:1] != (n,):
                _fail(f"step {t}: info[{k!r}] must have a leading dimension of num_envs, got {np.shape(v)}")
        # 3. no shared or later-mutated buffers
        if np.shares_memory(o, prev_obs):
            _fail(f"step {t}: the returned observation shares memory with the previous one")
        if not np.array_equal(prev_obs, prev_copy):
            _fail(f"step {t}: an observation returned earlier was mutated by a later step")
        if not np.all(np.isfinite(np.asarray(r, dtype=float))):
            _fail(f"step {t}: non-finite reward")
        any_done |= bool(np.any(te) or np.any(tr))
        prev_obs, prev_copy = o, o.copy()

    # 4. seeded determinism
    first = _rollout(env, seed, actions)
    second = _rollout(env, seed, actions)
    for t, (x, y) in enumerate(zip(first, second)):
        for part, u, v in zip(("obs", "reward", "terminated", "truncated"), x, y):
            if u is not None and not np.array_equal(u, v):
                _fail(f"same seed, same actions, different {part} at step {t}")
    # 5. next-step autoreset: the step after an episode ends is a reset (reward 0, not done)
    for t in range(1, len(first) - 1):
        _, _, te, tr = first[t]
        done = te | tr
        if done.any():
            _, r_next, te_next, tr_next = first[t + 1]
            if np.any(r_next[done] != 0) or np.any(te_next[done]) or np.any(tr_next[done]):
                _fail(f"step {t + 1}: an autoresetting sub-env returned a reward or ended again")
    # 6. each sub-env equals the single env seeded seed + i (through resets)
    if make_single is None and env.spec is not None:
        kwargs = {k: v for k, v in env.spec.kwargs.items() if k not in ("num_envs", "vectorization_mode")}
        spec_id = env.spec.id

        def make_single() -> gym.Env:
            return gym.make(spec_id, **kwargs)

    if make_single is not None:
        for i in sorted({0, n - 1}):
            single = make_single()
            so, _ = single.reset(seed=seed + i)
            if not np.array_equal(so, first[0][0][i]):
                _fail(f"sub-env {i} reset observation differs from a single env seeded {seed + i}")
            done = False
            for t, a in enumerate(actions):
                if done:
                    so, _ = single.reset()
                    sr, ste, stru = 0.0, False, False
                else:
                    so, sr, ste, stru, _ = single.step(a[i])
                _, vr, vte, vtr = first[t + 1]
                vo = first[t + 1][0]
                if not (np.array_equal(so, vo[i]) and sr == vr[i] and ste == vte[i] and stru == vtr[i]):
                    _fail(f"sub-env {i} diverges from a single env seeded {seed + i} at step {t}")
                done = ste or stru
            single.close()
    if not any_done:
        _fail(f"no sub-env finished an episode within {n_steps} steps: autoreset was not exercised")
