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
