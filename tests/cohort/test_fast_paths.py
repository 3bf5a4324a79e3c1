"""Whole-column reading and checking: every way into the readers and converters gives the same
table, row numbers and problems, whichever path a file or a column takes."""

import csv

import numpy as np
import pandas as pd
import pytest

from poems_cohort.cohort import load_cohort, read_cohort
from poems_cohort.cohort.readers import (
    ColumnMapping,
    RawCohort,
    _canonical_table,
    _read_csv,
    _read_plain_csv,
)
from poems_cohort.cohort.validation import _validate
from poems_cohort.errors import InputError

from .conftest import EXAMPLE


def errors_of(path, **kwargs):
    with pytest.raises(InputError) as caught:
        load_cohort(path, **kwargs)
    return [(p.row, p.column, p.value, p.expected) for p in caught.value.problems
            if p.severity == "error"]


def _write(path, frame, **options):
    frame.to_csv(path, index=False, **options)
    return path


@pytest.mark.parametrize("options", [
    {}, {"lineterminator": "\r\n"}, {"quoting": csv.QUOTE_ALL},
    {"quoting": csv.QUOTE_ALL, "lineterminator": "\r\n"},
])
def test_plain_and_quoted_csv_files_read_alike(patients, tmp_path, options):
    path = _write(tmp_path / "patients.csv", patients, **options)
    frame, broken = _read_csv(path)
    expected = pd.read_csv(EXAMPLE / "patients.csv", dtype=str, keep_default_na=False)
    assert broken == {}
    assert frame.index.tolist() == list(range(2, 12))
    assert frame.columns.tolist() == expected.columns.tolist()
    assert frame.to_numpy().tolist() == expected.to_numpy().tolist()
    assert all(type(v) is str for v in frame.to_numpy().ravel())
    quoted = options.get("quoting") == csv.QUOTE_ALL
    assert (_read_plain_csv(path) is None) == quoted


def test_a_header_only_file_and_a_file_without_a_final_line_end(patients, tmp_path):
    path = tmp_path / "patients.csv"
    path.write_text(",".join(patients.columns) + "\n", encoding="utf-8")
    frame, _ = _read_csv(path)
    assert frame.empty and frame.columns.tolist() == patients.columns.tolist()
    text = patients.to_csv(index=False)
    path.write_text(text.rstrip("\n"), encoding="utf-8")
    assert _read_csv(path)[0].index.tolist() == list(range(2, 12))


@pytest.mark.parametrize("ending", ["\n", "\r\n"])
def test_blank_and_space_lines_keep_line_numbers(patients, tmp_path, ending):
    lines = patients.to_csv(index=False, lineterminator=ending).split(ending)
    lines.insert(3, "   ")  # after P02: P03 moves to line 5
    lines.insert(5, "")  # after P03: P04 moves to line 7
    cells = lines[6].split(",")
    cells[patients.columns.get_loc("age")] = "old"
    lines[6] = ",".join(cells)
    path = tmp_path / "patients.csv"
    path.write_bytes((ending.join(lines) + ending).encode())
    assert _read_plain_csv(path) is None  # blank lines: read by the csv module
    assert errors_of(path) == [(7, "age", "old", "a number (decimal point '.', no units)")]
    assert read_cohort(path).patients.frame.index.tolist() == [2, 3, 5, 7, 8, 9, 10, 11, 12, 13]


def test_a_bare_carriage_return_is_a_line_end_as_for_the_csv_module(patients, tmp_path):
    path = tmp_path / "patients.csv"
    path.write_bytes(patients.to_csv(index=False, lineterminator="\r").encode())
    assert _read_plain_csv(path) is None
    assert read_cohort(path).patients.frame.index.tolist() == list(range(2, 12))


def test_bytes_that_are_not_utf8_are_reported_as_before(patients, tmp_path):
    path = tmp_path / "patients.csv"
    path.write_bytes(patients.to_csv(index=False).encode() + b"P11,M,\xff\n")
    with pytest.raises(InputError) as caught:
        read_cohort(path)
    assert ("a UTF-8 encoded CSV file: line 12, column 'age' holds '\\xff' (invalid start "
            "byte)") in str(caught.value)


def test_repeated_values_are_converted_once_and_spread_back(patients, write):
    many = pd.concat([patients] * 30, ignore_index=True)
    many["patient_id"] = [f"Q{i:04d}" for i in range(len(many))]
    many.loc[[5, 250], "ascites"] = "maybe"
    many.loc[[7, 280], "age"] = "old"
    found = errors_of(write(many))
    assert found == [
        (7, "ascites", "maybe", "yes/no (also y/n, true/false, 1/0) or empty"),
        (9, "age", "old", "a number (decimal point '.', no units)"),
        (252, "ascites", "maybe", "yes/no (also y/n, true/false, 1/0) or empty"),
        (282, "age", "old", "a number (decimal point '.', no units)"),
    ]
    many.loc[[5, 250], "ascites"] = " Yes"
    many.loc[[7, 280], "age"] = "42"
    cohort = load_cohort(write(many))
    assert cohort.patients.loc[[5, 250], "ascites"].tolist() == [True, True]
    assert cohort.patients["ascites"].dtype == "boolean"
    assert cohort.patients["patient_id"].dtype == "object"


def test_numbers_stored_as_numbers_and_mixed_columns(patients, tmp_path):
    native = patients.astype(object)
    native["vegf_pg_ml"] = pd.to_numeric(native["vegf_pg_ml"]).astype(object)
    native.loc[2, "vegf_pg_ml"] = np.inf
    native.loc[4, "age"] = 63  # a number among text
    native.index = pd.RangeIndex(1, len(native) + 1)
    table, problems = _canonical_table(native, "p.parquet", "patients", ColumnMapping())
    assert problems == []
    cohort, found = _validate(RawCohort(tmp_path, table, None), None, None)
    assert cohort is None
    errors = [(p.row, p.column, p.value, p.expected) for p in found if p.severity == "error"]
    assert errors == [(3, "vegf_pg_ml", np.inf, "a finite number")]
    native.loc[3, "vegf_pg_ml"] = 1200.0
    table, _ = _canonical_table(native, "p.parquet", "patients", ColumnMapping())
    cohort, _ = _validate(RawCohort(tmp_path, table, None), None, None)
    assert cohort.patients.loc[4, "age"] == 63.0
    assert cohort.patients["vegf_pg_ml"].dtype == "float64"


def test_visit_rules_use_each_patients_first_row(patients, visits, write):
    """With a duplicated patient_id, visits are judged against the first row of that id."""
    patients.loc[9, "patient_id"] = "P05"  # P05 died 2016-09-03; P10 (now 'P05') in 2017
    p05 = visits.index[visits["patient_id"] == "P05"]
    visits.loc[p05[0], "visit_date"] = "2016-12-01"
    visits = pd.concat([visits, visits.loc[[p05[1]]]], ignore_index=True)  # a repeated visit
    with pytest.raises(InputError) as caught:
        load_cohort(write(patients, visits))
    found = [(p.severity, p.file.rsplit("/", 1)[-1], p.row, p.column, p.expected)
             for p in caught.value.problems if p.row is not None]
    assert ("error", "patients.csv", 11, "patient_id",
            "a unique patient_id (also on row 6)") in found
    assert ("error", "visits.csv", int(p05[0]) + 2, "visit_date",
            "a date on or before the patient's death_date (2016-09-03)") in found
    assert ("warning", "visits.csv", len(visits) + 1, "visit_date",
            f"one visit per patient and date (also on row {int(p05[1]) + 2})") in found
