"""One run of a sweep: train the targets, collect the logs, compute the truth, run every estimator.

:func:`execute` is what every backend ships to its workers. It never raises: a failure becomes rows
with ``status="failed"`` and the traceback, so one bad run cannot stop a sweep; an estimate that is
undefined on the log gets ``status="undefined"`` and the reason (the run is still ``ok``).

Ground truth, through the env's public truth interface only (``env.unwrapped.truth``):

``truth`` (the estimand of step estimators, ``estimand = "step"``)
    The expected reward of one decision at the start of an episode (see
    :mod:`simrec.sweeps.profiles`): exact (``truth_method = "exact"``, ``truth_se = 0``) where
    ``truth.policy_value`` enumerates it (bandit population values, deterministic or enumerable
    one-step slates), else a seeded rollout of the one-decision env (``"rollout"``, with its
    standard error).
``episode_value``, ``episode_value_se``
    ``truth.rollout`` of the full env: the expected sum of rewards over an episode, from
    ``truth.episodes`` seeded episodes with common random numbers across target policies, and the
    long-term outcomes ``outcome_<name>`` (clicks, watch, sessions, retained, visits, opens,
    unsubscribed, return, steps) with their standard errors. It is the truth of the sequential
    estimators (``estimand = "episode"``).

Learning targets are trained for ``train_rounds`` decisions first (online in the full env with real
next observations, or off-policy from a second log of the same logger, never the evaluated one),
then frozen; their learning curve (mean reward per
tenth of training) is stored in ``learning_curve`` (JSON).
"""

from __future__ import annotations

import json
import os
import socket
import time
import traceback
import warnings
from datetime import UTC, datetime
from typing import Any

import numpy as np

from ..errors import NotSupportedError
from ..policies import rollout_steps
from ..sim import calibrated
from . import _registry
from .checks import log_kinds_needed
from .estimation import EstimatorEntry, TargetInputs, bandit_inputs, estimate_all
from .grid import RunTask, derive_seed
from .logs import per_slot, step_log, trajectory_log
from .profiles import make_env, profile

__all__ = ["execute", "compute_run", "train_online", "IDENTITY_COLUMNS", "VOLATILE_COLUMNS", "OUTCOMES"]

#: columns identifying a row of the results table
IDENTITY_COLUMNS = ("run_id", "sweep", "world", "logging_policy", "n_log", "seed", "policy", "estimator")
#: columns that legitimately differ between two executions of the same run (time, place, checkout)
VOLATILE_COLUMNS = ("wall_s", "started_at", "host", "pid", "git_sha")
#: long-term outcomes of ``truth.rollout`` recorded per target policy
OUTCOMES = ("clicks", "watch", "sessions", "retained", "visits", "opens", "unsubscribed", "return", "steps")


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


def _seed31(x: int) -> int:
    return int(x % (2**31))


