"""The tables as an Excel workbook: one sheet per table.

Each sheet has the title in A1, a bold header (two rows with merged cells over a column group,
as in Table 2), the header frozen, section rows in italics, the notes under the table and
column widths that fit the cells.

A cell whose displayed text is a plain number (a count, a test statistic, person-years, a
p-value without a footnote symbol) is stored as a number, with a number format that shows
exactly the displayed decimals, so it sorts and sums. Every other cell keeps its text as
shown: ``77/155``, ``49.7 (41.9–57.5)``, ``<0.001``, a p-value with its test's symbol, ``—``;
a text that a spreadsheet would take for a formula (it begins with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return) is stored as text with Excel's quote prefix, never as a formula.
When the cohort is synthetic, every sheet says so in its second row.
A column of running text (a table's ``text_columns``) stays text, left-aligned and wrapped.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from poems_cohort.report.office import AUTHOR, FIXED_TIME, normalise_zip
from poems_cohort.report.tables import DisplayTable, header_spans

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
SYNTHETIC_NOTE = "Synthetic cohort: no real patients."
PLAIN_NUMBER = re.compile(r"-?\d+(\.(\d+))?")
MIN_WIDTH, MAX_WIDTH = 8, 60
#: The rows of a worksheet (Excel's limit). The workbook holds the study's aggregated tables
#: (dozens of rows at any cohort size); the patient-level analysis dataset is never put in it
#: (``analysis_dataset.csv``, ``derive --out x.csv|x.parquet``). A table too long for a sheet
#: (from an appendix, say) is refused by :func:`xlsx_bytes` rather than cut.
SHEET_MAX_ROWS = 1_048_576
#: Rows a sheet uses besides the table's rows, section rows and notes: title, synthetic note,
#: header (two rows at most), spacing.
_SHEET_OVERHEAD = 16
THIN = Side(style="thin", color="000000")
MEDIUM = Side(style="medium", color="000000")


def cell_value(text: str) -> tuple[object, str | None]:
    """The value to store for a displayed ``text`` and its number format (``None``: text)."""
    m = PLAIN_NUMBER.fullmatch(text)
    if m is None:
        return text, None
    decimals = len(m.group(2) or "")
    if decimals == 0:
        return int(text), "0"
    return float(text), "0." + "0" * decimals


def _width(text: str) -> float:
    return len(text) * 1.1 + 2


def _sheet(ws: Worksheet, t: DisplayTable) -> None:
    cols = t.columns()
    ncol = len(cols)
    ws["A1"] = t.title
    ws["A1"].font = Font(bold=True, size=12)
    head_rows = 2 if t.grouped() else 1
    bold = Font(bold=True)
    centre = Alignment(horizontal="center", vertical="bottom", wrap_text=True)
    left = Alignment(horizontal="left", vertical="bottom", wrap_text=True)
    head = 3  # the title, a blank row, then the header
    for group, first, n in header_spans(cols):
        col = first + 1
        if group is None:
            cell = ws.cell(row=head, column=col, value=cols[first].label)
            if head_rows == 2:
                ws.merge_cells(start_row=head, start_column=col, end_row=head + 1,
                               end_column=col)
        else:
            cell = ws.cell(row=head, column=col, value=group)
            if n > 1:
                ws.merge_cells(start_row=head, start_column=col, end_row=head,
                               end_column=col + n - 1)
            for k in range(first, first + n):
                sub = ws.cell(row=head + 1, column=k + 1, value=cols[k].label)
                sub.font, sub.alignment = bold, centre
                ws.cell(row=head, column=k + 1).border = Border(top=MEDIUM, bottom=THIN)
        cell.font, cell.alignment = bold, (left if first == 0 else centre)
    last_head = head + head_rows - 1
    for k in range(1, ncol + 1):
        top = ws.cell(row=head, column=k)
        top.border = Border(top=MEDIUM, bottom=top.border.bottom)
        low = ws.cell(row=last_head, column=k)
        low.border = Border(top=low.border.top, bottom=THIN)
    ws.freeze_panes = ws.cell(row=last_head + 1, column=1)

    widths = [_width(c.label) if c.group is None else 0.0 for c in cols]
    row = last_head + 1
    current: object = None
    italic = Font(italic=True)
    for rec in t.frame.to_dict("records"):
        indent = 0
        if t.section is not None:
            value = rec[t.section]
            if value != current and str(value):
                cell = ws.cell(row=row, column=1, value=str(value))
                cell.font = italic
                row += 1
            current = value
            indent = 1 if str(value) else 0
        for k, c in enumerate(cols):
            text = str(rec[c.name])
            is_text = k == 0 or c.name in t.text_columns
            value, number_format = (text, None) if is_text else cell_value(text)
            cell = ws.cell(row=row, column=k + 1, value=value)
            if number_format is not None:
                cell.number_format = number_format
            cell.alignment = (Alignment(horizontal="left", indent=indent) if k == 0 else
                              Alignment(horizontal="left", vertical="top", wrap_text=True)
                              if is_text else Alignment(horizontal="center"))
            widths[k] = max(widths[k], _width(text))
        row += 1
    for k in range(1, ncol + 1):
        cell = ws.cell(row=row - 1, column=k)
        cell.border = Border(bottom=MEDIUM)
    for k, c in enumerate(cols):
        widths[k] = max(widths[k], _width(c.label) / 2 if c.group is None else _width(c.label))
    for group, first, n in header_spans(cols):
        if group is not None:
            need = _width(group)
            have = sum(widths[first:first + n])
            if need > have:
                widths[first:first + n] = [w * need / have for w in widths[first:first + n]]
    widths = [min(max(MIN_WIDTH, w), MAX_WIDTH) for w in widths]
    for k, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(k)].width = round(w, 1)
    per_line = sum(widths) * 1.1
    row += 1
    for text in t.notes():
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=ncol)
        cell = ws.cell(row=row, column=1, value=text)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        cell.font = Font(size=9)
        ws.row_dimensions[row].height = 12.5 * max(1, math.ceil(len(text) / per_line))
        row += 1


def _as_text(ws: Worksheet) -> None:
    """No text cell is a formula: openpyxl stores a text beginning with ``=`` as one, so it is
    made text again, and every text beginning with ``=``, ``+``, ``-``, ``@``, a tab or a
    carriage return gets Excel's quote prefix (shown as typed, never evaluated)."""
    for row in ws.iter_rows():
        for cell in row:
            if isinstance(cell.value, str) and cell.value.startswith(FORMULA_START):
                cell.data_type = "s"
                cell.quotePrefix = True


