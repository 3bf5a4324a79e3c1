"""The out-of-core engine (DuckDB) behind large CSV and Parquet visit tables.

A registry's visit table has 10⁷–10⁹ rows: too many to hold as Python cells. Above
``ENGINE_MIN_BYTES`` (or always/never, by the ``POEMS_COHORT_ENGINE`` environment variable) a
CSV or Parquet visits file is read, converted, checked and derived by DuckDB, which spills to a
tool-owned temporary folder under a memory limit (``MEMORY_LIMIT``), and never materialised in
pandas:

* a CSV file is read with every column as text (a Parquet file with its own types), each row
  keeping its row number as the user sees it (CSV: the line number; Parquet: the record number);
* a cell in a strict, unambiguous form (an ASCII decimal number, an ISO date ``YYYY-MM-DD``, a
  printable ASCII identifier, a native Parquet double or date) is converted in SQL; every other
  distinct cell text (a category, a value with spaces, a typing error) is converted once by the
  same Python function the pandas path uses (``validation._read_cell``), so problems and values
  are identical;
* range checks and the visit rules (unknown patients, duplicates, dates against the patient's
  treatment start, death, last follow-up and the cutoff) are SQL predicates, one grouped pass
  per patient joined to the patients, and an ordered pass that rules out repeated dates
  (``_rules``); only the failing rows are fetched and turned into the same ``Problem`` objects
  as the pandas path;
* the typed table of a CSV file (or of a Parquet file with many distinct cells needing Python)
  is written once as Parquet in the temporary folder; a Parquet file whose cells are all
  converted in SQL is not copied: its typed table is a query of the user's file. Either way
  ``VisitTable`` is a small handle to it (``len``, ``to_frame()``), and the response
  derivation runs on it as one grouped query (``first_response_dates``);
* cell states (missing, read, unreadable) are computed for the failing rows only, never
  stored beside the typed values.

The temporary folder is created with ``tempfile.mkdtemp`` (the system's temporary directory,
never the user's folders) and removed when the last handle using it is garbage-collected or the
process exits.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from poems_cohort.cohort.columns import VISIT_COLUMNS, VISIT_TABLE, Column
from poems_cohort.errors import Problem

ENGINE_ENV = "POEMS_COHORT_ENGINE"
"""``auto`` (default): the engine reads visit files of at least ``ENGINE_MIN_BYTES`` (Parquet:
an eighth of it);
``always``: every CSV or Parquet visits file; ``never``: none (the pandas path)."""

ENGINE_MIN_BYTES = 16 * 2**20
"""CSV files from this size (16 MiB, about 2×10⁴ patients of the synthetic cohort) go
through the engine when ``POEMS_COHORT_ENGINE`` is ``auto``; Parquet files from an eighth of it
(2 MiB: Parquet holds the same table in 8–10 times fewer bytes, so the same number of rows;
at 16 MiB a Parquet cohort of 10⁵ patients took the pandas path, at 1.4 GB)."""

MEMORY_LIMIT = "512MB"
"""DuckDB's memory limit; beyond it joins, aggregates and sorts spill to the temporary folder.
The environment variable ``POEMS_COHORT_ENGINE_MEMORY`` (e.g. ``512MB``, ``4GB``) sets another."""

MEMORY_ENV = "POEMS_COHORT_ENGINE_MEMORY"

_CHUNK = 64 * 2**20
_WHITESPACE = "".join(c for c in map(chr, range(0x3001)) if c.isspace())
"""Every character ``str.strip`` removes (none lies beyond U+3000)."""


def engine_mode() -> str:
    mode = os.environ.get(ENGINE_ENV, "auto").strip().lower()
    return mode if mode in ("auto", "always", "never") else "auto"


def wants_engine(path: Path) -> bool:
    """Whether a CSV or Parquet visits file goes through the engine (see ``ENGINE_ENV``)."""
    mode = engine_mode()
    if mode == "never":
        return False
    if mode == "always":
        return True
    try:
        size = path.stat().st_size
    except OSError:
        return False
    parquet = path.suffix.lower() in (".parquet", ".pq")
    return size >= (ENGINE_MIN_BYTES // 8 if parquet else ENGINE_MIN_BYTES)


# --- the temporary folder and connections ------------------------------------------------------


class SpillDir:
    """A tool-owned temporary folder, removed when no handle refers to it any more."""

    def __init__(self) -> None:
        self.path = Path(tempfile.mkdtemp(prefix="poems-cohort-engine-"))
        self._cleanup = weakref.finalize(self, shutil.rmtree, str(self.path), True)

    def __repr__(self) -> str:
        return f"SpillDir({str(self.path)!r})"


def connect(spill: SpillDir, database: str = ":memory:") -> Any:
    """A DuckDB connection spilling to ``spill``, with ``MEMORY_LIMIT`` and one thread a core."""
    import duckdb

    return duckdb.connect(database, config={
        "temp_directory": str(spill.path / "spill"),
        "memory_limit": os.environ.get(MEMORY_ENV, "").strip() or MEMORY_LIMIT,
        "threads": max(1, os.cpu_count() or 1),
        "preserve_insertion_order": True,
    })


def _q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    """A quoted SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


# --- the source file ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class EngineSource:
    """A visits file the engine can read: its format, its header and, per column, its type.

    For CSV every column is text (``VARCHAR``); for Parquet the file's own types.
    """

    path: Path
    kind: str  # "csv" or "parquet"
    header: tuple[str, ...]
    types: tuple[str, ...]
    rows: int
    spill: SpillDir = field(repr=False)
    #: the engine's database in ``spill``; for CSV it holds the file as table ``raw0`` (text
    #: cells, in the file's order: rowid k is line k + 2), loaded once when the file is opened
    database: Path = field(repr=False)

    _cells: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        return f"EngineSource({str(self.path)!r}, {self.kind}, rows={self.rows})"

    def nonblank_rows(self) -> int:
        """The number of rows holding at least one value."""
        con = connect(self.spill, str(self.database))
        try:
            _raw_view(con, self)
            return int(con.execute("SELECT count(*) FROM raw").fetchall()[0][0])
        finally:
            con.close()

    def cell(self, row: int, position: int) -> object:
        """The cell as written at the user's row ``row`` of column ``position`` (the column is
        fetched once, on first use: for the few columns a problem is reported in)."""
        if position not in self._cells:
            con = connect(self.spill, str(self.database))
            try:
                _raw_view(con, self)
                got = con.sql(f"SELECT _row, c{position} FROM raw ORDER BY _row"
                                  ).to_arrow_table()
            finally:
                con.close()
            self._cells[position] = (got.column(0).to_numpy(),
                                     got.column(1).to_pandas().to_numpy(dtype=object))
        rows, values = self._cells[position]
        at = int(np.searchsorted(rows, row))
        value = values[at]
        return "" if value is None and self.kind == "csv" else value  # DuckDB: empty is NULL

    def scan(self) -> str:
        """SQL of the file as a table of columns ``c0``, ``c1``, … (Parquet: and ``_row``, the
        record number; a CSV file's line numbers come from the order of its rows, kept by
        loading it into a table: ``load``)."""
        path = _lit(str(self.path))
        if self.kind == "csv":
            columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(self.header))) + "}"
            return (f"read_csv({path}, header=false, skip=1, delim=',', quote='', escape='', "
                    "strict_mode=true, null_padding=false, auto_detect=false, "
                    f"columns={columns})")
        names = ", ".join(f"{_q(h)} AS c{i}" for i, h in enumerate(self.header))
        return (f"(SELECT file_row_number + 1 AS _row, {names} "
                f"FROM read_parquet({path}, file_row_number=true))")


