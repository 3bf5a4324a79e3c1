"""The tables as a Word document laid out for a journal.

Each table starts a page of its own, in portrait or, when it is too wide, in landscape (A4).
The title is above the table, the notes below it. Three horizontal rules (above the header,
under the header, under the last row) and no vertical line; a short rule under each spanning
column group; section rows (Organomegaly, CRH…) span the table in italics; the footnote symbol
of a p-value's test is a superscript, explained in the legend under the table. Arial 9 pt, the
header repeated on every page and no row split across pages.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

from poems_cohort.report.office import AUTHOR, FIXED_TIME, normalise_zip
from poems_cohort.report.tables import TEST_MARKS, DisplayTable, header_spans

FONT = "Arial"
BODY_PT = 9.0
NOTE_PT = 8.0
TITLE_PT = 10.0
PAGE_W_CM, PAGE_H_CM = 21.0, 29.7   # A4
MARGIN_CM = 2.0
CELL_PAD_CM = 0.12                   # left and right padding inside a cell
LABEL_MAX_CM = 5.2                   # the first column wraps beyond this width
SECTION_INDENT_CM = 0.3              # rows under a section row are indented
FILL_FROM = 0.6                      # a table this wide (of the text width) spans it
HEAVY, LIGHT, GROUP_RULE = 12, 6, 4  # rule widths in eighths of a point

# Advance widths of Arial (= Helvetica metrics) in 1/1000 em, for estimating column widths.
_NARROW = dict.fromkeys("il.,:;'|!ijtf", 278) | dict.fromkeys("rI()[]-*", 333)
_WIDE = dict.fromkeys("mwMW%", 889) | dict.fromkeys("ABCDEGHKNOPQRSUVXYZ&", 700)
_WIDTHS = {" ": 278, "/": 278, "–": 556, "—": 1000, "<": 584, ">": 584, "=": 584, "+": 584,
           "†": 556, "‡": 556, "§": 556, "¶": 537, "²": 333, **_NARROW, **_WIDE}


def text_cm(text: str, pt: float = BODY_PT, *, bold: bool = False) -> float:
    """The estimated printed width of one line of ``text`` in Arial at ``pt`` points."""
    em = sum(_WIDTHS.get(ch, 556) for ch in text) / 1000
    return em * pt * (1.06 if bold else 1.0) * 2.54 / 72


@dataclass(frozen=True, slots=True)
class _Layout:
    """Column widths (cm) and the page orientation of one table."""

    widths: tuple[float, ...]
    landscape: bool


def _longest_word_cm(text: str, *, bold: bool = False) -> float:
    return max((text_cm(w, bold=bold) for w in text.split()), default=0.0)


def header_lines(label: str) -> list[str]:
    """A column label as printed: a group size goes on a line of its own (``MDex`` over
    ``(N=79)``), as in the paper."""
    name, sep, size = label.partition(" (N=")
    return [name, f"(N={size}"] if sep else [label]


def layout(t: DisplayTable) -> _Layout:
    """Widths that fit every cell on one line (the first column and the headers may wrap),
    on a portrait page when they fit, else on a landscape page, narrowed to fit if need be."""
    cols = t.columns()
    widths = []
    for k, c in enumerate(cols):
        cells = [str(v) for v in t.frame[c.name]]
        body = max((text_cm(v) for v in cells), default=0.0)
        lines = header_lines(c.label)
        head = max(text_cm(x, bold=True) for x in lines)
        word = max(_longest_word_cm(x, bold=True) for x in lines)
        if k == 0:
            if t.section is not None:
                body += SECTION_INDENT_CM
            w = min(max(body, word), LABEL_MAX_CM)
            if t.section is not None:
                w = max(w, min(LABEL_MAX_CM, max(
                    (text_cm(str(s)) for s in t.frame[t.section]), default=0.0)))
        else:  # a header wraps to at most two lines
            w = max(body, word, head / (2 if len(lines) == 1 else 1))
        widths.append(w + 2 * CELL_PAD_CM + 0.05)
    for group, first, n in header_spans(cols):  # a group label fits over its columns
        if group is not None:
            need = text_cm(group, bold=True) + 2 * CELL_PAD_CM + 0.3
            have = sum(widths[first:first + n])
            if need > have:
                widths[first:first + n] = [w * need / have for w in widths[first:first + n]]
    total = sum(widths)
    portrait = PAGE_W_CM - 2 * MARGIN_CM
    landscape = PAGE_H_CM - 2 * MARGIN_CM
    page = portrait if total <= portrait else landscape
    if total > page:  # narrowed to fit, every column alike
        widths = [w * page / total for w in widths]
    elif total >= FILL_FROM * page and len(widths) > 1:  # the value columns widened to span
        rest = sum(widths[1:])
        widths = [widths[0], *(w * (page - widths[0]) / rest for w in widths[1:])]
    return _Layout(tuple(widths), page == landscape)


# ---------------------------------------------------------------------------- XML helpers
def _el(tag: str, **attrs: str) -> Any:
    el = OxmlElement(tag)
    for k, v in attrs.items():
        el.set(qn(f"w:{k}"), v)
    return el


def _rule(tc: Any, edge: str, size: int) -> None:
    """A single black rule of ``size`` eighths of a point on ``edge`` of a cell."""
    tc_pr = tc.get_or_add_tcPr()
    borders = tc_pr.find(qn("w:tcBorders"))
    if borders is None:
        borders = _el("w:tcBorders")
        tc_pr.append(borders)
    old = borders.find(qn(f"w:{edge}"))
    if old is not None:
        borders.remove(old)
    borders.append(_el(f"w:{edge}", val="single", sz=str(size), space="0", color="000000"))
    order = ["top", "start", "left", "bottom", "end", "right", "insideH", "insideV"]
    for child in sorted(borders, key=lambda e: order.index(e.tag.split("}")[1])):
        borders.append(child)  # schema order


def _paragraph_rule(paragraph: Any, size: int) -> None:
    """A rule under a paragraph: inside a cell it stops short of the cell's edges, so adjacent
    groups get separate rules (like booktabs' ``\\cmidrule``)."""
    p_pr = paragraph._p.get_or_add_pPr()
    bdr = _el("w:pBdr")
    bdr.append(_el("w:bottom", val="single", sz=str(size), space="1", color="000000"))
    p_pr.insert_element_before(bdr, "w:shd", "w:tabs", "w:suppressAutoHyphens", "w:kinsoku",
                               "w:wordWrap", "w:overflowPunct", "w:topLinePunct",
                               "w:autoSpaceDE", "w:autoSpaceDN", "w:bidi", "w:adjustRightInd",
                               "w:snapToGrid", "w:spacing", "w:ind", "w:contextualSpacing",
                               "w:mirrorIndents", "w:suppressOverlap", "w:jc",
                               "w:textDirection", "w:textAlignment", "w:textboxTightWrap",
                               "w:outlineLvl", "w:divId", "w:cnfStyle", "w:rPr", "w:sectPr",
                               "w:pPrChange")


def _row_flags(row: Any, *, header: bool) -> None:
    tr_pr = row._tr.get_or_add_trPr()
    tr_pr.append(_el("w:cantSplit"))
    if header:
        tr_pr.append(_el("w:tblHeader"))


def _no_borders(table: Any) -> None:
    tbl_pr = table._tbl.tblPr
    borders = _el("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        borders.append(_el(f"w:{edge}", val="nil"))
    tbl_pr.append(borders)
    layout_el = _el("w:tblLayout", type="fixed")
    tbl_pr.append(layout_el)
    margins = _el("w:tblCellMar")
    pad = str(round(CELL_PAD_CM / 2.54 * 1440))
    for edge, width in (("top", "20"), ("left", pad), ("bottom", "20"), ("right", pad)):
        margins.append(_el(f"w:{edge}", w=width, type="dxa"))
    tbl_pr.append(margins)


def _write(paragraph: Any, text: str, *, bold: bool = False, italic: bool = False,
           marks: bool = False) -> None:
    """``text`` into ``paragraph``; with ``marks`` a trailing footnote symbol is superscript."""
    mark = ""
    if marks and text and text[-1] in TEST_MARKS:
        text, mark = text[:-1], text[-1]
    run = paragraph.add_run(text)
    run.bold, run.italic = bold or None, italic or None
    if mark:
        _mark(paragraph, mark)


def _mark(paragraph: Any, mark: str) -> None:
    """A footnote symbol: superscript, except the asterisk, which already sits high."""
    run = paragraph.add_run(mark)
    if mark != "*":
        run.font.superscript = True


def _write_label(paragraph: Any, label: str) -> None:
    """A bold header label, the group size on a line of its own."""
    for i, line in enumerate(header_lines(label)):
        if i:
            paragraph.add_run().add_break()
        paragraph.add_run(line).bold = True


def _fmt(paragraph: Any, *, align: Any = None, keep_next: bool = False,
         before: float = 0.0, after: float = 0.0, indent_cm: float = 0.0) -> None:
    pf = paragraph.paragraph_format
    if align is not None:
        paragraph.alignment = align
    pf.space_before, pf.space_after = Pt(before), Pt(after)
    pf.keep_with_next = keep_next or None
    if indent_cm:
        pf.left_indent = Cm(indent_cm)


# ---------------------------------------------------------------------------- one table
def _title(doc: Any, title: str) -> None:
    p = doc.add_paragraph()
    label, sep, rest = title.partition(". ")
    if sep and "Table" in label:
        _write(p, label + ".", bold=True)
        _write(p, " " + rest)
    else:
        _write(p, title, bold=True)
    for run in p.runs:
        run.font.size = Pt(TITLE_PT)
    _fmt(p, keep_next=True, after=4)


def _header(table: Any, t: DisplayTable) -> int:
    """Fill the header rows; return how many there are."""
    cols = t.columns()
    n_head = 2 if t.grouped() else 1
    rows = table.rows[:n_head]
    for group, first, n in header_spans(cols):
        if group is None:
            cell = rows[0].cells[first]
            if n_head == 2:
                cell = cell.merge(rows[1].cells[first])
            _write_label(cell.paragraphs[0], cols[first].label)
            _fmt(cell.paragraphs[0], align=None if first == 0 else WD_ALIGN_PARAGRAPH.CENTER)
            cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.BOTTOM
            continue
        top = rows[0].cells[first]
        if n > 1:
            top = top.merge(rows[0].cells[first + n - 1])
        _write(top.paragraphs[0], group, bold=True)
        _fmt(top.paragraphs[0], align=WD_ALIGN_PARAGRAPH.CENTER, after=1)
        _paragraph_rule(top.paragraphs[0], GROUP_RULE)
        top.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.BOTTOM
        for k in range(first, first + n):
            cell = rows[1].cells[k]
            _write_label(cell.paragraphs[0], cols[k].label)
            _fmt(cell.paragraphs[0], align=WD_ALIGN_PARAGRAPH.CENTER)
            cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.BOTTOM
    for row in rows:
        _row_flags(row, header=True)
    for tc in rows[0]._tr.tc_lst:
        _rule(tc, "top", HEAVY)
    for tc in rows[-1]._tr.tc_lst:
        _rule(tc, "bottom", LIGHT)
    return n_head


def _body_rows(t: DisplayTable) -> list[tuple[str, object]]:
    """``("section", label)`` and ``("row", record)`` in display order."""
    out: list[tuple[str, object]] = []
    current: object = None
    for rec in t.frame.to_dict("records"):
        if t.section is not None:
            value = rec[t.section]
            if value != current and str(value):
                out.append(("section", str(value)))
            current = value
        out.append(("row", rec))
    return out


def _table(doc: Any, t: DisplayTable, widths: Sequence[float]) -> None:
    cols = t.columns()
    body = _body_rows(t)
    n_head = 2 if t.grouped() else 1
    table = doc.add_table(rows=n_head + len(body), cols=len(cols))
    table.alignment = WD_TABLE_ALIGNMENT.LEFT
    table.autofit = False
    _no_borders(table)
    grid = table._tbl.tblGrid
    for gc, w in zip(grid.findall(qn("w:gridCol")), widths, strict=True):
        gc.set(qn("w:w"), str(round(w / 2.54 * 1440)))
    for row in table.rows:
        for cell, w in zip(row.cells, widths, strict=True):
            cell.width = Cm(w)
    _header(table, t)
    in_section = False
    for i, (kind, item) in enumerate(body):
        row = table.rows[n_head + i]
        _row_flags(row, header=False)
        if kind == "section":
            cell = row.cells[0].merge(row.cells[-1])
            _write(cell.paragraphs[0], str(item), italic=True)
            _fmt(cell.paragraphs[0], keep_next=True, before=2)
            in_section = True
            continue
        rec = item if isinstance(item, dict) else {}
        if t.section is not None and not str(rec.get(t.section, "")):
            in_section = False
        for k, (cell, c) in enumerate(zip(row.cells, cols, strict=True)):
            p = cell.paragraphs[0]
            _write(p, str(rec[c.name]), marks=k > 0)
            if k == 0:
                _fmt(p, indent_cm=SECTION_INDENT_CM if in_section else 0.0)
            else:
                _fmt(p, align=WD_ALIGN_PARAGRAPH.CENTER)
    for tc in table.rows[-1]._tr.tc_lst:
        _rule(tc, "bottom", HEAVY)


def _notes(doc: Any, t: DisplayTable) -> None:
    for k, text in enumerate(t.notes()):
        p = doc.add_paragraph()
        if text == t.legend_text():
            for i, (mark, name) in enumerate(t.legend):
                _mark(p, mark)
                p.add_run(name + ("; " if i < len(t.legend) - 1 else "."))
        else:
            p.add_run(text)
        for run in p.runs:
            run.font.size = Pt(NOTE_PT)
        _fmt(p, before=4 if k == 0 else 1)


def _page(section: Any, *, landscape: bool) -> None:
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    w, h = (PAGE_H_CM, PAGE_W_CM) if landscape else (PAGE_W_CM, PAGE_H_CM)
    section.page_width, section.page_height = Cm(w), Cm(h)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(MARGIN_CM))


def docx_bytes(tables: Sequence[DisplayTable], *, title: str, synthetic: bool = False) -> bytes:
    """A Word document: ``title``, then each table on a page of its own (landscape when it is
    too wide for portrait). ``synthetic`` adds "synthetic cohort" to every table title, so a
    table copied on its own keeps the label."""
    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(BODY_PT)
    r_fonts = normal.element.get_or_add_rPr().get_or_add_rFonts()
    for attr in ("ascii", "hAnsi", "cs", "eastAsia"):
        r_fonts.set(qn(f"w:{attr}"), FONT)
    normal.paragraph_format.space_after = Pt(0)
    normal.paragraph_format.space_before = Pt(0)
    normal.paragraph_format.line_spacing = 1.0
    heading = doc.add_paragraph()
    _write(heading, title, bold=True)
    heading.runs[0].font.size = Pt(12)
    _fmt(heading, after=10)
    for i, t in enumerate(tables):
        lay = layout(t)
        if i == 0:
            _page(doc.sections[0], landscape=lay.landscape)
        else:
            _page(doc.add_section(WD_SECTION.NEW_PAGE), landscape=lay.landscape)
        _title(doc, f"{t.title} (synthetic cohort: no real patients)" if synthetic else t.title)
        _table(doc, t, lay.widths)
        _notes(doc, t)
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
