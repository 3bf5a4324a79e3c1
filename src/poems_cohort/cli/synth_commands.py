"""CLI commands of the synth layer (thin wrappers: parse, call the library, print, exit code)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from poems_cohort.cli.app import app, console, err_console, input_errors_exit_2  # noqa: F401

# --------------------------------------------------------------------------------------------
# synthesize


@app.command()
def synthesize(
    out: Annotated[Path, typer.Option(
        "--out", help="Folder to write patients.csv and visits.csv into (created if missing).")],
    seed: Annotated[int, typer.Option(
        "--seed", help="Random seed; the bundled cohort is seed 2019.")] = 2019,
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


def _reproduction_out(out: Path) -> Path:
    """``out/reproduction.csv``; ``out`` must be a folder or not exist yet (its parent must)."""
    from poems_cohort.errors import InputError, Problem

    if out.exists() and not out.is_dir():
        raise InputError([Problem("--out", None, None, str(out), "a folder (this is a file)")])
    if not out.exists() and not out.resolve().parent.is_dir():
        raise InputError([Problem("--out", None, None, str(out),
                                  "a folder whose parent folder exists")])
    return out / "reproduction.csv"


@app.command()
def reproduce(
    out: Annotated[Path, typer.Option(
        "--out", help="Folder to write reproduction.csv into (created if missing).")],
    data: Annotated[Path | None, typer.Argument(
        help="A cohort (file or folder, as for 'validate'); default: the bundled synthetic "
        "cohort.")] = None,
    plan: Annotated[Path | None, typer.Option(
        "--plan", help="Analysis plan TOML overriding the published analysis.")] = None,
) -> None:
    """Run the study and set every published number beside ours: writes reproduction.csv
    (id, location, published, reproduced, reproduced_rounded, precision, status, note) and prints
    the counts by status. Bad input: every problem is listed, exit 2, nothing written."""
    import os
    import tempfile

    from poems_cohort.cohort import load_cohort
    from poems_cohort.data import bundled_cohort_path
    from poems_cohort.errors import InputError, Problem
    from poems_cohort.study import load_plan, run_study
    from poems_cohort.synth.published import load_published
    from poems_cohort.synth.reproduce import reproduce_study

    with input_errors_exit_2():
        target = _reproduction_out(out)
        source = data if data is not None else bundled_cohort_path()
        if data is None and not (source / "patients.csv").is_file():
            raise InputError([Problem(str(source), None, None, None,
                                      "the bundled synthetic cohort (patients.csv); it is not "
                                      "installed, give a cohort path")])
        analysis = load_plan(plan)
        cohort = load_cohort(source, cutoff=analysis.cutoff)
        published = load_published()
    results = run_study(cohort, analysis)
    reproduction = reproduce_study(results, published)
    out.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=".reproduction.", suffix=".tmp", dir=out)
    os.close(handle)
    try:
        reproduction.to_frame().to_csv(tmp, index=False)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    counts = ", ".join(f"{status} {n}" for status, n in reproduction.summary().items())
    console.print(f"{target}: {len(reproduction)} published numbers — {counts}.",
                  markup=False, highlight=False, soft_wrap=True)
    frame = reproduction.to_frame()
    missed = frame[(frame["status"] == "missed") & frame["id"].str.startswith(("table1.", "table2."))]
    if len(missed):
        console.print(f"  {len(missed)} Table 1/Table 2 number(s) missed: "
                      + ", ".join(missed["id"].head(10)) + (" …" if len(missed) > 10 else ""),
                      markup=False, highlight=False, soft_wrap=True)
