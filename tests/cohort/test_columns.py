"""The data dictionary in code and in docs/data-dictionary.md say the same thing."""

from pathlib import Path

from poems_cohort.cohort import COLUMNS, VISIT_COLUMNS
from poems_cohort.cohort.columns import BUILTIN_REGIMEN_ALIASES, PATIENT_TABLE, REGIMENS

DOC = (Path(__file__).resolve().parents[2] / "docs" / "data-dictionary.md").read_text("utf-8")


def test_every_column_and_alias_is_documented():
    for column in (*COLUMNS, *VISIT_COLUMNS):
        assert f"| `{column.name}` |" in DOC, column.name
        for alias in column.aliases:
            assert f"`{alias}`" in DOC, alias
    for alias in BUILTIN_REGIMEN_ALIASES:
        assert f"`{alias}`" in DOC, alias
    assert "## Analysis dataset (poems-cohort derive)" in DOC


def test_built_in_regimen_aliases_are_lower_case_and_map_to_the_three_regimens():
    assert set(BUILTIN_REGIMEN_ALIASES.values()) == set(REGIMENS)
    assert all(key == key.lower() for key in BUILTIN_REGIMEN_ALIASES)


def test_expected_texts():
    assert PATIENT_TABLE["onls"].expected() == "an integer from 0 to 12 (points)"
    assert PATIENT_TABLE["albumin_g_l"].expected() == "a number from 5 to 70 (g/l)"
    assert PATIENT_TABLE["vegf_pg_ml"].expected() == "a number from 0 to 1,000,000 (pg/ml)"
    assert PATIENT_TABLE["sex"].expected() == "one of M, F"
    assert PATIENT_TABLE["ascites"].expected() == "yes/no (also y/n, true/false, 1/0) or empty"
    assert PATIENT_TABLE["death_date"].expected() == "a date YYYY-MM-DD or empty"
    assert repr(PATIENT_TABLE["egfr"]) == "Column('egfr', number, optional)"
