"""Sweep reports: matplotlib figures (SVG, byte-deterministic) in a self-contained HTML file and a
Markdown twin.

>>> from simrec.reports import report_from_results   # doctest: +SKIP
>>> report_from_results("reports/quickstart")       # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

from .render import Report, build_report, render_report

__all__ = ["Report", "build_report", "render_report", "report_from_results"]


def report_from_results(results: str | Path, out_dir: str | Path | None = None) -> Report:
    """Read a results table (``results.parquet`` or a sweep folder) and write its report next to it
    (or under ``out_dir``)."""
    from ..sweeps.store import read_results

    df, config = read_results(results)
    p = Path(results)
    default = p if p.is_dir() else p.parent
    return build_report(df, config, out_dir if out_dir is not None else default)
