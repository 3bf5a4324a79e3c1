"""Reading a cohort from CSV, Excel, SPSS, Parquet or a folder, and mapping column names.

Readers never modify an input file and never coerce values: every cell is kept as read (text from
CSV, native values from Excel/SPSS/Parquet) so that validation can report the user's own value.
Each table's index is the row number as the user sees it in the file:

* CSV: the line number (the header is line 1, so the first patient is row 2);
* Excel: the sheet row (the header is row 1);
* SPSS and Parquet: the record number, starting at 1.
"""

from __future__ import annotations

import csv
import decimal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from poems_cohort.cohort.columns import (
    BUILTIN_REGIMEN_ALIASES,
    COLUMNS,
    PATIENT_TABLE,
    REGIMENS,
    VISIT_COLUMNS,
    VISIT_TABLE,
    Column,
    lookup,
    normalize_name,
)
from poems_cohort.cohort.engine import EngineSource, open_source, wants_engine
from poems_cohort.cohort.inputs import label_problem, read_toml, regular_file_problem
from poems_cohort.cohort.workbook import (
    MAX_COLUMNS,
    Cell,
    Sheet,
    SheetScan,
    WorkbookError,
    column_number,
    read_values,
    scan_sheet,
    sheets,
)
from poems_cohort.errors import InputError, Problem

SUPPORTED = {".csv": "csv", ".xlsx": "excel", ".xlsm": "excel", ".sav": "spss",
             ".zsav": "spss", ".dta": "stata", ".sas7bdat": "sas", ".xpt": "sas-transport",
             ".parquet": "parquet", ".pq": "parquet"}
SUPPORTED_TEXT = (".csv, .xlsx, .sav, .dta, .sas7bdat, .xpt, .parquet or a folder holding "
                  "patients.* and visits.*")
#: The statistics packages' files, read by pyreadstat: its reader and the file's description.
_READSTAT = {"spss": ("read_sav", "SPSS .sav file"), "stata": ("read_dta", "Stata .dta file"),
             "sas": ("read_sas7bdat", "SAS .sas7bdat file"),
             "sas-transport": ("read_xport", "SAS transport (XPORT) .xpt file")}


@dataclass(frozen=True, eq=False)
class RawTable:
    """One table as read: canonical column names, cells as read, index = the user's row numbers.

    ``headers`` maps each canonical column to the header as written in the file.
    ``broken_rows`` are rows whose cells cannot be told apart (a CSV line with a wrong number of
    fields): they are reported once as such, and their cells are not checked one by one.
    """

    file: str
    frame: pd.DataFrame
    headers: Mapping[str, str]
    broken_rows: frozenset[int] = frozenset()
    study_columns: tuple[Column, ...] = ()
    #: a large CSV or Parquet visits file left to the engine (``cohort.engine``): ``frame`` then
    #: has the canonical columns and no rows, and validation reads the file through the engine
    engine: EngineSource | None = None

    def __len__(self) -> int:
        return self.engine.rows if self.engine is not None else len(self.frame)

    def cell(self, row: int, column: str) -> object:
        """The cell of canonical ``column`` at the user's row ``row``, as written."""
        if self.engine is None:
            return self.frame.at[row, column]
        return self.engine.cell(row, self.engine.header.index(self.headers[column]))

    def __repr__(self) -> str:
        return f"RawTable({self.file!r}, rows={len(self)}, columns={len(self.frame.columns)})"


@dataclass(frozen=True, eq=False)
class RawCohort:
    """The tables read from ``source`` before validation, with the problems met while reading."""

    source: Path
    patients: RawTable | None
    visits: RawTable | None
    regimen_aliases: Mapping[str, str] = field(default_factory=dict)
    problems: tuple[Problem, ...] = ()

    def __repr__(self) -> str:
        visits = "none" if self.visits is None else len(self.visits)
        patients = "unread" if self.patients is None else len(self.patients)
        return (f"RawCohort({str(self.source)!r}, patients={patients}, visits={visits}, "
                f"problems={len(self.problems)})")


@dataclass(frozen=True)
class ColumnMapping:
    """A user's renaming of columns (source header → canonical name) and extra regimen aliases."""

    columns: Mapping[str, str] = field(default_factory=dict)
    regimens: Mapping[str, str] = field(default_factory=dict)
    #: study columns: extra patient columns the analysis plan reads, with their types
    study: tuple[Column, ...] = ()
    #: required columns of the dictionary the analysis plan does not need (then optional)
    optional: frozenset[str] = frozenset()


