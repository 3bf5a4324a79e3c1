"""CLI commands of the synth layer (thin wrappers: parse, call the library, print, exit code)."""

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
    console,
    input_errors_exit_2,
    optional_cutoff,
    step_printer,
)

# --------------------------------------------------------------------------------------------
# synthesize


@app.command()
def synthesize(
    out: Annotated[Path, typer.Option(
        "--out", help="Folder to write patients.csv and visits.csv into (created if missing).")],
    seed: Annotated[int, typer.Option(
        "--seed", min=0, help="Random seed (a whole number from 0); the bundled cohort is "
        "seed 2019.")] = 2019,
    patients: Annotated[int | None, typer.Option(
        "--patients", min=30,
        help="Cohort size (default 347, the published size); larger cohorts keep the "
        "proportions, for benchmarks.")] = None,
) -> None:
    """Write a SYNTHETIC cohort (patients.csv, visits.csv) whose analysis reproduces the
    published study. The same seed always gives the same files."""
    from poems_cohort.data import SYNTHETIC_MARKER, synthetic_marker_text
    from poems_cohort.errors import InputError, Problem
    from poems_cohort.synth.generator import generate_cohort

    with input_errors_exit_2():
        if out.exists() and not out.is_dir():
            raise InputError([Problem("--out", None, None, str(out), "a folder (this is a file)")])
    cohort = generate_cohort(seed, n_patients=patients)
    patients_path, visits_path = cohort.write(out)
    (out / SYNTHETIC_MARKER).write_text(synthetic_marker_text(seed, len(cohort.patients)),
                                        encoding="utf-8")
    console.print(f"{out}: synthetic cohort, seed {seed} — {len(cohort.patients)} patients "
                  f"({patients_path.name}), {len(cohort.visits)} visits ({visits_path.name}).",
                  markup=False, highlight=False, soft_wrap=True)


# --------------------------------------------------------------------------------------------
# reproduce


@app.command()
def reproduce(
    out: Annotated[Path, typer.Option(
        "--out", help="Folder that receives the report and reproduction.csv (created if "
        "missing).")],
    data: StudyData = None,
    plan: PlanOption = None,
    mapping: MappingOption = None,
    cutoff: CutoffOverride = None,
    quiet: Annotated[bool, typer.Option(
        "--quiet", help="Print only the counts by status (and errors).")] = False,
) -> None:
    """Run the whole study and set every published number beside ours: writes everything
    'run' writes, report.html with a section 'Reproduction of the published numbers' and
    tables.xlsx with a 'reproduction' sheet, plus reproduction.csv (id, location, published,
    reproduced, reproduced_rounded, precision, status, note); prints the counts by status.
    Bad input: every problem is listed, exit 2, nothing written."""
    from poems_cohort import workflow

    with input_errors_exit_2():
        done = workflow.reproduce(data, out, plan=plan, mapping=mapping,
                                  cutoff=optional_cutoff(cutoff), progress=step_printer(quiet))
    reproduction, summary = done.reproduction, done.run
    frame = reproduction.to_frame()
    counts = ", ".join(f"{status} {n}" for status, n in reproduction.summary().items())
    console.print(f"{out / 'reproduction.csv'}: {len(reproduction)} published numbers — "
                  f"{counts}.", markup=False, highlight=False, soft_wrap=True)
    missed = frame[(frame["status"] == "missed") & frame["id"].str.startswith(("table1.", "table2."))]
    if len(missed):
        console.print(f"  {len(missed)} Table 1/Table 2 number(s) missed: "
                      + ", ".join(missed["id"].head(10)) + (" …" if len(missed) > 10 else ""),
                      markup=False, highlight=False, soft_wrap=True)
    if not quiet:
        console.print(f"[bold]{len(summary.results.analysis_dataset)} patients analysed; "
                      f"{len(summary.outputs.files)} files written to[/] {out}", highlight=False)
