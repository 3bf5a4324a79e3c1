"""Opening a user's file safely, reading a TOML file safely, and checking a label.

Every reader of the package goes through these before it trusts a path or a name:

* ``regular_file_problem``: only a regular file is read. A FIFO would block the process, a
  device (``/dev/zero``) never ends; both are refused from ``os.stat`` before anything opens them.
* ``read_toml``: the one TOML reader of the analysis plan and of the mapping file. It accepts a
  UTF-8 byte-order mark, bounds the file size, turns a nesting too deep for the parser into a
  problem instead of a crash, and refuses integers outside the 64-bit range TOML defines.
* ``label_problem``: a name the user gives (a subgroup, a regimen alias) must be printable text
  that every output format can hold: no control or invisible formatting characters.
"""

from __future__ import annotations

import os
import stat
import tomllib
import unicodedata
from pathlib import Path
from typing import Any

from poems_cohort.errors import InputError, Problem

MAX_TOML_BYTES = 1_000_000
"""A plan or mapping file is a few hundred bytes; anything above a megabyte is refused."""

TOML_INTEGER_RANGE = (-(2**63), 2**63 - 1)
"""TOML integers are 64-bit signed; a larger one cannot be represented losslessly (TOML 1.0)."""

MAX_LABEL_CHARS = 200
"""The longest name accepted for a subgroup or a regimen alias."""

_NOT_PRINTABLE = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
"""Unicode categories refused in labels: control, invisible formatting (zero-width, bidi
override), lone surrogates, line and paragraph separators."""


def _a(noun: str) -> str:
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun


def regular_file_problem(path: Path, label: str | None = None, noun: str = "file",
                         ) -> Problem | None:
    """A problem when ``path`` is not an existing, readable regular file, else ``None``.

    Decided from ``os.stat`` (following symbolic links) without opening the path, so a FIFO, a
    socket or a device is refused before a read could block or never end. ``noun`` names the
    file in the message ("mapping file": "an existing mapping file").
    """
    label = label or str(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return Problem(label, None, None, None, f"an existing {noun}")
    except PermissionError:
        return Problem(label, None, None, None, f"{_a(noun)} the user may read (permission "
                       "denied)")
    except OSError as exc:
        return Problem(label, None, None, None, f"{_a(noun)} that can be read ({exc.strerror})")
    except ValueError:  # a NUL character in the path
        return Problem(label, None, None, None, f"{_a(noun)} whose name has no NUL character")
    if stat.S_ISDIR(info.st_mode):
        return Problem(label, None, None, None, f"{_a(noun)}, not a folder")
    if not stat.S_ISREG(info.st_mode):
        kind = ("a named pipe (FIFO)" if stat.S_ISFIFO(info.st_mode)
                else "a device" if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode)
                else "a socket" if stat.S_ISSOCK(info.st_mode) else "a special file")
        return Problem(label, None, None, None, f"{_a(noun)} (a regular file), not {kind}")
    if not os.access(path, os.R_OK):
        return Problem(label, None, None, None, f"{_a(noun)} the user may read (permission "
                       "denied)")
    return None


def read_bytes(path: Path, label: str, noun: str, limit: int | None = None) -> bytes:
    """The bytes of a regular file, at most ``limit`` of them; else ``InputError``."""
    what = _a(noun)
    problem = regular_file_problem(path, label, noun)
    if problem is not None:
        raise InputError([problem])
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1 if limit is not None else -1)
    except OSError as exc:
        raise InputError([Problem(label, None, None, None,
                                  f"{what} that can be read ({exc.strerror})")]) from None
    if limit is not None and len(data) > limit:
        raise InputError([Problem(label, None, None, None,
                                  f"{what} of at most {limit:,} bytes")])
    return data


def read_toml(path: str | Path, noun: str = "TOML file") -> dict[str, Any]:
    """The table of a TOML file, or ``InputError`` naming the file and what is wrong.

    The one TOML reader of the package (analysis plan, mapping file). A UTF-8 byte-order mark
    is skipped; the file must be a regular file of at most ``MAX_TOML_BYTES``; a nesting deeper
    than the parser can follow, an integer beyond 64 bits or a value of more than 4,300 digits
    is a problem, never a crash.
    """
    path = Path(path)
    label = str(path)
    what = _a(noun)
    data = read_bytes(path, label, noun, MAX_TOML_BYTES)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError([Problem(label, None, None, None, f"{what} encoded in UTF-8 "
                                  f"({exc.reason} at byte {exc.start})")]) from None
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError([Problem(label, None, None, None,
                                  f"{what} written in valid TOML ({exc})")]) from None
    except RecursionError:
        raise InputError([Problem(label, None, None, None,
                                  f"{what} written in valid TOML, nested at most a few "
                                  "hundred levels deep")]) from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise InputError([Problem(label, None, None, None,
                                  f"{what} written in valid TOML ({exc})")]) from None
    problems = [Problem(label, None, key, _short(value), "an integer within the 64-bit range "
                        f"of TOML ({TOML_INTEGER_RANGE[0]} to {TOML_INTEGER_RANGE[1]})")
                for key, value in _integers(table)
                if not TOML_INTEGER_RANGE[0] <= value <= TOML_INTEGER_RANGE[1]]
    if problems:
        raise InputError(problems)
    return table


def _short(value: int) -> str:
    text = str(value)
    return text if len(text) <= 40 else f"{text[:20]}...({len(text)} digits)"


def _integers(table: dict[str, Any]) -> list[tuple[str, int]]:
    """Every integer of a parsed TOML document with its dotted key (walked without recursion)."""
    found: list[tuple[str, int]] = []
    stack: list[tuple[str, Any]] = [("", table)]
    while stack:
        key, value = stack.pop()
        if isinstance(value, bool):
            continue
        if isinstance(value, int):
            found.append((key or "(top level)", value))
        elif isinstance(value, dict):
            stack.extend((f"{key}.{k}" if key else str(k), v) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((f"{key}[{i}]", v) for i, v in enumerate(value))
    return found


def unprintable(text: str) -> str:
    """The control, invisible-formatting and line-separator characters of ``text`` as
    ``U+XXXX`` codes (at most five), or ``""`` when it has none."""
    if text.isascii() and text.isprintable():
        return ""
    bad = sorted({c for c in text if unicodedata.category(c) in _NOT_PRINTABLE})
    return ", ".join(f"U+{ord(c):04X}" for c in bad[:5])


def label_problem(text: object) -> str | None:
    """What is wrong with a user's label (subgroup name, regimen alias), or ``None`` if fine.

    A label is non-blank text of at most ``MAX_LABEL_CHARS`` characters without control
    characters (tab, newline, NUL, ...), invisible formatting characters (zero-width, bidi
    overrides) or line separators. Other characters, ``$`` included, are shown literally.
    """
    if not isinstance(text, str):
        return "a text label"
    if not text.strip():
        return "a non-blank label"
    if len(text) > MAX_LABEL_CHARS:
        return f"a label of at most {MAX_LABEL_CHARS} characters"
    shown = unprintable(text)
    if shown:
        return ("a label of printable characters (no control, zero-width or line-separator "
                f"characters; found {shown})")
    return None
