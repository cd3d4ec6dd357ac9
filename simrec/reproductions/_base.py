"""The shared machinery of the reproductions: tolerances, claims, results and the report writer.

A reproduction states, in its module, the paper's reference numbers and a tolerance for each
claim; :class:`Claim` computes its verdict from them (never by hand), and :func:`write_report`
writes ``report.md`` and a self-contained ``report.html`` (figures embedded) with the paper's
numbers beside ours, the verdict of every claim and, where a claim does not reproduce, why.

>>> c = Claim("DM is biased", reference=-0.28, tolerance=Near(-0.28, abs=0.05), measured=-0.26)
>>> c.verdict
'reproduced'
>>> Claim("x", reference=0.37, tolerance=Between(0.2, 0.6), measured=0.9).verdict
'not reproduced'
"""

from __future__ import annotations

import base64
import html
import math
import operator
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..errors import ConfigError
from ..reports.figures import RC, svg_bytes
from ..reports.render import CSS, format_value, html_table, md_table

__all__ = [
    "Tolerance", "Near", "Between", "AtLeast", "AtMost", "Holds", "Claim", "Result", "ReportFiles",
    "write_report", "new_figure", "Timer", "REPRODUCED", "NOT_REPRODUCED",
]

REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"


# ---- tolerances -----------------------------------------------------------------------------------
class Tolerance:
    """What a measured number must satisfy for a claim to count as reproduced."""

    def accepts(self, measured: Any) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def __str__(self) -> str:
        return self.describe()


def _num(measured: Any, tol: Tolerance) -> float:
    if isinstance(measured, (bool, np.bool_)) or not isinstance(measured, (int, float, np.integer, np.floating)):
        raise ConfigError(f"{tol.describe()!r} needs a number as `measured`; got {measured!r}")
    return float(measured)


@dataclass(frozen=True)
class Near(Tolerance):
    """``|measured - target| <= max(abs, rel * |target|)``."""

    target: float
    abs: float = 0.0
    rel: float = 0.0

    def __post_init__(self) -> None:
        if self.abs < 0 or self.rel < 0 or (self.abs == 0 and self.rel == 0):
            raise ConfigError(f"Near needs abs >= 0, rel >= 0, not both 0; got abs={self.abs}, rel={self.rel}")

    @property
    def width(self) -> float:
        return max(self.abs, self.rel * abs(self.target))

    def accepts(self, measured: Any) -> bool:
        m = _num(measured, self)
        return math.isfinite(m) and abs(m - self.target) <= self.width

    def describe(self) -> str:
        parts = ([f"±{self.abs:g}"] if self.abs else []) + ([f"±{100 * self.rel:.3g}%"] if self.rel else [])
        return f"within {' or '.join(parts)} of {self.target:g} (|Δ| ≤ {self.width:.4g})"


@dataclass(frozen=True)
class Between(Tolerance):
    """``low <= measured <= high``."""

    low: float
    high: float

    def __post_init__(self) -> None:
        if not self.low <= self.high:
            raise ConfigError(f"Between needs low <= high; got {self.low} > {self.high}")

    def accepts(self, measured: Any) -> bool:
        m = _num(measured, self)
        return math.isfinite(m) and self.low <= m <= self.high

    def describe(self) -> str:
        return f"between {self.low:g} and {self.high:g}"


@dataclass(frozen=True)
class _OneSided(Tolerance):
    """``measured`` on one side of ``bound`` (infinite values allowed, NaN never)."""

    bound: float
    _compare: ClassVar[Callable[[float, float], bool]]
    _symbol: ClassVar[str]

    def accepts(self, measured: Any) -> bool:
        m = _num(measured, self)
        return not math.isnan(m) and self._compare(m, self.bound)

    def describe(self) -> str:
        return f"{self._symbol} {self.bound:g}"


@dataclass(frozen=True)
class AtLeast(_OneSided):
    """``measured >= bound``."""

    _compare = operator.ge
    _symbol = "≥"


@dataclass(frozen=True)
class AtMost(_OneSided):
    """``measured <= bound``."""

    _compare = operator.le
    _symbol = "≤"


