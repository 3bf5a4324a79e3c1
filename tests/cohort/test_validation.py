"""Cell rules, cross-column and cross-table rules, warnings, and one-pass reporting."""

import datetime as dt

import pandas as pd
import pytest

from poems_cohort.cohort import load_cohort, read_cohort, validate_cohort
from poems_cohort.cohort.validation import is_missing
from poems_cohort.errors import InputError

from .conftest import EXAMPLE


def problems_of(folder, **kwargs):
    with pytest.raises(InputError) as caught:
        load_cohort(folder, **kwargs)
    return [(p.row, p.column, p.value, p.expected) for p in caught.value.problems
            if p.severity == "error"]


def warnings_of(cohort):
    return [(p.file.rsplit("/", 1)[-1], p.row, p.column, p.value, p.expected)
            for p in cohort.warnings]


@pytest.mark.parametrize("text, expected", [
    ("yes", True), ("Y", True), ("TRUE", True), ("1", True), ("no", False), ("n", False),
    ("False", False), ("0", False), (" No ", False), ("", pd.NA),
])
def test_booleans(patients, write, text, expected):
    patients.loc[0, "ascites"] = text
    assert load_cohort(write(patients)).patients.loc[0, "ascites"] is (
        expected if expected is pd.NA else pd.array([expected], dtype="boolean")[0])


def test_empty_boolean_is_missing_not_no(patients, write):
    patients.loc[0, "castleman"] = ""
    value = load_cohort(write(patients)).patients.loc[0, "castleman"]
    assert value is pd.NA


@pytest.mark.parametrize("value", ["maybe", "2", "si", "+"])
def test_bad_booleans(patients, write, value):
    patients.loc[3, "papilledema"] = value
    assert problems_of(write(patients)) == [
        (5, "papilledema", value, "yes/no (also y/n, true/false, 1/0) or empty")]


@pytest.mark.parametrize("column, text, canonical", [
    ("sex", "male", "M"), ("sex", "f", "F"), ("heavy_chain", "iga", "IgA"),
    ("heavy_chain", "NONE", "none"), ("light_chain", "λ", "lambda"),
    ("light_chain", "Lambda", "lambda"), ("serum_ife", "POS", "positive"),
    ("urine_ife", "-", "negative"), ("death_cause", "Treatment related", "treatment-related"),
    ("regimen", "auto-SCT", "ASCT"), ("regimen", "Rd", "LDex"), ("regimen", "md", "MDex"),
    ("regimen", "Melphalan + Dexamethasone", "MDex"),
])
def test_category_spellings(patients, write, column, text, canonical):
    patients.loc[0, column] = text
    assert load_cohort(write(patients)).patients.loc[0, column] == canonical


def test_regimen_aliases_argument_extends_the_built_in_set(patients, write):
    patients.loc[0, "regimen"] = "Transplant"
    folder = write(patients)
    # any regimen name is valid input; the plan chooses the regimens compared
    assert load_cohort(folder).patients.loc[0, "regimen"] == "Transplant"
    cohort = load_cohort(folder, regimen_aliases={"transplant": "ASCT"})
    assert cohort.patients.loc[0, "regimen"] == "ASCT"
    assert load_cohort(folder, regimen_aliases={"Transplant": "SCT"}).patients.loc[
        0, "regimen"] == "SCT"
    assert problems_of(folder, regimen_aliases={"Transplant": " "}) == [
        (None, "Transplant", " ", "a regimen alias mapping to a non-empty regimen name")]


def test_any_regimen_name_is_valid_and_counted(patients, write):
    patients.loc[0, "regimen"] = "Bortezomib-dexamethasone"
    patients.loc[1, "regimen"] = "  Daratumumab "
    cohort = load_cohort(write(patients))
    counts = cohort.regimen_counts()
    assert counts["Bortezomib-dexamethasone"] == 1 and counts["Daratumumab"] == 1
    assert list(counts)[:3] == ["ASCT", "MDex", "LDex"]
    assert sum(counts.values()) == len(cohort)


