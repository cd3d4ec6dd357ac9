"""Render a sweep's results as a self-contained HTML report and its Markdown twin.

``report.html`` embeds its figures (base64 SVG) and styles: one file to mail or attach.
``report.md`` shows the same tables and links the same figures under ``figures/``. Both are
byte-deterministic for a given results table (no timestamps; figures saved without dates).
"""

from __future__ import annotations

import base64
import html
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import figures, summary, verdict

__all__ = ["build_report", "Report", "render_report"]


@dataclass
class Report:
    """Where a report was written."""

    html: Path
    markdown: Path
    figures: list[Path]


# ---- formatting (shared with the reproduction reports) ------------------------------------------
def format_value(v: Any, float_spec: str = ".4f") -> str:
    """A table cell as text: "–" for missing (None, NaN, NA), yes/no for booleans, integers as they
    are, floats with ``float_spec`` (scientific below 1e-3 and from 1e5), lists item by item."""
    if v is None or v is pd.NA:
        return "–"
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if math.isnan(v):
            return "–"
        if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e5):
            return f"{v:.3e}"
        return format(v, float_spec)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(format_value(x, float_spec) for x in v) + "]"
    return str(v)


def md_table(df: pd.DataFrame, float_spec: str = ".4f") -> str:
    """A Markdown table of ``df`` (cells by :func:`format_value`); ``_(none)_`` when it has no rows."""
    if df.empty:
        return "_(none)_\n"
    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in df.itertuples(index=False, name=None):
        lines.append("| " + " | ".join(format_value(v, float_spec).replace("|", "\\|").replace("\n", " ")
                                       for v in row) + " |")
    return "\n".join(lines) + "\n"


def html_table(df: pd.DataFrame, float_spec: str = ".4f", verdict_col: str | None = None,
               ok_value: Any = None) -> str:
    """An HTML table of ``df`` (cells by :func:`format_value`, numbers right-aligned). Cells of
    ``verdict_col`` get class ``ok`` where they equal ``ok_value``, else ``bad`` (see :data:`CSS`)."""
    if df.empty:
        return "<p><em>(none)</em></p>"
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = []
    for row in df.itertuples(index=False, name=None):
        cells = []
        for col, v in zip(df.columns, row):
            cls = ""
            if verdict_col is not None and col == verdict_col:
                cls = ' class="ok"' if v == ok_value else ' class="bad"'
            elif isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_)):
                cls = ' class="num"'
            cells.append(f"<td{cls}>{html.escape(format_value(v, float_spec))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


#: the style sheet of every simrec report
CSS = """
body{font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222;line-height:1.45}
h1{border-bottom:2px solid #333}h2{border-bottom:1px solid #ccc;margin-top:2em}
table{border-collapse:collapse;margin:0.6em 0 1.2em;font-size:0.85em}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:left}th{background:#f2f2f2}td.num{text-align:right;
font-variant-numeric:tabular-nums}
td.ok{background:#e6f4e6}td.bad{background:#fbe3e3;font-weight:bold}
figure{margin:1em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:0.85em;color:#555}pre{background:#f6f6f6;padding:0.8em;overflow-x:auto;font-size:0.8em}
.note{color:#555;font-size:0.9em}
"""


class _Doc:
    """Builds the Markdown and HTML documents side by side."""

    def __init__(self, title: str) -> None:
        self.md: list[str] = [f"# {title}\n"]
        self.html: list[str] = [f"<h1>{html.escape(title)}</h1>"]

    def h2(self, text: str) -> None:
        self.md.append(f"\n## {text}\n")
        self.html.append(f"<h2>{html.escape(text)}</h2>")

    def h3(self, text: str) -> None:
        self.md.append(f"\n### {text}\n")
        self.html.append(f"<h3>{html.escape(text)}</h3>")

    def p(self, text: str) -> None:
        self.md.append(text + "\n")
        self.html.append(f'<p class="note">{html.escape(text)}</p>')

    def bullets(self, items: list[str]) -> None:
        self.md.append("\n".join(f"- {t}" for t in items) + "\n")
        self.html.append("<ul>" + "".join(f"<li>{html.escape(t)}</li>" for t in items) + "</ul>")

    def table(self, df: pd.DataFrame) -> None:
        self.md.append(md_table(df))
        self.html.append(html_table(df))

    def figure(self, rel: str, svg: bytes, caption: str) -> None:
        self.md.append(f"![{caption}]({rel})\n")
        b64 = base64.b64encode(svg).decode("ascii")
        self.html.append(f'<figure><img alt="{html.escape(caption)}" src="data:image/svg+xml;base64,{b64}">'
                         f"<figcaption>{html.escape(caption)}</figcaption></figure>")

    def pre(self, text: str) -> None:
        self.md.append("```\n" + text + "\n```\n")
        self.html.append(f"<pre>{html.escape(text)}</pre>")

    def render_html(self, title: str) -> str:
        return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>\n"
                + "\n".join(self.html) + "\n</body></html>\n")

    def render_md(self) -> str:
        return "\n".join(self.md)


