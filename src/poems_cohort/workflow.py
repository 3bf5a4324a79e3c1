"""The workflow: the one place where the layers are wired together.

``read → eligibility → endpoints → study`` is :func:`compute` (writes nothing); :func:`run` is
:func:`compute` then the report layer's rendering and writing; :func:`reproduce` adds the audit of
the published numbers between the two; :func:`derive` stops after the endpoints (the analysis
dataset of ``poems-cohort derive``). Every entry point takes the analysis plan (an
:class:`~poems_cohort.study.AnalysisPlan`, a TOML file, a preset name or ``None`` for the
default) and honours its data cutoff and VEGF threshold at every step: reading (warnings for
dates after the cutoff), eligibility (the VEGF criterion, treatment after the cutoff), the
endpoints (responses, PFS/OS) and the study.

The command line only parses, calls these functions and prints; ``report`` only renders and
writes what it is given; ``study`` computes from frames and knows nothing of files.
"""

from __future__ import annotations

import datetime as dt
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import pandas as pd

from poems_cohort.clinical import derive_analysis_dataset
from poems_cohort.cohort import Cohort, Eligibility, apply_eligibility, load_cohort
from poems_cohort.data import bundled_cohort_path, is_synthetic_cohort
from poems_cohort.errors import InputError, Problem
from poems_cohort.study import AnalysisPlan, StudyResults, compute_study, load_plan
from poems_cohort.study.run import baseline_frame, study_patients

if TYPE_CHECKING:
    from poems_cohort.report.appendix import Appendix
    from poems_cohort.report.output import Outputs
    from poems_cohort.synth.reproduce import Reproduction

Progress = Callable[[str, float], None]
PlanLike = AnalysisPlan | str | Path | None
T = TypeVar("T")


class Steps:
    """Times each step and reports it to ``progress`` (``step(name, fn)`` returns ``fn()``)."""

    def __init__(self, progress: Progress | None = None,
                 timings: Sequence[tuple[str, float]] = ()) -> None:
        self.progress = progress
        self.timings: list[tuple[str, float]] = list(timings)

    def __call__(self, name: str, fn: Callable[[], T]) -> T:
        t0 = time.perf_counter()
        value = fn()
        seconds = time.perf_counter() - t0
        self.timings.append((name, seconds))
        if self.progress is not None:
            self.progress(name, seconds)
        return value


@dataclass(frozen=True, slots=True)
class Derived:
    """The analysis dataset of a cohort under a plan: the cohort read, the eligibility decisions
    and patient flow, and one row per included patient (``clinical.derive_analysis_dataset``)."""

    plan: AnalysisPlan
    cohort: Cohort
    eligibility: Eligibility
    dataset: pd.DataFrame

    def __repr__(self) -> str:
        return (f"Derived({len(self.dataset)} patients of {self.eligibility.flow.screened} "
                f"screened, cutoff {self.plan.cutoff.isoformat()})")


@dataclass(frozen=True, slots=True)
class ComputedStudy:
    """A study computed and not yet rendered: the results, whether the cohort is synthetic, and
    the seconds each step took so far."""

    results: StudyResults
    synthetic: bool
    timings: tuple[tuple[str, float], ...]
    inputs: tuple[Path, ...] = ()


@dataclass(frozen=True, slots=True)
class RunSummary:
    """What a run did: the results, the files and the seconds each step took."""

    results: StudyResults
    outputs: Outputs
    timings: tuple[tuple[str, float], ...]


@dataclass(frozen=True, slots=True)
class ReproduceSummary:
    """A run with the published numbers set beside ours (``reproduction``)."""

    run: RunSummary
    reproduction: Reproduction


def resolve_plan(plan: PlanLike = None, *, cutoff: dt.date | None = None) -> AnalysisPlan:
    """The effective plan: ``plan`` (a plan, a TOML file, a preset name or ``None`` for the
    default) with ``cutoff``, when given, overriding its data cutoff."""
    resolved = plan if isinstance(plan, AnalysisPlan) else load_plan(plan)
    return replace(resolved, cutoff=cutoff) if cutoff is not None else resolved


def cohort_source(data: str | Path | None) -> Path:
    """The cohort to read: ``data``, or the bundled synthetic cohort (an ``InputError`` when it
    is not installed)."""
    if data is not None:
        return Path(data)
    source = bundled_cohort_path()
    if not (source / "patients.csv").is_file():
        raise InputError([Problem(str(source), None, None, None,
                                  "the bundled synthetic cohort (patients.csv); it is not "
                                  "installed, give a cohort path")])
    return source