@pytest.mark.parametrize("column, value, expected", [
    ("age", "121", "a number from 0 to 120 (years)"),
    ("age", "-1", "a number from 0 to 120 (years)"),
    ("onls", "-1", "an integer from 0 to 12 (points)"),
    ("onls", "2.5", "an integer from 0 to 12 (points)"),
    ("bmpc_pct", "101", "a number from 0 to 100 (%)"),
    ("vegf_pg_ml", "-5", "a number from 0 to 1,000,000 (pg/ml)"),
    ("vegf_pg_ml", "1e300", "a number from 0 to 1,000,000 (pg/ml)"),
    ("flc_kappa_mg_l", "-0.1", "a number from 0.01 to 100,000 (mg/l)"),
    ("flc_lambda_mg_l", "0", "a number from 0.01 to 100,000 (mg/l)"),
    ("egfr", "-1", "a number from 1 to 250 (ml/min/1.73 m²)"),
    ("egfr", "5e100", "a number from 1 to 250 (ml/min/1.73 m²)"),
    ("creatinine_mg_dl", "0", "a number from 0.1 to 25 (mg/dl)"),
    ("creatinine_mg_dl", "1e-300", "a number from 0.1 to 25 (mg/dl)"),
    ("albumin_g_l", "1e300", "a number from 5 to 70 (g/l)"),
    ("urine_protein_g_24h", "51", "a number from 0 to 50 (g/24 h)"),
    ("spe_g_l", "5 g/l", "a number (decimal point '.', no units)"),
    ("spe_g_l", "inf", "a finite number"),
    ("spe_g_l", "1e-400", "a number within double precision (this one rounds to 0)"),
    ("vegf_pg_ml", "4_820", "a number without thousands separators (4820, not 4,820 or "
     "4_820) and with a decimal point '.'"),
    ("vegf_pg_ml", "4,820", "a number without thousands separators (4820, not 4,820 or "
     "4_820) and with a decimal point '.'"),
    ("vegf_pg_ml", "1,234,567.5", "a number without thousands separators (4820, not 4,820 or "
     "4_820) and with a decimal point '.'"),
    ("vegf_pg_ml", "\uff14\uff18\uff12\uff10", "a number written with the digits 0-9 (found "
     "non-ASCII digits)"),
    ("age", "\u0664\u0662", "a number written with the digits 0-9 (found non-ASCII digits)"),
    ("treatment_start", "\u0662\u0660\u0661\u0663-\u0660\u0663-\u0661\u0662",
     "a date YYYY-MM-DD written with the digits 0-9 (found non-ASCII digits)"),
    ("treatment_start", "２０１３-０３-１２",
     "a date YYYY-MM-DD written with the digits 0-9 (found non-ASCII digits)"),
    ("patient_id", "P\x0001", "an identifier of printable characters, without control, "
     "zero-width or line-break characters (found U+0000)"),
    ("patient_id", "P0\n1", "an identifier of printable characters, without control, "
     "zero-width or line-break characters (found U+000A)"),
    ("patient_id", "P0\u200b1", "an identifier of printable characters, without control, "
     "zero-width or line-break characters (found U+200B)"),
    ("treatment_start", "2013/03/12", "a date YYYY-MM-DD"),
    ("treatment_start", "2013-3-12", "a date YYYY-MM-DD"),
    ("last_followup", "2018-13-01", "a real calendar date YYYY-MM-DD"),
    ("death_cause", "accident", "one of treatment-related, disease, other, unknown"),
    ("serum_ife", "weak", "one of positive, negative"),
    ("light_chain", "mu", "one of lambda, kappa"),
    ("regimen", "", "a value (a non-empty text)"),
])
def test_cell_errors_carry_row_column_and_the_value_as_written(patients, write, column, value,
                                                                expected):
    patients.loc[0, column] = value
    shown = None if value == "" else value
    assert problems_of(write(patients)) == [(2, column, shown, expected)]


