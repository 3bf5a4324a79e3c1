"""CLI commands of the clinical layer (thin wrappers: parse, call the library, print, exit code)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from poems_cohort.cli.app import (
    CohortPath,
    CutoffOverride,
    MappingOption,
    PlanOption,
    app,
    console,
    input_errors_exit_2,
    optional_cutoff,
)
from poems_cohort.errors import InputError, Problem

DATASET_FORMATS: tuple[str, ...] = (".csv", ".parquet")


def _check_out(out: Path, path: Path, mapping: Path | None) -> None:
    from poems_cohort.cohort import input_conflict

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


def _write_atomically(frame: pd.DataFrame, out: Path) -> None:
    """Write to a temporary file beside ``out``, then rename it over ``out``."""
    handle, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    os.close(handle)
    try:
        if out.suffix.lower() == ".csv":
            frame.to_csv(tmp, index=False)
        else:
            frame.to_parquet(tmp, index=False)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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

    with input_errors_exit_2():
        _check_out(out, path, mapping)
        derived = workflow.derive(path, plan=plan, mapping=mapping,
                                  cutoff=optional_cutoff(cutoff))
    cohort, dataset, when = derived.cohort, derived.dataset, derived.plan.cutoff
    _write_atomically(dataset, out)
    flow = derived.eligibility.flow
    console.print(f"{out}: {len(dataset)} patients written ({flow.screened} screened, "
                  f"{flow.screened - flow.included} excluded); data cutoff {when.isoformat()}; "
                  f"{len(cohort.warnings)} warning(s) in the input.",
                  markup=False, highlight=False, soft_wrap=True)
    for warning in cohort.warnings:
        if warning.row is None:  # cohort-level, e.g. a response without any source
            console.print(f"  warning: {warning}", markup=False, highlight=False, soft_wrap=True)
    undecided = int(dataset["risk_group"].isna().sum())
    if undecided:
        console.print(f"  {undecided} patient(s) without a risk group (missing risk factors).",
                      markup=False, highlight=False, soft_wrap=True)
