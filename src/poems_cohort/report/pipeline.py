"""The steps of ``poems-cohort run``, timed: read, eligibility, endpoints, study, render, write.

Everything is computed before anything is written, so bad input leaves the output folder alone.
``run_pipeline`` is :func:`compute_run` then :func:`finish_run`; a command that adds to the
output (``reproduce``) computes its addition from the results between the two and hands it to
``finish_run`` as an :class:`~poems_cohort.report.appendix.Appendix`.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from poems_cohort.data import bundled_cohort_path, is_synthetic_cohort
from poems_cohort.report.appendix import Appendix
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


@dataclass(frozen=True, slots=True)
class ComputedStudy:
    """A study computed and not yet rendered: the results, whether the cohort is synthetic, and
    the seconds each step took so far (:func:`compute_run`, then :func:`finish_run`)."""

    results: StudyResults
    synthetic: bool
    timings: tuple[tuple[str, float], ...]
    inputs: tuple[Path, ...] = ()


def study_inputs(data: Path | None, *, plan_path: Path | None = None,
                 mapping: Path | None = None) -> tuple[Path, ...]:
    """The paths a study run reads (the cohort, default the bundled one; the plan; the
    mapping): ``--out`` may not equal, contain or lie inside any of them."""
    source = Path(data) if data is not None else bundled_cohort_path()
    return tuple(Path(p) for p in (source, plan_path, mapping) if p is not None)


class _Steps:
    """Times each step and reports it to ``progress``."""

    def __init__(self, progress: Progress | None,
                 timings: tuple[tuple[str, float], ...] = ()) -> None:
        self.progress = progress
        self.timings = list(timings)

    def __call__(self, name: str, fn: Callable[[], Any]) -> Any:
        t0 = time.perf_counter()
        value = fn()
        seconds = time.perf_counter() - t0
        self.timings.append((name, seconds))
        if self.progress is not None:
            self.progress(name, seconds)
        return value


def compute_run(data: Path | None, *, plan_path: Path | None = None,
                mapping: Path | None = None, cutoff: dt.date | None = None,
                progress: Progress | None = None) -> ComputedStudy:
    """Read the plan and the cohort (default: the bundled cohort), apply eligibility, derive the
    endpoints and compute the study; writes nothing. Options as for :func:`run_pipeline`."""
    from poems_cohort.clinical import derive_analysis_dataset
    from poems_cohort.cohort import apply_eligibility, load_cohort

    step = _Steps(progress)
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
    return ComputedStudy(results, is_synthetic_cohort(source), tuple(step.timings),
                         study_inputs(data, plan_path=plan_path, mapping=mapping))


def finish_run(study: ComputedStudy, out: Path | None, *, appendices: Sequence[Appendix] = (),
               progress: Progress | None = None) -> RunSummary:
    """Format the tables, draw the figures, render every file in memory (with ``appendices``
    after the study's sections), then write them into ``out`` (``None``: write nothing)."""
    if out is not None:
        check_output_folder(Path(out), inputs=study.inputs)
    step = _Steps(progress, study.timings)
    results, synthetic = study.results, study.synthetic
    tables = step("format tables", lambda: all_tables(results))
    figures = step("draw figures", lambda: all_figures(results, synthetic=synthetic))
    outputs = step("render report, JSON, XLSX, DOCX",
                   lambda: build_outputs(results, tables=tables, figures=figures,
                                         synthetic=synthetic, appendices=appendices))
    if out is not None:
        step("write files", lambda: write_outputs(outputs, Path(out), inputs=study.inputs))
    return RunSummary(results, outputs, tuple(step.timings))


def run_pipeline(data: Path | None, out: Path | None, *, plan_path: Path | None = None,
                 mapping: Path | None = None, cutoff: dt.date | None = None,
                 progress: Progress | None = None) -> RunSummary:
    """Run the study on ``data`` (default: the bundled cohort) and write into ``out``.

    ``mapping``: a column mapping file for ``load_cohort`` (TOML or CSV). ``cutoff``: the data
    cutoff; it overrides the plan's (which overrides the default, 2018-08-31) and is used for
    reading, eligibility and the endpoints alike. ``out=None`` computes and renders without
    writing (used by the benchmark). The same as :func:`compute_run` then :func:`finish_run`.
    """
    if out is not None:
        check_output_folder(Path(out), inputs=study_inputs(data, plan_path=plan_path,
                                                           mapping=mapping))
    study = compute_run(data, plan_path=plan_path, mapping=mapping, cutoff=cutoff,
                        progress=progress)
    return finish_run(study, out, progress=progress)
