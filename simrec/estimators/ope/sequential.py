"""Sequential (RL) off-policy estimators on :class:`~simrec.data.Trajectories`.

Notation: episode :math:`i` has steps :math:`t = 0, \\dots, T_i - 1` (cut at ``horizon``),
:math:`\\rho_{i,t} = \\pi(a_{i,t}|s_{i,t}) / \\mu(a_{i,t}|s_{i,t})` with :math:`\\mu` the logging
propensity ``log.pscore``, cumulative weights :math:`w_{i,t} = \\prod_{k \\le t} \\rho_{i,k}`
(:math:`w_{i,-1} = 1`), discount :math:`\\gamma`, return
:math:`G_i = \\sum_t \\gamma^t r_{i,t}`; with a model :math:`\\hat Q`,
:math:`\\hat q_{i,t} = \\hat Q(s_{i,t}, a_{i,t})` and
:math:`\\hat v_{i,t} = \\sum_a \\pi(a|s_{i,t}) \\hat Q(s_{i,t}, a)`.

Trajectories are the independent units: every estimate is the mean of one contribution per
episode (self-normalised estimators return their linearisation, whose mean is the estimate), so
``Estimate.n`` is the number of episodes and the standard error is trajectory-level. The estimand
is the expected discounted return over an episode's first ``horizon`` steps; an episode that ends
earlier (terminated, or truncated by the log) contributes nothing after its last logged step.

Inputs: ``action_dist`` (N, n_actions), the target policy at every logged step, or the reduced
form ``pi_logged=`` (N,), the target probability of each logged action (also for slate actions);
``q_hat`` (N, n_actions) for the DR family (or ``q_logged=`` and ``q_pi=``), or none: the DR
estimators then fit :class:`FQE` on the same log.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ..._validation import check_array, check_int, check_probability
from ...data import Trajectories
from ...errors import ConfigError, InvalidLogError, NotSupportedError
from ..base import Estimator, Needs, check_name, check_random_state
from ..estimate import Estimate
from ..registry import register
from . import _kernels, _seq_kernels
from .base import INTERVAL_KEYWORDS, sn_influence
from .diagnostics import finish_estimate, weight_diagnostics
from .inputs import ReducedInputs, _describe_bad_dist

__all__ = ["SequentialEstimator", "TrajectoryIS", "PDIS", "WIS", "WPDIS", "SequentialDR", "WDR", "FQE",
           "MarginalIS", "prepare_trajectories", "SequentialInputs"]

_E = InvalidLogError
_IS_KEYWORDS = frozenset({"pi_logged"}) | INTERVAL_KEYWORDS
_DR_KEYWORDS = frozenset({"pi_logged", "q_pi", "q_logged"}) | INTERVAL_KEYWORDS


def episode_clusters(log: Trajectories, cluster: str | None) -> np.ndarray | None:
    """One cluster id per episode: the ``user_id`` (``"user"``; ``"auto"`` when the log has it) or the
    ``session_id`` (``"session"``) of its steps, which must be the same on every step of an episode;
    ``None`` treats episodes as independent."""
    if cluster is None:
        return None
    if cluster not in ("auto", "session", "user"):
        raise ConfigError(f"`cluster` must be 'auto', 'session', 'user' or None; got {cluster!r}")
    field = "user" if cluster == "auto" else cluster
    ids = getattr(log, f"{field}_id", None)
    if ids is None:
        if cluster == "auto":
            return None
        raise InvalidLogError(f"cluster={cluster!r} needs `log.{field}_id`, which this log does not have")
    new_ep = np.r_[True, log.episode[1:] != log.episode[:-1]]
    start = np.flatnonzero(new_ep)
    changes = ~new_ep & np.r_[False, ids[1:] != ids[:-1]]
    if changes.any():
        i = int(np.flatnonzero(changes)[0])
        raise InvalidLogError(f"`log.{field}_id` changes inside episode {log.episode[i]} (row {i}); episodes are "
                              f"the units here, so cluster on an id that holds for a whole episode")
    return ids[start]
_NO_HORIZON = np.iinfo(np.int64).max


class SequentialInputs:
    """Validated flat inputs of a sequential estimator (see :func:`prepare_trajectories`).

    Attributes: ``offsets`` (n_episodes + 1,), ``lens`` (rows per episode inside the horizon),
    ``pi`` (target probability of each logged action), ``p`` (logging propensity), ``r``,
    ``q`` / ``v`` (model values; zeros without a model), ``has_q``, ``unsupported_mass``.
    """

    __slots__ = ("offsets", "lens", "pi", "p", "r", "q", "v", "has_q", "unsupported_mass", "n_rows")

    def __init__(self, **kw: Any) -> None:
        for k, v in kw.items():
            setattr(self, k, v)

    @property
    def n_episodes(self) -> int:
        return int(self.lens.shape[0])

    def episode_diagnostics(self, gamma: float) -> dict[str, Any]:
        """The episode counts every sequential estimate reports."""
        return {"n_episodes": self.n_episodes, "n_steps": int(self.lens.sum()), "gamma": gamma,
                "longest_episode": int(self.lens.max())}


def _check_log(log: Any, label: str) -> Trajectories:
    if not isinstance(log, Trajectories):
        raise _E(f"`log` must be a Trajectories for {label} (a sequential-family estimator); got "
                 f"{type(log).__name__}")
    return log


def prepare_trajectories(
    log: Trajectories,
    action_dist: Any = None,
    q_hat: Any = None,
    *,
    horizon: int | None = None,
    need_pscore: bool = True,
    need_q: bool = False,
    pi_logged: Any = None,
    q_pi: Any = None,
    q_logged: Any = None,
    estimator: str = "estimator",
) -> SequentialInputs:
    """Validate a trajectory log and the target policy (and model) and reduce them to per-row arrays.

    Raises
    ------
    InvalidLogError
        Not a ``Trajectories``; an episode that does not start at step 0; missing ``pscore``;
        ``action_dist`` / ``q_hat`` of the wrong shape or with bad entries (the first bad row named).
    """
    _check_log(log, estimator)
    h = _NO_HORIZON if horizon is None else int(horizon)
    offsets, lens, bad = _seq_kernels.episode_offsets(log.episode, log.step, h)
    if bad >= 0:
        raise _E(f"`log.step` must start at 0 in every episode (sequential OPE needs whole episodes); "
                 f"episode {int(log.episode[bad])} starts at step {int(log.step[bad])}, at row {bad}")
    n = len(log)
    if need_pscore and log.pscore is None:
        raise _E(f"{estimator} needs logging propensities but `log.pscore` is None")
    p = log.pscore if log.pscore is not None else np.ones(n)
    if pi_logged is not None:
        if action_dist is not None:
            raise _E("give either `action_dist` or `pi_logged` (the reduced form), not both")
        red = ReducedInputs(pi_logged=pi_logged, q_pi=q_pi, q_logged=q_logged)
        if len(red) != n:
            raise _E(f"`pi_logged` has {len(red)} rows but the log has {n} steps")
        pi, qp, ql, um = red.pi_logged, red.q_pi, red.q_logged, float("nan")
        if need_q and qp is None and q_hat is not None:
            raise _E("with `pi_logged`, give the model in reduced form too (`q_pi` and `q_logged`)")
    else:
        if action_dist is None:
            raise _E(f"{estimator} needs `action_dist` (N, n_actions) or `pi_logged` (N,)")
        if log.action.ndim != 1:
            raise NotSupportedError(f"{estimator}: the log holds slates; give the target probability of "
                                    "each logged slate as `pi_logged=` instead of `action_dist`")
        ad = _dense(action_dist, "action_dist")
        k = log.n_actions
        if ad.shape != (n, k):
            raise _E(f"`action_dist` must have shape ({n}, {k}) for a log of {n} steps and {k} actions; "
                     f"got {ad.shape}")
        qh = None
        if q_hat is not None and need_q:
            qh = _dense(q_hat, "q_hat")
            if qh.shape != ad.shape:
                raise _E(f"`q_hat` must have the shape of `action_dist` {ad.shape}; got {qh.shape}")
            qh = qh.astype(ad.dtype, copy=False)
        unlogged = np.flatnonzero(np.bincount(log.action, minlength=k) == 0).astype(np.int64)
        pi, qp, ql, unsup, (first_p, n_p, first_q, n_q) = _kernels.reduce_rows(ad, qh, log.action, log.action,
                                                                               unlogged)
        if n_p:
            raise _E(_describe_bad_dist(ad[first_p], first_p) + f" ({n_p} bad rows in all)")
        if n_q:
            j = int(np.flatnonzero(~np.isfinite(qh[first_q]))[0])
            raise _E(f"`q_hat` must be finite (no NaN or inf); {n_q} rows are not, first at row {first_q}, "
                     f"action {j} (value {qh[first_q, j]!r})")
        if qh is None:
            qp = ql = None
        um = unsup / n
    has_q = qp is not None
    if need_q and not has_q:
        raise _E(f"{estimator} needs a model: pass `q_hat` (N, n_actions) or `q_pi` and `q_logged`")
    zeros = np.zeros(0)
    return SequentialInputs(offsets=offsets, lens=lens, pi=np.ascontiguousarray(pi, dtype=np.float64),
                            p=p, r=log.reward, q=ql if has_q else zeros, v=qp if has_q else zeros,
                            has_q=has_q, unsupported_mass=um, n_rows=n)


def _dense(value: Any, name: str) -> np.ndarray:
    arr = value if isinstance(value, np.ndarray) and value.dtype.kind == "f" else check_array(
        value, name=name, error=_E)
    if arr.ndim != 2:
        raise _E(f"`{name}` must have shape (N, n_actions); got {arr.shape}")
    return np.ascontiguousarray(arr)


class SequentialEstimator(Estimator):
    """Common machinery of the sequential family: ``estimate(log, action_dist, q_hat=None, **kw)``.

    Parameters
    ----------
    gamma : float
        Discount factor in (0, 1].
    horizon : int, optional
        Use only the first ``horizon`` steps of each episode (None: all).
    """

    family = "sequential"
    needs: ClassVar[Needs] = Needs("trajectories", ("action_dist", "pscore"))
    estimate_keywords = _IS_KEYWORDS
    _need_q: ClassVar[bool] = False

    def __init__(self, gamma: float = 1.0, horizon: int | None = None, *, name: str | None = None,
                 random_state: int | np.random.Generator | None = None) -> None:
        self.gamma = _check_gamma(gamma)
        self.horizon = _check_horizon(horizon)
        self.name = check_name(name)
        self.random_state = check_random_state(random_state)

    def estimate(self, log: Trajectories, action_dist: Any = None, q_hat: Any = None, *, alpha: float = 0.05,
                 ci_method: str = "normal", cluster: str | None = "auto", **kw: Any) -> Estimate:
        """Estimate the target policy's expected discounted return.

        Parameters
        ----------
        log : Trajectories
        action_dist : array_like (N, n_actions)
            Target policy at every logged step (or give ``pi_logged=`` instead).
        q_hat : array_like (N, n_actions), optional
            :math:`\\hat Q(s_t, a)` for the DR family.
        alpha, ci_method : interval level and method (``normal``, ``t``, ``bernstein``, ``bootstrap``)
        cluster : {"auto", "user", "session"} or None
            Episodes to treat as correlated: the standard error and interval are cluster-robust over
            the episodes' ``user_id`` (``"auto"``, when the log has it) or ``session_id`` (see
            :func:`episode_clusters`); ``None`` treats episodes as independent.
        **kw
            ``pi_logged`` (and ``q_pi``, ``q_logged`` for DR), ``n_boot``, ``bound``; anything else
            raises :class:`~simrec.errors.ConfigError`.

        Returns
        -------
        Estimate
            One contribution per episode; ``n`` is the number of episodes.
        """
        self._check_keywords(kw)
        c, diag = self._run(log, action_dist, q_hat, kw)
        clusters = episode_clusters(log, cluster)
        if clusters is not None and clusters.shape[0] != c.shape[0]:
            raise InvalidLogError(f"{self.label}: {c.shape[0]} episode contributions but {clusters.shape[0]} "
                                  "episodes in the log")
        return finish_estimate(self, c, diag, alpha=alpha, ci_method=ci_method, kw=kw, clusters=clusters)

    def contributions(self, log: Trajectories, action_dist: Any = None, q_hat: Any = None, **kw: Any) -> np.ndarray:
        """Per-episode contributions whose mean is the estimate (no warnings)."""
        self._check_keywords(kw)
        return self._run(log, action_dist, q_hat, kw)[0]

    # -- internals --------------------------------------------------------------------------------
    def _prepare(self, log: Any, action_dist: Any, q_hat: Any, kw: dict[str, Any]) -> SequentialInputs:
        need_q = self._need_q
        if need_q and q_hat is None and kw.get("q_pi") is None:
            _check_log(log, self.label)
            if action_dist is None:
                raise _E(f"{self.label} fits its model with FQE, which needs the dense `action_dist`")
            q_hat = FQE(model=self.q_model, gamma=self.gamma, horizon=self.horizon,
                        random_state=self.random_state).fit_q(log, action_dist)
        return prepare_trajectories(log, action_dist, q_hat, horizon=self.horizon,
                                    need_pscore=self.needs.requires("pscore"), need_q=need_q,
                                    pi_logged=kw.get("pi_logged"), q_pi=kw.get("q_pi"),
                                    q_logged=kw.get("q_logged"), estimator=self.label)

    def _run(self, log: Any, action_dist: Any, q_hat: Any, kw: dict[str, Any]) -> tuple[np.ndarray, dict]:
        s = self._prepare(log, action_dist, q_hat, kw)
        c, W = self._terms(s)
        diag = weight_diagnostics(W, W, s.unsupported_mass) if W is not None else {
            "ess": float(s.n_episodes), "unsupported_mass": float(s.unsupported_mass)}
        diag.update(s.episode_diagnostics(self.gamma))
        return c, diag

    def _terms(self, s: SequentialInputs) -> tuple[np.ndarray, np.ndarray | None]:
        raise NotImplementedError

    def _basic(self, s: SequentialInputs):
        return _seq_kernels.trajectory_terms(s.offsets, s.lens, s.pi, s.p, s.r, s.q, s.v, self.gamma, s.has_q)


def _check_gamma(gamma: Any) -> float:
    return check_probability(gamma, name="gamma", open_left=True)


def _check_horizon(horizon: Any) -> int | None:
    return None if horizon is None else check_int(horizon, name="horizon", minimum=1)


@register
class TrajectoryIS(SequentialEstimator):
    """Trajectory-wise importance sampling (Precup, Sutton & Singh 2000).

    .. math:: \\hat V_{\\mathrm{IS}} = \\frac1n \\sum_i w_{i,T_i-1} \\sum_{t} \\gamma^t r_{i,t}

    Unbiased; its variance grows exponentially with the horizon.
    """

    def _terms(self, s):
        W, G, _, _ = self._basic(s)
        return W * G, W


@register
class PDIS(SequentialEstimator):
    """Per-decision importance sampling (Precup, Sutton & Singh 2000).

    .. math:: \\hat V_{\\mathrm{PDIS}} = \\frac1n \\sum_i \\sum_t \\gamma^t w_{i,t}\\, r_{i,t}

    Unbiased; a reward is weighted only by the actions before it.
    """

    def _terms(self, s):
        W, _, pd, _ = self._basic(s)
        return pd, W


@register
class WIS(SequentialEstimator):
    """Weighted (self-normalised) trajectory-wise importance sampling.

    .. math:: \\hat V_{\\mathrm{WIS}} = \\sum_i W_i G_i \\Big/ \\sum_i W_i, \\qquad W_i = w_{i,T_i-1}

    Contributions are the influence values :math:`\\hat V + W_i (G_i - \\hat V) / \\bar W`.
    Biased but consistent; always within the range of the observed returns.
    """

    def _terms(self, s):
        W, G, _, _ = self._basic(s)
        if not W.mean() > 0:
            raise _E(f"{self.label} is undefined: every trajectory has importance weight 0")
        return sn_influence(W, G)[1], W


@register
class WPDIS(SequentialEstimator):
    """Weighted per-decision importance sampling (per-step self-normalisation).

    .. math:: \\hat V_{\\mathrm{WPDIS}} = \\sum_t \\gamma^t \\frac{\\sum_i w_{i,t} r_{i,t}}{\\sum_i w_{i,t}}

    An episode that ended before step :math:`t` keeps its final weight in the denominator (an
    absorbing state with zero reward), as in Thomas (2015) and Voloshin et al. (2021).
    Contributions are the per-episode influence values (delta method).
    """

    def _terms(self, s):
        _, c, W = _seq_kernels.weighted_terms(s.offsets, s.lens, s.pi, s.p, s.r, s.q, s.v, self.gamma, False)
        return c, W


class _ModelBased(SequentialEstimator):
    needs = Needs("trajectories", ("action_dist", "pscore"), optional=("q_hat",))
    #: without ``q_hat`` the model is fitted by FQE, which needs the dense target at every step
    dense_target = True
    estimate_keywords = _DR_KEYWORDS
    _need_q = True

    def __init__(self, gamma: float = 1.0, horizon: int | None = None, q_model: Any = None, *,
                 name: str | None = None, random_state: int | np.random.Generator | None = None) -> None:
        self.gamma = _check_gamma(gamma)
        self.horizon = _check_horizon(horizon)
        self.q_model = _check_model(q_model, "q_model")
        self.name = check_name(name)
        self.random_state = check_random_state(random_state)


@register
class SequentialDR(_ModelBased):
    """Doubly robust estimator for sequential decisions (Jiang & Li 2016).

    .. math:: \\hat V_{\\mathrm{DR}} = \\frac1n \\sum_i \\sum_t \\gamma^t
       \\left( w_{i,t} (r_{i,t} - \\hat q_{i,t}) + w_{i,t-1} \\hat v_{i,t} \\right)

    Unbiased for any model :math:`\\hat Q` (given exact propensities); the closer the model, the
    lower the variance. Without ``q_hat`` the model is fitted by :class:`FQE` (with ``q_model``) on
    the same log.

    Parameters
    ----------
    gamma, horizon : see :class:`SequentialEstimator`
    q_model : scikit-learn regressor, optional
        Regressor of the internal FQE (None: its default) when ``q_hat`` is not given.

    References
    ----------
    N. Jiang, L. Li. Doubly Robust Off-policy Value Evaluation for Reinforcement Learning. ICML 2016.
    """

    def _terms(self, s):
        W, _, _, dr = self._basic(s)
        return dr, W


@register
class WDR(_ModelBased):
    """Weighted doubly robust estimator (Thomas & Brunskill 2016).

    .. math:: \\hat V_{\\mathrm{WDR}} = \\sum_t \\gamma^t \\left(
       \\sum_i \\frac{w_{i,t}}{\\sum_j w_{j,t}} (r_{i,t} - \\hat q_{i,t})
       + \\sum_i \\frac{w_{i,t-1}}{\\sum_j w_{j,t-1}} \\hat v_{i,t} \\right)

    with :math:`w_{i,-1} / \\sum_j w_{j,-1} = 1/n` and final weights carried after an episode ends
    (as in :class:`WPDIS`). Contributions are the per-episode influence values (delta method).

    References
    ----------
    P. Thomas, E. Brunskill. Data-Efficient Off-Policy Policy Evaluation for Reinforcement
    Learning. ICML 2016.
    """

    def _terms(self, s):
        _, c, W = _seq_kernels.weighted_terms(s.offsets, s.lens, s.pi, s.p, s.r, s.q, s.v, self.gamma, True)
        return c, W


def _check_model(model: Any, name: str) -> Any:
    if model is not None and not (hasattr(model, "fit") and hasattr(model, "predict")):
        raise ConfigError(f"`{name}` must be a scikit-learn regressor (with fit and predict); got {model!r}")
    return model


@register
class FQE(SequentialEstimator):
    """Fitted Q evaluation (Le, Voloshin & Yue 2019) with any scikit-learn regressor.

    Iterates, for ``n_iter`` rounds, the regression of the target
    :math:`y_{i,t} = r_{i,t} + \\gamma \\sum_a \\pi(a|s_{i,t+1}) \\hat Q_k(s_{i,t+1}, a)` (0 after an
    episode's last step inside the horizon) on the logged state-action pairs, starting from
    :math:`\\hat Q_0 = 0`; the estimate is the mean of :math:`\\sum_a \\pi(a|s_{i,0}) \\hat Q(s_{i,0}, a)`
    over episodes.

    .. math:: \\hat V_{\\mathrm{FQE}} = \\frac1n \\sum_i \\hat v_{i,0}

    The standard error is that of the per-episode initial values only: it ignores the model's own
    estimation error. The estimate is biased when the model class cannot represent :math:`Q^\\pi`
    (e.g. when the observation aliases states).

    Parameters
    ----------
    model : scikit-learn regressor, optional
        Cloned for every fit. None: ``Ridge(alpha=1e-6)``, which on one-hot encoded discrete
        observations is the tabular (maximum-likelihood model) value.
    gamma, horizon : see :class:`SequentialEstimator`
    n_iter : int, optional
        Regression rounds (None: the longest episode inside the horizon, exact for finite-horizon
        problems whose observation identifies the step).
    per_action : bool
        True: one regressor per action on the observation (the tabular analogue); False: one
        regressor on ``[obs, one_hot(action)]``.
    """

    needs = Needs("trajectories", ("action_dist",))
    dense_target = True  # the target at every step and every action (not its reduced form)

    def __init__(self, model: Any = None, gamma: float = 1.0, horizon: int | None = None, n_iter: int | None = None,
                 per_action: bool = True, *, name: str | None = None,
                 random_state: int | np.random.Generator | None = None) -> None:
        self.model = _check_model(model, "model")
        self.gamma = _check_gamma(gamma)
        self.horizon = _check_horizon(horizon)
        self.n_iter = None if n_iter is None else check_int(n_iter, name="n_iter", minimum=1)
        if not isinstance(per_action, (bool, np.bool_)):
            raise ConfigError(f"`per_action` must be a bool; got {per_action!r}")
        self.per_action = bool(per_action)
        self.name = check_name(name)
        self.random_state = check_random_state(random_state)

    def fit_q(self, log: Trajectories, action_dist: Any) -> np.ndarray:
        """Fit and return :math:`\\hat Q(s_t, a)` for every row and action, shape (N, n_actions)
        (rows outside the horizon get 0). Usable as ``q_hat`` of :class:`SequentialDR` / :class:`WDR`."""
        return self._fit(log, action_dist)[0]

    def _fit(self, log: Any, action_dist: Any):
        s = prepare_trajectories(log, action_dist, None, horizon=self.horizon, need_pscore=False,
                                 estimator=self.label)
        ad = _dense(action_dist, "action_dist")
        n, k = ad.shape
        rows = np.flatnonzero(log.step < (_NO_HORIZON if self.horizon is None else self.horizon))
        x = log.obs[rows]
        a = log.action[rows]
        r = log.reward[rows]
        # position of each used row's successor among the used rows (-1: last step inside the horizon)
        pos = np.full(n, -1, dtype=np.int64)
        pos[rows] = np.arange(rows.shape[0])
        last = np.zeros(n, dtype=bool)
        last[s.offsets[:-1] + s.lens - 1] = True
        nxt = np.where(last[rows], -1, pos[np.minimum(rows + 1, n - 1)])
        has_next = nxt >= 0
        ad_used = ad[rows]
        n_iter = int(s.lens.max()) if self.n_iter is None else self.n_iter
        rng = self._random()
        q = np.zeros((rows.shape[0], k))
        for _ in range(n_iter):
            v = np.einsum("ij,ij->i", ad_used, q)
            y = r.copy()
            y[has_next] += self.gamma * v[nxt[has_next]]
            q = self._regress(x, a, y, k, rng)
        out = np.zeros((n, k))
        out[rows] = q
        return out, s, ad_used, q

    def _new_model(self, rng: np.random.Generator) -> Any:
        from sklearn.base import clone as sk_clone
        from sklearn.linear_model import Ridge

        m = Ridge(alpha=1e-6) if self.model is None else sk_clone(self.model)
        if "random_state" in m.get_params():
            m.set_params(random_state=int(rng.integers(2**31 - 1)))
        return m

    def _regress(self, x: np.ndarray, a: np.ndarray, y: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
        q = np.zeros((x.shape[0], k))
        if self.per_action:
            for j in range(k):  # one fit per action (not per row)
                sel = a == j
                if sel.any():
                    q[:, j] = self._new_model(rng).fit(x[sel], y[sel]).predict(x)
            return q
        onehot = np.zeros((x.shape[0], k))
        onehot[np.arange(x.shape[0]), a] = 1.0
        m = self._new_model(rng).fit(np.hstack([x, onehot]), y)
        for j in range(k):
            onehot[:] = 0.0
            onehot[:, j] = 1.0
            q[:, j] = m.predict(np.hstack([x, onehot]))
        return q

    def _run(self, log, action_dist, q_hat, kw):
        if kw.get("pi_logged") is not None:
            raise _E("FQE needs the dense `action_dist` (the target policy at every step), not `pi_logged`")
        if isinstance(log, Trajectories) and log.action.ndim != 1:
            raise NotSupportedError("FQE: the log holds slates; FQE needs one discrete action per step")
        _, s, ad_used, q = self._fit(log, action_dist)
        starts_used = np.concatenate([[0], np.cumsum(s.lens)[:-1]])
        c = np.einsum("ij,ij->i", ad_used[starts_used], q[starts_used])
        diag = {"ess": float(s.n_episodes), "unsupported_mass": float(s.unsupported_mass),
                **s.episode_diagnostics(self.gamma)}
        return c, diag


@register
class MarginalIS(SequentialEstimator):
    """State-marginal importance sampling for discrete state spaces.

    The weight of the past is replaced by its conditional mean given the state, the ratio of the
    state marginals :math:`d^\\pi_t(s) / d^\\mu_t(s) = E_\\mu[w_{t-1} | s_t = s]`, estimated per step
    and state by the empirical mean :math:`\\hat w_t(s)`:

    .. math:: \\hat V_{\\mathrm{MIS}} = \\frac1n \\sum_i \\sum_t \\gamma^t \\hat w_t(s_{i,t})\\,
       \\rho_{i,t}\\, r_{i,t}

    Consistent when the state is Markov (fully observed); its variance does not compound over the
    horizon like :class:`PDIS`'s. Contributions are the influence values
    :math:`\\sum_t \\gamma^t [\\hat w_t(s_{i,t}) \\rho_{i,t} r_{i,t} + (w_{i,t-1} - \\hat w_t(s_{i,t}))
    \\bar m_t(s_{i,t})]` with :math:`\\bar m_t(s)` the mean of :math:`\\rho r` in the cell, so the
    standard error includes the estimation of :math:`\\hat w`.

    States: ``state=`` (N,) non-negative integer ids, or (default) the distinct rows of ``log.obs``.

    References
    ----------
    T. Xie, Y. Ma, Y.-X. Wang. Towards Optimal Off-Policy Evaluation for Reinforcement Learning
    with Marginalized Importance Sampling. NeurIPS 2019.
    """

    needs = Needs("trajectories", ("action_dist", "pscore"), optional=("state",))
    estimate_keywords = _IS_KEYWORDS | {"state"}

    def _run(self, log, action_dist, q_hat, kw):
        s = self._prepare(log, action_dist, None, kw)
        n = s.n_rows
        state = kw.get("state")
        if state is None:
            state = np.unique(log.obs, axis=0, return_inverse=True)[1].reshape(-1)
        else:
            state = check_array(state, name="state", ndim=1, dtype="int", error=_E)
            if state.shape[0] != n:
                raise _E(f"`state` must have {n} entries (one per step); got {state.shape[0]}")
            if (state < 0).any():
                i = int(np.flatnonzero(state < 0)[0])
                raise _E(f"`state` must hold non-negative ids; first bad at row {i} (value {int(state[i])})")
        w_before, rho = _seq_kernels.cumulative_weights(s.offsets, s.lens, s.pi, s.p, n)
        used = ~np.isnan(rho)
        t = log.step[used]
        st = state[used]
        n_states = int(st.max()) + 1
        cell = t * n_states + st
        ncell = int(cell.max()) + 1
        wb, rr = w_before[used], rho[used] * s.r[used]
        cnt = np.bincount(cell, minlength=ncell)
        w_hat = np.bincount(cell, weights=wb, minlength=ncell) / np.maximum(cnt, 1)
        m_bar = np.bincount(cell, weights=rr, minlength=ncell) / np.maximum(cnt, 1)
        disc = self.gamma ** t.astype(np.float64)
        term = disc * (w_hat[cell] * rr + (wb - w_hat[cell]) * m_bar[cell])
        ep_index = np.repeat(np.arange(s.n_episodes), s.lens)
        c = np.bincount(ep_index, weights=term, minlength=s.n_episodes)
        W = (w_before * rho)[s.offsets[:-1] + s.lens - 1]  # each episode's final cumulative weight
        diag = weight_diagnostics(W, W, s.unsupported_mass)
        diag.update(s.episode_diagnostics(self.gamma), n_state_cells=int((cnt > 0).sum()))
        return c, diag
