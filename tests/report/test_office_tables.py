"""The Word and Excel tables: grouped headers, section rows, rules, footnotes, numbers."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from openpyxl import load_workbook

from poems_cohort.report import tables
from poems_cohort.report.docx_out import docx_bytes, header_lines, layout
from poems_cohort.report.xlsx_out import cell_value, xlsx_bytes
from poems_cohort.study import AnalysisPlan, compute_study
from tests.study import cohort12

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


@pytest.fixture(scope="module")
def shown() -> list[tables.DisplayTable]:
    res = compute_study(cohort12.baseline(), cohort12.analysis_dataset(), cohort12.flow(),
                        AnalysisPlan())
    return [tables.table1(res), tables.table2(res), tables.tests_table(res)]


def _document(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return z.read("word/document.xml").decode("utf-8")


def _tables_xml(xml: str) -> list[str]:
    return re.findall(r"<w:tbl>.*?</w:tbl>", xml, flags=re.S)


def test_docx_table2_has_grouped_headers_sections_and_three_rules(shown):
    xml = _document(docx_bytes(shown, title="Tables"))
    t1, t2, _ = _tables_xml(xml)
    rows = re.findall(r"<w:tr[ >].*?</w:tr>", t2, flags=re.S)
    # two header rows, repeated on every page; the three groups span n/N, %, p
    assert all("<w:tblHeader/>" in r for r in rows[:2]) and "<w:tblHeader/>" not in rows[2]
    assert rows[0].count('<w:gridSpan w:val="3"/>') == 3
    for group in ("All patients (N=", "Low risk (N=", "Medium-high risk (N="):
        assert group in rows[0], group
    assert re.findall(r"<w:t>([^<]*)</w:t>", rows[1])[:4] == ["n/N", "% (95% CI)", "p", "n/N"]
    # the endpoint sections are merged rows in italics, the reference regimen first
    n_cols = len(shown[1].columns())
    sections = [r for r in rows if f'<w:gridSpan w:val="{n_cols}"/>' in r]
    names = [re.findall(r"<w:t>([^<]*)</w:t>", r)[0] for r in sections]
    assert names == ["CRH", "CRV", "CRH/CRV", "RN", "PFS, 3-year rate (events/N)", "OS, 3-year rate (events/N)"]
    assert all("<w:i/>" in r for r in sections)
    first_after = rows[rows.index(sections[0]) + 1]
    assert re.findall(r"<w:t>([^<]*)</w:t>", first_after)[0] == "ASCT"
    # booktabs: heavy rules above the header and under the last row, a light one under the
    # header, never a vertical line
    assert 'w:top w:val="single" w:sz="12"' in rows[0]
    assert 'w:bottom w:val="single" w:sz="6"' in rows[1]
    assert 'w:bottom w:val="single" w:sz="12"' in rows[-1]
    assert not re.search(r'<w:(left|right|start|end|insideV) w:val="single"', t2)
    assert 'w:left w:val="nil"' in t2 and 'w:insideV w:val="nil"' in t2
    # Table 1: one header row, sections Organomegaly and Risk stratification
    assert "Organomegaly" in t1 and "Risk stratification" in t1
    assert ">Group<" not in t1  # the section column is not a column


def test_docx_marks_are_explained_under_each_table_and_table2_is_landscape(shown):
    xml = _document(docx_bytes(shown, title="Tables"))
    t2 = shown[1]
    assert t2.legend and t2.marks
    for _mark, name in t2.legend:
        assert name in xml
    # p-value symbols other than the asterisk are superscript runs
    sup = re.findall(r'<w:vertAlign w:val="superscript"/></w:rPr><w:t>(.)</w:t>', xml)
    assert set(sup) <= set(tables.TEST_MARKS) - {"*"}
    assert sup  # the log-rank symbol at least
    # page orientation per section: Table 1 portrait, Table 2 landscape
    sizes = re.findall(r'<w:pgSz w:w="(\d+)" w:h="(\d+)"(?: w:orient="(\w+)")?/>', xml)
    assert int(sizes[0][0]) < int(sizes[0][1])
    assert int(sizes[1][0]) > int(sizes[1][1]) and sizes[1][2] == "landscape"
    assert not layout(shown[0]).landscape and layout(shown[1]).landscape
    styles = zipfile.ZipFile(io.BytesIO(docx_bytes(shown, title="T"))).read(
        "word/styles.xml").decode()
    assert 'w:ascii="Arial"' in styles


def test_docx_same_tables_same_bytes(shown):
    assert docx_bytes(shown, title="T") == docx_bytes(shown, title="T")
    assert "synthetic cohort" in _document(docx_bytes(shown, title="T", synthetic=True))


def test_header_lines_put_the_group_size_under_the_name():
    assert header_lines("MDex (N=79)") == ["MDex", "(N=79)"]
    assert header_lines("p") == ["p"]


def test_xlsx_grouped_header_frozen_and_numbers(shown):
    wb = load_workbook(io.BytesIO(xlsx_bytes(shown)))
    assert wb.sheetnames == ["table1", "table2", "tests"]
    ws = wb["table2"]
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert {"A3:A4", "B3:D3", "E3:G3", "H3:J3"} <= merged
    assert ws.freeze_panes == "A5"
    assert ws["B3"].value.startswith("All patients (N=") and ws["B3"].font.bold
    assert [ws.cell(row=4, column=k).value for k in (2, 3, 4)] == ["n/N", "% (95% CI)", "p"]
    assert ws["A5"].value == "CRH" and ws["A5"].font.italic
    assert ws["A6"].value == "ASCT"
    assert wb["table1"].freeze_panes == "A4"
    tests = wb["tests"]
    stats = [tests.cell(row=r, column=4).value for r in range(5, tests.max_row)]
    assert any(isinstance(v, float) for v in stats)
    widths = [ws.column_dimensions[c].width for c in "ABCDEFGHIJ"]
    assert all(w >= 8 for w in widths)


def test_cell_value_keeps_displayed_decimals():
    assert cell_value("347") == (347, "0")
    assert cell_value("0.050") == (0.05, "0.000")
    assert cell_value("1418.6") == (1418.6, "0.0")
    for text in ("0.022*", "<0.001", "77/155", "49.7 (41.9–57.5)", "—", "", "NR"):
        assert cell_value(text) == (text, None)


def test_xlsx_refuses_a_table_longer_than_a_sheet_instead_of_cutting_it(monkeypatch, shown):
    # the workbook holds aggregated tables only; a table too long for a worksheet (Excel's
    # 1,048,576 rows, lowered here) is a clear error naming it, never a truncated sheet
    from poems_cohort.report import xlsx_out

    longest = max(shown, key=xlsx_out._rows_needed)
    monkeypatch.setattr(xlsx_out, "SHEET_MAX_ROWS", xlsx_out._rows_needed(longest) - 1)
    with pytest.raises(ValueError, match=f"{longest.name}.*too long for a worksheet"):
        xlsx_bytes(shown)
    monkeypatch.setattr(xlsx_out, "SHEET_MAX_ROWS", xlsx_out._rows_needed(longest))
    assert xlsx_bytes(shown)[:2] == b"PK"