@pytest.mark.parametrize("column, value, expected", [
    ("death_date", "2013-03-11", "a date on or after treatment_start (2013-03-12)"),
    ("progression_date", "2013-01-01", "a date on or after treatment_start (2013-03-12)"),
    ("last_followup", "2013-03-01", "a date on or after treatment_start (2013-03-12)"),
    ("crh_date", "2013-03-01", "a date on or after treatment_start (2013-03-12)"),
])
def test_dates_before_treatment_start(patients, write, column, value, expected):
    patients["crh_date"] = ""
    patients.loc[0, column] = value
    if column == "death_date":
        patients.loc[0, "last_followup"] = value
    found = problems_of(write(patients))
    assert (2, column, value, expected) in found
    assert len(found) == (2 if column == "death_date" else 1)


def test_progression_after_death_and_follow_up_before_death(patients, write):
    patients.loc[4, "progression_date"] = "2016-10-01"  # P05 died 2016-09-03
    patients.loc[9, "last_followup"] = "2017-01-18"  # P10 died 2017-01-19
    assert problems_of(write(patients)) == [
        (6, "progression_date", "2016-10-01", "a date on or before death_date (2016-09-03)"),
        (11, "last_followup", "2017-01-18", "a date on or after death_date (2017-01-19)"),
    ]


def test_duplicate_ids_each_reported_against_the_first(patients, write):
    patients.loc[[3, 7], "patient_id"] = "P01"
    assert problems_of(write(patients)) == [
        (5, "patient_id", "P01", "a unique patient_id (also on row 2)"),
        (9, "patient_id", "P01", "a unique patient_id (also on row 2)"),
    ]


def test_visit_rules(patients, visits, write):
    visits.loc[0, "patient_id"] = "P42"
    visits.loc[1, "onls"] = "13"
    visits.loc[2, "visit_date"] = ""
    assert problems_of(write(patients, visits)) == [
        (2, "patient_id", "P42", "a patient_id of the patients table"),
        (3, "onls", "13", "an integer from 0 to 12 (points)"),
        (4, "visit_date", None, "a value (a date YYYY-MM-DD)"),
    ]


def test_visits_may_have_empty_measurements(patients, visits, write):
    visits.loc[0, ["serum_ife", "vegf_pg_ml", "onls"]] = ""
    cohort = load_cohort(write(patients, visits))
    assert cohort.visits.to_frame().loc[0, "serum_ife"] is pd.NA
    assert pd.isna(cohort.visits.to_frame().loc[0, "vegf_pg_ml"])


def test_all_problems_of_both_tables_are_reported_in_one_pass(patients, visits, write):
    patients = patients.drop(columns=["ascites"])
    patients.loc[0, "sex"] = "X"
    patients.loc[5, "age"] = "old"
    visits.loc[4, "serum_ife"] = "?"
    found = problems_of(write(patients, visits))
    assert [(row, column) for row, column, _, _ in found] == [
        (None, "ascites"), (2, "sex"), (7, "age"), (6, "serum_ife")]


