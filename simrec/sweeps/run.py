"""One run: ground truth of every target policy, a logged dataset, every estimator, the errors.

:func:`execute` is what every backend ships to its workers. It never raises: a failure becomes
rows with ``status="failed"`` and the traceback, so one bad run cannot stop a sweep.

Two truths are recorded per target policy, and the errors are measured against the first:

``truth``
    The exact value :math:`V(\\pi) = \\frac1{|U|}\\sum_u \\sum_a \\pi(a|x_u)\\,E[r|u,a]`, enumerated
    over every user of the (static) population; its standard error is 0.
``truth_rollout``, ``truth_rollout_se``
    The mean exact expected reward over ``truth.episodes`` seeded simulator episodes of ``horizon``
    rounds in which the policy acts, and its standard error across episodes. Rollouts share their
    random numbers (the users met) across target policies.

Learning targets are trained online for ``train_rounds`` rounds first (batches of
``truth.train_batch`` users), then frozen: the frozen policy is the one evaluated, by both truths
and by every estimator.
"""

from __future__ import annotations

import json
import math
import os
import socket
import time
import traceback
import warnings
from datetime import UTC, datetime
from typing import Any

import numpy as np

from . import _registry
from .grid import RunTask, derive_seed

__all__ = ["execute", "compute_run", "train_online", "rollout_value", "exact_value", "IDENTITY_COLUMNS",
           "VOLATILE_COLUMNS"]

#: columns identifying a row of the results table
IDENTITY_COLUMNS = ("run_id", "sweep", "world", "logging_policy", "n_log", "seed", "policy", "estimator")
#: columns that legitimately differ between two executions of the same run (time, place, checkout)
VOLATILE_COLUMNS = ("wall_s", "started_at", "host", "pid", "git_sha")


def _limit_threads(n: int) -> Any:
    """Cap numba and BLAS threads in this process (a worker must not oversubscribe its core)."""
    try:
        import numba

        numba.set_num_threads(max(1, min(n, numba.config.NUMBA_NUM_THREADS)))
    except (ImportError, ValueError):  # pragma: no cover
        pass
    try:
        from threadpoolctl import threadpool_limits

        return threadpool_limits(limits=n)
    except ImportError:  # pragma: no cover
        import contextlib

        return contextlib.nullcontext()


def _make_env(task: RunTask, num_envs: int | None = None) -> Any:
    import gymnasium as gym

    import simrec  # noqa: F401 - registers the environments in a fresh worker

    from ..sim.config import make_config

    cfg = make_config(task.world["config"])
    kw = {"world": cfg, "world_seed": task.world["world_seed"], "horizon": task.horizon}
    if num_envs is None:
        return gym.make(task.env, **kw)
    return gym.make_vec(task.env, num_envs=num_envs, **kw)


def train_online(policy: Any, venv: Any, rounds: int, seed: int) -> None:
    """Train ``policy`` online: act on a batch of users, observe rewards, ``update``; ``rounds`` in all."""
    if rounds <= 0:
        return
    rng = np.random.default_rng(seed)
    obs, _ = venv.reset(seed=int(seed % (2**31)))
    b = venv.num_envs
    done = 0
    while done < rounds:
        actions, props = policy.act(obs, rng)
        nxt, reward, term, trunc, _ = venv.step(np.asarray(actions, dtype=np.int64))
        m = min(b, rounds - done)
        policy.update(obs[:m], np.asarray(actions)[:m], np.asarray(reward)[:m], np.asarray(props)[:m])
        done += m
        if np.any(term | trunc):  # next-step autoreset: one ignored step restarts the rows
            nxt, *_ = venv.step(np.asarray(actions, dtype=np.int64))
        obs = nxt


def rollout_value(policy: Any, venv: Any, horizon: int, env_seed: int, act_seed: int) -> tuple[float, float]:
    """Mean of ``info["expected_reward"]`` over ``venv.num_envs`` episodes of ``horizon`` rounds,
    and its standard error across episodes. The policy is not updated."""
    rng = np.random.default_rng(act_seed)
    obs, _ = venv.reset(seed=int(env_seed % (2**31)))
    total = np.zeros(venv.num_envs)
    for _ in range(horizon):
        actions, _p = policy.act(obs, rng)
        obs, _r, _te, _tr, info = venv.step(np.asarray(actions, dtype=np.int64))
        total += np.asarray(info["expected_reward"], dtype=np.float64)
    means = total / horizon
    return float(means.mean()), float(means.std(ddof=1) / math.sqrt(means.size))


def exact_value(policy: Any, truth: Any) -> float:
    """Exact value of a (frozen) policy from the env's truth interface (enumerated over every user)."""
    return float(truth.policy_value(policy))


def _jsonable(d: dict[str, Any]) -> str:
    def conv(v: Any) -> Any:
        if isinstance(v, np.generic):
            return v.item()
        if isinstance(v, np.ndarray):
            return v.tolist()
        return v

    return json.dumps({k: conv(v) for k, v in sorted(d.items())}, sort_keys=True, default=str)


def _tb() -> str:
    return traceback.format_exc(limit=20)


