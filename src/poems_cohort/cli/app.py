"""The command-line front. It parses arguments, calls the library, prints and sets the exit code.

No statistics and no clinical logic live here. Bad input (``InputError``) is printed as a list of
problems and the process exits with status 2, without a traceback and without writing output.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from poems_cohort import __version__
from poems_cohort.defaults import PAPER_CUTOFF
from poems_cohort.errors import InputError, Problem, grouped

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,  # a bug is one line (cli.main), not a rich traceback
    help="poems-cohort: a POEMS syndrome treatment cohort in, the published comparative study out.",
)
# Values from the user's files reach the terminal: no rich markup, no emoji codes (``:100:``),
# no highlighting, and every control character escaped (see ``say``).
err_console = Console(stderr=True, soft_wrap=True, emoji=False, highlight=False, markup=False)
console = Console(soft_wrap=True, emoji=False, highlight=False, markup=False)

Part = str | tuple[str, str]


def literal(value: object) -> str:
    """``value`` as text that prints literally: every control or format character (escape
    sequences, carriage returns, newlines, bidirectional overrides, zero-width characters) is
    shown as its escape, e.g. ``\\x1b``, ``\\u202e``."""
    text = str(value)
    return "".join(ch.encode("unicode_escape").decode("ascii")
                   if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch
                   for ch in text)


def say(*parts: Part, err: bool = False) -> None:
    """Print one line made of ``parts`` (text, or ``(text, style)``), each printed literally
    (:func:`literal`): nothing in it is read as markup or as an emoji code."""
    line = Text.assemble(*[(literal(p[0]), p[1]) if isinstance(p, tuple) else literal(p)
                           for p in parts])
    (err_console if err else console).print(line, soft_wrap=True, highlight=False)


# Arguments and options shared by the commands that read a cohort.
CohortPath = Annotated[Path, typer.Argument(
    help="A CSV, .xlsx, .sav, .dta, .sas7bdat, .xpt or .parquet file, or a folder holding "
    "patients.* and optionally visits.*.")]
MappingOption = Annotated[Path | None, typer.Option(
    "--mapping", help="Column mapping file: TOML (\\[columns], \\[regimens]) or CSV "
    "source,canonical.")]
DEFAULT_CUTOFF = PAPER_CUTOFF.isoformat()

# Arguments and options shared by the commands that run the study (run, reproduce).
StudyData = Annotated[Path | None, typer.Argument(
    help="The cohort (CSV, Excel, SPSS, Parquet or a folder); default: the bundled synthetic "
    "cohort.")]
PlanOption = Annotated[Path | None, typer.Option(
    "--plan", help="The analysis plan: a TOML file (see 'poems-cohort plan init') or a preset "
    "name; default: leukemia-2019, the published analysis.")]
CutoffOverride = Annotated[str | None, typer.Option(
    "--cutoff", help=f"Data cutoff (YYYY-MM-DD); overrides the plan's cutoff (default "
    f"{DEFAULT_CUTOFF}).")]


def optional_cutoff(text: str | None) -> dt.date | None:
    """A ``--cutoff`` override, or ``None`` to keep the plan's."""
    return parse_cutoff(text) if text is not None else None


def checked_cutoff(text: str | None, check: Callable[[Sequence[Problem]], object]
                   ) -> dt.date | None:
    """:func:`optional_cutoff`; when ``text`` cannot be read, ``check`` (the command's other
    inputs, with the cutoff's problem as found earlier) raises every problem at once."""
    try:
        return optional_cutoff(text)
    except InputError as bad:
        check(bad.problems)
        raise


def parse_cutoff(text: str) -> dt.date:
    """The ``--cutoff`` option as a date; a bad one is an input error (exit 2)."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InputError([Problem("--cutoff", None, None, text, "a date YYYY-MM-DD")]) from None


@contextmanager
def input_errors_exit_2() -> Iterator[None]:
    """Turn an ``InputError`` into a readable list of problems and exit status 2."""
    try:
        yield
    except InputError as exc:
        errors = [p for p in exc.problems if p.severity == "error"]
        say((f"{len(errors)} problem(s) found; nothing was written.", "bold red"), err=True)
        for p in grouped(exc.problems):  # repeats of one kind are summarised
            if isinstance(p, Problem):
                tag = "error" if p.severity == "error" else "warning"
                say(f"  {tag}: {p}", err=True)
            else:
                say(f"  {p}", err=True)
        raise typer.Exit(code=2) from None


def _print_version(value: bool) -> None:
    if value:
        say(__version__)
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", help="Print the version and exit.", is_eager=True,
        callback=_print_version,
    ),
) -> None:
    """poems-cohort: a POEMS syndrome treatment cohort in, the published comparative study out."""


