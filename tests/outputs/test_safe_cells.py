"""CSV and XLSX outputs cannot attack their reader: no text cell is a formula, and numbers stay
numbers (OWASP's rule on CSV injection)."""

from __future__ import annotations

import csv
import io
import zipfile

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from poems_cohort.report import output
from poems_cohort.report.output import csv_bytes, neutralise, safe_csv
from poems_cohort.report.tables import DisplayTable
from poems_cohort.report.xlsx_out import xlsx_bytes

HOSTILE = ["=HYPERLINK(\"http://x\",\"y\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1,2)",
           "\tTAB", "\rCR"]


@pytest.mark.parametrize("text", HOSTILE)
def test_a_hostile_text_gets_an_apostrophe(text):
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("text", ["-0.5", "-3", "+3", "1e-05", "-1.5E+10", ".5", "12.", "ASCT",
                                  "49.7 (41.9–57.5)", "<0.001", "—", "", "'=already"])
def test_numbers_and_plain_text_are_kept(text):
    assert neutralise(text) == text


def test_csv_cells_headers_and_ids_are_neutralised_and_numbers_stay_numbers():
    frame = pd.DataFrame({"patient_id": ["=1+1", "@A", "-B", "P-01", "-7"],
                          "=label": ["x", "y", "z", "w", "v"],
                          "months": [-1.5, 2.0, None, 3.25, 0.0],
                          "count": [-3, 4, 5, 6, 7]})
    data = csv_bytes(frame)
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    assert rows[0] == ["patient_id", "'=label", "months", "count"]
    assert [r[0] for r in rows[1:]] == ["'=1+1", "'@A", "'-B", "P-01", "-7"]
    back = pd.read_csv(io.BytesIO(data))
    assert back["months"].dtype.kind == "f" and back["months"].iloc[0] == -1.5
    assert back["count"].dtype.kind == "i" and back["count"].iloc[0] == -3


def test_csv_cells_with_quotes_commas_and_newlines_survive_the_rewrite():
    frame = pd.DataFrame({"note": ['a, "b"\nc', "=x,\ny"], "n": [1, 2]})
    back = pd.read_csv(io.BytesIO(csv_bytes(frame)))
    assert list(back["note"]) == ['a, "b"\nc', "'=x,\ny"]


def test_the_synthetic_column_is_last_and_true_on_every_row():
    data = safe_csv(b"a,b\n1,x\n2,y\n", synthetic=True)
    assert data == b"a,b,synthetic\n1,x,TRUE\n2,y,TRUE\n"
    assert pd.read_csv(io.BytesIO(data))["synthetic"].tolist() == [True, True]


def test_xlsx_text_cells_are_never_formulas_and_numbers_stay_numbers():
    frame = pd.DataFrame({"Characteristic": HOSTILE,
                          "Value": ["-2", "=3", "@4", "-0.25", "5", "+x"]})
    table = DisplayTable(name="t", title="=title", frame=frame)
    data = xlsx_bytes([table])
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode("utf-8")
    assert "<f>" not in sheet and "<f " not in sheet
    ws = load_workbook(io.BytesIO(data))["t"]
    assert ws["A1"].value == "=title" and ws["A1"].data_type == "s" and ws["A1"].quotePrefix
    body = {ws.cell(row=r, column=1).value: ws.cell(row=r, column=2)
            for r in range(4, 4 + len(HOSTILE))}
    for text in HOSTILE:
        assert text.replace("\r", "\n") in body or text in body
    values = [ws.cell(row=r, column=2) for r in range(4, 10)]
    assert values[0].value == -2 and values[0].data_type == "n"
    assert values[3].value == -0.25 and values[3].data_type == "n"
    for cell in (values[1], values[2], values[5]):
        assert cell.data_type == "s" and cell.quotePrefix, cell.value
    assert ws["A2"].value is None  # not synthetic: no note


def test_every_sheet_of_a_synthetic_workbook_says_so():
    frame = pd.DataFrame({"a": ["x"], "b": ["1"]})
    data = xlsx_bytes([DisplayTable(name="one", title="One", frame=frame),
                       DisplayTable(name="two", title="Two", frame=frame)], synthetic=True)
    wb = load_workbook(io.BytesIO(data))
    assert [ws["A2"].value for ws in wb.worksheets] == ["Synthetic cohort: no real patients."] * 2