def read_mapping(path: str | Path) -> tuple[ColumnMapping, list[Problem]]:
    """Read a mapping file: CSV ``source,canonical`` or TOML (``[columns]`` and ``[regimens]``).

    A TOML file without tables is read as column pairs. Unknown canonical names are problems.
    """
    path = Path(path)
    label = str(path)
    problems: list[Problem] = []
    columns: dict[str, str] = {}
    regimens: dict[str, str] = {}
    missing = regular_file_problem(path, label, "mapping file")
    if missing is not None:
        return ColumnMapping(), [missing]
    try:
        if path.suffix.lower() == ".toml":
            data = read_toml(path, "mapping file")
            tables = {k: v for k, v in data.items() if isinstance(v, dict)}
            pairs = tables.get("columns", {} if tables else data)
            for key, value in (tables.get("regimens") or {}).items():
                if not isinstance(value, str):
                    problems.append(Problem(label, None, f"regimens.{key}", value,
                                            "a regimen name (text)"))
                    continue
                regimens[str(key)] = value
            for key, value in pairs.items():
                if not isinstance(value, str):
                    problems.append(Problem(label, None, str(key), value,
                                            "a canonical column name (text)"))
                    continue
                columns[str(key)] = value
        elif path.suffix.lower() == ".csv":
            with path.open(newline="", encoding="utf-8-sig") as handle:
                rows = list(csv.reader(handle))
            seen: dict[str, int] = {}
            for number, row in enumerate(rows, start=1):
                if not any(cell.strip() for cell in row):
                    continue
                if number == 1 and [c.strip().lower() for c in row[:2]] == ["source", "canonical"]:
                    continue
                if len(row) != 2 or not row[0].strip() or not row[1].strip():
                    problems.append(Problem(label, number, None, ",".join(row),
                                            "two fields: source,canonical"))
                    continue
                source, canonical = row[0].strip(), row[1].strip()
                if source in columns and columns[source] != canonical:
                    # the later line would silently win: one source column, two meanings
                    problems.append(Problem(label, number, source, ",".join(row),
                                            f"one line per source column ({source!r} is "
                                            f"mapped to {columns[source]!r} on line "
                                            f"{seen[source]})"))
                    continue
                seen.setdefault(source, number)
                columns[source] = canonical
        else:
            return ColumnMapping(), [Problem(label, None, None, path.suffix,
                                             "a mapping file ending in .toml or .csv")]
    except InputError as exc:
        return ColumnMapping(), list(exc.problems)
    except (UnicodeDecodeError, csv.Error) as exc:
        return ColumnMapping(), [Problem(label, None, None, None,
                                         f"a readable TOML or CSV mapping file ({exc})")]
    except OSError as exc:
        return ColumnMapping(), [Problem(label, None, None, None,
                                         f"a mapping file that can be read ({exc.strerror})")]
    known = {c.name for c in COLUMNS} | {c.name for c in VISIT_COLUMNS}
    for source, canonical in columns.items():
        if canonical not in known:
            problems.append(Problem(label, None, source, canonical,
                                    "a canonical column name of the data dictionary"))
    problems.extend(regimen_alias_problems(regimens, label))
    return ColumnMapping(columns, regimens), problems


def regimen_alias_problems(aliases: Mapping[str, str], source: str) -> list[Problem]:
    """Problems of regimen aliases (alias → canonical regimen), however they are given.

    Each alias is a printable label and names a regimen (a printable, non-empty label: any
    regimen name is valid, the plan says which are compared). An alias may not
    re-point a name that already means a regimen (a canonical name such as ``ASCT``, or a
    built-in spelling such as ``Rd``) to a different one: such a mapping would silently swap
    arms. Names compare case-insensitively and without surrounding spaces.
    """
    fixed = {r.lower(): r for r in REGIMENS}
    fixed.update({k.strip().lower(): v for k, v in BUILTIN_REGIMEN_ALIASES.items()})
    problems: list[Problem] = []
    for alias, regimen in aliases.items():
        why = label_problem(alias)
        if why is not None:
            problems.append(Problem(source, None, "regimens", alias, f"a regimen alias: {why}"))
            continue
        why = label_problem(regimen)
        if why is not None:
            detail = "" if not isinstance(regimen, str) or not regimen.strip() else f" ({why})"
            problems.append(Problem(source, None, alias, regimen,
                                    f"a regimen alias mapping to a non-empty regimen name{detail}"))
            continue
        already = fixed.get(alias.strip().lower())
        if already is not None and already != regimen:
            problems.append(Problem(source, None, alias, regimen,
                                    f"an alias for a new spelling only: '{alias}' already means "
                                    f"{already} and cannot be mapped to {regimen}"))
    return problems


def _as_mapping(mapping: str | Path | Mapping[str, str] | ColumnMapping | None,
                ) -> tuple[ColumnMapping, list[Problem]]:
    if mapping is None:
        return ColumnMapping(), []
    if isinstance(mapping, ColumnMapping):
        return mapping, regimen_alias_problems(mapping.regimens, "mapping")
    if isinstance(mapping, str | Path):
        return read_mapping(mapping)
    known = {c.name for c in COLUMNS} | {c.name for c in VISIT_COLUMNS}
    problems = [Problem("mapping", None, str(k), v, "a canonical column name of the data "
                        "dictionary") for k, v in mapping.items() if v not in known]
    return ColumnMapping(dict(mapping)), problems


def _check_size(rows: int, columns: int) -> None:
    """The documented cap on a CSV, Parquet or SPSS table: ``MAX_COLUMNS`` columns. Their rows
    are not capped (a registry's visit table has millions); a workbook sheet's rows are, by
    Excel's own limit (``workbook.MAX_ROWS``, checked by the sheet scan)."""
    if columns > MAX_COLUMNS:
        raise _Unreadable(f"a table of at most {MAX_COLUMNS:,} columns "
                          f"(found {rows:,} rows, {columns:,} columns)")


