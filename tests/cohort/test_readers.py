"""Loaders (CSV, Excel, SPSS, Parquet, folder), row numbering, column names and mapping files."""

import datetime as dt
import os
import re
import zipfile

import numpy as np
import pandas as pd
import pyreadstat
import pytest
from openpyxl import Workbook

from poems_cohort.cohort import ColumnMapping, load_cohort, read_cohort, read_mapping
from poems_cohort.cohort.columns import COLUMNS, VISIT_COLUMNS, lookup, normalize_name
from poems_cohort.errors import InputError

from .conftest import EXAMPLE


def errors_of(call):
    with pytest.raises(InputError) as caught:
        call()
    return [p for p in caught.value.problems if p.severity == "error"]


def typed(patients: pd.DataFrame) -> pd.DataFrame:
    """The example's patients with native types, as a database export would hold them."""
    out = patients.copy()
    for column in COLUMNS:
        if column.name not in out:
            continue
        text = out[column.name].replace("", None)
        if column.kind == "number":
            out[column.name] = pd.to_numeric(text)
        elif column.kind == "date":
            out[column.name] = pd.to_datetime(text)
        elif column.kind == "boolean":
            out[column.name] = text.map({"yes": True, "no": False}).astype("boolean")
    return out


# --- column names -----------------------------------------------------------------------------


@pytest.mark.parametrize("header, expected", [
    ("Patient ID", "patient_id"), ("patient-id", "patient_id"), ("  AGE ", "age"),
    ("Treatment.Start", "treatment_start"), ("last  follow-up", "last_follow_up"),
])
def test_headers_are_normalised(header, expected):
    assert normalize_name(header) == expected


def test_no_alias_points_to_two_columns():
    for columns in (COLUMNS, VISIT_COLUMNS):
        seen = {}
        for column in columns:
            for key in (column.name, *column.aliases):
                assert seen.setdefault(normalize_name(key), column.name) == column.name, key
        assert lookup(columns)["gender" if columns is COLUMNS else "date"] in ("sex", "visit_date")


def test_aliases_and_case_variants_are_recognised(patients, write):
    renamed = patients.rename(columns={"patient_id": "ID", "sex": "Gender", "age": "Age Years",
                                       "regimen": "First-Line Regimen",
                                       "treatment_start": "start_date", "vegf_pg_ml": "VEGF",
                                       "death_date": "dead_date"})
    cohort = load_cohort(write(renamed))
    assert cohort.patients["patient_id"].tolist()[:2] == ["P01", "P02"]
    assert cohort.patients.loc[0, "vegf_pg_ml"] == 4820.0
    assert cohort.patients.loc[0, "treatment_start"] == pd.Timestamp("2013-03-12")


def test_unknown_columns_are_ignored_with_a_warning(patients, visits, write):
    patients["hospital_ward"] = "7B"
    cohort = load_cohort(write(patients, visits))
    assert "hospital_ward" not in cohort.patients
    [warning] = cohort.warnings
    assert (warning.column, warning.row, warning.severity) == ("hospital_ward", None, "warning")
    assert "ignored" in warning.expected


def test_optional_columns_absent_from_the_file_are_all_missing(patients, write):
    patients = patients.drop(columns=["polyneuropathy", "egfr"])
    cohort = load_cohort(write(patients))
    assert cohort.patients["polyneuropathy"].isna().all()
    assert cohort.patients["polyneuropathy"].dtype == "boolean"
    assert cohort.patients["egfr"].isna().all()
    assert cohort.patients["egfr"].dtype == "float64"
    assert cohort.patients["crh_date"].dtype == "datetime64[ns]"
    assert cohort.patients["death_cause"].dtype == "object"


def test_every_missing_required_column_is_reported(patients, write):
    problems = errors_of(lambda: load_cohort(write(patients.drop(columns=["sex", "onls"]))))
    assert [(p.column, p.row) for p in problems] == [("sex", None), ("onls", None)]
    assert problems[0].expected == "a required column 'sex' (or one of: gender)"


# --- mapping files ----------------------------------------------------------------------------


def test_toml_mapping_renames_columns_and_adds_regimen_aliases(patients, write, tmp_path):
    patients = patients.rename(columns={"regimen": "Tx", "onls": "neuro score"})
    patients.loc[0, "Tx"] = "HDM-ASCT"
    mapping = tmp_path / "map.toml"
    mapping.write_text('[columns]\nTx = "regimen"\n"Neuro Score" = "onls"\n\n'
                       '[regimens]\n"hdm-asct" = "ASCT"\n', encoding="utf-8")
    cohort = load_cohort(write(patients), mapping=mapping)
    assert cohort.patients.loc[0, "regimen"] == "ASCT"
    assert cohort.patients.loc[0, "onls"] == 4.0


