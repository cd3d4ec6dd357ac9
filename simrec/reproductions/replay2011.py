"""Li, Chu, Langford & Wang (2011): replay evaluation of bandit algorithms on uniformly random logs.

The claim (their Theorem 1): with logs whose actions are uniformly random, the replay method,
which steps through the log and keeps an event only when the evaluated algorithm picks the logged
action (feeding the reward back to it), yields ``T``-step histories with the same distribution as
running the algorithm online for ``T`` steps, also for learning, history-dependent algorithms; it
uses about ``K T`` logged events.

The paper's evidence is on Yahoo! Front Page logs, which are not available offline; the faithful
offline check is the distributional claim itself, on the simulator. For each algorithm
(epsilon-greedy, UCB1, LinUCB, built by :func:`simrec.policies.make_policy`) and each of ``n_runs``
independent runs: the online run is :func:`simrec.policies.run_online` for ``T`` steps in
``simrec/Bandit-v0`` (a static contextual world with 10 items); the replay is
``Replay(random_state=...).evaluate_learner(log, fresh_policy, max_accepted=T)`` on a fresh slice of
a uniformly random log of the same env (collected with :func:`simrec.policies.collect`, at most
``4 K T`` events per run). The per-run average rewards of the two must have the same distribution.
Negative control: replaying on a *non-uniform* log while pretending it is uniform must fail.

References
----------
Li, L., Chu, W., Langford, J. and Wang, X. (2011). Unbiased offline evaluation of contextual-bandit-based
news article recommendation algorithms. *WSDM*, 297-306, arXiv:1003.5956.
"""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pandas as pd
from scipy import stats

from ..data import BanditLog
from ..estimators.ope import Replay
from ..policies import collect, make_policy, run_online
from ._base import AtLeast, AtMost, Between, Claim, Near, Result, Timer, new_figure

__all__ = ["run", "SETUP", "REFERENCE", "missing"]

NAME = "replay2011"
TITLE = "Li, Chu, Langford & Wang 2011: replay on uniform logs = running online"
CITATION = ("L. Li, W. Chu, J. Langford, X. Wang. Unbiased Offline Evaluation of Contextual-bandit-based News "
            "Article Recommendation Algorithms. WSDM 2011, arXiv:1003.5956")

SETUP = {"full": {"T": 500, "n_runs": 500}, "quick": {"T": 200, "n_runs": 60}}
N_ITEMS = 10
WORLD = {"preset": "static", "catalog": {"n_items": N_ITEMS}}
POLICIES = {"epsilon-greedy": {"epsilon": 0.1}, "ucb1": {}, "linucb": {}}
LOG_FACTOR = 4  # events available per run: LOG_FACTOR * K * T
#: reference implementation of the protocol (10 Bernoulli arms, T = 500, 4,000 runs)
REFERENCE = pd.DataFrame({"policy": ["epsilon-greedy", "ucb1"], "online mean": [0.08322, 0.06817],
                          "online sd": [0.02026, 0.01167], "replay mean": [0.08345, 0.06817],
                          "replay sd": [0.02011, 0.01147], "events per accepted": [10.00, 9.99]})

TOL_MEAN_Z = AtMost(3.0)  # |mean_replay - mean_online| in standard errors of the difference
TOL_KS_P = AtLeast(0.01)  # two-sample KS test on per-run averages does not reject at 1%
TOL_EVENTS_REL = 0.02  # logged events per accepted event within 2% of K (or 3 standard errors, if larger)
TOL_REACHED = AtLeast(1.0)  # share of replay runs that reached T accepted events
TOL_NEGATIVE_Z = AtLeast(3.0)  # the negative control must differ by >= 3 standard errors


def sd_tolerance(n_runs: int) -> Between:
    """sd(replay) / sd(online) within ``exp(+-3 / sqrt(n_runs - 1))`` (3 standard errors of the log-ratio
    of two sample sds; 5% at 4,000 runs as in the reference)."""
    d = 3.0 / np.sqrt(n_runs - 1)
    return Between(float(np.exp(-d)), float(np.exp(d)))


