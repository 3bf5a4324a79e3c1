"""Validation: every cell and every cross-column/cross-table rule, all problems in one pass.

Cells are first converted by kind (text, number, yes/no, date), keeping a problem for each cell
that cannot be read; a column of text is converted once per distinct value and spread back to
its cells, and problems are built only for the failing cells. A pandera schema (lazy, one check per rule) then checks ranges, whole
numbers and allowed categories on the converted frame; its failure cases are turned back into
``Problem`` objects carrying the user's row number and the value as written. Rules across columns
and tables (duplicates, date order, visits of unknown patients, soft oddities) are whole-column
comparisons, lookups and groupings.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from poems_cohort.cohort.columns import (
    BUILTIN_REGIMEN_ALIASES,
    COLUMNS,
    PATIENT_TABLE,
    RESPONSE_SOURCES,
    VISIT_COLUMNS,
    VISIT_TABLE,
    Column,
)
from poems_cohort.cohort.columns import study_columns as study_columns_of
from poems_cohort.cohort.engine import VisitTable, convert_table, validate_visits
from poems_cohort.cohort.inputs import unprintable
from poems_cohort.cohort.model import Cohort
from poems_cohort.cohort.readers import (
    ColumnMapping,
    RawCohort,
    RawTable,
    _read_raw,
    _text_codes,
    regimen_alias_problems,
)
from poems_cohort.defaults import PAPER_CUTOFF
from poems_cohort.errors import InputError, Problem

DEFAULT_CUTOFF = PAPER_CUTOFF
"""The paper's date of last follow-up."""

VEGF_WARN_ABOVE = 50_000.0
"""VEGF above this (pg/ml) is reported as a warning: possible unit or typing error."""

VISIT_BEFORE_START_DAYS = 90
"""A visit earlier than this many days before treatment start is reported as a warning."""

MISSING_TEXT = frozenset({"", "na", "n/a", "nan", "nat"})
TRUE_TEXT = frozenset({"yes", "y", "true", "t", "1", "1.0"})
FALSE_TEXT = frozenset({"no", "n", "false", "f", "0", "0.0"})
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ]00:00(?::00(?:\.0+)?)?)?$", re.ASCII)
_GROUPED = re.compile(r"[+-]?[0-9]{1,3}(?:[,_'\u00a0\u202f ][0-9]{3})+(?:\.[0-9]*)?")
_NON_SCALAR = (list, tuple, dict, set, frozenset, np.ndarray)


class _Bad(Exception):
    def __init__(self, expected: str) -> None:
        super().__init__(expected)
        self.expected = expected


