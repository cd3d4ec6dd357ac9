"""The logged data of a run: one logger or a stratified mixture, step logs and trajectory logs.

* :func:`step_log` collects ``n`` decisions on the one-decision env (see :mod:`.profiles`):
  a :class:`~simrec.data.BanditLog` or :class:`~simrec.data.SlateLog`, with every logger's
  propensity of each logged action (``logger_pscores``, what BalancedIPS reads) and, for slates,
  every logger's per-slot marginals.
* :func:`trajectory_log` collects the first, complete episode of each of ``episodes`` users on
  the full env (a :class:`~simrec.data.Trajectories`): only whole episodes, so short episodes are
  not over-represented.
* :func:`per_slot` turns a slate log into a bandit log with one row per (slate, slot), the slot in
  ``position`` and in the context (one-hot), so the bandit family reads slates slot by slot.

A mixture is stratified: logger ``j`` logs ``n_j`` of the rows (largest-remainder shares of its
weight), each row with its own logger's propensity in ``pscore`` and its id in ``logger_id``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..data import BanditLog, SlateLog, Trajectories, concat
from ..policies import collect, rollout_steps

__all__ = ["StepLog", "stratify", "step_log", "trajectory_log", "per_slot", "concat_bandit", "concat_slate"]


@dataclass
class StepLog:
    """A step log with what the weighting estimators need beyond it."""

    log: BanditLog | SlateLog
    logger_pscores: np.ndarray  # (n, n_loggers): every logger's propensity of the logged action / slate
    logger_marginals: np.ndarray | None = None  # (n, K, n_loggers) slate logs: per-slot marginals
    shares: np.ndarray | None = None  # (n_loggers,)
    loggers: list[Any] | None = None  # the logging policies (as they were when logging ended)


def stratify(weights: list[float], n: int) -> list[int]:
    """Rows per logger: ``n`` split by ``weights`` (largest remainder; every logger at least 1 row)."""
    w = np.asarray(weights, dtype=np.float64)
    exact = w / w.sum() * n
    out = np.floor(exact).astype(int)
    order = np.argsort(-(exact - out), kind="stable")
    out[order[: n - out.sum()]] += 1
    out = np.maximum(out, 1)
    while out.sum() > n:
        out[int(np.argmax(out))] -= 1
    return out.tolist()


def _distinct_sessions(parts: list[Any]) -> list[Any]:
    """``parts`` with each part's ``session_id`` shifted past the previous parts' (each part numbers
    its episodes from 0, so the same number in two parts is two sessions). ``user_id`` stays: it is
    the world's user, the same user whichever logger served them."""
    out, offset = [], 0
    for p in parts:
        if p.session_id is not None:
            p = p.replace(session_id=p.session_id + offset)
            offset = int(p.session_id.max()) + 1
        out.append(p)
    return out


def concat_bandit(parts: list[BanditLog]) -> BanditLog:
    """Rows of several bandit logs in order (every field kept), ``logger_id`` = the part's index and
    session ids made distinct across parts."""
    lid = [np.full(len(p), j) for j, p in enumerate(parts)]
    parts = [p.replace(logger_id=ids) for p, ids in zip(_distinct_sessions(parts), lid)]
    log = concat(parts)
    return log.replace(meta=dict(log.meta, loggers=len(parts)))


def concat_slate(parts: list[SlateLog]) -> SlateLog:
    """Rows of several slate logs in order (every field kept), session ids made distinct across parts."""
    log = concat(_distinct_sessions(parts))
    return log.replace(meta=dict(log.meta, loggers=len(parts)))


def step_log(venv: Any, loggers: list[Any], weights: list[float], n: int, seed: int, *, adaptive: bool = False
             ) -> StepLog:
    """``n`` decisions of ``loggers`` (stratified by ``weights``) on ``venv`` (a one-decision vector env).

    ``adaptive``: a single learning logger keeps updating while it logs (each row's propensity is the
    one in force when it was logged; the logger object ends up changed).
    """
    counts = stratify(weights, n) if len(loggers) > 1 else [n]
    parts = []
    for j, (pol, m) in enumerate(zip(loggers, counts)):
        parts.append(collect(venv, pol, m, seed=int((seed + 7919 * j) % (2**31)), learn=adaptive))
    if isinstance(parts[0], SlateLog):
        log = concat_slate(parts) if len(parts) > 1 else parts[0]
        if adaptive or len(loggers) == 1:  # one logger: its own recorded propensities
            lp = log.pscore[:, None]
            lm = None if log.pscore_marginal is None else log.pscore_marginal[:, :, None]
        else:
            lp = np.stack([np.asarray(p.slate_pscore(log.context, log.slate), dtype=np.float64) for p in loggers], 1)
            lm = np.stack([np.asarray(p.slot_marginals(log.context, log.slate), dtype=np.float64)
                           for p in loggers], 2) if log.pscore_marginal is not None else None
    else:
        log = concat_bandit(parts) if len(parts) > 1 else parts[0].replace(logger_id=np.zeros(len(parts[0]), int))
        if adaptive or len(loggers) == 1:
            lp, lm = log.pscore[:, None], None
        else:
            rows = np.arange(len(log))
            lp = np.stack([np.asarray(p.action_probs(log.context), dtype=np.float64)[rows, log.action]
                           for p in loggers], 1)
            lm = None
    shares = np.asarray(counts, dtype=np.float64) / len(log)
    return StepLog(log, lp, lm, shares, list(loggers))