def events_tolerance(T: int, n_runs: int) -> Near:
    """Events per accepted event: K within 2%, or 3 standard errors of the ratio when that is wider
    (the scanned count of a run is negative binomial: relative sd sqrt((1 - 1/K) / (T n_runs)))."""
    rel = max(TOL_EVENTS_REL, 3.0 * np.sqrt((1.0 - 1.0 / N_ITEMS) / (T * n_runs)))
    return Near(float(N_ITEMS), rel=float(rel))


def missing() -> list[str]:
    return []


def _env():
    return gym.make("simrec/Bandit-v0", world=WORLD, disable_env_checker=True)


def _uniform_log(n: int, seed: int) -> BanditLog:
    venv = gym.make_vec("simrec/Bandit-v0", num_envs=512, world=WORLD)
    return collect(venv, make_policy("uniform", venv, rng=seed), n, seed=seed)


def _skewed_log(n: int, seed: int) -> BanditLog:
    """A log of a sharp softmax logger over user-item affinities (favours some items), relabelled as
    uniform: the negative control's 'replay without propensity correction'."""
    venv = gym.make_vec("simrec/Bandit-v0", num_envs=512, world=WORLD)
    log = collect(venv, make_policy("softmax", venv, rng=seed, temperature=0.05), n, seed=seed)
    return BanditLog(action=log.action, reward=log.reward, pscore=np.full(len(log), 1.0 / N_ITEMS),
                     context=log.context, n_actions=log.n_actions)


def _replay_runs(name: str, log: BanditLog, T: int, n_runs: int, seed: int, offset: int) -> pd.DataFrame:
    env = _env()
    per = LOG_FACTOR * N_ITEMS * T
    rows = []
    for i in range(n_runs):
        part = log[i * per:(i + 1) * per]
        pol = make_policy(name, env, rng=seed * 100_003 + offset + i, **POLICIES[name])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = Replay(random_state=seed * 100_003 + offset + i).evaluate_learner(part, pol, max_accepted=T)
        rows.append({"run": i, "value": est.value, "accepted": est.diagnostics["n_accepted"],
                     "scanned": est.diagnostics["rows_scanned"], "reached": est.diagnostics["reached_max_accepted"]})
    return pd.DataFrame(rows)


def _online_runs(name: str, T: int, n_runs: int, seed: int) -> np.ndarray:
    env = _env()
    out = np.empty(n_runs)
    for i in range(n_runs):
        pol = make_policy(name, env, rng=seed * 100_003 + 50_000 + i, **POLICIES[name])
        out[i] = run_online(env, pol, T, seed=seed * 100_003 + 70_000 + i).reward.mean()
    return out