def test_csv_mapping_and_dict_mapping(patients, write, tmp_path):
    patients = patients.rename(columns={"regimen": "Tx"})
    mapping = tmp_path / "map.csv"
    mapping.write_text("source,canonical\nTx,regimen\n", encoding="utf-8")
    folder = write(patients)
    assert load_cohort(folder, mapping=mapping).regimen_counts()["ASCT"] == 4
    assert load_cohort(folder, mapping={"tx": "regimen"}).regimen_counts()["ASCT"] == 4
    assert read_mapping(mapping)[0] == ColumnMapping({"Tx": "regimen"}, {})


def test_a_mapping_to_an_unknown_name_or_regimen_is_reported(tmp_path, patients, write):
    mapping = tmp_path / "map.toml"
    mapping.write_text('[columns]\nTx = "regime"\n[regimens]\nRVd = "VRd"\n', encoding="utf-8")
    problems = errors_of(lambda: load_cohort(write(patients), mapping=mapping))
    assert [(p.column, p.value, p.expected) for p in problems] == [
        ("Tx", "regime", "a canonical column name of the data dictionary"),
    ]  # RVd = "VRd" is a valid alias: any regimen name is


def test_bad_mapping_files(tmp_path):
    broken = tmp_path / "map.csv"
    broken.write_text("source,canonical\nTx\n", encoding="utf-8")
    [problem] = read_mapping(broken)[1]
    assert (problem.row, problem.expected) == (2, "two fields: source,canonical")
    assert read_mapping(tmp_path / "nope.toml")[1][0].expected == "an existing mapping file"
    odd = tmp_path / "map.json"
    odd.write_text("{}", encoding="utf-8")
    assert read_mapping(odd)[1][0].expected == "a mapping file ending in .toml or .csv"
    bad = tmp_path / "bad.toml"
    bad.write_text("x = = 1", encoding="utf-8")
    assert read_mapping(bad)[1][0].expected.startswith("a mapping file written in valid TOML")


# --- CSV --------------------------------------------------------------------------------------


def test_csv_rows_are_line_numbers_despite_blank_and_multiline_records(patients, tmp_path):
    path = tmp_path / "patients.csv"
    lines = patients.to_csv(index=False, lineterminator="\n").splitlines()
    lines[1] = lines[1].replace("P01,M,", 'P01,"M",', 1)
    lines.insert(2, "")  # a blank line: line 4 is now the second patient
    lines[3] = lines[3].replace("P02,F,35,ASCT", 'P02,"F\nX",35,ASCT', 1)  # spans lines 4-5
    lines[4] = lines[4].replace("2015-01-20,6,", "2015-01-20,x,", 1)  # P03 sits on line 6
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    problems = errors_of(lambda: load_cohort(path))
    assert [(p.row, p.column, p.value) for p in problems] == [
        (4, "sex", "F\nX"), (6, "onls", "x")]


def test_csv_with_a_byte_order_mark_and_missing_markers(patients, tmp_path):
    patients.loc[0, "spe_g_l"] = "NA"
    patients.loc[1, "albumin_g_l"] = "n/a"
    path = tmp_path / "patients.csv"
    path.write_bytes(b"\xef\xbb\xbf" + patients.to_csv(index=False).encode())
    cohort = load_cohort(path)
    assert np.isnan(cohort.patients.loc[0, "spe_g_l"])
    assert np.isnan(cohort.patients.loc[1, "albumin_g_l"])


def test_a_single_csv_file_has_no_visits_table():
    cohort = load_cohort(EXAMPLE / "patients.csv")
    assert cohort.visits is None
    assert str(cohort.source).endswith("patients.csv")


# --- Excel ------------------------------------------------------------------------------------


def _sheet(workbook: Workbook, title: str, frame: pd.DataFrame, first: bool = False) -> None:
    sheet = workbook.active if first else workbook.create_sheet()
    sheet.title = title
    sheet.append(list(frame.columns))
    for row in frame.itertuples(index=False):
        sheet.append([None if pd.isna(v) else (v.to_pydatetime() if isinstance(v, pd.Timestamp)
                      else (bool(v) if isinstance(v, np.bool_) else v)) for v in row])


