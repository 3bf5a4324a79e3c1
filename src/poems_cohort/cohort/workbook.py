"""Reading one sheet of an Excel workbook (.xlsx, .xlsm) without misreading it.

Two passes, both linear in the size of the sheet:

1. ``scan_sheet`` streams the sheet's XML out of the zip in chunks and looks, with byte
   patterns, for what a value reader would silently misread: formula cells (a formula saved
   without its result reads as an empty cell), merged ranges (read as one value and blanks) and
   error cells (``#DIV/0!``). It also finds the largest row number and column letter, so that a
   sheet too large for memory is refused before any value is read, and it checks that the XML
   is complete (a truncated sheet would otherwise read as fewer rows). Only when something is
   found is the sheet parsed again (``xml.etree.ElementTree.iterparse``, streaming) to locate
   each cell. We scan ourselves because no value reader reports formulas without results.
2. ``python-calamine`` reads the values (about ten times faster than openpyxl's read-only
   mode on a 400,000-row sheet: see ``benchmarks/bench_workbook.py``). Calamine holds the
   sheet's whole used area in its own memory, which the caps of pass 1 bound; its rows are
   converted one at a time into one object array (no list of rows beside it).

A formula whose saved result is present is read as that result (what Excel showed when the
file was saved) with a warning per column; see docs/data-dictionary.md.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import numpy as np

MAX_ROWS = 1_048_576
"""Rows per table (Excel's own limit); applied to every input format."""

MAX_COLUMNS = 16_384
"""Columns per table (Excel's own limit); applied to every input format."""

MAX_CELLS = 25_000_000
"""Rows × columns of a sheet's used area; a larger workbook sheet is refused (export a CSV)."""

MAX_SHEET_XML_BYTES = 4 * 1024**3
"""Uncompressed size of one sheet's XML, and of the whole workbook as its zip directory
declares it (a guard against zip bombs)."""

_CHUNK = 1 << 22
_TAIL = 256
_HINTS = (b"<f", b":f", b"mergeCell", b't="e"')
"""Cheap literal searches; only a chunk holding one of them is searched with ``_FLAGGED``."""
_FLAGGED = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:f|mergeCell)[\s>/]|\st=\"e\"")
_COLUMN = re.compile(rb" r=\"([A-Z]{1,3})[0-9]")
_ROW = re.compile(rb"row [^>]*?r=\"([0-9]{1,9})\"")
_END = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?worksheet>\s*$")
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


class WorkbookError(Exception):
    """A workbook that cannot be read; the message says what was expected."""


@dataclass(frozen=True, slots=True)
class Sheet:
    """A sheet of a workbook: its name, its XML part in the zip, and its kind (``worksheet``,
    ``chartsheet``, ``dialogsheet``, ``macrosheet``)."""

    name: str
    part: str
    kind: str


@dataclass(frozen=True, slots=True)
class Cell:
    """A flagged cell: sheet row, column number (1 = A), what it holds."""

    row: int
    column: int
    text: str


@dataclass(frozen=True)
class SheetScan:
    """What pass 1 found in a sheet."""

    rows: int
    columns: int
    formulas_without_result: tuple[Cell, ...] = ()
    formulas_with_result: tuple[Cell, ...] = ()
    merged: tuple[tuple[Cell, str], ...] = ()
    errors: tuple[Cell, ...] = ()
    #: number cells formatted as a percentage (the file stores 0.083 for what Excel shows as
    #: 8.3%): read as stored they would be 100 times too small for a column in percent
    percent: tuple[Cell, ...] = ()
    #: formulas whose saved result is empty text (``=IF(...,"",...)``): read as an empty cell
    formulas_empty_text: tuple[Cell, ...] = ()

    def __repr__(self) -> str:
        return (f"SheetScan(rows={self.rows}, columns={self.columns}, "
                f"formulas_without_result={len(self.formulas_without_result)}, "
                f"formulas_with_result={len(self.formulas_with_result)}, "
                f"merged={len(self.merged)}, errors={len(self.errors)}, "
                f"percent={len(self.percent)}, "
                f"formulas_empty_text={len(self.formulas_empty_text)})")


