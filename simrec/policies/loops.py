"""Loops that run a policy in an environment: :func:`collect` (logging) and :func:`run_online`.

Both accept a single Gymnasium env (stepped one decision at a time, reset when an episode ends) or
a vector env with next-step autoreset (all rows stepped together; the ignored reset step of a row is
skipped). On a simrec env whose catalog grows, the policy is told about new items before each step
(:meth:`~simrec.policies.base.BasePolicy.grow`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._validation import check_int
from ..data import BanditLog, SlateLog, Trajectories
from ..errors import InvalidPolicyInputError
from .envtools import env_item_features, env_spaces, env_truth, is_vector_env, n_available

__all__ = ["collect", "run_online", "OnlineResult", "Step", "rollout_steps"]


@dataclass
class Step:
    """One batch of decisions: the rows of a vector env (or the single env) that acted."""

    obs: np.ndarray  # (m, d)
    action: np.ndarray  # (m,) or (m, K)
    pscore: np.ndarray  # (m,)
    reward: np.ndarray  # (m,)
    next_obs: np.ndarray  # (m, d)
    terminated: np.ndarray  # (m,) bool
    truncated: np.ndarray  # (m,) bool
    info: dict[str, np.ndarray]  # per-row arrays
    episode: np.ndarray  # (m,) global episode ids
    marginal: np.ndarray | None = None  # (m, K) per-slot marginals of slate policies


def _grow(policy: Any, env: Any, feats: np.ndarray | None) -> None:
    avail = n_available(env)
    if avail is None or not hasattr(policy, "grow"):
        return
    _, n, _ = env_spaces(env)
    if n > policy.n_actions:
        policy.grow(n, feats)


def _rows_info(info: dict[str, Any], rows: np.ndarray | None) -> dict[str, np.ndarray]:
    out = {}
    for k, v in info.items():
        if k.startswith("_"):
            continue
        arr = np.asarray(v)
        out[k] = arr[None] if rows is None else arr[rows]
    return out


def rollout_steps(env: Any, policy: Any, n_steps: int, *, seed: int | None = None, learn: bool = False,
                  marginals: bool = False):
    """Generate :class:`Step` batches of ``policy`` acting in ``env`` for ``n_steps`` env steps.

    With ``learn=True`` the policy is updated after every step (``policy.update(obs, action, reward,
    pscore, next_obs=..., terminated=..., truncated=..., info=...)``).
    """
    n_steps = check_int(n_steps, name="n_steps", minimum=0, error=InvalidPolicyInputError)
    rng = np.random.default_rng(seed) if seed is not None else None
    feats = env_item_features(env)
    vec = is_vector_env(env)
    obs, _ = env.reset(seed=seed)
    marg_fn = getattr(policy, "slot_marginals", None) if marginals and getattr(policy, "is_slate", False) else None
    joint = getattr(policy, "act_with_marginals", None) if marg_fn is not None else None
    if vec:
        B = int(env.num_envs)
        resetting = np.zeros(B, dtype=bool)
        episode = np.arange(B)
        next_ep = B
        for _ in range(n_steps):
            _grow(policy, env, feats)
            act_rows = np.flatnonzero(~resetting)
            X = np.asarray(obs)
            # every row acts (state-aware policies such as the oracle see the whole batch); the
            # actions of rows being reset are ignored by the env and not logged
            if joint is not None:  # one scoring pass for the slates and their marginals
                full, p, marg_all = joint(X, rng)
            else:
                full, p = policy.act(X, rng)
                marg_all = marg_fn(X, np.asarray(full, dtype=np.int64)) if marg_fn is not None else None
            full = np.asarray(full, dtype=np.int64)
            a, p = full[act_rows], np.asarray(p)[act_rows]
            marg = marg_all[act_rows] if marg_all is not None else None
            nobs, r, term, trunc, info = env.step(full)
            st = Step(X[act_rows], np.asarray(a), np.asarray(p, dtype=float), np.asarray(r, dtype=float)[act_rows],
                      np.asarray(nobs)[act_rows], np.asarray(term)[act_rows], np.asarray(trunc)[act_rows],
                      _rows_info(info, act_rows), episode[act_rows].copy(), marg)
            if act_rows.size:
                if learn:
                    policy.update(st.obs, st.action, st.reward, st.pscore, next_obs=st.next_obs,
                                  terminated=st.terminated, truncated=st.truncated, info=st.info)
                yield st
            done = np.asarray(term) | np.asarray(trunc)
            done &= ~resetting
            # rows that ended start a new episode at the next (ignored) step
            new = np.flatnonzero(resetting)
            episode[new] = next_ep + np.arange(new.size)
            next_ep += new.size
            resetting = done
            obs = nobs
    else:
        ep = 0
        for _ in range(n_steps):
            _grow(policy, env, feats)
            X = np.asarray(obs)[None, :]
            a, p = policy.act(X, rng)
            marg = marg_fn(X, a) if marg_fn is not None else None
            nobs, r, term, trunc, info = env.step(np.asarray(a)[0])
            st = Step(X, np.asarray(a), np.asarray(p, dtype=float), np.array([float(r)]), np.asarray(nobs)[None, :],
                      np.array([bool(term)]), np.array([bool(trunc)]), _rows_info(info, None), np.array([ep]), marg)
            if learn:
                policy.update(st.obs, st.action, st.reward, st.pscore, next_obs=st.next_obs,
                              terminated=st.terminated, truncated=st.truncated, info=st.info)
            yield st
            if term or trunc:
                obs, _ = env.reset()
                ep += 1
            else:
                obs = nobs


def collect(env: Any, policy: Any, n: int, *, seed: int | None = None, learn: bool = False,
            kind: str = "auto", marginals: bool = True, progress: bool = False) -> BanditLog | SlateLog | Trajectories:
    """Log ``n`` decisions of ``policy`` in ``env`` with their propensities.

    Parameters
    ----------
    env : gymnasium.Env or VectorEnv
        ``simrec/Bandit-v0``, ``simrec/Slate-v0``, ``simrec/Retention-v0``, ``simrec/Messaging-v0`` or
        any env with a Box observation and a Discrete / MultiDiscrete action space.
    policy : Policy
    n : int
        Number of logged rows (decisions); a vector env may produce a few more in its last step,
        which are dropped.
    seed : int, optional
        Seeds the env reset and the policy's sampling (reproducible logs).
    learn : bool
        Update the policy as it goes (logs of an adaptive logger: the propensities are those in force
        at each decision).
    marginals : bool
        Record per-slot marginal propensities of slate policies (``SlateLog.pscore_marginal``),
        batched over the rows of each step; ``False`` skips them when no estimator needs them.
    progress : bool
        Show a progress bar (rows logged).
    kind : {"auto", "bandit", "slate", "trajectories"}
        ``"auto"``: :class:`~simrec.data.BanditLog` for a Discrete action space, a
        :class:`~simrec.data.SlateLog` for a slate one. ``"trajectories"`` gives
        :class:`~simrec.data.Trajectories` (per-step actions, or slates for a slate env).

    Returns
    -------
    BanditLog, SlateLog or Trajectories
        With ``pscore``, ``context``, the exact ``expected_reward`` from ``info`` when the env reports
        it, ``action_embed`` (item features of a simrec env), and ``meta`` naming the policy and the
        propensity type. ``user_id`` is ``info["user_id"]`` when the env reports it; ``session_id`` is
        the episode of each row when an episode is one session of one user (``simrec/Slate-v0``, or
        any env without ``env.unwrapped.truth``), numbered in the order episodes started; estimators
        cluster their standard errors on these ids.
    """
    n = check_int(n, name="n", minimum=1, error=InvalidPolicyInputError)
    _, n_act, k = env_spaces(env)
    space_n = _space_n(env)
    if kind == "auto":
        kind = "bandit" if k is None else "slate"
    if kind not in ("bandit", "slate", "trajectories"):
        raise InvalidPolicyInputError(f"`kind` must be 'auto', 'bandit', 'slate' or 'trajectories'; got {kind!r}")
    if kind != "trajectories" and (k is None) == (kind == "slate"):
        raise InvalidPolicyInputError(f"kind={kind!r} does not fit the env's action space")
    parts: list[Step] = []
    got = 0
    width = int(env.num_envs) if is_vector_env(env) else 1
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n, desc="collect", unit="rows")
    for st in rollout_steps(env, policy, 10**12, seed=seed, learn=learn, marginals=marginals):
        parts.append(st)
        got += st.action.shape[0]
        if bar is not None:
            bar.update(min(st.action.shape[0], n - bar.n))
        if got >= n:
            break
        if len(parts) > 20 * n / width + 1000:  # every row stuck resetting: cannot happen with valid envs
            raise InvalidPolicyInputError("collect made no progress")
    if bar is not None:
        bar.close()
    cat = {f: np.concatenate([getattr(s, f) for s in parts])[:n]
           for f in ("obs", "action", "pscore", "reward", "terminated", "episode")}
    info = {key: np.concatenate([s.info[key] for s in parts])[:n] for key in parts[0].info}
    meta = {"policy": type(policy).__name__, "policy_name": getattr(policy, "name", ""),
            "propensity_type": getattr(policy, "propensity_type", "exact"), "seed": seed}
    spec = getattr(env, "spec", None)
    if spec is not None and getattr(spec, "id", None):
        meta["env_id"] = spec.id
    truth = env_truth(env)
    ids = {"user_id": info.get("user_id"),
           "session_id": cat["episode"] if truth is None or truth.kind == "slate" else None}
    if kind == "bandit":
        emb = env_item_features(env)
        er = info.get("expected_reward")
        return BanditLog(action=cat["action"], reward=cat["reward"], pscore=cat["pscore"], context=cat["obs"],
                         action_embed=None if emb is None or emb.shape[0] != space_n else emb,
                         n_actions=space_n, expected_reward=er, meta=meta, **ids)
    if kind == "slate":
        K = cat["action"].shape[1]
        slot = info.get("clicked_slot")
        reward = np.zeros((cat["action"].shape[0], K))
        if slot is not None:
            rows = np.flatnonzero(slot >= 0)
            reward[rows, slot[rows]] = cat["reward"][rows]
        else:
            reward[:, 0] = cat["reward"]
        marg = None
        if parts[0].marginal is not None:
            marg = np.concatenate([s.marginal for s in parts])[:n]
        return SlateLog(slate=cat["action"], reward=reward, pscore=cat["pscore"], pscore_marginal=marg,
                        context=cat["obs"], n_items=space_n, expected_reward=info.get("slot_expected_reward"),
                        meta=meta, **ids)
    order = np.argsort(cat["episode"], kind="stable")
    ep = cat["episode"][order]
    _, ep = np.unique(ep, return_inverse=True)
    done = cat["terminated"][order].copy()
    last = np.ones(done.shape[0], dtype=bool)
    last[:-1] = ep[1:] != ep[:-1]
    done &= last
    ids = {k: None if v is None else v[order] for k, v in ids.items()}
    return Trajectories(episode=ep, obs=cat["obs"][order], action=cat["action"][order], reward=cat["reward"][order],
                        pscore=cat["pscore"][order], done=done, n_actions=space_n, meta=meta, **ids)


def _space_n(env: Any) -> int:
    space = env.single_action_space if is_vector_env(env) else env.action_space
    return int(space.n) if hasattr(space, "n") else int(np.asarray(space.nvec).ravel()[0])


@dataclass
class OnlineResult:
    """Per-decision curves of an online run (decisions in the order they were made).

    ``regret`` is the expected (pseudo-)regret per decision, ``optimal - expected_reward``, when the
    env exposes the optimum (``simrec/Bandit-v0``); ``None`` otherwise.
    """

    reward: np.ndarray
    expected_reward: np.ndarray | None
    optimal: np.ndarray | None
    episode_returns: np.ndarray
    episode_terminated: np.ndarray
    info: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def regret(self) -> np.ndarray | None:
        if self.optimal is None or self.expected_reward is None:
            return None
        return self.optimal - self.expected_reward

    @property
    def cumulative_regret(self) -> np.ndarray | None:
        r = self.regret
        return None if r is None else np.cumsum(r)

    @property
    def cumulative_reward(self) -> np.ndarray:
        return np.cumsum(self.reward)

    def __len__(self) -> int:
        return int(self.reward.shape[0])


def run_online(env: Any, policy: Any, steps: int, *, seed: int | None = None, learn: bool = True,
               keep_info: tuple[str, ...] = ()) -> OnlineResult:
    """Run ``policy`` online for ``steps`` env steps, learning from its own feedback.

    Returns the reward and expected-reward curves, the (pseudo-)regret curve on
    ``simrec/Bandit-v0`` (optimal expected reward of each round's user over the released items),
    and the return of every finished episode and whether it ended by termination (e.g. churn in
    ``Retention-v0``).
    """
    truth = env_truth(env)
    bandit_truth = truth is not None and truth.kind == "bandit"  # regret against the best released item
    rew, exp, opt, keep = [], [], [], {k: [] for k in keep_info}
    ep_ret: dict[int, float] = {}
    finished_ret, finished_term = [], []
    for st in rollout_steps(env, policy, steps, seed=seed, learn=learn):
        rew.append(st.reward)
        if "expected_reward" in st.info:
            exp.append(st.info["expected_reward"])
        if "optimal_expected_reward" in st.info:
            opt.append(st.info["optimal_expected_reward"])
        elif bandit_truth and "user_id" in st.info:
            opt.append(truth.expected_reward_matrix()[st.info["user_id"]].max(axis=1))
        for k in keep_info:
            keep[k].append(st.info[k])
        for e, r, te, tr in zip(st.episode, st.reward, st.terminated, st.truncated):
            ep_ret[int(e)] = ep_ret.get(int(e), 0.0) + float(r)
            if te or tr:
                finished_ret.append(ep_ret.pop(int(e)))
                finished_term.append(bool(te))
    cat = lambda xs: np.concatenate(xs) if xs else None  # noqa: E731
    return OnlineResult(
        reward=cat(rew) if rew else np.zeros(0), expected_reward=cat(exp), optimal=cat(opt),
        episode_returns=np.asarray(finished_ret, dtype=float), episode_terminated=np.asarray(finished_term, bool),
        info={k: cat(v) for k, v in keep.items()},
    )