# --- file formats -----------------------------------------------------------------------------


class _Unreadable(Exception):
    """A file-level problem: the message says what was expected."""


def _read_plain_csv(path: Path) -> pd.DataFrame | None:
    """The table of a CSV file that needs no CSV parser, else ``None``.

    A file qualifies when the csv module would read it as plain text split at commas and line
    ends: no quote character, no NUL, no bare carriage return (CRLF is fine), no line longer
    than the csv field limit, a header line, and exactly as many fields on every other line as
    in the header. Each record then is one line, so its row number is its line number. Any
    other file (quoted values, blank or ragged lines, undecodable bytes, ...) returns ``None``
    and is read by the csv module.
    """
    data = path.read_bytes()
    if not data or b'"' in data or b"\0" in data:
        return None
    if b"\r" in data and data.count(b"\r") != data.count(b"\r\n"):
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    raw = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(raw == ord("\n"))
    if not data.endswith(b"\n"):
        ends = np.append(ends, len(data))
    starts = np.concatenate(([0], ends[:-1] + 1))
    if len(ends) == 0 or int((ends - starts).max()) > csv.field_size_limit():
        return None
    commas = np.flatnonzero(raw == ord(","))
    fields = np.searchsorted(commas, ends) - np.searchsorted(commas, starts) + 1
    _check_size(len(ends) - 1, int(fields[0]))
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    head, _, body = text.partition("\n")
    width = int(fields[0])
    if head == "" or not (fields[1:] == width).all():
        return None
    n = len(ends) - 1
    cells: list[str] = []
    if n:
        cells = (body[:-1] if body.endswith("\n") else body).replace("\n", ",").split(",")
    if len(cells) != n * width:
        return None
    values = np.empty(n * width, dtype=object)
    values[:] = cells
    names = head.split(",")
    frame = pd.DataFrame(values.reshape(n, width), columns=range(width),
                         index=pd.Index(np.arange(2, n + 2)) if n else [], dtype=object)
    frame.columns = pd.Index(names, dtype=object)
    return frame


#: The csv module's field size limit while a table is read (its default, 131,072 characters,
#: would refuse a long free-text note of a well-formed file).
FIELD_LIMIT = 1 << 30


def _where_undecodable(path: Path, exc: UnicodeDecodeError) -> str:
    """What to expect of a file with a byte that is not UTF-8: its line, column and cell (the
    column found by counting commas on the line: a quoted comma before it may shift it)."""
    try:
        data = path.read_bytes()
        data.decode("utf-8-sig")
    except OSError:
        return f"a UTF-8 encoded CSV file ({exc.reason})"
    except UnicodeDecodeError as whole:
        exc = whole  # the position in the whole file (the reader's is within its buffer)
    else:
        return f"a UTF-8 encoded CSV file ({exc.reason})"
    at = exc.start + (3 if data.startswith(b"\xef\xbb\xbf") else 0)
    line = data.count(b"\n", 0, at) + 1
    begin = data.rfind(b"\n", 0, at) + 1
    end = data.find(b"\n", at)
    row = data[begin:end if end >= 0 else len(data)].rstrip(b"\r")
    field = data.count(b",", begin, at)
    header = data[:max(data.find(b"\n"), 0)].decode("utf-8", "replace").lstrip("\ufeff")
    names = header.rstrip("\r").split(",")
    name = names[field] if line > 1 and field < len(names) else f"field {field + 1}"
    cells = row.split(b",")
    cell = cells[field] if field < len(cells) else row
    shown = cell.decode("utf-8", "backslashreplace")
    return (f"a UTF-8 encoded CSV file: line {line}, column {name!r} holds '{shown}' "
            f"({exc.reason}); save the file as CSV UTF-8")


