"""The answers a report opens with, computed from a results table (pure pandas, deterministic).

* **Which estimator to trust**, per estimand (``step``: one decision; ``episode``: a whole episode):
  the lowest RMSE among estimators whose interval coverage is not significantly below nominal
  (the upper end of a Wilson 95% interval for the coverage reaches ``1 - alpha``). The uncertainty
  of those figures across seeds is shown: a bootstrap over seeds of the RMSE, the Wilson interval
  of the coverage, and how often the same estimator is chosen when the seeds are resampled.
* **Which policy is best**, per world, among the policies that are not reference-only: online by
  the true value (mean over seeds, with its standard error across seeds), offline by the trusted
  estimator's mean estimate; the regret of deploying the offline pick; and, when the env has
  episodes, the best policy by the long-term (episode) value.
* **What went wrong**: estimators whose mean error is far from 0 (more than 3 standard errors and
  5% of the mean true value), intervals that under-cover, targets that put mass where the logging
  policy has no support (``logger_support_gap``: probability 0 under the logger, not merely
  unsampled), undefined and failed estimates.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ..sweeps.estimation import last_line
from . import summary

__all__ = ["wilson", "estimator_scores", "trusted_estimator", "best_policies", "problems", "answers",
           "BOOTSTRAP", "Z"]

BOOTSTRAP = 200
Z = 1.959964


def wilson(k: Any, n: Any, z: float = Z) -> tuple[Any, Any]:
    r"""Wilson score interval of a proportion ``k / n`` at normal quantile ``z``.

    :math:`\frac{\hat p + z^2/2n \pm z \sqrt{\hat p (1 - \hat p)/n + z^2/4n^2}}{1 + z^2/n}`, clipped to
    [0, 1] (Wilson, 1927). Scalars give floats, arrays give arrays; ``n == 0`` gives NaN.
    """
    kk, nn = np.asarray(k, dtype=np.float64), np.asarray(n, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = kk / nn
        d = 1 + z * z / nn
        c = (p + z * z / (2 * nn)) / d
        h = z * np.sqrt(p * (1 - p) / nn + z * z / (4 * nn * nn)) / d
    empty = nn <= 0
    lo = np.where(empty, np.nan, np.maximum(0.0, c - h))
    hi = np.where(empty, np.nan, np.minimum(1.0, c + h))
    if lo.ndim == 0:
        return float(lo), float(hi)
    return lo, hi


def _with_truth(df: pd.DataFrame) -> pd.DataFrame:
    """Rows with an estimate and the truth it is scored against (``truth_used``), ``estimand``
    filled in (``step`` where the table has none)."""
    if "estimate" not in df.columns or "truth" not in df.columns:
        return df.iloc[0:0].assign(truth_used=[], estimand=[])
    ok = summary.ok_rows(df)
    ok["estimand"] = ok["estimand"].fillna("step") if "estimand" in ok.columns else "step"
    return ok[ok["truth_used"].notna()]


def _covered(g: pd.DataFrame) -> np.ndarray:
    return ((g["ci_low"] <= g["truth_used"]) & (g["truth_used"] <= g["ci_high"])).to_numpy()


def _per_seed(ge: pd.DataFrame) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Estimators, seeds, and per (estimator, seed): sum of squared errors, count, covered count."""
    ests = list(dict.fromkeys(ge["estimator"]))
    seeds = np.array(sorted(ge["seed"].unique()))
    e_idx = pd.Categorical(ge["estimator"], categories=ests).codes
    s_idx = np.searchsorted(seeds, ge["seed"].to_numpy())
    err = (ge["estimate"] - ge["truth_used"]).to_numpy(dtype=np.float64)
    cov = _covered(ge).astype(np.float64)
    shape = (len(ests), seeds.size)
    sse, cnt, cvd = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    np.add.at(sse, (e_idx, s_idx), err ** 2)
    np.add.at(cnt, (e_idx, s_idx), 1.0)
    np.add.at(cvd, (e_idx, s_idx), cov)
    return ests, seeds, sse, cnt, cvd


def _choose(rmse: np.ndarray, acceptable: np.ndarray) -> tuple[int, bool]:
    """Index of the lowest RMSE among acceptable estimators (or overall), first on ties."""
    if acceptable.any():
        r = np.where(acceptable, rmse, np.inf)
        return int(np.argmin(r)), True
    return int(np.argmin(rmse)), False


def _acceptable(cvd: np.ndarray, cnt: np.ndarray, alpha: float) -> np.ndarray:
    return np.array([wilson(int(k), int(n))[1] >= 1 - alpha if n else False for k, n in zip(cvd, cnt)])


