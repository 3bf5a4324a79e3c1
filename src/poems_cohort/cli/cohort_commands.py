"""CLI commands of the cohort layer (thin wrappers: parse, call the library, print, exit code)."""

from __future__ import annotations

from typing import Annotated

import typer

from poems_cohort.cli.app import (
    DEFAULT_CUTOFF,
    CohortPath,
    MappingOption,
    app,
    console,
    input_errors_exit_2,
    parse_cutoff,
)
from poems_cohort.errors import Problem, grouped


@app.command()
def validate(
    path: CohortPath,
    mapping: MappingOption = None,
    cutoff: Annotated[str, typer.Option(
        "--cutoff", help="Data cutoff (YYYY-MM-DD): later dates are reported as warnings.",
    )] = DEFAULT_CUTOFF,
) -> None:
    """Check a cohort against the data dictionary; print a summary (exit 0) or every problem
    (exit 2). Nothing is written."""
    from poems_cohort.cohort import load_cohort

    with input_errors_exit_2():
        cohort = load_cohort(path, mapping=mapping, cutoff=parse_cutoff(cutoff))
    per = ", ".join(f"{k} {v}" for k, v in cohort.regimen_counts().items())
    visits = "no visits table" if cohort.visits is None else f"{len(cohort.visits)} visits"
    console.print(f"{path}: valid — {len(cohort)} patients ({per}); {visits}; "
                  f"{len(cohort.warnings)} warning(s).", markup=False, highlight=False, soft_wrap=True)
    for warning in grouped(cohort.warnings):  # repeats of one kind are summarised
        tag = "warning: " if isinstance(warning, Problem) else ""
        console.print(f"  {tag}{warning}", markup=False, highlight=False, soft_wrap=True)
