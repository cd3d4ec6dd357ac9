"""Offline/online metric alignment: experiment corpora, proxy scores, surrogate index, optimal proxies.

Notation: experiments :math:`k = 1..K`; metrics :math:`m` (short-term proxies and the north star
:math:`Y`); per experiment the estimated effects :math:`\\hat\\Delta_k` (difference in means of every
metric), their sampling covariance :math:`\\Xi_k = \\Sigma_{k,1}/n_{k,1} + \\Sigma_{k,0}/n_{k,0}`,
and, when the data come from a simulator, the true effects :math:`\\Delta_k`. The latent effects have
a covariance :math:`\\Lambda` across experiments; :math:`\\mathrm{Cov}_k(\\hat\\Delta) \\approx
\\Lambda + \\bar\\Xi`, so the naive correlation of estimated effects mixes the unit-level noise
correlation into the treatment-effect correlation (Bibaut et al. 2024). :meth:`ExperimentCorpus.te_covariance`
removes it by split halves (independent halves of each experiment: the cross-covariance has no
noise term) or by subtracting :math:`\\bar\\Xi` ("total").

This module works on plain tables; simulated corpora come from ``simrec.experiments_sim``.

References
----------
Athey, S., Chetty, R., Imbens, G. & Kang, H. (2019). The surrogate index: combining short-term
proxies to estimate long-term treatment effects more rapidly and precisely. NBER w26463.
Tripuraneni, N., Richardson, L., D'Amour, A., Soriano, J. & Yadlowsky, S. (2023). Choosing a proxy
metric from past experiments. arXiv:2309.07893.
Bibaut, A., Chou, W., Ejdemyr, S. & Kallus, N. (2024). Learning the covariance of treatment effects
across many weak experiments. KDD.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .._validation import as_rng, check_int
from ..errors import ConfigError, InvalidLogError
from .estimate import Estimate
from .experiments.ab import welch
from .experiments.data import as_treatment, check_arm_sizes
from .experiments.variance import small_data_threads
from .slices import find_slices

__all__ = ["ExperimentCorpus", "alignment_scores", "surrogate_index", "surrogate_validation", "optimal_proxy",
           "proxy_quality", "offline_online_report", "find_slices", "AlignmentScores"]


def _diff_and_cov(X: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Differences in means of the columns of ``X`` and their sampling covariance (ddof=1)."""
    a, b = X[t], X[~t]
    d = a.mean(0) - b.mean(0)
    ca = np.atleast_2d(np.cov(a, rowvar=False, ddof=1)) / a.shape[0]
    cb = np.atleast_2d(np.cov(b, rowvar=False, ddof=1)) / b.shape[0]
    return d, ca + cb


