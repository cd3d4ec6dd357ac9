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

import pandas as pd

from . import figures, summary

__all__ = ["build_report", "Report", "render_report"]


@dataclass
class Report:
    """Where a report was written."""

    html: Path
    markdown: Path
    figures: list[Path]


# ---- formatting -------------------------------------------------------------------------------
def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e5):
            return f"{v:.3e}"
        return f"{v:.4f}"
    return str(v)


def _md_table(df: pd.DataFrame) -> str:
    if df.empty:
        return "_(none)_\n"
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in df.itertuples(index=False, name=None):
        lines.append("| " + " | ".join(_fmt(v).replace("|", "\\|").replace("\n", " ") for v in row) + " |")
    return "\n".join(lines) + "\n"


def _html_table(df: pd.DataFrame) -> str:
    if df.empty:
        return "<p><em>(none)</em></p>"
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = []
    for row in df.itertuples(index=False, name=None):
        cells = "".join(
            f'<td class="num">{html.escape(_fmt(v))}</td>' if isinstance(v, (int, float)) and not isinstance(v, bool)
            else f"<td>{html.escape(_fmt(v))}</td>" for v in row)
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


_CSS = """
body{font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222;line-height:1.45}
h1{border-bottom:2px solid #333}h2{border-bottom:1px solid #ccc;margin-top:2em}
table{border-collapse:collapse;margin:0.6em 0 1.2em;font-size:0.85em}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:left}th{background:#f2f2f2}td.num{text-align:right;
font-variant-numeric:tabular-nums}
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

    def table(self, df: pd.DataFrame) -> None:
        self.md.append(_md_table(df))
        self.html.append(_html_table(df))

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
                f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>\n"
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


def render_report(df: pd.DataFrame, config: dict[str, Any] | None = None) -> tuple[str, str, dict[str, bytes]]:
    """``(html, markdown, {figure file name: svg bytes})`` for a results table."""
    name = str(df["sweep"].iloc[0]) if "sweep" in df.columns and len(df) else "sweep"
    title = f"simrec sweep report: {name}"
    pols = _order_from_config(config, "policies", "name")
    ests = _order_from_config(config, "estimators", "name")
    alpha = float(((config or {}).get("interval") or {}).get("alpha", 0.05))
    figs: dict[str, bytes] = {}
    doc = _Doc(title)

    n_runs = df["run_id"].nunique()
    failed_runs = df.loc[df["status"] != "ok", "run_id"].nunique()
    setts = summary.settings(df)
    doc.h2("Overview")
    over = pd.DataFrame([
        {"item": "sweep", "value": name},
        {"item": "runs", "value": str(n_runs)},
        {"item": "runs with failures", "value": str(failed_runs)},
        {"item": "settings (world / logging policy / log size)", "value": str(len(setts))},
        {"item": "seeds", "value": ", ".join(str(s) for s in sorted(df["seed"].dropna().unique().tolist()))},
        {"item": "target policies", "value": ", ".join(summary._order(df["policy"], pols))},
        {"item": "estimators", "value": ", ".join(summary._order(df["estimator"], ests))},
    ])
    doc.table(over)
    doc.p("Ground truth: `truth` is the exact value of each target policy (its action distribution "
          "enumerated over every user of the static population; standard error 0). `truth_rollout` is the "
          "mean exact expected reward over seeded simulator episodes in which the policy acts, with its "
          "standard error `truth_rollout_se`. Errors, bias, RMSE and coverage are measured against `truth`. "
          f"Intervals are at level {1 - alpha:.0%}.")

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

    doc.h2("Policy ranking: offline vs online")
    doc.p("Rank 1 is the best policy. `online` ranks by the true value; each estimator column ranks by that "
          "estimator's mean estimate. Kendall tau compares the two orders within each run (averaged over "
          "seeds); regret@1 is the true value lost by deploying the offline winner.")
    for i, s in enumerate(setts):
        label = _setting_label(s)
        doc.h3(label)
        doc.table(summary.ranking_table(df, s, pols, ests))
        doc.table(summary.rank_agreement(df, s, ests))
        est = summary.estimates_table(df, s, pols, ests)
        fname = f"ranking_{i}_{_slug(*s)}.svg"
        figs[fname] = figures.svg_bytes(figures.fig_ranking(est, ests))
        doc.figure(f"figures/{fname}", figs[fname], f"Offline vs online policy value ({label})")

    doc.h2("Diagnostics")
    doc.p("ESS is the effective sample size of the weights each estimator applies; a small ESS/n, a large "
          "max weight or target mass on actions the log never shows (unsupported mass) warn that an "
          "estimate rests on few rows.")
    for i, s in enumerate(setts):
        label = _setting_label(s)
        doc.h3(label)
        diag = summary.diagnostics_table(df, s, pols, ests)
        fname = f"diagnostics_{i}_{_slug(*s)}.svg"
        figs[fname] = figures.svg_bytes(figures.fig_diagnostics(diag, pols, ests))
        doc.figure(f"figures/{fname}", figs[fname], f"Effective sample size per policy and estimator ({label})")
        doc.table(diag)

    doc.h2("Failures")
    doc.table(summary.failures_table(df))

    doc.h2("Configuration and provenance")
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
