"""Rendering a computed study: format the tables, draw the figures, render every file in memory,
then write them. The steps before (read, eligibility, endpoints, study) belong to
:mod:`poems_cohort.workflow`, which calls :func:`render` and :func:`write`; nothing here reads a
cohort or computes a statistic.

Everything is rendered before anything is written, so a failure leaves the output folder alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from poems_cohort.report.appendix import Appendix
from poems_cohort.report.comparative import comparative_tables
from poems_cohort.report.comparative_figures import comparative_figures, label_paper_figures
from poems_cohort.report.figures import all_figures
from poems_cohort.report.output import Outputs, build_outputs, write_outputs
from poems_cohort.report.tables import all_tables
from poems_cohort.study import StudyResults

#: ``step(name, fn)`` runs ``fn`` (timing it, reporting progress) and returns its value
Step = Callable[[str, Callable[[], Any]], Any]


def _untimed(name: str, fn: Callable[[], Any]) -> Any:
    return fn()


def render(results: StudyResults, *, synthetic: bool = False,
           appendices: Sequence[Appendix] = (), step: Step = _untimed) -> Outputs:
    """Every file of the report in memory: tables, figures, report.html, results.json, the
    workbook and the Word document, with ``appendices`` after the study's sections."""
    tables = step("format tables", lambda: [*all_tables(results),
                                            *comparative_tables(results)])
    figures = step("draw figures", lambda: label_paper_figures(
        all_figures(results, synthetic=synthetic),
        comparative_figures(results, synthetic=synthetic)))
    return step("render report, JSON, XLSX, DOCX",
                lambda: build_outputs(results, tables=tables, figures=figures,
                                      synthetic=synthetic, appendices=appendices))


def write(outputs: Outputs, out: Path, *, inputs: Sequence[Path | None] = ()) -> None:
    """Move the rendered files into ``out``, which may not equal, contain or lie inside any of
    ``inputs`` (see :func:`~poems_cohort.report.output.write_outputs`)."""
    write_outputs(outputs, Path(out), inputs=inputs)