@dataclass
class ExperimentCorpus:
    """Many past experiments: estimated effects per metric, their noise and (optionally) the truth.

    Attributes
    ----------
    metrics : list of str
    estimates : ndarray (K, M)
        :math:`\\hat\\Delta_k` per metric.
    cov : ndarray (K, M, M)
        Within-experiment sampling covariance :math:`\\Xi_k` of ``estimates[k]``.
    n_units : ndarray (K,)
    split_a, split_b : ndarray (K, M), optional
        Effects estimated on two random halves of each experiment (noise-corrected covariances).
    true_effects, true_effect_se : ndarray (K, M), optional
        Known effects (simulation) and their standard errors.
    units : list of DataFrame, optional
        The per-unit tables (surrogate index, slices).
    info : DataFrame, optional
        One row per experiment (what was changed).
    """

    metrics: list[str]
    estimates: np.ndarray
    cov: np.ndarray
    n_units: np.ndarray
    split_a: np.ndarray | None = None
    split_b: np.ndarray | None = None
    true_effects: np.ndarray | None = None
    true_effect_se: np.ndarray | None = None
    units: list[pd.DataFrame] | None = None
    info: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        self.metrics = list(self.metrics)
        M = len(self.metrics)
        self.estimates = np.asarray(self.estimates, dtype=np.float64)
        K = self.estimates.shape[0]
        if self.estimates.shape != (K, M) or K < 2:
            raise InvalidLogError(f"`estimates` must have shape (K >= 2, {M}); got {self.estimates.shape}")
        self.cov = np.asarray(self.cov, dtype=np.float64)
        if self.cov.shape != (K, M, M):
            raise InvalidLogError(f"`cov` must have shape ({K}, {M}, {M}); got {self.cov.shape}")
        for nm in ("split_a", "split_b", "true_effects", "true_effect_se"):
            v = getattr(self, nm)
            if v is not None:
                v = np.asarray(v, dtype=np.float64)
                if v.shape != (K, M):
                    raise InvalidLogError(f"`{nm}` must have shape ({K}, {M}); got {v.shape}")
                setattr(self, nm, v)
        if not np.isfinite(self.estimates).all():
            raise InvalidLogError("`estimates` must be finite")

    # -- construction -------------------------------------------------------------------------------
    @classmethod
    def from_unit_tables(cls, tables: list[pd.DataFrame], metrics: list[str], *, treatment: str = "treatment",
                         true_effects: Any = None, true_effect_se: Any = None, info: pd.DataFrame | None = None,
                         random_state: int | np.random.Generator | None = 0, keep_units: bool = True
                         ) -> ExperimentCorpus:
        """Build from one per-unit table per experiment (columns ``treatment`` and ``metrics``)."""
        if len(tables) < 2:
            raise InvalidLogError(f"a corpus needs at least 2 experiments; got {len(tables)}")
        rng = as_rng(random_state)
        est, cov, sa, sb, n = [], [], [], [], []
        for k, df in enumerate(tables):
            missing = [c for c in [treatment, *metrics] if c not in df.columns]
            if missing:
                raise InvalidLogError(f"experiment {k}: columns {missing} are missing")
            t = as_treatment(df[treatment].to_numpy(), f"tables[{k}].{treatment}")
            check_arm_sizes(t, 4)
            X = df[list(metrics)].to_numpy(dtype=np.float64)
            if not np.isfinite(X).all():
                raise InvalidLogError(f"experiment {k}: metrics must be finite")
            d, c = _diff_and_cov(X, t)
            half = np.empty(t.size, bool)
            for m in (t, ~t):  # split each arm in two random halves
                idx = np.flatnonzero(m)
                half[idx] = rng.permutation(idx.size) < idx.size // 2
            da, _ = _diff_and_cov(X[half], t[half])
            db, _ = _diff_and_cov(X[~half], t[~half])
            est.append(d)
            cov.append(c)
            sa.append(da)
            sb.append(db)
            n.append(t.size)
        return cls(list(metrics), np.array(est), np.array(cov), np.array(n), np.array(sa), np.array(sb),
                   None if true_effects is None else np.asarray(true_effects),
                   None if true_effect_se is None else np.asarray(true_effect_se),
                   list(tables) if keep_units else None, info)

    # -- accessors --------------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.estimates.shape[0])

    def index(self, metric: str) -> int:
        """Column of ``metric``."""
        if metric not in self.metrics:
            raise ConfigError(f"unknown metric {metric!r}; the corpus has {', '.join(self.metrics)}")
        return self.metrics.index(metric)

    @property
    def stderr(self) -> np.ndarray:
        """(K, M) standard errors of the estimates."""
        return np.sqrt(np.einsum("kmm->km", self.cov))

    @property
    def z(self) -> np.ndarray:
        """(K, M) z-statistics."""
        return self.estimates / self.stderr

    def te_covariance(self, method: str = "split") -> np.ndarray:
        """Estimated covariance :math:`\\Lambda` of the latent effects across experiments.

        ``naive``: :math:`\\mathrm{Cov}_k(\\hat\\Delta_k)` (biased by the within-experiment noise);
        ``total``: :math:`\\mathrm{Cov}_k(\\hat\\Delta_k) - \\bar\\Xi`; ``split``: the symmetrised
        cross-covariance of the two half-sample estimates (each half has half the units, the noise of
        the halves is independent, so the cross term has no noise part); ``true``: of the known
        effects.
        """
        if method == "naive":
            return np.atleast_2d(np.cov(self.estimates, rowvar=False))
        if method == "total":
            return np.atleast_2d(np.cov(self.estimates, rowvar=False)) - self.cov.mean(0)
        if method == "split":
            if self.split_a is None or self.split_b is None:
                raise ConfigError("the corpus has no split-half estimates; build it with from_unit_tables")
            a = self.split_a - self.split_a.mean(0)
            b = self.split_b - self.split_b.mean(0)
            c = a.T @ b / (len(self) - 1)
            return (c + c.T) / 2
        if method == "true":
            if self.true_effects is None:
                raise ConfigError("the corpus carries no true effects")
            return np.atleast_2d(np.cov(self.true_effects, rowvar=False))
        raise ConfigError(f"`method` must be 'naive', 'total', 'split' or 'true'; got {method!r}")

    def to_frame(self) -> pd.DataFrame:
        """One row per (experiment, metric): estimate, stderr, z and the truth when known."""
        K, M = self.estimates.shape
        df = pd.DataFrame({"experiment": np.repeat(np.arange(K), M), "metric": np.tile(self.metrics, K),
                           "estimate": self.estimates.ravel(), "stderr": self.stderr.ravel()})
        if self.true_effects is not None:
            df["true_effect"] = self.true_effects.ravel()
        return df

    def __repr__(self) -> str:
        return (f"ExperimentCorpus(K={len(self)}, metrics={self.metrics}, "
                f"truth={'yes' if self.true_effects is not None else 'no'})")


