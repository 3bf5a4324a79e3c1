"""Errors about a user's input, shared by every layer.

A problem names the file, the row as the user sees it in that file (1 = the header line of a CSV,
so the first patient is row 2; for Excel the sheet row; ``None`` for file-level problems), the
column, the offending value and what was expected. ``InputError`` carries all problems found in
one pass; the CLI prints them and exits with status 2, without a traceback and without writing
anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong (``severity="error"``) or odd (``severity="warning"``) in an input."""

    file: str
    row: int | None
    column: str | None
    value: object
    expected: str
    severity: str = "error"

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column '{self.column}'"
        shown = "" if self.value is None else f": value {self.value!r}"
        return f"{where}{shown} — {self.expected}"


class InputError(Exception):
    """Raised when an input cannot be used; carries every problem found, not just the first."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        errors = [p for p in self.problems if p.severity == "error"]
        head = f"{len(errors)} problem(s) in the input"
        super().__init__(head + "".join(f"\n  {p}" for p in errors[:50]))