def estimator_scores(df: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Per (estimand, estimator): RMSE with a bootstrap-over-seeds 95% interval, mean error with
    its standard error, coverage with its Wilson interval, and whether coverage is acceptable."""
    ok = _with_truth(df)
    rows = []
    rng = np.random.default_rng(0)
    for estimand, ge in ok.groupby("estimand", sort=True):
        ests, seeds, sse, cnt, cvd = _per_seed(ge)
        draws = rng.integers(0, seeds.size, size=(BOOTSTRAP, seeds.size))
        w = np.stack([np.bincount(d, minlength=seeds.size) for d in draws])  # (B, seeds) multiplicities
        with np.errstate(invalid="ignore", divide="ignore"):
            boot = np.sqrt((w @ sse.T) / (w @ cnt.T))  # (B, estimators)
        for i, est in enumerate(ests):
            g = ge[ge["estimator"] == est]
            err = (g["estimate"] - g["truth_used"]).to_numpy()
            k, n = int(cvd[i].sum()), int(cnt[i].sum())
            lo, hi = wilson(k, n)
            b = boot[:, i][np.isfinite(boot[:, i])]
            rows.append({
                "estimand": estimand, "estimator": est, "rmse": float(np.sqrt(sse[i].sum() / n)),
                "rmse_low": float(np.percentile(b, 2.5)) if b.size else float("nan"),
                "rmse_high": float(np.percentile(b, 97.5)) if b.size else float("nan"),
                "bias": float(err.mean()),
                "bias_se": float(err.std(ddof=1) / math.sqrt(err.size)) if err.size > 1 else float("nan"),
                "coverage": k / n, "coverage_low": lo, "coverage_high": hi, "estimates": n,
                "seeds": int(g["seed"].nunique()), "acceptable": bool(hi >= 1 - alpha),
            })
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    out["rank"] = out.groupby("estimand")["rmse"].rank(method="min").astype(int)
    return out.sort_values(["estimand", "rmse"], kind="mergesort").reset_index(drop=True)


def trusted_estimator(df: pd.DataFrame, alpha: float = 0.05, scores: pd.DataFrame | None = None
                      ) -> dict[str, dict[str, Any]]:
    """Per estimand: the estimator to trust (lowest RMSE among those with acceptable coverage, else
    lowest RMSE), its scores, whether its coverage is acceptable, and ``stability``: the share of
    bootstrap resamples of the seeds in which the same estimator is chosen. ``scores``: the
    :func:`estimator_scores` of ``df`` at ``alpha`` when already computed."""
    scores = estimator_scores(df, alpha) if scores is None else scores
    ok = _with_truth(df)
    out: dict[str, dict[str, Any]] = {}
    rng = np.random.default_rng(1)
    for estimand, ge in ok.groupby("estimand", sort=True):
        ests, seeds, sse, cnt, cvd = _per_seed(ge)
        rmse = np.sqrt(sse.sum(1) / cnt.sum(1))
        i, acceptable = _choose(rmse, _acceptable(cvd.sum(1), cnt.sum(1), alpha))
        same = 0
        for _ in range(BOOTSTRAP):
            w = np.bincount(rng.integers(0, seeds.size, seeds.size), minlength=seeds.size)
            n_b = cnt @ w
            with np.errstate(invalid="ignore", divide="ignore"):
                r_b = np.where(n_b > 0, np.sqrt((sse @ w) / n_b), np.inf)
            same += _choose(r_b, _acceptable(cvd @ w, n_b, alpha))[0] == i
        sc = scores[(scores["estimand"] == estimand) & (scores["estimator"] == ests[i])].iloc[0].to_dict()
        out[str(estimand)] = {**sc, "acceptable": acceptable, "stability": same / BOOTSTRAP}
    return out


def best_policies(df: pd.DataFrame, trusted: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Per world (and estimand): the best policy online (true value) and offline (the trusted
    estimator), with uncertainty, and the regret of deploying the offline pick."""
    ok = summary.not_reference(_with_truth(df))
    out = []
    for (world, estimand), g in ok.groupby(["world", "estimand"], sort=False):
        one = g.drop_duplicates(["run_id", "policy"])
        val = "episode_value" if estimand == "episode" else "truth"
        truth = one.groupby("policy", sort=False)[val]
        mean = truth.mean()
        se = truth.std(ddof=1).fillna(0.0) / np.sqrt(truth.count())
        if mean.empty:
            continue
        best = str(mean.idxmax())
        runner = mean.drop(best).max() if len(mean) > 1 else float("nan")
        rec: dict[str, Any] = {"world": world, "estimand": estimand, "online_best": best,
                               "online_value": float(mean[best]), "online_se": float(se[best]),
                               "online_margin": float(mean[best] - runner) if len(mean) > 1 else float("nan"),
                               "policies": int(len(mean))}
        t = trusted.get(str(estimand))
        if t is not None:
            ge = g[g["estimator"] == t["estimator"]]
            est = ge.groupby("policy", sort=False)
            m = est["estimate"].mean()
            s = np.sqrt(est["stderr"].apply(lambda x: float((x ** 2).sum()))) / est["estimate"].count()
            if not m.empty:
                pick = str(m.idxmax())
                rec.update(estimator=t["estimator"], offline_best=pick, offline_value=float(m[pick]),
                           offline_se=float(s[pick]), agree=pick == best,
                           regret=float(mean[best] - mean.get(pick, np.nan)))
        out.append(rec)
    have = {(r["world"], r["estimand"]) for r in out}
    if "episode_value" in ok.columns:  # the long term, where no sequential estimator ran: online only
        for world, g in ok.groupby("world", sort=False):
            if (world, "episode") in have or g["episode_value"].isna().all():
                continue
            one = g.drop_duplicates(["run_id", "policy"])
            v = one.groupby("policy", sort=False)["episode_value"]
            mean, se = v.mean(), v.std(ddof=1).fillna(0.0) / np.sqrt(v.count())
            best = str(mean.idxmax())
            rec = {"world": world, "estimand": "episode", "online_best": best, "online_value": float(mean[best]),
                   "online_se": float(se[best]), "policies": int(len(mean)),
                   "online_margin": float(mean[best] - mean.drop(best).max()) if len(mean) > 1 else float("nan")}
            if "outcome_retained" in one.columns and one["outcome_retained"].notna().any():
                r = one.groupby("policy", sort=False)["outcome_retained"]
                rm, rse = r.mean(), r.std(ddof=1).fillna(0.0) / np.sqrt(r.count())
                kept = str(rm.idxmax())
                rec.update(retained_best=kept, retained_value=float(rm[kept]), retained_se=float(rse[kept]))
            out.append(rec)
    return out


def problems(df: pd.DataFrame, alpha: float = 0.05, scores: pd.DataFrame | None = None) -> list[str]:
    """Plain sentences on what went wrong (empty when nothing is flagged). ``scores``: the
    :func:`estimator_scores` of ``df`` at ``alpha`` when already computed."""
    msgs = []
    scores = estimator_scores(df, alpha) if scores is None else scores
    ok = _with_truth(df)
    for _, r in scores.iterrows():
        scale = abs(ok[ok["estimand"] == r["estimand"]]["truth_used"].mean()) or 1.0
        if np.isfinite(r["bias_se"]) and abs(r["bias"]) > 3 * r["bias_se"] and abs(r["bias"]) > 0.05 * scale:
            msgs.append(f"{r['estimator']} is far off ({r['estimand']} value): mean error {r['bias']:+.4g} "
                        f"(standard error {r['bias_se']:.2g}, {abs(r['bias']) / scale:.0%} of the mean true value)")
        if not r["acceptable"]:
            msgs.append(f"{r['estimator']}'s intervals under-cover: {r['coverage']:.0%} of {r['estimates']} "
                        f"(Wilson 95% {r['coverage_low']:.2f}-{r['coverage_high']:.2f}) against "
                        f"{1 - alpha:.0%} nominal")
    if "logger_support_gap" in df.columns:
        gap = df.drop_duplicates(["run_id", "policy"]).groupby("policy", sort=False)["logger_support_gap"].mean()
        for p, v in gap.items():
            if np.isfinite(v) and v > 0.01:
                msgs.append(f"no overlap: target {p} puts {v:.0%} of its probability on actions the logging policy "
                            "never takes; weighting estimators cannot see that part of its value")
    for status in ("undefined", "failed"):
        bad = df[df["status"] == status]
        if len(bad):
            first = last_line(bad["error_message"].iloc[0]) if "error_message" in bad.columns else ""
            msgs.append(f"{len(bad)} estimate(s) {status} (e.g. {bad['estimator'].iloc[0]} for "
                        f"{bad['policy'].iloc[0]}: {first})")
    return msgs


def answers(df: pd.DataFrame, alpha: float = 0.05) -> dict[str, Any]:
    """Everything the report's first section states (the estimator scores computed once)."""
    scores = estimator_scores(df, alpha)
    trusted = trusted_estimator(df, alpha, scores)
    return {"trusted": trusted, "best": best_policies(df, trusted), "problems": problems(df, alpha, scores),
            "scores": scores}
