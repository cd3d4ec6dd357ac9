"""The ``simrec`` command: run sweeps, write reports, list environments, evaluate your own logs.

Examples
--------
.. code-block:: console

    $ simrec run examples/quickstart.toml            # sweep + report in reports/quickstart/
    $ simrec run sweep.yaml --backend dask -j 4      # same results on a Dask LocalCluster
    $ simrec report reports/quickstart               # (re)write report.html / report.md
    $ simrec envs                                    # registered environments and their spaces
    $ simrec ope my_log.parquet --policy uniform     # OPE of a log you bring
    $ simrec policies | simrec estimators | simrec presets clickbait   # what exists, with defaults
"""

from __future__ import annotations

import ast
import importlib
import json
import re
import sys
from pathlib import Path
from typing import Any

import click

__all__ = ["main", "cli"]

_SCHEMA_HELP = """\b
A minimal sweep file (TOML; the same keys work in YAML):
    name = "mysweep"                 # output goes to reports/mysweep/
    seeds = 3                        # or a list: [0, 1, 2]
    horizon = 100                    # rounds per simulator episode
    train_rounds = 1000              # online training of learning targets
    worlds = [{preset = "default", population.n_users = 200}]
    policies = ["uniform", "oracle", {name = "linucb", params = {alpha = 1.0}}]
    logging = {policy = "softmax", n = 5000}
    estimators = ["IPS", "SNIPS", "DM", "DR", {name = "SwitchDR", params = {tau = 5}}]
Optional tables: [reward_model] model/alpha/per_action/n_folds, [truth] episodes/train_batch,
[interval] alpha/method, [execution] backend/n_jobs/address, and output = "some/dir".
Every problem in a file is listed with its path before anything runs.
"""


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(package_name="simrec", prog_name="simrec")
def cli() -> None:
    """simrec: recommender simulation and offline evaluation.

    \b
    Typical session:
      simrec run examples/quickstart.toml     run a sweep, write reports/quickstart/report.html
      simrec report reports/quickstart        rebuild the report from the results table
      simrec envs                             the environments a policy can be run in
      simrec ope log.parquet --policy uniform off-policy evaluation of a log you bring
      simrec policies / estimators / presets  what exists, with parameters and defaults

    A sweep runs every target policy in a simulated world to get its true value, collects a log
    with a logging policy, estimates each target's value from the log with every estimator, and
    scores the estimates against the truth. Run `simrec COMMAND --help` for each command.
    """


# ---- run ----------------------------------------------------------------------------------------
@cli.command("run", epilog=_SCHEMA_HELP, short_help="Run or resume a sweep file and write its report.")
@click.argument("sweep", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--backend", type=click.Choice(["local", "dask", "ray"]), default=None,
              help="Where runs execute [default: the file's execution.backend, else local].")
@click.option("-j", "--n-jobs", type=int, default=None,
              help="Parallel workers (local process pool, Dask workers, Ray CPUs); -1 = all cores.")