def _read_csv(path: Path) -> tuple[pd.DataFrame, dict[int, Problem]]:
    """The table and, per line with a wrong number of fields, its problem (file left blank).

    A plain file (no quoting, every line complete) is split at commas and line ends in one go;
    any other is read by the csv module in one pass. When every record took one line (no
    quoted value spans lines), record k is line k; otherwise the file is read again noting
    where each record starts.
    """
    # a long note in a column is a well-formed field: no limit below the file size caps
    if csv.field_size_limit() < FIELD_LIMIT:
        csv.field_size_limit(FIELD_LIMIT)
    try:
        plain = _read_plain_csv(path)
    except OSError:
        plain = None  # reported by the csv module below
    if plain is not None:
        return plain, {}
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            records = list(reader)
            lines_read = reader.line_num
            one_line_each = reader.line_num == len(records)
        starts: Sequence[int]
        if one_line_each:
            starts = range(1, len(records) + 1)
        else:
            with path.open(newline="", encoding="utf-8-sig") as handle:
                reader = csv.reader(handle)
                first: list[int] = []
                start = 1
                for _row in reader:
                    first.append(start)
                    start = reader.line_num + 1
            starts = first
    except UnicodeDecodeError as exc:
        raise _Unreadable(_where_undecodable(path, exc)) from None
    except csv.Error as exc:
        raise _Unreadable(f"a well-formed CSV file ({exc})") from None
    except OSError as exc:
        raise _Unreadable(f"a file that can be read ({exc.strerror})") from None
    if not records:
        raise _Unreadable("a non-empty file with a header row")
    header = records[0]
    width = len(header)
    _check_size(len(records) - 1, width)
    rows = records[1:]
    index = list(starts[1:])
    broken: dict[int, Problem] = {}
    lengths = np.fromiter(map(len, rows), dtype=np.intp, count=len(rows))
    for k in np.flatnonzero(lengths != width).tolist():
        row, line = rows[k], index[k]
        if k == len(rows) - 1 and line < lines_read and any("\n" in cell for cell in row):
            # a quote opened and never closed swallows every line after it into one value
            # (the last record, running to the end of the file, with too few or too many
            # fields): the rows it swallowed would otherwise be reported missing, one by one
            raise _Unreadable(f"a closing quote: a value opened by a quote (\") on line {line} "
                              f"is not closed, so lines {line}-{lines_read} were read as one "
                              "record (close the quote, or remove it)")
        filled = any(cell.strip() for cell in row)
        extra = len(row) > width and any(cell.strip() for cell in row[width:])
        if filled and (extra or len(row) < width):
            shown = ",".join(row)
            shown = shown if len(shown) <= 80 else shown[:77] + "..."
            hint = "an unquoted comma?" if len(row) > width else "a line cut short?"
            broken[line] = Problem("", line, None, shown, f"{width} fields as in the header, "
                                   f"found {len(row)} ({hint})")
        rows[k] = (row + [""] * width)[:width]
    return _frame(header, rows, index), broken


def _frame(header: Sequence[object], rows: Sequence[Sequence[object]],
           index: Sequence[int]) -> pd.DataFrame:
    names = ["" if h is None else str(h) for h in header]
    frame = pd.DataFrame(rows, columns=range(len(names)), index=index, dtype=object)
    frame.columns = pd.Index(names, dtype=object)
    return frame


def _excel_sheets(path: Path) -> list[Sheet]:
    try:
        return sheets(path)
    except WorkbookError as exc:
        raise _Unreadable(str(exc)) from None


_Flag = tuple[str, Cell]
"""A cell of a sheet that cannot be taken at face value: (kind, cell)."""


def _read_excel(path: Path, sheet: Sheet) -> tuple[pd.DataFrame, list[_Flag]]:
    """The sheet's table (header = row 1, index = sheet row) and its flagged cells."""
    try:
        scan = scan_sheet(path, sheet)
        header, body = read_values(path, sheet, scan)
    except WorkbookError as exc:
        raise _Unreadable(str(exc)) from None
    if not header and body.shape[0] == 0:
        raise _Unreadable("a non-empty sheet with a header row")
    n, width = body.shape[0], len(header)
    _check_size(n, width)
    for cell in scan.errors:  # reported as Excel errors, not again as unreadable values
        if 2 <= cell.row <= n + 1 and cell.column <= width:
            body[cell.row - 2, cell.column - 1] = None
    frame = pd.DataFrame(body, columns=range(width), index=pd.RangeIndex(2, n + 2), copy=False,
                         dtype=object)
    frame.columns = pd.Index(["" if h is None else str(h) for h in header], dtype=object)
    return frame, _flags(scan)


def _flags(scan: SheetScan) -> list[_Flag]:
    return ([("formula", c) for c in scan.formulas_without_result]
            + [("cached", c) for c in scan.formulas_with_result]
            + [("merged", c) for c, _ in scan.merged]
            + [("error", c) for c in scan.errors]
            + [("percent", c) for c in scan.percent]
            + [("empty_text", c) for c in scan.formulas_empty_text])


def _flag_problems(flags: list[_Flag], frame: pd.DataFrame, raw: RawTable) -> list[Problem]:
    """Problems of the flagged cells that lie in a column the study reads (or the header)."""
    used = {position for position, name in enumerate(frame.columns)
            if str(name) in set(raw.headers.values())}
    names = [str(n) for n in frame.columns]

    def header(column: int) -> str:
        name = names[column - 1] if column <= len(names) else ""
        return name if name.strip() else f"(column {_letters(column)})"

    problems: list[Problem] = []
    cached: dict[int, list[Cell]] = {}
    percent: dict[int, list[Cell]] = {}
    for kind, cell in flags:
        if kind == "merged":
            first, _, last = cell.text.partition(":")
            span = range(cell.column, _column_of(last or first) + 1)
            if cell.row != 1 and not any(c - 1 in used for c in span):
                continue
            problems.append(Problem(raw.file, cell.row, header(cell.column), cell.text,
                                    f"no merged cells: unmerge {cell.text} and fill in every "
                                    "cell (a merged range reads as one value and blanks)"))
            continue
        if cell.row != 1 and cell.column - 1 not in used:
            continue
        if kind == "formula":
            problems.append(Problem(raw.file, cell.row, header(cell.column), cell.text,
                                    "a value: the cell holds a formula whose result was never "
                                    "saved (open and save the workbook in Excel, or paste the "
                                    "values)"))
        elif kind == "error":
            problems.append(Problem(raw.file, cell.row, header(cell.column), cell.text,
                                    "a value, not an Excel error"))
        elif kind == "percent":
            percent.setdefault(cell.column, []).append(cell)
        elif kind == "empty_text":
            problems.append(Problem(raw.file, cell.row, header(cell.column), cell.text,
                                    "a value: the cell holds a formula whose saved result is "
                                    "empty text, which would read as an empty cell (paste the "
                                    "values, and leave the cell empty only when the value is "
                                    "unknown or absent)"))
        else:
            cached.setdefault(cell.column, []).append(cell)
    for column, cells in percent.items():
        # one problem per column: its cells all read 100 times too small
        top = cells[0]
        shown = _as_percent(top.text)
        rows = _row_ranges([c.row for c in cells])
        problems.append(Problem(
            raw.file, top.row, header(column), f"{top.text} (shown as {shown})",
            f"numbers in cells without a percent format: {len(cells)} cell(s) of this column "
            f"({'rows' if len(cells) > 1 else 'row'} {rows}) are formatted as percentages, "
            "which the file stores as fractions "
            f"({top.text} for {shown}); type {shown[:-1]} for {shown} in cells formatted as "
            "plain numbers"))
    for column, cells in cached.items():
        problems.append(Problem(raw.file, cells[0].row, header(column), cells[0].text,
                                f"a typed value; {len(cells)} cell(s) of this column hold "
                                "formulas, read as the results saved with the workbook",
                                severity="warning"))
    return problems


