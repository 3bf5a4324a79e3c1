"""The steps of ``poems-cohort run``, timed: read, eligibility, endpoints, study, render, write.

Everything is computed before anything is written, so bad input leaves the output folder alone.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from poems_cohort.data import bundled_cohort_path, is_synthetic_cohort
from poems_cohort.report.figures import all_figures
from poems_cohort.report.output import (
    Outputs,
    build_outputs,
    check_output_folder,
    write_outputs,
)
from poems_cohort.report.tables import all_tables
from poems_cohort.study import StudyResults, compute_study, load_plan
from poems_cohort.study.run import baseline_frame, check_included

Progress = Callable[[str, float], None]


@dataclass(frozen=True, slots=True)
class RunSummary:
    """What a run did: the results, the files and the seconds each step took."""

    results: StudyResults
    outputs: Outputs
    timings: tuple[tuple[str, float], ...]


def run_pipeline(data: Path | None, out: Path | None, *, plan_path: Path | None = None,
                 mapping: Path | None = None, cutoff: dt.date | None = None,
                 progress: Progress | None = None) -> RunSummary:
    """Run the study on ``data`` (default: the bundled cohort) and write into ``out``.

    ``mapping``: a column mapping file for ``load_cohort`` (TOML or CSV). ``cutoff``: the data
    cutoff; it overrides the plan's (which overrides the default, 2018-08-31) and is used for
    reading, eligibility and the endpoints alike. ``out=None`` computes and renders without
    writing (used by the benchmark).
    """
    from poems_cohort.clinical import derive_analysis_dataset
    from poems_cohort.cohort import apply_eligibility, load_cohort

    if out is not None:
        check_output_folder(Path(out))
    timings: list[tuple[str, float]] = []

    def step(name: str, fn: Callable[[], Any]) -> Any:
        t0 = time.perf_counter()
        value = fn()
        seconds = time.perf_counter() - t0
        timings.append((name, seconds))
        if progress is not None:
            progress(name, seconds)
        return value

    plan = step("read the analysis plan", lambda: load_plan(plan_path))
    if cutoff is not None:
        plan = replace(plan, cutoff=cutoff)
    source = Path(data) if data is not None else bundled_cohort_path()
    cohort = step("read and validate the cohort",
                  lambda: load_cohort(source, mapping=mapping, cutoff=plan.cutoff))
    elig = step("apply eligibility", lambda: apply_eligibility(cohort, regimens=plan.regimens,
                                                               cutoff=plan.cutoff))
    check_included(elig.flow, source)
    ds = step("derive endpoints", lambda: derive_analysis_dataset(elig.included,
                                                                  plan.endpoint_settings()))
    results = step("compute the study", lambda: compute_study(
        baseline_frame(elig.included.patients, ds), ds, elig.flow.to_frame(), plan))
    tables = step("format tables", lambda: all_tables(results))
    synthetic = is_synthetic_cohort(source)
    figures = step("draw figures", lambda: all_figures(results, synthetic=synthetic))
    outputs = step("render report, JSON, XLSX, DOCX",
                   lambda: build_outputs(results, tables=tables, figures=figures,
                                         synthetic=synthetic))
    if out is not None:
        step("write files", lambda: write_outputs(outputs, Path(out)))
    return RunSummary(results, outputs, tuple(timings))
