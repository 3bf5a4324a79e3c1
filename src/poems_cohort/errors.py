"""Errors about a user's input, shared by every layer.

A problem names the file, the row as the user sees it in that file (1 = the header line of a CSV,
so the first patient is row 2; for Excel the sheet row; ``None`` for file-level problems), the
column, the offending value and what was expected. ``InputError`` carries all problems found in
one pass; the CLI prints them and exits with status 2, without a traceback and without writing
anything.
"""

from __future__ import annotations

import datetime as dt
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

    def __post_init__(self) -> None:
        if getattr(self.value, "ndim", 0) and hasattr(self.value, "tolist"):
            object.__setattr__(self, "value", self.value.tolist())  # an array cell: a list

    def __hash__(self) -> int:
        try:
            value = hash(self.value)
        except TypeError:  # a list or record read from a file, or given in a plan
            value = hash(repr(self.value))
        return hash((self.file, self.row, self.column, value, self.expected, self.severity))

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column '{self.column}'"
        shown = "" if self.value is None else f": value {shown_value(self.value)}"
        return f"{where}{shown} — {self.expected}"


def shown_value(value: object) -> str:
    """A cell's value as its user sees it: text quoted, a date as YYYY-MM-DD (a time as
    HH:MM:SS), a spreadsheet's TRUE/FALSE as such, binary data as its bytes; not as a Python
    object (``datetime.date(1900, 2, 13)``, ``Timestamp(...)``)."""
    item = getattr(value, "item", None)
    if callable(item) and type(value).__module__ == "numpy":
        value = item()  # a NumPy scalar: its Python value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        text = value.isoformat(sep=" ")
        return text[:10] if text.endswith(" 00:00:00") else text
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray):
        return f"'{bytes(value).decode('utf-8', 'backslashreplace')}' (binary data)"
    return repr(value)


SHOWN_PER_KIND = 10
"""How many problems of one kind (same file, same expectation, same severity) are printed
before the rest are summarised as "and N more like this"."""


@dataclass(frozen=True, slots=True)
class Repeats:
    """Stands for ``count`` further problems like ``example`` that are not printed one by one."""

    count: int
    example: Problem

    def __str__(self) -> str:
        what = "warnings" if self.example.severity == "warning" else "problems"
        return (f"... and {self.count:,} more {what} like this in {self.example.file} "
                f"({self.example.expected})")


def grouped(problems: Iterable[Problem], shown: int = SHOWN_PER_KIND) -> list[Problem | Repeats]:
    """The problems to print, in order, with each kind cut after ``shown`` of its problems.

    A kind is a (severity, file, expected) triple: a thousand unknown columns or a column of
    bad values print ``shown`` lines and one ``Repeats`` line after the last of them. Every
    problem stays in ``InputError.problems``; only the printed list is shortened.
    """
    items = list(problems)
    seen: dict[tuple[str, str, str], int] = {}
    last: dict[tuple[str, str, str], int] = {}
    out: list[Problem | Repeats] = []
    for p in items:
        key = (p.severity, p.file, p.expected)
        n = seen[key] = seen.get(key, 0) + 1
        if n <= shown:
            out.append(p)
            last[key] = len(out) - 1
    extra = sorted(((last[k], n - shown, k) for k, n in seen.items() if n > shown), reverse=True)
    for position, count, key in extra:
        example = out[position]
        assert isinstance(example, Problem) and (example.severity, example.file,
                                                 example.expected) == key
        out.insert(position + 1, Repeats(count, example))
    return out


class InputError(Exception):
    """Raised when an input cannot be used; carries every problem found, not just the first.

    ``problems`` holds all of them; the message (and the command line) prints them grouped
    (see ``grouped``).
    """

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        errors = [p for p in self.problems if p.severity == "error"]
        head = f"{len(errors)} problem(s) in the input"
        lines = grouped(errors)[:50]
        super().__init__(head + "".join(f"\n  {p}" for p in lines))