def column_number(letters: str) -> int:
    """``"A"`` → 1, ``"AB"`` → 28."""
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def _split_ref(ref: str) -> tuple[int, int]:
    match = re.fullmatch(r"\$?([A-Z]{1,3})\$?([0-9]{1,7})", ref.strip().upper())
    if match is None:
        raise WorkbookError(f"a readable .xlsx workbook (a cell reference {ref!r} is malformed)")
    return int(match.group(2)), column_number(match.group(1))


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _open(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise WorkbookError(f"a readable .xlsx workbook (not a zip archive: {exc})") from None


def _xml(archive: zipfile.ZipFile, name: str) -> ElementTree.Element:
    try:
        info = archive.getinfo(name)
        if info.file_size > 50_000_000:
            raise WorkbookError(f"a readable .xlsx workbook ({name} is implausibly large)")
        return ElementTree.fromstring(archive.read(name))
    except KeyError:
        raise WorkbookError(f"a readable .xlsx workbook ({name} is missing)") from None
    except (ElementTree.ParseError, zipfile.BadZipFile, OSError, ValueError,
            EOFError, RuntimeError) as exc:
        raise WorkbookError(f"a readable .xlsx workbook ({name}: {exc})") from None


def _target(base: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(base), target))


def sheets(path: Path) -> list[Sheet]:
    """The sheets of a workbook in their order, with their kind and XML part."""
    with _open(path) as archive:
        declared = sum(info.file_size for info in archive.infolist())
        if declared > MAX_SHEET_XML_BYTES:
            raise WorkbookError(f"a workbook of at most {MAX_SHEET_XML_BYTES:,} bytes "
                                f"uncompressed (it declares {declared:,})")
        main = "xl/workbook.xml"
        try:
            for rel in _xml(archive, "_rels/.rels"):
                if rel.get("Type", "").endswith("/officeDocument") and rel.get("Target"):
                    main = _target("", rel.get("Target", ""))
        except WorkbookError:
            pass  # no package relationships: the usual location
        book = _xml(archive, main)
        rels_name = posixpath.join(posixpath.dirname(main), "_rels",
                                   posixpath.basename(main) + ".rels")
        rels = {r.get("Id"): r for r in _xml(archive, rels_name)}
        out: list[Sheet] = []
        for element in book.iter():
            if _local(element.tag) != "sheet":
                continue
            name = element.get("name")
            part = rels.get(element.get(_REL))
            if name is None or part is None or not part.get("Target"):
                raise WorkbookError("a readable .xlsx workbook (a sheet without its part)")
            kind = part.get("Type", "").rsplit("/", 1)[-1].lower()
            kind = "macrosheet" if kind == "xlmacrosheet" else kind
            out.append(Sheet(name, _target(main, part.get("Target", "")), kind))
        return out


#: Excel's built-in number formats that show a percentage (``0%``, ``0.00%``).
_PERCENT_FORMATS = frozenset({9, 10})


def _shows_percent(code: str) -> bool:
    """Whether a number format code scales by 100 and shows ``%``: a ``%`` outside quoted
    text, escapes (``\\%``), padding (``_%``: a space as wide as it), fills (``*%``) and
    bracketed sections (``[Red]``)."""
    bare = re.sub(r'"[^"]*"|\\.|_.|\*.|\[[^\]]*\]', "", code)
    return "%" in bare


def _number(text: str | None) -> int:
    """A style attribute's whole number (ASCII digits only); -1 when it is not one."""
    return int(text) if text is not None and text.isascii() and text.isdigit() else -1


