"""Report figures: functions ``results -> matplotlib Figure``, no global state, no pyplot.

Figures are saved as SVG with a fixed hash salt and no date, so the same results give the same
bytes (:func:`svg_bytes`).
"""

from __future__ import annotations

import io
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from . import summary

__all__ = ["fig_estimates", "fig_errors", "fig_ranking", "fig_diagnostics", "fig_tradeoff", "fig_learning",
           "fig_error_vs_size", "fig_trust", "svg_bytes", "RC"]

#: matplotlib settings every report figure is drawn and saved under
RC: dict[str, Any] = {
    "svg.hashsalt": "simrec",
    "svg.fonttype": "path",
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "path.simplify": False,
}
_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#7f7f7f",
           "#bcbd22", "#393b79", "#637939"]


def _fig(width: float, height: float) -> Figure:
    with matplotlib.rc_context(RC):
        return Figure(figsize=(width, height), dpi=100, layout="constrained")


def svg_bytes(fig: Figure) -> bytes:
    """The figure as SVG; identical inputs give identical bytes."""
    buf = io.BytesIO()
    with matplotlib.rc_context(RC):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    return buf.getvalue()


def _grid(n: int, ncols: int = 3) -> tuple[int, int]:
    ncols = min(ncols, n)
    return (n + ncols - 1) // ncols, ncols


def fig_estimates(df: pd.DataFrame, setting: tuple[Any, ...], policies: list[str] | None = None,
                  estimators: list[str] | None = None) -> Figure:
    """Per target policy: every estimator's estimate and interval for each seed, against the exact
    truth (dashed) and the rollout truth +- 2 se (band)."""
    ok = summary._select(summary.ok_rows(df), setting)
    pols = summary._order(ok["policy"], policies)
    ests = summary._order(ok["estimator"], estimators)
    seeds = sorted(ok["seed"].unique().tolist())
    nr, nc = _grid(max(1, len(pols)))
    with matplotlib.rc_context(RC):
        fig = _fig(3.6 * nc, 2.9 * nr)
        axes = np.atleast_1d(fig.subplots(nr, nc, squeeze=False)).ravel()
        width = 0.7 / max(1, len(seeds))
        for ax, p in zip(axes, pols):
            g = ok[ok["policy"] == p]
            x0 = np.arange(len(ests))
            for si, s in enumerate(seeds):
                gs = g[g["seed"] == s].set_index("estimator").reindex(ests)
                x = x0 - 0.35 + width * (si + 0.5)
                y = gs["estimate"].to_numpy(dtype=float)
                lo = y - gs["ci_low"].to_numpy(dtype=float)
                hi = gs["ci_high"].to_numpy(dtype=float) - y
                ax.errorbar(x, y, yerr=[lo, hi], fmt="o", ms=3, lw=1, capsize=2, color=_COLORS[si % len(_COLORS)],
                            label=f"seed {s}")
            for xi, e in zip(x0, ests):  # the truth of each estimator's estimand (step or episode)
                ge = g[g["estimator"] == e]
                if ge.empty:
                    continue
                t = float(ge["truth_used"].mean())
                se_col = "episode_value_se" if (ge.get("estimand") == "episode").any() else "truth_se"
                se = float(np.sqrt((ge[se_col].fillna(0) ** 2).sum()) / len(ge)) if se_col in ge else 0.0
                if se > 0:
                    ax.fill_between([xi - 0.42, xi + 0.42], t - 2 * se, t + 2 * se, color="0.85", zorder=0,
                                    label="truth ±2 se (rollout)" if xi == x0[0] else None)
                ax.hlines(t, xi - 0.42, xi + 0.42, color="k", ls="--", lw=1, label="truth" if xi == x0[0] else None)
            ax.set_title(str(p))
            ax.set_xticks(x0, ests, rotation=45, ha="right")
        for ax in axes[len(pols):]:
            ax.set_visible(False)
        if pols:
            axes[0].set_ylabel("policy value")
            handles, labels = axes[0].get_legend_handles_labels()
            fig.legend(handles, labels, loc="outside lower center", ncols=len(labels), fontsize=8)
        fig.suptitle("Estimates with intervals vs ground truth")
    return fig