def _cell_by_cell(frame: pd.DataFrame, synthetic: bool) -> bytes:
    """The reference: the frame's CSV text neutralised cell by cell."""
    return safe_csv(frame.to_csv(index=False, lineterminator="\n").encode("utf-8"),
                    synthetic=synthetic)


MIXED = pd.DataFrame({
    "patient_id": pd.Series(["=1+1", "@A", None, "P-01", "-7", "a,\"b\"\nc", ""], dtype="str"),
    "regimen": ["ASCT", "-x", "ASCT", "\tT", "MDex", "=A", "ASCT"],
    "months": [-1.5, 2.0, None, 3.25, 0.0, 1e-05, float("inf")],
    "count": [-3, 4, 5, 6, 7, 8, 9],
    "flag": pd.array([True, False, None, True, True, False, None], dtype="boolean"),
    "day": pd.to_datetime(["2001-02-03", None, "2018-08-31", "2000-01-01", None, None,
                           "2019-01-01"]),
    "ok": [True, False, True, True, False, True, False],
    "empty": [None] * 7,
})


@pytest.mark.parametrize("synthetic", [False, True])
@pytest.mark.parametrize("chunk", [2, 100_000])
@pytest.mark.parametrize("case", ["mixed", "hostile header", "minus infinity", "objects",
                                  "clean", "no rows"])
def test_the_column_wise_csv_is_the_cell_by_cell_csv(monkeypatch, synthetic, chunk, case):
    # csv_bytes neutralises column by column and writes in pieces of CSV_CHUNK_ROWS rows; its
    # bytes are those of neutralising the whole text cell by cell, whichever path it takes
    monkeypatch.setattr(output, "CSV_CHUNK_ROWS", chunk)
    frame = {"mixed": MIXED,
             "hostile header": MIXED.rename(columns={"count": "=count"}),
             "minus infinity": MIXED.assign(months=[-float("inf"), *MIXED["months"][1:]]),
             "objects": MIXED.assign(regimen=["a", 1, 2.5, None, "-b", "c", "d"]),
             "clean": MIXED[["count", "ok", "day"]],
             "no rows": MIXED.iloc[:0]}[case]
    assert csv_bytes(frame, synthetic=synthetic) == _cell_by_cell(frame, synthetic)


REPEATED = pd.DataFrame({
    # few distinct values: written from the text of each distinct value (_float_text)
    "flag": np.tile([0.0, 1.0, np.nan, 1.0], 10),
    "signed_zero": np.tile([0.0, -0.0, 0.0, 0.0], 10),
    "odd": np.tile([0.1 + 0.2, 1e-300, 1.5e16, float("inf")], 10),
    "nan_payloads": np.tile(np.array([0x7FF8000000000001, 0x7FF8000000000000, 0xFFF8000000000000,
                                      0x3FF0000000000000], dtype=np.uint64).view(np.float64), 10),
    "many": np.linspace(-1, 1, 40),  # distinct: left to to_csv
    "text": ["=a", "b"] * 20,
})


@pytest.mark.parametrize("chunk", [3, 100_000])
@pytest.mark.parametrize("columns", [None, ["flag"], ["signed_zero", "many"]])
def test_repeated_floats_are_written_as_to_csv_writes_them(monkeypatch, chunk, columns):
    monkeypatch.setattr(output, "CSV_CHUNK_ROWS", chunk)
    frame = REPEATED if columns is None else REPEATED[columns]
    assert csv_bytes(frame) == _cell_by_cell(frame, False)
    text = csv_bytes(REPEATED).decode()
    assert "-0.0" in text and "0.30000000000000004" in text and "inf" in text


def test_float_text_formats_only_columns_of_few_values():
    part = output._float_text(REPEATED)
    assert part["flag"].tolist()[:4] == ["0.0", "1.0", "", "1.0"]
    assert part["signed_zero"].tolist()[:2] == ["0.0", "-0.0"]
    assert part["many"].dtype == np.float64  # 40 distinct values in 40 rows
    assert REPEATED["flag"].dtype == np.float64  # the caller's frame is left as it was


def test_the_column_wise_csv_copies_nothing_it_need_not_change():
    clean = MIXED[["count", "ok", "day", "months"]]
    assert output._neutral_frame(clean, False) is clean
    changed = output._neutral_frame(MIXED, False)
    assert changed is not None and changed["regimen"].tolist()[:2] == ["ASCT", "'-x"]
    assert MIXED["regimen"].tolist()[1] == "-x"  # the caller's frame is left as it was
