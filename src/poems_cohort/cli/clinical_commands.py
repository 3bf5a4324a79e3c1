"""CLI commands of the clinical layer (thin wrappers: parse, call the library, print, exit code)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from poems_cohort.cli.app import (
    CohortPath,
    CutoffOverride,
    MappingOption,
    PlanOption,
    app,
    checked_cutoff,
    input_errors_exit_2,
    say,
)
from poems_cohort.cli.progress import step_display
from poems_cohort.errors import InputError, Problem

DATASET_FORMATS: tuple[str, ...] = (".csv", ".parquet")


def _check_out(out: Path, path: Path, mapping: Path | None, plan: Path | None) -> None:
    from poems_cohort.cohort import input_conflict
    from poems_cohort.report.output import check_output_file

    if out.suffix.lower() not in DATASET_FORMATS:
        raise InputError([Problem("--out", None, None, str(out),
                                  "a file name ending in " + " or ".join(DATASET_FORMATS))])
    if not out.parent.is_dir():
        raise InputError([Problem("--out", None, None, str(out), "a file in an existing folder")])
    if out.is_dir():
        raise InputError([Problem("--out", None, None, str(out), "a file, not a folder")])
    clash = input_conflict(path, out, mapping=mapping)
    if clash is not None:
        raise InputError([Problem("--out", None, None, str(out),
                                  f"a file that is not an input of the cohort ({clash} would be "
                                  "overwritten or read as input)")])
    check_output_file(out, inputs=[path, mapping, plan])


@app.command()
def derive(
    path: CohortPath,
    out: Annotated[Path, typer.Option(
        "--out", help="Where to write the analysis dataset: a .csv or .parquet file.")],
    mapping: MappingOption = None,
    plan: PlanOption = None,
    cutoff: CutoffOverride = None,
) -> None:
    """Derive the analysis dataset (risk group, responses, PFS/OS; one row per included patient)
    and write it to --out. Bad input: every problem is listed, exit 2, nothing written."""
    from poems_cohort import workflow
    from poems_cohort.data import is_synthetic_cohort
    from poems_cohort.report.output import write_dataset_file

    with input_errors_exit_2():
        def out_check() -> None:
            _check_out(out, path, mapping, plan)

        when = checked_cutoff(cutoff, lambda bad: workflow.check_inputs(
            path, plan=plan, mapping=mapping, out_check=out_check, earlier=bad))
        workflow.check_inputs(path, plan=plan, mapping=mapping, cutoff=when,
                              out_check=out_check)
        with step_display(label="read the cohort and derive the analysis dataset"):
            derived = workflow.derive(path, plan=plan, mapping=mapping, cutoff=when)
    cohort, dataset, when = derived.cohort, derived.dataset, derived.plan.cutoff
    with input_errors_exit_2(), step_display(label=f"write {out.name}"):
        write_dataset_file(dataset, out, synthetic=is_synthetic_cohort(path))
    flow = derived.eligibility.flow
    say(f"{out}: {len(dataset)} patients written ({flow.screened} screened, "
        f"{flow.screened - flow.included} excluded); data cutoff {when.isoformat()}; "
        f"{len(cohort.warnings)} warning(s) in the input.")
    for warning in cohort.warnings:
        if warning.row is None:  # cohort-level, e.g. a response without any source
            say(f"  warning: {warning}")
    undecided = int(dataset["risk_group"].isna().sum())
    if undecided:
        say(f"  {undecided} patient(s) without a risk group (missing risk factors).")