def test_excel_workbook_with_native_dates_and_a_visits_sheet(patients, visits, tmp_path):
    workbook = Workbook()
    native = typed(patients)
    _sheet(workbook, "Patients", native.astype(object), first=True)
    visit_frame = visits.assign(visit_date=pd.to_datetime(visits["visit_date"]))
    _sheet(workbook, "visits", visit_frame.astype(object))
    path = tmp_path / "cohort.xlsx"
    workbook.save(path)
    cohort = load_cohort(path)
    expected = load_cohort(EXAMPLE)
    pd.testing.assert_frame_equal(cohort.patients, expected.patients)
    pd.testing.assert_frame_equal(cohort.visits.to_frame(), expected.visits.to_frame())


def test_a_folder_reads_the_visits_sheet_of_a_patients_workbook(patients, visits, tmp_path):
    folder = tmp_path / "cohort"
    folder.mkdir()
    workbook = Workbook()
    _sheet(workbook, "patients", patients.astype(object), first=True)
    _sheet(workbook, "visits", visits.astype(object))
    workbook.save(folder / "patients.xlsx")
    cohort = load_cohort(folder)
    expected = load_cohort(EXAMPLE)
    pd.testing.assert_frame_equal(cohort.visits.to_frame(), expected.visits.to_frame())
    visits.to_csv(folder / "visits.csv", index=False)
    [problem] = errors_of(lambda: load_cohort(folder))
    assert problem.file == str(folder)
    assert problem.value == f"visits.csv, {folder / 'patients.xlsx'} [sheet visits]"
    assert "visits in one place only" in problem.expected


def test_excel_rows_are_sheet_rows_and_blank_rows_are_skipped(patients, tmp_path):
    workbook = Workbook()
    frame = patients.astype(object)
    _sheet(workbook, "patients", frame, first=True)
    sheet = workbook["patients"]
    sheet.insert_rows(3)  # blank sheet row 3: P02 moves to row 4
    sheet.cell(row=5, column=frame.columns.get_loc("age") + 1, value="old")
    path = tmp_path / "cohort.xlsx"
    workbook.save(path)
    problems = errors_of(lambda: load_cohort(path))
    assert [(p.file, p.row, p.column, p.value) for p in problems] == [
        (f"{path} [sheet patients]", 5, "age", "old")]


