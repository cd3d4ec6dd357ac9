"""Tables a report is made of, computed from a sweep's results table (pure pandas, deterministic).

A *setting* is one (world, logging policy, log size): the seeds of a setting are replicates, so
bias, RMSE and coverage are computed over them. Each estimate is scored against the truth of its
estimand (``truth_used``): ``truth`` for step estimators (one decision; exact, or a rollout with
``truth_se``), ``episode_value`` for sequential estimators (whole episodes, a rollout with
``episode_value_se``). Reference-only policies (``reference``) are kept out of rankings and regret.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ..estimators.ope.metrics import kendall_tau
from ..sweeps.estimation import last_line

__all__ = ["SETTING", "ok_rows", "settings", "estimates_table", "error_table", "ranking_table",
           "rank_agreement", "diagnostics_table", "failures_table", "truth_table", "longterm_table",
           "size_table", "learning_curves", "not_reference"]

SETTING = ["world", "logging_policy", "n_log"]


def ok_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Rows with a finished estimate, with ``truth_used`` (the truth of the row's estimand)."""
    if "estimate" not in df.columns:
        return df.iloc[0:0].assign(truth_used=[])
    ok = df[(df["status"] == "ok") & df["estimate"].notna()].copy()
    if "estimand" in ok.columns and "episode_value" in ok.columns:
        ok["truth_used"] = np.where(ok["estimand"] == "episode", ok["episode_value"], ok["truth"])
    else:
        ok["truth_used"] = ok["truth"]
    return ok


def not_reference(df: pd.DataFrame) -> pd.DataFrame:
    """Rows of policies that are not reference-only (the oracle is shown but never ranked)."""
    if "reference" not in df.columns:
        return df
    return df[~df["reference"].fillna(False).astype(bool)]


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
    """Per target policy: the step truth (+- se; exact or rollout) and the episode value +- se,
    averaged over seeds."""
    ok = _select(ok_rows(df), setting)
    one = ok.drop_duplicates(["run_id", "policy"])
    rows = []
    for p in _order(one["policy"], policies):
        g = one[one["policy"] == p]
        k = len(g)
        row = {"policy": p, "reference": bool(g["reference"].fillna(False).any()) if "reference" in g else False,
               "truth": g["truth"].mean(), "truth_se": math.sqrt((g.get("truth_se", g["truth"] * 0) ** 2).sum()) / k,
               "truth_method": ", ".join(sorted(set(g.get("truth_method", pd.Series(["exact"])).dropna())))}
        if "episode_value" in g:
            row.update(episode_value=g["episode_value"].mean(),
                       episode_value_se=math.sqrt((g["episode_value_se"] ** 2).sum()) / k)
        row["seeds"] = k
        rows.append(row)
    return pd.DataFrame(rows)


#: long-term outcomes shown beside the short-term value, in this order
OUTCOME_COLUMNS = ("clicks", "watch", "sessions", "retained", "visits", "opens", "unsubscribed")


def longterm_table(df: pd.DataFrame, policies: list[str] | None = None) -> pd.DataFrame:
    """Per (world, policy): the short-term value (one decision) and the long-term outcomes of whole
    episodes, each as mean and 95% half-width over seeds (rollout standard errors combined)."""
    ok = ok_rows(df)
    one = ok.drop_duplicates(["run_id", "policy"])
    outs = [o for o in OUTCOME_COLUMNS if f"outcome_{o}" in one.columns and one[f"outcome_{o}"].notna().any()]
    rows = []
    for w in _order(one["world"], None):
        gw = one[one["world"] == w]
        for p in _order(gw["policy"], policies):
            g = gw[gw["policy"] == p]
            k = len(g)
            row = {"world": w, "policy": p, "short_term": g["truth"].mean(),
                   "short_term_pm": 1.96 * _combined_se(g["truth"], g.get("truth_se"))}
            if "episode_value" in g:
                row["episode_value"] = g["episode_value"].mean()
                row["episode_value_pm"] = 1.96 * _combined_se(g["episode_value"], g["episode_value_se"])
            for o in outs:
                row[o] = g[f"outcome_{o}"].mean()
                row[f"{o}_pm"] = 1.96 * _combined_se(g[f"outcome_{o}"], g.get(f"outcome_{o}_se"))
            row["seeds"] = k
            rows.append(row)
    return pd.DataFrame(rows)


def _combined_se(values: pd.Series, se: pd.Series | None) -> float:
    """Standard error of a mean over seeds: the spread across seeds (trained policies differ by
    seed) or, with one seed, the rollout standard error."""
    k = len(values)
    if k > 1:
        return float(values.std(ddof=1) / math.sqrt(k))
    return float(se.iloc[0]) if se is not None and len(se) and pd.notna(se.iloc[0]) else 0.0


def size_table(df: pd.DataFrame, estimators: list[str] | None = None) -> pd.DataFrame:
    """Per (world, logging policy, estimator, log size): RMSE and coverage over policies and seeds."""
    ok = ok_rows(df)
    rows = []
    for (w, lp, e, n), g in ok.groupby(["world", "logging_policy", "estimator", "n_log"], sort=False):
        rows.append({"world": w, "logging_policy": lp, "estimator": e, "n_log": int(n),
                     "rmse": math.sqrt(((g["estimate"] - g["truth_used"]) ** 2).mean()),
                     "coverage": g["covered"].astype(float).mean(), "estimates": len(g)})
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    order = {e: i for i, e in enumerate(_order(out["estimator"], estimators))}
    out["_o"] = out["estimator"].map(order)
    return out.sort_values(["world", "logging_policy", "_o", "n_log"], kind="mergesort").drop(columns="_o")\
        .reset_index(drop=True)