_PARQUET_TYPES = {"VARCHAR", "DOUBLE", "DATE"}
"""Parquet column types the engine reads as the pandas path does (an integer column with a
missing value becomes floats in pandas, a float32 column numpy scalars: those files take the
pandas path)."""


def open_source(path: Path, kind: str) -> EngineSource | None:
    """The engine's view of a visits file, or ``None`` when the pandas path must read it.

    A CSV file qualifies when the pandas path would read it as plain text (no quote character,
    no NUL, no bare carriage return, UTF-8, a non-empty header without blank or repeated names,
    every line with the header's number of fields, no blank line): its record k is then line
    k + 1. A Parquet file qualifies when its columns are flat text, numbers or dates with
    distinct, non-blank names (``_PARQUET_TYPES``). Anything else (quoted fields, ragged lines, nested or timestamp
    columns, ...) returns ``None``.
    """
    try:
        if kind == "csv":
            return _open_csv(path)
        if kind == "parquet":
            return _open_parquet(path)
    except (OSError, UnicodeDecodeError):
        return None
    return None


def _plain_names(names: list[str]) -> bool:
    return bool(names) and all(n.strip() for n in names) and len(set(names)) == len(names)


def _open_csv(path: Path) -> EngineSource | None:
    newlines = 0
    first = b""
    last = b""
    with path.open("rb") as handle:
        cr = False  # the previous chunk ended with a CR: this one must start with its LF
        while True:
            chunk = handle.read(_CHUNK)
            if not chunk:
                break
            if b'"' in chunk or b"\0" in chunk or (cr and not chunk.startswith(b"\n")):
                return None
            # every CR starts a CRLF (counted in the chunk, without copying it: the chunk's
            # last byte may be a CR whose LF starts the next one)
            cr = chunk.endswith(b"\r")
            if b"\r" in chunk and chunk.count(b"\r") - cr != chunk.count(b"\r\n"):
                return None
            newlines += chunk.count(b"\n")
            if not first:
                first = chunk[:1 << 20]
            last = chunk
        if cr:
            return None
    if not first:
        return None
    lines = newlines + (0 if last.endswith(b"\n") else 1)
    line, sep, _ = first.partition(b"\n")
    if not sep and lines > 1:
        return None  # a header longer than the first MiB
    header = line.decode("utf-8-sig").removesuffix("\r").split(",")
    if not _plain_names(header) or lines < 2:
        return None
    source = EngineSource(path, "csv", tuple(header), ("VARCHAR",) * len(header), lines - 1,
                          spill := SpillDir(), spill.path / "engine.duckdb")
    con = connect(spill, str(source.database))
    try:
        con.execute(f"CREATE TABLE raw0 AS SELECT * FROM {source.scan()}")
        rows = con.execute("SELECT count(*) FROM raw0").fetchall()[0][0]
    except Exception:  # DuckDB's errors: ragged lines, invalid UTF-8, ...
        return None
    finally:
        con.close()
    return source if rows == source.rows else None  # DuckDB skips blank lines: not plain


def _open_parquet(path: Path) -> EngineSource | None:
    spill = SpillDir()
    con = connect(spill)
    try:
        described = con.execute(
            f"DESCRIBE SELECT * FROM read_parquet({_lit(str(path))})").fetchall()
        rows = con.execute(f"SELECT count(*) FROM read_parquet({_lit(str(path))})").fetchall()[0][0]
    except Exception:  # unreadable: reported by the pandas path
        return None
    finally:
        con.close()
    names = [str(d[0]) for d in described]
    types = [str(d[1]) for d in described]
    if not _plain_names(names) or any(t not in _PARQUET_TYPES for t in types) or rows == 0:
        return None
    return EngineSource(path, "parquet", tuple(names), tuple(types), int(rows), spill,
                        spill.path / "engine.duckdb")


# --- the typed visits handle -------------------------------------------------------------------

_SQL_TYPES = {"id": "VARCHAR", "category": "VARCHAR", "number": "DOUBLE", "date": "DATE",
              "boolean": "BOOLEAN"}