def fig_errors(err: pd.DataFrame, alpha: float = 0.05) -> Figure:
    """Per estimator: bias, RMSE and interval coverage across target policies and seeds
    (one bar group per setting)."""
    ests = list(dict.fromkeys(err["estimator"]))
    keys = list(dict.fromkeys(err[summary.SETTING].itertuples(index=False, name=None)))
    with matplotlib.rc_context(RC):
        fig = _fig(max(7.0, 0.55 * len(ests) * 3), 3.2)
        axes = fig.subplots(1, 3)
        w = 0.8 / max(1, len(keys))
        x0 = np.arange(len(ests))
        for ki, k in enumerate(keys):
            g = err[(err[summary.SETTING].apply(tuple, axis=1)) == k].set_index("estimator").reindex(ests)
            x = x0 - 0.4 + w * (ki + 0.5)
            label = " / ".join(str(v) for v in k)
            c = _COLORS[ki % len(_COLORS)]
            axes[0].bar(x, g["bias"].to_numpy(dtype=float), w, color=c, label=label)
            axes[1].bar(x, g["rmse"].to_numpy(dtype=float), w, color=c)
            axes[2].bar(x, g["coverage"].to_numpy(dtype=float), w, color=c)
        axes[0].axhline(0, color="k", lw=0.8)
        axes[2].axhline(1 - alpha, color="k", ls="--", lw=1)
        axes[2].set_ylim(0, 1.05)
        for ax, title in zip(axes, ("bias (estimate - truth)", "RMSE", f"coverage (nominal {1 - alpha:.0%})")):
            ax.set_title(title)
            ax.set_xticks(x0, ests, rotation=45, ha="right")
        if len(keys) > 1:
            axes[0].legend(fontsize=7)
        fig.suptitle("Estimator error across seeds and target policies")
    return fig


def fig_ranking(est: pd.DataFrame, estimators: list[str] | None = None) -> Figure:
    """Offline (estimated) vs online (true) policy value, one marker per policy and estimator."""
    ests = summary._order(est["estimator"], estimators)
    with matplotlib.rc_context(RC):
        fig = _fig(5.2, 4.2)
        ax = fig.subplots()
        for i, e in enumerate(ests):
            g = est[est["estimator"] == e]
            ax.scatter(g["truth"], g["estimate"], s=18, color=_COLORS[i % len(_COLORS)], label=e,
                       marker="os^vD<>ph*"[i % 10])
        allv = np.concatenate([est["truth"].to_numpy(dtype=float), est["estimate"].to_numpy(dtype=float)])
        allv = allv[np.isfinite(allv)]
        if allv.size:
            lo, hi = float(allv.min()), float(allv.max())
            pad = 0.05 * (hi - lo or 1.0)
            ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="k", ls="--", lw=1)
        for p, t in est.drop_duplicates("policy")[["policy", "truth"]].itertuples(index=False, name=None):
            ax.annotate(str(p), (t, t), fontsize=7, xytext=(3, -9), textcoords="offset points")
        ax.set_xlabel("online value (exact truth)")
        ax.set_ylabel("offline value (estimate, mean over seeds)")
        ax.legend(fontsize=7, ncols=2)
        ax.set_title("Policy values: offline vs online")
    return fig


def fig_diagnostics(diag: pd.DataFrame, policies: list[str] | None = None,
                    estimators: list[str] | None = None) -> Figure:
    """Effective sample size as a share of the log, per target policy and weighting estimator."""
    d = diag[diag["ess_share"].notna()]
    pols = summary._order(d["policy"], policies)
    ests = summary._order(d["estimator"], estimators)
    with matplotlib.rc_context(RC):
        fig = _fig(max(6.0, 0.9 * len(pols) + 2), 3.4)
        ax = fig.subplots()
        w = 0.8 / max(1, len(ests))
        x0 = np.arange(len(pols))
        for i, e in enumerate(ests):
            g = d[d["estimator"] == e].set_index("policy").reindex(pols)
            ax.bar(x0 - 0.4 + w * (i + 0.5), g["ess_share"].to_numpy(dtype=float), w, color=_COLORS[i % len(_COLORS)],
                   label=e)
        ax.set_yscale("log")
        ax.set_xticks(x0, pols, rotation=30, ha="right")
        ax.set_ylabel("ESS / n")
        ax.legend(fontsize=7, ncols=3)
        ax.set_title("Effective sample size of the importance weights")
    return fig


