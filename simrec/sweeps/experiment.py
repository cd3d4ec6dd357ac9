"""Experiment sweeps (``kind = "experiment"``): simulated A/B tests analysed and scored against the truth.

A sweep file of this kind names worlds, comparisons (a control and a treatment policy), the size and
length of each experiment, the metrics, the analyses and the number of replicate experiments
(seeds). For every (world, comparison) the true effect of each metric is computed once from paired
users with common random numbers; every (world, comparison, seed) is one run: a fresh simulated
experiment (new units, new assignment), analysed by each method. One row per run x metric x method
records the estimate, its interval, the true effect, coverage and the launch decision, plus the
run's sample-ratio-mismatch p-value (``srm_p_value``) and Holm-adjusted p-values across the metrics
of each method (``p_holm``).

Methods: ``welch`` (difference in means), ``cuped`` (covariate: the user's clicks in a pre-period
session), ``lift`` (relative), ``msprt`` (always-valid test at ``msprt_peeks`` equally spaced looks;
its confidence sequence is the interval), ``ratio`` (clicks per session, delta method), or the name
of any registered estimator of the ``experiment`` family (``DiffInMeans``, ``CUPED``, ...), run on an
:class:`~simrec.estimators.experiments.ExperimentLog` of the metric with ``pre_clicks`` as covariate
and ``sessions`` as denominator.

>>> spec = ExperimentSweepSpec.model_validate({"kind": "experiment", "name": "demo", "seeds": 2,
...     "comparisons": [{"name": "cb", "control": "relevance", "treatment": {"clickbait": 0.3}}]})
>>> spec.seeds, spec.analysis.methods
((0, 1), ('welch', 'cuped', 'lift', 'msprt'))

Output (like every sweep) under ``reports/<name>/``: ``runs/`` (one Parquet file per run, written
atomically; a rerun skips finished runs), ``truth.parquet``, ``results.parquet`` and the report.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import ConfigError
from .grid import derive_seed, stable_hash

__all__ = ["ExperimentSweepSpec", "is_experiment_file", "load_experiment_sweep", "run_experiment_sweep",
           "analyse_run", "METHODS"]

#: analysis methods a sweep may name
METHODS = ("welch", "cuped", "lift", "msprt", "ratio")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WorldEntry(_Strict):
    preset: str = "clickbait"
    overrides: dict[str, Any] = Field(default_factory=dict)
    seed: int = Field(0, ge=0)

    @property
    def key(self) -> str:
        return self.preset if not self.overrides else f"{self.preset}-{stable_hash(self.overrides)[:6]}"


class Comparison(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    control: Any = "relevance"
    treatment: Any = "clickbait"
    treatment_sessions: int | None = Field(None, ge=1)


class ExperimentDesign(_Strict):
    n_users: int = Field(2000, ge=8)
    horizon_days: int = Field(14, ge=1)
    p_treatment: float = Field(0.5, gt=0, lt=1)
    n_truth: int = Field(8000, ge=100, description="paired users for the true effects")


class AnalysisSpec(_Strict):
    methods: tuple[str, ...] = ("welch", "cuped", "lift", "msprt")
    metrics: tuple[str, ...] = ("sessions", "clicks", "ctr_first")
    north_star: str = "sessions"
    alpha: float = Field(0.05, gt=0, lt=1)
    msprt_peeks: int = Field(50, ge=2)

    @field_validator("methods")
    @classmethod
    def _methods(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        from ..estimators import registry

        known = registry.names("experiment")
        bad = [m for m in v if m not in METHODS and m.lower() not in {k.lower() for k in known}]
        if bad:
            raise ValueError(f"unknown method(s) {bad}; known: {', '.join(METHODS)} or a registered experiment "
                             f"estimator ({', '.join(known)})")
        return v


class ExperimentSweepSpec(_Strict):
    """A validated experiment sweep (unknown keys are errors)."""

    kind: Literal["experiment"] = "experiment"
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = ""
    seeds: tuple[int, ...] = (0,)
    worlds: tuple[WorldEntry, ...] = (WorldEntry(),)
    comparisons: tuple[Comparison, ...]
    experiment: ExperimentDesign = ExperimentDesign()
    analysis: AnalysisSpec = AnalysisSpec()
    output: str | None = None

    @field_validator("seeds", mode="before")
    @classmethod
    def _seeds(cls, v: Any) -> Any:
        if isinstance(v, int) and not isinstance(v, bool):
            if v < 1:
                raise ValueError("`seeds` must be >= 1 (a count) or a list of seeds")
            return tuple(range(v))
        return v

    @property
    def output_dir(self) -> Path:
        return Path(self.output) if self.output else Path("reports") / self.name


def _read(path: Path) -> dict[str, Any]:
    import yaml

    text = Path(path).read_text(encoding="utf-8")
    if path.suffix.lower() == ".toml":
        return tomllib.loads(text)
    if path.suffix.lower() in (".yaml", ".yml"):
        return yaml.safe_load(text) or {}
    raise ConfigError(f"a sweep file must end in .toml, .yaml or .yml; got {path.name!r}")


def is_experiment_file(path: str | Path) -> bool:
    """Whether the sweep file at ``path`` declares ``kind = "experiment"`` (False if unreadable)."""
    try:
        return _read(Path(path)).get("kind") == "experiment"
    except Exception:  # noqa: BLE001 - not ours: the regular loader reports the problem
        return False


def load_experiment_sweep(path: str | Path, overrides: tuple[str, ...] | list[str] = ()) -> ExperimentSweepSpec:
    """Read and validate an experiment sweep file (``--set key=value`` overrides applied first)."""
    from .spec import SweepSpecError, apply_overrides

    data = apply_overrides(_read(Path(path)), list(overrides)) if overrides else _read(Path(path))
    try:
        spec = ExperimentSweepSpec.model_validate(data)
    except ValidationError as exc:
        raise SweepSpecError([(".".join(map(str, e["loc"])) or "<root>", e["msg"]) for e in exc.errors()],
                             str(path)) from None
    from ..experiments_sim import METRICS, make_policy
    from ..sim import World

    problems = []
    for i, w in enumerate(spec.worlds):
        try:
            World({"preset": w.preset, **w.overrides}, seed=w.seed)
        except Exception as exc:  # noqa: BLE001 - collected and reported together
            problems.append((f"worlds.{i}", str(exc)))
    for i, c in enumerate(spec.comparisons):
        for side in ("control", "treatment"):
            try:
                make_policy(getattr(c, side))
            except Exception as exc:  # noqa: BLE001
                problems.append((f"comparisons.{i}.{side}", str(exc)))
    for m in (*spec.analysis.metrics, spec.analysis.north_star):
        if m not in METRICS:
            problems.append(("analysis.metrics", f"unknown metric {m!r}; known: {', '.join(METRICS)}"))
    if len({c.name for c in spec.comparisons}) != len(spec.comparisons):
        problems.append(("comparisons", "comparison names must be unique"))
    if problems:
        raise SweepSpecError(problems, str(path))
    return spec


# -- one run -----------------------------------------------------------------------------------------------
def analyse_run(data: pd.DataFrame, metrics: tuple[str, ...], methods: tuple[str, ...], alpha: float,
                msprt_peeks: int = 50) -> list[dict[str, Any]]:
    """Analyse one simulated experiment: one row per metric x method (effect, interval, p-value)."""
    from ..estimators import experiments as ex
    from ..estimators import registry

    t = data["treatment"].to_numpy()
    rows = []
    for m in metrics:
        y = data[m].to_numpy(dtype=np.float64)
        for meth in methods:
            row: dict[str, Any] = {"metric": m, "method": meth}
            try:
                if meth == "welch":
                    r = ex.analyze_ab(y, t, alpha=alpha)
                    e = r.diff
                elif meth == "lift":
                    r = ex.analyze_ab(y, t, alpha=alpha)
                    e = r.lift
                elif meth == "cuped":
                    r = ex.cuped(y, t, data["pre_clicks"].to_numpy(), alpha=alpha, balance_threshold=0.0)
                    e = r.diff
                    row["variance_reduction"] = r.diagnostics["variance_reduction"]
                elif meth == "ratio":
                    if m != "clicks":
                        continue  # the ratio metric is clicks per session
                    r = ex.ratio_metric(y, data["sessions"].to_numpy(float), t, alpha=alpha)
                    e = r.diff
                    row["metric"] = "clicks_per_session"
                elif meth not in METHODS:  # a registered estimator of the experiment family
                    log = ex.ExperimentLog(y, t, covariate=data["pre_clicks"].to_numpy(float),
                                           denominator=data["sessions"].to_numpy(float))
                    est = registry.make(meth)
                    e = est.estimate(log, alpha=alpha)
                    row.update(estimate=e.value, stderr=e.stderr, ci_low=e.ci[0], ci_high=e.ci[1],
                               p_value=e.diagnostics.get("p_value", float("nan")))
                    if registry.get(meth).name == "RelativeLift":
                        row["method"] = "lift"
                    rows.append(row)
                    continue
                else:  # msprt: always-valid test, evaluated at equally spaced peeks
                    sd = float(np.std(y, ddof=1)) or 1.0
                    test = ex.MSPRT(alpha=alpha, tau2=(0.1 * sd) ** 2)
                    pk = np.unique(np.linspace(len(y) / msprt_peeks, len(y), msprt_peeks).astype(int))
                    path = test.path(y, t, peeks=pk)
                    hit = np.flatnonzero(path["reject"])
                    d = float(path["diff"][-1])
                    row.update(estimate=d, stderr=float(np.sqrt(path["variance"][-1])),
                               ci_low=float(path["ci_low"][-1]), ci_high=float(path["ci_high"][-1]),
                               p_value=float(path["p_value"][-1]),
                               stopped_at=float(pk[hit[0]] / len(y)) if hit.size else 1.0)
                    rows.append(row)
                    continue
                row.update(estimate=e.value, stderr=e.stderr, ci_low=e.ci[0], ci_high=e.ci[1], p_value=r.p_value)
            except Exception as exc:  # noqa: BLE001 - recorded: one bad analysis does not lose the run
                row.update(error=f"{type(exc).__name__}: {exc}")
            rows.append(row)
    return rows


def _score(rows: list[dict[str, Any]], truth: dict[str, float], truth_lift: dict[str, float],
           alpha: float) -> None:
    for r in rows:
        m = r["metric"]
        true = truth_lift.get(m) if r["method"] == "lift" else truth.get(m)
        r["true_effect"] = float("nan") if true is None else true
        if "estimate" not in r or true is None:
            continue
        r["covered"] = bool(r["ci_low"] <= true <= r["ci_high"])
        sig = r["p_value"] < alpha
        r["significant"] = bool(sig)
        r["decision"] = "launch" if sig and r["estimate"] > 0 else ("reject" if sig else "flat")
        # decision errors against the truth: a significant effect of the wrong sign (type S), a
        # significant effect where the truth is zero to rounding (type I), a miss (no decision)
        r["sign_error"] = bool(sig and np.sign(r["estimate"]) != np.sign(true) and true != 0)
        r["miss"] = bool(not sig and true != 0)


def _truth(spec: ExperimentSweepSpec, w: WorldEntry, c: Comparison) -> dict[str, Any]:
    """True effects of a comparison: ``n_truth`` paired users under both policies (common random numbers)."""
    from ..experiments_sim import METRICS, _treated, make_policy, run_users
    from ..sim import World

    world = World({"preset": w.preset, **w.overrides}, seed=w.seed)
    rng = np.random.default_rng(derive_seed("truth", w.key, c.model_dump(mode="json"), spec.experiment.horizon_days))
    n = spec.experiment.n_truth
    users, seeds = rng.integers(0, world.n_users, n), rng.integers(0, 2**62, n)
    ctl, trt = make_policy(c.control), make_policy(c.treatment)
    h = spec.experiment.horizon_days
    y0 = run_users(world, ctl, users, seeds, h)
    y1 = _treated(world, trt, ctl, users, seeds, h, c.treatment_sessions)
    out: dict[str, Any] = {"world": w.key, "comparison": c.name}
    for m in METRICS:
        d = y1[m] - y0[m]
        out[f"true_{m}"] = float(d.mean())
        out[f"true_se_{m}"] = float(d.std(ddof=1) / np.sqrt(n))
        base = float(y0[m].mean())
        out[f"true_lift_{m}"] = float(d.mean()) / base if base != 0 else float("nan")
    out["true_clicks_per_session"] = float(y1["clicks"].sum() / y1["sessions"].sum()
                                           - y0["clicks"].sum() / y0["sessions"].sum())
    return out


def _atomic_parquet(df: pd.DataFrame, path: Path) -> None:
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    df.to_parquet(tmp, index=False)
    os.replace(tmp, path)


_WORLDS: dict[str, Any] = {}


def _run_one(spec_data: dict[str, Any], wi: int, ci: int, seed: int, te: dict[str, float], tl: dict[str, float],
             rid: str, path: str) -> pd.DataFrame:
    """One experiment run (a process-pool task: plain arguments; the world is cached per process)."""
    from ..experiments_sim import simulate_ab
    from ..sim import World

    spec = ExperimentSweepSpec.model_validate(spec_data)
    w, c = spec.worlds[wi], spec.comparisons[ci]
    key = stable_hash([w.model_dump(mode="json")])
    if key not in _WORLDS:
        _WORLDS[key] = World({"preset": w.preset, **w.overrides}, seed=w.seed)
    sim = simulate_ab(_WORLDS[key], c.control, c.treatment, n_users=spec.experiment.n_users,
                      horizon_days=spec.experiment.horizon_days, p_treatment=spec.experiment.p_treatment,
                      seed=derive_seed("run", w.key, c.name, seed), n_truth=0, treatment_sessions=c.treatment_sessions)
    rows = analyse_run(sim.data, spec.analysis.metrics, spec.analysis.methods, spec.analysis.alpha,
                       spec.analysis.msprt_peeks)
    _score(rows, te, tl, spec.analysis.alpha)
    from ..estimators.experiments import multiple_testing, srm_check

    df = pd.DataFrame(rows).assign(run_id=rid, world=w.key, comparison=c.name, seed=seed,
                                   n_users=spec.experiment.n_users, north_star=spec.analysis.north_star,
                                   srm_p_value=srm_check(treatment=sim.data["treatment"].to_numpy(),
                                                         ratio=spec.experiment.p_treatment
                                                         / (1 - spec.experiment.p_treatment)).p_value)
    if "p_value" in df:  # Holm across the metrics of each method: the family-wise error of one experiment
        df["p_holm"] = np.nan
        for _, idx in df[df["p_value"].notna()].groupby("method").groups.items():
            df.loc[idx, "p_holm"] = multiple_testing(df.loc[idx, "p_value"].to_numpy(), "holm")[1]
    _atomic_parquet(df, Path(path))
    return df


def run_experiment_sweep(spec: ExperimentSweepSpec, out_dir: str | Path | None = None, *,
                         max_runs: int | None = None, progress: bool = False, n_jobs: int = 1) -> pd.DataFrame:
    """Run (or resume) an experiment sweep; returns the results table (also written to ``results.parquet``).

    ``n_jobs > 1`` runs the experiments in a local process pool (same run ids, same results)."""
    from ..experiments_sim import METRICS

    out = Path(out_dir) if out_dir is not None else spec.output_dir
    (out / "runs").mkdir(parents=True, exist_ok=True)
    truth_path = out / "truth.parquet"
    truth_old = pd.read_parquet(truth_path) if truth_path.exists() else pd.DataFrame()
    truths: list[dict[str, Any]] = []
    frames: dict[str, pd.DataFrame] = {}
    todo: list[tuple] = []
    order: list[str] = []
    spec_data = spec.model_dump(mode="json")
    for wi, w in enumerate(spec.worlds):
        for ci, c in enumerate(spec.comparisons):
            tkey = stable_hash([w.key, c.model_dump(mode="json"), spec.experiment.model_dump(mode="json")])[:12]
            old = truth_old[truth_old.get("truth_key", pd.Series(dtype=str)) == tkey] if len(truth_old) else []
            tr = old.iloc[0].to_dict() if len(old) else {**_truth(spec, w, c), "truth_key": tkey}
            truths.append(tr)
            te = {m: tr[f"true_{m}"] for m in METRICS}
            te["clicks_per_session"] = tr["true_clicks_per_session"]
            tl = {m: tr[f"true_lift_{m}"] for m in METRICS}
            for s in spec.seeds:
                rid = stable_hash([tkey, spec.analysis.model_dump(mode="json"), s])[:16]
                path = out / "runs" / f"{rid}.parquet"
                order.append(rid)
                if path.exists():
                    frames[rid] = pd.read_parquet(path)
                elif max_runs is None or len(todo) < max_runs:
                    todo.append((spec_data, wi, ci, s, te, tl, rid, str(path)))
    _atomic_parquet(pd.DataFrame(truths), truth_path)
    if n_jobs > 1 and len(todo) > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # spawn, not fork: the parent may already run OpenMP (numba, scikit-learn) threads
        with ProcessPoolExecutor(max_workers=n_jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            for args, df in zip(todo, pool.map(_run_one, *zip(*todo))):
                frames[args[6]] = df
                if progress:
                    print(f"  run {args[6]}: done", flush=True)
    else:
        for args in todo:
            frames[args[6]] = _run_one(*args)
            if progress:
                print(f"  run {args[6]}: done", flush=True)
    got = [frames[r] for r in order if r in frames]
    table = pd.concat(got, ignore_index=True) if got else pd.DataFrame()
    if not table.empty:
        _atomic_parquet(table, out / "results.parquet")
    return table


def run_experiment_cli(path: str | Path, overrides: tuple[str, ...], out_dir: Path | None, *,
                       max_runs: int | None = None, dry_run: bool = False, no_report: bool = False,
                       progress: bool = False, n_jobs: int | None = None, backend: str | None = None) -> None:
    """What ``simrec run FILE`` does for an experiment sweep: validate, run or resume, report."""
    import click

    from .spec import SweepSpecError

    try:
        spec = load_experiment_sweep(path, overrides)
    except SweepSpecError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None
    out = out_dir or spec.output_dir
    n_runs = len(spec.worlds) * len(spec.comparisons) * len(spec.seeds)
    if dry_run:
        click.echo(f"{spec.name}: {n_runs} experiment runs ({len(spec.worlds)} world(s) x {len(spec.comparisons)} "
                   f"comparison(s) x {len(spec.seeds)} seed(s)) -> {out}")
        return
    if backend not in (None, "local"):
        click.echo(f"note: experiment sweeps run on the local backend; --backend {backend} is ignored", err=True)
    table = run_experiment_sweep(spec, out, max_runs=max_runs, progress=progress, n_jobs=n_jobs or 1)
    n_done = table["run_id"].nunique() if not table.empty else 0
    click.echo(f"{spec.name}: {n_done}/{n_runs} runs finished -> {out}")
    if not no_report and not table.empty:
        from ..reports.experiment import build_experiment_report

        truth = pd.read_parquet(Path(out) / "truth.parquet")
        h, m = build_experiment_report(table, truth, spec.model_dump(mode="json"), out)
        click.echo(f"report: {h}  (Markdown: {m})")
