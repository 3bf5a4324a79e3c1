import datetime as dt

import pytest

from poems_cohort.errors import InputError
from poems_cohort.study import AnalysisPlan, load_plan
from poems_cohort.study.policy import FISHER, NOT_TESTABLE, PEARSON, compare_counts


def test_defaults_are_the_published_analysis():
    plan = load_plan(None)
    assert plan.regimens == ("MDex", "ASCT", "LDex")
    assert plan.reference == "ASCT"
    assert [s.name for s in plan.subgroups] == ["all", "low", "medium-high", "high"]
    assert plan.subgroup("medium-high").risk_groups == ("medium", "high")
    assert plan.response_landmarks_months == (6.0, 12.0)
    assert plan.survival_landmark_months == 36.0
    assert plan.cutoff == dt.date(2018, 8, 31)
    assert plan.test_policy == "spss"


def test_toml_overrides_fields(tmp_path):
    f = tmp_path / "plan.toml"
    f.write_text('test_policy = "exact"\ncutoff = 2017-12-31\nsurvival_landmark_months = 60\n'
                 '[subgroups]\nall = "all"\nlow = ["low"]\nmedium-high = ["medium", "high"]\n')
    plan = load_plan(f)
    assert plan.test_policy == "exact"
    assert plan.cutoff == dt.date(2017, 12, 31)
    assert plan.survival_landmark_months == 60.0
    assert [s.name for s in plan.subgroups] == ["all", "low", "medium-high"]


def test_unknown_keys_are_named(tmp_path):
    f = tmp_path / "plan.toml"
    f.write_text('test_polcy = "exact"\nlandmark = 3\n')
    with pytest.raises(InputError) as exc:
        load_plan(f)
    named = {p.column for p in exc.value.problems}
    assert named == {"test_polcy", "landmark"}


def test_bad_values_are_input_errors(tmp_path):
    f = tmp_path / "plan.toml"
    f.write_text('test_policy = "bayes"\nreference = "XYZ"\n')
    with pytest.raises(InputError) as exc:
        load_plan(f)
    assert {p.column for p in exc.value.problems} == {"test_policy", "reference"}
    with pytest.raises(InputError):
        AnalysisPlan(regimens=("ASCT",))


def test_policy_spss_and_exact():
    big = [[20, 20], [15, 25]]
    assert compare_counts(big, "spss").test == PEARSON
    small = [[1, 2], [3, 1]]
    assert compare_counts(small, "spss").test == FISHER
    rxc_small = [[1, 2], [3, 1], [2, 2]]
    assert compare_counts(rxc_small, "spss").test == PEARSON
    assert compare_counts(rxc_small, "exact").test == FISHER
    assert compare_counts([[0, 3], [0, 4]], "spss").test == NOT_TESTABLE


def _write(tmp_path, text: str):
    f = tmp_path / "plan.toml"
    f.write_text(text)
    return f


def _problems(tmp_path, text: str) -> list:
    f = tmp_path / "plan.toml"
    f.write_text(text)
    with pytest.raises(InputError) as exc:
        load_plan(f)
    return list(exc.value.problems)


def test_regimen_names_in_any_case_mean_the_canonical_ones(tmp_path):
    f = tmp_path / "plan.toml"
    f.write_text('regimens = ["ASCT", "MDex", "Ldex"]\nreference = "asct"\n')
    plan = load_plan(f)
    assert plan.regimens == ("ASCT", "MDex", "LDex")
    assert plan.reference == "ASCT"
    assert AnalysisPlan(regimens=("mdex", "ASCT")).regimens == ("MDex", "ASCT")


def test_any_regimen_names_up_to_eight(tmp_path):
    plan = load_plan(_write(tmp_path, 'regimens = ["ASCT", " VRd ", "mdex"]\n'))
    assert plan.regimens == ("ASCT", "VRd", "MDex")
    problems = _problems(tmp_path, 'regimens = ["ASCT", ""]\n')
    assert [(p.column, p.value) for p in problems] == [("regimens", ["ASCT", ""])]
    nine = ", ".join(f'"R{i}"' for i in range(8))
    problems = _problems(tmp_path, f'regimens = ["ASCT", {nine}]\n')
    assert [p.column for p in problems] == ["regimens"]
    assert "at most 8" in problems[0].expected


def test_reference_must_be_among_the_regimens(tmp_path):
    problems = _problems(tmp_path, 'regimens = ["MDex", "LDex"]\n')  # default reference ASCT
    assert [(p.column, p.value) for p in problems] == [("reference", "ASCT")]


def test_empty_landmarks_and_subgroups_are_input_errors(tmp_path):
    problems = _problems(tmp_path, "response_landmarks_months = []\nfigure_subgroups = []\n")
    assert {(p.column, str(p.value)) for p in problems} == {
        ("response_landmarks_months", "[]"), ("figure_subgroups", "[]")}


def test_every_problem_is_reported_at_once_with_its_key_and_value(tmp_path):
    problems = _problems(tmp_path, (
        'regimens = ["ASCT", ""]\nreference = "Bar"\nconfidence_level = nan\n'
        "risk_table_step_months = inf\nresponse_landmarks_months = [6, 6, -1]\n"
        "survival_landmark_months = 0\n"
        'proportion_ci = "wald"\ntest_policy = 3\ncutoff = "2018-02-30"\n'))
    by_key = {p.column: p.value for p in problems}
    assert by_key == {"regimens": ["ASCT", ""], "reference": "Bar",
                      "confidence_level": by_key["confidence_level"],
                      "risk_table_step_months": float("inf"),
                      "response_landmarks_months": [6.0, 6.0, -1.0],
                      "survival_landmark_months": 0.0, "proportion_ci": "wald",
                      "test_policy": 3, "cutoff": "2018-02-30"}
    assert by_key["confidence_level"] != by_key["confidence_level"]  # NaN


def test_subgroups_must_hold_all_patients_and_known_risk_groups(tmp_path):
    problems = _problems(tmp_path, 'figure_subgroups = ["all"]\nsupplementary_subgroup = "all"\n'
                                   '[subgroups]\nall = ["low"]\nlow = ["lo"]\n')
    keys = [p.column for p in problems]
    assert keys.count("subgroups") == 2
    assert any(p.value == {"low": ["lo"]} for p in problems)


def test_a_folder_as_plan_is_an_input_error(tmp_path):
    with pytest.raises(InputError) as exc:
        load_plan(tmp_path)
    assert "folder" in exc.value.problems[0].expected
