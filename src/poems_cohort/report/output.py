"""Everything ``run`` writes, built in memory first, then moved into place in one step.

Only ``analysis_dataset.csv`` carries patient identifiers; every other file is aggregate.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from poems_cohort.errors import InputError, Problem
from poems_cohort.report.appendix import Appendix
from poems_cohort.report.comparative import comparative_tables
from poems_cohort.report.comparative_figures import comparative_figures, label_paper_figures
from poems_cohort.report.docx_out import docx_bytes
from poems_cohort.report.figures import RenderedFigure, all_figures
from poems_cohort.report.html import report_html
from poems_cohort.report.json_out import results_json
from poems_cohort.report.narrative import narrative
from poems_cohort.report.tables import DisplayTable, all_tables
from poems_cohort.report.xlsx_out import xlsx_bytes
from poems_cohort.study import StudyResults

PATIENT_LEVEL_FILES = ("analysis_dataset.csv",)


@dataclass(frozen=True, slots=True)
class Outputs:
    """The files of a run: relative path → bytes."""

    files: dict[str, bytes]

    def names(self) -> list[str]:
        """The relative paths, sorted."""
        return sorted(self.files)


JOURNAL_FIRST = ("table1", "table2")


def journal_order(tables: list[DisplayTable]) -> list[DisplayTable]:
    """Table 1 and Table 2 first, then the others in report order (the Word and Excel files)."""
    first = [t for name in JOURNAL_FIRST for t in tables if t.name == name]
    return first + [t for t in tables if t.name not in JOURNAL_FIRST]


def table_files(tables: list[DisplayTable], *, synthetic: bool = False,
                extra_sheets: Sequence[DisplayTable] = ()) -> dict[str, bytes]:
    """CSV per table, the workbook and the Word document (titled synthetic when it is);
    ``extra_sheets`` follow the study's tables in the workbook only."""
    files = {f"tables/{t.name}.csv": t.frame.to_csv(index=False, lineterminator="\n")
             .encode("utf-8") for t in tables}
    ordered = journal_order(tables)
    files["tables/tables.xlsx"] = xlsx_bytes([*ordered, *extra_sheets])
    title = "POEMS syndrome first-line treatments: tables"
    if synthetic:
        title += " (synthetic cohort: no real patients)"
    files["tables/tables.docx"] = docx_bytes(ordered, title=title, synthetic=synthetic)
    return files


def figure_files(figures: list[RenderedFigure]) -> dict[str, bytes]:
    """PNG (300 dpi) and SVG of every figure."""
    files: dict[str, bytes] = {}
    for f in figures:
        files[f"figures/{f.name}.png"] = f.png
        files[f"figures/{f.name}.svg"] = f.svg
    return files


def build_outputs(results: StudyResults, *, tables: list[DisplayTable] | None = None,
                  figures: list[RenderedFigure] | None = None,
                  synthetic: bool = False, appendices: Sequence[Appendix] = ()) -> Outputs:
    """Every output file of a run, in memory. ``synthetic``: the cohort is synthetic, and the
    report and ``results.json`` say so. ``appendices``: sections added to the report after the
    study's, with their workbook sheets and files (``ValueError`` when one takes the name of a
    sheet or file of the study, or of another appendix)."""
    tables = tables if tables is not None else [*all_tables(results),
                                                *comparative_tables(results)]
    figures = figures if figures is not None else label_paper_figures(
        all_figures(results, synthetic=synthetic),
        comparative_figures(results, synthetic=synthetic))
    text = narrative(results)
    files = {"results.json": results_json(results, text, synthetic=synthetic),
             "report.html": report_html(results, tables, figures, text, synthetic=synthetic,
                                        appendices=appendices),
             "analysis_dataset.csv": results.analysis_dataset.to_csv(
                 index=False, lineterminator="\n").encode("utf-8")}
    sheets = [s for a in appendices for s in a.sheets]
    _check_unique("sheet", [t.name[:31] for t in [*tables, *sheets]])
    files.update(table_files(tables, synthetic=synthetic, extra_sheets=sheets))
    files.update(figure_files(figures))
    extra = [(rel, data) for a in appendices for rel, data in a.files]
    for rel, _ in extra:
        if Path(rel).is_absolute() or ".." in Path(rel).parts:
            raise ValueError(f"an appendix file must lie inside the output folder: {rel!r}")
    _check_unique("file", [*files, *(rel for rel, _ in extra)])
    files.update(extra)
    return Outputs(files)


def _check_unique(what: str, names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"two outputs would be the {what} {name!r}")
        seen.add(name)


def check_output_folder(out: Path) -> None:
    """``out`` must be a folder or a path that can become one: an existing file there, or a file
    where a parent folder should be, is an ``InputError`` (checked before anything is computed)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError([Problem(str(out), None, None, None,
                                  "--out: a folder for the report (this is an existing file)")])
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise InputError([Problem(str(out), None, None, None,
                                          f"--out: a folder path ({parent} is a file)")])
            break


def write_outputs(outputs: Outputs, out: Path) -> None:
    """Write into a temporary folder beside ``out``, then move each entry into place."""
    out = Path(out)
    check_output_folder(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".poems-cohort-", dir=out.parent))
    try:
        for rel, data in outputs.files.items():
            path = tmp / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        if not out.exists():
            tmp.rename(out)
            return
        for entry in sorted(tmp.iterdir()):
            target = out / entry.name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
            entry.rename(target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