@dataclass(frozen=True)
class Holds(Tolerance):
    """A yes/no property (an ordering, a test not rejecting): ``measured`` must be True."""

    condition: str

    def accepts(self, measured: Any) -> bool:
        if not isinstance(measured, (bool, np.bool_)):
            raise ConfigError(f"Holds({self.condition!r}) needs True/False as `measured`; got {measured!r}")
        return bool(measured)

    def describe(self) -> str:
        return self.condition


# ---- claims and results ---------------------------------------------------------------------------
@dataclass
class Claim:
    """One claim of a paper with its reference, the tolerance, what we measured and the verdict.

    ``verdict`` is computed from ``tolerance`` and ``measured`` when the claim is made; ``detail``
    shows how ``measured`` was obtained (e.g. the two numbers of a ratio) and ``note`` is the
    module's explanation of what a failure would mean.
    """

    name: str
    reference: Any
    tolerance: Tolerance
    measured: Any
    detail: str = ""
    note: str = ""
    verdict: str = field(init=False)

    def __post_init__(self) -> None:
        if not isinstance(self.tolerance, Tolerance):
            raise ConfigError(f"`tolerance` of claim {self.name!r} must be a Tolerance; got {self.tolerance!r}")
        self.verdict = REPRODUCED if self.tolerance.accepts(self.measured) else NOT_REPRODUCED

    @property
    def reproduced(self) -> bool:
        return self.verdict == REPRODUCED

    def why(self) -> str:
        """Why the claim is or is not reproduced, in one sentence."""
        shown = _fmt(self.measured)
        if isinstance(self.tolerance, Holds):
            text = f"{'holds' if self.reproduced else 'does not hold'}: {self.tolerance.condition}"
            return text + (f"; {self.note}" if self.note and not self.reproduced else "")
        if self.reproduced:
            return f"measured {shown} is {self.tolerance.describe()}"
        text = f"measured {shown} is not {self.tolerance.describe()}"
        return text + (f"; {self.note}" if self.note else "")


@dataclass
class Result:
    """What :func:`run` of a reproduction returns."""

    name: str
    title: str
    citation: str
    quick: bool
    seed: int
    setup: dict[str, Any]
    claims: list[Claim]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: dict[str, Figure] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    runtime_s: float = float("nan")

    @property
    def n_reproduced(self) -> int:
        return sum(c.reproduced for c in self.claims)

    @property
    def reproduced(self) -> bool:
        """Whether every claim reproduced."""
        return all(c.reproduced for c in self.claims)

    def claims_table(self) -> pd.DataFrame:
        return pd.DataFrame([{"claim": c.name, "paper / reference": _fmt(c.reference),
                              "tolerance": c.tolerance.describe(), "measured": _fmt(c.measured),
                              "verdict": c.verdict} for c in self.claims])

    def summary(self) -> str:
        lines = [f"{self.name}: {self.n_reproduced}/{len(self.claims)} claims reproduced "
                 f"({'quick' if self.quick else 'full'}, seed {self.seed}, {self.runtime_s:.1f} s)"]
        for c in self.claims:
            lines.append(f"  [{'ok' if c.reproduced else 'NO'}] {c.name}: {c.why()}")
        return "\n".join(lines)


class Timer:
    """``with Timer() as t: ...; t.seconds``."""

    def __enter__(self) -> Timer:
        self._t0 = time.perf_counter()
        self.seconds = float("nan")
        return self

    def __exit__(self, *exc: Any) -> None:
        self.seconds = time.perf_counter() - self._t0


def new_figure(width: float = 6.0, height: float = 3.6, ncols: int = 1) -> tuple[Figure, Any]:
    """A figure drawn with the report settings (no pyplot, no global state) and its axes."""
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
        axes = fig.subplots(1, ncols)
    return fig, axes


# ---- report ---------------------------------------------------------------------------------------
_FLOAT = ".4g"  # reproduction reports show 4 significant digits (sweep reports: 4 decimals)


def _fmt(v: Any) -> str:
    return format_value(v, _FLOAT)