# -- proxies given as a metric name or a weighted composite ----------------------------------------------
def _weights(corpus: ExperimentCorpus, proxy: str | dict[str, float] | np.ndarray) -> np.ndarray:
    M = len(corpus.metrics)
    if isinstance(proxy, str):
        w = np.zeros(M)
        w[corpus.index(proxy)] = 1.0
        return w
    if isinstance(proxy, dict):
        w = np.zeros(M)
        for k, v in proxy.items():
            w[corpus.index(k)] = float(v)
        return w
    w = np.asarray(proxy, dtype=np.float64)
    if w.shape != (M,):
        raise ConfigError(f"proxy weights must have one entry per metric ({M}); got shape {w.shape}")
    return w


def _series(corpus: ExperimentCorpus, w: np.ndarray) -> dict[str, np.ndarray | None]:
    est = corpus.estimates @ w
    se = np.sqrt(np.einsum("i,kij,j->k", w, corpus.cov, w))
    return {"est": est, "se": se, "a": None if corpus.split_a is None else corpus.split_a @ w,
            "b": None if corpus.split_b is None else corpus.split_b @ w,
            "true": None if corpus.true_effects is None else corpus.true_effects @ w}


def _latent_corr(lam: np.ndarray) -> float:
    if lam[0, 0] <= 0 or lam[1, 1] <= 0:
        return float("nan")
    return float(np.clip(lam[0, 1] / np.sqrt(lam[0, 0] * lam[1, 1]), -1, 1))


@dataclass(frozen=True)
class AlignmentScores:
    """How well a proxy metric tracks the north star across a corpus (see :func:`alignment_scores`)."""

    proxy: str
    north_star: str
    n_experiments: int
    n_significant: int
    directional_accuracy: float
    directional_accuracy_true: float
    decision_agreement: float
    launch_precision: float
    launch_recall: float
    harmful_launch_rate: float
    proxy_score: float
    sensitivity: float
    te_correlation_naive: float
    te_correlation: float
    te_correlation_true: float
    kendall_tau: float
    kendall_tau_true: float
    top1_regret: float
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "extra"}
        return {**d, **self.extra}


def _nan_mean(x: np.ndarray) -> float:
    return float(x.mean()) if x.size else float("nan")