def is_missing(value: object) -> bool:
    """True for an empty cell: ``None``, NaN/NaT/NA, or text that is blank, NA, N/A or NaN."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, _NON_SCALAR):
        return False  # a list is a value (and an error), never an empty cell
    if isinstance(value, decimal.Decimal):
        return value.is_nan()  # quiet or signalling NaN (pandas fails on the latter)
    if isinstance(value, str):
        return value.strip().lower() in MISSING_TEXT
    if isinstance(value, float | np.floating):
        return bool(np.isnan(value))
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _to_text(value: object) -> str:
    if isinstance(value, bytes | bytearray):
        raise _Bad("text, not binary data")
    if isinstance(value, bool | np.bool_):
        # a spreadsheet's TRUE/FALSE cell: read as text it would become a name "True"
        raise _Bad("text, not a TRUE/FALSE (yes/no) cell")
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


#: Numbers stored as floats (a spreadsheet's cells) from this size on cannot be taken as
#: identifiers: 16 digits and more.
ID_DIGITS_LIMIT = 1e15


def _to_id(value: object) -> str:
    """An identifier: text or a whole number, printable, without control characters."""
    if isinstance(value, bool | np.bool_) or not isinstance(
            value, str | int | float | np.integer | np.floating | decimal.Decimal):
        raise _Bad("an identifier: text or a whole number")
    if isinstance(value, float | np.floating | decimal.Decimal) and not (
            math.isfinite(value) and float(value).is_integer()):
        raise _Bad("an identifier: text or a whole number")
    if isinstance(value, float | np.floating) and abs(float(value)) >= ID_DIGITS_LIMIT:
        # a spreadsheet keeps 15 significant digits (a float 2^53 ≈ 9.0e15): a longer number
        # may already differ from the identifier typed, and would be written with other digits
        raise _Bad("an identifier of at most 15 digits when stored as a number (a "
                   "spreadsheet keeps only 15 significant digits, so the stored number may "
                   "differ from the one typed): store longer identifiers as text")
    text = _to_text(int(value) if isinstance(value, decimal.Decimal) else value)
    bad = unprintable(text)
    if bad:
        raise _Bad("an identifier of printable characters, without control, zero-width or "
                   f"line-break characters (found {bad})")
    return text


def _non_ascii_digits(text: str) -> bool:
    return any(c.isdigit() and not c.isascii() for c in text)


def _to_number(value: object) -> float:
    if isinstance(value, bool | np.bool_):
        raise _Bad("a number, not a yes/no value")
    try:
        if isinstance(value, int | float | np.integer | np.floating | decimal.Decimal):
            number = float(value)
        elif isinstance(value, str):
            number = _parse_number(value.strip())
        else:
            raise _Bad("a number")
    except OverflowError:
        raise _Bad("a finite number") from None
    if not math.isfinite(number):
        raise _Bad("a finite number")
    return number


def _parse_number(text: str) -> float:
    """A number written in text: ASCII digits, a decimal point, an optional exponent.

    Python's ``float`` alone would also read ``4_820`` (as 4820), full-width or Arabic-Indic
    digits and ``infinity``; each of these is refused with what to write instead.
    """
    # ASCII without underscores: float() then reads exactly sign, digits, '.', exponent,
    # plus inf and nan (refused by the caller as not finite)
    if text.isascii() and "_" not in text:
        try:
            number = float(text)
        except ValueError:
            number = None
        if number is not None:
            if number == 0.0 and re.search("[1-9]", re.split("[eE]", text)[0]):
                raise _Bad("a number within double precision (this one rounds to 0)")
            return number
    if text.lower().lstrip("+-") in ("inf", "infinity"):
        raise _Bad("a finite number")
    if _non_ascii_digits(text):
        raise _Bad("a number written with the digits 0-9 (found non-ASCII digits)")
    if _GROUPED.fullmatch(text) or "_" in text:
        raise _Bad("a number without thousands separators (4820, not 4,820 or 4_820) and "
                   "with a decimal point '.'")
    raise _Bad("a number (decimal point '.', no units)")


def _to_boolean(value: object) -> bool:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | float | np.integer | np.floating) and (value == 0 or value == 1):
        return bool(value == 1)  # compared exactly: an int too large for a float is no 0/1
    text = str(value).strip().lower()
    if text in TRUE_TEXT:
        return True
    if text in FALSE_TEXT:
        return False
    raise _Bad("yes/no (also y/n, true/false, 1/0) or empty")


#: dates outside these years are typing errors in a clinical cohort (and beyond what pandas'
#: nanosecond dates can hold past 2262)
DATE_YEARS = (1900, 2100)


def _to_date(value: object) -> pd.Timestamp:
    if isinstance(value, dt.date) and not DATE_YEARS[0] <= value.year <= DATE_YEARS[1]:
        raise _Bad(f"a date between {DATE_YEARS[0]} and {DATE_YEARS[1]}")  # before pandas sees it
    stamp = _parse_date(value)
    if not DATE_YEARS[0] <= stamp.year <= DATE_YEARS[1]:
        raise _Bad(f"a date between {DATE_YEARS[0]} and {DATE_YEARS[1]}")
    return stamp


def _parse_date(value: object) -> pd.Timestamp:
    if isinstance(value, pd.Timestamp | dt.datetime):
        stamp = pd.Timestamp(value)
        return (stamp.tz_localize(None) if stamp.tzinfo else stamp).normalize()
    if isinstance(value, dt.date):
        return pd.Timestamp(value)
    if isinstance(value, np.datetime64):
        return pd.Timestamp(value).normalize()
    if isinstance(value, str):
        match = _ISO_DATE.match(value.strip())
        if match:
            y, m, d = (int(g) for g in match.groups())
            if not DATE_YEARS[0] <= y <= DATE_YEARS[1]:
                raise _Bad(f"a date between {DATE_YEARS[0]} and {DATE_YEARS[1]}")
            try:
                return pd.Timestamp(dt.date(y, m, d))
            except ValueError:
                raise _Bad("a real calendar date YYYY-MM-DD") from None
        if _non_ascii_digits(value):
            raise _Bad("a date YYYY-MM-DD written with the digits 0-9 (found non-ASCII digits)")
    raise _Bad("a date YYYY-MM-DD")


def _category_lookup(column: Column, regimen_aliases: Mapping[str, str]) -> dict[str, str]:
    table = {a.lower(): a for a in column.allowed}
    table.update({k.lower(): v for k, v in column.synonyms})
    if column.name == "regimen":
        table.update({k.strip().lower(): v for k, v in BUILTIN_REGIMEN_ALIASES.items()})
        table.update({k.strip().lower(): v for k, v in regimen_aliases.items()})
    return table


_MISSING, _OK = 0, 1
"""Cell states of ``_read_cell``; any other state is the text of what was expected."""


def _read_cell(column: Column, raw: object, lookup: Mapping[str, str]) -> tuple[object, object]:
    """One cell: (``_MISSING``, None), (``_OK``, converted value) or (expected, None)."""
    if isinstance(raw, _NON_SCALAR):
        return "a single value, not a list or record", None
    if is_missing(raw):
        return _MISSING, None
    try:
        if column.kind == "id":
            return _OK, _to_id(raw)
        if column.kind == "number":
            return _OK, _to_number(raw)
        if column.kind == "boolean":
            return _OK, _to_boolean(raw)
        if column.kind == "date":
            return _OK, _to_date(raw)
        # the one kind left: "category"
        text = _to_text(raw)
        shown = unprintable(text)
        if shown:  # a name shown in tables, figures and sheets (a regimen, a level)
            raise _Bad("a name of printable characters (no control, zero-width or "
                       f"line-separator characters; found {shown})")
        return _OK, lookup.get(text.lower(), text)
    except _Bad as bad:
        return bad.expected, None


def _convert_column(column: Column, cells: pd.Series, lookup: Mapping[str, str],
                    ) -> tuple[pd.Series, np.ndarray, np.ndarray, list[object]]:
    """Convert one column: the typed series, per cell a missing flag, and the unreadable cells
    (their positions and what was expected).

    A column of text (every CSV column) is converted once per distinct value and spread back
    over its cells, so the cost follows the number of distinct values, not of cells. Numbers
    stored as numbers are converted as a whole; other mixtures cell by cell.
    """
    values = cells.to_numpy(dtype=object)
    n = len(values)
    text = _text_codes(values)
    inferred = "string" if text is not None else (
        pd.api.types.infer_dtype(values, skipna=False) if n else "empty")
    numbers = None
    if column.kind == "number" and inferred in ("floating", "integer", "mixed-integer-float"):
        try:
            numbers = values.astype(np.float64)
        except (OverflowError, TypeError, ValueError):
            numbers = None
    if numbers is not None:
        missing = np.isnan(numbers)
        bad = np.flatnonzero(np.isinf(numbers))
        numbers[bad] = np.nan
        return (pd.Series(numbers, index=cells.index, dtype="float64"), missing, bad,
                ["a finite number"] * len(bad))
    uniques: np.ndarray | list[object]
    if text is not None:
        codes, uniques = text
    else:  # cell by cell, each text value converted once
        seen: dict[str, int] = {}
        codes = np.empty(n, dtype=np.intp)
        uniques_list: list[object] = []
        for i, raw in enumerate(values):
            if isinstance(raw, str):
                code = seen.get(raw)
                if code is None:
                    code = seen[raw] = len(uniques_list)
                    uniques_list.append(raw)
            else:
                code = len(uniques_list)
                uniques_list.append(raw)
            codes[i] = code
        uniques = uniques_list
    states: list[object] = []
    converted: list[object] = []
    for raw in uniques:
        state, value = _read_cell(column, raw, lookup)
        states.append(state)
        converted.append(value)
    k = len(converted)
    typed = _typed(column, [*converted, None], pd.RangeIndex(k + 1))
    series = pd.Series(typed.array.take(codes), index=cells.index, dtype=typed.dtype)
    kinds = np.array([2 if isinstance(s, str) else s for s in states] + [_MISSING],
                     dtype=np.int8)[codes]
    bad = np.flatnonzero(kinds == 2)
    return series, kinds == _MISSING, bad, [states[codes[i]] for i in bad]


def _convert(table: RawTable, spec: Mapping[str, Column], regimen_aliases: Mapping[str, str],
             ) -> tuple[dict[str, pd.Series], list[Problem]]:
    """Convert every present column by kind; unreadable cells become problems and missing."""
    problems: list[Problem] = []
    out: dict[str, pd.Series] = {}
    for name in table.frame.columns:
        column = spec[name]
        header = table.headers[name]
        cells = table.frame[name]
        lookup = _category_lookup(column, regimen_aliases) if column.kind == "category" else {}
        series, missing, bad, expected = _convert_column(column, cells, lookup)
        out[name] = series
        flagged = np.zeros(len(cells), dtype=bool)
        flagged[bad] = True
        if column.nonempty:
            flagged |= missing
        if not flagged.any():
            continue
        why = dict(zip(bad.tolist(), expected, strict=True))
        rows = cells.index
        for i in np.flatnonzero(flagged).tolist():
            if i in why:
                problems.append(Problem(table.file, int(rows[i]), header, cells.iat[i], why[i]))
            else:
                # a required value: "or empty" is not among what is expected
                problems.append(Problem(table.file, int(rows[i]), header, None,
                                        f"a value ({column.required_text()})"))
    return out, problems


def _typed(column: Column, values: list[object], index: pd.Index) -> pd.Series:
    if column.kind == "number":
        return pd.Series([np.nan if v is None else v for v in values], index=index,
                         dtype="float64")
    if column.kind == "boolean":
        return pd.Series([pd.NA if v is None else v for v in values], index=index,
                         dtype="boolean")
    if column.kind == "date":
        return pd.Series([pd.NaT if v is None else v for v in values], index=index,
                         dtype="datetime64[ns]")
    return pd.Series([pd.NA if v is None else v for v in values], index=index, dtype=object)


def _integer_check(series: pd.Series) -> pd.Series:
    return (series % 1) == 0


def _schema(spec: Mapping[str, Column], present: list[str], regimen_note: str) -> pa.DataFrameSchema:
    columns: dict[str, pa.Column] = {}
    for name in present:
        column = spec[name]
        checks: list[pa.Check] = []
        expected = column.expected()
        if column.kind == "number":
            if column.minimum is not None and column.maximum is not None:
                checks.append(pa.Check.in_range(column.minimum, column.maximum, error=expected))
            elif column.minimum is not None:
                checks.append(pa.Check.ge(column.minimum, error=expected))
            if column.integer:
                checks.append(pa.Check(_integer_check, error=expected))
        elif column.kind == "category" and column.allowed:  # regimen: any name
            note = regimen_note if name == "regimen" else ""
            checks.append(pa.Check.isin(list(column.allowed), error=expected + note))
        if checks:
            columns[name] = pa.Column(None, checks=checks, nullable=True, required=False)
    return pa.DataFrameSchema(columns, coerce=False, strict=False)


_REGIMEN_NOTE = " (or a regimen alias: see the data dictionary)"


def _check_columns(table: RawTable, frame: pd.DataFrame, spec: Mapping[str, Column],
                   ) -> list[Problem]:
    """``_check_cells`` column by column in NumPy, for a table read by the engine: the same
    checks, problems and order (per column, per check, rows in order), without the schema's
    copy of the table (at 10⁷ patients a few GB)."""
    problems: list[Problem] = []
    for name in frame.columns:
        column = spec[name]
        expected = column.expected()
        failing: list[tuple[np.ndarray, str]] = []
        if column.kind == "number":
            x = frame[name].to_numpy(dtype="float64")
            known = ~np.isnan(x)
            if column.minimum is not None and column.maximum is not None:
                failing.append((known & ~((x >= column.minimum) & (x <= column.maximum)),
                                expected))
            elif column.minimum is not None:
                failing.append((known & ~(x >= column.minimum), expected))
            if column.integer:
                with np.errstate(invalid="ignore"):
                    failing.append((known & (x % 1 != 0), expected))
        elif column.kind == "category" and column.allowed:
            values = frame[name]
            bad = (values.notna() & ~values.isin(list(column.allowed))).to_numpy(dtype=bool)
            failing.append((bad, expected + (_REGIMEN_NOTE if name == "regimen" else "")))
        for bad, why in failing:
            for row in frame.index[bad].tolist():
                problems.append(Problem(table.file, int(row), table.headers[name],
                                        table.cell(row, name), why))
    return problems


def _check_cells(table: RawTable, frame: pd.DataFrame, spec: Mapping[str, Column],
                 ) -> list[Problem]:
    note = _REGIMEN_NOTE
    schema = _schema(spec, list(frame.columns), note)
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as err:
        problems = []
        cases = err.failure_cases
        for case in cases.itertuples(index=False):
            if pd.isna(case.index):
                continue
            row = int(case.index)
            raw = table.cell(row, case.column)
            problems.append(Problem(table.file, row, table.headers[case.column], raw,
                                    str(case.check)))
        return problems
    return []


def identity_key(text: str) -> str:
    """The form in which two identifiers are the same patient: Unicode NFKC (full-width and
    compatibility characters folded), invisible formatting characters (zero-width space,
    joiner, ...) removed, case folded."""
    folded = unicodedata.normalize("NFKC", text)
    folded = "".join(c for c in folded if unicodedata.category(c) != "Cf")
    return unicodedata.normalize("NFKC", folded.casefold())


def identity_keys(ids: pd.Series) -> pd.Series:
    """``identity_key`` of every identifier; plain ASCII ones are only lower-cased (the same
    result, computed for the whole column at once)."""
    values = ids.astype(str)
    ascii_ = values.str.isascii().to_numpy(dtype=bool)
    keys = values.str.lower()
    if not ascii_.all():
        keys = keys.astype(object)
        keys[~ascii_] = [identity_key(v) for v in values[~ascii_]]
    return keys


def _problem(table: RawTable, row: int, column: str, expected: str,
             severity: str = "error") -> Problem:
    return Problem(table.file, int(row), table.headers.get(column, column),
                   table.cell(row, column), expected, severity)


def _iso(value: pd.Timestamp) -> str:
    return value.date().isoformat()


def _patient_rules(table: RawTable, frame: pd.DataFrame, cutoff: pd.Timestamp | None,
                   ) -> list[Problem]:
    problems: list[Problem] = []
    if "patient_id" in frame:
        ids = frame["patient_id"]
        ids = ids[ids.notna().to_numpy()]
        again = ids.duplicated(keep="first").to_numpy()
        if again.any():
            first = dict(zip(ids[~again].tolist(), ids.index[~again].tolist(), strict=True))
            for row, pid in ids[again].items():
                problems.append(_problem(table, row, "patient_id",
                                         f"a unique patient_id (also on row {first[pid]})"))
        distinct = ids[~again]
        keys = identity_keys(distinct)
        alike = keys.duplicated(keep="first").to_numpy()
        if alike.any():
            first_key = dict(zip(keys[~alike].tolist(), distinct.index[~alike].tolist(),
                                 strict=True))
            for row, key in keys[alike].items():
                other = first_key[key]
                problems.append(_problem(
                    table, row, "patient_id", "a patient_id that differs from "
                    f"{ids[other]!r} on row {other} by more than case, character width or "
                    "invisible characters (two ways of writing the same identifier)"))

    def col(name: str) -> pd.Series:
        if name in frame:
            return frame[name]
        return pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")

    start, death = col("treatment_start"), col("death_date")
    after_start = ["progression_date", "death_date", "last_followup", "crh_date", "crv_date",
                   "rn_date"]
    for name in after_start:
        bad = col(name) < start
        for row in frame.index[bad.to_numpy()]:
            problems.append(_problem(table, row, name, "a date on or after treatment_start "
                                     f"({_iso(start[row])})"))
    for name, expected in (("last_followup", "a date on or after death_date"),
                           ("progression_date", "a date on or before death_date")):
        bad = (col(name) < death) if name == "last_followup" else (col(name) > death)
        for row in frame.index[bad.to_numpy()]:
            problems.append(_problem(table, row, name, f"{expected} ({_iso(death[row])})"))
    last = col("last_followup")
    for name in ("crh_date", "crv_date", "rn_date"):
        for row in frame.index[(col(name) > death).to_numpy()]:
            problems.append(_problem(table, row, name, "a date on or before death_date "
                                     f"({_iso(death[row])})"))
        alive_after = death.isna() & (col(name) > last)
        for row in frame.index[alive_after.to_numpy()]:
            problems.append(_problem(table, row, name, "a date on or before last_followup "
                                     f"({_iso(last[row])})", "warning"))
    if cutoff is not None:
        for name in ["treatment_start", *after_start]:
            late = col(name) > cutoff
            for row in frame.index[late.to_numpy()]:
                problems.append(_problem(table, row, name, "a date on or before the data cutoff "
                                         f"{_iso(cutoff)}", "warning"))
    if "vegf_pg_ml" in frame:
        for row in frame.index[(frame["vegf_pg_ml"] > VEGF_WARN_ABOVE).to_numpy()]:
            problems.append(_problem(table, row, "vegf_pg_ml", "VEGF up to "
                                     f"{VEGF_WARN_ABOVE:,.0f} pg/ml (check the unit)", "warning"))
    if "light_chain" in frame:
        for row in frame.index[(frame["light_chain"] == "kappa").to_numpy()]:
            problems.append(_problem(table, row, "light_chain", "lambda: the light chain is "
                                     "lambda in almost all POEMS patients", "warning"))
    if "age" in frame:
        for row in frame.index[(frame["age"] < 18).to_numpy()]:
            problems.append(_problem(table, row, "age", "an adult age (18 or over)", "warning"))
    for response in ("crh", "crv", "rn"):
        date_col, flag = f"{response}_date", f"{response}_evaluable"
        if date_col in frame and flag in frame:
            odd = frame[date_col].notna() & (frame[flag] == False)  # noqa: E712
            for row in frame.index[odd.fillna(False).to_numpy(dtype=bool)]:
                problems.append(_problem(table, row, flag, f"yes, since {date_col} is given",
                                         "warning"))
    return problems


def _first_per_patient(patients: pd.DataFrame, name: str, at: np.ndarray) -> np.ndarray:
    """``patients[name]`` of each patient's first row, at positions ``at`` (-1: none: NaT)."""
    if name not in patients:
        return np.full(len(at), np.datetime64("NaT"), dtype="datetime64[ns]")
    values = patients[name].to_numpy(dtype="datetime64[ns]")
    out = np.full(len(at), np.datetime64("NaT"), dtype="datetime64[ns]")
    out[at >= 0] = values[at[at >= 0]]
    return out


