"""The command-line front. It parses arguments, calls the library, prints and sets the exit code.

No statistics and no clinical logic live here. Bad input (``InputError``) is printed as a list of
problems and the process exits with status 2, without a traceback and without writing output.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from poems_cohort import __version__
from poems_cohort.defaults import PAPER_CUTOFF
from poems_cohort.errors import InputError, Problem

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="poems-cohort: a POEMS syndrome treatment cohort in, the published comparative study out.",
)
err_console = Console(stderr=True, soft_wrap=True)
console = Console()


# Arguments and options shared by the commands that read a cohort.
CohortPath = Annotated[Path, typer.Argument(
    help="A CSV, .xlsx, .sav or .parquet file, or a folder holding patients.* and optionally "
    "visits.*.")]
MappingOption = Annotated[Path | None, typer.Option(
    "--mapping", help="Column mapping file: TOML (\\[columns], \\[regimens]) or CSV "
    "source,canonical.")]
DEFAULT_CUTOFF = PAPER_CUTOFF.isoformat()

# Arguments and options shared by the commands that run the study (run, reproduce).
StudyData = Annotated[Path | None, typer.Argument(
    help="The cohort (CSV, Excel, SPSS, Parquet or a folder); default: the bundled synthetic "
    "cohort.")]
PlanOption = Annotated[Path | None, typer.Option(
    "--plan", help="TOML file overriding the analysis plan.")]
CutoffOverride = Annotated[str | None, typer.Option(
    "--cutoff", help=f"Data cutoff (YYYY-MM-DD); overrides the plan's cutoff (default "
    f"{DEFAULT_CUTOFF}).")]


def optional_cutoff(text: str | None) -> dt.date | None:
    """A ``--cutoff`` override, or ``None`` to keep the plan's."""
    return parse_cutoff(text) if text is not None else None


def step_printer(quiet: bool) -> Callable[[str, float], None]:
    """The progress callback of a study run: one line per finished step, none when quiet."""
    def progress(step: str, seconds: float) -> None:
        if not quiet:
            console.print(f"[green]✓[/] {step} [dim]({seconds:.2f} s)[/]")
    return progress


def parse_cutoff(text: str) -> dt.date:
    """The ``--cutoff`` option as a date; a bad one is an input error (exit 2)."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InputError([Problem("--cutoff", None, None, text, "a date YYYY-MM-DD")]) from None


@contextmanager
def input_errors_exit_2() -> Iterator[None]:
    """Turn an ``InputError`` into a readable list of problems and exit status 2."""
    try:
        yield
    except InputError as exc:
        errors = [p for p in exc.problems if p.severity == "error"]
        err_console.print(f"[bold red]{len(errors)} problem(s) found; nothing was written.[/]")
        for p in exc.problems:
            tag = "error" if p.severity == "error" else "warning"
            err_console.print(f"  {tag}: {p}", markup=False, highlight=False)
        raise typer.Exit(code=2) from None


def _print_version(value: bool) -> None:
    if value:
        console.print(__version__)
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", help="Print the version and exit.", is_eager=True,
        callback=_print_version,
    ),
) -> None:
    """poems-cohort: a POEMS syndrome treatment cohort in, the published comparative study out."""