def alignment_scores(corpus: ExperimentCorpus, proxy: str | dict[str, float] | np.ndarray, north_star: str, *,
                     alpha: float = 0.05, method: str = "split") -> AlignmentScores:
    """Alignment of a proxy metric (or weighted composite) with the north-star metric.

    With :math:`z` the z-statistics, :math:`\\sigma_k = |z_k| > z_{1-\\alpha/2}` significance and
    the launch rule :math:`L = 1[z > z_{1-\\alpha}]`:

    * ``directional_accuracy``: :math:`\\mathrm{mean}_{k:\\sigma^Y_k} 1[\\mathrm{sign}\\,\\hat\\Delta^p_k =
      \\mathrm{sign}\\,\\hat\\Delta^Y_k]`; ``directional_accuracy_true``: the same over all experiments
      against the true :math:`\\mathrm{sign}\\,\\Delta^Y_k`;
    * ``decision_agreement``: share of experiments with the same 3-way outcome (sig+, flat, sig-);
      ``launch_precision`` / ``launch_recall`` of :math:`L(p)` against :math:`L(Y)`;
      ``harmful_launch_rate``: share of the proxy's launches whose true north-star effect is < 0;
    * ``proxy_score``: :math:`[\\#(\\sigma^p\\sigma^Y \\text{ same sign}) - \\#(\\sigma^p\\sigma^Y
      \\text{ opposite})] / \\#\\sigma^Y`; ``sensitivity``: share of experiments where the proxy is
      significant;
    * ``te_correlation_naive``: :math:`\\mathrm{corr}_k(\\hat\\Delta^p, \\hat\\Delta^Y)` (mixes in the
      unit-level noise correlation); ``te_correlation``: noise-corrected
      :math:`\\hat\\Lambda_{pY}/\\sqrt{\\hat\\Lambda_{pp}\\hat\\Lambda_{YY}}` (``method``);
      ``te_correlation_true``: of the true effects;
    * ``kendall_tau`` (``_true``): Kendall :math:`\\tau_b` of the proxy's effects with the estimated
      (true) north-star effects;
    * ``top1_regret``: true (else estimated) north-star effect of the best experiment minus that of
      the experiment the proxy ranks first.

    NaN where a score is undefined (no significant north-star effect, no truth).
    """
    w, wy = _weights(corpus, proxy), _weights(corpus, north_star)
    p, y = _series(corpus, w), _series(corpus, wy)
    za = stats.norm.isf(alpha / 2)
    z1 = stats.norm.isf(alpha)
    zp, zy = p["est"] / p["se"], y["est"] / y["se"]
    sp, sy = np.abs(zp) > za, np.abs(zy) > za
    same = np.sign(p["est"]) == np.sign(y["est"])
    cat_p, cat_y = np.sign(zp) * sp, np.sign(zy) * sy
    lp, ly = zp > z1, zy > z1
    truth = y["true"]
    if truth is not None:
        nz = truth != 0
        da_true = _nan_mean((np.sign(p["est"]) == np.sign(truth))[nz])
        harmful = _nan_mean((truth < 0)[lp]) if lp.any() else 0.0
        tau_true = float(stats.kendalltau(p["est"], truth).statistic)
        target = truth
    else:
        da_true = harmful = tau_true = float("nan")
        target = y["est"]
    if method == "split" and corpus.split_a is None:
        method = "total"
    if method not in ("split", "total"):
        raise ConfigError(f"`method` must be 'split' or 'total'; got {method!r}")
    W = np.column_stack([w, wy])
    lam = W.T @ corpus.te_covariance(method) @ W  # the latent-effect covariance of (proxy, north star)
    te_true = float(np.corrcoef(p["true"], truth)[0, 1]) if truth is not None else float("nan")
    name = proxy if isinstance(proxy, str) else "composite"
    return AlignmentScores(
        proxy=name, north_star=north_star, n_experiments=len(corpus), n_significant=int(sy.sum()),
        directional_accuracy=_nan_mean(same[sy]), directional_accuracy_true=da_true,
        decision_agreement=float((cat_p == cat_y).mean()),
        launch_precision=_nan_mean(ly[lp]), launch_recall=_nan_mean(lp[ly]), harmful_launch_rate=harmful,
        proxy_score=float(((sp & sy & same).sum() - (sp & sy & ~same).sum()) / sy.sum()) if sy.any() else float("nan"),
        sensitivity=float(sp.mean()),
        te_correlation_naive=float(np.corrcoef(p["est"], y["est"])[0, 1]), te_correlation=_latent_corr(lam),
        te_correlation_true=te_true, kendall_tau=float(stats.kendalltau(p["est"], y["est"]).statistic),
        kendall_tau_true=tau_true, top1_regret=float(target.max() - target[int(np.argmax(p["est"]))]),
        extra={"method": method})