@click.option("--address", default=None, help="Dask scheduler (tcp://host:8786) or Ray cluster (auto, ray://...).")
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder [default: reports/<sweep name>].")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a field of the file, e.g. --set seeds=5 --set worlds.0.population.n_users=200.")
@click.option("--retry-failed", is_flag=True, help="Rerun runs recorded as failed (finished runs are always kept).")
@click.option("--max-runs", type=int, default=None, help="Execute at most N runs now; a later call resumes.")
@click.option("--dry-run", is_flag=True, help="Validate the file and list the runs; run nothing.")
@click.option("--no-report", is_flag=True, help="Write the results table only.")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar with ETA on stderr [default: when stderr is a terminal].")
def run_cmd(sweep: Path, backend: str | None, n_jobs: int | None, address: str | None, out_dir: Path | None,
            overrides: tuple[str, ...], retry_failed: bool, max_runs: int | None, dry_run: bool, no_report: bool,
            progress: bool | None) -> None:
    """Run (or resume) the sweep in SWEEP, a .toml or .yaml file, and write its report.

    \b
    Output (see the "Sweep files" page of the documentation, docs/sweeps.md), under reports/<name>/
    unless --out or `output` say otherwise:
      runs/<run_id>.parquet   one file per finished run, written atomically
      results.parquet         the results table: one row per run x target policy x estimator
      report.html, report.md, figures/
    Rerunning the same command resumes: finished runs are skipped, failed ones are kept unless
    --retry-failed. A failing run is recorded with its traceback; the others still run.

    \b
    Examples:
      simrec run examples/quickstart.toml
      simrec run sweep.toml -j 2                        two local worker processes
      simrec run sweep.toml --backend dask -j 4         a Dask LocalCluster of 4 workers
      simrec run sweep.toml --backend ray --address auto
    """
    from .errors import SweepError
    from .sweeps import load_sweep, plan, run_sweep
    from .sweeps.spec import SweepSpecError

    try:
        spec = load_sweep(sweep, overrides)
    except SweepSpecError as exc:
        _fail(str(exc), code=2)
    out = out_dir or spec.output_dir
    if dry_run:
        tasks, todo, _ = plan(spec, out, retry_failed)
        click.echo(f"{spec.name}: {len(tasks)} runs ({len(todo)} to execute) -> {out}")
        for t in tasks:
            mark = "todo" if t in todo else "done"
            click.echo(f"  {t.run_id}  {mark}  world={t.world_key} logging={t.logging['key']} "
                       f"n={t.n_log} seed={t.seed}")
        return
    try:
        result = run_sweep(spec, backend, out_dir=out, n_jobs=n_jobs, address=address,
                           retry_failed=retry_failed, progress=progress, max_runs=max_runs)
    except SweepError as exc:
        _fail(str(exc))
    click.echo(result.summary())
    for rid in result.failed_ids[:10]:
        click.echo(f"  failed: {out / 'runs' / (rid + '.parquet')}", err=True)
    if not no_report:
        from .reports import build_report

        rep = build_report(result.table, spec.model_dump(mode="json"), out)
        click.echo(f"report: {rep.html}  (Markdown: {rep.markdown})")


