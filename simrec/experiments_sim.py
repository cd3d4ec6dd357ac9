"""Simulated online experiments: A/B tests and experiment corpora with the simulator's true effects.

This module sits on the simulator side of the data flow (it drives :class:`simrec.sim.World` through
its public API) and hands plain per-user tables to :mod:`simrec.estimators.experiments` and
:mod:`simrec.estimators.alignment`, which never import the simulator.

An experiment randomises users (the unit) between a control and a treatment slate policy and follows
each user for ``horizon_days`` days: sessions of slate steps, the session ends when the user leaves,
the next one starts after a gap in days (shorter when satisfied), and the user may churn. Per user it
records short-term metrics (the first session), long-term ones (the whole horizon) and a
pre-experiment covariate for every metric: ``pre_<metric>``, the same metric over a pre-period of
``horizon_days`` under the control policy before the experiment, with independent random numbers
(the user's history: what CUPED adjusts for and what a surrogate index conditions on).

**Truth.** Every user has two potential outcomes; the simulator can produce both with common random
numbers (same user, same seed). The true effect of a metric is the population average of
:math:`Y(1) - Y(0)`, estimated from ``n_truth`` paired users drawn independently of the
experiment's units (its standard error is reported; paired differences make it small).

Policies are callables ``policy(world, active) -> slates`` (the :meth:`World.rollout` contract).
:class:`MixPolicy` ranks by a blend of observable relevance (user features x item embeddings) and
a click model (the world's exact one-step click probability, an ideal click-through predictor):
the more weight on clicks, the more clickbait it shows.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._validation import check_int, check_probability
from .errors import ConfigError
from .estimators.alignment import ExperimentCorpus
from .sim import World

__all__ = ["MixPolicy", "make_policy", "ABSimulation", "simulate_ab", "simulate_corpus", "run_users",
           "simulate_offline_online", "simulate_interleaving",
           "METRICS", "LONG_TERM", "SHORT_TERM"]

#: per-user metrics recorded by :func:`run_users`
SHORT_TERM = ("clicks_first", "ctr_first", "steps_first", "watch_first", "return_first")
LONG_TERM = ("sessions", "clicks", "retained")
METRICS = SHORT_TERM + LONG_TERM


def _z(a: np.ndarray) -> np.ndarray:
    m = a.mean(1, keepdims=True)
    s = a.std(1, keepdims=True)
    return (a - m) / np.where(s > 0, s, 1.0)


@dataclass(frozen=True)
class MixPolicy:
    """Rank items by ``(1 - clickbait) * z(relevance) + clickbait * z(click probability) + noise``.

    Parameters
    ----------
    clickbait : float in [0, 1]
        Weight on the click model (1: click-greedy; 0: relevance only).
    noise : float
        Standard deviation of a per-(user, item) score perturbation fixed by ``seed`` (a different
        but equally informed ranker).
    seed : int
        Seeds the perturbation.
    """

    clickbait: float = 0.0
    noise: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        check_probability(self.clickbait, name="clickbait")
        if not np.isfinite(self.noise) or self.noise < 0:
            raise ConfigError(f"`noise` must be >= 0; got {self.noise!r}")

    def scores(self, world: World, users: np.ndarray) -> np.ndarray:
        """(len(users), n_available) ranking scores of population ``users`` (static per user: the
        observable features and the click model do not change within an experiment)."""
        n_av = world.n_available
        emb = world.item_features[:n_av]
        out = (1 - self.clickbait) * _z(world.population.features[users] @ emb.T)
        if self.clickbait > 0:
            out += self.clickbait * _click_table(world)[users, :n_av]
        if self.noise > 0:
            out += _noise_table(world, self.noise, self.seed)[users, :n_av]
        return out

    def slate_table(self, world: World) -> np.ndarray:
        """(n_users, slate_size): the slate this policy shows each population user (cached)."""
        cache = _tables(world)
        key = ("slates", world.n_available, self)
        tab = cache.get(key)
        if tab is None:
            k = world.config.slate_size
            tab = np.empty((world.n_users, k), np.int64)
            for lo in range(0, world.n_users, 2048):
                u = np.arange(lo, min(lo + 2048, world.n_users))
                sc = self.scores(world, u)
                top = np.argpartition(-sc, k - 1, axis=1)[:, :k]
                order = np.argsort(-np.take_along_axis(sc, top, 1), axis=1)
                tab[u] = np.take_along_axis(top, order, 1)
            _store(cache, key, tab)
        return tab

    def __call__(self, world: World, active: np.ndarray) -> np.ndarray:
        return self.slate_table(world)[world.state.users]


#: tables computed for a world, held only as long as the world itself lives (keyed by the object, not
#: its id: a new world at a freed world's address must not be served the old world's tables)
_TABLES: weakref.WeakKeyDictionary[World, dict[tuple, np.ndarray]] = weakref.WeakKeyDictionary()


def _tables(world: World) -> dict[tuple, np.ndarray]:
    cache = _TABLES.get(world)
    if cache is None:
        cache = _TABLES[world] = {}
    return cache


def _store(cache: dict[tuple, np.ndarray], key: tuple, tab: np.ndarray) -> None:
    if len(cache) > 64:  # a corpus of many perturbed policies: keep the memory bounded
        cache.clear()
    cache[key] = tab


def _click_table(world: World) -> np.ndarray:
    """z-scored exact one-step click probability of every (user, item) at slot 0 in the user's initial
    state: an ideal click-through model (it ignores the session's boredom, as a trained one would)."""
    cache = _tables(world)
    key = ("click", world.n_users, world.n_items)
    tab = cache.get(key)
    if tab is None:
        users = np.repeat(np.arange(world.n_users), world.n_items)
        items = np.tile(np.arange(world.n_items), world.n_users)
        tab = _z(world.expected_reward(users, items, 0).reshape(world.n_users, world.n_items))
        _store(cache, key, tab)
    return tab


def _noise_table(world: World, sd: float, seed: int) -> np.ndarray:
    """(n_users, n_items) score perturbation fixed by ``seed`` (the same for every world of that shape)."""
    cache = _tables(world)
    key = ("noise", world.n_users, world.n_items, sd, seed)
    tab = cache.get(key)
    if tab is None:
        tab = np.random.default_rng([seed, 0x9015E]).normal(scale=sd, size=(world.n_users, world.n_items))
        _store(cache, key, tab)
    return tab


def make_policy(spec: Any) -> MixPolicy:
    """A policy from a spec: a :class:`MixPolicy`, a dict of its fields, ``"relevance"``,
    ``"clickbait"`` (click-greedy) or ``"mix:<weight>"``."""
    if isinstance(spec, MixPolicy):
        return spec
    if isinstance(spec, dict):
        return MixPolicy(**spec)
    if spec == "relevance":
        return MixPolicy(0.0)
    if spec == "clickbait":
        return MixPolicy(1.0)
    if isinstance(spec, str) and spec.startswith("mix:"):
        return MixPolicy(float(spec[4:]))
    raise ConfigError(f"unknown policy {spec!r}; use 'relevance', 'clickbait', 'mix:<w>' or a dict of "
                      "MixPolicy fields (clickbait, noise, seed)")


def run_users(world: World, policy: Any, users: np.ndarray, seeds: np.ndarray, horizon_days: int = 14,
              max_steps: int = 2000, *, after: Any = None, switch_sessions: int = 1) -> dict[str, np.ndarray]:
    """Follow ``users`` (with episode ``seeds``) under ``policy`` for ``horizon_days`` days.

    Returns per-user arrays: ``clicks_first``, ``ctr_first``, ``steps_first``, ``watch_first`` (total
    watch fraction of the clicked items: consumption quality, which drives satisfaction) and
    ``return_first`` (0 if the user churned after the first session, else 1 / (1 + days until the
    second)),
    ``sessions``, ``clicks`` and ``retained`` (not churned and a session started in the horizon's
    last third). With ``after`` (a policy) and ``switch_sessions``, rows show ``after``'s slates
    from their ``switch_sessions``-th session end on: a treatment that acts only early, whose long-term
    effect then runs through the user's state alone (the surrogacy assumption of the surrogate index).
    """
    pol = make_policy(policy)
    later = None if after is None else make_policy(after)
    world.reset(users, seeds)
    B = users.size
    session_steps = world.config.session.max_steps
    active = np.ones(B, bool)
    first = np.ones(B, bool)
    day = np.zeros(B, np.int64)
    steps_in = np.zeros(B, np.int64)
    last_day = np.zeros(B, np.int64)
    churned = np.zeros(B, bool)
    out = {k: np.zeros(B) for k in METRICS}
    out["sessions"][:] = 1
    for _ in range(max_steps):
        if not active.any():
            break
        slates = pol(world, active)
        if later is not None:
            slates = np.where((out["sessions"] > switch_sessions)[:, None], later(world, active), slates)
        fb = world.step(slates, active, validate=False)
        r = np.where(active, fb.reward, 0.0)
        out["clicks"] += r
        out["clicks_first"] += np.where(first, r, 0.0)
        out["watch_first"] += np.where(first & active & (fb.clicked_slot >= 0), fb.watch, 0.0)
        out["steps_first"] += first & active
        steps_in += active
        ended = active & (fb.left | (steps_in >= session_steps))
        if ended.any():
            se = world.end_session(ended)
            gap = np.where(ended, se.gap_days, 0)
            fe = first & ended  # the first session ends: did the user come back, and how soon?
            out["return_first"][fe] = np.where(se.churned[fe], 0.0, 1.0 / (1.0 + gap[fe]))
            first &= ~ended
            new_day = day + gap
            churn = ended & se.churned
            done = ended & (churn | (new_day >= horizon_days))
            cont = ended & ~done
            out["sessions"] += cont
            last_day = np.where(cont, new_day, last_day)
            day = new_day
            steps_in[ended] = 0
            active &= ~done
            churned |= churn
    out["retained"] = (~churned & (last_day >= (2 * horizon_days) // 3)).astype(np.float64)
    out["ctr_first"] = out["clicks_first"] / np.maximum(out["steps_first"], 1)
    return out


@dataclass
class ABSimulation:
    """A simulated A/B test: the per-user table and the true effects."""

    data: pd.DataFrame
    true_effect: dict[str, float]
    true_effect_se: dict[str, float]
    control: Any
    treatment: Any
    info: dict[str, Any] = field(default_factory=dict)


def _draw(rng: np.random.Generator, n_pop: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    return rng.integers(0, n_pop, size=n), rng.integers(0, 2**62, size=n)


def _world(world: Any, world_seed: int) -> World:
    return world if isinstance(world, World) else World(world, seed=world_seed)


def true_effects(world: World, control: Any, treatment: Any, n_truth: int, horizon_days: int,
                 rng: np.random.Generator, treatment_sessions: int | None = None
                 ) -> tuple[dict[str, float], dict[str, float]]:
    """Population effects of every metric from ``n_truth`` paired users (common random numbers)."""
    users, seeds = _draw(rng, world.n_users, n_truth)
    y0 = run_users(world, control, users, seeds, horizon_days)
    y1 = _treated(world, treatment, control, users, seeds, horizon_days, treatment_sessions)
    te = {k: float((y1[k] - y0[k]).mean()) for k in METRICS}
    se = {k: float((y1[k] - y0[k]).std(ddof=1) / np.sqrt(n_truth)) for k in METRICS}
    return te, se


def _treated(world: World, treatment: Any, control: Any, users: np.ndarray, seeds: np.ndarray, horizon_days: int,
             treatment_sessions: int | None) -> dict[str, np.ndarray]:
    if treatment_sessions is None:
        return run_users(world, treatment, users, seeds, horizon_days)
    return run_users(world, treatment, users, seeds, horizon_days, after=control, switch_sessions=treatment_sessions)


def simulate_ab(world: Any = "clickbait", control: Any = "relevance", treatment: Any = "clickbait", *,
                n_users: int = 4000, horizon_days: int = 14, seed: int = 0, p_treatment: float = 0.5,
                n_truth: int | None = None, world_seed: int = 0, treatment_sessions: int | None = None
                ) -> ABSimulation:
    """Simulate a user-randomised A/B test of ``treatment`` vs ``control`` on ``world``.

    Parameters
    ----------
    world : preset name, config dict or World
    control, treatment : policy specs (:func:`make_policy`)
    n_users : int
        Units in the experiment (drawn with replacement from the world's population, each with its
        own random stream).
    horizon_days : int
        Days each user is followed.
    seed : int
        Seeds the draw of units, their streams, the assignment and the truth run.
    p_treatment : float
        Share of units assigned to the treatment (Bernoulli assignment).
    n_truth : int, optional
        Paired users for the true effect (default ``max(2 * n_users, 4000)``); 0 skips it.
    treatment_sessions : int, optional
        If set, treated users see the treatment only in their first ``treatment_sessions`` sessions
        and the control policy afterwards (an early-only treatment: its long-term effect runs through
        the user's state after those sessions, so surrogacy holds given the first-session metrics
        and the user's history).

    Returns
    -------
    ABSimulation
        ``data`` has one row per user: ``user``, ``treatment`` (0/1), ``pre_<metric>`` (the
        metric in a pre-period under the control policy) and the metrics of :data:`METRICS`;
        ``true_effect[metric]`` is the population effect.
    """
    n = check_int(n_users, name="n_users", minimum=4)
    h = check_int(horizon_days, name="horizon_days", minimum=1)
    p = check_probability(p_treatment, name="p_treatment", open_left=True)
    w = _world(world, world_seed)
    ss = np.random.SeedSequence([seed, 0xAB])
    r_units, r_assign, r_pre, r_truth = (np.random.default_rng(s) for s in ss.spawn(4))
    users, seeds = _draw(r_units, w.n_users, n)
    t = r_assign.random(n) < p
    ctl, trt = make_policy(control), make_policy(treatment)
    y = {k: np.empty(n) for k in METRICS}
    for arm in (True, False):
        m = t == arm
        if m.any():
            res = (_treated(w, trt, ctl, users[m], seeds[m], h, treatment_sessions) if arm
                   else run_users(w, ctl, users[m], seeds[m], h))
            for k in METRICS:
                y[k][m] = res[k]
    pre_seeds = r_pre.integers(0, 2**62, size=n)
    pre = run_users(w, ctl, users, pre_seeds, h)  # the pre-period: same users, control policy, own streams
    data = pd.DataFrame({"user": users, "treatment": t.astype(np.int64),
                         **{f"pre_{k}": pre[k] for k in METRICS}, **y})
    nt = max(2 * n, 4000) if n_truth is None else int(n_truth)
    te, se = true_effects(w, ctl, trt, nt, h, r_truth, treatment_sessions) if nt > 1 else ({}, {})
    return ABSimulation(data, te, se, ctl, trt, {"world": getattr(w.config, "name", str(world)),
                                                 "horizon_days": h, "n_truth": nt, "seed": seed})


def simulate_corpus(world: Any = "clickbait", n_experiments: int = 40, *, n_users: int = 2000,
                    horizon_days: int = 14, seed: int = 0, n_truth: int | None = None, world_seed: int = 0,
                    clickbait_range: tuple[float, float] = (0.0, 1.0), noise: float = 0.3,
                    keep_units: bool = True, treatment_sessions: int | None = None, control: Any = None
                    ) -> ExperimentCorpus:
    """A corpus of simulated experiments: random policy changes with estimated and true effects.

    Experiment ``k`` compares two :class:`MixPolicy` rankers with clickbait weights drawn uniformly
    from ``clickbait_range`` and independent perturbations (``noise``), on ``n_users`` units
    (``treatment_sessions``: see :func:`simulate_ab`). With ``control`` (a policy spec) every
    experiment tests a random treatment against that one production policy.
    """
    K = check_int(n_experiments, name="n_experiments", minimum=2)
    w = _world(world, world_seed)
    rng = np.random.default_rng([seed, 0xC0])
    lo, hi = clickbait_range
    rows, tables, truth, truth_se = [], [], [], []
    for k in range(K):
        a, b = rng.uniform(lo, hi, size=2)
        ctl = MixPolicy(float(a), noise, int(rng.integers(2**31))) if control is None else make_policy(control)
        trt = MixPolicy(float(b), noise, int(rng.integers(2**31)))
        sim = simulate_ab(w, ctl, trt, n_users=n_users, horizon_days=horizon_days, seed=int(rng.integers(2**31)),
                          n_truth=n_truth, treatment_sessions=treatment_sessions)
        tables.append(sim.data.assign(experiment=k) if keep_units else None)
        truth.append([sim.true_effect[m] for m in METRICS])
        truth_se.append([sim.true_effect_se[m] for m in METRICS])
        rows.append({"experiment": k, "clickbait_control": float(a), "clickbait_treatment": float(b)})
    return ExperimentCorpus.from_unit_tables(tables, list(METRICS), true_effects=np.array(truth),
                                             true_effect_se=np.array(truth_se), info=pd.DataFrame(rows))


def simulate_offline_online(world: Any = "clickbait", candidates: dict[str, Any] | None = None, *, k: int = 5,
                            n_log_users: int = 2000, items_per_user: int = 20, n_online: int = 4000,
                            horizon_days: int = 14, seed: int = 0, world_seed: int = 0
                            ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Offline metrics of candidate rankers from a logged dataset, next to their simulated online values.

    The log: ``n_log_users`` users are each shown ``items_per_user`` items drawn uniformly from the
    released catalog, one at a time at the top slot (propensity ``1 / n_available``), with clicks
    drawn from the world's exact one-step click probabilities. Offline, each candidate's top-``k``
    list is scored by nDCG@k and recall@k against the user's logged clicks, and its expected clicks
    (each listed item shown alone at the top) by IPS and DR (reward model: the item's smoothed
    logged click rate). Online, each candidate serves ``n_online`` users for ``horizon_days`` days
    (common random numbers across candidates).

    Returns
    -------
    offline : DataFrame
        Index: candidate name; columns ``ndcg``, ``recall``, ``ips``, ``dr``.
    online : DataFrame
        Index: candidate name; the mean of every metric of :data:`METRICS` (``sessions`` is the
        long-term north star, ``ctr_first`` the short-term click-through).
    """
    from .estimators.ranking import ndcg_at_k, recall_at_k

    w = _world(world, world_seed)
    default = {"relevance": "relevance", "mix-0.3": "mix:0.3", "mix-0.6": "mix:0.6", "clickbait": "clickbait"}
    cands = {k_: make_policy(v) for k_, v in (candidates or default).items()}
    rng = np.random.default_rng([seed, 0x0FF])
    n_av = w.n_available
    users = rng.choice(w.n_users, size=min(n_log_users, w.n_users), replace=False)
    U = np.repeat(users, items_per_user)
    A = rng.integers(0, n_av, size=U.size)
    R = (rng.random(U.size) < w.expected_reward(U, A, 0)).astype(np.float64)
    p = 1.0 / n_av
    # reward model: per-item click rate, shrunk to the global rate
    glob = R.mean()
    shown = np.bincount(A, minlength=n_av)
    q_item = (np.bincount(A, R, minlength=n_av) + 5 * glob) / (shown + 5)
    gains = np.zeros((users.size, n_av))
    ui = np.repeat(np.arange(users.size), items_per_user)  # U = np.repeat(users, items_per_user): row i is users[i]
    np.maximum.at(gains, (ui, A), R)
    off, on = [], []
    r_on = np.random.default_rng([seed, 0x0A])
    ou, os_ = r_on.integers(0, w.n_users, n_online), r_on.integers(0, 2**62, n_online)
    for name, pol in cands.items():
        sc = pol.scores(w, users)
        top = np.argsort(-sc, axis=1)[:, :k]
        in_top = (top[ui] == A[:, None]).any(1)
        dm = q_item[top].sum(1)[ui]
        off.append({"candidate": name, "ndcg": float(np.nanmean(ndcg_at_k(top, gains, k))),
                    "recall": float(np.nanmean(recall_at_k(top, gains, k))),
                    "ips": float(np.mean(in_top * R / p)),
                    "dr": float(np.mean(dm + in_top * (R - q_item[A]) / p))})
        res = run_users(w, pol, ou, os_, horizon_days)
        on.append({"candidate": name, **{m: float(res[m].mean()) for m in METRICS}})
    return pd.DataFrame(off).set_index("candidate"), pd.DataFrame(on).set_index("candidate")


def simulate_interleaving(world: Any, ranker_a: Any, ranker_b: Any, *, n_users: int = 2000, seed: int = 0,
                          world_seed: int = 0) -> dict[str, np.ndarray]:
    """One session per user under team-draft interleaving of two rankers.

    Each step the user sees the team-draft interleaving (:func:`~simrec.estimators.experiments.team_draft`)
    of the two rankers' top ``2 * slate_size`` lists; a click credits the team that contributed the
    clicked item. Returns per-step rows: ``user`` (the unit index), ``team`` (rows x slots; 0 = A,
    1 = B) and ``clicks`` (rows x slots), ready for :func:`~simrec.estimators.experiments.analyze_interleaving`.
    """
    from .estimators.experiments import team_draft

    w = _world(world, world_seed)
    n = check_int(n_users, name="n_users", minimum=2)
    rng = np.random.default_rng([seed, 0x1E4])
    users, seeds = _draw(rng, w.n_users, n)
    k = w.config.slate_size
    lists = []
    for pol in (make_policy(ranker_a), make_policy(ranker_b)):
        sc = pol.scores(w, np.arange(w.n_users))
        lists.append(np.argsort(-sc, axis=1)[:, : 2 * k])
    w.reset(users, seeds)
    active = np.ones(n, bool)
    rows_u, rows_t, rows_c = [], [], []
    for _ in range(w.config.session.max_steps):
        if not active.any():
            break
        items, team = team_draft(lists[0][users], lists[1][users], k, rng=rng)
        fb = w.step(items, active, validate=False)
        clicks = np.zeros((n, k))
        hit = active & (fb.clicked_slot >= 0)
        clicks[hit, fb.clicked_slot[hit]] = 1.0
        rows_u.append(np.flatnonzero(active))
        rows_t.append(team[active])
        rows_c.append(clicks[active])
        active &= ~fb.left
    return {"user": np.concatenate(rows_u), "team": np.concatenate(rows_t), "clicks": np.concatenate(rows_c)}