def compute_run(task: RunTask) -> list[dict[str, Any]]:
    """The rows of one run (one per target policy x estimator). Raises on a run-level failure;
    failures of one target or one estimator are recorded in their rows."""
    env = _make_env(task)
    env_truth = env.unwrapped.truth
    truth_cfg = task.truth
    roll_env = _make_env(task, num_envs=int(truth_cfg["episodes"]))
    train_env = _make_env(task, num_envs=int(truth_cfg["train_batch"]))
    roll_seed = derive_seed("rollout-env", task.base_seed)

    # -- target policies: train, freeze, both truths
    targets: dict[str, Any] = {}
    truth: dict[str, tuple[float, float, float]] = {}
    target_errors: dict[str, str] = {}
    for p in task.policies:
        key = p["key"]
        try:
            pol = _registry.make_policy(p["name"], env, p["params"], rng=derive_seed("policy", task.base_seed, key))
            train_online(pol, train_env, int(p["train_rounds"]), derive_seed("train", task.base_seed, key))
            v = exact_value(pol, env_truth)
            rv, rse = rollout_value(pol, roll_env, task.horizon, roll_seed, derive_seed("act", task.base_seed, key))
            targets[key] = pol
            truth[key] = (v, rv, rse)
        except Exception:  # noqa: BLE001 - recorded in the rows of this target
            target_errors[key] = _tb()

    # -- the log
    lg = task.logging
    logger = _registry.make_policy(lg["policy"], env, lg["params"], rng=derive_seed("logger", task.log_seed))
    train_online(logger, train_env, int(lg["train_rounds"]), derive_seed("train-logger", task.log_seed))
    logger_value = exact_value(logger, env_truth)
    log = _registry.collect(train_env, logger, task.n_log, seed=int(derive_seed("collect", task.log_seed) % (2**31)))
    needs_q = _registry.needs_reward_model([e["name"] for e in task.estimators])
    q_hat = None
    if needs_q:
        q_hat = _registry.reward_model(task.reward_model, log, derive_seed("reward-model", task.log_seed))
    log_mean = float(np.mean(log.reward))

    alpha = float(task.interval["alpha"])
    method = str(task.interval["method"])
    rows = []
    for p in task.policies:
        key = p["key"]
        base = {"policy": key, "policy_name": p["name"], "policy_params": json.dumps(p["params"], sort_keys=True),
                "train_rounds": int(p["train_rounds"]), "logger_value": logger_value, "log_mean_reward": log_mean}
        if key in target_errors:
            for e in task.estimators:
                rows.append({**base, "estimator": e["key"], "status": "failed", "error_message": target_errors[key]})
            continue
        v, rv, rse = truth[key]
        base.update(truth=v, truth_rollout=rv, truth_rollout_se=rse)
        try:
            dist = np.asarray(targets[key].action_probs(log.context), dtype=np.float64)
        except Exception:  # noqa: BLE001
            msg = _tb()
            for e in task.estimators:
                rows.append({**base, "estimator": e["key"], "status": "failed", "error_message": msg})
            continue
        for e in task.estimators:
            rows.append({**base, **_estimate(e, log, dist, q_hat, v, alpha, method, task.log_seed)})
    return rows


def _estimate(e: dict[str, Any], log: Any, dist: np.ndarray, q_hat: Any, truth: float, alpha: float,
              method: str, log_seed: int) -> dict[str, Any]:
    row: dict[str, Any] = {"estimator": e["key"], "estimator_name": e["name"]}
    try:
        est = _registry.make_estimator(e["name"], e["params"], e["key"],
                                       random_state=derive_seed("estimator", log_seed, e["key"]))
        kw: dict[str, Any] = {"alpha": alpha, "ci_method": method}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = est.estimate(log, dist, q_hat if est.needs_q else None, **kw)
        lo, hi = (float(x) for x in res.ci)
        d = dict(res.diagnostics)
        row.update(
            status="ok", estimate=float(res.value), stderr=float(res.stderr), ci_low=lo, ci_high=hi,
            n=int(res.n), ess=float(res.ess), max_weight=float(d.get("max_weight", np.nan)),
            unsupported_mass=float(d.get("unsupported_mass", np.nan)),
            warnings=";".join(sorted({w.category.__name__ for w in caught})), diagnostics=_jsonable(d),
            error=float(res.value) - truth, abs_error=abs(float(res.value) - truth),
            squared_error=(float(res.value) - truth) ** 2, covered=bool(lo <= truth <= hi), ci_width=hi - lo,
        )
    except Exception:  # noqa: BLE001 - recorded in the row
        row.update(status="failed", error_message=_tb())
    return row


def execute(task: RunTask | dict[str, Any], threads: int = 1) -> dict[str, Any]:
    """Run one task in this process and return ``{"run_id", "status", "rows"}``; never raises.

    Every row carries the run's identity and provenance. ``threads`` caps numba and BLAS threads
    (results do not depend on it; throughput does).
    """
    if isinstance(task, dict):
        task = RunTask(**task)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    ident = {
        "run_id": task.run_id, "sweep": task.sweep, "world": task.world_key, "world_preset": task.world["preset"],
        "world_seed": int(task.world["world_seed"]), "logging_policy": task.logging["key"], "n_log": int(task.n_log),
        "seed": int(task.seed), "horizon": int(task.horizon), "base_seed": str(task.base_seed),
        "log_seed": str(task.log_seed), "config_hash": task.config_hash, **task.provenance,
    }
    with _limit_threads(threads), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # recorded per estimate; never printed from workers
        try:
            rows = compute_run(task)
            status = "ok" if all(r["status"] == "ok" for r in rows) else "failed"
        except Exception:  # noqa: BLE001 - a failed run is a result, not a crash
            rows = [{"status": "failed", "error_message": _tb()}]
            status = "failed"
    wall = time.perf_counter() - t0
    vol = {"wall_s": wall, "started_at": started, "host": socket.gethostname(), "pid": os.getpid()}
    return {"run_id": task.run_id, "status": status, "rows": [{**ident, **r, **vol} for r in rows]}