# -- surrogate index ---------------------------------------------------------------------------------------
def _xy(df: pd.DataFrame, cols: list[str], what: str) -> np.ndarray:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise InvalidLogError(f"{what}: columns {missing} are missing; columns: {', '.join(map(str, df.columns))}")
    X = df[cols].to_numpy(dtype=np.float64)
    if not np.isfinite(X).all():
        raise InvalidLogError(f"{what}: columns {cols} must be finite")
    return X


def _welch_of(pred: np.ndarray, t: np.ndarray, alpha: float) -> dict[str, float]:
    """Welch's difference in means of the predicted long-term outcome between the arms."""
    a, b = pred[t], pred[~t]
    return welch(float(a.mean()), float(a.var(ddof=1)), a.size, float(b.mean()), float(b.var(ddof=1)), b.size,
                 alpha=alpha)


def _default_model(random_state: int = 0) -> Any:
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(max_iter=100, random_state=random_state)


def surrogate_index(train: pd.DataFrame, experiment: pd.DataFrame, surrogates: list[str], outcome: str, *,
                    treatment: str = "treatment", covariates: list[str] | tuple[str, ...] = (), model: Any = None,
                    alpha: float = 0.05, name: str = "surrogate-index") -> Estimate:
    """Long-term effect from short-term surrogates (Athey, Chetty, Imbens & Kang 2019).

    Fit :math:`h(s, x) = E[Y | S = s, X = x]` on ``train`` (historical or observational units where
    the long-term ``outcome`` is observed), predict it for the experiment's units and take the
    difference in means:

    .. math::

        \\hat\\tau_{SI} = \\overline{h(S, X)}_{T=1} - \\overline{h(S, X)}_{T=0}

    (Welch interval; ``h`` is treated as fixed, which holds when ``train`` is independent of the
    experiment). Valid under *surrogacy* (the treatment affects Y only through S:
    :math:`T \\perp Y \\mid S, X`) and *comparability* (the same :math:`Y \\mid S, X` in both samples);
    :func:`surrogate_validation` tests it on a corpus with known long-term effects.

    Put the unit's pre-treatment history (e.g. its activity in a pre-period) in ``covariates``:
    surrogacy is conditional on it. Units of different types reach the same ``s`` by different
    routes, and a treatment changes which types do, so an index without them is biased even when
    the treatment acts only through ``s`` (in simrec's ``clickbait`` world, first-session treatments
    scored with first-session metrics are unbiased given ``pre_clicks`` and ``pre_sessions``).

    Parameters
    ----------
    model : scikit-learn regressor, optional
        Default ``HistGradientBoostingRegressor(max_iter=100)``.
    """
    from sklearn.base import clone as sk_clone

    cols = list(surrogates) + list(covariates)
    Xtr = _xy(train, cols, "train")
    ytr = _xy(train, [outcome], "train")[:, 0]
    Xex = _xy(experiment, cols, "experiment")
    if treatment not in experiment.columns:
        raise InvalidLogError(f"experiment: the treatment column {treatment!r} is missing")
    t = as_treatment(experiment[treatment].to_numpy())
    check_arm_sizes(t)
    with small_data_threads(len(Xtr)):
        h = sk_clone(model if model is not None else _default_model()).fit(Xtr, ytr)
    w = _welch_of(h.predict(Xex), t, alpha)
    return Estimate(value=w["diff"], stderr=w["se"], ci=(w["ci_low"], w["ci_high"]), n=int(t.size),
                    ess=float(t.size), diagnostics={"p_value": w["p_value"], "df": w["df"],
                                                    "surrogates": list(surrogates)},
                    name=name, alpha=alpha, ci_method="welch-t")