@dataclass
class ReportFiles:
    """Where a reproduction's report was written."""

    markdown: Path
    html: Path
    figures: list[Path]


def write_report(result: Result, out_dir: str | Path) -> ReportFiles:
    """Write ``report.md``, ``report.html`` (self-contained) and ``figures/*.svg`` under ``out_dir``."""
    out = Path(out_dir)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    mode = "quick" if result.quick else "full"
    head = (f"{result.n_reproduced} of {len(result.claims)} claims reproduced "
            f"({mode} mode, seed {result.seed}, {result.runtime_s:.1f} s).")
    md = [f"# {result.title}\n", f"_{result.citation}_\n", f"**{head}**\n",
          "## Claims\n", "Verdicts are computed from the tolerances stated in the reproduction's module.\n",
          md_table(result.claims_table(), _FLOAT)]
    hd = [f"<h1>{html.escape(result.title)}</h1>", f"<p><em>{html.escape(result.citation)}</em></p>",
          f"<p><strong>{html.escape(head)}</strong></p>", "<h2>Claims</h2>",
          "<p class='note'>Verdicts are computed from the tolerances stated in the reproduction's module.</p>",
          html_table(result.claims_table(), _FLOAT, verdict_col="verdict", ok_value=REPRODUCED)]
    failed = [c for c in result.claims if not c.reproduced]
    md.append("## Why\n")
    hd.append("<h2>Why</h2><ul>")
    for c in result.claims:
        flag = "" if c.reproduced else "**not reproduced**: "
        extra = f" ({c.detail})" if c.detail else ""
        md.append(f"- *{c.name}*: {flag}{c.why()}{extra}")
        bad = "" if c.reproduced else "<strong>not reproduced</strong>: "
        hd.append(f"<li><em>{html.escape(c.name)}</em>: {bad}{html.escape(c.why() + extra)}</li>")
    md.append("")
    hd.append("</ul>")
    if failed:
        md.append(f"{len(failed)} claim(s) did not reproduce; the numbers above are reported as measured, "
                  "without tuning toward the paper.\n")
        hd.append(f"<p>{len(failed)} claim(s) did not reproduce; the numbers above are reported as measured, "
                  "without tuning toward the paper.</p>")
    for title, df in result.tables.items():
        md += [f"## {title}\n", md_table(df, _FLOAT)]
        hd += [f"<h2>{html.escape(title)}</h2>", html_table(df, _FLOAT)]
    paths = []
    if result.figures:
        md.append("## Figures\n")
        hd.append("<h2>Figures</h2>")
    for i, (caption, fig) in enumerate(result.figures.items()):
        data = svg_bytes(fig)
        p = out / "figures" / f"fig{i + 1}.svg"
        p.write_bytes(data)
        paths.append(p)
        md.append(f"![{caption}](figures/{p.name})\n\n_{caption}_\n")
        b64 = base64.b64encode(data).decode("ascii")
        hd.append(f"<figure><img alt='{html.escape(caption)}' src='data:image/svg+xml;base64,{b64}'>"
                  f"<figcaption>{html.escape(caption)}</figcaption></figure>")
    md.append("## Setup\n")
    hd.append("<h2>Setup</h2>")
    setup = pd.DataFrame({"parameter": list(result.setup), "value": [_fmt(v) for v in result.setup.values()]})
    md.append(md_table(setup, _FLOAT))
    hd.append(html_table(setup, _FLOAT))
    if result.notes:
        md.append("## Notes\n")
        hd.append("<h2>Notes</h2><ul>")
        for n in result.notes:
            md.append(f"- {n}")
            hd.append(f"<li>{html.escape(n)}</li>")
        md.append("")
        hd.append("</ul>")
    mdp, htmlp = out / "report.md", out / "report.html"
    mdp.write_text("\n".join(md) + "\n", encoding="utf-8")
    htmlp.write_text(f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(result.title)}</title>"
                     f"<style>{CSS}</style></head><body>{''.join(hd)}</body></html>\n", encoding="utf-8")
    return ReportFiles(markdown=mdp, html=htmlp, figures=paths)