def check_inputs(data: str | Path | None, *, plan: PlanLike = None,
                 mapping: str | Path | None = None, cutoff: dt.date | None = None,
                 out_check: Callable[[], object] | None = None,
                 earlier: Sequence[Problem] = ()) -> None:
    """Every problem of a command's inputs at once, before anything is computed, as one
    ``InputError``: ``earlier`` (found by the caller, e.g. an unreadable ``--cutoff``), the
    output (``out_check``, which raises ``InputError``), the plan and the mapping file; and,
    when any of those has a problem but the plan and the mapping can be read, the cohort's own
    problems too (its errors), so that fixing one does not reveal the next. Returns when there
    are none (the cohort is then read once, by the command itself). What is checked of the
    cohort against the plan once it is read (its regimens, whether anyone is included) comes
    after."""
    from poems_cohort.cohort import read_mapping

    found: list[Problem] = list(earlier)

    def attempt(fn: Callable[[], T]) -> T | None:
        try:
            return fn()
        except InputError as exc:
            found.extend(exc.problems)
            return None

    if out_check is not None:
        attempt(out_check)
    effective = attempt(lambda: resolve_plan(plan, cutoff=cutoff))
    mapping_ok = True
    if isinstance(mapping, str | Path):  # a mapping given as data is checked as it is read
        before = len(found)
        problems = attempt(lambda: read_mapping(mapping)[1]) or []
        found.extend(p for p in problems if p.severity == "error")
        mapping_ok = len(found) == before
    if not any(p.severity == "error" for p in found):
        return
    if effective is not None and mapping_ok:
        # its errors only: its warnings (a date after a cutoff that may be the wrong one) come
        # with the read that succeeds
        try:
            read(data, effective, mapping=mapping)
        except InputError as exc:
            found.extend(p for p in exc.problems if p.severity == "error")
    raise InputError(sorted(found, key=lambda p: p.severity != "error"))


def study_inputs(data: str | Path | None, *, plan: PlanLike = None,
                 mapping: str | Path | None = None) -> tuple[Path, ...]:
    """The paths a study run reads (the cohort, default the bundled one; a plan file; the
    mapping): ``--out`` may not equal, contain or lie inside any of them."""
    source = Path(data) if data is not None else bundled_cohort_path()
    plan_file = Path(plan) if isinstance(plan, Path) else None
    if isinstance(plan, str) and Path(plan).exists():
        plan_file = Path(plan)
    return tuple(Path(p) for p in (source, plan_file, mapping) if p is not None)


def read(data: str | Path | None, plan: AnalysisPlan, *,
         mapping: str | Path | None = None) -> Cohort:
    """Read and validate the cohort (default: the bundled one) with the plan's cutoff; the
    columns the plan reads beyond the data dictionary are read as study columns, typed by the
    plan, and the dictionary's required columns the plan does not need may be absent."""
    return load_cohort(cohort_source(data), mapping=mapping, cutoff=plan.cutoff,
                       study_columns=plan.study_columns(),
                       optional_columns=plan.optional_columns())


def eligibility(cohort: Cohort, plan: AnalysisPlan) -> Eligibility:
    """The plan's inclusion rules: its regimens, VEGF threshold and data cutoff."""
    return apply_eligibility(cohort, regimens=plan.regimens,
                             vegf_threshold=plan.vegf_normal_below, cutoff=plan.cutoff)


def _comparable(name: str) -> str:
    """A regimen name as compared for look-alikes: NFKC-normalised, case-folded, without spaces,
    hyphens or invisible characters (``"ＡＳＣＴ"``, ``"asct"`` and ``"A SCT"`` are alike)."""
    text = unicodedata.normalize("NFKC", str(name)).casefold()
    return "".join(c for c in text if not (c.isspace() or c in "-_"
                                           or unicodedata.category(c) == "Cf"))


def lookalike_regimens(cohort: Cohort, plan: AnalysisPlan) -> list[Problem]:
    """A problem for each regimen of the cohort that is not one the plan compares but differs
    from one only in case, character width, spacing or invisible characters: its patients
    would silently form another arm, or be left out."""
    planned = {_comparable(r): r for r in plan.regimens}
    regimen = cohort.patients["regimen"]

    def who(name: str) -> str:
        # the patients given that name, by identifier (the rows of a file are not kept)
        ids = cohort.patients.loc[(regimen == name).to_numpy(dtype=bool), "patient_id"]
        shown = ", ".join(map(str, ids.head(5).tolist()))
        return f"{shown}{', …' if len(ids) > 5 else ''} ({len(ids)} patient(s))"

    return [Problem(str(cohort.source), None, "regimen", r,
                    f"a regimen name as the plan writes it: it differs from the plan's "
                    f"{planned[_comparable(r)]!r} only in case, character width or spacing, so "
                    f"its patients ({who(r)}) would silently form another arm (correct the "
                    "data, or map it with a regimen alias)")
            for r in cohort.regimen_counts(only_present=True)
            if r not in plan.regimens and _comparable(r) in planned]