def _order_from_config(config: dict[str, Any] | None, key: str, field: str) -> list[str] | None:
    if not config or key not in config:
        return None
    out = []
    for item in config[key]:
        if key == "policies":
            out.append(item.get("label") or item["name"])
        else:
            params = item.get("params") or {}
            if item.get("label"):
                out.append(item["label"])
            elif params:
                out.append(f"{item['name']}({','.join(f'{k}={v}' for k, v in sorted(params.items()))})")
            else:
                out.append(item["name"])
    return out


def _setting_label(s: tuple) -> str:
    """How a (world, logging policy, log size) setting is named in headings and captions."""
    return f"world {s[0]}, logging policy {s[1]}, log size {s[2]}"


def _slug(*parts: Any) -> str:
    s = "-".join(str(p) for p in parts)
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in s)


def _answers(doc: _Doc, df: pd.DataFrame, alpha: float, figs: dict[str, bytes]) -> None:
    """The first section: which estimator to trust, which policy is best, what went wrong."""
    ans = verdict.answers(df, alpha)
    doc.h2("Answers")
    what = {"step": "one decision", "episode": "whole episodes (long term)"}
    if not ans["trusted"]:
        doc.p("No estimate finished, so there is nothing to answer yet (see Failures).")
    for estimand, t in ans["trusted"].items():
        caveat = "" if t["acceptable"] else (" No estimator's intervals reach nominal coverage, so this is only the "
                                             "lowest-error one: treat its intervals as too narrow.")
        few = (f" With {t['seeds']} seed(s) these figures are rough: the choice holds in {t['stability']:.0%} of "
               "bootstrap resamples of the seeds.") if t["seeds"] < 10 else (
            f" The choice holds in {t['stability']:.0%} of bootstrap resamples of the seeds.")
        doc.p(f"Estimator to trust ({what.get(estimand, estimand)}): {t['estimator']}: RMSE {t['rmse']:.4g} "
              f"(95% over seeds {t['rmse_low']:.3g}-{t['rmse_high']:.3g}), coverage {t['coverage']:.0%} of "
              f"{t['estimates']} intervals (Wilson 95% {t['coverage_low']:.2f}-{t['coverage_high']:.2f}; nominal "
              f"{1 - alpha:.0%}).{caveat}{few}")
    for b in ans["best"]:
        label = "long-term value per episode" if b["estimand"] == "episode" else "value of one decision"
        line = (f"Best policy online in world {b['world']} ({label}): {b['online_best']}, true value "
                f"{b['online_value']:.4g} ± {1.96 * b['online_se']:.2g} (95%, across seeds)")
        if b["policies"] > 1:
            line += f", ahead of the next by {b['online_margin']:.3g}"
        line += "."
        if "offline_best" in b:
            agree = "the same policy" if b["agree"] else f"a different policy (regret {b['regret']:.3g})"
            line += (f" Best offline by {b['estimator']}: {b['offline_best']}, estimated {b['offline_value']:.4g} ± "
                     f"{1.96 * b['offline_se']:.2g}: {agree}.")
        if "retained_best" in b:
            line += (f" Most users kept: {b['retained_best']}, retained share {b['retained_value']:.3g} ± "
                     f"{1.96 * b['retained_se']:.2g}.")
        doc.p(line)
    refs = sorted(df.loc[df.get("reference", pd.Series(False, index=df.index)).fillna(False).astype(bool),
                         "policy"].unique()) if "reference" in df.columns else []
    if refs:
        doc.p(f"Reference-only policies ({', '.join(refs)}) are shown in the tables but kept out of these answers, "
              "the rankings and regret.")
    doc.h3("What went wrong")
    probs = ans["problems"]
    if probs:
        doc.bullets(probs)
    else:
        doc.p("Nothing flagged: no estimator far off, coverage acceptable, full overlap, no failures.")
    doc.h3("Estimator ranking")
    sc = ans["scores"]
    if not sc.empty:
        figs["trust.svg"] = figures.svg_bytes(figures.fig_trust(sc, alpha))
        doc.figure("figures/trust.svg", figs["trust.svg"], "RMSE and coverage per estimator, with their uncertainty")
        doc.table(sc[["estimand", "rank", "estimator", "rmse", "rmse_low", "rmse_high", "bias", "bias_se", "coverage",
                      "coverage_low", "coverage_high", "estimates", "seeds", "acceptable"]])


