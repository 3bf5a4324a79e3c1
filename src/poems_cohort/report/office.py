"""The tables as an Excel workbook (a sheet each) and a Word document formatted for a journal.

Both files are reproducible: fixed document properties and fixed timestamps inside the zip.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Sequence

from poems_cohort.report.tables import DisplayTable

FIXED_TIME = dt.datetime(2000, 1, 1, 0, 0, 0)
FIXED_STAMP = b"2000-01-01T00:00:00Z"
AUTHOR = "poems-cohort"


def normalise_zip(data: bytes) -> bytes:
    """The same archive with every entry's timestamp fixed, so identical content is identical."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps the save time
                content = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)",
                                 rb"\g<1>" + FIXED_STAMP + rb"\g<2>", content)
            dst.writestr(fixed, content)
    return out.getvalue()


def xlsx_bytes(tables: Sequence[DisplayTable]) -> bytes:
    """A workbook with one sheet per table (title in A1, header row, cells, note under)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    wb.remove(wb.active)
    for t in tables:
        ws = wb.create_sheet(t.name[:31])
        ws.append([t.title])
        ws["A1"].font = Font(bold=True)
        ws.append(list(t.frame.columns))
        for cell in ws[2]:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        for row in t.frame.itertuples(index=False):
            ws.append([str(v) for v in row])
        if t.note:
            ws.append([])
            ws.append([t.note])
        for i, col in enumerate(t.frame.columns, start=1):
            width = max([len(str(col))] + [len(str(v)) for v in t.frame.iloc[:, i - 1]])
            ws.column_dimensions[ws.cell(row=2, column=i).column_letter].width = min(
                max(10, width + 2), 48)
    props = wb.properties
    props.creator = AUTHOR
    props.lastModifiedBy = AUTHOR
    props.created = FIXED_TIME
    props.modified = FIXED_TIME
    props.title = "poems-cohort study tables"
    buf = io.BytesIO()
    wb.save(buf)
    return normalise_zip(buf.getvalue())


def docx_bytes(tables: Sequence[DisplayTable], *, title: str) -> bytes:
    """A Word document: one journal-style table per section (three horizontal rules)."""
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Pt

    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = section.page_height, section.page_width
    style = doc.styles["Normal"]
    style.font.name = "Times New Roman"
    style.font.size = Pt(8)
    style.paragraph_format.space_after = Pt(0)
    doc.add_heading(title, level=1)

    def rule(cell: object, edge: str) -> None:
        tc_pr = cell._tc.get_or_add_tcPr()  # type: ignore[attr-defined]
        borders = tc_pr.find(qn("w:tcBorders"))
        if borders is None:
            borders = OxmlElement("w:tcBorders")
            tc_pr.append(borders)
        el = OxmlElement(f"w:{edge}")
        el.set(qn("w:val"), "single")
        el.set(qn("w:sz"), "8")
        el.set(qn("w:color"), "000000")
        borders.append(el)

    for t in tables:
        doc.add_heading(t.title, level=2)
        frame = t.frame
        table = doc.add_table(rows=1 + len(frame), cols=len(frame.columns))
        rows = table.rows
        last = len(frame)
        for cell, col in zip(rows[0].cells, frame.columns, strict=True):
            cell.text = str(col)
            cell.paragraphs[0].runs[0].bold = True
            rule(cell, "top")
            rule(cell, "bottom")
        for i, values in enumerate(frame.itertuples(index=False), start=1):
            cells = rows[i].cells
            for cell, v in zip(cells, values, strict=True):
                cell.text = str(v)
                if i == last:
                    rule(cell, "bottom")
        if t.note:
            note = doc.add_paragraph(t.note)
            for run in note.runs:
                run.font.size = Pt(7.5)
    cp = doc.core_properties
    cp.author = AUTHOR
    cp.last_modified_by = AUTHOR
    cp.created = FIXED_TIME
    cp.modified = FIXED_TIME
    cp.last_printed = FIXED_TIME
    cp.revision = 1
    cp.title = title
    buf = io.BytesIO()
    doc.save(buf)
    return normalise_zip(buf.getvalue())