def _visit_rules(table: RawTable, frame: pd.DataFrame, patients: pd.DataFrame | None,
                 cutoff: pd.Timestamp | None) -> list[Problem]:
    problems: list[Problem] = []
    n = len(frame)
    rows = frame.index
    pids = frame["patient_id"] if "patient_id" in frame else None
    dates = frame["visit_date"] if "visit_date" in frame else None
    at = np.full(n, -1, dtype=np.intp)  # each visit's patient: position of its first row
    linked: pd.DataFrame | None = None  # the patients table, when visits can be linked to it
    if pids is not None and patients is not None and "patient_id" in patients:
        linked = patients
        ids = patients["patient_id"]
        present = ids.notna().to_numpy()
        firsts = ~ids.duplicated(keep="first").to_numpy() & present
        positions = np.flatnonzero(firsts)
        found = pd.Index(ids.to_numpy(dtype=object)[positions]).get_indexer(
            pids.to_numpy(dtype=object))
        at[found >= 0] = positions[found[found >= 0]]
        unknown = pids.notna().to_numpy() & (found < 0)
        for i in np.flatnonzero(unknown).tolist():
            problems.append(_problem(table, rows[i], "patient_id",
                                     "a patient_id of the patients table"))
    if pids is not None and dates is not None:
        when = dates.to_numpy(dtype="datetime64[ns]")
        usable = pids.notna().to_numpy() & ~np.isnat(when)
        if linked is not None:
            start = _first_per_patient(linked, "treatment_start", at)
            death = _first_per_patient(linked, "death_date", at)
            last = _first_per_patient(linked, "last_followup", at)
        else:
            start = death = last = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
        found_rows: list[tuple[int, int, Problem]] = []  # (position, rule, problem)

        def add(mask: np.ndarray, rule: int, make: Callable[[int], Problem]) -> None:
            for i in np.flatnonzero(mask & usable).tolist():
                found_rows.append((i, rule, make(i)))

        kept = np.flatnonzero(usable)
        pairs = pd.DataFrame({"pid": pids.to_numpy(dtype=object)[kept], "when": when[kept]})
        group = pairs.groupby(["pid", "when"], sort=False).ngroup().to_numpy()
        _, first_of_group = np.unique(group, return_index=True)  # groups in order met
        repeated = np.zeros(n, dtype=bool)
        repeated[kept] = True
        repeated[kept[first_of_group]] = False
        if repeated.any():
            first_row = np.zeros(n, dtype=np.int64)
            first_row[kept] = np.asarray(rows)[kept[first_of_group[group]]]
            add(repeated, 0, lambda i: _problem(
                table, rows[i], "visit_date", "one visit per patient and date (also on row "
                f"{first_row[i]})", "warning"))
        with np.errstate(invalid="ignore"):
            early = (start - when) >= np.timedelta64(VISIT_BEFORE_START_DAYS + 1, "D")
        add(early & ~np.isnat(start), 1, lambda i: _problem(
            table, rows[i], "visit_date", f"a visit at most {VISIT_BEFORE_START_DAYS} days "
            f"before treatment_start ({_iso(pd.Timestamp(start[i]))})", "warning"))
        dead = ~np.isnat(death)
        add(dead & (when > death), 2, lambda i: _problem(
            table, rows[i], "visit_date", "a date on or before the patient's death_date "
            f"({_iso(pd.Timestamp(death[i]))})"))
        add(~dead & ~np.isnat(last) & (when > last), 2, lambda i: _problem(
            table, rows[i], "visit_date", "a date on or before the patient's last_followup "
            f"({_iso(pd.Timestamp(last[i]))})", "warning"))
        if cutoff is not None:
            add(when > cutoff.to_datetime64(), 3, lambda i: _problem(
                table, rows[i], "visit_date", "a date on or before the data cutoff "
                f"{_iso(cutoff)}", "warning"))
        found_rows.sort(key=lambda item: (item[0], item[1]))
        problems.extend(problem for _, _, problem in found_rows)
    if "vegf_pg_ml" in frame:
        for row in frame.index[(frame["vegf_pg_ml"] > VEGF_WARN_ABOVE).to_numpy()]:
            problems.append(_problem(table, row, "vegf_pg_ml", "VEGF up to "
                                     f"{VEGF_WARN_ABOVE:,.0f} pg/ml (check the unit)", "warning"))
    return problems


