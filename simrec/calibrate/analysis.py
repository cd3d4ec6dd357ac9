"""What a click log can and cannot say: time splits, model comparison, a test of position effects.

:func:`analyze_position_log` is the analysis of a log of lone (item, position, click) rows such as the
Open Bandit Dataset: split by time, fit the position-based model on the earlier part, report
examination by position with intervals, test whether positions differ at all, and compare held-out
perplexity with global-CTR, per-item-CTR and per-position-CTR baselines, with paired standard errors
of the differences so that the text can say which models the data distinguish.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..data import BanditLog, SlateLog
from ..errors import ConfigError, InvalidLogError
from ._data import as_rows
from .base import ClickModel, ClickScores
from .pbm import ClickThroughRateModel, PositionBasedModel

__all__ = ["time_split", "compare_models", "position_test", "analyze_position_log", "PositionAnalysis"]


def time_split(log: BanditLog | SlateLog, train_frac: float = 0.8) -> tuple[Any, Any]:
    """The first ``train_frac`` of the rows (in time order) and the rest.

    Rows must be in time order: :func:`simrec.data.read_obd` and :func:`simrec.data.read_log` with a
    ``timestamp`` column sort them and record ``meta["sorted_by"] = "timestamp"``.
    """
    if not 0 < float(train_frac) < 1:
        raise ConfigError(f"`train_frac` must lie in (0, 1); got {train_frac!r}")
    n = len(log)
    cut = int(round(n * float(train_frac)))
    if cut < 1 or cut >= n:
        raise InvalidLogError(f"a log of {n} rows cannot be split {train_frac:.0%} / {1 - train_frac:.0%}")
    return log[:cut], log[cut:]


def compare_models(models: Mapping[str, ClickModel], train: BanditLog | SlateLog, test: BanditLog | SlateLog,
                   reference: str | None = None) -> pd.DataFrame:
    """Fit each model on ``train`` and score it on ``test``.

    Returns one row per model: held-out mean log-likelihood per impression, perplexity (mean and
    per slot) and, against ``reference`` (default: the first model), the paired difference of
    per-impression log-likelihoods with its standard error and z (a difference within about two
    standard errors is not a distinction the data make).
    """
    if not models:
        raise ConfigError("`models` must name at least one click model")
    scores: dict[str, ClickScores] = {}
    for name, m in models.items():
        scores[name] = m.fit(train).score(test)
    ref = reference or next(iter(models))
    if ref not in scores:
        raise ConfigError(f"`reference` {ref!r} is not one of the models {list(models)}")
    rows = []
    for name, s in scores.items():
        d = s.row_loglik - scores[ref].row_loglik
        se = float(d.std(ddof=1) / np.sqrt(d.size)) if d.size > 1 else float("nan")
        row = s.as_dict()
        row["model"] = name
        row["ll_diff_vs_ref"] = float(d.mean())
        row["ll_diff_se"] = se
        row["z"] = float(d.mean() / se) if se > 0 else 0.0
        rows.append(row)
    out = pd.DataFrame(rows).set_index("model")
    out.attrs["reference"] = ref
    return out


def position_test(log: BanditLog | SlateLog, n_positions: int | None = None) -> dict[str, float]:
    """Do clicks depend on the position at all?

    Two tests: Pearson's chi-square on the (slot x click) table (valid when the logging policy
    places items independently of the slot, as a uniform random logger does), and the likelihood
    ratio of the maximum-likelihood PBM against the per-item CTR model (examination equal in every
    slot), :math:`2 (\\ell_{PBM} - \\ell_{item}) \\sim \\chi^2_{K-1}` under equal examination.
    """
    rows = as_rows(log)
    k = int(rows.pos.max()) + 1 if n_positions is None else int(n_positions)
    shows = np.bincount(rows.pos, minlength=k)
    clicks = np.bincount(rows.pos, rows.click, minlength=k)
    table = np.stack([clicks, shows - clicks], axis=1)
    used = shows > 0
    if used.sum() < 2 or clicks.sum() == 0:
        raise InvalidLogError("a position test needs clicks and at least two slots with rows")
    chi2, p_chi, dof, _ = stats.chi2_contingency(table[used], correction=False)
    pbm = PositionBasedModel(prior=(0.0, 0.0), tol=1e-10, stderr="none").fit(log)
    item = ClickThroughRateModel("item", prior=(0.0, 0.0)).fit(log)
    n = len(log)
    lr = 2 * n * (pbm.score(log).log_likelihood - item.score(log).log_likelihood)
    lr = max(lr, 0.0)
    return {"chi2": float(chi2), "chi2_dof": int(dof), "chi2_p": float(p_chi),
            "lr": float(lr), "lr_dof": int(used.sum() - 1), "lr_p": float(stats.chi2.sf(lr, used.sum() - 1))}


@dataclass
class PositionAnalysis:
    """Result of :func:`analyze_position_log`; :meth:`to_markdown` renders it."""

    counts: dict[str, Any]
    ctr_by_position: pd.DataFrame
    examination: pd.DataFrame
    position_test: dict[str, float]
    comparison: pd.DataFrame
    conclusions: list[str] = field(default_factory=list)

    def to_markdown(self) -> str:
        from ..reports.render import md_table  # the sweep reports' Markdown tables (escape every cell)

        def table(df: pd.DataFrame) -> str:
            return md_table(df.reset_index()).rstrip("\n")

        c = self.counts
        pt = self.position_test
        cmp_cols = ["log_likelihood", "perplexity"] + [x for x in self.comparison.columns
                                                        if x.startswith("perplexity_")] + \
            ["ll_diff_vs_ref", "ll_diff_se", "z"]
        parts = [
            "## Click-log analysis",
            f"{c['n']} rows ({c['n_train']} train / {c['n_test']} held out, split by time), {c['n_items']} items, "
            f"{c['clicks']} clicks ({c['clicks_train']} in train, {c['clicks_test']} held out); "
            f"{c['items_without_train_click']} items have no click in the training part.",
            "### CTR by position (whole log, 95% Wilson intervals)", table(self.ctr_by_position),
            "### Examination relative to the top slot (PBM on the training part, 95% intervals)",
            table(self.examination),
            "### Do positions differ? (whole log)",
            f"chi-square on (slot x click): {pt['chi2']:.3g} on {pt['chi2_dof']} df, p = {pt['chi2_p']:.3g}; "
            f"likelihood ratio PBM vs per-item CTR: {pt['lr']:.3g} on {pt['lr_dof']} df, p = {pt['lr_p']:.3g}.",
            f"### Held-out comparison (reference: {self.comparison.attrs.get('reference')})",
            table(self.comparison[cmp_cols]),
            "### What the data can and cannot distinguish",
            "\n".join(f"- {s}" for s in self.conclusions),
        ]
        return "\n\n".join(parts) + "\n"


def analyze_position_log(log: BanditLog, train_frac: float = 0.8, alpha: float = 0.05,
                         prior: tuple[float, float] = (1.0, 1.0)) -> PositionAnalysis:
    """Analyse a log of (item, position, click) rows in time order (see the module docstring)."""
    rows = as_rows(log)
    train, test = time_split(log, train_frac)
    tr, te = as_rows(train), as_rows(test)
    k = int(rows.pos.max()) + 1
    z = stats.norm.ppf(1 - alpha / 2)
    shows = np.bincount(rows.pos, minlength=k)
    clicks = np.bincount(rows.pos, rows.click, minlength=k)
    from ..reports.verdict import wilson  # imported here: simrec.reports brings matplotlib

    lo, hi = wilson(clicks, shows, z)
    ctr = pd.DataFrame({"shows": shows, "clicks": clicks.astype(int), "ctr": clicks / np.maximum(shows, 1),
                        "ci_low": lo, "ci_high": hi}, index=pd.Index(range(k), name="position"))
    pbm = PositionBasedModel(prior=prior).fit(train, n_positions=k)
    rel, se = pbm.relative_examination_, pbm.relative_examination_se_
    exam = pd.DataFrame({"examination_vs_top": rel, "se": se, "ci_low": rel - z * se, "ci_high": rel + z * se},
                        index=pd.Index(range(k), name="position"))
    pt = position_test(log, k)
    ctr_train = max(float(tr.click.mean()), 1e-6)
    shrink = (1.0, 1.0 / ctr_train - 1.0)  # a prior worth one click, centred on the training CTR
    models: dict[str, ClickModel] = {
        "global CTR": ClickThroughRateModel("global", prior),
        "position CTR": ClickThroughRateModel("position", prior),
        "item CTR": ClickThroughRateModel("item", prior),
        "item CTR (shrunk)": ClickThroughRateModel("item", shrink),
        "PBM": PositionBasedModel(prior=prior),
    }
    comp = compare_models(models, train, test, reference="global CTR")
    item_clicks = np.bincount(tr.item, tr.click, minlength=rows.n_items)
    seen = np.bincount(rows.item, minlength=rows.n_items) > 0
    counts = {"n": len(rows), "n_train": len(tr), "n_test": len(te), "n_items": int(seen.sum()),
              "clicks": int(rows.click.sum()), "clicks_train": int(tr.click.sum()), "clicks_test": int(te.click.sum()),
              "items_without_train_click": int((seen & (item_clicks == 0)).sum())}
    concl = []
    sig = pt["chi2_p"] < alpha and pt["lr_p"] < alpha
    cis = ", ".join(f"[{a:.2f}, {b:.2f}]" for a, b in zip(exam.ci_low[1:], exam.ci_high[1:]))
    concl.append(
        f"Positions: p = {pt['chi2_p']:.2g} (chi-square) and {pt['lr_p']:.2g} (likelihood ratio): "
        + ("the data show that click rates differ by position." if sig else
           f"the data do not show that examination differs by position at the {alpha:.0%} level; the "
           f"intervals of examination relative to the top slot ({cis}) "
           "are too wide to rule out equal examination or sizeable differences."))
    for name in ("position CTR", "item CTR", "item CTR (shrunk)", "PBM"):
        r = comp.loc[name]
        verdict = ("better than" if r.z > 2 else "worse than" if r.z < -2 else "not distinguishable from")
        concl.append(f"{name} vs global CTR on held-out data: log-likelihood difference per row "
                     f"{r.ll_diff_vs_ref:+.2e} (se {r.ll_diff_se:.1e}, z = {r.z:+.1f}): {verdict} the global CTR.")
    d = test.reward.size
    concl.append(f"The held-out part has {counts['clicks_test']} clicks in {d} rows; "
                 f"{counts['items_without_train_click']} of {counts['n_items']} items have no training click, so "
                 "their attractiveness rests on the prior pseudo-counts and the few non-clicks alone: "
                 "item-level differences cannot be estimated.")
    return PositionAnalysis(counts, ctr, exam, pt, comp, concl)
