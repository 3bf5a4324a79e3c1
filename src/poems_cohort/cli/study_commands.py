"""CLI commands of the study layer (thin wrappers: parse, call the library, print, exit code)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from poems_cohort.cli.app import (  # noqa: F401
    MappingOption,
    app,
    console,
    err_console,
    input_errors_exit_2,
    parse_cutoff,
)


@app.command()
def run(
    out: Annotated[Path, typer.Option("--out", help="Folder that receives the report.")],
    data: Annotated[Path | None, typer.Argument(
        help="The cohort (CSV, Excel, SPSS, Parquet or a folder); default: the bundled "
             "synthetic cohort.")] = None,
    plan: Annotated[Path | None, typer.Option("--plan", help="TOML file overriding the "
                                                             "analysis plan.")] = None,
    mapping: MappingOption = None,
    cutoff: Annotated[str | None, typer.Option(
        "--cutoff", help="Data cutoff (YYYY-MM-DD); overrides the plan's cutoff (default "
        "2018-08-31).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="Print nothing but errors.")] = False,
) -> None:
    """Run the whole study: tables, figures, report.html, results.json and the dataset."""
    from poems_cohort.report import run_pipeline

    def progress(step: str, seconds: float) -> None:
        if not quiet:
            console.print(f"[green]✓[/] {step} [dim]({seconds:.2f} s)[/]")

    with input_errors_exit_2():
        when = parse_cutoff(cutoff) if cutoff is not None else None
        summary = run_pipeline(data, out, plan_path=plan, mapping=mapping, cutoff=when,
                               progress=progress)
    if not quiet:
        n = len(summary.results.analysis_dataset)
        console.print(f"[bold]{n} patients analysed; {len(summary.outputs.files)} files written "
                      f"to[/] {out}", highlight=False)
