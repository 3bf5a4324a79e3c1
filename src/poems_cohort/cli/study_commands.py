"""CLI commands of the study layer (thin wrappers: parse, call the library, print, exit code)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from poems_cohort.cli.app import (
    CutoffOverride,
    MappingOption,
    PlanOption,
    StudyData,
    app,
    checked_cutoff,
    input_errors_exit_2,
    say,
)
from poems_cohort.cli.progress import step_display


@app.command()
def run(
    out: Annotated[Path, typer.Option("--out", help="Folder that receives the report.")],
    data: StudyData = None,
    plan: PlanOption = None,
    mapping: MappingOption = None,
    cutoff: CutoffOverride = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="Print nothing but errors.")] = False,
) -> None:
    """Run the whole study: tables, figures, report.html, results.json and the dataset."""
    from poems_cohort import workflow

    with input_errors_exit_2(), step_display(quiet) as progress:
        when = checked_cutoff(cutoff, lambda bad: workflow.check_study_inputs(
            data, out, plan=plan, mapping=mapping, earlier=bad))
        summary = workflow.run(data, out, plan=plan, mapping=mapping, cutoff=when,
                               progress=progress)
    if not quiet:
        n = len(summary.results.analysis_dataset)
        say((f"{n} patients analysed; {len(summary.outputs.files)} files written to ", "bold"),
            str(out))
