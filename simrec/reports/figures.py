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

__all__ = ["fig_estimates", "fig_errors", "fig_ranking", "fig_diagnostics", "svg_bytes", "RC"]

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
            one = g.drop_duplicates("run_id")
            t = one["truth"].mean()
            rv = one["truth_rollout"].mean()
            rse = float(np.sqrt((one["truth_rollout_se"] ** 2).sum()) / max(1, len(one)))
            ax.axhspan(rv - 2 * rse, rv + 2 * rse, color="0.85", zorder=0, label="rollout ±2 se")
            ax.axhline(t, color="k", ls="--", lw=1, label="exact truth")
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