def _rows_needed(t: DisplayTable) -> int:
    """An upper bound of the rows the sheet of ``t`` takes (:data:`SHEET_MAX_ROWS`)."""
    sections = int(t.frame[t.section].nunique()) if t.section is not None else 0
    return len(t.frame) + sections + len(t.notes()) + _SHEET_OVERHEAD


def xlsx_bytes(tables: Sequence[DisplayTable], *, synthetic: bool = False) -> bytes:
    """A workbook with one sheet per table (sheet name = the table's name); ``synthetic``:
    every sheet says under its title that the cohort is synthetic."""
    too_long = [t.name for t in tables if _rows_needed(t) > SHEET_MAX_ROWS]
    if too_long:
        raise ValueError(f"table(s) {', '.join(too_long)} too long for a worksheet "
                         f"({SHEET_MAX_ROWS:,} rows): write them as CSV, not in tables.xlsx")
    wb = Workbook()
    wb.remove(wb.active)
    for t in tables:
        ws = wb.create_sheet(t.name[:31])
        _sheet(ws, t)
        if synthetic:
            ws["A2"] = SYNTHETIC_NOTE
            ws["A2"].font = Font(bold=True, color="B35806")
        _as_text(ws)
    props = wb.properties
    props.creator = AUTHOR
    props.lastModifiedBy = AUTHOR
    props.created = FIXED_TIME
    props.modified = FIXED_TIME
    props.title = "poems-cohort study tables"
    buf = io.BytesIO()
    wb.save(buf)
    return normalise_zip(buf.getvalue())
