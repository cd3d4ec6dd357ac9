"""Experiment sweeps (``kind = "experiment"``): simulated A/B tests analysed and scored against the truth.

A sweep file of this kind names worlds, comparisons (a control and a treatment policy), the size and
length of each experiment, the metrics, the analyses and the number of replicate experiments
(seeds). For every (world, comparison) the true effect of each metric is computed once from paired
users with common random numbers; every (world, comparison, seed) is one run: a fresh simulated
experiment (new units, new assignment), analysed by each method. One row per run x metric x method
records the estimate, its interval, the true effect, coverage and the launch decision, plus the
run's sample-ratio-mismatch p-value (``srm_p_value``) and Holm-adjusted p-values across the metrics
of each method (``p_holm``).

Methods: ``welch`` (difference in means), ``cuped`` (covariate: the same metric in a pre-period of the
same length under the control policy), ``lift`` (relative), ``msprt`` (always-valid test at
``msprt_peeks`` equally spaced looks; its confidence sequence is the interval), ``ratio`` (clicks per
session, delta method), or the name of any registered estimator of the ``experiment`` family
(``DiffInMeans``, ``CUPED``, ...) or the ``causal`` family (``AIPW``, ``DRLearner``, ``LinearDML``,
``CausalForestDML``), run on an :class:`~simrec.estimators.experiments.ExperimentLog` of the metric
with its pre-period value as covariate, ``sessions`` as denominator, every pre-period metric as the
unit features and the known assignment rate as propensity.

>>> spec = ExperimentSweepSpec.model_validate({"kind": "experiment", "name": "demo", "seeds": 2,
...     "comparisons": [{"name": "cb", "control": "relevance", "treatment": {"clickbait": 0.3}}]})
>>> spec.seeds, spec.analysis.methods
((0, 1), ('welch', 'cuped', 'lift', 'msprt'))

Runs execute on the ``local`` backend (serial or a process pool), ``dask`` or ``ray`` (section
``[execution]``: ``backend``, ``n_jobs``, ``address``; ``simrec run --backend/-j/--address`` override
it); the results do not depend on where they ran.

Output (like every sweep) under ``reports/<name>/``: ``runs/`` (one Parquet file per run, written
atomically; a rerun skips finished runs), ``truth.parquet``, ``results.parquet`` and the report.
"""

from __future__ import annotations

import json
import os
import sys
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import ConfigError
from .grid import derive_seed, stable_hash
from .schema import ExecutionSpec

if TYPE_CHECKING:
    from .backends import Backend

__all__ = ["ExperimentSweepSpec", "is_experiment_file", "load_experiment_sweep", "run_experiment_sweep",
           "analyse_run", "is_experiment_dir", "experiment_report", "METHODS"]

#: analysis methods a sweep may name
METHODS = ("welch", "cuped", "lift", "msprt", "ratio")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WorldEntry(_Strict):
    """A world: a preset with dotted-key overrides."""

    preset: str = Field("clickbait", description="world preset (`simrec presets`)")
    overrides: dict[str, Any] = Field(default_factory=dict, description="dotted keys, e.g. `population.n_users`")
    seed: int = Field(0, ge=0, description="the world's seed (catalog and population)")

    @property
    def key(self) -> str:
        """A short, stable name unique to the world: the preset, a hash of the overrides if any, and
        ``s<seed>`` for a seed other than 0 (e.g. ``clickbait``, ``clickbait-1a2b3c``, ``clickbait-s1``)."""
        key = self.preset if not self.overrides else f"{self.preset}-{stable_hash(self.overrides)[:6]}"
        return key if self.seed == 0 else f"{key}-s{self.seed}"