def _row_ranges(rows: list[int]) -> str:
    """``[2, 3, 4, 7]`` → ``"2-4, 7"`` (at most five ranges, then "…")."""
    ranges: list[str] = []
    start = prev = rows[0]
    for r in [*rows[1:], None]:
        if r is not None and r == prev + 1:
            prev = r
            continue
        ranges.append(str(start) if start == prev else f"{start}-{prev}")
        if r is not None:
            start = prev = r
    return ", ".join(ranges[:5]) + (", …" if len(ranges) > 5 else "")


def _as_percent(stored: str) -> str:
    """What Excel shows for ``stored`` in a percent format (``0.083`` → ``8.3%``)."""
    try:
        return f"{float(stored) * 100:.10g}%"
    except ValueError:
        return stored


def _letters(column: int) -> str:
    out = ""
    while column:
        column, rest = divmod(column - 1, 26)
        out = chr(65 + rest) + out
    return out


def _column_of(ref: str) -> int:
    letters = "".join(ch for ch in ref.upper() if "A" <= ch <= "Z")
    return column_number(letters) if letters else 0


def _read_readstat(path: Path, kind: str) -> pd.DataFrame:
    """An SPSS, Stata or SAS file as its values: dates as dates (by their display formats),
    missing values (system and user-defined, Stata's ``.a``-``.z``, SAS's ``.A``-``.Z``) as
    blanks, and value labels (SPSS, Stata) applied, so a coded ``sex`` reads as its labels."""
    import pyreadstat

    reader, what = _READSTAT[kind]
    labels = {"apply_value_formats": True} if kind in ("spss", "stata") else {}
    try:
        frame, _meta = getattr(pyreadstat, reader)(str(path), **labels)
    except Exception as exc:  # pyreadstat raises its own exception types
        raise _Unreadable(f"a readable {what} ({exc})") from None
    return _native(frame)


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        import pyarrow.parquet as pq

        meta = pq.ParquetFile(path).metadata
        _check_size(meta.num_rows, meta.num_columns)
        schema = pq.read_schema(path)
        binary = [f.name for f in schema if _is_binary(f.type)]
        try:
            frame = pd.read_parquet(path, columns=[n for n in schema.names if n not in binary]
                                    if binary else None)
        except NotImplementedError:  # pyarrow's ArrowNotImplementedError subclasses it
            frame = _parquet_as_values(path)
        if binary and list(frame.columns) != list(schema.names):
            # binary data as it is (bytes): never read as text by decoding it, so validation
            # names each such cell ("text, not binary data") instead of a column of bytes
            # becoming identifiers, or undecodable bytes failing the whole file
            table = pq.read_table(path, columns=binary)
            frame = frame.assign(**{n: pd.Series(table.column(n).to_pylist(), dtype=object,
                                                 index=frame.index) for n in binary})
            # in the file's order (pandas' own index columns, read as the index, left out)
            frame = frame[[n for n in schema.names if n in frame.columns]]
    except _Unreadable:
        raise
    except Exception as exc:  # pyarrow raises several exception types
        raise _Unreadable(f"a readable Parquet file ({type(exc).__name__})") from None
    return _native(frame)


def _is_binary(kind: object) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_binary(kind) or pa.types.is_large_binary(kind)
                or pa.types.is_fixed_size_binary(kind))


def _parquet_as_values(path: Path) -> pd.DataFrame:
    """The table as python values, column by column, for a nested column (list, record, map)
    that pandas cannot convert: validation then names each such cell ("a single value, not a
    list or record") instead of the file being refused as unreadable."""
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    frame = pd.DataFrame({position: pd.Series(table.column(position).to_pylist(), dtype=object)
                          for position in range(table.num_columns)}, dtype=object)
    frame.columns = pd.Index(table.column_names, dtype=object)
    return frame