def _percent_styles(archive: zipfile.ZipFile) -> frozenset[int]:
    """The cell styles (``s="k"`` of a cell) whose number format shows a percentage."""
    try:
        styles = _xml(archive, "xl/styles.xml")
    except WorkbookError:
        return frozenset()
    codes = {_number(f.get("numFmtId")): f.get("formatCode", "")
             for f in styles.iter() if _local(f.tag) == "numFmt"}
    out: set[int] = set()
    for element in styles.iter():
        if _local(element.tag) != "cellXfs":
            continue
        for k, xf in enumerate(x for x in element if _local(x.tag) == "xf"):
            fmt = _number(xf.get("numFmtId", "0"))
            if fmt in _PERCENT_FORMATS or (fmt in codes and _shows_percent(codes[fmt])):
                out.add(k)
    return frozenset(out)


def scan_sheet(path: Path, sheet: Sheet) -> SheetScan:
    """Pass 1 over ``sheet`` (see the module docstring); ``WorkbookError`` when unreadable."""
    with _open(path) as archive:
        percent = _percent_styles(archive)
        # a cell of a percent style is located too (its number is read as stored)
        styled = (re.compile(rb'\ss="(?:' + b"|".join(str(k).encode() for k in sorted(percent))
                             + rb')"') if percent else None)
        flagged = False
        rows = columns = counted = 0
        letters: set[bytes] = set()
        size = 0
        tail = b""
        try:
            with archive.open(sheet.part) as stream:
                while True:
                    chunk = stream.read(_CHUNK)
                    if not chunk:
                        break
                    size += len(chunk)
                    if size > MAX_SHEET_XML_BYTES:
                        raise WorkbookError(f"a sheet of at most {MAX_SHEET_XML_BYTES:,} bytes "
                                            "of XML")
                    buffer = tail + chunk
                    if not flagged and any(hint in buffer for hint in _HINTS):
                        flagged = _FLAGGED.search(buffer) is not None
                    if not flagged and styled is not None:
                        flagged = styled.search(buffer) is not None
                    letters.update(_COLUMN.findall(buffer))
                    found = _ROW.findall(buffer)
                    if found:
                        rows = max(rows, max(map(int, found)))
                    counted += chunk.count(b"<row")  # rows written without a number
                    tail = buffer[-_TAIL:]
        except KeyError:
            raise WorkbookError(f"a readable .xlsx workbook ({sheet.part} is missing)") from None
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, RuntimeError) as exc:
            raise WorkbookError(f"a readable .xlsx workbook ({sheet.part}: {exc})") from None
        if _END.search(tail) is None:
            raise WorkbookError(f"a complete sheet (the XML of sheet '{sheet.name}' is cut "
                                "short: the file is truncated or damaged)")
        rows = max(rows, counted)
        if letters:
            columns = max(column_number(x.decode()) for x in letters)
        if not flagged:
            return SheetScan(rows, columns)
        return _locate(archive, sheet, rows, columns, percent)


def _locate(archive: zipfile.ZipFile, sheet: Sheet, rows: int, columns: int,
            percent: frozenset[int] = frozenset()) -> SheetScan:
    """Pass 1, second half: where the formulas, merged ranges, error cells and number cells
    of a percent style (``percent``: their style numbers) are."""
    shown_percent: list[Cell] = []
    empty_text: list[Cell] = []
    without: list[Cell] = []
    with_result: list[Cell] = []
    merged: list[tuple[Cell, str]] = []
    errors: list[Cell] = []
    try:
        with archive.open(sheet.part) as stream:
            for _event, element in ElementTree.iterparse(stream, events=("end",)):
                tag = _local(element.tag)
                if tag == "c":
                    ref = element.get("r")
                    formula = value = None
                    saved = False
                    for child in element:
                        name = _local(child.tag)
                        if name == "f":
                            formula = child.text or ""
                        elif name == "v":
                            value = child.text
                            saved = True
                        elif name == "is":
                            value = "".join(child.itertext())
                    if ref is None:
                        continue
                    row, column = _split_ref(ref)
                    if formula is not None:
                        text = "=" + formula if formula else "(a shared formula)"
                        if saved and element.get("t") == "str" and not value:
                            empty_text.append(Cell(row, column, text))
                        elif value is None or value == "":
                            without.append(Cell(row, column, text))
                        else:
                            with_result.append(Cell(row, column, text))
                    if element.get("t") == "e":
                        errors.append(Cell(row, column, value or "#error"))
                    style = element.get("s")
                    if (percent and _number(style) in percent and element.get("t", "n") == "n"
                            and value not in (None, "")):
                        shown_percent.append(Cell(row, column, str(value)))
                elif tag == "row":
                    element.clear()
                elif tag == "mergeCell":
                    ref = element.get("ref", "")
                    row, column = _split_ref(ref.split(":")[0])
                    merged.append((Cell(row, column, ref), ref))
    except (ElementTree.ParseError, zipfile.BadZipFile, OSError, EOFError, RuntimeError) as exc:
        raise WorkbookError(f"a readable .xlsx workbook (sheet '{sheet.name}': {exc})") from None
    return SheetScan(rows, columns, tuple(without), tuple(with_result), tuple(merged),
                     tuple(errors), tuple(shown_percent), tuple(empty_text))


