"""CLI commands of the cohort layer (thin wrappers: parse, call the library, print, exit code)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from poems_cohort.cli.app import app, console, err_console, input_errors_exit_2  # noqa: F401
from poems_cohort.errors import InputError, Problem


def _parse_cutoff(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InputError([Problem("--cutoff", None, None, text, "a date YYYY-MM-DD")]) from None


@app.command()
def validate(
    path: Annotated[Path, typer.Argument(help="A CSV, .xlsx, .sav or .parquet file, or a folder "
                                         "holding patients.* and optionally visits.*.")],
    mapping: Annotated[Path | None, typer.Option(
        "--mapping", help="Column mapping file: TOML (\\[columns], \\[regimens]) or CSV "
        "source,canonical.")] = None,
    cutoff: Annotated[str, typer.Option(
        "--cutoff", help="Data cutoff (YYYY-MM-DD): later dates are reported as warnings.",
    )] = "2018-08-31",
) -> None:
    """Check a cohort against the data dictionary; print a summary (exit 0) or every problem
    (exit 2). Nothing is written."""
    from poems_cohort.cohort import load_cohort

    with input_errors_exit_2():
        cohort = load_cohort(path, mapping=mapping, cutoff=_parse_cutoff(cutoff))
    per = ", ".join(f"{k} {v}" for k, v in cohort.regimen_counts().items())
    visits = "no visits table" if cohort.visits is None else f"{len(cohort.visits)} visits"
    console.print(f"{path}: valid — {len(cohort)} patients ({per}); {visits}; "
                  f"{len(cohort.warnings)} warning(s).", markup=False, highlight=False, soft_wrap=True)
    for warning in cohort.warnings:
        console.print(f"  warning: {warning}", markup=False, highlight=False, soft_wrap=True)
