"""Tables a report is made of, computed from a sweep's results table (pure pandas, deterministic).

A *setting* is one (world, logging policy, log size): the seeds of a setting are replicates, so
bias, RMSE and coverage are computed over them. ``truth`` is the exact value of the target policy
(enumeration over the population); ``truth_rollout`` the simulator-rollout value with its standard
error ``truth_rollout_se``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["SETTING", "ok_rows", "settings", "estimates_table", "error_table", "ranking_table",
           "rank_agreement", "diagnostics_table", "failures_table", "truth_table"]

SETTING = ["world", "logging_policy", "n_log"]


def ok_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Rows with a finished estimate."""
    if "estimate" not in df.columns:
        return df.iloc[0:0]
    return df[(df["status"] == "ok") & df["estimate"].notna()]


def _order(values: pd.Series, preferred: list[str] | None) -> list[Any]:
    seen = list(dict.fromkeys(values.dropna().tolist()))
    if preferred:
        return [v for v in preferred if v in seen] + [v for v in seen if v not in preferred]
    return seen


def settings(df: pd.DataFrame) -> list[tuple[Any, ...]]:
    """The (world, logging policy, log size) settings, in table order."""
    ok = ok_rows(df)
    return list(dict.fromkeys(ok[SETTING].itertuples(index=False, name=None)))


def _select(df: pd.DataFrame, setting: tuple[Any, ...]) -> pd.DataFrame:
    m = np.ones(len(df), dtype=bool)
    for col, v in zip(SETTING, setting):
        m &= (df[col] == v).to_numpy()
    return df[m]


def truth_table(df: pd.DataFrame, setting: tuple[Any, ...], policies: list[str] | None = None) -> pd.DataFrame:
    """Per target policy: exact truth and rollout truth +- se (averaged over seeds)."""
    ok = _select(ok_rows(df), setting)
    one = ok.drop_duplicates(["run_id", "policy"])
    rows = []
    for p in _order(one["policy"], policies):
        g = one[one["policy"] == p]
        k = len(g)
        rows.append({"policy": p, "truth": g["truth"].mean(), "truth_rollout": g["truth_rollout"].mean(),
                     "truth_rollout_se": math.sqrt((g["truth_rollout_se"] ** 2).sum()) / k, "seeds": k})
    return pd.DataFrame(rows)


def _policy_estimator_groups(df: pd.DataFrame, setting: tuple[Any, ...], policies: list[str] | None,
                             estimators: list[str] | None):
    """The successful rows of ``setting``, grouped by (policy, estimator) in report order."""
    ok = _select(ok_rows(df), setting)
    for p in _order(ok["policy"], policies):
        gp = ok[ok["policy"] == p]
        for e in _order(gp["estimator"], estimators):
            yield p, e, gp[gp["estimator"] == e]


def estimates_table(df: pd.DataFrame, setting: tuple[Any, ...], policies: list[str] | None = None,
                    estimators: list[str] | None = None) -> pd.DataFrame:
    """Per (policy, estimator): mean truth, mean estimate, mean interval, bias, RMSE, coverage."""
    rows = []
    for p, e, g in _policy_estimator_groups(df, setting, policies, estimators):
        rows.append({
            "policy": p, "estimator": e, "truth": g["truth"].mean(), "estimate": g["estimate"].mean(),
            "ci_low": g["ci_low"].mean(), "ci_high": g["ci_high"].mean(), "bias": g["error"].mean(),
            "rmse": math.sqrt(g["squared_error"].mean()), "coverage": g["covered"].astype(float).mean(),
            "seeds": len(g),
        })
    return pd.DataFrame(rows)


def error_table(df: pd.DataFrame, estimators: list[str] | None = None) -> pd.DataFrame:
    """Per (setting, estimator), over target policies and seeds: bias, |bias|, RMSE, coverage, CI width."""
    ok = ok_rows(df)
    rows = []
    for s in settings(df):
        g0 = _select(ok, s)
        for e in _order(g0["estimator"], estimators):
            g = g0[g0["estimator"] == e]
            bias_pp = g.groupby("policy", sort=False)["error"].mean()
            rows.append({
                **dict(zip(SETTING, s)), "estimator": e, "bias": g["error"].mean(),
                "mean_abs_bias": bias_pp.abs().mean(), "rmse": math.sqrt(g["squared_error"].mean()),
                "coverage": g["covered"].astype(float).mean(), "ci_width": g["ci_width"].mean(), "estimates": len(g),
            })
    return pd.DataFrame(rows)


