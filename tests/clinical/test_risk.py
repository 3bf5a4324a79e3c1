import typing

import numpy as np
import pandas as pd
import pytest

from poems_cohort.clinical import WANG_RISK_SCORE, RiskFactor, RiskScoreDefinition, risk_score
from poems_cohort.clinical.risk import RiskScoreChanges

B = "boolean"


def _patients(age, ph, pe, egfr):
    return pd.DataFrame(
        {
            "age": pd.Series(age, dtype="float64"),
            "pulmonary_hypertension": pd.Series(ph, dtype=B),
            "pleural_effusion": pd.Series(pe, dtype=B),
            "egfr": pd.Series(egfr, dtype="float64"),
        }
    ).set_axis([f"P{i}" for i in range(len(age))])


def test_complete_factors_give_points_and_groups():
    p = _patients(
        age=[50.0, 51.0, 51.0, 30.0, 60.0, 40.0],
        ph=[False, False, True, False, True, False],
        pe=[False, False, False, False, True, False],
        egfr=[30.0, 90.0, 90.0, 29.9, 10.0, 29.0],
    )
    got = risk_score(p)
    # age exactly 50 is not > 50; eGFR exactly 30 is not < 30.
    assert got["risk_points"].tolist() == [0.0, 1.0, 2.0, 2.0, 5.0, 2.0]
    assert got["risk_group"].tolist() == ["low", "medium", "high", "high", "high", "high"]
    assert got["risk_reason"].isna().all()
    assert list(got.index) == list(p.index)
    assert got["risk_points"].dtype == "float64"


def test_missing_factor_never_counts_as_absent():
    p = _patients(age=[40.0], ph=[pd.NA], pe=[False], egfr=[90.0])
    got = risk_score(p)
    assert np.isnan(got["risk_points"].iloc[0])
    assert got["risk_group"].iloc[0] is pd.NA
    assert got["risk_reason"].iloc[0] == (
        "missing: pulmonary hypertension; total could be 0 to 1, group low to medium"
    )


def test_known_points_of_two_decide_high_whatever_is_missing():
    p = _patients(age=[60.0], ph=[True], pe=[pd.NA], egfr=[np.nan])
    got = risk_score(p)
    assert np.isnan(got["risk_points"].iloc[0])
    assert got["risk_group"].iloc[0] == "high"
    assert got["risk_reason"].iloc[0] == (
        "missing: pleural effusion, eGFR < 30 ml/min/1.73 m²; group high whatever their values "
        "(2 known point(s))"
    )


def test_known_egfr_below_30_alone_decides_high():
    p = _patients(age=[np.nan], ph=[pd.NA], pe=[pd.NA], egfr=[20.0])
    got = risk_score(p)
    assert got["risk_group"].iloc[0] == "high"


def test_one_known_point_and_a_missing_factor_is_undecided():
    p = _patients(age=[60.0], ph=[False], pe=[False], egfr=[np.nan])
    got = risk_score(p)
    assert got["risk_group"].iloc[0] is pd.NA
    assert "total could be 1 to 3, group medium to high" in got["risk_reason"].iloc[0]


def test_absent_column_counts_as_missing():
    p = _patients(age=[30.0], ph=[False], pe=[False], egfr=[90.0]).drop(columns="egfr")
    got = risk_score(p)
    assert got["risk_group"].iloc[0] is pd.NA


def test_replace_keywords_are_the_fields_with_their_types():
    """``replace`` is typed by ``RiskScoreChanges``: every field, typed as the field."""
    assert typing.get_type_hints(RiskScoreChanges) == typing.get_type_hints(RiskScoreDefinition)
    assert RiskScoreChanges.__required_keys__ == frozenset()


def test_definition_thresholds_are_replaceable():
    strict = WANG_RISK_SCORE.replace(
        factors=(RiskFactor("age > 40 years", "age", 1, above=40.0),) + WANG_RISK_SCORE.factors[1:]
    )
    p = _patients(age=[45.0], ph=[False], pe=[False], egfr=[90.0])
    assert risk_score(p, strict)["risk_group"].iloc[0] == "medium"
    assert risk_score(p)["risk_group"].iloc[0] == "low"


def test_definition_refuses_groups_that_do_not_cover_the_maximum():
    with pytest.raises(ValueError, match="can total 5"):
        RiskScoreDefinition(factors=WANG_RISK_SCORE.factors, groups=(("low", 0), ("high", 3)))
    with pytest.raises(ValueError, match="increasing"):
        RiskScoreDefinition(factors=WANG_RISK_SCORE.factors, groups=(("a", 2), ("b", 1), ("c", 5)))


def test_wang_definition_is_frozen():
    with pytest.raises(AttributeError):
        WANG_RISK_SCORE.groups = ()


def test_every_combination_of_missing_factors_matches_a_per_patient_reading():
    """Groups and reasons are computed once per distinct combination and spread back: each
    patient gets what reading its own factors one by one gives."""
    import itertools

    rows = []
    for age, ph, pe, egfr in itertools.product([40.0, 60.0, None], [True, False, None],
                                               [True, False, None], [20.0, 90.0, None]):
        rows.append({"age": age, "pulmonary_hypertension": ph, "pleural_effusion": pe,
                     "egfr": egfr})
    patients = pd.DataFrame(rows * 2).astype({"age": "float64", "egfr": "float64",
                                              "pulmonary_hypertension": "boolean",
                                              "pleural_effusion": "boolean"})
    got = risk_score(patients)
    for i, row in enumerate(rows * 2):
        known = extra = 0
        labels = []
        for factor in WANG_RISK_SCORE.factors:
            value = row[factor.column]
            if value is None:
                extra += factor.points
                labels.append(factor.label)
            elif (value > factor.above if factor.above is not None
                  else value < factor.below if factor.below is not None else value):
                known += factor.points
        low, high = WANG_RISK_SCORE.group_of(known), WANG_RISK_SCORE.group_of(known + extra)
        assert got["risk_group"].iat[i] is (low if low == high else pd.NA)
        reason = got["risk_reason"].iat[i]
        if not labels:
            assert reason is pd.NA and got["risk_points"].iat[i] == known
        else:
            assert reason.startswith(f"missing: {', '.join(labels)}; ")
            assert np.isnan(got["risk_points"].iat[i])
            assert (f"({known} known point(s))" in reason) == (low == high)
