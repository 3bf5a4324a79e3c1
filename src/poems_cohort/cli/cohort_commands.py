"""CLI commands of the cohort layer (thin wrappers: parse, call the library, print, exit code)."""

from __future__ import annotations

from typing import Annotated

import typer

from poems_cohort.cli.app import (
    DEFAULT_CUTOFF,
    CohortPath,
    MappingOption,
    PlanOption,
    app,
    checked_cutoff,
    input_errors_exit_2,
    say,
)
from poems_cohort.cli.progress import step_display
from poems_cohort.errors import Problem, grouped


@app.command()
def validate(
    path: CohortPath,
    mapping: MappingOption = None,
    plan: PlanOption = None,
    cutoff: Annotated[str | None, typer.Option(
        "--cutoff", help="Data cutoff (YYYY-MM-DD): later dates are reported as warnings "
        f"(default: the plan's, {DEFAULT_CUTOFF}).",
    )] = None,
) -> None:
    """Check a cohort against the data dictionary and the plan's study columns; print a summary
    (exit 0) or every problem (exit 2). Nothing is written."""
    from poems_cohort import workflow

    with input_errors_exit_2(), step_display(label="read and validate the cohort"):
        when = checked_cutoff(cutoff, lambda bad: workflow.check_inputs(
            path, plan=plan, mapping=mapping, earlier=bad))
        cohort = workflow.validate(path, plan=plan, mapping=mapping, cutoff=when)
    counts = cohort.regimen_counts()
    if any(n for r, n in counts.items() if r not in ("ASCT", "MDex", "LDex")):
        counts = cohort.regimen_counts(only_present=True)  # a centre's own regimens
    per = ", ".join(f"{k} {v}" for k, v in counts.items())
    visits = "no visits table" if cohort.visits is None else f"{len(cohort.visits)} visits"
    say(f"{path}: valid — {len(cohort)} patients ({per}); {visits}; "
        f"{len(cohort.warnings)} warning(s).")
    for warning in grouped(cohort.warnings):  # repeats of one kind are summarised
        tag = "warning: " if isinstance(warning, Problem) else ""
        say(f"  {tag}{warning}")