def train_online(policy: Any, venv: Any, rounds: int, seed: int) -> list[float]:
    """Train ``policy`` online for ``rounds`` decisions in ``venv`` (every batch's rewards, real next
    observations and episode ends reach ``update``); returns the mean reward per tenth of training."""
    if rounds <= 0:
        return []
    steps = -(-rounds // int(venv.num_envs))
    rewards: list[np.ndarray] = []
    for st in rollout_steps(venv, policy, steps, seed=_seed31(seed), learn=True):
        rewards.append(st.reward)
    r = np.concatenate(rewards)[:rounds] if rewards else np.zeros(0)
    return [float(c.mean()) for c in np.array_split(r, min(10, max(1, r.size))) if c.size]


def _step_truth(pol: Any, truth: Any, episodes: int, seed: int, max_enumerated: int = 200_000
                ) -> tuple[float, float, str]:
    try:
        return float(truth.policy_value(pol, max_enumerated=max_enumerated)), 0.0, "exact"
    except NotSupportedError:
        rv = truth.rollout(pol, episodes, seed=_seed31(seed))
        return rv.value, rv.stderr, "rollout"


def _episode_truth(pol: Any, truth: Any, episodes: int, seed: int) -> dict[str, Any]:
    rv = truth.rollout(pol, episodes, seed=_seed31(seed))
    out: dict[str, Any] = {"episode_value": rv.value, "episode_value_se": rv.stderr}
    for k in OUTCOMES:
        if k in rv.outcomes:
            m, se = rv.outcomes[k]
            out[f"outcome_{k}"], out[f"outcome_{k}_se"] = float(m), float(se)
    return out


def _tb() -> str:
    return traceback.format_exc(limit=20)


def _action_features(truth: Any, n_actions: int) -> tuple[np.ndarray, np.ndarray]:
    """Item features and topics per action id (an offset action such as "send nothing" gets a
    zero feature row with its own indicator, and its own topic)."""
    F = truth.item_features()
    topics = truth.item_topics()
    off = truth.action_offset
    if off:
        F = np.hstack([np.vstack([np.zeros((off, F.shape[1])), F]), np.r_[np.ones(off), np.zeros(len(F))][:, None]])
        topics = np.r_[-np.arange(1, off + 1), topics]
    return F[:n_actions], topics[:n_actions]


def _support_gap(target_dist: np.ndarray, logger_dists: list[np.ndarray], shares: np.ndarray) -> float:
    """Target mass on actions the logging policy (mixture) gives probability 0, at the logged contexts."""
    mix = sum(s * d for s, d in zip(shares, logger_dists))
    return float((target_dist * (mix <= 0)).sum(axis=-1).mean() if target_dist.ndim == 2
                 else (target_dist * (mix <= 0)).sum(axis=1).mean(axis=-1).mean())


def compute_run(task: RunTask) -> list[dict[str, Any]]:
    """The rows of one run (one per target policy x estimator). Raises on a run-level failure;
    failures of one target or one estimator are recorded in their rows."""
    prof = profile(task.env)
    values = dict(task.env_params)
    # a calibrated world is read from its file once per run (every env of the run shares the object);
    # its resolved config is in task.world["config"]
    wcfg = {"from": calibrated.load(task.world["source"])} if task.world.get("source") else task.world["config"]
    wconf = task.world["config"]
    wseed = int(task.world["world_seed"])
    tcfg = task.truth
    episodes = int(tcfg["episodes"])
    batch = int(tcfg["train_batch"])
    step_eps, max_enum = int(tcfg.get("step_episodes", 2000)), int(tcfg.get("max_enumerated", 200_000))
    step_env = make_env(task.env, wcfg, values, step=True, world_seed=wseed)
    step_truth = step_env.unwrapped.truth
    full_env = make_env(task.env, wcfg, values, world_seed=wseed)
    full_truth = full_env.unwrapped.truth
    user_dim = int(wconf["dim"])
    ests = [EstimatorEntry(e["key"], e["name"], dict(e["params"])) for e in task.estimators]
    kinds = log_kinds_needed([e.name for e in ests], task.env)
    roll_seed = derive_seed("rollout-env", task.base_seed)

    # -- the logging policy (or mixture), trained first if it learns
    lg = task.logging
    comps = lg["mixture"] or [{"policy": lg["policy"], "params": lg["params"], "weight": 1.0,
                               "train_rounds": lg["train_rounds"]}]
    loggers, weights = [], []
    for j, c in enumerate(comps):
        pol = _registry.make_policy(c["policy"], step_env, c["params"], rng=derive_seed("logger", task.log_seed, j))
        train_online(pol, make_env(task.env, wcfg, values, num_envs=batch, world_seed=wseed),
                     int(c["train_rounds"]), derive_seed("train-logger", task.log_seed, j))
        loggers.append(pol)
        weights.append(float(c["weight"]))
    w = np.asarray(weights) / sum(weights)
    logger_value = float(sum(wj * _step_truth(p, step_truth, step_eps, roll_seed, max_enum)[0]
                             for wj, p in zip(w, loggers)))

    # -- the logs
    step = None
    step_kinds = [k for k in kinds if k in ("bandit", "slate")]
    if step_kinds:
        step_venv = make_env(task.env, wcfg, values, num_envs=batch, step=True, world_seed=wseed)
        step = step_log(step_venv, loggers, weights, task.n_log, derive_seed("collect", task.log_seed),
                        adaptive=bool(lg["adaptive"]))
    traj = None
    if "trajectories" in kinds:
        traj = trajectory_log(lambda m: make_env(task.env, wcfg, values, num_envs=m, world_seed=wseed), loggers,
                              weights, int(lg["episodes"]), derive_seed("collect-episodes", task.log_seed))

    # -- target policies: build, train (online or from the log), freeze, truths
    targets: dict[str, Any] = {}
    truth_cols: dict[str, dict[str, Any]] = {}
    errors: dict[str, str] = {}
    fit_logs: list[Any] = []  # the second log of the logger, collected once for every train="log" target

    def fit_log() -> Any:
        if not fit_logs:
            fit_venv = make_env(task.env, wcfg, values, num_envs=batch, step=True, world_seed=wseed)
            fit_logs.append(step_log(fit_venv, loggers, weights, task.n_log, derive_seed("fit-log", task.log_seed)))
        return fit_logs[0].log

    for p in task.policies:
        key = p["key"]
        try:
            sh = p.get("shaping")
            rfn = _registry.reward_fn(sh["name"], sh["params"], user_dim) if sh else None
            pol = _registry.make_policy(p["name"], step_env, p["params"],
                                        rng=derive_seed("policy", task.base_seed, key), reward_fn=rfn)
            curve: list[float] = []
            if p.get("train") == "log":  # a second log of the same logger: never fit and evaluate on one log
                pol.fit(fit_log(), seed=_seed31(derive_seed("fit", task.log_seed, key)))
            else:
                tv = make_env(task.env, wcfg, values, num_envs=batch, world_seed=wseed)
                curve = train_online(pol, tv, int(p["train_rounds"]), derive_seed("train", task.base_seed, key))
            v, vse, method = _step_truth(pol, step_truth, step_eps, roll_seed, max_enum)
            cols = {"truth": v, "truth_se": vse, "truth_method": method,
                    **_episode_truth(pol, full_truth, episodes, roll_seed),
                    "learning_curve": json.dumps(curve), "reference": bool(p.get("reference", False)),
                    "trained_from": "log" if p.get("train") == "log" else ("online" if curve else "none"),
                    "shaping": "" if not sh else json.dumps(sh, sort_keys=True)}
            targets[key] = pol
            truth_cols[key] = cols
        except Exception:  # noqa: BLE001 - recorded in the rows of this target
            errors[key] = _tb()

    alpha = float(task.interval["alpha"])
    method = str(task.interval["method"])
    seed_of = lambda k: derive_seed("estimator", task.log_seed, k)  # noqa: E731
    rows: list[dict[str, Any]] = []
    base = {"logger_value": logger_value, "adaptive_logger": bool(lg["adaptive"]), "n_loggers": len(loggers)}
    for kind in kinds:
        kind_ests = [e for e in ests if _kind(e.name) == kind]
        if kind == "trajectories":
            log = traj
            slots = None
            inputs = {k: _traj_inputs(log, pol, prof.slate) for k, pol in targets.items()}
            truth = {k: c["episode_value"] for k, c in truth_cols.items()}
            extra = {"estimand": "episode", "log_mean_reward": float(np.mean(log.reward)),
                     "n_episodes": log.n_episodes}
        elif kind == "slate":
            log = step.log
            slots = None
            inputs = {k: _slate_inputs(log, pol) for k, pol in targets.items()}
            truth = {k: c["truth"] for k, c in truth_cols.items()}
            extra = {"estimand": "step", "log_mean_reward": float(log.reward.sum(axis=1).mean())}
        else:
            log, inputs, slots, gaps = _bandit_inputs(step, targets, prof.slate, step_truth, task)
            truth = {k: c["truth"] for k, c in truth_cols.items()}
            extra = {"estimand": "step", "log_mean_reward": float(np.mean(log.reward) * (slots or 1))}
            for k, g in gaps.items():
                truth_cols[k] = {**truth_cols[k], "logger_support_gap": g}
        for r in estimate_all(log, kind, inputs, kind_ests, alpha=alpha, ci_method=method, seed=seed_of,
                              truth=truth, slots=slots):
            rows.append({**base, **extra, **truth_cols[r["policy"]], **_policy_cols(task, r["policy"]), **r})
    for key, msg in errors.items():
        for e in ests:
            rows.append({**base, **_policy_cols(task, key), "policy": key, "estimator": e.key, "estimator_name": e.name,
                         "log_kind": _kind(e.name), "status": "failed", "error_message": msg})
    order = {p["key"]: i for i, p in enumerate(task.policies)}
    eorder = {e.key: i for i, e in enumerate(ests)}
    rows.sort(key=lambda r: (order[r["policy"]], eorder[r["estimator"]]))
    return rows


def _kind(name: str) -> str:
    from ..estimators import registry

    return registry.get(name).needs.log


def _policy_cols(task: RunTask, key: str) -> dict[str, Any]:
    p = next(q for q in task.policies if q["key"] == key)
    return {"policy_name": p["name"], "policy_params": json.dumps(p["params"], sort_keys=True),
            "train_rounds": int(p["train_rounds"]), "reference": bool(p.get("reference", False))}


def _bandit_inputs(step: Any, targets: dict[str, Any], slate: bool, truth: Any, task: RunTask):
    """The bandit log (per slot for slates) and each target's inputs, reward model fitted once."""
    log = step.log
    n_actions = log.n_items if slate else log.n_actions
    F, topics = _action_features(truth, n_actions)
    slots = None
    lp = step.logger_pscores
    if slate:
        K = log.slate.shape[1]
        log, lp = per_slot(log, step.logger_marginals)
        log = log.replace(action_embed=F)
        slots = K
    else:
        log = log.replace(action_embed=F)
    embed_log = log.replace(action_embed=topics[:, None].astype(np.float64))
    # a reward model is fitted when a bandit estimator reads q_hat, as a required or optional input
    needs_q = any("q_hat" in _needs(e["name"]) for e in task.estimators if _kind(e["name"]) == "bandit")
    q_hat = _registry.reward_model(task.reward_model, log, derive_seed("reward-model", task.log_seed)) if needs_q \
        else None
    ctx = step.log.context
    inputs, gaps = {}, {}
    ldists = None  # the loggers' action distributions at the logged contexts (the support-gap diagnostic)
    if step.logger_marginals is None and not task.logging["adaptive"]:
        try:
            ldists = [np.asarray(g.action_probs(ctx), dtype=np.float64) for g in step.loggers or []]
        except Exception:  # noqa: BLE001 - a diagnostic only
            ldists = None
    for key, pol in targets.items():
        try:
            d = np.asarray(pol.action_probs(ctx), dtype=np.float64)
        except Exception:  # noqa: BLE001 - a policy that cannot score logged contexts fails its own rows
            err = _tb()

            def fail(err: str = err) -> Any:
                raise RuntimeError(err)

            inputs[key] = TargetInputs({"action_dist": fail, "reduced": fail, "reduced_q": fail})
            continue
        dist = d.transpose(0, 2, 1).reshape(-1, d.shape[1]) if slate else d
        inputs[key] = bandit_inputs(log, dist, q_hat, logger_pscores=lp, logger_shares=step.shares,
                                    embed_log=embed_log)
        if ldists is not None:
            try:
                gaps[key] = _support_gap(d, ldists, step.shares)
            except Exception:  # noqa: BLE001 - a diagnostic only
                pass
    return log, inputs, slots, gaps


def _needs(name: str) -> tuple[str, ...]:
    from ..estimators import registry

    n = registry.get(name).needs
    return (*n.inputs, *n.optional)


def _slate_inputs(log: Any, pol: Any) -> TargetInputs:
    ctx, s = log.context, log.slate
    return TargetInputs({
        "pi_slate": lambda: np.asarray(pol.slate_pscore(ctx, s), dtype=np.float64),
        "pi_marginal": lambda: np.asarray(pol.slot_marginals(ctx, s), dtype=np.float64),
        "slot_dist": lambda: np.asarray(pol.action_probs(ctx), dtype=np.float64),
    })


def _traj_inputs(log: Any, pol: Any, slate: bool) -> TargetInputs:
    obs, a = log.obs, log.action
    comp: dict[str, Any] = {}
    if slate:
        comp["pi_logged"] = lambda: np.asarray(pol.slate_pscore(obs, a), dtype=np.float64)
    else:
        comp["action_dist"] = lambda: np.asarray(pol.action_probs(obs), dtype=np.float64)
        comp["pi_logged"] = lambda: np.asarray(pol.action_probs(obs), dtype=np.float64)[np.arange(len(a)), a]
    return TargetInputs(comp)


def execute(task: RunTask | dict[str, Any], threads: int = 1) -> dict[str, Any]:
    """Run one task in this process and return ``{"run_id", "status", "rows"}``; never raises.

    Every row carries the run's identity and provenance. ``threads`` caps numba and BLAS threads
    (results do not depend on it; throughput does). The run is ``ok`` when no row ``failed``
    (``undefined`` estimates are results).
    """
    if isinstance(task, dict):
        task = RunTask(**task)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    ident = {
        "run_id": task.run_id, "sweep": task.sweep, "env": task.env, "world": task.world_key,
        "world_preset": task.world["preset"], "world_seed": int(task.world["world_seed"]),
        "logging_policy": task.logging["key"], "n_log": int(task.n_log), "seed": int(task.seed),
        **{k: v for k, v in task.env_params.items()}, "base_seed": str(task.base_seed),
        "log_seed": str(task.log_seed), "config_hash": task.config_hash, **task.provenance,
    }
    with _limit_threads(threads), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # recorded per estimate; never printed from workers
        try:
            rows = compute_run(task)
            status = "failed" if any(r["status"] == "failed" for r in rows) else "ok"
        except Exception:  # noqa: BLE001 - a failed run is a result, not a crash
            rows = [{"status": "failed", "error_message": _tb()}]
            status = "failed"
    wall = time.perf_counter() - t0
    vol = {"wall_s": wall, "started_at": started, "host": socket.gethostname(), "pid": os.getpid()}
    return {"run_id": task.run_id, "status": status, "rows": [{**ident, **r, **vol} for r in rows]}
