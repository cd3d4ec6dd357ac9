"""``simrec reproduce``: run a reproduction of a published experiment and write its report."""

from __future__ import annotations

import sys
from pathlib import Path

import click

__all__ = ["reproduce_cmd"]


@click.command("reproduce", short_help="Reproduce a published experiment (quick by default) and write its report.")
@click.argument("name", required=False)
@click.option("--list", "list_", is_flag=True, help="List every reproduction with its status and exit.")
@click.option("--full", is_flag=True, help="The paper's size (slower) instead of the quick version.")
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder [default: reports/reproduce/NAME].")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of every random draw.")
def reproduce_cmd(name: str | None, list_: bool, full: bool, out_dir: Path | None, seed: int) -> None:
    """Run reproduction NAME and write report.md, report.html and figures/ with the paper's numbers
    beside ours and a verdict per claim (computed from the tolerances stated in the reproduction).

    \b
    Examples:
      simrec reproduce --list
      simrec reproduce dudik2011                 quick version, report in reports/reproduce/dudik2011/
      simrec reproduce mips2022 --full -o out/   the paper's grid
    A claim that does not reproduce is reported as such, with why; it is not an error (exit code 0).
    """
    from . import reproductions
    from .errors import ConfigError, NotSupportedError

    if list_:
        width = max(len(n) for n in reproductions.names())
        for n in reproductions.names():
            click.echo(f"{n:<{width}}  {reproductions.status(n) if reproductions.status(n) == 'ready' else 'pending'}"
                       f"  {reproductions.describe(n)}")
            if reproductions.status(n) != "ready":
                click.echo(f"{'':<{width}}  {reproductions.status(n)}")
        return
    if not name:
        raise click.UsageError("give a reproduction NAME, or --list to see them")
    try:
        result = reproductions.run(name, quick=not full, seed=seed)
    except ConfigError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    except NotSupportedError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(3)
    out = out_dir or Path("reports") / "reproduce" / name
    files = reproductions.write_report(result, out)
    click.echo(result.summary())
    click.echo(f"report: {files.html}  (Markdown: {files.markdown}, {len(files.figures)} figures)")