def _kendall(a: np.ndarray, b: np.ndarray) -> float:
    """Kendall's tau-b (ties accounted for); NaN when either side is constant. O(n^2): n is small."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.size < 2:
        return float("nan")
    iu = np.triu_indices(a.size, k=1)
    da = np.sign(a[:, None] - a[None, :])[iu]
    db = np.sign(b[:, None] - b[None, :])[iu]
    denom = np.sqrt(np.count_nonzero(da) * np.count_nonzero(db))
    return float((da * db).sum() / denom) if denom > 0 else float("nan")


def ranking_table(df: pd.DataFrame, setting: tuple[Any, ...], policies: list[str] | None = None,
                  estimators: list[str] | None = None) -> pd.DataFrame:
    """Rank of every target policy online (by truth) and offline (by each estimator's mean estimate);
    rank 1 is the best."""
    est = estimates_table(df, setting, policies, estimators)
    if est.empty:
        return est
    truth = est.drop_duplicates("policy").set_index("policy")["truth"]
    out = pd.DataFrame({"policy": truth.index, "truth": truth.to_numpy()})
    out["online"] = truth.rank(ascending=False, method="min").astype(int).to_numpy()
    for e in _order(est["estimator"], estimators):
        v = est[est["estimator"] == e].set_index("policy")["estimate"].reindex(truth.index)
        out[e] = v.rank(ascending=False, method="min").astype("Int64").to_numpy()
    return out.sort_values(["online", "policy"], kind="mergesort").reset_index(drop=True)


def rank_agreement(df: pd.DataFrame, setting: tuple[Any, ...], estimators: list[str] | None = None) -> pd.DataFrame:
    """Per estimator: Kendall tau between offline and online values (per seed, averaged), and the
    regret of picking the offline winner: truth(best) - truth(offline winner), averaged over seeds."""
    ok = _select(ok_rows(df), setting)
    rows = []
    for e in _order(ok["estimator"], estimators):
        g = ok[ok["estimator"] == e]
        taus, regrets = [], []
        for _, r in g.groupby("run_id", sort=True):
            if len(r) < 2:
                continue
            taus.append(_kendall(r["estimate"].to_numpy(), r["truth"].to_numpy()))
            best = r["truth"].max()
            pick = r.iloc[int(np.argmax(r["estimate"].to_numpy()))]["truth"]
            regrets.append(best - pick)
        rows.append({"estimator": e, "kendall_tau": float(np.nanmean(taus)) if taus and not np.all(np.isnan(taus))
                     else float("nan"), "regret_at_1": float(np.mean(regrets)) if regrets else float("nan"),
                     "runs": len(regrets)})
    return pd.DataFrame(rows)


def diagnostics_table(df: pd.DataFrame, setting: tuple[Any, ...], policies: list[str] | None = None,
                      estimators: list[str] | None = None) -> pd.DataFrame:
    """Per (policy, estimator): mean ESS and ESS/n, largest weight, unsupported mass, warnings raised."""
    rows = []
    for p, e, g in _policy_estimator_groups(df, setting, policies, estimators):
        warns = sorted({w for s in g["warnings"].fillna("") for w in s.split(";") if w})
        rows.append({"policy": p, "estimator": e, "ess": g["ess"].mean(), "ess_share": (g["ess"] / g["n"]).mean(),
                     "max_weight": g["max_weight"].max(), "unsupported_mass": g["unsupported_mass"].mean(),
                     "warnings": ", ".join(warns)})
    return pd.DataFrame(rows)


def failures_table(df: pd.DataFrame) -> pd.DataFrame:
    """Failed rows grouped by run and cause: run id, setting, policy, estimator, last traceback line."""
    bad = df[df["status"] != "ok"]
    rows = []
    for _, r in bad.iterrows():
        msg = str(r.get("error_message") or "").strip().splitlines()
        rows.append({"run_id": r["run_id"], "world": r.get("world"), "logging_policy": r.get("logging_policy"),
                     "seed": r.get("seed"), "policy": r.get("policy"), "estimator": r.get("estimator"),
                     "error": msg[-1] if msg else ""})
    out = pd.DataFrame(rows, columns=["run_id", "world", "logging_policy", "seed", "policy", "estimator", "error"])
    return out.drop_duplicates(["run_id", "policy", "error"]).reset_index(drop=True)
