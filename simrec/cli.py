"""The ``simrec`` command: run sweeps, write reports, list environments, evaluate your own logs.

Examples
--------
.. code-block:: console

    $ simrec run examples/quickstart.toml            # sweep + report in reports/quickstart/
    $ simrec run sweep.yaml --backend dask -j 4      # same results on a Dask LocalCluster
    $ simrec report reports/quickstart               # (re)write report.html / report.md
    $ simrec envs                                    # registered environments and their spaces
    $ simrec ope my_log.parquet --policy uniform     # OPE of a log you bring
    $ simrec calibrate obd/random/all -o obd.npz     # a world calibrated to a real log
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
    env = "simrec/Bandit-v0"         # or Slate-v0, Retention-v0, Messaging-v0
    seeds = 3                        # or a list: [0, 1, 2]
    horizon = 100                    # Bandit-v0 rounds per episode (a list makes a grid axis)
    train_rounds = 1000              # training decisions of learning targets
    worlds = [{preset = "default", population.n_users = 200}]
    policies = ["uniform", "oracle", {name = "linucb", params = {alpha = 1.0}}]
    logging = {policy = "softmax", n = 5000}
    estimators = ["IPS", "SNIPS", "DM", "DR", {name = "SwitchDR", params = {tau = 5}}]
Env parameters (grid axes when lists): horizon (Bandit-v0), horizon_days (Retention-v0,
Messaging-v0), slate_size (slate envs), reward ("click" or "watch").
Policies: train = "online" | "log", shaping = {name = "retention_bonus", params = {penalty = 5}},
reference = true (shown, not ranked). Logging: mixture = [{policy = ..., weight = ...}, ...],
adaptive = true, episodes = 200 (trajectory logs of long-term envs).
Optional tables: [reward_model] model/alpha/n_folds, [truth] episodes/step_episodes/
max_enumerated/train_batch, [interval] alpha/method, [execution] backend/n_jobs/address, and
output = "some/dir". Every problem in a file is listed with its path before anything runs.
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
      simrec ab users.parquet -y sessions     analyse an A/B test table you bring
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
    --retry-failed. A failing run is recorded with its traceback (its last line is printed as it
    happens); the others still run. The exit status is 1 when any run failed, 130 after Ctrl-C.

    \b
    Examples:
      simrec run examples/quickstart.toml
      simrec run sweep.toml -j 2                        two local worker processes
      simrec run sweep.toml --backend dask -j 4         a Dask LocalCluster of 4 workers
      simrec run sweep.toml --backend ray --address auto
    """
    from .errors import SweepError
    from .sweeps import load_sweep, plan, run_sweep
    from .sweeps.experiment import is_experiment_file
    from .sweeps.spec import SweepSpecError

    if is_experiment_file(sweep):  # kind = "experiment": simulated A/B tests scored against the truth
        from .sweeps.experiment import run_experiment_cli

        run_experiment_cli(sweep, overrides, out_dir, max_runs=max_runs, dry_run=dry_run, no_report=no_report,
                           progress=progress, n_jobs=n_jobs, backend=backend, address=address)
        return
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
    from .sweeps.runner import SweepInterrupted

    try:
        result = run_sweep(spec, backend, out_dir=out, n_jobs=n_jobs, address=address,
                           retry_failed=retry_failed, progress=progress, max_runs=max_runs, echo=True)
    except SweepInterrupted as exc:
        _fail(str(exc), code=130)
    except SweepError as exc:
        _fail(str(exc))
    click.echo(result.summary())
    for rid in result.failed_ids[:10]:
        click.echo(f"  failed: {out / 'runs' / (rid + '.parquet')}", err=True)
    if not no_report:
        from .reports import build_report

        rep = build_report(result.table, spec.model_dump(mode="json"), out)
        click.echo(f"report: {rep.html}  (Markdown: {rep.markdown})")
    if result.n_failed:
        _fail(f"{result.n_failed} of {result.n_runs} runs failed (see above; --retry-failed reruns them)")


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
    from .sweeps.experiment import experiment_report, is_experiment_dir

    if is_experiment_dir(results):  # an experiment sweep's folder: its own report
        try:
            h, m = experiment_report(results, out_dir)
        except SweepError as exc:
            _fail(str(exc))
        click.echo(f"report: {h}  (Markdown: {m})")
        return
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
#: what `simrec ope` gives an estimator: the target, the log's propensities and item features, a reward model
_OPE_INPUTS = {"bandit": frozenset({"action_dist", "pscore", "q_hat", "action_embed"})}
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
        problems = _registry.estimator_problems(name, params, ("bandit",), "simrec ope", _OPE_INPUTS)
        if problems:
            _fail("; ".join(f"--estimator {text}: {m}" for _, m in problems), code=2)
        canon = registry.get(name).name  # one spelling: the registry (class) name
        label = canon + ("(" + ", ".join(f"{k}={v!r}" for k, v in params.items()) + ")" if params else "")
        ests.append((label, canon, params))
    from .sweeps.estimation import EstimatorEntry, bandit_inputs, estimate_all

    q_hat = None
    if _registry.needs_reward_model([n for _, n, _ in ests]):
        q_hat = _registry.reward_model({"model": reward_model, "n_folds": 2}, log, seed)
    targets = {}
    for spec in policies:
        try:
            pname, dist = _target_dist(spec, log)
            dist = _fit_target(np.asarray(dist, dtype=np.float64), log, spec)
        except click.BadParameter:
            raise
        except Exception as exc:  # noqa: BLE001 - a user's policy: report, do not crash
            _fail(f"--policy {spec}: {exc}")
        # each target's inputs are reduced once and shared by every estimator (the sweeps' path)
        targets[pname] = bandit_inputs(log, dist, q_hat)
    entries = [EstimatorEntry(label, name, params) for label, name, params in ests]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # recorded per row in `warnings`
        out_rows = estimate_all(log, "bandit", targets, entries, alpha=alpha, ci_method=ci_method, seed=seed)
    rows = []
    for r in out_rows:
        if r["status"] == "failed":
            _fail(f"--policy {r['policy']} with {r['estimator']}: {r['error_message'].strip().splitlines()[-1]}")
        rows.append({"policy": r["policy"], "estimator": r["estimator"], "value": r.get("estimate", float("nan")),
                     **{k: r.get(k, float("nan")) for k in ("stderr", "ci_low", "ci_high", "n", "ess")},
                     "warnings": r.get("warnings", r.get("error_message", ""))})
    df = pd.DataFrame(rows)
    if fmt == "csv":
        click.echo(df.to_csv(index=False), nl=False)
    elif fmt == "json":
        click.echo(json.dumps(df.to_dict(orient="records"), indent=2))
    else:
        click.echo(f"{log_path}: {log.n} rows, {log.n_actions} actions; intervals at {1 - alpha:.0%} ({ci_method})")
        click.echo(df.to_string(index=False, float_format=lambda v: f"{v:.4f}"))

