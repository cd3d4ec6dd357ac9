"""``check_estimator``: the conformance check of simrec's estimator contract.

It checks, on a small problem of the estimator's log kind:

* the scikit-learn conventions: ``get_params`` returns exactly the constructor arguments,
  ``set_params`` round-trips and rejects unknown names, ``clone`` gives equal parameters, the repr
  names the class and every non-default parameter;
* ``needs`` is declared and the estimator is registered under its class name;
* the :class:`~simrec.estimators.Estimate` is finite and consistent (``ci_low <= value <= ci_high``
  for a normal interval, ``n`` the log size (the number of episodes for trajectory logs, whose
  episodes are the independent units), ``0 < ess <= n``, the contributions' mean is the
  value), and lies in the observed reward range for estimators that declare
  ``bounded_by_rewards``;
* determinism: the same inputs and the same ``random_state`` give the same estimate, bootstrap
  interval included;
* bad input raises named simrec errors: a log of another kind, a misspelled keyword, a target of
  the wrong shape.

Each log kind has a problem generator in :data:`PROBLEMS` (``kind -> fn(rng) -> (log, kwargs)``);
estimator families add theirs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..data import BanditLog
from ..errors import ConfigError, SimrecError
from .slate_worlds import slate_problem

__all__ = ["check_estimator", "EstimatorCheckError", "PROBLEMS", "bandit_problem", "slate_problem",
           "trajectories_problem", "experiment_problem"]


class EstimatorCheckError(AssertionError):
    """An estimator breaks the contract."""


def bandit_problem(rng: np.random.Generator, n: int = 400, n_actions: int = 5) -> tuple[BanditLog, dict[str, Any]]:
    """A small contextual-bandit log with everything any bandit estimator may need."""
    d = 3
    x = rng.normal(size=(n, d))
    emb = np.repeat(np.arange(3), 2)[:n_actions].reshape(-1, 1).astype(np.float64)
    logits = x @ rng.normal(size=(d, n_actions))
    pi0 = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    pi0 = 0.5 * pi0 + 0.5 / n_actions
    u = rng.random(n)
    a = (pi0.cumsum(1) < u[:, None]).sum(1).clip(0, n_actions - 1)
    mu = 1 / (1 + np.exp(-(x @ rng.normal(size=(d, n_actions)))))
    r = (rng.random(n) < mu[np.arange(n), a]).astype(np.float64)
    pscore = pi0[np.arange(n), a]
    logger_id = (rng.random(n) < 0.5).astype(np.int64)
    log = BanditLog(action=a, reward=r, pscore=pscore, context=x, action_embed=emb, n_actions=n_actions,
                    logger_id=logger_id)
    target = np.exp(2 * logits)
    target /= target.sum(1, keepdims=True)
    q_hat = np.clip(mu + rng.normal(scale=0.05, size=mu.shape), 0, 1)
    uniform = np.full_like(pi0, 1.0 / n_actions)
    kwargs = {"action_dist": target, "q_hat": q_hat, "logger_pscores": np.stack(
        [pscore, uniform[np.arange(n), a]], axis=1), "logging_dist": pi0}
    return log, kwargs


def trajectories_problem(rng: np.random.Generator, n_episodes: int = 150) -> tuple[Any, dict[str, Any]]:
    """Episodes of a small MDP (the COBS Graph world, 4 steps each) logged by a behaviour policy,
    with the target policy at every step, a noisy exact Q-function and the state ids."""
    from .mdp import graph_mdp, graph_policy

    mdp = graph_mdp(4)
    pi_b, pi_e = graph_policy(0.7, mdp.n_states), graph_policy(0.4, mdp.n_states)
    log, state = mdp.sample(pi_b, n_episodes, rng)
    q_hat = mdp.q_values(pi_e)[log.step, state] + rng.normal(scale=0.1, size=(len(log), mdp.n_actions))
    return log, {"action_dist": pi_e[state], "q_hat": q_hat, "state": state}


def experiment_problem(rng: np.random.Generator, n: int = 400) -> tuple[Any, dict[str, Any]]:
    """A small two-arm experiment: outcome, 0/1 treatment, a pre-period covariate, a ratio
    denominator, unit features and clusters (everything an experiment estimator may read)."""
    from ..estimators.experiments import ExperimentLog

    f = rng.normal(size=(n, 3))
    t = rng.random(n) < 0.5
    t[:2], t[2:4] = True, False
    sessions = 1.0 + rng.poisson(2.0 + np.exp(0.3 * f[:, 0]))
    base = 1.0 + 0.5 * f[:, 0] + 0.3 * f[:, 1] ** 2
    y = sessions * 0.3 * (1 + 0.1 * t) + base + rng.normal(scale=0.5, size=n)
    pre = base + rng.normal(scale=0.5, size=n)
    log = ExperimentLog(y, t.astype(np.int64), covariate=pre, denominator=sessions, features=f,
                        cluster=rng.integers(0, n // 4, size=n))
    return log, {}


#: log kind -> problem generator ``fn(rng) -> (log, inputs)``; ``inputs`` may hold more than an
#: estimator needs: :func:`check_estimator` passes each estimator only what it declares
PROBLEMS: dict[str, Callable[[np.random.Generator], tuple[Any, dict[str, Any]]]] = {
    "bandit": bandit_problem, "slate": slate_problem, "trajectories": trajectories_problem,
    "experiment": experiment_problem}


def _fail(est: Any, msg: str) -> None:
    raise EstimatorCheckError(f"{type(est).__name__}: {msg}")


def _call(est: Any, log: Any, inputs: dict[str, Any], **kw: Any) -> Any:
    """Call ``estimate`` with the inputs the estimator declares (positional contract per family)."""
    needs = est.needs
    used = set(needs.inputs) | set(needs.optional)
    if needs.log == "bandit":
        extra = {k: v for k, v in inputs.items() if k in used and k in est.estimate_keywords}
        q = inputs.get("q_hat") if "q_hat" in used else None
        return est.estimate(log, inputs["action_dist"], q, **extra, **kw)
    extra = {k: v for k, v in inputs.items() if k in used}
    return est.estimate(log, **extra, **kw)


def _same(a: Any, b: Any) -> bool:
    return (a.value == b.value and a.stderr == b.stderr and a.ci == b.ci) or (
        np.isnan(a.value) and np.isnan(b.value))


def check_estimator(est: Any, *, seed: int = 0, problem: tuple[Any, dict[str, Any]] | None = None) -> None:
    """Raise :class:`EstimatorCheckError` if ``est`` breaks the estimator contract.

    Parameters
    ----------
    est : Estimator
        An instance (its parameters are kept; a clone is exercised).
    seed : int
        Seed of the generated problem.
    problem : (log, inputs), optional
        Use this problem instead of the generated one of the estimator's log kind.
    """
    import warnings

    from ..estimators import Estimate, Estimator, registry

    if not isinstance(est, Estimator):
        _fail(est, "is not a simrec.estimators.Estimator")
    cls = type(est)
    # -- scikit-learn conventions
    try:
        params = est.get_params()
    except AttributeError as exc:
        _fail(est, f"get_params() fails ({exc}): store each constructor argument under its own name")
    names = cls._param_names()
    if sorted(params) != sorted(names):
        _fail(est, f"get_params() keys {sorted(params)} differ from the constructor's {sorted(names)}")
    if "random_state" not in params:
        _fail(est, "takes no `random_state`")
    twin = est.clone()
    if twin is est or type(twin) is not cls or repr(twin.get_params()) != repr(params):
        _fail(est, "clone() does not give a new estimator with equal parameters")
    r = repr(est)
    if not r.startswith(cls.__name__ + "("):
        _fail(est, f"repr {r!r} does not start with the class name")
    defaults = cls._defaults()
    for k, v in params.items():
        if k in defaults and repr(defaults[k]) != repr(v) and f"{k}=" not in r:
            _fail(est, f"repr {r!r} hides the non-default parameter {k}={v!r}")
    twin.set_params(**params)
    if repr(twin.get_params()) != repr(params):
        _fail(est, "set_params(**get_params()) changed the parameters")
    try:
        twin.set_params(no_such_parameter=1)
    except ConfigError:
        pass
    else:
        _fail(est, "set_params accepted an unknown parameter")
    # -- registry and needs
    try:
        info = registry.get(cls.__name__)
    except ConfigError:
        _fail(est, "is not in simrec.estimators.registry")
    if info.cls is not cls:
        _fail(est, f"the registry maps {cls.__name__!r} to another class ({info.cls!r})")
    kind = est.needs.log
    if problem is None:
        if kind not in PROBLEMS:
            _fail(est, f"no problem generator for log kind {kind!r} (add one to PROBLEMS)")
        problem = PROBLEMS[kind](np.random.default_rng(seed))
    log, inputs = problem
    # -- the estimate
    a = twin.clone().set_params(random_state=7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e1 = _call(a, log, inputs)
        e2 = _call(a.clone(), log, inputs)
        # determinism needs few resamples; some bootstraps refit the estimator (econml's) per resample
        b1 = _call(a, log, inputs, ci_method="bootstrap", n_boot=20)
        b2 = _call(a.clone(), log, inputs, ci_method="bootstrap", n_boot=20)
    if not isinstance(e1, Estimate):
        _fail(est, f"estimate() returned {type(e1).__name__}, not an Estimate")
    if not (np.isfinite(e1.value) and np.isfinite(e1.stderr) and e1.stderr >= 0):
        _fail(est, f"value {e1.value} or stderr {e1.stderr} is not finite and non-negative")
    if not e1.ci[0] <= e1.value <= e1.ci[1]:
        _fail(est, f"the normal interval {e1.ci} does not contain the value {e1.value}")
    n = log.n_episodes if kind == "trajectories" else len(log)  # trajectories: episodes are the units
    if e1.n != n:
        _fail(est, f"Estimate.n={e1.n}, the log has {n} rows")
    if not 0 < e1.ess <= n * (1 + 1e-9):
        _fail(est, f"ess={e1.ess} outside (0, n={n}]")
    if e1.contributions is not None and not np.isclose(e1.contributions.mean(), e1.value, rtol=1e-9, atol=1e-12):
        _fail(est, "the contributions' mean differs from the value")
    if not (_same(e1, e2) and _same(b1, b2)):
        _fail(est, "the same inputs and random_state gave different estimates")
    if est.bounded_by_rewards:
        rew = np.asarray(log.reward)
        if not rew.min() - 1e-12 <= e1.value <= rew.max() + 1e-12:
            _fail(est, f"value {e1.value} outside the reward range [{rew.min()}, {rew.max()}]")
    # -- bad input
    try:
        _call(a, log, inputs, no_such_keyword=1)
    except ConfigError as exc:
        if "no_such_keyword" not in str(exc):
            _fail(est, f"the error for an unknown keyword does not name it: {exc}")
    else:
        _fail(est, "estimate() accepted an unknown keyword")
    other = object()
    try:
        _call(a, other, inputs)
    except SimrecError as exc:
        if "log" not in str(exc):
            _fail(est, f"the error for a wrong log type does not name `log`: {exc}")
    else:
        _fail(est, "estimate() accepted an object that is not a log")
    if "action_dist" in inputs and "action_dist" in est.needs.inputs:
        bad = dict(inputs, action_dist=np.asarray(inputs["action_dist"])[:-1])
        try:
            _call(a, log, bad)
        except SimrecError:
            pass
        else:
            _fail(est, "estimate() accepted an action_dist with the wrong number of rows")
