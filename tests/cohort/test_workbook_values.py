"""Values of a workbook sheet read row by row: array positions are sheet positions."""

from __future__ import annotations

import datetime as dt

from openpyxl import Workbook

from poems_cohort.cohort.workbook import read_values, scan_sheet, sheets


def _read(tmp_path, fill):
    book = Workbook()
    sheet = book.active
    sheet.title = "patients"
    fill(sheet)
    path = tmp_path / "cohort.xlsx"
    book.save(path)
    [part] = sheets(path)
    return read_values(path, part, scan_sheet(path, part))


def test_a_sheet_starting_at_a1_reads_header_and_body(tmp_path):
    def fill(sheet):
        sheet.append(["patient_id", "age", "treatment_start", ""])
        sheet.append(["P01", 51, dt.datetime(2015, 3, 2)])
        sheet.append(["P02", 47.5, None, None])

    header, body = _read(tmp_path, fill)
    assert header == ["patient_id", "age", "treatment_start"]
    assert body.shape == (2, 3)
    assert body[0].tolist() == ["P01", 51, dt.date(2015, 3, 2)]
    assert body[1, 0] == "P02" and body[1, 1] == 47.5 and body[1, 2] in ("", None)


def test_an_empty_column_a_and_an_empty_row_2_keep_their_places(tmp_path):
    # The used area starts at B1 and row 2 is blank: column B stays position 1 and the value
    # of sheet row 3 stays body row 1 (sheet row = body row + 2).
    def fill(sheet):
        sheet["B1"], sheet["C1"] = "patient_id", "age"
        sheet["B3"], sheet["C3"] = "P01", 60
        sheet["C5"] = 70

    header, body = _read(tmp_path, fill)
    assert header[1:] == ["patient_id", "age"] and header[0] in ("", None)
    assert body.shape == (4, 3)
    assert body[1, 1:].tolist() == ["P01", 60]
    assert body[3, 2] == 70
    assert all(v in ("", None) for v in body[0].tolist() + body[2].tolist() + [body[3, 1]])


def test_an_empty_sheet_has_no_header(tmp_path):
    header, body = _read(tmp_path, lambda sheet: None)
    assert header == [] and body.shape == (0, 0)


def test_a_parquet_column_pandas_cannot_convert_is_read_as_values(tmp_path, monkeypatch):
    # pyarrow refuses some nested columns when converting to pandas (ArrowNotImplementedError);
    # the table is then read as python values so each cell is named, not the file refused.
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from poems_cohort.cohort.readers import _read_parquet

    path = tmp_path / "patients.parquet"
    pq.write_table(pa.table({"patient_id": [["P01"], ["P02", "P03"]], "age": [51.0, None]}),
                   path)

    def refuse(*args, **kwargs):
        raise pa.lib.ArrowNotImplementedError("nested data conversions not implemented")

    monkeypatch.setattr(pd, "read_parquet", refuse)
    frame = _read_parquet(path)
    assert list(frame.columns) == ["patient_id", "age"]
    assert list(frame.index) == [1, 2]
    assert frame.loc[2, "patient_id"] == ["P02", "P03"]
    assert frame.loc[1, "age"] == 51.0 and frame.loc[2, "age"] is None