# ---- report -------------------------------------------------------------------------------------
@cli.command("report", short_help="Rebuild the HTML/Markdown report of a results table.")
@click.argument("results", type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where to write report.html, report.md and figures/ [default: next to the results].")
def report_cmd(results: Path, out_dir: Path | None) -> None:
    """Write the HTML and Markdown report of RESULTS (a results.parquet or a sweep folder).

    \b
    The report shows each target policy's estimates with intervals against the truth, estimator
    bias/RMSE/coverage across seeds, the policy ranking offline vs online, weight diagnostics,
    failures, and the sweep config with versions. report.html is self-contained (figures inline).

    \b
    Example:
      simrec report reports/quickstart
    """
    from .errors import SweepError
    from .reports import report_from_results

    try:
        rep = report_from_results(results, out_dir)
    except SweepError as exc:
        _fail(str(exc))
    click.echo(f"report: {rep.html}  (Markdown: {rep.markdown}, {len(rep.figures)} figures)")


# ---- envs ---------------------------------------------------------------------------------------
@cli.command("envs", short_help="List the registered environments and their spaces.")
@click.option("--world", default="default", show_default=True, help="World preset the spaces are shown for.")
def envs_cmd(world: str) -> None:
    """List the registered simrec environments and their spaces.

    \b
    Example:
      simrec envs --world cold-start
    Use one in Python with gymnasium.make("simrec/Bandit-v0", world="default").
    """
    import gymnasium as gym

    import simrec

    from .errors import ConfigError
    from .sim import presets

    try:
        presets.get(world)
    except ConfigError as exc:
        _fail(str(exc), code=2)
    click.echo(f"world preset {world!r}: {presets.describe(world)}")
    for env_id in simrec.envs.ENV_IDS:
        env = gym.make(env_id, world=world, disable_env_checker=True)
        spec = gym.spec(env_id)
        doc = (sys.modules[type(env.unwrapped).__module__].__doc__ or "").strip().splitlines()
        click.echo(f"\n{env_id}  (vector: {'yes' if spec.vector_entry_point else 'no'})")
        if doc:
            click.echo(f"  {doc[0]}")
        click.echo(f"  observation_space: {env.observation_space}")
        click.echo(f"  action_space:      {env.action_space}")
        env.close()
    click.echo(f"\nworld presets: {', '.join(presets.names())}")


# ---- ope ----------------------------------------------------------------------------------------
_DEFAULT_ESTIMATORS = ("IPS", "SNIPS", "DM", "DR", "SNDR")


def _parse_call(text: str) -> tuple[str, dict[str, Any]]:
    """``name`` or ``name(k=v, ...)`` with Python literal values."""
    m = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*(?:\((.*)\))?\s*", text)
    if not m:
        raise click.BadParameter(f"expected NAME or NAME(key=value, ...); got {text!r}")
    name, inner = m.group(1), m.group(2)
    params: dict[str, Any] = {}
    if inner and inner.strip():
        try:
            call = ast.parse(f"f({inner})", mode="eval").body
            assert isinstance(call, ast.Call) and not call.args
            params = {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords}
        except (SyntaxError, ValueError, AssertionError):
            raise click.BadParameter(f"parameters must be key=literal pairs; got {inner!r}") from None
    return name, params


def _target_dist(spec: str, log: Any) -> tuple[str, Any]:
    """A target given on the command line -> (name, action distribution (n, n_actions[, n_slots]))."""
    import numpy as np

    from .sweeps import _registry

    path = Path(spec)
    if path.suffix in (".npy", ".npz"):
        if not path.is_file():
            raise click.BadParameter(f"target file {spec!r} does not exist (a .npy/.npz file of target "
                                     "probabilities, one row per log row)")
        arr = np.load(path)
        if isinstance(arr, np.lib.npyio.NpzFile):
            arr = arr[arr.files[0]]
        return path.stem, np.asarray(arr, dtype=np.float64)
    if ":" in spec and "(" not in spec:
        mod, _, attr = spec.partition(":")
        try:
            obj = getattr(importlib.import_module(mod), attr)
        except (ImportError, AttributeError) as exc:
            raise click.BadParameter(f"cannot import {spec!r}: {exc}") from None
        if hasattr(obj, "action_probs"):
            return attr, obj.action_probs(log.context)
        if callable(obj):
            return attr, obj(log.context)
        raise click.BadParameter(f"{spec!r} is neither a policy (with action_probs) nor a callable")
    name, params = _parse_call(spec)
    import gymnasium as gym

    from .policies.base import BasePolicy

    ctx = np.zeros((log.n, 1)) if log.context is None else log.context
    spaces = (gym.spaces.Box(-np.inf, np.inf, shape=(ctx.shape[1],), dtype=np.float32),
              gym.spaces.Discrete(log.n_actions))
    pol = _registry.make_policy(name, spaces, params)
    if type(pol).update is not BasePolicy.update:
        raise click.BadParameter(
            f"policy {name!r} learns from feedback and has not been trained here: evaluated untrained it is "
            "just its initial (near-uniform) policy. Train it and pass its probabilities on the log's "
            "contexts as a .npy file, or as module:object (a trained policy or a function)")
    if log.context is None and name != "uniform":
        raise click.BadParameter(f"policy {name!r} needs contexts, but the log has no context columns")
    return spec.strip(), pol.action_probs(ctx)


def _fit_target(dist: Any, log: Any, spec: str) -> Any:
    """Check a target's shape against the log; a 2-D target on a positioned log is used in every slot."""
    import numpy as np

    if dist.ndim not in (2, 3) or dist.shape[0] != log.n:
        raise click.BadParameter(f"target {spec!r} must have shape (n, n_actions) = ({log.n}, {log.n_actions}) "
                                 f"or (n, n_actions, n_slots) on a log with positions; got {dist.shape}")
    if dist.shape[1] != log.n_actions:
        hint = (" (some actions never occur in the log? pass --n-actions "
                f"{dist.shape[1]})" if dist.shape[1] > log.n_actions else "")
        raise click.BadParameter(f"target {spec!r} has {dist.shape[1]} actions, the log {log.n_actions}{hint}")
    if dist.ndim == 2 and log.position is not None:
        return np.repeat(dist[:, :, None], log.n_slots, axis=2)
    return dist


@cli.command("ope", short_help="Off-policy evaluation of a BanditLog Parquet file you bring.")
@click.argument("log_path", metavar="LOG.parquet", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-p", "--policy", "policies", multiple=True, required=True, metavar="TARGET",
              help="Target policy: a registered name with optional parameters ('softmax(temperature=0.5)'), "
                   "a .npy file of action probabilities (one row per log row), or module:object (a policy or a "
                   "function context -> probabilities). Repeatable.")
@click.option("-e", "--estimator", "estimators", multiple=True, metavar="EST",
              help=f"Estimator, optionally with parameters ('SwitchDR(tau=5)'). Repeatable "
                   f"[default: {', '.join(_DEFAULT_ESTIMATORS)}].")
@click.option("--alpha", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.05, show_default=True,
              help="Intervals at level 1 - alpha.")
@click.option("--ci", "ci_method", type=click.Choice(["normal", "t", "bernstein", "bootstrap"]), default="normal",
              show_default=True, help="Interval method.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.option("--reward-model", type=click.Choice(["bilinear", "ridge", "ridge-per-action", "logistic", "mean"]),
              default="bilinear", show_default=True,
              help="Cross-fitted reward model of DM and the DR family (bilinear needs item features in the log, "
                   "else ridge on one-hot actions).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the reward model's folds.")
@click.option("--n-actions", type=click.IntRange(min=1), default=None,
              help="Size of the action space, for logs in which some actions never occur "
                   "[default: the file's n_actions, else max(action) + 1].")
def ope_cmd(log_path: Path, policies: tuple[str, ...], estimators: tuple[str, ...], alpha: float, ci_method: str,
            fmt: str, reward_model: str, seed: int, n_actions: int | None) -> None:
    """Off-policy evaluation of a logged dataset you bring (a BanditLog Parquet file).

    \b
    The file needs the columns `action` and `reward`, `pscore` (the logging propensity of the
    logged action) for the weighting estimators, and `context_0, context_1, ...` for
    context-dependent targets and the reward model. BanditLog.to_parquet writes this format.
    Standard errors are clustered on `session_id` (else `user_id`) when the log has them.

    \b
    Target shapes: a .npy/.npz target holds pi(a | row) with shape (n, n_actions), one row per
    log row (rows sum to 1); on a log with a `position` column it may also be (n, n_actions,
    n_slots), one distribution per slot; a 2-D target on such a log is used in every slot.
    Policy names take no training: learners (linucb, epsilon-greedy, popularity, ...) are
    refused; pass a trained one's probabilities instead.

    \b
    Examples:
      simrec ope log.parquet --policy uniform
      simrec ope log.parquet -p uniform -p mypkg.policies:greedy -e IPS -e "SwitchDR(tau=5)"
      simrec ope log.parquet -p target_probs.npy --format csv > estimates.csv
      simrec ope log.parquet -p target_probs.npy --n-actions 12
    """
    import warnings

    import numpy as np
    import pandas as pd

    from .data import BanditLog
    from .errors import SimrecError
    from .sweeps import _registry

    try:
        log = BanditLog.read_parquet(log_path)
    except (SimrecError, ValueError) as exc:
        _fail(f"cannot use {str(log_path)!r} as a bandit log: {exc}")
    if n_actions is not None and n_actions != log.n_actions:
        try:
            log = log.replace(n_actions=n_actions)
        except SimrecError as exc:
            _fail(f"--n-actions {n_actions}: {exc}", code=2)
    from .estimators import registry

    ests = []
    for text in estimators or _DEFAULT_ESTIMATORS:
        name, params = _parse_call(text)
        problems = _registry.estimator_problems(name, params)
        if problems:
            _fail("; ".join(f"--estimator {text}: {m}" for _, m in problems), code=2)
        canon = registry.get(name).name  # one spelling: the registry (class) name
        label = canon + ("(" + ", ".join(f"{k}={v!r}" for k, v in params.items()) + ")" if params else "")
        ests.append((label, canon, params))
    q_hat = None
    if _registry.needs_reward_model([n for _, n, _ in ests]):
        q_hat = _registry.reward_model({"model": reward_model, "n_folds": 2}, log, seed)
    rows = []
    for spec in policies:
        try:
            pname, dist = _target_dist(spec, log)
            dist = _fit_target(np.asarray(dist, dtype=np.float64), log, spec)
        except click.BadParameter:
            raise
        except Exception as exc:  # noqa: BLE001 - a user's policy: report, do not crash
            _fail(f"--policy {spec}: {exc}")
        for label, name, params in ests:
            est = _registry.make_estimator(name, params, label, random_state=seed)
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    e = est.estimate(log, dist, q_hat if est.needs_q else None, alpha=alpha, ci_method=ci_method)
            except SimrecError as exc:
                _fail(f"--policy {spec} with {label}: {exc}")
            rows.append({"policy": pname, "estimator": label, "value": e.value, "stderr": e.stderr,
                         "ci_low": e.ci[0], "ci_high": e.ci[1], "n": e.n, "ess": e.ess,
                         "warnings": ";".join(sorted({w.category.__name__ for w in caught}))})
    df = pd.DataFrame(rows)
    if fmt == "csv":
        click.echo(df.to_csv(index=False), nl=False)
    elif fmt == "json":
        click.echo(json.dumps(df.to_dict(orient="records"), indent=2))
    else:
        click.echo(f"{log_path}: {log.n} rows, {log.n_actions} actions; intervals at {1 - alpha:.0%} ({ci_method})")
        click.echo(df.to_string(index=False, float_format=lambda v: f"{v:.4f}"))


# ---- listings -----------------------------------------------------------------------------------
def _default(v: Any) -> str:
    import inspect

    return "(required)" if v is inspect.Parameter.empty else repr(v)


@cli.command("policies", short_help="List the policies make_policy and sweep files know, with parameters.")
def policies_cmd() -> None:
    """List every registered policy name with its parameters and their defaults.

    \b
    Example:
      simrec policies
    Use one in Python with simrec.policies.make_policy("linucb", env, alpha=1.0), or in a sweep
    file as {name = "linucb", params = {alpha = 1.0}}.
    """
    from .policies import policy_names, policy_parameters

    for name in policy_names():
        params = policy_parameters(name)
        body = ", ".join(f"{k}={_default(v)}" for k, v in params.items()) or "no parameters"
        click.echo(f"{name}: {body}")
    click.echo("\nEvery policy also takes rng=; on slate envs slate='topk'|'plackett-luce' (and temperature=).")


@cli.command("estimators", short_help="List the registered estimators: family, inputs, parameters.")
@click.option("--family", default=None, help="Only this family (e.g. bandit).")
def estimators_cmd(family: str | None) -> None:
    """List every registered estimator: its name (the one spelling used by the API, the CLI and
    the reports), family, the inputs it needs and its parameters with defaults.

    \b
    Examples:
      simrec estimators
      simrec estimators --family bandit
    """
    from .estimators import registry

    infos = registry.infos(family=family)
    if not infos:
        _fail(f"no estimators of family {family!r}; families: "
              f"{', '.join(sorted({i.family for i in registry.infos()}))}", code=2)
    for info in infos:
        params = {k: v for k, v in info.params().items() if k not in ("name", "random_state")}
        needs = ", ".join(info.needs.inputs) + (f" (optional: {', '.join(info.needs.optional)})"
                                                if info.needs.optional else "")
        doc = (info.cls.__doc__ or "").strip().splitlines()
        click.echo(f"{info.name}  [{info.family}; {info.needs.log} log; needs {needs or 'nothing'}]")
        if doc:
            click.echo(f"  {doc[0]}")
        click.echo("  parameters: " + (", ".join(f"{k}={_default(v)}" for k, v in params.items()) or "none"))


@cli.command("presets", short_help="List the world presets, or show one's full configuration.")
@click.argument("name", required=False)
def presets_cmd(name: str | None) -> None:
    """List the world presets, or with NAME every configuration field of that preset (dotted keys,
    usable as overrides: presets.get(NAME, **{"catalog.n_items": 50}) or `worlds` in a sweep file).
    Fields that differ from the default preset are marked with *.

    \b
    Examples:
      simrec presets
      simrec presets clickbait
    """
    from .errors import ConfigError
    from .sim import presets

    if name is None:
        for n in presets.names():
            click.echo(f"{n}: {presets.describe(n)}")
        return
    try:
        cfg = presets.get(name)
    except ConfigError as exc:
        _fail(str(exc), code=2)
    base = _flatten(presets.get("default").model_dump())
    click.echo(f"{name}: {presets.describe(name)}")
    for key, value in _flatten(cfg.model_dump()).items():
        mark = "*" if base.get(key) != value else " "
        click.echo(f"  {mark} {key} = {value!r}")


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[prefix + k] = v
    return out


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``simrec`` console script."""
    cli.main(args=argv, prog_name="simrec")


if __name__ == "__main__":  # pragma: no cover
    main()