def learning_curves(df: pd.DataFrame) -> dict[str, list[list[float]]]:
    """Policy -> the learning curve of each run (mean reward per tenth of training), for trained policies."""
    import json

    if "learning_curve" not in df.columns:
        return {}
    one = df.dropna(subset=["learning_curve"]).drop_duplicates(["run_id", "policy"])
    out: dict[str, list[list[float]]] = {}
    for _, r in one.iterrows():
        curve = json.loads(r["learning_curve"])
        if curve:
            out.setdefault(str(r["policy"]), []).append(curve)
    return out


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
            "policy": p, "estimator": e, "truth": g["truth_used"].mean(), "estimate": g["estimate"].mean(),
            "ci_low": g["ci_low"].mean(), "ci_high": g["ci_high"].mean(),
            "bias": (g["estimate"] - g["truth_used"]).mean(),
            "rmse": math.sqrt(((g["estimate"] - g["truth_used"]) ** 2).mean()),
            "coverage": g["covered"].astype(float).mean(),
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
            bias_pp = (g["estimate"] - g["truth_used"]).groupby(g["policy"], sort=False).mean()
            rows.append({
                **dict(zip(SETTING, s)), "estimator": e, "bias": (g["estimate"] - g["truth_used"]).mean(),
                "mean_abs_bias": bias_pp.abs().mean(),
                "rmse": math.sqrt(((g["estimate"] - g["truth_used"]) ** 2).mean()),
                "coverage": g["covered"].astype(float).mean(), "ci_width": g["ci_width"].mean(), "estimates": len(g),
            })
    return pd.DataFrame(rows)


def ranking_table(df: pd.DataFrame, setting: tuple[Any, ...], policies: list[str] | None = None,
                  estimators: list[str] | None = None, estimates: pd.DataFrame | None = None) -> pd.DataFrame:
    """Rank of every target policy online (by truth) and offline (by each estimator's mean estimate);
    rank 1 is the best. ``estimates``: ``estimates_table(not_reference(df), setting, policies,
    estimators)`` when already computed."""
    est = estimates_table(not_reference(df), setting, policies, estimators) if estimates is None else estimates
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
    ok = _select(ok_rows(not_reference(df)), setting)
    rows = []
    for e in _order(ok["estimator"], estimators):
        g = ok[ok["estimator"] == e]
        taus, regrets = [], []
        for _, r in g.groupby("run_id", sort=True):
            if len(r) < 2:
                continue
            taus.append(kendall_tau(r["estimate"].to_numpy(), r["truth_used"].to_numpy()))
            best = r["truth_used"].max()
            pick = r.iloc[int(np.argmax(r["estimate"].to_numpy()))]["truth_used"]
            regrets.append(best - pick)
        rows.append({"estimator": e, "kendall_tau": float(np.nanmean(taus)) if taus and not np.all(np.isnan(taus))
                     else float("nan"), "regret_at_1": float(np.mean(regrets)) if regrets else float("nan"),
                     "runs": len(regrets)})
    return pd.DataFrame(rows)


def diagnostics_table(df: pd.DataFrame, setting: tuple[Any, ...], policies: list[str] | None = None,
                      estimators: list[str] | None = None) -> pd.DataFrame:
    """Per (policy, estimator): mean ESS and ESS/n, largest weight, support gap (target mass where the
    logging policy has probability 0), unsampled mass (target mass on actions absent from this log,
    which a full-support logger merely did not sample), warnings raised."""
    rows = []
    for p, e, g in _policy_estimator_groups(df, setting, policies, estimators):
        warns = sorted({w for s in g["warnings"].fillna("") for w in s.split(";") if w})
        gap = g["logger_support_gap"].mean() if "logger_support_gap" in g else float("nan")
        rows.append({"policy": p, "estimator": e, "ess": g["ess"].mean(), "ess_share": (g["ess"] / g["n"]).mean(),
                     "max_weight": g["max_weight"].max(), "support_gap": gap,
                     "unsampled_mass": g["unsupported_mass"].mean(), "warnings": ", ".join(warns)})
    return pd.DataFrame(rows)


def failures_table(df: pd.DataFrame) -> pd.DataFrame:
    """Failed rows grouped by run and cause: run id, setting, policy, estimator, last traceback line."""
    bad = df[~df["status"].isin(["ok"])]
    rows = []
    for _, r in bad.iterrows():
        rows.append({"run_id": r["run_id"], "status": r["status"], "world": r.get("world"),
                     "logging_policy": r.get("logging_policy"),
                     "seed": r.get("seed"), "policy": r.get("policy"), "estimator": r.get("estimator"),
                     "error": last_line(r.get("error_message"))})
    out = pd.DataFrame(rows, columns=["run_id", "status", "world", "logging_policy", "seed", "policy", "estimator",
                                      "error"])
    return out.drop_duplicates(["run_id", "policy", "error"]).reset_index(drop=True)