def _response_source_rules(raw: RawCohort, with_values: Mapping[str, bool]) -> list[Problem]:
    """A cohort-level warning for each response whose measurements are absent altogether.

    ``with_values`` maps each visit column present to whether it holds at least one value."""
    problems: list[Problem] = []
    if raw.visits is not None:
        for response, needed in RESPONSE_SOURCES.items():
            for name in needed:
                if with_values.get(name, False):
                    continue
                header = raw.visits.headers.get(name, name)
                what = "with values " if name in with_values else ""
                problems.append(Problem(
                    raw.visits.file, None, header, None,
                    f"a '{name}' column {what}in the visits table; without it "
                    f"{response.upper()} is not evaluable for any patient",
                    "warning"))
    elif raw.visits is None and raw.patients is not None:
        for response in RESPONSE_SOURCES:
            name = f"{response}_date"
            if name not in raw.patients.headers:
                problems.append(Problem(
                    raw.patients.file, None, name, None,
                    f"a '{name}' column or a visits table; with neither {response.upper()} is "
                    "not evaluable for any patient", "warning"))
    return problems


def _all_missing(column: Column, index: pd.RangeIndex) -> pd.Series:
    """A column of ``column``'s kind with every value missing (``_typed`` of Nones)."""
    n = len(index)
    if column.kind == "number":
        return pd.Series(np.full(n, np.nan), index=index, dtype="float64", copy=False)
    if column.kind == "boolean":
        return pd.Series(pd.arrays.BooleanArray(np.zeros(n, dtype=bool), np.ones(n, dtype=bool)),
                         index=index, copy=False)
    if column.kind == "date":
        return pd.Series(np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]"), index=index,
                         copy=False)
    return pd.Series(np.full(n, pd.NA, dtype=object), index=index, dtype=object, copy=False)


