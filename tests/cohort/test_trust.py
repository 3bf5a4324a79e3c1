"""Never compute on misread data, never a traceback, bounded work (issue 8, input side).

The corpus in tests/bad_inputs holds one file per family; these tests cover what a file in git
cannot hold (FIFOs, devices, unreadable files, caps) and the accepted side of each rule.
"""

import decimal
import os
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openpyxl import Workbook
from typer.testing import CliRunner

from poems_cohort.cli import app
from poems_cohort.cohort import load_cohort, read_mapping, readers, workbook
from poems_cohort.cohort.inputs import label_problem, read_toml, regular_file_problem
from poems_cohort.cohort.validation import identity_key
from poems_cohort.errors import InputError, Problem, Repeats, grouped
from poems_cohort.study.plan import load_plan

from .conftest import EXAMPLE

runner = CliRunner()


def errors_of(call):
    with pytest.raises(InputError) as caught:
        call()
    return [p for p in caught.value.problems if p.severity == "error"]


def save_workbook(path: Path, patients: pd.DataFrame, edit=None) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.title = "patients"
    sheet.append(list(patients.columns))
    for row in patients.itertuples(index=False):
        sheet.append(list(row))
    if edit is not None:
        edit(sheet)
    book.save(path)
    return path


def patch_sheet(path: Path, change) -> None:
    part = "xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(path) as archive:
        items = [(i, archive.read(i.filename)) for i in archive.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in items:
            archive.writestr(info, change(data) if info.filename == part else data)


# --- workbooks --------------------------------------------------------------------------------


def test_a_formula_with_its_saved_result_is_read_as_that_result_with_a_warning(patients,
                                                                               tmp_path):
    column = patients.columns.get_loc("age") + 1  # C
    path = save_workbook(tmp_path / "c.xlsx", patients,
                         lambda s: s.cell(row=2, column=column, value="=40+2"))
    # Excel saves the result beside the formula: <f>40+2</f><v>42</v>
    patch_sheet(path, lambda data: data.replace(b"<f>40+2</f><v></v>", b"<f>40+2</f><v>42</v>")
                .replace(b"<f>40+2</f></c>", b"<f>40+2</f><v>42</v></c>"))
    cohort = load_cohort(path)
    assert cohort.patients.loc[0, "age"] == 42.0
    [warning] = [w for w in cohort.warnings if w.column == "age"]
    assert (warning.row, warning.value) == (2, "=40+2")
    assert "1 cell(s) of this column hold formulas" in warning.expected


def test_a_percent_formatted_number_is_refused_not_read_100_times_too_small(patients,
                                                                           tmp_path):
    """Excel shows 0.083 formatted as a percentage as 8.3% and stores 0.083: read as stored,
    BMPC 8.3% would count as 0.083%. One problem per column names its rows; a literal "%" in
    quotes (no scaling), a text cell of a percent style and an ignored column are not flagged."""
    column = patients.columns.get_loc("bmpc_pct") + 1
    patients["ward"] = "7B"
    ward = len(patients.columns)

    def edit(sheet):
        for row in (2, 3, 4, 7):
            cell = sheet.cell(row=row, column=column)
            cell.value = float(cell.value) / 100
            cell.number_format = "0.0%" if row != 4 else "0%"
        sheet.cell(row=5, column=column).number_format = '0.0"%"'  # a literal sign: no scaling
        sheet.cell(row=6, column=ward).number_format = "0%"  # a column the study does not read
        sheet.cell(row=6, column=ward).value = 0.5

    path = save_workbook(tmp_path / "c.xlsx", patients, edit)
    [problem] = errors_of(lambda: load_cohort(path))
    assert (problem.row, problem.column) == (2, "bmpc_pct")
    assert "4 cell(s) of this column (rows 2-4, 7) are formatted as percentages" in \
        problem.expected
    assert "(shown as " in problem.value
    scan = workbook.scan_sheet(path, workbook.sheets(path)[0])
    assert {(c.row, c.column) for c in scan.percent} == {(2, column), (3, column),
                                                          (4, column), (7, column), (6, ward)}


def test_a_long_numeric_identifier_and_a_true_false_regimen_are_refused(patients, tmp_path):
    """A 19-digit identifier stored as a number is a double (1.234567890123457e+18): written
    back it would be 1234567890123457024, digits nobody typed. A TRUE cell in the regimen
    column would become an arm called "True". Both are errors; a 15-digit number is read."""
    pid = patients.columns.get_loc("patient_id") + 1
    reg = patients.columns.get_loc("regimen") + 1

    def edit(sheet):
        sheet.cell(row=2, column=pid, value=1234567890123456789)
        sheet.cell(row=3, column=pid, value=123456789012345)
        sheet.cell(row=4, column=reg, value=True)

    path = save_workbook(tmp_path / "c.xlsx", patients, edit)
    found = {(p.row, p.column): p for p in errors_of(lambda: load_cohort(path))}
    assert set(found) == {(2, "patient_id"), (4, "regimen")}
    assert "at most 15 digits" in found[2, "patient_id"].expected
    assert "not a TRUE/FALSE" in found[4, "regimen"].expected


def test_a_formula_without_result_in_an_ignored_column_is_not_a_problem(patients, tmp_path):
    patients["ward"] = "7B"
    column = len(patients.columns)
    path = save_workbook(tmp_path / "c.xlsx", patients,
                         lambda s: s.cell(row=3, column=column, value="=A1"))
    cohort = load_cohort(path)
    assert len(cohort) == 10
    assert not [w for w in cohort.warnings if "formula" in w.expected]


def test_workbook_values_keep_their_types_and_sheet_rows(patients, tmp_path):
    typed = patients.copy()
    typed["age"] = pd.to_numeric(typed["age"])
    typed["treatment_start"] = pd.to_datetime(typed["treatment_start"])
    path = save_workbook(tmp_path / "c.xlsx", typed,
                         lambda s: s.insert_rows(5, amount=2))  # two empty rows: 5 and 6
    raw = readers.read_cohort(path)
    frame = raw.patients.frame
    assert frame.index.tolist() == [2, 3, 4, 7, 8, 9, 10, 11, 12, 13]
    assert frame.loc[2, "age"] == 42.0
    assert pd.Timestamp(frame.loc[2, "treatment_start"]) == pd.Timestamp("2013-03-12")
    assert load_cohort(path).patients["patient_id"].tolist() == patients["patient_id"].tolist()


def test_a_sheet_past_the_caps_is_refused_before_reading(patients, tmp_path, monkeypatch):
    path = save_workbook(tmp_path / "c.xlsx", patients)
    monkeypatch.setattr(workbook, "MAX_CELLS", 40 * 10)  # the sheet has 11 rows x 40 columns
    [problem] = errors_of(lambda: load_cohort(path))
    assert "at most 400 cells" in problem.expected and "11 rows × 40 columns" in problem.expected
    monkeypatch.setattr(workbook, "MAX_CELLS", 10**9)
    monkeypatch.setattr(workbook, "MAX_ROWS", 9)
    [problem] = errors_of(lambda: load_cohort(path))
    assert "at most 9 rows" in problem.expected


def test_a_used_area_far_away_is_refused_not_allocated(patients, tmp_path):
    path = save_workbook(tmp_path / "c.xlsx", patients,
                         lambda s: s.cell(row=1_000_000, column=16_000, value="x"))
    [problem] = errors_of(lambda: load_cohort(path))
    assert "1,000,000 rows × 16,000 columns" in problem.expected


def test_a_cell_reference_that_is_not_one_is_a_problem(patients, tmp_path):
    path = save_workbook(tmp_path / "c.xlsx", patients,
                         lambda s: s.merge_cells("B2:B3"))
    patch_sheet(path, lambda data: data.replace(b'ref="B2:B3"', b'ref="?2:B3"'))
    [problem] = errors_of(lambda: load_cohort(path))
    assert "a cell reference '?2' is malformed" in problem.expected


def test_a_sheet_cut_anywhere_never_crashes(patients, tmp_path):
    path = save_workbook(tmp_path / "c.xlsx", patients)
    with zipfile.ZipFile(path) as archive:
        whole = archive.read("xl/worksheets/sheet1.xml")
    for cut in (0, 10, len(whole) // 3, len(whole) - 20, len(whole) - 1):
        target = tmp_path / f"cut{cut}.xlsx"
        target.write_bytes(path.read_bytes())
        patch_sheet(target, lambda data, n=cut: data[:n])
        assert errors_of(lambda t=target: load_cohort(t))


# --- files that are not regular files ---------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_is_refused_without_blocking(patients, tmp_path):
    folder = tmp_path / "cohort"
    folder.mkdir()
    os.mkfifo(folder / "patients.csv")
    [problem] = errors_of(lambda: load_cohort(folder))
    assert problem.expected == "a file (a regular file), not a named pipe (FIFO)"
    [problem] = errors_of(lambda: load_cohort(folder / "patients.csv"))
    assert "named pipe" in problem.expected
    os.mkfifo(tmp_path / "plan.toml")
    [problem] = errors_of(lambda: load_plan(tmp_path / "plan.toml"))
    assert problem.expected == "a plan file (a regular file), not a named pipe (FIFO)"
    os.mkfifo(tmp_path / "map.toml")
    [problem] = errors_of(lambda: load_cohort(EXAMPLE, mapping=tmp_path / "map.toml"))
    assert problem.expected == "a mapping file (a regular file), not a named pipe (FIFO)"


def test_a_device_is_refused(tmp_path):
    folder = tmp_path / "cohort"
    folder.mkdir()
    (folder / "patients.csv").symlink_to("/dev/zero")
    [problem] = errors_of(lambda: load_cohort(folder))
    assert problem.expected == "a file (a regular file), not a device"
    [problem] = errors_of(lambda: load_cohort("/dev/zero"))
    assert problem.expected.startswith("a supported input")
    [problem] = errors_of(lambda: load_plan("/dev/zero"))
    assert problem.expected == "a plan file (a regular file), not a device"


def test_a_folder_named_like_an_input_and_a_broken_link_are_problems(tmp_path):
    folder = tmp_path / "cohort"
    (folder / "patients.csv").mkdir(parents=True)
    assert errors_of(lambda: load_cohort(folder))
    os.rmdir(folder / "patients.csv")
    (folder / "patients.csv").symlink_to(tmp_path / "nowhere.csv")
    [problem] = errors_of(lambda: load_cohort(folder))
    assert problem.expected == "an existing file"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="permissions do not apply to root")
def test_an_unreadable_file_in_a_readable_folder(patients, write):
    folder = write(patients)
    (folder / "patients.csv").chmod(0)
    try:
        [problem] = errors_of(lambda: load_cohort(folder))
    finally:
        (folder / "patients.csv").chmod(0o644)
    assert "permission denied" in problem.expected


def test_an_unreadable_file_as_any_user(patients, write, monkeypatch):
    """The same refusal when the permission check (or a later open) fails, even for root."""
    folder = write(patients)
    monkeypatch.setattr("poems_cohort.cohort.inputs.os.access", lambda *a: False)
    [problem] = errors_of(lambda: load_cohort(folder))
    assert problem.expected == "a file the user may read (permission denied)"
    monkeypatch.undo()

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", refuse)
    monkeypatch.setattr(Path, "open", refuse)
    [problem] = errors_of(lambda: load_cohort(folder))
    assert problem.expected == "a file that can be read (Permission denied)"


def test_regular_file_problem_names_what_was_expected(tmp_path):
    assert regular_file_problem(tmp_path / "x.csv").expected == "an existing file"
    assert regular_file_problem(tmp_path).expected == "a file, not a folder"
    (tmp_path / "ok.csv").write_text("a\n")
    assert regular_file_problem(tmp_path / "ok.csv") is None


# --- TOML, labels -------------------------------------------------------------------------------


def test_toml_with_a_byte_order_mark_is_read(tmp_path):
    plan = tmp_path / "plan.toml"
    plan.write_bytes(b"\xef\xbb\xbftest_policy = \"exact\"\n")
    assert load_plan(plan).test_policy == "exact"
    mapping = tmp_path / "map.toml"
    mapping.write_bytes("\ufeff[columns]\nTx = \"regimen\"\n".encode())
    assert read_mapping(mapping)[0].columns == {"Tx": "regimen"}


@pytest.mark.parametrize("text, expected", [
    ("x = " + "9" * 5000 + "\n", "written in valid TOML"),
    ("x = " + "{a = " * 3000 + "1" + "}" * 3000 + "\n", "nested at most"),
    ("x = 9223372036854775808\n", "64-bit range"),
    ("x = -9223372036854775809\n", "64-bit range"),
    ("x = [[1, 99999999999999999999]]\n", "64-bit range"),
    ("x = \"\\ud800\"\n", "written in valid TOML"),
])
def test_hostile_toml_is_a_problem(tmp_path, text, expected):
    path = tmp_path / "x.toml"
    path.write_text(text, encoding="utf-8")
    [problem] = errors_of(lambda: read_toml(path))
    assert expected in problem.expected


def test_toml_integer_bounds_are_the_64_bit_range(tmp_path):
    path = tmp_path / "x.toml"
    path.write_text("a = 9223372036854775807\nb = -9223372036854775808\n", encoding="utf-8")
    assert read_toml(path) == {"a": 2**63 - 1, "b": -(2**63)}


def test_a_big_toml_file_is_refused(tmp_path):
    path = tmp_path / "x.toml"
    path.write_text("# " + "x" * 1_000_001 + "\n", encoding="utf-8")
    [problem] = errors_of(lambda: read_toml(path))
    assert "at most 1,000,000 bytes" in problem.expected


@pytest.mark.parametrize("label, ok", [
    ("Medium-high", True), ("$\\alpha$ risk", True), ("élevé", True), ("高", True),
    ("a\tb", False), ("a\nb", False), ("a\x00", False), ("a\u200bb", False),
    ("a\u202eb", False), ("a\u2028b", False), ("", False), ("   ", False), ("x" * 201, False),
])
def test_labels(label, ok):
    assert (label_problem(label) is None) == ok


def test_a_mathtext_subgroup_name_is_accepted_and_a_control_character_refused(tmp_path):
    plan = tmp_path / "plan.toml"
    plan.write_text('figure_subgroups = ["all"]\nsupplementary_subgroup = "all"\n'
                    '[subgroups]\nall = "all"\n"$x^2$" = ["low"]\n', encoding="utf-8")
    assert [s.name for s in load_plan(plan).subgroups] == ["all", "$x^2$"]
    plan.write_text('figure_subgroups = ["all"]\nsupplementary_subgroup = "all"\n'
                    '[subgroups]\nall = "all"\n"low\\r" = ["low"]\n', encoding="utf-8")
    [problem] = errors_of(lambda: load_plan(plan))
    assert (problem.column, problem.value) == ("subgroups", "low\r")


# --- regimen aliases ----------------------------------------------------------------------------


def test_regimen_aliases_cannot_swap_arms_however_given():
    problems = errors_of(lambda: load_cohort(EXAMPLE, regimen_aliases={"ldex": "ASCT"}))
    assert [(p.column, p.value) for p in problems] == [("ldex", "ASCT")]
    assert "already means LDex" in problems[0].expected
    cohort = load_cohort(EXAMPLE, regimen_aliases={" LDEX ": "LDex", "HDM-ASCT": "ASCT"})
    assert cohort.regimen_counts() == {"ASCT": 4, "MDex": 3, "LDex": 3}


# --- Parquet ----------------------------------------------------------------------------------


def test_parquet_decimal_columns_are_numbers(patients, tmp_path):
    table = pa.Table.from_pandas(patients, preserve_index=False)
    labs = ["age", "vegf_pg_ml", "albumin_g_l"]
    for name in labs:
        values = [None if v == "" else decimal.Decimal(v) for v in patients[name]]
        index = table.schema.get_field_index(name)
        table = table.set_column(index, name, pa.array(values, type=pa.decimal128(12, 2)))
    pq.write_table(table, tmp_path / "patients.parquet")
    cohort = load_cohort(tmp_path / "patients.parquet")
    expected = load_cohort(EXAMPLE).patients
    for name in labs:
        assert cohort.patients[name].dtype == np.float64
        np.testing.assert_array_equal(cohort.patients[name], expected[name])


# --- identifiers ------------------------------------------------------------------------------


@pytest.mark.parametrize("a, b", [("P01", "p01"), ("P01", "Ｐ０１"), ("straße", "STRASSE"),
                                  ("Å1", "A\u030a1"), ("ID\u00ad7", "id7")])
def test_identity_keys_fold_case_width_and_invisible_characters(a, b):
    assert identity_key(a) == identity_key(b)


def test_identifiers_that_differ_only_in_case_are_one_patient_twice(patients, write):
    patients.loc[3, "patient_id"] = "p01"
    [problem] = errors_of(lambda: load_cohort(write(patients)))
    assert (problem.row, problem.value) == (5, "p01")


def test_numeric_identifiers_are_text_and_booleans_are_not_identifiers(patients, tmp_path):
    frame = patients.copy()
    frame["patient_id"] = np.arange(1, 11)
    frame.to_parquet(tmp_path / "p.parquet")
    assert load_cohort(tmp_path / "p.parquet").patients["patient_id"].tolist()[:2] == ["1", "2"]
    frame["patient_id"] = [True] * 10
    frame.to_parquet(tmp_path / "b.parquet")
    problems = errors_of(lambda: load_cohort(tmp_path / "b.parquet"))
    assert {p.expected for p in problems} == {"an identifier: text or a whole number"}


# --- caps, grouping ---------------------------------------------------------------------------


def test_a_csv_past_the_column_cap_is_one_problem(patients, tmp_path):
    wide = tmp_path / "wide.csv"
    header = ",".join(patients.columns) + "".join(f",x{i}" for i in range(16_384))
    wide.write_text(header + "\n", encoding="utf-8")
    [problem] = errors_of(lambda: load_cohort(wide))
    assert "at most 16,384 columns" in problem.expected


def test_a_csv_has_no_row_cap_but_a_column_cap(patients, write, monkeypatch):
    """Excel's row limit is a workbook's; a registry's CSV may hold more rows: columns, not
    rows, are capped (a 10-row table is read on both CSV paths)."""
    monkeypatch.setattr(readers, "MAX_COLUMNS", 200)
    folder = write(patients)
    assert len(load_cohort(folder).patients) == 10
    (folder / "patients.csv").write_text(
        (folder / "patients.csv").read_text().replace("P01,", '"P01",'))  # the csv module path
    assert len(load_cohort(folder).patients) == 10
    monkeypatch.setattr(readers, "MAX_COLUMNS", 5)
    [problem] = errors_of(lambda: load_cohort(folder))
    assert "found 10 rows" in problem.expected and "at most 5 columns" in problem.expected


def test_grouped_keeps_order_and_summarises_each_kind():
    many = [Problem("f", r, "c", "v", "one of A, B") for r in range(2, 30)]
    other = Problem("f", 1, "d", None, "something else")
    items = grouped([many[0], other, *many[1:]], shown=3)
    assert items[:4] == [many[0], other, many[1], many[2]]
    assert isinstance(items[4], Repeats) and items[4].count == 25
    assert str(items[4]) == "... and 25 more problems like this in f (one of A, B)"
    assert len(items) == 5
    assert grouped(many[:3], shown=3) == many[:3]


def test_many_unknown_columns_print_a_bounded_list(patients, write, tmp_path, monkeypatch):
    for i in range(2_000):
        patients[f"extra_{i}"] = ""
    folder = write(patients)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["validate", str(folder)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) < 30
    assert "and 1,990 more warnings like this" in result.stdout
    cohort = load_cohort(folder)
    assert sum("ignored" in w.expected for w in cohort.warnings) == 2_000  # every one is kept


def test_many_bad_cells_print_a_bounded_list_and_exit_2(patients, write, tmp_path):
    rows = pd.concat([patients] * 300, ignore_index=True)
    rows["patient_id"] = [f"P{i:04d}" for i in range(len(rows))]
    rows["sex"] = "X"  # not a category of the dictionary
    result = runner.invoke(app, ["validate", str(write(rows))])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "3000 problem(s) found" in result.stderr
    assert len(result.stderr.splitlines()) < 20
    assert re.search(r"and 2,990 more problems like this", result.stderr)


# --- derive --cutoff --------------------------------------------------------------------------


def test_derive_refuses_a_cutoff_before_every_treatment_start_as_run_does(tmp_path):
    from poems_cohort.workflow import compute as compute_run

    out = tmp_path / "analysis.csv"
    result = runner.invoke(app, ["derive", str(EXAMPLE), "--out", str(out),
                                 "--cutoff", "2000-01-01"])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert not out.exists()
    [line] = [x for x in result.stderr.splitlines() if x.strip().startswith("error:")]
    [ran] = errors_of(lambda: compute_run(EXAMPLE, cutoff=pd.Timestamp("2000-01-01").date()))
    assert "none was included" in ran.expected
    assert line.endswith(" — " + ran.expected)


def test_problem_values_that_are_arrays_become_hashable_lists():
    problem = Problem("f", 1, "c", np.array(["a", "b"]), "x")
    assert problem.value == ['a', 'b']
    assert hash(problem)


def test_a_path_with_a_nul_character_is_a_problem():
    assert errors_of(lambda: load_cohort("patients\0.csv"))
    [problem] = errors_of(lambda: load_plan("plan\0.toml"))
    assert problem.expected == "a plan file whose name has no NUL character"
    [problem] = errors_of(lambda: load_cohort(EXAMPLE, mapping="map\0.toml"))
    assert problem.expected == "a mapping file whose name has no NUL character"


def test_two_sheets_matching_visits_are_a_problem(patients, visits, tmp_path):
    def add_visits(sheet):
        book = sheet.parent
        for title in ("visits", " VISITS"):
            extra = book.create_sheet(title)
            extra.append(list(visits.columns))
            for row in visits.itertuples(index=False):
                extra.append(list(row))

    path = save_workbook(tmp_path / "c.xlsx", patients, add_visits)
    [problem] = errors_of(lambda: load_cohort(path))
    assert (problem.value, problem.row, problem.column) == ("'visits', ' VISITS'", None, None)
    assert problem.expected.startswith("a single sheet named 'visits'")
    folder = tmp_path / "cohort"
    folder.mkdir()
    (folder / "patients.xlsx").write_bytes(path.read_bytes())
    [problem] = errors_of(lambda: load_cohort(folder))
    assert problem.expected.startswith("a single sheet named 'visits'")


def test_a_workbook_declaring_a_huge_size_is_refused(patients, tmp_path, monkeypatch):
    path = save_workbook(tmp_path / "c.xlsx", patients)
    monkeypatch.setattr(workbook, "MAX_SHEET_XML_BYTES", 1000)
    [problem] = errors_of(lambda: load_cohort(path))
    assert problem.expected.startswith("a workbook of at most 1,000 bytes uncompressed")


def test_a_mapping_file_that_maps_one_source_column_twice_is_refused_at_its_line(tmp_path):
    """Before, the later line silently won and the errors pointed at the data file."""
    path = tmp_path / "map.csv"
    path.write_text("source,canonical\nDoD,death_date\nTx,regimen\nDoD,progression_date\n"
                    "Tx,regimen\n", encoding="utf-8")
    mapping, problems = read_mapping(path)
    [problem] = problems
    assert (problem.row, problem.column) == (4, "DoD")
    assert "mapped to 'death_date' on line 2" in problem.expected
    assert mapping.columns["DoD"] == "death_date"  # a repeated identical line is harmless


def _csv_text(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False, lineterminator="\n")


def test_a_long_note_in_a_well_formed_csv_is_read(patients, tmp_path):
    """A quoted free-text note longer than the csv module's default field limit (131,072
    characters) is a well-formed field: read (its column is ignored), not refused."""
    patients["notes"] = ""
    patients.loc[3, "notes"] = "x, " * 60_000
    path = tmp_path / "patients.csv"
    path.write_text(_csv_text(patients), encoding="utf-8")
    cohort = load_cohort(path)
    assert len(cohort) == len(patients)


def test_a_byte_that_is_not_utf8_is_located_by_line_column_and_cell(patients, tmp_path):
    path = tmp_path / "patients.csv"
    text = _csv_text(patients).encode("utf-8")
    first = patients.loc[2, "patient_id"].encode()
    path.write_bytes(text.replace(first, first[:-1] + b"\xe9", 1))
    [problem] = errors_of(lambda: load_cohort(path))
    assert "line 4, column 'patient_id'" in problem.expected
    assert "invalid" in problem.expected and "UTF-8" in problem.expected


def test_an_unclosed_quote_is_named_not_reported_as_every_row_it_swallowed(patients, tmp_path):
    patients.loc[3, "death_cause"] = '"other'  # written as """other" by to_csv: undo that
    path = tmp_path / "patients.csv"
    path.write_text(_csv_text(patients).replace('"""other"', '"other'), encoding="utf-8")
    [problem] = errors_of(lambda: load_cohort(path))
    assert "a value opened by a quote" in problem.expected and "on line 5" in problem.expected


def test_values_in_messages_are_shown_as_the_user_sees_them():
    import datetime as dt

    from poems_cohort.errors import shown_value

    assert shown_value(dt.date(1900, 2, 13)) == "1900-02-13"
    assert shown_value(pd.Timestamp("2001-02-03")) == "2001-02-03"
    assert shown_value(dt.time(0, 0)) == "00:00:00"
    assert shown_value(True) == "TRUE" and shown_value(np.bool_(False)) == "FALSE"
    assert shown_value(b"306.0") == "'306.0' (binary data)"
    assert shown_value("ab") == "'ab'" and shown_value(np.float64(2.5)) == "2.5"
    assert "value 1900-02-13 —" in str(Problem("f.xlsx", 2, "death_date", dt.date(1900, 2, 13),
                                               "a date"))


def test_binary_parquet_columns_are_never_read_as_text(patients, tmp_path):
    """docs/data-dictionary.md: binary data is never an identifier nor any cell value. Before,
    a binary column was decoded into text (and undecodable bytes failed the whole file with
    no row or column)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(patients, preserve_index=False)
    ids = [s.encode() for s in patients["patient_id"]]
    ids[2] = b"P\xff\xfe"
    table = table.set_column(0, pa.field("patient_id", pa.binary()), pa.array(ids, pa.binary()))
    path = tmp_path / "patients.parquet"
    pq.write_table(table, path)
    problems = errors_of(lambda: load_cohort(path))
    assert {p.column for p in problems} == {"patient_id"}
    assert len(problems) == len(patients)
    assert "P\\xff\\xfe" in str(problems[2]) and "(binary data)" in str(problems[2])


def test_a_formula_whose_saved_result_is_empty_text_is_named_as_such(patients, tmp_path):
    """=IF(...,"",...) saved with an empty text result would read as an empty cell (an empty
    death_date means alive): refused, and not called a result "never saved"."""
    column = patients.columns.get_loc("death_date") + 1
    path = save_workbook(tmp_path / "c.xlsx", patients,
                         lambda s: s.cell(row=2, column=column, value='=IF(1,"","x")'))
    patch_sheet(path, lambda data: re.sub(
        rb'<c r="([A-Z]+2)"((?: s="\d+")?)><f>IF\(1,"","x"\)</f>(?:<v\s*/>|<v></v>)?',
        rb'<c r="\1"\2 t="str"><f>IF(1,"","x")</f><v></v>', data))
    scan = workbook.scan_sheet(path, workbook.sheets(path)[0])
    assert [(c.row, c.column) for c in scan.formulas_empty_text] == [(2, column)]
    [problem] = errors_of(lambda: load_cohort(path))
    assert (problem.row, problem.column) == (2, "death_date")
    assert "saved result is empty text" in problem.expected


def test_readers_second_look(patients, tmp_path):
    """Cases a second look at these readers found: a binary column beside a pandas index in
    Parquet, a bad byte far into a CSV (the csv module's position is within its buffer), a
    legitimate multi-line note on a row with one field too many (not an unclosed quote), and
    percent-looking formats that are padding or fills."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(patients.set_index("patient_id", drop=False).rename_axis("rid"),
                                 preserve_index=True)
    table = table.append_column("blob", pa.array([b"x"] * len(patients), pa.binary()))
    path = tmp_path / "patients.parquet"
    pq.write_table(table, path)
    assert len(load_cohort(path)) == len(patients)  # the unused binary column is ignored

    big = pd.concat([patients] * 30, ignore_index=True)
    big["patient_id"] = [f"Q{i:04d}" for i in range(len(big))]
    text = _csv_text(big).encode()
    at = text.index(b"\nQ0250,") + 1
    csv_path = tmp_path / "far.csv"
    csv_path.write_bytes(text[:at] + text[at:].replace(b"Q0250", b"Q02\xe90", 1))
    [problem] = errors_of(lambda: load_cohort(csv_path))
    assert "line 252, column 'patient_id'" in problem.expected

    patients["notes"] = ""
    patients.loc[4, "notes"] = "two\nlines"
    ragged = _csv_text(patients).splitlines(keepends=True)
    ragged[6] = ragged[6].rstrip("\n") + ",extra\n"  # the row after the note: one field more
    ragged_path = tmp_path / "ragged.csv"
    ragged_path.write_text("".join(ragged), encoding="utf-8")
    problems = errors_of(lambda: load_cohort(ragged_path))
    assert all("closing quote" not in p.expected for p in problems)
    assert any("found" in p.expected and "fields" in p.expected for p in problems)

    assert not workbook._shows_percent("0_%") and not workbook._shows_percent("0*%")
    assert workbook._shows_percent("0.00%;[Red]-0.00%")
    assert workbook._number("x164") == -1 and workbook._number("\u00b2") == -1