@dataclass(frozen=True, eq=False)
class VisitTable:
    """The validated visits: one row per assessment, the columns of ``VISIT_COLUMNS``.

    Held either as a pandas frame (small tables, workbooks, SPSS) or as a Parquet file in the
    engine's temporary folder (large CSV and Parquet files); ``to_frame()`` gives the pandas
    frame either way (``patient_id``, categories: ``object`` with ``<NA>``; ``visit_date``:
    ``datetime64[ns]``; numbers: ``float64``). ``with_values`` names the columns holding at
    least one value.
    """

    rows: int
    with_values: frozenset[str]
    frame: pd.DataFrame | None = None
    parquet: Path | None = None
    #: instead of ``parquet``: a self-contained query of the typed visits (a Parquet input
    #: whose every cell the engine converts in SQL is read from the user's file, not copied)
    query: str | None = None
    spill: SpillDir | None = field(default=None, repr=False)
    columns: tuple[str, ...] = tuple(c.name for c in VISIT_COLUMNS)
    #: the columns the Parquet file holds (the others are all missing); empty: every column
    stored: tuple[str, ...] = ()

    def __repr__(self) -> str:
        where = "in memory" if self.frame is not None else "engine"
        return f"VisitTable(rows={self.rows}, {where})"

    def __len__(self) -> int:
        return self.rows

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> VisitTable:
        """A handle to a canonical visits frame (shared, not copied)."""
        with_values = frozenset(c for c in frame.columns if frame[c].notna().any())
        return cls(len(frame), with_values, frame=frame, columns=tuple(frame.columns))

    @property
    def on_disk(self) -> bool:
        return self.parquet is not None or self.query is not None

    def has_values(self, name: str) -> bool:
        return name in self.with_values

    def to_frame(self) -> pd.DataFrame:
        """The visits as a pandas frame (the whole table in memory: for small tables)."""
        if self.frame is not None:
            return self.frame
        if self.query is not None:
            assert self.spill is not None
            con = connect(self.spill)
            try:
                table = con.sql(self.query).to_arrow_table()
            finally:
                con.close()
        else:
            import pyarrow.parquet as pq

            table = pq.read_table(self.parquet, columns=list(self.stored or self.columns))
        return _canonical_frame(table.to_pandas(date_as_object=False))

    def _select(self) -> str:
        """SQL of the Parquet file with every column (absent ones all missing)."""
        stored = self.stored or self.columns
        every = ", ".join(_q(c.name) if c.name in stored
                          else f"CAST(NULL AS {_SQL_TYPES[c.kind]}) AS {_q(c.name)}"
                          for c in VISIT_COLUMNS)
        source = (f"({self.query})" if self.query is not None
                  else f"read_parquet({_lit(str(self.parquet))})")
        return f"SELECT {every} FROM {source}"

    def subset(self, patient_ids: Iterable[str]) -> VisitTable:
        """The visits of ``patient_ids`` only (order kept)."""
        wanted = set(patient_ids)
        if self.frame is not None:
            kept = self.frame.loc[self.frame["patient_id"].isin(wanted)].reset_index(drop=True)
            return VisitTable(len(kept), frozenset(c for c in kept.columns
                                                   if kept[c].notna().any()),
                              frame=kept, columns=self.columns)
        assert self.spill is not None and self.on_disk
        out = self.spill.path / f"visits-{os.urandom(6).hex()}.parquet"
        con = connect(self.spill)
        try:
            con.register("wanted", pd.DataFrame({"patient_id": sorted(wanted)}, dtype=object))
            con.execute(f"COPY (SELECT v.* FROM ({self._select()}) v "
                        "SEMI JOIN wanted USING (patient_id)) "
                        f"TO {_lit(str(out))} (FORMAT parquet)")
            counts = con.execute(
                "SELECT count(*), " + ", ".join(f"count({_q(c)})" for c in self.columns)
                + f" FROM read_parquet({_lit(str(out))})").fetchall()[0]
        finally:
            con.close()
        with_values = frozenset(c for c, n in zip(self.columns, counts[1:], strict=True) if n)
        return VisitTable(int(counts[0]), with_values, parquet=out, spill=self.spill,
                          columns=self.columns)

    def sql(self, con: Any, name: str = "visits") -> str:
        """Make the visits readable as ``name`` on ``con``; returns ``name``."""
        if self.on_disk:
            con.execute(f"CREATE OR REPLACE TEMP VIEW {_q(name)} AS {self._select()}")
        else:
            con.register(name, _arrow_of(self.frame))
        return name


def _arrow_of(frame: pd.DataFrame | None) -> Any:
    """An Arrow table of a canonical visits frame: NaN and <NA> become nulls."""
    import pyarrow as pa

    assert frame is not None
    columns = {}
    for name in frame.columns:
        kind = VISIT_TABLE[name].kind if name in VISIT_TABLE else "category"
        series = frame[name]
        if kind == "number":
            columns[name] = pa.array(series.to_numpy(dtype="float64"), from_pandas=True)
        elif kind == "date":
            columns[name] = pa.array(series.to_numpy(dtype="datetime64[ns]"), from_pandas=True)
        else:
            values = series.astype(object)
            columns[name] = pa.array(values.where(values.notna(), None).tolist(), type=pa.string())
    return pa.table(columns)