def _native(frame: pd.DataFrame) -> pd.DataFrame:
    _check_size(*frame.shape)
    out = frame.astype(object)
    out.index = pd.RangeIndex(1, len(frame) + 1)
    out.columns = pd.Index([str(c) for c in frame.columns], dtype=object)
    return out


def _read_table(path: Path, sheet: Sheet | None = None,
                ) -> tuple[pd.DataFrame, dict[int, Problem], list[_Flag]]:
    kind = SUPPORTED[path.suffix.lower()]
    if kind == "csv":
        return (*_read_csv(path), [])
    if kind == "excel":
        if sheet is None:
            raise _Unreadable("a sheet to read")
        frame, flags = _read_excel(path, sheet)
        return frame, {}, flags
    if kind in _READSTAT:
        return _read_readstat(path, kind), {}, []
    return _read_parquet(path), {}, []


# --- column names -----------------------------------------------------------------------------


def _is_blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, list | tuple | dict | set | np.ndarray):
        return False  # a list is a value (refused by validation), never an empty cell
    if isinstance(value, decimal.Decimal):
        return value.is_nan()
    if isinstance(value, str):
        return value.strip() == ""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _blank_cells(cells: pd.Series) -> np.ndarray:
    """``_is_blank`` of every cell; a column of text is judged once per distinct value."""
    values = cells.to_numpy(dtype=object)
    text = _text_codes(values)
    if text is not None:
        codes, uniques = text
        return np.array([_is_blank(v) for v in uniques], dtype=bool)[codes]
    return np.fromiter(map(_is_blank, values), dtype=bool, count=len(values))