def _tradeoff_outcome(lt: pd.DataFrame) -> str | None:
    """The long-term outcome the trade-off figure plots: the first of retained, visits, sessions,
    opens that differs between the table's rows (a constant one would show no trade-off), else the
    first one present; None when the table has none."""
    present = [o for o in ("retained", "visits", "sessions", "opens") if o in lt.columns and lt[o].notna().any()]
    return next((o for o in present if lt[o].std(ddof=0) > 0), present[0] if present else None)


def render_report(df: pd.DataFrame, config: dict[str, Any] | None = None) -> tuple[str, str, dict[str, bytes]]:
    """``(html, markdown, {figure file name: svg bytes})`` for a results table."""
    name = str(df["sweep"].iloc[0]) if "sweep" in df.columns and len(df) else "sweep"
    title = f"simrec sweep report: {name}"
    pols = _order_from_config(config, "policies", "name")
    ests = _order_from_config(config, "estimators", "name")
    alpha = float(((config or {}).get("interval") or {}).get("alpha", 0.05))
    figs: dict[str, bytes] = {}
    doc = _Doc(title)

    _answers(doc, df, alpha, figs)

    n_runs = df["run_id"].nunique()
    failed_runs = df.loc[df["status"] == "failed", "run_id"].nunique()
    setts = summary.settings(df)
    doc.h2("Overview")
    env = ", ".join(sorted(df["env"].dropna().unique())) if "env" in df.columns else "simrec/Bandit-v0"
    over = pd.DataFrame([
        {"item": "sweep", "value": name},
        {"item": "env", "value": env},
        {"item": "runs", "value": str(n_runs)},
        {"item": "runs with failures", "value": str(failed_runs)},
        {"item": "undefined estimates", "value": str(int((df["status"] == "undefined").sum()))},
        {"item": "settings (world / logging policy / log size)", "value": str(len(setts))},
        {"item": "seeds", "value": ", ".join(str(s) for s in sorted(df["seed"].dropna().unique().tolist()))},
        {"item": "target policies", "value": ", ".join(summary._order(df["policy"], pols))},
        {"item": "estimators", "value": ", ".join(summary._order(df["estimator"], ests))},
    ])
    doc.table(over)
    doc.p("Ground truth comes from the environment's truth interface. `truth` is the value of one decision at "
          "the start of an episode: exact where it can be enumerated (truth_method exact, truth_se 0), else a seeded "
          "rollout with its standard error. `episode_value` is the expected sum of rewards over a whole episode from "
          "seeded rollouts (common random numbers across policies). Step estimators are scored against `truth`, "
          f"sequential ones against `episode_value`. Intervals are at level {1 - alpha:.0%}.")

    lt = summary.longterm_table(df, pols)
    outcome = _tradeoff_outcome(lt)
    if outcome is not None and "episode_value" in lt.columns and (
            "outcome_retained" in df.columns or "outcome_visits" in df.columns or "outcome_sessions" in df.columns):
        doc.h2("Short-term vs long-term outcomes")
        doc.p("Each policy's value of one decision (clicks now) against what whole episodes bring (users kept, "
              "sessions, visits), from seeded rollouts; bars and ± are 95% intervals across seeds.")
        for i, w in enumerate(dict.fromkeys(lt["world"])):
            fname = f"tradeoff_{i}_{_slug(w)}.svg"
            figs[fname] = figures.svg_bytes(figures.fig_tradeoff(lt, outcome, w))
            doc.figure(f"figures/{fname}", figs[fname], f"Short-term value vs {outcome} per policy ({w})")
        doc.table(lt)

    curves = summary.learning_curves(df)
    if curves:
        doc.h2("Learning curves of trained policies")
        figs["learning.svg"] = figures.svg_bytes(figures.fig_learning(curves))
        doc.figure("figures/learning.svg", figs["learning.svg"], "Mean reward during training (one line per run)")

    doc.h2("Estimates with intervals against the truth")
    for i, s in enumerate(setts):
        label = _setting_label(s)
        doc.h3(label)
        doc.table(summary.truth_table(df, s, pols))
        fname = f"estimates_{i}_{_slug(*s)}.svg"
        figs[fname] = figures.svg_bytes(figures.fig_estimates(df, s, pols, ests))
        doc.figure(f"figures/{fname}", figs[fname], f"Estimates and intervals per seed vs truth ({label})")
        doc.table(summary.estimates_table(df, s, pols, ests))

    doc.h2("Estimator error across seeds")
    err = summary.error_table(df, ests)
    if not err.empty:
        figs["errors.svg"] = figures.svg_bytes(figures.fig_errors(err, alpha))
        doc.figure("figures/errors.svg", figs["errors.svg"], "Bias, RMSE and coverage per estimator")
    doc.table(err)
    size = summary.size_table(df, ests)
    if not size.empty and size["n_log"].nunique() > 1:
        doc.h3("Error against log size")
        figs["error_vs_size.svg"] = figures.svg_bytes(figures.fig_error_vs_size(size))
        doc.figure("figures/error_vs_size.svg", figs["error_vs_size.svg"], "RMSE and coverage against the log size")
        doc.table(size)

    doc.h2("Policy ranking: offline vs online")
    doc.p("Rank 1 is the best policy; reference-only policies are left out. `online` ranks by the true value; each "
          "estimator column ranks by that estimator's mean estimate. Kendall tau compares the two orders within each "
          "run (averaged over seeds); regret@1 is the true value lost by deploying the offline winner.")
    for i, s in enumerate(setts):
        label = _setting_label(s)
        doc.h3(label)
        est = summary.estimates_table(summary.not_reference(df), s, pols, ests)
        doc.table(summary.ranking_table(df, s, pols, ests, estimates=est))
        doc.table(summary.rank_agreement(df, s, ests))
        fname = f"ranking_{i}_{_slug(*s)}.svg"
        figs[fname] = figures.svg_bytes(figures.fig_ranking(est, ests))
        doc.figure(f"figures/{fname}", figs[fname], f"Offline vs online policy value ({label})")

    doc.h2("Diagnostics")
    doc.p("ESS is the effective sample size of the weights each estimator applies. `support_gap` is the target's "
          "probability on actions the logging policy never takes (no overlap: no weighting estimator can see them); "
          "`unsampled_mass` is its probability on actions that merely do not occur in this log, which is not a "
          "support problem when the logging policy has full support.")
    for i, s in enumerate(setts):
        label = _setting_label(s)
        doc.h3(label)
        diag = summary.diagnostics_table(df, s, pols, ests)
        fname = f"diagnostics_{i}_{_slug(*s)}.svg"
        figs[fname] = figures.svg_bytes(figures.fig_diagnostics(diag, pols, ests))
        doc.figure(f"figures/{fname}", figs[fname], f"Effective sample size per policy and estimator ({label})")
        doc.table(diag)

    doc.h2("Failures and undefined estimates")
    doc.table(summary.failures_table(df))

    doc.h2("Appendix: configuration and provenance")
    prov_cols = [c for c in ("config_hash", "simrec_version", "git_sha", "python_version", "numpy_version",
                             "numba_version", "pandas_version") if c in df.columns]
    if prov_cols:
        prov = df[prov_cols].drop_duplicates().astype(str)
        doc.table(prov.reset_index(drop=True))
    if config is not None:
        doc.pre(json.dumps(config, indent=2, sort_keys=True))
    return doc.render_html(title), doc.render_md(), figs


def build_report(df: pd.DataFrame, config: dict[str, Any] | None, out_dir: str | Path) -> Report:
    """Write ``report.html``, ``report.md`` and ``figures/*.svg`` under ``out_dir``."""
    out = Path(out_dir)
    fig_dir = out / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    html_text, md_text, figs = render_report(df, config)
    paths = []
    for fname, data in figs.items():
        p = fig_dir / fname
        p.write_bytes(data)
        paths.append(p)
    (out / "report.md").write_text(md_text, encoding="utf-8")
    (out / "report.html").write_text(html_text, encoding="utf-8")
    return Report(html=out / "report.html", markdown=out / "report.md", figures=paths)