@dataclass(frozen=True)
class SurrogateValidation:
    """Surrogate-index estimates over a corpus against the long-term effects (see :func:`surrogate_validation`)."""

    table: pd.DataFrame
    bias: float
    bias_z: float
    slope: float
    slope_se: float
    coverage: float
    flagged: bool


def surrogate_validation(corpus: ExperimentCorpus, surrogates: list[str], outcome: str, *,
                         covariates: list[str] | tuple[str, ...] = (), treatment: str = "treatment",
                         model: Any = None, n_folds: int = 5, alpha: float = 0.05, train_arm: str = "both",
                         random_state: int | np.random.Generator | None = 0) -> SurrogateValidation:
    """Check the surrogate index on a corpus: each experiment's :math:`\\hat\\tau_{SI}` (``h`` fit on the
    units of the experiments in other folds) against its long-term effect (the truth when the corpus
    has it, else the direct estimate).

    Reports the mean bias and its z-statistic (:math:`\\bar e / (s_e/\\sqrt K)`, :math:`e_k =
    \\hat\\tau_{SI,k} - \\tau_k`), the calibration slope of :math:`\\hat\\tau_{SI}` on :math:`\\tau`
    (1 when calibrated) and the coverage of :math:`\\tau_k` by the SI intervals. ``flagged`` is set
    when surrogacy looks violated: :math:`|z_{bias}| > 3` or the slope is more than 3 standard errors
    from 1. ``train_arm="control"`` fits ``h`` on the control units only (the status-quo traffic an
    index is usually trained on); ``"both"`` on every unit of the other folds.
    """
    if train_arm not in ("both", "control"):
        raise ConfigError(f"`train_arm` must be 'both' or 'control'; got {train_arm!r}")
    if corpus.units is None:
        raise ConfigError("surrogate validation needs the corpus' per-unit tables (keep_units=True)")
    K = len(corpus)
    k = check_int(n_folds, name="n_folds", minimum=2)
    rng = as_rng(random_state)
    fold = rng.permutation(K) % min(k, K)
    j = corpus.index(outcome)
    target = corpus.true_effects[:, j] if corpus.true_effects is not None else corpus.estimates[:, j]
    direct_se = corpus.stderr[:, j]
    rows = []
    for f in np.unique(fold):
        train = pd.concat([corpus.units[i] for i in np.flatnonzero(fold != f)], ignore_index=True)
        if train_arm == "control":
            train = train[train[treatment].to_numpy() == 0]
        from sklearn.base import clone as sk_clone

        cols = list(surrogates) + list(covariates)
        with small_data_threads(len(train)):
            h = sk_clone(model if model is not None else _default_model()).fit(_xy(train, cols, "train"),
                                                                               train[outcome].to_numpy(float))
        for i in np.flatnonzero(fold == f):
            df = corpus.units[i]
            t = as_treatment(df[treatment].to_numpy())
            w = _welch_of(h.predict(_xy(df, cols, f"experiment {i}")), t, alpha)
            rows.append({"experiment": int(i), "si_estimate": w["diff"], "si_stderr": w["se"],
                         "si_ci_low": w["ci_low"], "si_ci_high": w["ci_high"],
                         "direct_estimate": corpus.estimates[i, j], "direct_stderr": float(direct_se[i]),
                         "target": float(target[i])})
    tab = pd.DataFrame(rows).sort_values("experiment").reset_index(drop=True)
    e = tab["si_estimate"].to_numpy() - tab["target"].to_numpy()
    bias = float(e.mean())
    bias_z = bias / (e.std(ddof=1) / np.sqrt(K)) if e.std(ddof=1) > 0 else 0.0
    x = tab["target"].to_numpy()
    X = np.column_stack([np.ones(K), x])
    beta, *_ = np.linalg.lstsq(X, tab["si_estimate"].to_numpy(), rcond=None)
    resid = tab["si_estimate"].to_numpy() - X @ beta
    s2 = float(resid @ resid) / max(K - 2, 1)
    slope_se = float(np.sqrt(s2 * np.linalg.inv(X.T @ X)[1, 1]))
    cover = float(((tab["si_ci_low"] <= x) & (x <= tab["si_ci_high"])).mean())
    flagged = bool(abs(bias_z) > 3 or abs(beta[1] - 1) > 3 * slope_se)
    return SurrogateValidation(tab, bias, float(bias_z), float(beta[1]), slope_se, cover, flagged)


