"""The report of an experiment sweep: estimated vs true effects, coverage and decision errors.

``report.html`` (self-contained: figures embedded as SVG) and ``report.md`` (figures under
``figures/``), deterministic for a given results table: tables and figures are rendered by the
sweep report's own helpers (:mod:`simrec.reports.render`, :mod:`simrec.reports.figures`).
"""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .figures import _fig, svg_bytes
from .render import html_table, md_table

__all__ = ["summary_table", "decision_table", "answer_lines", "build_experiment_report"]


def summary_table(df: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    r"""One row per (world, comparison, metric, method): bias, RMSE, coverage (with its Monte Carlo
    standard error), interval width, significance and decision-error rates over the replicate runs.

    ``coverage_mcse`` is :math:`\sqrt{\max(\hat p (1 - \hat p),\ (1 - \alpha)\alpha) / R}` over
    ``R`` runs: floored at the binomial SE of the nominal level ``1 - alpha`` the intervals were built
    for, so a cell whose runs all covered (or all missed) does not get a zero SE."""
    nominal = 1 - alpha
    ok = df[df["estimate"].notna()] if "estimate" in df else df.iloc[:0]
    rows = []
    for key, g in ok.groupby(["world", "comparison", "metric", "method"], sort=False):
        err = g["estimate"] - g["true_effect"]
        cov = g["covered"].astype(float)
        r = len(g)
        p = float(cov.mean())
        rows.append({
            "world": key[0], "comparison": key[1], "metric": key[2], "method": key[3], "runs": r,
            "true_effect": float(g["true_effect"].iloc[0]), "mean_estimate": float(g["estimate"].mean()),
            "bias": float(err.mean()), "rmse": float(np.sqrt((err ** 2).mean())),
            "coverage": p, "coverage_mcse": math.sqrt(max(p * (1 - p), nominal * alpha) / r),
            "ci_width": float((g["ci_high"] - g["ci_low"]).mean()), "significant": float(g["significant"].mean()),
            "sign_error": float(g["sign_error"].mean()), "miss": float(g["miss"].mean()),
            **({"stopped_at": float(g["stopped_at"].mean())} if "stopped_at" in g and g["stopped_at"].notna().any()
               else {}),
            **({"variance_reduction": float(g["variance_reduction"].mean())}
               if "variance_reduction" in g and g["variance_reduction"].notna().any() else {}),
        })
    return pd.DataFrame(rows)


def decision_method(df: pd.DataFrame) -> str | None:
    """The analysis launch decisions are taken with: ``welch`` when the sweep ran it, else the first
    method with significance decisions (None when there is none)."""
    if "decision" not in df:
        return None
    ok = df[df["decision"].notna()]
    methods = list(dict.fromkeys(ok["method"]))
    return "welch" if "welch" in methods else (methods[0] if methods else None)


def decision_table(df: pd.DataFrame, method: str | None = None) -> pd.DataFrame:
    """Launch decisions taken on each metric vs the north star's true effect, per comparison.

    ``method``: the analysis deciding (default :func:`decision_method`). ``harmful_launch``: share of
    runs where the metric says launch (significant gain) while the true north-star effect is negative;
    ``good_launch``: launches with a positive true north-star effect; ``agreement``: share of runs
    whose decision matches the sign of the true north-star effect (launch when it is positive, not
    launch otherwise)."""
    method = method or decision_method(df)
    d = df[(df["method"] == method) & df["estimate"].notna()] if "estimate" in df and method else df.iloc[:0]
    rows = []
    for (w, c), g in d.groupby(["world", "comparison"], sort=False):
        ns = g["north_star"].iloc[0]
        ns_true = g.loc[g["metric"] == ns, "true_effect"]
        if ns_true.empty:
            continue
        t = float(ns_true.iloc[0])
        for m, gm in g.groupby("metric", sort=False):
            launch = (gm["decision"] == "launch").to_numpy()
            rows.append({"world": w, "comparison": c, "metric": m, "north_star": ns, "true_north_star_effect": t,
                         "launch_rate": float(launch.mean()),
                         "harmful_launch": float(launch.mean()) if t < 0 else 0.0,
                         "good_launch": float(launch.mean()) if t > 0 else 0.0,
                         "agreement": float((launch == (t > 0)).mean())})
    return pd.DataFrame(rows)


def answer_lines(summ: pd.DataFrame, dec: pd.DataFrame, alpha: float = 0.05) -> list[str]:
    """The report's first section in a few sentences: per comparison, the true north-star effect and
    which metrics' launch decisions follow it; per method, the coverage of the true effects."""
    lines = []
    for (w, c), g in (dec.groupby(["world", "comparison"], sort=False) if len(dec) else []):
        t = float(g["true_north_star_effect"].iloc[0])
        ns = g["north_star"].iloc[0]
        wrong = g[g["agreement"] < 0.5]
        good = g[g["agreement"] >= 0.8]["metric"].tolist()
        txt = f"**{c}** ({w}): the true effect on {ns} is {t:+.4g}."
        if len(wrong):
            txt += " Deciding on " + ", ".join(f"{r.metric} ({r.launch_rate:.0%} of runs launched)"
                                               for r in wrong.itertuples()) + " goes against it"
            txt += ("; " if good else ".")
        if good:
            txt += (" " if not len(wrong) else "") + ", ".join(good) + " agree with it in at least 80% of runs."
        lines.append(txt)
    if not summ.empty:
        nominal = 1 - alpha
        parts = []
        for meth, g in summ.groupby("method", sort=False):
            low = g[g["coverage"] < nominal - 3 * g["coverage_mcse"]]
            below = f" ({len(low)} of {len(g)} cells more than 3 MC SE below {nominal:.2f})" if len(low) else ""
            parts.append(f"{meth} {g['coverage'].mean():.2f}{below}")
        lines.append(f"Mean coverage of the true effects by method (nominal {nominal:.2f}): " + "; ".join(parts) + ".")
        if "variance_reduction" in summ and summ["variance_reduction"].notna().any():
            vr = summ["variance_reduction"].dropna()
            lines.append(f"CUPED (each metric's pre-period value as covariate) removed {vr.min():.0%} to "
                         f"{vr.max():.0%} of the variance.")
    return lines


# -- figures -----------------------------------------------------------------------------------------------
def _bars(n: int, inch_per_bar: float, h: float) -> tuple[Any, Any]:
    """A one-axes figure for ``n`` bars, wider with more of them (at least 5 inches)."""
    fig = _fig(max(5.0, inch_per_bar * n + 2), h)
    return fig, fig.subplots()


def fig_estimates(df: pd.DataFrame) -> Any:
    """Estimates and intervals of every run vs the true effect, one panel per (comparison, metric)."""
    d = df[df["estimate"].notna() & (df["method"] != "lift")]
    panels = list(d.groupby(["comparison", "metric"], sort=False))
    ncol = min(3, max(len(panels), 1))
    nrow = max(1, math.ceil(len(panels) / ncol))
    fig = _fig(4.2 * ncol, 3.0 * nrow)
    axes = np.atleast_1d(fig.subplots(nrow, ncol, squeeze=False)).ravel()
    for ax, ((c, m), g) in zip(axes, panels):
        methods = list(dict.fromkeys(g["method"]))
        for j, meth in enumerate(methods):
            gm = g[g["method"] == meth].reset_index(drop=True)
            x = np.arange(len(gm)) + (j - (len(methods) - 1) / 2) * 0.18
            ax.errorbar(x, gm["estimate"], yerr=[gm["estimate"] - gm["ci_low"], gm["ci_high"] - gm["estimate"]],
                        fmt="o", ms=3, lw=0.8, label=meth)
        ax.axhline(float(g["true_effect"].iloc[0]), color="k", lw=1.2, ls="--", label="true effect")
        ax.axhline(0, color="0.7", lw=0.6)
        ax.set_title(f"{c}: {m}", fontsize=9)
        ax.set_xlabel("replicate experiment", fontsize=8)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    if panels:
        axes[0].legend(fontsize=7)
        for ax, ((_, _), g) in zip(axes[1:], panels[1:]):
            if set(g["method"]) - set(panels[0][1]["method"]):
                ax.legend(fontsize=7)
    return fig


def fig_coverage(summ: pd.DataFrame, alpha: float = 0.05) -> Any:
    """Coverage of the true effect per method and metric, with the nominal level ``1 - alpha`` and a
    3 MC SE band."""
    fig, ax = _bars(len(summ), 0.5, 3.2)
    if summ.empty:
        return fig
    labels = [f"{r.comparison}\n{r.metric}\n{r.method}" for r in summ.itertuples()]
    x = np.arange(len(summ))
    ax.bar(x, summ["coverage"], yerr=3 * summ["coverage_mcse"], color="C0", alpha=0.8, capsize=2)
    ax.axhline(1 - alpha, color="k", ls="--", lw=1, label=f"nominal {1 - alpha:.2f}")
    ax.legend(fontsize=7, loc="lower right")
    ax.set_xticks(x, labels, fontsize=6, rotation=90)
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("coverage of the true effect")
    return fig


def fig_decisions(dec: pd.DataFrame) -> Any:
    """Launch rate per metric next to the sign of the true north-star effect."""
    fig, ax = _bars(len(dec), 0.6, 3.0)
    if dec.empty:
        return fig
    x = np.arange(len(dec))
    colors = ["C3" if t < 0 else ("C2" if t > 0 else "0.6") for t in dec["true_north_star_effect"]]
    ax.bar(x, dec["launch_rate"], color=colors)
    ax.set_xticks(x, [f"{r.comparison}: {r.metric}" for r in dec.itertuples()], fontsize=7, rotation=35,
                  ha="right")
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("share of runs launched")
    ax.set_title("launch decisions (red: the north star truly falls, green: it rises, grey: no effect)", fontsize=9)
    return fig


# -- rendering ---------------------------------------------------------------------------------------------
def build_experiment_report(df: pd.DataFrame, truth: pd.DataFrame | None, config: dict[str, Any],
                            out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``report.html``, ``report.md`` and ``figures/`` for an experiment sweep; returns the two paths."""
    out = Path(out_dir)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    alpha = float(config.get("analysis", {}).get("alpha", 0.05))
    summ = summary_table(df, alpha)
    dmeth = decision_method(df)
    dec = decision_table(df, dmeth)
    figs = {"estimates": fig_estimates(df), "coverage": fig_coverage(summ, alpha), "decisions": fig_decisions(dec)}
    svgs = {k: svg_bytes(f) for k, f in figs.items()}
    for k, b in svgs.items():
        (out / "figures" / f"{k}.svg").write_bytes(b)
    name = config.get("name", "experiment")
    errors = df[df["error"].notna()] if "error" in df else df.iloc[:0]
    intro = (f"{config.get('description', '')}\n\n{len(df['run_id'].unique()) if 'run_id' in df else 0} simulated "
             f"experiments; {config.get('experiment', {}).get('n_users', '?')} users each, followed for "
             f"{config.get('experiment', {}).get('horizon_days', '?')} days. True effects: paired users with common "
             "random numbers. Coverage is the share of runs whose interval contains the true effect (coverage_mcse: "
             "its Monte Carlo SE; the figure shows 3 SE); sign errors are significant results of the wrong sign; "
             "misses are non-significant results of a non-zero effect.")
    sections = [("Estimates vs truth", summ, "estimates"), ("Coverage", None, "coverage"),
                (f"Launch decisions vs the north star (decided by {dmeth or 'no method'})", dec, "decisions")]
    answer = answer_lines(summ, dec, alpha)
    md = [f"# Experiment sweep: {name}\n", intro + "\n", "## Answer\n", "\n".join(f"- {a}" for a in answer) + "\n"]
    ht = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(name)}</title><style>"
          "body{font-family:sans-serif;max-width:1200px;margin:auto}table{border-collapse:collapse;font-size:12px}"
          "td,th{border:1px solid #ccc;padding:2px 6px}td.num{text-align:right}</style></head><body>",
          f"<h1>Experiment sweep: {html.escape(name)}</h1><p>{html.escape(intro)}</p>", "<h2>Answer</h2><ul>"
          + "".join(f"<li>{html.escape(a).replace('**', '')}</li>" for a in answer) + "</ul>"]
    for title, table, fig in sections:
        md.append(f"## {title}\n")
        ht.append(f"<h2>{html.escape(title)}</h2>")
        if table is not None:
            md.append(md_table(table))
            ht.append(html_table(table))
        md.append(f"![{fig}](figures/{fig}.svg)\n")
        ht.append(f"<img alt='{fig}' src='data:image/svg+xml;base64,{base64.b64encode(svgs[fig]).decode()}'/>")
    if truth is not None and not truth.empty:
        cols = [c for c in truth.columns if c in ("world", "comparison") or (c.startswith("true_") and
                                                                              not c.startswith("true_lift"))]
        md += ["## True effects\n", md_table(truth[cols])]
        ht += ["<h2>True effects</h2>", html_table(truth[cols])]
    if not errors.empty:
        md += ["## Failed analyses\n", md_table(errors[["run_id", "metric", "method", "error"]])]
        ht += ["<h2>Failed analyses</h2>", html_table(errors[["run_id", "metric", "method", "error"]])]
    ht.append("</body></html>")
    (out / "report.md").write_text("\n".join(md), encoding="utf-8")
    (out / "report.html").write_text("\n".join(ht), encoding="utf-8")
    return out / "report.html", out / "report.md"
