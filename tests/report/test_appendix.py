"""Appendices: sections, workbook sheets and files added to a run's output by another command."""

from __future__ import annotations

import io
import re

import pandas as pd
import pytest
from openpyxl import load_workbook

from poems_cohort.report.appendix import Appendix, Folded
from poems_cohort.report.output import build_outputs
from poems_cohort.report.reproduction import (
    STATUS_MEANINGS,
    counts_table,
    not_exact_table,
    reproduction_appendix,
)
from poems_cohort.report.tables import DisplayTable
from poems_cohort.workflow import compute as compute_run


@pytest.fixture(scope="module")
def results(cohort_dir):
    return compute_run(cohort_dir).results


def small_table(name: str = "extra") -> DisplayTable:
    frame = pd.DataFrame({"Item": ["a <b>", "c"], "Value": ["1.50", "2"],
                          "Comment": ["12", "a long remark that should wrap"]})
    return DisplayTable(name, "An extra table", frame, note="A note.",
                        text_columns=("Comment",))


def render(results, *appendices: Appendix) -> dict[str, bytes]:
    return build_outputs(results, figures=[], appendices=appendices).files


def test_an_appendix_follows_the_study_with_its_paragraphs_tables_and_folded_table(results):
    table = small_table()
    appendix = Appendix("extra", "Extra & more", (
        "First paragraph <escaped>.", table, Folded("All rows", small_table("extra_all"))))
    html = render(results, appendix)["report.html"].decode("utf-8")
    assert '<li><a href="#extra">Extra &amp; more</a></li></ol>' in html  # last in contents
    section = html[html.index('<section id="extra" class="appendix">'):]
    assert section.endswith("</section></body></html>\n")  # after every study section
    assert html.index('id="tests"') < html.index('id="extra"')
    assert "<p>First paragraph &lt;escaped&gt;.</p>" in section
    assert "<h3>An extra table</h3>" in section
    assert "<td>a &lt;b&gt;</td>" in section
    assert '<td class="num">1.50</td>' in section
    # a text column wraps like prose: no number class
    assert '<td class="text">a long remark that should wrap</td>' in section
    assert re.search(r"<details><summary>All rows</summary><div class=\"scroll\"><table>",
                     section)
    assert section.count("<table>") == 2
    assert '<p class="note">A note.</p>' in section


def test_sheets_follow_the_study_sheets_and_files_are_added(results):
    appendix = Appendix("extra", "Extra", (), sheets=(small_table(),),
                        files=(("extra.csv", b"a,b\n"),))
    files = render(results, appendix)
    assert files["extra.csv"] == b"a,b\n"
    plain = render(results)
    assert set(files) - set(plain) == {"extra.csv"}
    wb = load_workbook(io.BytesIO(files["tables/tables.xlsx"]))
    study = load_workbook(io.BytesIO(plain["tables/tables.xlsx"])).sheetnames
    assert wb.sheetnames == [*study, "extra"]
    ws = wb["extra"]
    assert ws["A1"].value == "An extra table"
    assert ws["B4"].value == 1.5 and ws["B4"].number_format == "0.00"
    assert ws["C4"].value == "12"  # a text column stays text, even when it reads as a number


def test_an_appendix_with_no_section_content_still_renders_deterministically(results):
    appendix = Appendix("extra", "Extra", ("Only words.",))
    assert render(results, appendix) == render(results, appendix)


@pytest.mark.parametrize("appendix", [
    Appendix("x", "X", (), files=(("report.html", b""),)),
    Appendix("x", "X", (), files=(("../outside.csv", b""),)),
    Appendix("x", "X", (), sheets=(small_table("table1"),)),
])
def test_an_appendix_may_not_take_the_name_of_a_study_output(results, appendix):
    with pytest.raises(ValueError):
        render(results, appendix)


def frame_of(statuses: list[str], ours: list[str] | None = None) -> pd.DataFrame:
    n = len(statuses)
    return pd.DataFrame({
        "id": [f"n{i}" for i in range(n)], "location": ["Table 1"] * n,
        "published": ["1.0"] * n, "reproduced": [1.0] * n,
        "reproduced_rounded": ours if ours is not None else ["1.0"] * n,
        "precision": [1] * n, "status": statuses, "note": [""] * n})


def test_counts_list_every_status_with_zeros_then_any_other_and_the_total():
    frame = frame_of(["missed", "exact", "odd", "exact"])
    shown = counts_table(frame).frame
    assert list(shown["Status"]) == [*STATUS_MEANINGS, "odd", "Total"]
    assert list(shown["Numbers"]) == ["2", "0", "0", "1", "0", "1", "4"]


def test_numbers_not_exact_are_grouped_by_status_in_record_order():
    frame = frame_of(["missed", "close", "exact", "close", "not-a-result", "missed"],
                     ours=["2.0", "", "1.0", "1.1", "", "3.0"])
    shown = not_exact_table(frame).frame
    assert list(shown["Id"]) == ["n1", "n3", "n0", "n5", "n4"]
    assert list(shown["Ours"]) == ["—", "1.1", "2.0", "3.0", "—"]
    assert list(shown.columns) == ["Id", "Where printed", "Published", "Ours", "Status", "Note"]


def test_the_reproduction_appendix_carries_the_csv_the_sheet_and_the_section():
    frame = frame_of(["exact", "close"])
    appendix = reproduction_appendix(frame, reference="doi:10.1038/x")
    assert appendix.id == "reproduction"
    assert dict(appendix.files) == {
        "reproduction.csv": frame.to_csv(index=False, lineterminator="\n").encode("utf-8")}
    assert [s.name for s in appendix.sheets] == ["reproduction"]
    text = appendix.blocks[0]
    assert isinstance(text, str) and "doi:10.1038/x" in text
    assert "docs/reproduction.md" in text and "http" not in text
    assert isinstance(appendix.blocks[-1], Folded)
    assert len(appendix.blocks[-1].table.frame) == 2


def test_all_exact_says_so_instead_of_an_empty_table():
    appendix = reproduction_appendix(frame_of(["exact", "exact"]))
    assert "Every published number is reproduced exactly." in appendix.blocks


def test_a_frame_without_the_documented_columns_is_refused():
    with pytest.raises(ValueError, match="note"):
        reproduction_appendix(frame_of(["exact"]).drop(columns="note"))