def _canonical(frame: pd.DataFrame, columns: tuple[Column, ...]) -> pd.DataFrame:
    """The table with every column of ``columns``, in that order (absent ones all missing:
    one column per kind, shared by the absent columns of that kind; pandas copies a shared
    column on write), indexed 0..n-1; the present columns are not copied."""
    out = {}
    index = pd.RangeIndex(len(frame))
    empty: dict[str, pd.Series] = {}
    for column in columns:
        if column.name in frame:
            out[column.name] = frame[column.name].reset_index(drop=True)
        else:
            if column.kind not in empty:
                empty[column.kind] = _all_missing(column, index)
            out[column.name] = empty[column.kind].copy(deep=False)
    return pd.DataFrame(out, index=index, copy=False)


def _as_cutoff(cutoff: dt.date | str | None) -> pd.Timestamp | None:
    if cutoff is None:
        return None
    return pd.Timestamp(cutoff).normalize()


def _validate(raw: RawCohort, regimen_aliases: Mapping[str, str] | None,
              cutoff: dt.date | str | None) -> tuple[Cohort | None, list[Problem]]:
    aliases = {**raw.regimen_aliases, **(regimen_aliases or {})}
    problems: list[Problem] = regimen_alias_problems(regimen_aliases or {}, "regimen aliases")
    limit = _as_cutoff(cutoff)
    patients = visits = None
    if raw.patients is not None:
        spec = {**PATIENT_TABLE, **{c.name: c for c in raw.patients.study_columns}}
        if raw.patients.engine is not None:
            source = raw.patients.engine
            converted, index, found = convert_table(
                source, raw.patients.file,
                {name: source.header.index(raw.patients.headers[name])
                 for name in raw.patients.frame.columns},
                raw.patients.headers, spec, _read_cell,
                lambda column: _category_lookup(column, aliases) if column.kind == "category"
                else {})
        else:
            converted, found = _convert(raw.patients, spec, aliases)
            index = raw.patients.frame.index
        problems.extend(found)
        # the converted columns as they are (not copied into 2-D blocks: at registry size a
        # second copy of the table)
        patients = pd.DataFrame(converted, index=index, copy=False)
        del converted
        check = _check_columns if raw.patients.engine is not None else _check_cells
        problems.extend(check(raw.patients, patients, spec))
        problems.extend(_patient_rules(raw.patients, patients, limit))
    table: VisitTable | None = None
    with_values: dict[str, bool] = {}  # visit columns present: whether they hold a value
    if raw.visits is not None and raw.visits.engine is not None:
        source = raw.visits.engine
        frame = raw.visits.frame
        result = validate_visits(
            source, raw.visits.file,
            {name: source.header.index(raw.visits.headers[name]) for name in frame.columns},
            raw.visits.headers, patients, limit, _read_cell,
            lambda column: _category_lookup(column, aliases) if column.kind == "category"
            else {}, VEGF_WARN_ABOVE, VISIT_BEFORE_START_DAYS)
        problems.extend(result.problems)
        table = result.visits
        with_values = {name: name in result.with_values for name in result.present}
    elif raw.visits is not None:
        converted, found = _convert(raw.visits, VISIT_TABLE, aliases)
        problems.extend(found)
        visits = pd.DataFrame(converted, index=raw.visits.frame.index)
        problems.extend(_check_cells(raw.visits, visits, VISIT_TABLE))
        problems.extend(_visit_rules(raw.visits, visits, patients, limit))
        with_values = {name: bool(visits[name].notna().any()) for name in visits.columns}
    if patients is not None:
        problems.extend(_response_source_rules(raw, with_values))
    broken = {(t.file, row) for t in (raw.patients, raw.visits) if t is not None
              for row in t.broken_rows}
    problems = [p for p in problems if (p.file, p.row) not in broken]
    everything = [*raw.problems, *problems]
    if patients is None or any(p.severity == "error" for p in everything):
        return None, everything
    headers = raw.patients.headers if raw.patients is not None else {}
    cohort = Cohort(
        patients=_canonical(patients, (*COLUMNS, *(raw.patients.study_columns
                                                   if raw.patients is not None else ()))),
        visits=(table if table is not None else None if visits is None
                else VisitTable.from_frame(_canonical(visits, VISIT_COLUMNS))),
        warnings=tuple(ordered([p for p in everything if p.severity == "warning"])),
        source=raw.source,
        absent_columns=frozenset(c.name for c in COLUMNS if c.name not in headers),
    )
    return cohort, everything