def _canonical_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The engine's typed visits as the pandas path's canonical frame (same dtypes)."""
    out = {}
    for column in VISIT_COLUMNS:
        series = frame[column.name] if column.name in frame else None
        n = len(frame)
        if column.kind == "number":
            out[column.name] = (pd.Series(np.nan, index=range(n), dtype="float64")
                                if series is None else series.astype("float64"))
        elif column.kind == "date":
            out[column.name] = (pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")
                                if series is None else series.astype("datetime64[ns]"))
        else:
            values = (pd.Series([pd.NA] * n, dtype=object) if series is None
                      else series.astype(object))
            out[column.name] = values.where(values.notna(), pd.NA)
    return pd.DataFrame(out, index=pd.RangeIndex(len(frame)))


# --- conversion and checks ---------------------------------------------------------------------

#: strict forms converted in SQL: (regex the whole text must match, SQL of the value)
_FAST_NUMBER = r"-?[0-9]{1,15}(\.[0-9]{1,15})?"
_FAST_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_FAST_ID = r"[!-~]+"


def _fast(kind: str, cell: str, sql_type: str) -> tuple[str, str] | None:
    """(condition, value) in SQL for the cells of ``kind`` converted without Python, or ``None``.

    The condition holds only for cells that ``validation._read_cell`` would read as the same
    value: a printable ASCII identifier that is not a missing-value word, an ASCII decimal
    number of at most 15+15 digits (DuckDB and Python both round decimal text correctly), an
    ISO date that is a real calendar date between 1900 and 2100; for Parquet, a finite double
    or a date in those years.
    """
    if sql_type == "VARCHAR":
        if kind == "id":
            return (f"(regexp_full_match({cell}, '{_FAST_ID}') AND lower({cell}) NOT IN "
                    "('na', 'n/a', 'nan', 'nat'))", cell)
        if kind == "number":
            return (f"regexp_full_match({cell}, '{_FAST_NUMBER}')", f"CAST({cell} AS DOUBLE)")
        if kind == "date":
            day = f"TRY_CAST({cell} AS DATE)"
            return (f"(regexp_full_match({cell}, '{_FAST_DATE}') AND {day} IS NOT NULL AND "
                    f"year({day}) BETWEEN 1900 AND 2100)", day)
        return None
    if kind == "number" and sql_type != "DATE":
        return f"isfinite(CAST({cell} AS DOUBLE))", f"CAST({cell} AS DOUBLE)"
    if kind == "date" and sql_type == "DATE":
        return f"year({cell}) BETWEEN 1900 AND 2100", cell
    return None


_INLINE_CELLS = 256
"""Up to this many distinct texts of a column needing Python are looked up in a ``CASE``
expression; more go in a joined table."""


def _case(cell: str, pairs: list[tuple[object, str]]) -> str:
    """``CASE cell WHEN text THEN sql ... END`` (NULL for any other cell)."""
    return f"CASE {cell} " + " ".join(f"WHEN {_lit(str(t))} THEN {v}" for t, v in pairs) + " END"


def _sql_value(value: object, target: str) -> str:
    """A converted value as an SQL literal of type ``target``."""
    if value is None:
        return f"CAST(NULL AS {target})"
    if target == "DOUBLE":
        return f"CAST({_lit(repr(float(value)))} AS DOUBLE)"  # type: ignore[arg-type]
    if target == "DATE":
        return f"DATE {_lit(pd.Timestamp(value).date().isoformat())}"
    return f"CAST({_lit(str(value))} AS {target})"


def _is_nan_sql(cell: str, sql_type: str) -> str:
    if sql_type in ("DOUBLE", "FLOAT"):
        return f"isnan({cell})"
    return "false"


@dataclass(frozen=True)
class EngineResult:
    """What the engine found: the typed visits (``None`` when nothing was written), the
    problems (in the pandas path's order before sorting) and the canonical columns present."""

    visits: VisitTable | None
    problems: list[Problem]
    present: tuple[str, ...]
    with_values: frozenset[str]


def validate_visits(source: EngineSource, file: str, selected: Mapping[str, int],
                    headers: Mapping[str, str], patients: pd.DataFrame | None,
                    cutoff: pd.Timestamp | None,
                    read_cell: Callable[[Column, object, Mapping[str, str]], tuple[object, object]],
                    lookup_of: Callable[[Column], Mapping[str, str]],
                    warn_above_vegf: float, early_days: int) -> EngineResult:
    """Convert, check and apply the visit rules to ``source`` (see the module docstring).

    ``selected`` maps each canonical column to its position in the file, ``headers`` to its
    header as written. ``read_cell`` is ``validation._read_cell`` and ``lookup_of`` gives a
    column's category spellings; problems are built exactly as the pandas path builds them.
    """
    con = connect(source.spill, str(source.database))
    try:
        return _validate(con, source.spill, source, file, selected, headers, patients, cutoff,
                         read_cell, lookup_of, warn_above_vegf, early_days)
    finally:
        con.close()


def _raw_view(con: Any, source: EngineSource) -> None:
    """The view ``raw``: ``_row`` (the user's row number) and the cells ``c0``, ``c1``, … of
    every row holding a value (rows whose every cell is blank are not rows, as
    ``readers._canonical_table`` drops them)."""
    con.execute(f"CREATE OR REPLACE TEMP VIEW raw AS {_raw_sql(source)}")


def _raw_sql(source: EngineSource) -> str:
    """The query of the view ``raw`` (``_raw_view``); for Parquet it names only the file."""
    blank = " AND ".join(
        f"(c{i} IS NULL OR "
        + (f"trim(c{i}, {_lit(_WHITESPACE)}) = ''" if source.types[i] == "VARCHAR"
           else _is_nan_sql(f"c{i}", source.types[i])) + ")"
        for i in range(len(source.header)))
    if source.kind == "csv":  # the table keeps the file's order: rowid k is line k + 2
        return f"SELECT rowid + 2 AS _row, * FROM raw0 WHERE NOT ({blank})"
    return f"SELECT * FROM {source.scan()} WHERE NOT ({blank})"


RawValues = Callable[[list[int], str], dict[int, object]]


def _convert_sql(con: Any, source: EngineSource, file: str, selected: Mapping[str, int],
                 headers: Mapping[str, str], spec: Mapping[str, Column],
                 read_cell: Callable[[Column, object, Mapping[str, str]], tuple[object, object]],
                 lookup_of: Callable[[Column], Mapping[str, str]], materialise: bool = True,
                 ) -> tuple[list[Column], list[Problem], RawValues, Path | str]:
    """Convert every selected column into ``t`` (``_row`` and the typed columns); the
    conversion problems in ``validation._convert``'s order; a function giving the cells as
    written at some rows; and where the typed table is, in the file's order: a self-contained
    query of it when every cell was converted in SQL and the source is a Parquet file (or,
    without ``materialise``, the engine's table of a CSV file: for a caller reading each
    column once), else the Parquet file written in the temporary folder."""
    _raw_view(con, source)
    columns = [spec[name] for name in selected]
    typed: list[str] = []
    joins: list[str] = []
    states: list[str] = []
    plans = []
    for column in columns:
        position = selected[column.name]
        cell, sql_type = f"raw.c{position}", source.types[position]
        fast = _fast(column.kind, cell, sql_type)
        condition = f"coalesce({fast[0]}, false)" if fast else "false"
        missing = f"({cell} IS NULL OR {_is_nan_sql(cell, sql_type)})"
        plans.append((column, cell, sql_type, fast, condition, missing))
    # one pass over the table: per column, the distinct cells Python must read
    lists = con.execute("SELECT " + ", ".join(
        f"list(DISTINCT {cell}) FILTER (WHERE NOT {missing} AND NOT {condition})"
        for _, cell, _, _, condition, missing in plans) + " FROM raw").fetchall()[0] if plans else ()
    for k, (column, cell, sql_type, fast, condition, missing) in enumerate(plans):
        target = _SQL_TYPES[column.kind]
        fast_value = f"CAST({fast[1] if fast else 'NULL'} AS {target})"
        slow = [v for v in (lists[k] or []) if v is not None]
        if not slow:
            typed.append(f"CASE WHEN {missing} THEN NULL ELSE {fast_value} END "
                         f"AS {_q(column.name)}")
            states.append(f"CASE WHEN {missing} THEN 0 ELSE 1 END AS _s{k}, "
                          f"CAST(NULL AS VARCHAR) AS _e{k}")
            continue
        lookup = lookup_of(column)
        rows = []
        for raw_value in slow:
            state, value = read_cell(column, raw_value, lookup)
            code = state if isinstance(state, int) else 2
            expected = state if isinstance(state, str) else None
            rows.append((raw_value, code, value, expected))
        if sql_type == "VARCHAR" and len(rows) <= _INLINE_CELLS:
            # a few distinct texts (a category's spellings): looked up in the query itself
            slow_value = _case(cell, [(r[0], _sql_value(r[2], target)) for r in rows])
            slow_state = _case(cell, [(r[0], str(r[1])) for r in rows])
            slow_expected = _case(cell, [(r[0], "NULL" if r[3] is None else _lit(r[3]))
                                         for r in rows])
        else:
            table = _slow_table(rows, column.kind, sql_type)
            con.register(f"slow{k}", table)
            con.execute(f"CREATE OR REPLACE TEMP TABLE m{k} AS SELECT * FROM slow{k}")
            con.unregister(f"slow{k}")
            joins.append(f"LEFT JOIN m{k} ON {cell} = m{k}.raw")
            slow_value = f"CAST(m{k}.value AS {target})"
            slow_state, slow_expected = f"m{k}.state", f"m{k}.expected"
        typed.append(f"CASE WHEN {missing} THEN NULL WHEN {condition} THEN {fast_value} "
                     f"ELSE {slow_value} END AS {_q(column.name)}")
        states.append(f"CASE WHEN {missing} THEN 0 WHEN {condition} THEN 1 "
                      f"ELSE {slow_state} END AS _s{k}, "
                      f"CASE WHEN {missing} OR {condition} THEN NULL ELSE {slow_expected} END "
                      f"AS _e{k}")
    source_sql = f"FROM raw {' '.join(joins)}"
    # written once, as Parquet in the temporary folder (the typed table the checks, the rules
    # and the derivation read); without joins the file's order is kept (a scan and a
    # projection preserve it), with them it is restored. The cell states are not written:
    # they are computed again below for the failing rows only (writing 2 state columns per
    # column doubled the cost of the copy)
    typed_path: Path | str = source.spill.path / f"typed-{os.urandom(6).hex()}.parquet"
    if not joins and (source.kind == "parquet" or not materialise):
        # nothing to copy: the user's file (or the engine's table of the CSV file) converted
        # in SQL by every query reading it, in the file's order
        typed_path = (f"SELECT {', '.join(['raw._row', *typed])} "
                      f"FROM ({_raw_sql(source)}) raw")
        con.execute(f"CREATE OR REPLACE TEMP VIEW t AS {typed_path}")
    else:
        con.execute(f"COPY (SELECT {', '.join(['raw._row', *typed])} {source_sql}"
                    f"{' ORDER BY raw._row' if joins else ''}) "
                    f"TO {_lit(str(typed_path))} (FORMAT parquet)")
        con.execute(f"CREATE OR REPLACE TEMP VIEW t AS SELECT * FROM "
                    f"read_parquet({_lit(str(typed_path))})")
    problems: list[Problem] = []

    def raw_values(rows: list[int], name: str) -> dict[int, object]:
        """The cells of ``name`` as written, at ``rows``."""
        if not rows:
            return {}
        con.register("want", pd.DataFrame({"_row": np.asarray(rows, dtype=np.int64)}))
        got = con.execute(f"SELECT raw._row, raw.c{selected[name]} FROM raw "
                          "SEMI JOIN want USING (_row)").fetchall()
        con.unregister("want")
        return {int(r): v for r, v in got}

    # conversion problems, column by column, rows in order (validation._convert): the states
    # of the rows where some column fails, fetched in one query
    failing = " OR ".join(f"_s{k} = 2" + (f" OR _s{k} = 0" if column.nonempty else "")
                          for k, column in enumerate(columns))
    found_all = con.execute(
        f"SELECT * FROM (SELECT {', '.join(['raw._row', *states])} {source_sql}) "
        f"WHERE {failing} ORDER BY _row").fetchall() if columns else []
    for k, column in enumerate(columns):
        header = headers[column.name]
        found = [(r[0], r[1 + 2 * k], r[2 + 2 * k]) for r in found_all
                 if r[1 + 2 * k] == 2 or (column.nonempty and r[1 + 2 * k] == 0)]
        cells = raw_values([r for r, s, _ in found if s == 2], column.name)
        for row, state, expected in found:
            if state == 2:
                problems.append(Problem(file, int(row), header, cells[int(row)], expected))
            else:
                problems.append(Problem(file, int(row), header, None,
                                        f"a value ({column.required_text()})"))
    return columns, problems, raw_values, typed_path


def _validate(con: Any, spill: SpillDir, source: EngineSource, file: str,
              selected: Mapping[str, int], headers: Mapping[str, str],
              patients: pd.DataFrame | None, cutoff: pd.Timestamp | None,
              read_cell: Callable[[Column, object, Mapping[str, str]], tuple[object, object]],
              lookup_of: Callable[[Column], Mapping[str, str]],
              warn_above_vegf: float, early_days: int) -> EngineResult:
    present = tuple(selected)
    columns, problems, raw_values, typed_path = _convert_sql(
        con, source, file, selected, headers, VISIT_TABLE, read_cell, lookup_of)
    # range, whole-number and category checks (validation._check_cells)
    for column in columns:
        for predicate in _checks(column):
            found = [int(r[0]) for r in con.execute(
                f"SELECT _row FROM t WHERE {predicate} ORDER BY _row").fetchall()]
            cells = raw_values(found, column.name)
            problems.extend(Problem(file, row, headers[column.name], cells[row],
                                    column.expected()) for row in found)
    problems.extend(_rules(con, file, present, headers, patients, cutoff, raw_values,
                           warn_above_vegf, early_days))
    errors = any(p.severity == "error" for p in problems)
    counts = con.execute("SELECT count(*), " + ", ".join(
        [f"count({_q(name)})" for name in present] or ["0"]) + " FROM t").fetchall()[0]
    with_values = frozenset(n for n, c in zip(present, counts[1:], strict=False) if c)
    if errors:
        return EngineResult(None, problems, present, with_values)
    return EngineResult(VisitTable(int(counts[0]), with_values,
                                   parquet=typed_path if isinstance(typed_path, Path) else None,
                                   query=typed_path if isinstance(typed_path, str) else None,
                                   spill=spill, stored=present),
                        problems, present, with_values)


def convert_table(source: EngineSource, file: str, selected: Mapping[str, int],
                  headers: Mapping[str, str], spec: Mapping[str, Column],
                  read_cell: Callable[[Column, object, Mapping[str, str]], tuple[object, object]],
                  lookup_of: Callable[[Column], Mapping[str, str]],
                  ) -> tuple[dict[str, pd.Series], pd.Index, list[Problem]]:
    """A table converted by the engine, as ``validation._convert`` converts it: per column the
    typed series (index: the user's row numbers), the index, and the conversion problems."""
    import pyarrow as pa

    con = connect(source.spill, str(source.database))
    try:
        columns, problems, _, typed_path = _convert_sql(con, source, file, selected, headers,
                                                        spec, read_cell, lookup_of,
                                                        materialise=False)
        index = pd.Index(con.sql("SELECT _row FROM t").to_arrow_table().column(0).to_numpy(),
                         dtype="int64")
        out: dict[str, pd.Series] = {}
        # a few columns at a time, each leaving the Arrow table once converted: the table and
        # the frame are never held whole at the same time (at 10⁷ patients the Arrow table
        # alone is about 2 GB)
        for at in range(0, len(columns), _GROUP):
            group = columns[at:at + _GROUP]
            table = con.sql("SELECT " + ", ".join(_q(c.name) for c in group)
                            + " FROM t").to_arrow_table()
            for column in group:
                table = _pop_column(table, column, index, out, pa)
            del table
    finally:
        con.close()
        if isinstance(typed_path, Path):
            typed_path.unlink(missing_ok=True)
    return out, index, problems


def _shared_strings(array: Any) -> np.ndarray:
    """An Arrow text column as an object array holding one Python string per distinct value
    (each cell refers to it: 8 bytes a cell) and ``pd.NA`` for nulls.

    Converting cell by cell (``to_pandas().to_numpy(dtype=object)``) makes a string object per
    cell, about 50 bytes each: 0.5 GB per text column at 10⁷ patients."""
    import pyarrow as pa

    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    encoded = array.dictionary_encode()
    uniques = np.empty(len(encoded.dictionary) + 1, dtype=object)
    uniques[:-1] = encoded.dictionary.to_pylist()
    uniques[-1] = pd.NA
    codes = encoded.indices.fill_null(len(encoded.dictionary))
    return uniques[codes.to_numpy(zero_copy_only=False)]


_GROUP = 8
"""Columns fetched from the engine per query when converting a table to pandas."""


def _pop_column(table: Any, column: Column, index: pd.Index, out: dict[str, pd.Series],
                pa: Any) -> Any:
    """Convert ``column`` of the Arrow ``table`` into ``out``; the table without it."""
    array = table.column(column.name)
    table = table.drop_columns([column.name])
    if column.kind == "number":
        values = array.to_numpy(zero_copy_only=False)
        out[column.name] = pd.Series(values, index=index, dtype="float64", copy=False)
    elif column.kind == "date":
        stamps = array.cast(pa.timestamp("ns")).to_numpy(zero_copy_only=False)
        out[column.name] = pd.Series(stamps, index=index, dtype="datetime64[ns]",
                                     copy=False)
    elif column.kind == "boolean":
        values = array.fill_null(False).to_numpy(zero_copy_only=False).astype(bool)
        mask = array.is_null().to_numpy(zero_copy_only=False).astype(bool)
        out[column.name] = pd.Series(pd.arrays.BooleanArray(values, mask), index=index,
                                     copy=False)
    else:
        out[column.name] = pd.Series(_shared_strings(array), index=index, dtype=object,
                                     copy=False)
    del array
    return table


def _slow_table(rows: list[tuple[object, int, object, str | None]], kind: str,
                sql_type: str) -> Any:
    import pyarrow as pa

    raw_type = {"VARCHAR": pa.string(), "DATE": pa.date32()}.get(sql_type, pa.float64())
    values: list[object] = [r[2] for r in rows]
    if kind == "number":
        value_array = pa.array([None if v is None else float(v) for v in values], pa.float64())  # type: ignore[arg-type]
    elif kind == "date":
        value_array = pa.array([None if v is None else pd.Timestamp(v).date() for v in values],
                               pa.date32())
    else:
        value_array = pa.array([None if v is None else str(v) for v in values], pa.string())
    raw_values = [r[0] for r in rows]
    if sql_type not in ("VARCHAR", "DATE"):
        raw_values = [float(v) for v in raw_values]  # type: ignore[arg-type]
    return pa.table({
        "raw": pa.array(raw_values, raw_type),
        "state": pa.array([r[1] for r in rows], pa.int8()),
        "value": value_array,
        "expected": pa.array([r[3] for r in rows], pa.string()),
    })


def _checks(column: Column) -> list[str]:
    """SQL predicates of the failing cells, in the order of ``validation._schema``'s checks."""
    name = _q(column.name)
    out = []
    if column.kind == "number":
        if column.minimum is not None and column.maximum is not None:
            out.append(f"NOT ({name} BETWEEN {column.minimum!r} AND {column.maximum!r})")
        elif column.minimum is not None:
            out.append(f"{name} < {column.minimum!r}")
        if column.integer:
            out.append(f"{name} <> trunc({name})")
    elif column.kind == "category" and column.allowed:
        allowed = ", ".join(_lit(a) for a in column.allowed)
        out.append(f"{name} NOT IN ({allowed})")
    return out


def _iso(value: object) -> str:
    return pd.Timestamp(value).date().isoformat()


_BATCH = 1 << 20
"""Rows per Arrow batch of the ordered pass of the duplicate check (``_no_repeats``)."""


def _patients_arrow(patients: pd.DataFrame | None) -> Any:
    """The patients the visits link to, as an Arrow table (the first row of each identifier):
    ``patient_id``, ``_known`` (true) and the three dates the visit rules read; empty without
    a patients table holding identifiers. Registered, not copied into the engine: only the
    grouped visits are joined to it."""
    import pyarrow as pa

    stamp = pa.timestamp("ns")
    if patients is None or "patient_id" not in patients:
        return pa.table({"patient_id": pa.array([], pa.string()),
                         "_known": pa.array([], pa.bool_()),
                         "_start": pa.array([], stamp), "_death": pa.array([], stamp),
                         "_last": pa.array([], stamp)})
    ids = patients["patient_id"]
    # the four columns read, before the rows are picked (not a copy of the whole table)
    first = patients[[c for c in ("patient_id", "treatment_start", "death_date",
                                  "last_followup") if c in patients]]
    first = first.loc[ids.notna().to_numpy() & ~ids.duplicated(keep="first").to_numpy()]

    def day(name: str) -> Any:
        if name not in first:
            return pa.nulls(len(first), stamp)
        return pa.array(first[name].astype("datetime64[ns]").to_numpy(), stamp,
                        from_pandas=True)

    return pa.table({
        "patient_id": pa.array(first["patient_id"].astype(str).tolist(), pa.string()),
        "_known": pa.array(np.ones(len(first), dtype=bool)),
        "_start": day("treatment_start"), "_death": day("death_date"),
        "_last": day("last_followup")})


def _no_repeats(con: Any, dated_patients: int) -> bool:
    """Whether no patient has two visits on one date, proven in one ordered pass.

    When the dated visits of each patient are consecutive rows (as many runs of one identifier
    as patients with a dated visit) and their dates strictly increase along the rows, no
    (patient, date) pair can repeat; registries and the synthetic cohort list visits that way.
    A streamed comparison of each row with the previous one (Arrow compute, one batch at a
    time) checks it in linear time and bounded memory, where grouping 10⁸ (patient, date)
    pairs needs a hash table far beyond the engine's memory limit. ``False`` means not proven
    (the grouped query decides); the order the rows come in only matters for speed."""
    import pyarrow as pa
    import pyarrow.compute as pc

    reader = con.sql("SELECT patient_id, visit_date FROM t WHERE patient_id IS NOT NULL "
                     "AND visit_date IS NOT NULL").to_arrow_reader(_BATCH)
    try:
        runs = 0
        tail: tuple[Any, Any] | None = None  # the previous batch's last row
        for batch in reader:
            if batch.num_rows == 0:
                continue
            ids, days = batch.column(0), batch.column(1)
            if tail is None:
                runs += 1  # the first row starts a run
            else:
                ids = pa.concat_arrays([tail[0], ids])
                days = pa.concat_arrays([tail[1], days])
            tail = ids[-1:], days[-1:]
            same = pc.equal(ids[1:], ids[:-1])
            runs += len(same) - pc.sum(same).as_py() if len(same) else 0
            if runs > dated_patients or pc.any(
                    pc.and_(same, pc.less_equal(days[1:], days[:-1]))).as_py():
                return False
        return runs <= dated_patients
    finally:
        reader.close()  # a pass stopped early leaves no query open on the connection


def _rules(con: Any, file: str, present: tuple[str, ...], headers: Mapping[str, str],
           patients: pd.DataFrame | None, cutoff: pd.Timestamp | None,
           raw_values: Callable[[list[int], str], dict[int, object]],
           warn_above_vegf: float, early_days: int) -> list[Problem]:
    """``validation._visit_rules`` in the engine; only failing rows are fetched.

    The visits are grouped per patient first (first and last date: 10⁷ groups at 10⁷
    patients, where joining 10⁸ visit rows to 10⁷ patients spilled the join's hash table);
    that one join of the groups to the patients finds, at once, the unknown identifiers and
    the patients with a visit breaking a date rule (the earliest visit decides the rule on
    treatment start, the latest those on death, last follow-up and the cutoff), and only
    those patients' rows are read again. Repeated (patient, date) pairs are ruled out in one
    ordered pass (``_no_repeats``) or else found by a grouped query."""
    problems: list[Problem] = []

    def problem(row: int, name: str, cells: dict[int, object], expected: str,
                severity: str = "error") -> Problem:
        return Problem(file, int(row), headers.get(name, name), cells[int(row)], expected,
                       severity)

    has_pid, has_date = "patient_id" in present, "visit_date" in present
    known = has_pid and patients is not None and "patient_id" in patients
    if has_pid:
        con.register("p", _patients_arrow(patients if known else None))
        late_group = "" if cutoff is None else f" OR g._hi > DATE {_lit(_iso(cutoff))}"
        late_row = ("false" if cutoff is None
                    else f"t.visit_date > DATE {_lit(_iso(cutoff))}")
        early_row = f"date_diff('day', t.visit_date, f._start) >= {early_days + 1}"
        dead_row = "t.visit_date > f._death"
        after_row = "f._death IS NULL AND t.visit_date > f._last"
        group_flags = (["p._known IS NULL"] if known else []) + (
            [f"date_diff('day', g._lo, p._start) >= {early_days + 1} OR g._hi > p._death "
             "OR (p._death IS NULL AND g._hi > p._last)" + late_group] if has_date else [])
        row_flags = (["f._known IS NULL"] if known else []) + (
            [f"(t.visit_date IS NOT NULL AND ({early_row} OR {dead_row} OR ({after_row}) "
             f"OR {late_row}))"] if has_date else [])
        dates = "min(visit_date) AS _lo, max(visit_date) AS _hi" if has_date else \
            "CAST(NULL AS DATE) AS _lo, CAST(NULL AS DATE) AS _hi"
        con.execute(f"CREATE OR REPLACE TEMP TABLE g AS SELECT patient_id, {dates} FROM t "
                    "WHERE patient_id IS NOT NULL GROUP BY patient_id")
        flagged = []
        if group_flags:
            day_flags = (f"{early_row}, {dead_row}, {after_row}, {late_row}" if has_date
                         else "false, false, false, false")
            flagged = con.execute(
                "WITH f AS (SELECT g.patient_id, p._known, p._start, p._death, p._last "
                "FROM g LEFT JOIN p USING (patient_id) "
                f"WHERE {' OR '.join(f'({c})' for c in group_flags)}) "
                "SELECT t._row, f._known IS NULL, f._start, f._death, f._last, "
                f"{day_flags} FROM t JOIN f USING (patient_id) "
                f"WHERE {' OR '.join(row_flags)} ORDER BY t._row").fetchall()
        dated = int(con.execute("SELECT count(_lo) FROM g").fetchall()[0][0])
        con.execute("DROP TABLE g")
        con.unregister("p")
        if known:
            unknown = [int(r[0]) for r in flagged if r[1]]
            cells = raw_values(unknown, "patient_id")
            problems.extend(problem(r, "patient_id", cells, "a patient_id of the patients "
                                    "table") for r in unknown)
    if has_pid and has_date:
        found: list[tuple[int, int, str, object]] = []  # (row, rule, kind, detail)
        if not _no_repeats(con, dated):
            for row, first_row in con.execute(
                    # candidates grouped by a 64-bit hash (cheap), then checked exactly
                    "WITH h AS (SELECT hash(patient_id, visit_date) AS _h FROM t "
                    "WHERE patient_id IS NOT NULL AND visit_date IS NOT NULL "
                    "GROUP BY _h HAVING count(*) > 1), "
                    "c AS (SELECT _row, patient_id, visit_date FROM t SEMI JOIN h "
                    "ON hash(t.patient_id, t.visit_date) = h._h "
                    "WHERE patient_id IS NOT NULL AND visit_date IS NOT NULL), "
                    "d AS (SELECT patient_id, visit_date, min(_row) AS _first FROM c "
                    "GROUP BY patient_id, visit_date HAVING count(*) > 1) "
                    "SELECT c._row, d._first FROM c JOIN d USING (patient_id, visit_date) "
                    "WHERE c._row <> d._first").fetchall():
                found.append((int(row), 0, "repeat", int(first_row)))
        for item in flagged:
            row, start, death, last = int(item[0]), item[2], item[3], item[4]
            if item[5]:
                found.append((row, 1, "early", start))
            if item[6]:
                found.append((row, 2, "dead", death))
            if item[7]:
                found.append((row, 2, "after", last))
            if item[8]:
                found.append((row, 3, "late", None))
        found.sort(key=lambda f: (f[0], f[1]))
        cells = raw_values(sorted({f[0] for f in found}), "visit_date")
        for row, _rule, kind, detail in found:
            if kind == "repeat":
                problems.append(problem(row, "visit_date", cells, "one visit per patient and "
                                        f"date (also on row {detail})", "warning"))
            elif kind == "early":
                problems.append(problem(row, "visit_date", cells, f"a visit at most {early_days}"
                                        f" days before treatment_start ({_iso(detail)})",
                                        "warning"))
            elif kind == "dead":
                problems.append(problem(row, "visit_date", cells, "a date on or before the "
                                        f"patient's death_date ({_iso(detail)})"))
            elif kind == "after":
                problems.append(problem(row, "visit_date", cells, "a date on or before the "
                                        f"patient's last_followup ({_iso(detail)})", "warning"))
            else:
                assert cutoff is not None
                problems.append(problem(row, "visit_date", cells, "a date on or before the "
                                        f"data cutoff {_iso(cutoff)}", "warning"))
    if "vegf_pg_ml" in present:
        high = [int(r[0]) for r in con.execute(
            f"SELECT _row FROM t WHERE vegf_pg_ml > {warn_above_vegf!r} ORDER BY _row"
        ).fetchall()]
        cells = raw_values(high, "vegf_pg_ml")
        problems.extend(problem(r, "vegf_pg_ml", cells, f"VEGF up to {warn_above_vegf:,.0f} "
                                "pg/ml (check the unit)", "warning") for r in high)
    return problems


# --- the derivation ----------------------------------------------------------------------------

RESPONSE_DATES_SQL = """
WITH p AS (SELECT * FROM {patients}),
v AS (
  SELECT v.patient_id, v.visit_date,
    CASE WHEN v.serum_ife = 'positive' OR v.urine_ife = 'positive' THEN false
         WHEN v.serum_ife = 'negative' AND v.urine_ife = 'negative' THEN
           CASE WHEN v.flc_kappa_mg_l IS NULL AND v.flc_lambda_mg_l IS NULL THEN true
                WHEN v.flc_kappa_mg_l IS NULL OR v.flc_lambda_mg_l IS NULL THEN NULL
                WHEN v.flc_lambda_mg_l = 0 THEN
                  CASE WHEN v.flc_kappa_mg_l = 0 THEN NULL ELSE false END
                ELSE v.flc_kappa_mg_l / v.flc_lambda_mg_l >= $flc_low
                     AND v.flc_kappa_mg_l / v.flc_lambda_mg_l <= $flc_high END
    END AS crh,
    v.vegf_pg_ml < $vegf_below AS crv,
    v.onls <= p.onls0 - $onls_drop AS rn
  FROM {visits} v JOIN p USING (patient_id)
  WHERE v.visit_date > p.start AND v.visit_date <= $cutoff)
SELECT patient_id,
  min(visit_date) FILTER (WHERE crh) AS crh_first,
  max(visit_date) FILTER (WHERE crh IS NOT NULL) AS crh_last,
  min(visit_date) FILTER (WHERE crv) AS crv_first,
  max(visit_date) FILTER (WHERE crv IS NOT NULL) AS crv_last,
  min(visit_date) FILTER (WHERE rn) AS rn_first,
  max(visit_date) FILTER (WHERE rn IS NOT NULL) AS rn_last
FROM v GROUP BY patient_id
"""
"""The visit-level derivation as one grouped query (portable SQL: DuckDB, Spark SQL): per
patient, the first visit date each criterion is met and the last date it could be judged, over
the visits strictly after treatment start and on or before the cutoff. The rules are those of
``clinical.responses.assessment_responses``; a ratio with a zero lambda chain is infinite (not
normal) or, with a zero kappa too, undefined, as in floating point."""


#: Patients per pass of the grouped response query. The query joins the visits to the patients
#: and groups by patient; with 10⁷ patients its join and grouping tables did not fit the engine's
#: memory limit (an out-of-memory error even at 2 GB), so larger cohorts are derived in passes over
#: blocks of patients, each one a cohort of the size known to run within the default limit; every
#: pass reads the visits again, and a patient's rows all fall in one pass, so the result is the
#: same.
RESPONSE_BLOCK_PATIENTS = 1_000_000


_RESPONSE_DATE_COLUMNS = ("crh_first", "crh_last", "crv_first", "crv_last", "rn_first",
                          "rn_last")

_RESPONSE_POSITIONS_SQL = ("SELECT p.pos, " + ", ".join(f"r.{c}" for c in _RESPONSE_DATE_COLUMNS)
                           + " FROM ({query}) r JOIN p USING (patient_id)")
"""``RESPONSE_DATES_SQL``'s rows given the patients' positions (row numbers) instead of their
identifiers: the result is placed by position, never by a Python string per patient."""


def first_response_dates(visits: VisitTable, patient_id: pd.Series, start: pd.Series,
                         baseline_onls: pd.Series, *, cutoff: pd.Timestamp,
                         vegf_below: float, flc_normal: tuple[float, float],
                         onls_drop: float, block: int | None = None) -> pd.DataFrame:
    """``RESPONSE_DATES_SQL`` on ``visits``, aligned on ``patient_id`` (same index, one row per
    patient in its order): columns ``crh_first``, ``crh_last``, ... (``datetime64[ns]``, NaT:
    no such visit, or no usable visit at all). Run in passes of at most ``block`` patients
    (default ``RESPONSE_BLOCK_PATIENTS``); each pass's result is written into the columns by
    patient position as it comes (at 10⁷ patients, returning identifiers meant 10⁷ new Python
    strings and the pieces concatenated: about 1 GB more at the peak of ``derive``)."""
    import pyarrow as pa

    step = max(int(block if block is not None else RESPONSE_BLOCK_PATIENTS), 1)
    spill = visits.spill if visits.spill is not None else SpillDir()
    n = len(patient_id)
    ids = patient_id.astype(object).where(patient_id.notna(), None).to_numpy()
    starts = start.to_numpy(dtype="datetime64[ns]")
    onls0 = baseline_onls.to_numpy(dtype="float64")
    params = {"flc_low": float(flc_normal[0]), "flc_high": float(flc_normal[1]),
              "vegf_below": float(vegf_below), "onls_drop": float(onls_drop),
              "cutoff": pd.Timestamp(cutoff).to_pydatetime()}
    out = {c: np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
           for c in _RESPONSE_DATE_COLUMNS}
    con = connect(spill)
    try:
        name = visits.sql(con, "visits")
        # one row per patient, placed by position afterwards: no order to keep (keeping it
        # made the grouped query of 10⁷ patients run out of the engine's memory limit)
        con.execute("SET preserve_insertion_order = false")
        query = _RESPONSE_POSITIONS_SQL.format(
            query=RESPONSE_DATES_SQL.format(patients="p", visits=name))
        for lo in range(0, n, step):
            hi = min(lo + step, n)
            con.register("p", pa.table({
                "patient_id": pa.array(ids[lo:hi].tolist(), pa.string()),
                "pos": pa.array(np.arange(lo, hi, dtype=np.int64)),
                "start": pa.array(starts[lo:hi], from_pandas=True),
                "onls0": pa.array(onls0[lo:hi], from_pandas=True)}))
            table = con.sql(query, params=params).to_arrow_table()
            con.unregister("p")
            pos = table.column("pos").to_numpy()
            for c in _RESPONSE_DATE_COLUMNS:
                values = table.column(c).cast(pa.timestamp("ns")).to_numpy(zero_copy_only=False)
                out[c][pos] = values
            del table, pos
    finally:
        con.close()
    return pd.DataFrame(out, index=patient_id.index, copy=False)