# -- optimal proxy (Tripuraneni et al. 2023) ---------------------------------------------------------------
def _psd(a: np.ndarray) -> np.ndarray:
    a = (a + a.T) / 2
    vals, vecs = np.linalg.eigh(a)
    return (vecs * np.clip(vals, 0, None)) @ vecs.T


def _quality_parts(corpus: ExperimentCorpus, proxies: list[str], north_star: str, method: str
                   ) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    idx = [corpus.index(m) for m in proxies]
    j = corpus.index(north_star)
    # the joint (proxies + north star) covariance projected on the PSD cone, so that Q <= 1 holds
    sub = _psd(corpus.te_covariance(method)[np.ix_(idx + [j], idx + [j])])
    lam_ss, lam_sy, lam_yy = sub[:-1, :-1], sub[:-1, -1], float(sub[-1, -1])
    # per-unit noise covariance: Xi_k * n_k averaged (Xi(n) = sigma_unit / n for n total units)
    sigma = (corpus.cov * corpus.n_units[:, None, None]).mean(0)[np.ix_(idx, idx)]
    return lam_ss, lam_sy, lam_yy, sigma


def proxy_quality(corpus: ExperimentCorpus, weights: dict[str, float], north_star: str, n: float, *,
                  method: str = "split") -> float:
    """:math:`Q(w; n) = w'\\Lambda_{SY} / \\sqrt{\\Lambda_{YY}\\, w'(\\Lambda_{SS} + \\Sigma/n) w}`: the correlation
    of the proxy's *estimated* effect in an experiment of ``n`` units with the *latent* north-star effect."""
    proxies = list(weights)
    w = np.array([weights[m] for m in proxies], dtype=np.float64)
    return _quality(w, *_quality_parts(corpus, proxies, north_star, method), n)


def _quality(w: np.ndarray, lam_ss: np.ndarray, lam_sy: np.ndarray, lam_yy: float, sigma: np.ndarray,
             n: float) -> float:
    den = lam_yy * float(w @ (lam_ss + sigma / n) @ w)
    return float(w @ lam_sy / np.sqrt(den)) if den > 0 and lam_yy > 0 else float("nan")


@dataclass(frozen=True)
class ProxyResult:
    """Optimal proxy weights for experiments of ``n`` units and their quality."""

    weights: dict[str, float]
    quality: float
    single_quality: dict[str, float]
    n: float