class Comparison(_Strict):
    """A control and a treatment policy tested against each other."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    control: Any = Field("relevance", description="`relevance`, `clickbait`, `mix:<w>` or a table of "
                         "MixPolicy fields (`clickbait`, `noise`, `seed`)")
    treatment: Any = Field("clickbait", description="as `control`")
    treatment_sessions: int | None = Field(None, ge=1, description="treated users see the treatment in their "
                                           "first sessions only, the control afterwards")


class ExperimentDesign(_Strict):
    """The size and length of each simulated experiment."""

    n_users: int = Field(2000, ge=8, description="units per experiment")
    horizon_days: int = Field(14, ge=1, description="days each user is followed (and the pre-period's length)")
    p_treatment: float = Field(0.5, gt=0, lt=1, description="share of units assigned to the treatment")
    n_truth: int = Field(8000, ge=100, description="paired users for the true effects")


class AnalysisSpec(_Strict):
    """How each experiment is analysed and judged."""

    methods: tuple[str, ...] = Field(("welch", "cuped", "lift", "msprt"), min_length=1,
                                     description="built-in analyses (`welch`, `cuped`, `lift`, `msprt`, `ratio`) "
                                     "or registered estimators (launch decisions: `welch`, else the first with a test)")
    metrics: tuple[str, ...] = Field(("sessions", "clicks", "ctr_first"), min_length=1,
                                     description="per-user metrics analysed")
    north_star: str = Field("sessions", description="the long-term outcome launch decisions are judged against")
    alpha: float = Field(0.05, gt=0, lt=1, description="test level; intervals are 1 - alpha")
    msprt_peeks: int = Field(50, ge=2, description="equally spaced looks of the always-valid test")

    @field_validator("methods")
    @classmethod
    def _methods(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        from ..estimators import registry

        known = [*registry.names("experiment"), *registry.names("causal")]
        bad = [m for m in v if m not in METHODS and m.lower() not in {k.lower() for k in known}]
        if bad:
            raise ValueError(f"unknown method(s) {bad}; known: {', '.join(METHODS)} or a registered experiment "
                             f"or causal estimator ({', '.join(known)})")
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
    execution: ExecutionSpec = ExecutionSpec()
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
    for m in spec.analysis.metrics:
        if m not in METRICS:
            problems.append(("analysis.metrics", f"unknown metric {m!r}; known: {', '.join(METRICS)}"))
    if spec.analysis.north_star not in spec.analysis.metrics:
        problems.append(("analysis.north_star", f"the north star {spec.analysis.north_star!r} must be one of "
                         f"analysis.metrics ({', '.join(spec.analysis.metrics)}): decisions are judged against "
                         "its true effect"))
    if len({c.name for c in spec.comparisons}) != len(spec.comparisons):
        problems.append(("comparisons", "comparison names must be unique"))
    keys = [w.key for w in spec.worlds]
    if len(set(keys)) != len(keys):
        dup = next(k for k in keys if keys.count(k) > 1)
        problems.append(("worlds", f"worlds must differ (preset, overrides or seed); world {dup!r} is listed "
                         f"{keys.count(dup)} times"))
    if problems:
        raise SweepSpecError(problems, str(path))
    return spec


# -- one run -----------------------------------------------------------------------------------------------
def analyse_run(data: pd.DataFrame, metrics: tuple[str, ...], methods: tuple[str, ...], alpha: float,
                msprt_peeks: int = 50, p_treatment: float = 0.5) -> list[dict[str, Any]]:
    """Analyse one simulated experiment: one row per metric x method (effect, interval, p-value)."""
    from ..estimators import experiments as ex
    from ..estimators import registry

    t = data["treatment"].to_numpy()
    features = data[[c for c in data.columns if c.startswith("pre_")]].to_numpy(float)
    rows = []
    for m in metrics:
        y = data[m].to_numpy(dtype=np.float64)
        ab = None  # Welch's difference and the lift come from one analysis of the metric
        for meth in methods:
            row: dict[str, Any] = {"metric": m, "method": meth}
            try:
                if meth in ("welch", "lift"):
                    r = ab = ab if ab is not None else ex.analyze_ab(y, t, alpha=alpha)
                    e = r.diff if meth == "welch" else r.lift
                elif meth == "cuped":
                    r = ex.cuped(y, t, data[f"pre_{m}"].to_numpy(float), alpha=alpha, balance_threshold=0.0)
                    e = r.diff
                    row["variance_reduction"] = r.diagnostics["variance_reduction"]
                elif meth == "ratio":
                    if m != "clicks":
                        continue  # the ratio metric is clicks per session
                    r = ex.ratio_metric(y, data["sessions"].to_numpy(float), t, alpha=alpha)
                    e = r.diff
                    row["metric"] = "clicks_per_session"
                elif meth not in METHODS:  # a registered estimator of the experiment or causal family
                    if "denominator" in registry.get(meth).needs.inputs:  # a ratio estimator: clicks / sessions
                        if m != "clicks":
                            continue
                        row["metric"] = "clicks_per_session"
                    log = ex.ExperimentLog(y, t, covariate=data[f"pre_{m}"].to_numpy(float),
                                           denominator=data["sessions"].to_numpy(float), features=features,
                                           propensity=p_treatment)
                    est = registry.make(meth, random_state=0)
                    e = est.estimate(log, alpha=alpha)
                    row.update(estimate=e.value, stderr=e.stderr, ci_low=e.ci[0], ci_high=e.ci[1],
                               p_value=e.p_value)
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

    world = _world(w)
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


def _world(w: WorldEntry) -> Any:
    """The world of an entry, built once per process."""
    from ..sim import World

    key = stable_hash([w.model_dump(mode="json")])
    if key not in _WORLDS:
        _WORLDS[key] = World({"preset": w.preset, **w.overrides}, seed=w.seed)
    return _WORLDS[key]


def _task(task: tuple) -> tuple[str, str, Any]:
    """A backend task (plain, picklable arguments): ``("truth", key, spec, wi, ci)`` computes the true
    effects of a comparison, ``("run", run_id, spec, wi, ci, seed, te, tl)`` one experiment run."""
    what, key, spec_data, wi, ci, *rest = task
    spec = ExperimentSweepSpec.model_validate(spec_data)
    if what == "truth":
        return what, key, {**_truth(spec, spec.worlds[wi], spec.comparisons[ci]), "truth_key": key}
    return what, key, _run_one(spec, wi, ci, *rest)


def _run_one(spec: ExperimentSweepSpec, wi: int, ci: int, seed: int, te: dict[str, float], tl: dict[str, float]
             ) -> pd.DataFrame:
    """One experiment run: simulate, analyse with every method, score against the truth."""
    from ..experiments_sim import simulate_ab

    w, c = spec.worlds[wi], spec.comparisons[ci]
    sim = simulate_ab(_world(w), c.control, c.treatment, n_users=spec.experiment.n_users,
                      horizon_days=spec.experiment.horizon_days, p_treatment=spec.experiment.p_treatment,
                      seed=derive_seed("run", w.key, c.name, seed), n_truth=0, treatment_sessions=c.treatment_sessions)
    rows = analyse_run(sim.data, spec.analysis.metrics, spec.analysis.methods, spec.analysis.alpha,
                       spec.analysis.msprt_peeks, spec.experiment.p_treatment)
    _score(rows, te, tl, spec.analysis.alpha)
    from ..estimators.experiments import multiple_testing, srm_check

    df = pd.DataFrame(rows).assign(world=w.key, comparison=c.name, seed=seed,
                                   n_users=spec.experiment.n_users, north_star=spec.analysis.north_star,
                                   srm_p_value=srm_check(treatment=sim.data["treatment"].to_numpy(),
                                                         ratio=spec.experiment.p_treatment
                                                         / (1 - spec.experiment.p_treatment)).p_value)
    if "p_value" in df:  # Holm across the metrics of each method: the family-wise error of one experiment
        df["p_holm"] = np.nan
        for _, idx in df[df["p_value"].notna()].groupby("method").groups.items():
            df.loc[idx, "p_holm"] = multiple_testing(df.loc[idx, "p_value"].to_numpy(), "holm")[1]
    return df


def run_experiment_sweep(spec: ExperimentSweepSpec, out_dir: str | Path | None = None, *,
                         max_runs: int | None = None, progress: bool | None = False,
                         backend: Backend | str | None = None, n_jobs: int | None = None,
                         address: str | None = None) -> pd.DataFrame:
    """Run (or resume) an experiment sweep; returns the results table (also written to ``results.parquet``).

    The true effects of each (world, comparison) and then the experiment runs execute on ``backend``
    (``"local"``, ``"dask"`` or ``"ray"``, or a :class:`~simrec.sweeps.backends.Backend`; default the
    file's ``[execution]``), with ``n_jobs`` workers at ``address``. Every result is written as soon as
    it arrives (``truth.parquet``, ``runs/<run_id>.parquet``, atomically), so an interrupted sweep
    resumes where it stopped; the table does not depend on the backend or the number of workers.
    """
    from .backends import resolve_backend

    out = Path(out_dir) if out_dir is not None else spec.output_dir
    (out / "runs").mkdir(parents=True, exist_ok=True)
    tmp = out / ".sweep.json.tmp"  # the config beside the results: `simrec report` re-renders from it
    tmp.write_text(json.dumps(spec.model_dump(mode="json"), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, out / "sweep.json")
    truth_path = out / "truth.parquet"
    truth_old = pd.read_parquet(truth_path) if truth_path.exists() else pd.DataFrame()
    spec_data = spec.model_dump(mode="json")
    pairs = [(wi, ci, stable_hash([w.key, c.model_dump(mode="json"), spec.experiment.model_dump(mode="json")])[:12])
             for wi, w in enumerate(spec.worlds) for ci, c in enumerate(spec.comparisons)]
    truths: dict[str, dict[str, Any]] = {}
    if len(truth_old):
        truths = {r["truth_key"]: r for r in truth_old.to_dict("records") if r["truth_key"] in {k for *_, k in pairs}}
    frames: dict[str, pd.DataFrame] = {}
    runs: dict[str, tuple[int, int, str, int]] = {}  # run id -> (world, comparison, truth key, seed), in order
    for wi, ci, tkey in pairs:
        for seed in spec.seeds:
            rid = stable_hash([tkey, spec.analysis.model_dump(mode="json"), seed])[:16]
            runs[rid] = (wi, ci, tkey, seed)
            if (out / "runs" / f"{rid}.parquet").exists():
                frames[rid] = pd.read_parquet(out / "runs" / f"{rid}.parquet")
    missing = [rid for rid in runs if rid not in frames][:max_runs]
    if missing:  # no backend is started when every run is on disk
        resolved = resolve_backend(backend, spec.execution, n_jobs, address)
        _execute(spec, spec_data, out, runs, missing, truths, frames, resolved, progress)
    if truths:
        _atomic_parquet(pd.DataFrame([truths[k] for *_, k in pairs if k in truths]), truth_path)
    got = [frames[r] for r in runs if r in frames]
    table = pd.concat(got, ignore_index=True) if got else pd.DataFrame()
    if not table.empty:
        _atomic_parquet(table, out / "results.parquet")
    return table


def _execute(spec: ExperimentSweepSpec, spec_data: dict[str, Any], out: Path,
             runs: dict[str, tuple[int, int, str, int]], missing: list[str], truths: dict[str, dict[str, Any]],
             frames: dict[str, pd.DataFrame],
             resolved: tuple[Backend, bool], progress: bool | None) -> None:
    """Compute the missing truths, then the missing runs, on the backend; save each as it arrives."""
    from tqdm.auto import tqdm

    from ..experiments_sim import METRICS
    from .runner import SweepInterrupted

    backend, own = resolved
    truth_path = out / "truth.parquet"
    bar = tqdm(total=len(missing), desc=f"{spec.name} [{backend.describe()}]", unit="run",
               disable=None if progress is None else not progress, file=sys.stderr, dynamic_ncols=True)
    try:
        todo_truth = sorted({runs[rid][:3] for rid in missing if runs[rid][2] not in truths})
        for _, key, tr in backend.map_unordered(_task, [("truth", k, spec_data, wi, ci) for wi, ci, k in todo_truth]):
            truths[key] = tr
            _atomic_parquet(pd.DataFrame(list(truths.values())), truth_path)
        tasks = []
        for rid in missing:
            wi, ci, tkey, seed = runs[rid]
            tr = truths[tkey]
            te = {m: tr[f"true_{m}"] for m in METRICS} | {"clicks_per_session": tr["true_clicks_per_session"]}
            tasks.append(("run", rid, spec_data, wi, ci, seed, te, {m: tr[f"true_lift_{m}"] for m in METRICS}))
        for _, rid, df in backend.map_unordered(_task, tasks):
            df.insert(0, "run_id", rid)
            _atomic_parquet(df, out / "runs" / f"{rid}.parquet")
            frames[rid] = df
            bar.update(1)
    except KeyboardInterrupt:
        raise SweepInterrupted(f"interrupted: {len(frames)} of {len(runs)} runs are finished and saved under "
                               f"{str(out / 'runs')!r}; rerun the same command to resume") from None
    finally:
        bar.close()
        if own:
            backend.close()


def run_experiment_cli(path: str | Path, overrides: tuple[str, ...], out_dir: Path | None, *,
                       max_runs: int | None = None, dry_run: bool = False, no_report: bool = False,
                       progress: bool | None = None, n_jobs: int | None = None, backend: str | None = None,
                       address: str | None = None) -> None:
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
    from ..errors import SweepError
    from .runner import SweepInterrupted

    try:
        table = run_experiment_sweep(spec, out, max_runs=max_runs, progress=progress, backend=backend,
                                     n_jobs=n_jobs, address=address)
    except SweepInterrupted as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(130) from None
    except SweepError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(1) from None
    n_done = table["run_id"].nunique() if not table.empty else 0
    click.echo(f"{spec.name}: {n_done}/{n_runs} runs finished -> {out}")
    if not no_report and not table.empty:
        h, m = experiment_report(out)
        click.echo(f"report: {h}  (Markdown: {m})")


def is_experiment_dir(path: str | Path) -> bool:
    """Whether ``path`` (a sweep folder or its ``results.parquet``) holds an experiment sweep's output."""
    p = Path(path)
    d = p.parent if p.suffix == ".parquet" else p
    try:
        return json.loads((d / "sweep.json").read_text(encoding="utf-8")).get("kind") == "experiment"
    except (OSError, ValueError):
        return False


def experiment_report(path: str | Path, out_dir: str | Path | None = None) -> tuple[Path, Path]:
    """(Re)write the report of the experiment sweep whose output is at ``path`` (its folder or its
    ``results.parquet``) into ``out_dir`` (default: that folder); returns the HTML and Markdown paths."""
    from ..errors import SweepError
    from ..reports.experiment import build_experiment_report

    p = Path(path)
    d = p.parent if p.suffix == ".parquet" else p
    if not (d / "results.parquet").exists():
        raise SweepError(f"no results.parquet under {str(d)!r}: run the experiment sweep first")
    config = json.loads((d / "sweep.json").read_text(encoding="utf-8"))
    truth = pd.read_parquet(d / "truth.parquet") if (d / "truth.parquet").exists() else None
    return build_experiment_report(pd.read_parquet(d / "results.parquet"), truth, config, out_dir or d)