def fig_tradeoff(lt: pd.DataFrame, outcome: str, world: Any) -> Figure:
    """Short-term value (one decision) against a long-term outcome per policy, with 95% intervals:
    the clicks-now vs users-kept trade-off at a glance."""
    g = lt[lt["world"] == world]
    with matplotlib.rc_context(RC):
        fig = _fig(6.0, 4.2)
        ax = fig.subplots()
        for i, (_, r) in enumerate(g.iterrows()):
            c = _COLORS[i % len(_COLORS)]
            ax.errorbar(r["short_term"], r[outcome], xerr=r["short_term_pm"], yerr=r[f"{outcome}_pm"], fmt="o",
                        ms=7, capsize=3, color=c, label=str(r["policy"]))
            ax.annotate(str(r["policy"]), (r["short_term"], r[outcome]), textcoords="offset points", xytext=(6, 6),
                        fontsize=8, color=c)
        ax.set_xlabel("short-term value: expected reward of one decision")
        ax.set_ylabel(f"long-term: {outcome.replace('_', ' ')} per episode")
        ax.set_title(f"Short-term vs long-term ({world}); bars: 95% intervals")
        ax.legend(fontsize=7, loc="best")
    return fig


def fig_learning(curves: dict[str, list[list[float]]]) -> Figure:
    """Mean reward per tenth of training for every trained policy (one line per run)."""
    with matplotlib.rc_context(RC):
        fig = _fig(6.0, 3.6)
        ax = fig.subplots()
        for i, (p, runs) in enumerate(curves.items()):
            c = _COLORS[i % len(_COLORS)]
            for j, cur in enumerate(runs):
                ax.plot(np.arange(1, len(cur) + 1), cur, color=c, alpha=0.8, lw=1.2, label=p if j == 0 else None)
        ax.set_xlabel("training progress (tenths of the training decisions)")
        ax.set_ylabel("mean reward while learning")
        ax.set_title("Learning curves of trained policies")
        ax.legend(fontsize=7)
    return fig


def fig_error_vs_size(size: pd.DataFrame) -> Figure:
    """RMSE and coverage of each estimator against the log size (log-log RMSE)."""
    with matplotlib.rc_context(RC):
        fig = _fig(8.0, 3.4)
        ax1, ax2 = fig.subplots(1, 2)
        for i, (e, g) in enumerate(size.groupby("estimator", sort=False)):
            g = g.groupby("n_log", sort=True)[["rmse", "coverage"]].mean()
            c = _COLORS[i % len(_COLORS)]
            ax1.plot(g.index, g["rmse"], "o-", color=c, label=str(e))
            ax2.plot(g.index, g["coverage"], "o-", color=c)
        ax1.set_xscale("log")
        ax1.set_yscale("log")
        ax2.set_xscale("log")
        ax2.set_ylim(0, 1.05)
        ax1.set_xlabel("log size")
        ax2.set_xlabel("log size")
        ax1.set_title("RMSE vs log size")
        ax2.set_title("interval coverage vs log size")
        ax1.legend(fontsize=7)
    return fig


def fig_trust(scores: pd.DataFrame, alpha: float = 0.05) -> Figure:
    """Per estimator: RMSE with its bootstrap-over-seeds interval, and coverage with its Wilson interval."""
    with matplotlib.rc_context(RC):
        fig = _fig(8.0, 0.9 + 0.32 * len(scores))
        ax1, ax2 = fig.subplots(1, 2, sharey=True)
        labels = [f"{r.estimator} ({r.estimand})" for r in scores.itertuples()]
        y = np.arange(len(scores))[::-1]
        rerr = [scores["rmse"] - scores["rmse_low"], scores["rmse_high"] - scores["rmse"]]
        ax1.errorbar(scores["rmse"], y, xerr=rerr, fmt="o", color=_COLORS[0], capsize=3)
        ax2.errorbar(scores["coverage"], y, xerr=[scores["coverage"] - scores["coverage_low"],
                                                  scores["coverage_high"] - scores["coverage"]],
                     fmt="o", color=_COLORS[1], capsize=3)
        ax2.axvline(1 - alpha, color="k", ls="--", lw=1)
        ax1.set_yticks(y, labels)
        ax1.set_title("RMSE (95% bootstrap over seeds)")
        ax2.set_title(f"coverage (Wilson 95%; nominal {1 - alpha:.0%})")
        ax2.set_xlim(0, 1.05)
    return fig