def optimal_proxy(corpus: ExperimentCorpus, north_star: str, n: float, *, proxies: list[str] | None = None,
                  constraint: str = "none", method: str = "split") -> ProxyResult:
    """The linear proxy :math:`w' \\hat\\Delta_S` that best predicts the latent north-star effect in an
    experiment of ``n`` units (Tripuraneni, Richardson, D'Amour, Soriano & Yadlowsky 2023).

    Maximises the proxy quality :func:`proxy_quality`. Unconstrained, the maximiser is

    .. math::

        w^*(n) \\propto (\\Lambda_{SS} + \\Sigma/n)^{-1} \\Lambda_{SY}

    (``constraint="none"``); ``"nonnegative"`` and ``"simplex"`` (non-negative, summing to 1: a
    portfolio) are solved by SLSQP. :math:`\\Lambda` comes from :meth:`ExperimentCorpus.te_covariance`
    (``method``; projected on the positive semi-definite cone) and :math:`\\Sigma` is the per-unit
    noise covariance. Small experiments favour low-noise metrics; as ``n`` grows the weights move
    toward the metrics whose latent effects align with the north star. Weights are scaled to unit
    L1 norm. ``single_quality`` scores each proxy alone under the same :math:`\\Lambda` (the joint
    projection), so the unconstrained optimum is never below any of them.
    """
    from scipy import optimize

    props = list(proxies) if proxies is not None else [m for m in corpus.metrics if m != north_star]
    if not props:
        raise ConfigError("no proxy metrics to weigh")
    lam_ss, lam_sy, lam_yy, sigma = _quality_parts(corpus, props, north_star, method)
    A = lam_ss + sigma / float(n)
    if constraint == "none":
        w = np.linalg.solve(A + 1e-12 * np.trace(A) * np.eye(len(props)), lam_sy)
    elif constraint in ("nonnegative", "simplex"):
        def negq(w: np.ndarray) -> float:
            d = float(w @ A @ w)
            return -float(w @ lam_sy) / np.sqrt(d) if d > 0 else 0.0

        x0 = np.full(len(props), 1.0 / len(props))
        cons = [{"type": "eq", "fun": lambda w: w.sum() - 1.0}]
        res = optimize.minimize(negq, x0, method="SLSQP", bounds=[(0, None)] * len(props), constraints=cons)
        w = res.x
    else:
        raise ConfigError(f"`constraint` must be 'none', 'nonnegative' or 'simplex'; got {constraint!r}")
    w = w / np.abs(w).sum() if np.abs(w).sum() > 0 else w
    parts = (lam_ss, lam_sy, lam_yy, sigma, float(n))
    single = {m: _quality(np.eye(len(props))[i], *parts) for i, m in enumerate(props)}
    return ProxyResult(dict(zip(props, map(float, w))), _quality(w, *parts), single, float(n))


# -- offline vs online -------------------------------------------------------------------------------------
def offline_online_report(offline: pd.DataFrame, online: Any, *, higher_is_better: dict[str, bool] | None = None
                          ) -> pd.DataFrame:
    """How well each offline metric ranks candidate policies by their online (long-term) value.

    Parameters
    ----------
    offline : DataFrame
        One row per candidate policy (index: policy name), one column per offline metric (nDCG,
        recall@k, IPS, DR ...).
    online : array_like or Series
        The online value of each policy (same order / index), e.g. the simulated long-term outcome.
    higher_is_better : dict, optional
        Per offline metric; default True.

    Returns
    -------
    DataFrame
        One row per offline metric: ``kendall_tau`` (:math:`\\tau_b`), ``spearman``,
        ``pairwise_agreement`` (share of policy pairs ordered alike; ties count half),
        ``top1_regret`` (online value of the best policy minus that of the offline metric's choice)
        and ``offline_choice``.
    """
    on = pd.Series(online, index=offline.index) if not isinstance(online, pd.Series) else online.reindex(offline.index)
    v = on.to_numpy(dtype=np.float64)
    if len(offline) < 2 or not np.isfinite(v).all():
        raise InvalidLogError("`online` must hold a finite value for each of at least 2 policies")
    rows = []
    for col in offline.columns:
        x = offline[col].to_numpy(dtype=np.float64)
        if not np.isfinite(x).all():
            raise InvalidLogError(f"offline metric {col!r} has non-finite values")
        sign = 1.0 if (higher_is_better or {}).get(col, True) else -1.0
        xs = sign * x
        i, j = np.triu_indices(len(x), 1)
        agree = np.sign(xs[i] - xs[j]) * np.sign(v[i] - v[j])
        choice = int(np.argmax(xs))
        rows.append({"metric": col, "kendall_tau": float(stats.kendalltau(xs, v).statistic),
                     "spearman": float(stats.spearmanr(xs, v).statistic),
                     "pairwise_agreement": float(np.mean(np.where(agree == 0, 0.5, agree > 0))),
                     "top1_regret": float(v.max() - v[choice]), "offline_choice": offline.index[choice]})
    return pd.DataFrame(rows).set_index("metric")