def ordered(problems: list[Problem]) -> list[Problem]:
    """Problems without repeats, errors first, then by file (in order met) and row."""
    unique = list(dict.fromkeys(problems))
    files = {f: i for i, f in enumerate(dict.fromkeys(p.file for p in unique))}
    return sorted(unique, key=lambda p: (p.severity != "error", files[p.file], p.row or 0))


def _raise(problems: list[Problem]) -> InputError:
    return InputError(ordered(problems))


def validate_cohort(raw: RawCohort, *, regimen_aliases: Mapping[str, str] | None = None,
                    cutoff: dt.date | str | None = DEFAULT_CUTOFF) -> Cohort:
    """Validate tables read by ``read_cohort``; return the ``Cohort`` or raise ``InputError``.

    ``cutoff`` (default 2018-08-31, the paper's last follow-up) only produces warnings for dates
    after it; ``None`` turns those warnings off.
    """
    cohort, problems = _validate(raw, regimen_aliases, cutoff)
    if cohort is None:
        raise _raise(problems)
    return cohort


def load_cohort(path: str | Path, *,
                mapping: str | Path | Mapping[str, str] | ColumnMapping | None = None,
                regimen_aliases: Mapping[str, str] | None = None,
                cutoff: dt.date | str | None = DEFAULT_CUTOFF,
                study_columns: Mapping[str, str] | None = None,
                optional_columns: Iterable[str] = ()) -> Cohort:
    """Read, map column names, validate everything in one pass; return a frozen ``Cohort``.

    ``path`` is a CSV, Excel (.xlsx, sheets ``patients`` and optional ``visits``), SPSS (.sav),
    Stata (.dta), SAS (.sas7bdat, .xpt) or Parquet file, or a folder holding ``patients.*`` and
    optionally ``visits.*``. ``mapping`` renames columns (a dict, or a TOML/CSV file); ``regimen_aliases`` adds regimen spellings.
    ``study_columns`` (name → ``"number"``, ``"boolean"`` or ``"text"``, from
    ``AnalysisPlan.study_columns()``) are extra patient columns read and validated with those
    types instead of being ignored; absent ones are all missing. ``optional_columns`` names
    required columns of the dictionary the analysis plan does not need (``AnalysisPlan.
    optional_columns()``): they may be absent.
    Raises ``InputError`` listing every problem found (errors first, then warnings).
    """
    raw, _ = _read_raw(path, mapping, study_columns_of(dict(study_columns or {})),
                       frozenset(optional_columns))
    cohort, problems = _validate(raw, regimen_aliases, cutoff)
    if cohort is None:
        raise _raise(problems)
    return cohort