def test_excel_with_a_stale_dimension_record_loads_every_row(patients, tmp_path):
    workbook = Workbook()
    _sheet(workbook, "patients", patients.astype(object), first=True)
    saved = tmp_path / "saved.xlsx"
    workbook.save(saved)
    path = tmp_path / "cohort.xlsx"
    with zipfile.ZipFile(saved) as source, zipfile.ZipFile(path, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                edited = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:B2"', data)
                assert edited != data
                data = edited
            target.writestr(item, data)
    cohort = load_cohort(path)
    assert cohort.patients["patient_id"].tolist() == load_cohort(EXAMPLE).patients[
        "patient_id"].tolist()
    pd.testing.assert_frame_equal(cohort.patients, load_cohort(EXAMPLE / "patients.csv").patients)


def test_csv_lines_with_a_wrong_number_of_fields_are_each_reported(patients, tmp_path):
    lines = patients.to_csv(index=False).splitlines()
    spe = patients.columns.get_loc("spe_g_l")
    cells = lines[2].split(",")
    cells[spe] = "31,5"  # P02, line 3: an unquoted decimal comma
    lines[2] = ",".join(cells)
    lines[5] = ",".join(lines[5].split(",")[:6])  # P05, line 6: cut short
    cells = lines[8].split(",")
    cells[patients.columns.get_loc("age")] = "old"  # P08, line 9: an ordinary bad cell
    lines[8] = ",".join(cells)
    path = tmp_path / "patients.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    problems = errors_of(lambda: load_cohort(path))
    assert [(p.row, p.column, p.expected) for p in problems] == [
        (3, None, "40 fields as in the header, found 41 (an unquoted comma?)"),
        (6, None, "40 fields as in the header, found 6 (a line cut short?)"),
        (9, "age", "a number (decimal point '.', no units)"),
    ]
    assert problems[1].value == lines[5]


def test_excel_without_a_patients_sheet(tmp_path, patients):
    workbook = Workbook()
    _sheet(workbook, "data", patients.astype(object), first=True)
    path = tmp_path / "cohort.xlsx"
    workbook.save(path)
    [problem] = errors_of(lambda: load_cohort(path))
    assert (problem.value, problem.expected) == ("data", "a sheet named 'patients'")


def test_an_empty_patients_sheet_is_reported(tmp_path):
    workbook = Workbook()
    workbook.active.title = "patients"
    path = tmp_path / "cohort.xlsx"
    workbook.save(path)
    [problem] = errors_of(lambda: load_cohort(path))
    assert problem.expected == "a non-empty sheet with a header row"


# --- SPSS and Parquet -------------------------------------------------------------------------


def test_spss_value_labels_are_applied_and_records_count_from_one(patients, tmp_path):
    native = typed(patients)
    native["sex"] = native["sex"].map({"M": 1.0, "F": 2.0})
    for column in [c.name for c in COLUMNS if c.kind == "boolean" and c.name in native]:
        native[column] = native[column].astype("float64")
    native.loc[2, "bmpc_pct"] = -1.0
    path = tmp_path / "patients.sav"
    pyreadstat.write_sav(native, str(path), variable_value_labels={"sex": {1: "M", 2: "F"}})
    problems = errors_of(lambda: load_cohort(path))
    assert [(p.row, p.column, p.value) for p in problems] == [(3, "bmpc_pct", -1.0)]
    native.loc[2, "bmpc_pct"] = 4.0
    pyreadstat.write_sav(native, str(path), variable_value_labels={"sex": {1: "M", 2: "F"}})
    cohort = load_cohort(path)
    assert cohort.patients["sex"].tolist()[:3] == ["M", "F", "M"]
    assert cohort.patients.loc[4, "death_date"] == pd.Timestamp("2016-09-03")
    assert cohort.patients.loc[0, "hepatomegaly"] is np.True_


def _statistics_package_native(patients: pd.DataFrame) -> pd.DataFrame:
    """The example's patients as a statistics package holds them: sex coded 1/2, yes/no as
    0/1, dates as dates."""
    native = typed(patients)
    native["sex"] = native["sex"].map({"M": 1.0, "F": 2.0})
    for column in [c.name for c in COLUMNS if c.kind == "boolean" and c.name in native]:
        native[column] = native[column].astype("float64")
    return native


@pytest.mark.parametrize("suffix", [".dta", ".sas7bdat", ".xpt"])
def test_stata_and_sas_files_are_read_like_spss(patients, tmp_path, suffix):
    """Dates by their display format, missing values as blanks, Stata's value labels applied
    (SAS keeps labels in a separate catalog, not read: the codes are validated as they are,
    so a coded sex is refused there and must be given as text)."""
    native = _statistics_package_native(patients)
    path = tmp_path / f"patients{suffix}"
    labels = {"sex": {1: "M", 2: "F"}}

    def write(frame: pd.DataFrame) -> None:
        if suffix == ".dta":
            pyreadstat.write_dta(frame, str(path), variable_value_labels=labels)
        elif suffix == ".sas7bdat":
            pyreadstat.write_sas7bdat(frame, str(path))
        else:
            pyreadstat.write_xport(frame, str(path), file_format_version=8)

    if suffix != ".dta":
        native["sex"] = patients["sex"]
    native.loc[2, "bmpc_pct"] = -1.0
    native.loc[3, "age"] = np.nan
    write(native)
    problems = errors_of(lambda: load_cohort(path))
    assert [(p.row, p.column, p.value) for p in problems] == [(3, "bmpc_pct", -1.0)]
    native.loc[2, "bmpc_pct"] = 4.0
    write(native)
    cohort = load_cohort(path)
    expected = load_cohort(EXAMPLE / "patients.csv").patients
    assert cohort.patients["sex"].tolist() == expected["sex"].tolist()
    assert cohort.patients["death_date"].equals(expected["death_date"])
    assert cohort.patients.loc[0, "hepatomegaly"] is np.True_
    assert pd.isna(cohort.patients.loc[3, "age"])


def test_a_date_stored_as_a_plain_number_in_stata_is_refused(patients, tmp_path):
    native = _statistics_package_native(patients)
    native["treatment_start"] = (native["treatment_start"] - pd.Timestamp("1960-01-01")).dt.days
    path = tmp_path / "patients.dta"
    pyreadstat.write_dta(native, str(path), variable_value_labels={"sex": {1: "M", 2: "F"}})
    problems = errors_of(lambda: load_cohort(path))
    assert {p.column for p in problems} == {"treatment_start"}
    assert len(problems) == len(native)


@pytest.mark.parametrize("suffix", [".dta", ".sas7bdat", ".xpt"])
def test_an_unreadable_stata_or_sas_file_is_named(tmp_path, suffix):
    path = tmp_path / f"patients{suffix}"
    path.write_bytes(b"not a statistics package's file")
    [problem] = errors_of(lambda: load_cohort(path))
    assert problem.expected.startswith("a readable ")
    assert ("Stata" if suffix == ".dta" else "SAS") in problem.expected


def test_parquet_with_native_types(patients, tmp_path):
    native = typed(patients)
    native.loc[3, "treatment_start"] = pd.NaT
    path = tmp_path / "patients.parquet"
    native.to_parquet(path)
    cohort = load_cohort(path)
    assert pd.isna(cohort.patients.loc[3, "treatment_start"])
    assert cohort.patients.loc[0, "age"] == 42.0
    native.loc[6, "onls"] = 20.0
    native.to_parquet(path)
    [problem] = errors_of(lambda: load_cohort(path))
    assert (problem.row, problem.column, problem.value) == (7, "onls", 20.0)


def test_folder_mixing_formats(patients, visits, tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    typed(patients).to_parquet(folder / "patients.parquet")
    visits.to_csv(folder / "visits.csv", index=False)
    assert len(load_cohort(folder).visits) == 30


def test_folder_with_two_patients_files(patients, tmp_path):
    folder = tmp_path / "twice"
    folder.mkdir()
    patients.to_csv(folder / "patients.csv", index=False)
    typed(patients).to_parquet(folder / "Patients.parquet")
    [problem] = errors_of(lambda: load_cohort(folder))
    assert problem.expected == "a single patients.* file in the folder"
    assert problem.value == "Patients.parquet, patients.csv"


# --- file-level problems ----------------------------------------------------------------------


def test_missing_path_and_unreadable_files(tmp_path):
    [missing] = errors_of(lambda: load_cohort(tmp_path / "nope.csv"))
    assert missing.expected == "an existing file or folder"
    garbage = tmp_path / "patients.parquet"
    garbage.write_bytes(b"not parquet")
    [problem] = errors_of(lambda: load_cohort(garbage))
    assert problem.expected.startswith("a readable Parquet file")
    sav = tmp_path / "patients.sav"
    sav.write_bytes(b"not spss")
    [problem] = errors_of(lambda: load_cohort(sav))
    assert problem.expected.startswith("a readable SPSS .sav file")


def test_read_cohort_returns_raw_cells_with_user_row_numbers():
    raw = read_cohort(EXAMPLE)
    assert raw.patients.frame.index[0] == 2
    assert raw.patients.frame.at[2, "age"] == "42"
    assert raw.visits.headers["visit_date"] == "visit_date"


def test_read_cohort_raises_on_file_level_problems(tmp_path):
    empty = tmp_path / "patients.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(InputError, match="a non-empty file"):
        read_cohort(empty)


def test_loading_never_modifies_the_input_files(patients, visits, tmp_path, write):
    folder = write(patients, visits)
    mapping = tmp_path / "map.csv"
    mapping.write_text("source,canonical\n", encoding="utf-8")
    workbook = Workbook()
    _sheet(workbook, "patients", patients.astype(object), first=True)
    workbook.save(tmp_path / "cohort.xlsx")
    files = [folder / "patients.csv", folder / "visits.csv", mapping, tmp_path / "cohort.xlsx"]
    before = {f: (f.read_bytes(), os.stat(f).st_mtime_ns) for f in files}
    load_cohort(folder, mapping=mapping)
    load_cohort(tmp_path / "cohort.xlsx")
    patients.loc[0, "age"] = "bad"
    (folder / "patients.csv").write_text(patients.to_csv(index=False), encoding="utf-8")
    before[folder / "patients.csv"] = ((folder / "patients.csv").read_bytes(),
                                       os.stat(folder / "patients.csv").st_mtime_ns)
    with pytest.raises(InputError):
        load_cohort(folder)
    assert {f: (f.read_bytes(), os.stat(f).st_mtime_ns) for f in files} == before
    assert sorted(p.name for p in folder.iterdir()) == ["patients.csv", "visits.csv"]


def test_dates_in_excel_text_cells_and_times_at_midnight(patients, tmp_path):
    workbook = Workbook()
    frame = patients.astype(object)
    frame.loc[0, "treatment_start"] = dt.datetime(2013, 3, 12, 0, 0)
    frame.loc[1, "treatment_start"] = "2014-09-01 00:00:00"
    _sheet(workbook, "patients", frame, first=True)
    path = tmp_path / "c.xlsx"
    workbook.save(path)
    starts = load_cohort(path).patients["treatment_start"]
    assert starts[:2].tolist() == [pd.Timestamp("2013-03-12"), pd.Timestamp("2014-09-01")]