def test_warnings_do_not_block_loading(patients, visits, write):
    patients.loc[0, "vegf_pg_ml"] = "52000"
    patients.loc[1, "light_chain"] = "kappa"
    patients.loc[2, "age"] = "16"
    patients.loc[3, "last_followup"] = "2018-09-15"
    patients["crh_date"] = ""
    patients["crh_evaluable"] = ""
    patients.loc[4, ["crh_date", "crh_evaluable"]] = ["2012-01-01", "no"]
    visits.loc[0, "visit_date"] = "2012-11-01"  # P01 starts 2013-03-12: 131 days before
    visits.loc[3, "visit_date"] = "2018-09-01"
    visits.loc[2, "visit_date"] = "2013-09-11"  # same date as the visit on row 3
    visits.loc[5, "vegf_pg_ml"] = "60000"
    cohort = load_cohort(write(patients, visits))
    assert warnings_of(cohort) == [
        ("patients.csv", 2, "vegf_pg_ml", "52000", "VEGF up to 50,000 pg/ml (check the unit)"),
        ("patients.csv", 3, "light_chain", "kappa",
         "lambda: the light chain is lambda in almost all POEMS patients"),
        ("patients.csv", 4, "age", "16", "an adult age (18 or over)"),
        ("patients.csv", 5, "last_followup", "2018-09-15",
         "a date on or before the data cutoff 2018-08-31"),
        ("patients.csv", 6, "crh_evaluable", "no", "yes, since crh_date is given"),
        ("visits.csv", 2, "visit_date", "2012-11-01",
         "a visit at most 90 days before treatment_start (2013-03-12)"),
        ("visits.csv", 4, "visit_date", "2013-09-11",
         "one visit per patient and date (also on row 3)"),
        ("visits.csv", 5, "visit_date", "2018-09-01",
         "a date on or before the patient's last_followup (2018-07-30)"),
        ("visits.csv", 5, "visit_date", "2018-09-01",
         "a date on or before the data cutoff 2018-08-31"),
        ("visits.csv", 7, "vegf_pg_ml", "60000", "VEGF up to 50,000 pg/ml (check the unit)"),
    ]
    assert all(p.severity == "warning" for p in cohort.warnings)


def _dated(warnings):
    return [w for w in warnings if w.row is not None]


def test_cutoff_controls_the_late_date_warnings(patients, write):
    patients.loc[3, "last_followup"] = "2018-09-15"
    folder = write(patients)
    assert len(_dated(load_cohort(folder).warnings)) == 1
    assert _dated(load_cohort(folder, cutoff=None).warnings) == []
    assert _dated(load_cohort(folder, cutoff=dt.date(2019, 1, 1)).warnings) == []
    # last follow-up after 2018-01-01 for all but P05 (2016) and P10 (2017)
    assert len(_dated(load_cohort(folder, cutoff="2018-01-01").warnings)) == 8


def test_errors_come_with_the_warnings(patients, visits, write):
    patients.loc[0, "vegf_pg_ml"] = "52000"
    patients.loc[1, "age"] = "200"
    with pytest.raises(InputError) as caught:
        load_cohort(write(patients, visits))
    assert [p.severity for p in caught.value.problems] == ["error", "warning"]
    assert str(caught.value).startswith("1 problem(s) in the input")


def test_validate_cohort_on_read_tables():
    cohort = validate_cohort(read_cohort(EXAMPLE), cutoff=None)
    assert len(cohort) == 10
    assert repr(cohort) == ("Cohort(source='" + str(EXAMPLE) + "', patients=10 (ASCT=4, MDex=3, "
                            "LDex=3), visits=30, warnings=0)")


def test_subset_keeps_patients_and_their_visits():
    cohort = load_cohort(EXAMPLE)
    part = cohort.subset(["P02", "P09"])
    assert part.patients["patient_id"].tolist() == ["P02", "P09"]
    assert set(part.visits.to_frame()["patient_id"]) == {"P02", "P09"}
    assert len(part.visits) == 6
    assert part.patients.index.tolist() == [0, 1]
    assert len(cohort) == 10


def test_subset_of_everyone_shares_the_columns_but_not_the_frame():
    cohort = load_cohort(EXAMPLE)
    every = cohort.subset(cohort.patients["patient_id"])
    assert every.patients is not cohort.patients
    pd.testing.assert_frame_equal(every.patients, cohort.patients)
    assert every.visits is cohort.visits
    every.patients.loc[0, "age"] = 99.0  # a write copies the column: the cohort is unchanged
    every.patients["extra"] = 1
    assert cohort.patients.loc[0, "age"] != 99.0 and "extra" not in cohort.patients
    assert cohort.subset(["P02"]).patients.index.tolist() == [0]