def _text_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``pd.factorize`` of an object array whose every cell is text, else ``None``.

    Text equals only text, so when every distinct value is a ``str`` and no cell was taken for
    missing, every cell is a ``str``: each distinct value then stands for its cells exactly.
    """
    if len(values) == 0:
        return None
    try:
        codes, uniques = pd.factorize(values)
    except TypeError:  # unhashable cells
        return None
    if (codes < 0).any() or not all(isinstance(u, str) for u in uniques):
        return None
    return codes, uniques


def _canonical_table(frame: pd.DataFrame, file: str, table: str, mapping: ColumnMapping,
                     ) -> tuple[RawTable, list[Problem]]:
    columns: tuple[Column, ...] = COLUMNS if table == "patients" else VISIT_COLUMNS
    spec = PATIENT_TABLE if table == "patients" else VISIT_TABLE
    study = mapping.study if table == "patients" else ()
    if study:  # the analysis plan's study columns are read like the dictionary's
        columns = (*columns, *study)
        spec = {**spec, **{c.name: c for c in study}}
    names = lookup(columns)
    user = {normalize_name(k): v for k, v in mapping.columns.items()}
    problems: list[Problem] = []
    blank = np.ones(len(frame), dtype=bool)  # a row is kept when any of its cells holds a value
    for position in range(len(frame.columns)):
        open_rows = np.flatnonzero(blank)
        if len(open_rows) == 0:
            break
        cells = frame.iloc[:, position]
        blank[open_rows] = _blank_cells(cells if len(open_rows) == len(frame)
                                        else cells.iloc[open_rows])
    keep = frame.loc[~blank] if blank.any() else frame
    headers: dict[str, str] = {}
    selected: dict[str, int] = {}
    for position, header in enumerate(frame.columns):
        key = normalize_name(header)
        if key == "":
            if not _blank_cells(keep.iloc[:, position]).all():
                problems.append(Problem(file, None, f"(column {position + 1})", None,
                                        "a header name for every column holding values"))
            continue
        canonical = user.get(key) or names.get(key)
        if canonical is None or canonical not in spec:
            problems.append(Problem(file, None, str(header), None,
                                    "a column of the data dictionary; this column is ignored",
                                    severity="warning"))
            continue
        if canonical in headers:
            problems.append(Problem(file, None, str(header), None,
                                    f"only one column for '{canonical}' (also given by "
                                    f"'{headers[canonical]}')"))
            continue
        headers[canonical] = str(header)
        selected[canonical] = position
    for column in columns:
        if column.required and column.name not in headers and not (
                table == "patients" and column.name in mapping.optional):
            also = f" (or one of: {', '.join(column.aliases)})" if column.aliases else ""
            problems.append(Problem(file, None, column.name, None,
                                    f"a required column '{column.name}'{also}"))
    if len(frame.columns) == 1 and any(sep in str(frame.columns[0]) for sep in ";\t|"):
        problems.append(Problem(file, 1, None, str(frame.columns[0])[:60],
                                "comma-separated values (the header holds one column)"))
    if table == "patients" and "egfr" not in headers and "creatinine_mg_dl" not in headers:
        problems.append(Problem(file, None, "egfr", None,
                                "an 'egfr' column or a 'creatinine_mg_dl' column to compute it"))
    data = pd.DataFrame({name: keep.iloc[:, pos] for name, pos in selected.items()},
                        index=keep.index, dtype=object)
    return RawTable(file, data, headers, study_columns=study), problems


def _find(folder: Path, stem: str) -> tuple[Path | None, list[Problem]]:
    """The folder's ``stem.*`` input file (any supported suffix, any case). Entries that are
    not folders are candidates, so a FIFO or device of that name is refused when read."""
    try:
        found = sorted(p for p in folder.iterdir() if _cohort_named(p, (stem,))
                       and not p.is_dir())
    except OSError as exc:
        return None, [Problem(str(folder), None, None, None,
                              f"a folder whose files can be listed ({exc.strerror})")]
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        return None, [Problem(str(folder), None, None, names,
                              f"a single {stem}.* file in the folder")]
    return (found[0] if found else None), []


def _read_one(path: Path, table: str, sheet: Sheet | None, mapping: ColumnMapping,
              ) -> tuple[RawTable | None, list[Problem]]:
    label = f"{path} [sheet {sheet.name}]" if sheet else str(path)
    refused = regular_file_problem(path, label)
    if refused is not None:
        return None, [refused]
    kind = SUPPORTED[path.suffix.lower()]
    if sheet is None and kind in ("csv", "parquet") and wants_engine(path):
        source = open_source(path, kind)
        if source is not None:  # else read below, as any file
            if len(source.header) > MAX_COLUMNS:
                return None, [Problem(label, None, None, None, f"a table of at most "
                                      f"{MAX_COLUMNS:,} columns (found {source.rows:,} rows, "
                                      f"{len(source.header):,} columns)")]
            empty = pd.DataFrame({h: pd.Series([], dtype=object) for h in source.header},
                                 dtype=object)
            raw, problems = _canonical_table(empty, label, table, mapping)
            if table == "patients" and source.nonblank_rows() == 0 and not any(
                    p.severity == "error" for p in problems):
                problems.append(Problem(label, None, None, None, "at least one patient row"))
            return replace(raw, engine=source), problems
    try:
        frame, broken, flags = _read_table(path, sheet)
    except _Unreadable as exc:
        return None, [Problem(label, None, None, None, str(exc))]
    raw, problems = _canonical_table(frame, label, table, mapping)
    if flags:
        problems.extend(_flag_problems(flags, frame, raw))
    if broken:
        raw = replace(raw, broken_rows=frozenset(broken))
        problems.extend(replace(p, file=label) for p in broken.values())
    if table == "patients" and raw.frame.empty and not any(
            p.severity == "error" for p in problems):
        problems.append(Problem(label, None, None, None, "at least one patient row"))
    return raw, problems


def _pick_sheet(path: Path, wanted: str, fallback_single: bool,
                ) -> tuple[Sheet | None, Problem | None]:
    """The sheet named ``wanted`` (case and surrounding spaces ignored), or the problem.

    Two sheets that both match are a problem (which one holds the data?), and so is a match
    that is not a worksheet (a chart sheet holds no cells). With ``fallback_single`` the only
    sheet of a workbook is taken whatever its name.
    """
    every = _excel_sheets(path)
    matching = [s for s in every if s.name.strip().lower() == wanted]
    if len(matching) > 1:
        return None, Problem(str(path), None, None, ", ".join(repr(s.name) for s in matching),
                             f"a single sheet named '{wanted}' (names are compared ignoring "
                             "case and surrounding spaces)")
    if matching:
        sheet = matching[0]
    elif fallback_single and len(every) == 1:
        sheet = every[0]
    else:
        return None, Problem(str(path), None, None, ", ".join(s.name for s in every),
                             f"a sheet named '{wanted}'")
    if sheet.kind != "worksheet":
        return None, Problem(f"{path} [sheet {sheet.name}]", None, None, sheet.kind,
                             "a worksheet holding the table (this sheet holds no cells)")
    return sheet, None


def _workbook_visits(path: Path | None) -> tuple[Sheet | None, list[Problem]]:
    """The ``visits`` sheet of a patients workbook, if it has one (or why it cannot be used)."""
    if path is None or SUPPORTED[path.suffix.lower()] != "excel":
        return None, []
    if regular_file_problem(path) is not None:
        return None, []  # reported when the patients sheet is read
    try:
        every = _excel_sheets(path)
    except _Unreadable:
        return None, []  # reported when the patients sheet is read
    if len(every) < 2 or not any(s.name.strip().lower() == "visits" for s in every):
        return None, []
    sheet, problem = _pick_sheet(path, "visits", fallback_single=False)
    return sheet, [problem] if problem is not None else []


def _read_raw(path: str | Path, mapping: str | Path | Mapping[str, str] | ColumnMapping | None,
              study: tuple[Column, ...] = (), optional: frozenset[str] = frozenset(),
              ) -> tuple[RawCohort, list[Problem]]:
    source = Path(path)
    column_mapping, problems = _as_mapping(mapping)
    if study or optional:
        column_mapping = replace(column_mapping, study=study, optional=optional)
    patients: RawTable | None = None
    visits: RawTable | None = None

    def done() -> tuple[RawCohort, list[Problem]]:
        raw = RawCohort(source, patients, visits, dict(column_mapping.regimens), tuple(problems))
        return raw, problems

    try:
        is_dir = source.is_dir()
        exists = is_dir or source.exists() or source.is_symlink()
    except (OSError, ValueError):  # ValueError: a NUL in the path
        is_dir, exists = False, True  # reported as unreadable below
    if not exists:
        problems.append(Problem(str(source), None, None, None, "an existing file or folder"))
        return done()
    try:
        if is_dir:
            patient_file, ambiguous = _find(source, "patients")
            problems.extend(ambiguous)
            visit_file, found = _find(source, "visits")
            problems.extend(found)
            if patient_file is None and not ambiguous:
                problems.append(Problem(str(source), None, None, None,
                                        "a patients.csv, .xlsx, .sav, .dta, .sas7bdat, .xpt "
                                        "or .parquet file in the folder"))
            plan: list[tuple[Path | None, str, Sheet | None]] = [
                (patient_file, "patients", None), (visit_file, "visits", None)]
            inner, found = _workbook_visits(patient_file)
            problems.extend(found)
            if inner is not None and visit_file is not None:
                problems.append(Problem(str(source), None, None,
                                        f"{visit_file.name}, {patient_file} [sheet {inner.name}]",
                                        "visits in one place only: a visits file or a visits "
                                        "sheet in the patients workbook, not both"))
            elif inner is not None:
                plan[1] = (patient_file, "visits", inner)
            for file, table, sheet in plan:
                if file is None:
                    continue
                refused = regular_file_problem(file)
                if refused is not None:
                    problems.append(refused)
                    continue
                if sheet is None and SUPPORTED[file.suffix.lower()] == "excel":
                    sheet, missing = _pick_sheet(file, table, fallback_single=True)
                    if missing is not None:
                        problems.append(missing)
                        continue
                read, found = _read_one(file, table, sheet, column_mapping)
                problems.extend(found)
                if table == "patients":
                    patients = read
                else:
                    visits = read
            return done()
        kind = SUPPORTED.get(source.suffix.lower())
        if kind is None:
            problems.append(Problem(str(source), None, None, source.suffix or source.name,
                                    f"a supported input: {SUPPORTED_TEXT}"))
            return done()
        refused = regular_file_problem(source)
        if refused is not None:
            problems.append(refused)
            return done()
        if kind == "excel":
            sheet, missing = _pick_sheet(source, "patients", fallback_single=False)
            if missing is not None:
                problems.append(missing)
            else:
                patients, found = _read_one(source, "patients", sheet, column_mapping)
                problems.extend(found)
            visit_sheet, found = _workbook_visits(source)
            problems.extend(found)
            if visit_sheet is not None:
                visits, found = _read_one(source, "visits", visit_sheet, column_mapping)
                problems.extend(found)
            return done()
        patients, found = _read_one(source, "patients", None, column_mapping)
        problems.extend(found)
    except _Unreadable as exc:
        problems.append(Problem(str(source), None, None, None, str(exc)))
    return done()


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return a.samefile(b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def input_conflict(path: str | Path, candidate: str | Path, *,
                   mapping: str | Path | Mapping[str, str] | ColumnMapping | None = None,
                   ) -> Path | None:
    """The input that writing ``candidate`` would overwrite or add to, else ``None``.

    Inputs are ``path`` itself (a file), the ``patients.*``/``visits.*`` files of a folder, and a
    mapping file. In a cohort folder, a new ``patients.*`` or ``visits.*`` file would be read as
    input next time, so it conflicts too; so does one in any folder holding a ``patients.*``
    file (the folder of a single-file input, or another cohort's): read as a folder, that
    cohort would change.
    """
    source, target = Path(path), Path(candidate)
    inputs: list[Path] = []
    if isinstance(mapping, str | Path):
        inputs.append(Path(mapping))
    if source.is_dir():
        try:
            inputs += [f for f in source.iterdir() if f.is_file() and _cohort_named(f)]
        except OSError:
            pass  # a folder that cannot be listed is reported when the cohort is read
        if _same_file(target.parent, source) and _cohort_named(target):
            return target
    else:
        inputs.append(source)
    found = next((f for f in inputs if _same_file(f, target)), None)
    if found is None and _cohort_named(target) and _holds_patients(target.parent, besides=target):
        return target
    return found


def _cohort_named(path: Path, stems: tuple[str, ...] = ("patients", "visits")) -> bool:
    """Whether ``path`` would be read as a cohort file of its folder: one of ``stems`` (any
    case) in a supported format."""
    return path.stem.lower() in stems and path.suffix.lower() in SUPPORTED


def _holds_patients(folder: Path, besides: Path) -> bool:
    """Whether ``folder`` holds a ``patients.*`` file other than ``besides`` (which may be
    replaced when the tool wrote it); a folder that cannot be listed: no."""
    try:
        return any(_cohort_named(f, ("patients",)) and f.is_file() and not _same_file(f, besides)
                   for f in folder.iterdir())
    except OSError:
        return False


def read_cohort(path: str | Path, *,
                mapping: str | Path | Mapping[str, str] | ColumnMapping | None = None,
                ) -> RawCohort:
    """Read the patients (and visits) tables with canonical column names, without validating cells.

    Raises ``InputError`` with every file-level problem (missing file or sheet, unreadable or
    unsupported file, missing required column, …). Warnings are kept in ``RawCohort.problems``.
    """
    raw, problems = _read_raw(path, mapping)
    if any(p.severity == "error" for p in problems):
        raise InputError(sorted(problems, key=lambda p: p.severity != "error"))
    return raw