# ---- calibrate ----------------------------------------------------------------------------------
@cli.command("calibrate", short_help="Fit a click model to a real log and save a simulator world (.npz).")
@click.argument("log_path", metavar="LOG", type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False, path_type=Path), metavar="WORLD.npz",
              help="Where to write the calibrated world.")
@click.option("-m", "--model", type=click.Choice(["auto", "pbm", "cascade", "dcm"]), default="auto", show_default=True,
              help="Click model (auto: PBM for (item, position) rows, DCM for whole slates).")
@click.option("--column", "columns", multiple=True, metavar="FIELD=COLUMN",
              help="Map the file's columns (fields: action, reward, position, pscore, context, timestamp, "
                   "slate_id; context may repeat). Without it LOG must be an OBD folder or all.csv, or a "
                   "simrec Parquet log.")
@click.option("--first-position", type=int, default=0, show_default=True, help="The file's number of the top slot.")
@click.option("--train-frac", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.8,
              show_default=True, help="Fit on this first share of the rows (time order), score on the rest.")
@click.option("--n-users", type=int, default=10_000, show_default=True, help="Users of the world (log contexts).")
@click.option("--factors", type=int, default=0, show_default=True,
              help="Rank of user (context) x item latent factors (PBM on a log with contexts); 0 for none.")
@click.option("--report", "report_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also write a fidelity report (held-out log vs the world) to this folder.")
@click.option("--seed", type=int, default=0, show_default=True)
def calibrate_cmd(log_path: Path, out: Path, model: str, columns: tuple[str, ...], first_position: int,
                  train_frac: float, n_users: int, factors: int, report_dir: Path | None, seed: int) -> None:
    """Fit a click model to LOG and save the calibrated world to WORLD.npz.

    \b
    Examples:
      simrec calibrate data/obd/random/all -o calibrated/obd.npz --report reports/obd-fidelity
      simrec calibrate clicks.csv --column action=item --column reward=click --column position=rank \\
          --first-position 1 -o world.npz
    Use the world in Python with World.from_calibration("world.npz"), in an env with
    gym.make("simrec/Bandit-v0", world={"from": "world.npz"}), and in a sweep as
    worlds = [{from = "world.npz"}].
    """
    from .calibrate import command, fidelity_report, time_split
    from .errors import SimrecError

    mapping: dict[str, Any] = {}
    for item in columns:
        key, sep, col = item.partition("=")
        if not sep or not key or not col:
            _fail(f"--column {item!r}: expected FIELD=COLUMN", code=2)
        if key == "context":
            mapping.setdefault("context", []).append(col)
        else:
            mapping[key] = col
    try:
        log = command.load_any_log(log_path, mapping or None, first_position)
        path, lines = command.calibrate(log, out, model, train_frac, n_users, seed, factors)
        for line in lines:
            click.echo(line)
        if report_dir is not None:
            train, test = time_split(log, train_frac)
            fidelity_report(path, test, train, rng=seed, out_dir=report_dir)
            click.echo(f"fidelity report: {report_dir / 'fidelity.html'}")
    except SimrecError as exc:
        _fail(str(exc))


# ---- reproduce ----------------------------------------------------------------------------------
from .cli_ab import ab_cmd  # noqa: E402 - registered here, defined in its own module
from .cli_reproduce import reproduce_cmd  # noqa: E402 - registered here, defined in its own module

cli.add_command(reproduce_cmd)
cli.add_command(ab_cmd)


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
            click.echo(f"  {_plain(doc[0])}")
        click.echo("  parameters: " + (", ".join(f"{k}={_default(v)}" for k, v in params.items()) or "none"))


def _plain(text: str) -> str:
    """A docstring line without reStructuredText markup: ``:func:`~a.b.f``` -> ``f``, ``:math:`x``` -> ``x``,
    double backquotes -> single."""
    import re

    text = re.sub(r":\w+:`~?(?:[\w.]+\.)?([^`]+)`", r"\1", text)
    return text.replace("``", "`").replace("\\", "")


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
