"""What a command may add to the study's output: a section of ``report.html`` after the study's
own sections, sheets of ``tables/tables.xlsx`` and files at the top of the output folder.

An ``Appendix`` is built from finished tables (text cells), so the report layer renders it
without knowing where its numbers came from (``poems-cohort reproduce`` adds the reproduction
of the published numbers this way, see ``report/reproduction.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

from poems_cohort.report.tables import DisplayTable


@dataclass(frozen=True, slots=True)
class Folded:
    """A table shown folded in the report (an HTML ``<details>``); ``summary`` is the line
    that opens it."""

    summary: str
    table: DisplayTable


Block = str | DisplayTable | Folded
"""One block of a section, in reading order: a paragraph, a table (under its title) or a folded
table."""


@dataclass(frozen=True, slots=True)
class Appendix:
    """A section of ``report.html`` (``id`` is its anchor and ``title`` its heading and entry in
    the contents), the ``sheets`` added to ``tables/tables.xlsx`` after the study's tables, and
    ``files`` (relative path, bytes) written beside ``report.html``. Neither a sheet nor a file
    may take the name of one of the study's own."""

    id: str
    title: str
    blocks: tuple[Block, ...]
    sheets: tuple[DisplayTable, ...] = ()
    files: tuple[tuple[str, bytes], ...] = ()