def run(quick: bool = True, seed: int = 0) -> Result:
    """Online vs replay for each policy; ``quick`` uses T = 200 and 60 runs."""
    size = SETUP["quick" if quick else "full"]
    T, R = size["T"], size["n_runs"]
    per = LOG_FACTOR * N_ITEMS * T
    claims, rows, samples = [], [], {}
    with Timer() as t:
        log = _uniform_log(per * R * len(POLICIES), seed)
        for j, name in enumerate(POLICIES):
            online = _online_runs(name, T, R, seed)
            rep = _replay_runs(name, log[j * per * R:(j + 1) * per * R], T, R, seed, offset=j * R)
            samples[name] = (online, rep["value"].to_numpy())
            so, sr = online.std(ddof=1), rep["value"].std(ddof=1)
            z = abs(rep["value"].mean() - online.mean()) / np.sqrt((so**2 + sr**2) / R)
            ks = stats.ks_2samp(online, rep["value"].to_numpy())
            events = rep["scanned"].sum() / rep["accepted"].sum()
            rows.append({"policy": name, "online mean": online.mean(), "online sd": so,
                         "replay mean": rep["value"].mean(), "replay sd": sr, "KS p": ks.pvalue,
                         "events per accepted": events, "runs reaching T": rep["reached"].mean()})
            ref = REFERENCE.set_index("policy").to_dict("index").get(name)
            claims += [
                Claim(f"{name}: replay mean = online mean (|Δ| in standard errors)", "< 3", TOL_MEAN_Z, float(z),
                      detail=f"online {online.mean():.4f}, replay {rep['value'].mean():.4f}",
                      note="replay is biased for this algorithm"),
                Claim(f"{name}: sd(replay) / sd(online)", "1 (within 5% at 4,000 runs)", sd_tolerance(R),
                      float(sr / so), detail=f"online sd {so:.4f}, replay sd {sr:.4f}"
                      + (f"; reference {ref['online sd']}" if ref else ""),
                      note="the spread of replayed histories differs from online ones"),
                Claim(f"{name}: KS test of per-run averages, p-value", "does not reject at 1%", TOL_KS_P,
                      float(ks.pvalue), note="the replayed and online distributions differ"),
                Claim(f"{name}: logged events per accepted event", N_ITEMS, events_tolerance(T, R),
                      float(events), note="replay consumes a different amount of data than K per step"),
                Claim(f"{name}: share of runs reaching T accepted events", 1.0, TOL_REACHED,
                      float(rep["reached"].mean()), note=f"a log of {LOG_FACTOR} K T events was too short"),
            ]
        # negative control: a skewed log replayed as if uniform
        neg_name = "epsilon-greedy"
        skew = _skewed_log(per * R, seed + 1)
        neg = _replay_runs(neg_name, skew, T, R, seed, offset=10 * R)
        online = samples[neg_name][0]
        sn = neg["value"].std(ddof=1)
        zneg = abs(neg["value"].mean() - online.mean()) / np.sqrt((online.std(ddof=1) ** 2 + sn**2) / R)
        claims.append(Claim(f"negative control: {neg_name} replayed on a skewed log treated as uniform differs",
                            "differs (fails the checks)", TOL_NEGATIVE_Z, float(zneg),
                            detail=f"online {online.mean():.4f}, naive replay {neg['value'].mean():.4f}",
                            note="the checks above cannot tell a biased replay from a correct one"))
        rows.append({"policy": f"{neg_name} (skewed log, no correction)", "online mean": online.mean(),
                     "online sd": online.std(ddof=1), "replay mean": neg["value"].mean(), "replay sd": sn,
                     "KS p": stats.ks_2samp(online, neg["value"].to_numpy()).pvalue,
                     "events per accepted": neg["scanned"].sum() / neg["accepted"].sum(),
                     "runs reaching T": neg["reached"].mean()})
    fig, axes = new_figure(11.0, 3.4, ncols=len(POLICIES))
    for ax, (name, (on, rp)) in zip(axes, samples.items()):
        bins = np.linspace(min(on.min(), rp.min()), max(on.max(), rp.max()), 25)
        ax.hist(on, bins=bins, alpha=0.5, label="online", density=True)
        ax.hist(rp, bins=bins, alpha=0.5, label="replay", density=True)
        ax.set_title(name)
        ax.set_xlabel(f"average reward over T={T} steps")
    axes[0].legend()
    return Result(
        name=NAME, title=TITLE, citation=CITATION, quick=quick, seed=seed,
        setup={"env": "simrec/Bandit-v0", "world": "preset 'static', 10 items", "T": T, "runs per policy": R,
               "policies": ", ".join(f"{k}{v or ''}" for k, v in POLICIES.items()),
               "log per run": f"{LOG_FACTOR} K T = {per} uniformly random events",
               "negative control": "softmax(affinity / 0.05) logger, pscores overwritten with 1/K"},
        claims=claims,
        tables={"Online vs replay, per-run average reward": pd.DataFrame(rows),
                "Reference implementation (10 Bernoulli arms, T = 500, 4,000 runs)": REFERENCE},
        figures={"Distribution of the per-run average reward, online vs replay": fig},
        notes=["The paper's own numbers are on Yahoo! Front Page data (not available offline); the reference table is "
               "a re-implementation on Bernoulli arms, shown for scale: the claims test the distributional "
               "equality itself, on the simulator, with tolerances that scale with the number of runs.",
               "Replay.evaluate_learner accepts row i with probability pi_t(a_i|x_i) p_min / p_i, which on a uniform "
               "log is Li et al.'s 'keep the event when the policy picks the logged action' for deterministic "
               "policies, and its rejection-sampling extension for stochastic ones."],
        runtime_s=t.seconds,
    )