@pytest.mark.parametrize("value, missing", [
    (None, True), ("", True), ("  ", True), ("NA", True), ("n/a", True), (float("nan"), True),
    (pd.NaT, True), (pd.NA, True), ("none", False), (0, False), ("no", False),
])
def test_what_counts_as_missing(value, missing):
    assert is_missing(value) is missing


def test_a_response_without_any_source_is_a_cohort_level_warning(patients, visits, write):
    cohort = load_cohort(write(patients))  # no visits, no crh_date/crv_date/rn_date
    by_column = {w.column: w for w in cohort.warnings if w.row is None}
    assert set(by_column) == {"crh_date", "crv_date", "rn_date"}
    assert "CRV is not evaluable for any patient" in by_column["crv_date"].expected
    assert cohort.absent_columns >= {"crh_date", "crv_evaluable", "rn_date"}
    patients["crh_date"] = ""
    assert "crh_date" not in {w.column for w in load_cohort(write(patients)).warnings}
    visits = visits.drop(columns=["vegf_pg_ml"])
    visits["onls"] = ""
    cohort = load_cohort(write(patients, visits))
    found = {w.column: w.expected for w in cohort.warnings if w.row is None}
    assert found == {
        "vegf_pg_ml": "a 'vegf_pg_ml' column in the visits table; without it CRV is not "
                      "evaluable for any patient",
        "onls": "a 'onls' column with values in the visits table; without it RN is not "
                "evaluable for any patient",
    }


def test_response_dates_after_death_are_errors_after_last_followup_warnings(patients, visits,
                                                                             write):
    patients["crh_date"] = ""
    patients["rn_date"] = ""
    patients.loc[4, "crh_date"] = "2016-10-01"  # P05 (row 6) died on 2016-09-03
    patients.loc[0, "rn_date"] = "2018-07-01"  # P01 (row 2) alive, last follow-up 2018-06-20
    with pytest.raises(InputError) as caught:
        load_cohort(write(patients))
    problems = [(p.severity, p.row, p.column, p.value) for p in caught.value.problems
                if p.row is not None]
    assert ("error", 6, "crh_date", "2016-10-01") in problems
    assert ("warning", 2, "rn_date", "2018-07-01") in problems
    [error] = [p for p in caught.value.problems if p.severity == "error"]
    assert error.expected == "a date on or before death_date (2016-09-03)"


def test_visits_after_death_are_errors_after_last_followup_warnings(patients, visits, write):
    visits.loc[14, "visit_date"] = "2016-12-01"  # P05 died on 2016-09-03 (visits.csv row 16)
    visits.loc[2, "visit_date"] = "2018-07-01"  # P01 alive, last follow-up 2018-06-20 (row 4)
    with pytest.raises(InputError) as caught:
        load_cohort(write(patients, visits))
    found = {(p.severity, p.row, p.column, p.value, p.expected) for p in caught.value.problems}
    assert ("error", 16, "visit_date", "2016-12-01",
            "a date on or before the patient's death_date (2016-09-03)") in found
    assert ("warning", 4, "visit_date", "2018-07-01",
            "a date on or before the patient's last_followup (2018-06-20)") in found
    assert sum(p.severity == "error" for p in caught.value.problems) == 1


def test_a_date_outside_1900_2100_is_a_problem_not_a_crash(tmp_path):
    """A mistyped year (3013, or past pandas' 2262 limit) is reported with its row and value."""
    from poems_cohort.cohort.validation import _Bad, _to_date

    lines = (EXAMPLE / "patients.csv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    col = header.index("treatment_start")
    row = lines[1].split(",")
    row[col] = "3013-09-11"
    lines[1] = ",".join(row)
    (tmp_path / "patients.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_cohort(tmp_path / "patients.csv")
    found = [p for p in err.value.problems if p.column == "treatment_start"]
    assert [(p.row, p.value, p.expected) for p in found] == [
        (2, "3013-09-11", "a date between 1900 and 2100")]
    for native in (dt.datetime(3013, 9, 11), dt.date(1850, 1, 1)):
        with pytest.raises(_Bad):
            _to_date(native)
