"""``simrec ab``: analyse an experiment table you bring with the registered experiment and causal estimators."""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import Any

import click

__all__ = ["ab_cmd"]

#: analyses run when none is named: what the table's columns allow
_DEFAULTS = (("DiffInMeans", None), ("RelativeLift", None), ("CUPED", "covariate"), ("RatioDelta", "denominator"),
             ("AIPW", "features"))


def _read_table(path: Path) -> Any:
    import pandas as pd

    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return pd.read_parquet(path)
    if suffix in (".csv", ".tsv"):
        return pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",")
    raise click.BadParameter(f"the table must be .parquet, .csv or .tsv; got {path.name!r}", param_hint="TABLE")


@click.command("ab", short_help="Analyse an A/B test table you bring (experiment and causal estimators).")
@click.argument("table_path", metavar="TABLE", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-y", "--outcome", required=True, help="Column of the metric per unit (the numerator of a ratio).")
@click.option("-t", "--treatment", default="treatment", show_default=True, help="Column of the 0/1 arm.")
@click.option("--covariate", default=None, help="Column of a pre-experiment covariate (CUPED).")
@click.option("--denominator", default=None, help="Column of a ratio metric's denominator (RatioDelta).")
@click.option("--features", default=None, metavar="COL,COL,...",
              help="Columns of pre-treatment unit features (CUPAC, AIPW, DRLearner, LinearDML, CausalForestDML).")
@click.option("--propensity", default=None, metavar="COLUMN|NUMBER",
              help="Known P(treatment | unit): a column, or the assignment rate of a randomised test.")
@click.option("--cluster", default=None, help="Column of cluster ids (units that are not independent).")
@click.option("-e", "--estimator", "estimators", multiple=True, metavar="EST",
              help="A registered experiment or causal estimator, optionally with parameters "
                   "('CUPED(theta=\"within\")'). Repeatable [default: DiffInMeans, RelativeLift, and "
                   "CUPED / RatioDelta / AIPW when their columns are given].")
@click.option("--alpha", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.05, show_default=True,
              help="Intervals at level 1 - alpha.")
@click.option("--expected-ratio", type=click.FloatRange(0, min_open=True), default=1.0, show_default=True,
              help="Designed treatment:control ratio, for the sample-ratio-mismatch check.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of cross-fitting folds and resamples.")
def ab_cmd(table_path: Path, outcome: str, treatment: str, covariate: str | None, denominator: str | None,
           features: str | None, propensity: str | None, cluster: str | None, estimators: tuple[str, ...],
           alpha: float, expected_ratio: float, fmt: str, seed: int) -> None:
    """Analyse the randomised experiment in TABLE (one row per unit) with every estimator named.

    \b
    Each estimator reads the same ExperimentLog built from the columns you name and reports the
    treatment effect with its interval and p-value; the sample-ratio-mismatch test of the arm
    sizes is printed with them. `simrec estimators --family experiment` and `--family causal`
    list what can be named.

    \b
    Examples:
      simrec ab users.parquet -y sessions
      simrec ab users.csv -y sessions --covariate pre_sessions -e DiffInMeans -e CUPED
      simrec ab users.parquet -y clicks --denominator sessions -e RatioDelta
      simrec ab users.parquet -y sessions --features pre_sessions,pre_clicks --propensity 0.5 -e AIPW -e LinearDML
    """
    import pandas as pd

    from .cli import _fail, _parse_call, _plain
    from .errors import SimrecError
    from .estimators import registry
    from .estimators.experiments import ExperimentLog, srm_check

    df = _read_table(table_path)
    feats = [c.strip() for c in features.split(",") if c.strip()] if features else None
    prop: str | float | None = propensity
    if propensity is not None:
        try:
            prop = float(propensity)  # a number: the assignment rate; else a column name
        except ValueError:
            pass
    try:
        log = ExperimentLog.from_frame(df, outcome, treatment, covariate=covariate, denominator=denominator,
                                       features=feats, cluster=cluster, propensity=prop)
    except SimrecError as exc:
        _fail(f"{table_path}: {exc}", code=2)
    given = {"covariate": covariate, "denominator": denominator, "features": feats}
    texts = estimators or tuple(name for name, col in _DEFAULTS if col is None or given[col])
    known = {n.lower() for fam in ("experiment", "causal") for n in registry.names(fam)}
    ests = []
    for text in texts:
        name, params = _parse_call(text)
        if name.lower() not in known:
            _fail(f"--estimator {text}: not an experiment or causal estimator; known: "
                  f"{', '.join(registry.names('experiment') + registry.names('causal'))}", code=2)
        info = registry.get(name)
        missing = [k for k in info.needs.inputs if getattr(log, k) is None]
        if missing:
            flags = ", ".join(f"--{k}" for k in missing)
            _fail(f"--estimator {text}: {info.name} needs {', '.join(missing)} (give {flags})", code=2)
        try:
            ests.append((text, registry.make(name, **{"random_state": seed, **params})))
        except SimrecError as exc:
            _fail(f"--estimator {text}: {exc}", code=2)
    rows = []
    for text, est in ests:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                e = est.estimate(log, alpha=alpha)
        except SimrecError as exc:
            _fail(f"--estimator {text}: {exc}")
        rows.append({"estimator": text, "effect": e.value, "stderr": e.stderr, "ci_low": e.ci[0], "ci_high": e.ci[1],
                     "p_value": e.p_value, "n": e.n,
                     "warnings": "; ".join(_plain(str(w.message)) for w in caught)})
    out = pd.DataFrame(rows)
    srm = srm_check(treatment=log.treatment, ratio=expected_ratio)
    n1 = int(log.treatment.sum())
    if fmt == "csv":
        click.echo(out.to_csv(index=False), nl=False)
    elif fmt == "json":
        click.echo(json.dumps({"estimates": out.to_dict(orient="records"),
                               "srm": {"p_value": srm.p_value, "n_treatment": n1, "n_control": len(log) - n1,
                                       "expected_ratio": expected_ratio}}, indent=2))
    else:
        click.echo(f"{table_path}: {len(log)} units ({n1} treatment, {len(log) - n1} control); effect of treatment "
                   f"on {outcome!r}; intervals at {1 - alpha:.0%}")
        click.echo(out.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        flag = "  MISMATCH: the arms are not in the designed ratio; do not trust the effects" if srm.mismatch else ""
        click.echo(f"sample-ratio check (expected {expected_ratio:g}:1): p = {srm.p_value:.3g}{flag}")
    sys.stdout.flush()