def trajectory_log(make_venv: Any, loggers: list[Any], weights: list[float], episodes: int, seed: int,
                   max_steps: int = 100_000) -> Trajectories:
    """The first complete episode of each of ``episodes`` users (split among ``loggers`` by ``weights``),
    with the users' ids when the env reports them (``info["user_id"]``).

    ``make_venv(m)`` returns a fresh vector env of ``m`` rows of the full env.
    """
    counts = stratify(weights, episodes) if len(loggers) > 1 else [episodes]
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("episode", "obs", "action", "reward", "pscore", "done")}
    offset = 0
    n_actions = None
    for j, (pol, m) in enumerate(zip(loggers, counts)):
        venv = make_venv(m)
        live = np.ones(m, dtype=bool)
        rows: dict[str, list[np.ndarray]] = {k: [] for k in cols}
        for st in rollout_steps(venv, pol, max_steps, seed=int((seed + 7919 * j) % (2**31))):
            ep = st.episode
            keep = ep < m  # each row's first episode has id = the row
            keep &= live[np.minimum(ep, m - 1)]
            idx = np.flatnonzero(keep)
            if idx.size:
                rows["episode"].append(ep[idx] + offset)
                rows["obs"].append(st.obs[idx])
                rows["action"].append(st.action[idx])
                rows["reward"].append(st.reward[idx])
                rows["pscore"].append(st.pscore[idx])
                rows["done"].append(st.terminated[idx])
                if "user_id" in st.info:  # episodes of one user are correlated: estimators cluster on it
                    rows.setdefault("user_id", []).append(np.asarray(st.info["user_id"])[idx])
                ended = idx[(st.terminated | st.truncated)[idx]]
                live[ep[ended]] = False
            if not live.any():
                break
        venv.close()
        for k in rows:
            cols.setdefault(k, []).append(np.concatenate(rows[k]))
        n_actions = _space_n(venv)
        offset += m
    if "user_id" in cols and len(cols["user_id"]) != len(cols["episode"]):  # not every logger's env knew it
        del cols["user_id"]
    cat = {k: np.concatenate(v) for k, v in cols.items()}
    order = np.argsort(cat["episode"], kind="stable")
    cat = {k: v[order] for k, v in cat.items()}
    return Trajectories(episode=cat["episode"], obs=cat["obs"], action=cat["action"], reward=cat["reward"],
                        pscore=cat["pscore"], done=cat["done"].astype(bool), user_id=cat.get("user_id"),
                        n_actions=n_actions,
                        meta={"loggers": len(loggers), "complete_episodes": True})


def _space_n(venv: Any) -> int:
    space = venv.single_action_space
    return int(space.n) if hasattr(space, "n") else int(np.asarray(space.nvec).ravel()[0])


def per_slot(log: SlateLog, logger_pscores: np.ndarray | None = None) -> tuple[BanditLog, np.ndarray | None]:
    """One bandit row per (slate, slot): action = the item, reward = the slot's reward, pscore = the
    logger's marginal probability of the item in that slot, ``position`` = the slot, and the context
    extended by a one-hot of the slot (so reward models can learn position effects). Rows are
    slate-major (row ``i * K + k``); each row keeps its slate's ``user_id`` and ``session_id`` (the slots
    of one slate are one cluster for the standard errors). ``logger_pscores`` (n, K, J) become (n*K, J)."""
    if log.pscore_marginal is None:
        from ..errors import InvalidLogError

        raise InvalidLogError("per-slot bandit estimation needs `pscore_marginal` in the slate log")
    n, K = log.slate.shape
    ctx = np.zeros((n, 0)) if log.context is None else log.context
    slot = np.tile(np.arange(K), n)
    onehot = np.eye(K)[slot]
    context = np.hstack([np.repeat(ctx, K, axis=0), onehot])
    er = None if log.expected_reward is None else log.expected_reward.reshape(-1)
    out = BanditLog(action=log.slate.reshape(-1), reward=log.reward.reshape(-1), pscore=log.pscore_marginal.reshape(-1),
                    context=context, position=slot, n_actions=log.n_items, expected_reward=er,
                    user_id=None if log.user_id is None else np.repeat(log.user_id, K),
                    session_id=None if log.session_id is None else np.repeat(log.session_id, K),
                    meta=dict(log.meta, per_slot=True, slate_size=K))
    lp = None if logger_pscores is None else logger_pscores.reshape(n * K, -1)
    return out, lp