def check_regimens(cohort: Cohort, plan: AnalysisPlan) -> None:
    """An ``InputError`` when a regimen the plan compares was given to no patient of the cohort
    (a misspelt name would otherwise be an empty arm)."""
    present = list(cohort.regimen_counts(only_present=True))
    alike = lookalike_regimens(cohort, plan)
    if alike:
        raise InputError(alike)
    missing = [r for r in plan.regimens if r not in present]
    if missing:
        raise InputError([Problem(plan.source or "analysis plan", None, "regimens", missing,
                                  "regimens received by at least one patient of the cohort "
                                  f"(it has {', '.join(map(str, present)) or 'none'})")])


def check_included(elig: Eligibility, source: object = "cohort") -> None:
    """An ``InputError`` when eligibility leaves no patient to analyse, saying why (the
    exclusion counts), instead of a report of empty tables."""
    flow = elig.flow
    if flow.included > 0:
        return
    reasons = "; ".join(f"{reason}: {n}" for reason, n in flow.excluded.items() if n)
    raise InputError([Problem(str(source), None, None, None,
                              f"at least one patient left to analyse; of {flow.screened} "
                              f"screened none was included ({reasons or 'no patients'})")])


def derive_cohort(cohort: Cohort, plan: AnalysisPlan | None = None, *,
                  step: Steps | None = None) -> Derived:
    """Eligibility and the analysis dataset of a loaded cohort under ``plan``."""
    plan = plan or AnalysisPlan()
    step = step or Steps()
    check_regimens(cohort, plan)
    elig = step("apply eligibility", lambda: eligibility(cohort, plan))
    check_included(elig, cohort.source)
    ds = step("derive endpoints",
              lambda: derive_analysis_dataset(elig.included, plan.endpoint_settings()))
    return Derived(plan, cohort, elig, ds)


def derive(data: str | Path | None, *, plan: PlanLike = None, mapping: str | Path | None = None,
           cutoff: dt.date | None = None) -> Derived:
    """Read the cohort and derive its analysis dataset (``poems-cohort derive``); writes
    nothing."""
    check_inputs(data, plan=plan, mapping=mapping, cutoff=cutoff)
    effective = resolve_plan(plan, cutoff=cutoff)
    return derive_cohort(read(data, effective, mapping=mapping), effective)


def validate(data: str | Path, *, plan: PlanLike = None, mapping: str | Path | None = None,
             cutoff: dt.date | None = None) -> Cohort:
    """``poems-cohort validate``: read and check the cohort as the plan would (its cutoff and
    study columns); nothing is derived or written."""
    check_inputs(data, plan=plan, mapping=mapping, cutoff=cutoff)
    effective = resolve_plan(plan, cutoff=cutoff)
    cohort = read(data, effective, mapping=mapping)
    alike = lookalike_regimens(cohort, effective)
    if alike:
        raise InputError(alike)
    # a cohort that derive and run would refuse (nobody left under the plan's cutoff and VEGF
    # rule) is not valid either; the regimens checked are the plan's that the cohort has, or
    # all of the cohort's when it has none of them (a centre's cohort checked before its plan)
    present = list(cohort.regimen_counts(only_present=True))
    regimens = [r for r in effective.regimens if r in present] or present
    if regimens:
        check_included(apply_eligibility(cohort, regimens=regimens,
                                         vegf_threshold=effective.vegf_normal_below,
                                         cutoff=effective.cutoff), cohort.source)
    return cohort


def study_of(derived: Derived) -> StudyResults:
    """The study of a derived cohort."""
    elig, ds = derived.eligibility, derived.dataset
    return compute_study(baseline_frame(elig.included.patients, ds), ds, elig.flow.to_frame(),
                         derived.plan)


def run_study(cohort: Cohort, plan: AnalysisPlan | None = None) -> StudyResults:
    """Eligibility, the analysis dataset and every table of the study for a loaded cohort."""
    return study_of(derive_cohort(cohort, plan))


def release_memory() -> None:
    """Give the memory freed so far back to the system: Arrow's allocator (mimalloc) keeps the
    blocks of the reader's and the response query's tables for reuse (about 0.15 GB at 10⁶
    patients after deriving), and glibc its heap pages; the study, which needs the room, would
    otherwise be counted on top of them."""
    import sys

    pyarrow = sys.modules.get("pyarrow")
    if pyarrow is not None:
        pyarrow.default_memory_pool().release_unused()
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):  # not glibc (musl): nothing to trim
            pass


