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
    checked_cutoff,
    input_errors_exit_2,
    say,
)
from poems_cohort.cli.progress import step_display

# --------------------------------------------------------------------------------------------
# synthesize


@app.command()
def synthesize(
    out: Annotated[Path, typer.Option(
        "--out", help="Folder to write patients.csv and visits.csv into (created if missing; "
        "an existing folder must be empty unless --force).")],
    seed: Annotated[int, typer.Option(
        "--seed", min=0, help="Random seed (a whole number from 0); the bundled cohort is "
        "seed 2019.")] = 2019,
    patients: Annotated[int | None, typer.Option(
        "--patients", min=30,
        help="Cohort size (default 347, the published size); larger cohorts keep the "
        "proportions, for benchmarks. Above 100,000 the cohort is made and written in blocks "
        "of at most 100,000 patients, so memory stays bounded.")] = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Write into a folder that is not empty, replacing only the files of an "
        "earlier synthesize that are unchanged; every other file is left alone.")] = False,
    file_format: Annotated[str, typer.Option(
        "--format", help="csv (patients.csv, visits.csv) or parquet (patients.parquet, "
        "visits.parquet: the same values, typed).")] = "csv",
) -> None:
    """Write a SYNTHETIC cohort (patients.csv and visits.csv, or the .parquet pair;
    SYNTHETIC.txt and the manifest of their hashes) whose analysis reproduces the published
    study. The same seed always gives the same files."""
    from poems_cohort.errors import InputError, Problem
    from poems_cohort.report.output import check_writable
    from poems_cohort.synth.generator import (
        FILE_FORMATS,
        block_sizes,
        file_names,
        generate_blocks,
        replace_problems,
        stage_cohort,
    )

    with input_errors_exit_2():
        if file_format not in FILE_FORMATS:
            raise InputError([Problem("--format", None, None, file_format,
                                      " or ".join(FILE_FORMATS))])
        check_writable(out)
        if out.is_dir() and any(out.iterdir()) and not force:
            raise InputError([Problem(str(out), None, None, None,
                                      "--out: an empty or new folder (this one is not; --force "
                                      "writes into it, replacing only the unchanged files of an "
                                      "earlier synthesize)")])
        # what can be checked before generating (the new files' hashes are not known yet)
        problems = replace_problems(out, dict.fromkeys(file_names(file_format)))
        if problems:
            raise InputError(problems)
    n_blocks = len(block_sizes(patients)) if patients else 1
    label = "generate the synthetic cohort"
    with input_errors_exit_2(), step_display(label=label) as display:
        written = [0]

        def on_block(n_patients: int, n_visits: int) -> None:
            # a large cohort is generated and written block by block: the live line counts them
            written[0] += 1
            display.label = (f"{label}: block {written[0]} of {n_blocks} written "
                             f"({n_patients:,} patients, {n_visits:,} visits)")

        try:
            staged = stage_cohort(generate_blocks(seed, n_patients=patients), out, file_format,
                                  on_block=on_block)
        except OSError as exc:
            raise InputError([Problem(str(out), None, None, None,
                                      f"--out: writing the cohort failed "
                                      f"({exc.strerror or exc})")]) from None
        try:
            problems = replace_problems(out, staged.digests())
            if problems:
                raise InputError(problems)
            patients_path, visits_path = staged.commit()
        except OSError as exc:
            staged.discard()
            raise InputError([Problem(str(out), None, None, None,
                                      f"--out: writing the cohort failed "
                                      f"({exc.strerror or exc})")]) from None
        except BaseException:
            staged.discard()
            raise
    say(f"{out}: synthetic cohort, seed {seed} — {staged.patients} patients "
        f"({patients_path.name}), {staged.visits} visits ({visits_path.name}).")


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

    with input_errors_exit_2(), step_display(quiet) as progress:
        when = checked_cutoff(cutoff, lambda bad: workflow.check_study_inputs(
            data, out, plan=plan, mapping=mapping, earlier=bad))
        done = workflow.reproduce(data, out, plan=plan, mapping=mapping, cutoff=when,
                                  progress=progress)
    reproduction, summary = done.reproduction, done.run
    frame = reproduction.to_frame()
    counts = ", ".join(f"{status} {n}" for status, n in reproduction.summary().items())
    say(f"{out / 'reproduction.csv'}: {len(reproduction)} published numbers — "
        f"{counts}.")
    missed = frame[(frame["status"] == "missed") & frame["id"].str.startswith(("table1.", "table2."))]
    if len(missed):
        say(f"  {len(missed)} Table 1/Table 2 number(s) missed: "
            + ", ".join(missed["id"].head(10)) + (" …" if len(missed) > 10 else ""))
    if not quiet:
        say((f"{len(summary.results.analysis_dataset)} patients analysed; "
            f"{len(summary.outputs.files)} files written to ", "bold"), str(out))