def read_values(path: Path, sheet: Sheet, scan: SheetScan,
                ) -> tuple[list[object], np.ndarray]:
    """Pass 2: the sheet's header (row 1, trailing blank cells dropped) and its body (rows 2
    on) as one ``(rows, header width)`` object array (``""`` or ``None`` for an empty cell).

    The used area (rows × columns found by ``scan_sheet``) must be within the caps. Rows are
    converted one at a time into the body array (python-calamine's ``iter_rows``), so no list
    of every row is built beside the array; the sheet's values themselves are held once, in
    calamine's own memory (see benchmarks/README.md).
    """
    if scan.rows > MAX_ROWS + 1 or scan.columns > MAX_COLUMNS:
        raise WorkbookError(f"a sheet of at most {MAX_ROWS:,} rows and {MAX_COLUMNS:,} columns "
                            f"(found {scan.rows:,} rows, {scan.columns:,} columns)")
    if scan.rows * scan.columns > MAX_CELLS:
        raise WorkbookError(f"a sheet of at most {MAX_CELLS:,} cells in its used area (found "
                            f"{scan.rows:,} rows × {scan.columns:,} columns; save it as CSV or "
                            "delete the empty rows and columns)")
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        try:
            return _rows(workbook.get_sheet_by_name(sheet.name))
        finally:
            workbook.close()
    except (KeyboardInterrupt, SystemExit, WorkbookError):
        raise
    except BaseException as exc:  # calamine raises its own types, a Rust panic a BaseException
        raise WorkbookError(f"a readable .xlsx workbook (sheet '{sheet.name}': "
                            f"{type(exc).__name__}: {str(exc)[:200]})") from None


def _rows(data: object) -> tuple[list[object], np.ndarray]:
    """The header and body of a calamine sheet, read row by row.

    ``iter_rows`` starts at the first used cell (``start``), not at A1: the rows and columns
    before it are empty and are put back here so that array positions are sheet positions.
    """
    height, width = data.height, data.width  # type: ignore[attr-defined]
    if data.start is None or height == 0 or width == 0:  # type: ignore[attr-defined]
        return [], np.empty((0, 0), dtype=object)  # an empty sheet
    first_row, first_column = data.start  # type: ignore[attr-defined]
    rows = iter(data.iter_rows())  # type: ignore[attr-defined]
    header: list[object] = [None] * first_column
    if first_row == 0:
        header += list(next(rows))
    while header and (header[-1] is None or str(header[-1]).strip() == ""):
        header.pop()
    total = first_row + height - 1  # body rows: sheet rows 2 .. first_row + height
    body = np.full((max(total, 0), len(header)), "", dtype=object)
    keep = len(header) - first_column
    at = max(first_row - 1, 0)
    if keep > 0:
        for row in rows:
            body[at, first_column:first_column + min(keep, len(row))] = row[:keep]
            at += 1
    return header, body