def compute(data: str | Path | None = None, *, plan: PlanLike = None,
            mapping: str | Path | None = None, cutoff: dt.date | None = None,
            progress: Progress | None = None) -> ComputedStudy:
    """Read the plan and the cohort (default: the bundled cohort), apply eligibility, derive the
    endpoints and compute the study; writes nothing.

    ``mapping``: a column mapping file for ``load_cohort`` (TOML or CSV). ``cutoff``: overrides
    the plan's data cutoff, for reading, eligibility and the endpoints alike.
    """
    step = Steps(progress)
    effective = step("read the analysis plan", lambda: resolve_plan(plan, cutoff=cutoff))
    source = cohort_source(data)
    cohort = step("read and validate the cohort", lambda: read(source, effective,
                                                               mapping=mapping))
    derived = derive_cohort(cohort, effective, step=step)
    # only what the study reads goes on (the included patients, the dataset, the flow): the
    # screened cohort, the visits (the engine's table) and the per-patient eligibility
    # decisions are let go before the study, which at registry size needs the room
    patients = study_patients(derived.eligibility.included.patients, effective)
    ds = derived.dataset
    flow = derived.eligibility.flow.to_frame()
    del cohort, derived
    release_memory()
    results = step("compute the study", lambda: compute_study(baseline_frame(patients, ds), ds,
                                                              flow, effective))
    return ComputedStudy(results, is_synthetic_cohort(source), tuple(step.timings),
                         study_inputs(data, plan=plan, mapping=mapping))


def finish(study: ComputedStudy, out: str | Path | None, *,
           appendices: Sequence[Appendix] = (), progress: Progress | None = None) -> RunSummary:
    """Render every file of ``study`` in memory (with ``appendices`` after the study's sections)
    and write them into ``out`` (``None``: write nothing)."""
    from poems_cohort.report.pipeline import render, write

    if out is not None:
        from poems_cohort.report.output import check_output_folder

        check_output_folder(Path(out), inputs=study.inputs)
    step = Steps(progress, study.timings)
    outputs = render(study.results, synthetic=study.synthetic, appendices=appendices, step=step)
    if out is not None:
        step("write files", lambda: write(outputs, Path(out), inputs=study.inputs))
    return RunSummary(study.results, outputs, tuple(step.timings))


def run(data: str | Path | None, out: str | Path | None, *, plan: PlanLike = None,
        mapping: str | Path | None = None, cutoff: dt.date | None = None,
        progress: Progress | None = None) -> RunSummary:
    """``poems-cohort run``: the study of ``data`` (default: the bundled cohort), rendered and
    written into ``out`` (``None``: computed and rendered, nothing written). Bad input raises
    ``InputError`` before anything is written."""
    check_study_inputs(data, out, plan=plan, mapping=mapping, cutoff=cutoff)
    study = compute(data, plan=plan, mapping=mapping, cutoff=cutoff, progress=progress)
    return finish(study, out, progress=progress)


def check_study_inputs(data: str | Path | None, out: str | Path | None, *,
                       plan: PlanLike = None, mapping: str | Path | None = None,
                       cutoff: dt.date | None = None, earlier: Sequence[Problem] = ()) -> None:
    """:func:`check_inputs` of ``run`` and ``reproduce``: ``out`` (``None``: nothing written)
    is a folder they may write."""
    from poems_cohort.report.output import check_output_folder

    inputs = study_inputs(data, plan=plan, mapping=mapping)
    check_inputs(data, plan=plan, mapping=mapping, cutoff=cutoff, earlier=earlier,
                 out_check=None if out is None
                 else lambda: check_output_folder(Path(out), inputs=inputs))


def reproduce(data: str | Path | None, out: str | Path | None, *, plan: PlanLike = None,
              mapping: str | Path | None = None, cutoff: dt.date | None = None,
              progress: Progress | None = None) -> ReproduceSummary:
    """``poems-cohort reproduce``: :func:`run` with every published number set beside ours (an
    appendix of the report, a sheet of the workbook and ``reproduction.csv``)."""
    from poems_cohort.report.reproduction import reproduction_appendix
    from poems_cohort.synth.published import load_published
    from poems_cohort.synth.reproduce import reproduce_study

    check_study_inputs(data, out, plan=plan, mapping=mapping, cutoff=cutoff)
    cohort_source(data)
    published = load_published()
    study = compute(data, plan=plan, mapping=mapping, cutoff=cutoff, progress=progress)
    step = Steps(progress, study.timings)

    def audit() -> tuple[Reproduction, Appendix]:
        reproduction = reproduce_study(study.results, published)
        appendix = reproduction_appendix(
            reproduction.to_frame(), reference=f"doi:{published.doi}" if published.doi else "")
        return reproduction, appendix

    reproduction, appendix = step("set the published numbers beside ours", audit)
    summary = finish(replace(study, timings=tuple(step.timings)), out, appendices=(appendix,),
                     progress=progress)
    return ReproduceSummary(summary, reproduction)
