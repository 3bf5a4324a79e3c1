"""Dispenzieri criteria (three-valued), exclusion order, and the patient flow."""

import pandas as pd
import pytest

from poems_cohort.cohort import (
    EXCLUSION_REASONS,
    PatientFlow,
    apply_eligibility,
    diagnostic_criteria,
    load_cohort,
)

from .conftest import EXAMPLE

MINOR = ["hepatomegaly", "splenomegaly", "lymphadenopathy", "peripheral_edema", "ascites",
         "pleural_effusion", "endocrinopathy", "skin_changes", "angioma", "papilledema",
         "thrombocytosis_or_polycythemia"]


def one(**fields):
    """One patient meeting every criterion, with ``fields`` overriding it."""
    row = {name: False for name in MINOR}
    row.update(polyneuropathy=True, monoclonal_plasma_cell=True, castleman=False,
               osteosclerosis=False, vegf_pg_ml=1000.0, hepatomegaly=True)
    row.update(fields)
    frame = pd.DataFrame([row])
    for name in frame.columns:
        if name != "vegf_pg_ml":
            frame[name] = frame[name].astype("boolean")
    frame["vegf_pg_ml"] = frame["vegf_pg_ml"].astype("float64")
    criteria = diagnostic_criteria(frame)
    return {name: criteria[name].iloc[0] for name in criteria.columns}


NA = pd.NA


@pytest.mark.parametrize("fields, expected", [
    ({}, (True, True, True, True)),
    ({"polyneuropathy": False}, (False, True, True, False)),
    ({"monoclonal_plasma_cell": NA}, (NA, True, True, NA)),
    ({"polyneuropathy": NA, "monoclonal_plasma_cell": False}, (False, True, True, False)),
    ({"vegf_pg_ml": 599.0}, (True, False, True, False)),
    ({"vegf_pg_ml": 600.0}, (True, True, True, True)),
    ({"vegf_pg_ml": float("nan")}, (True, NA, True, NA)),
    ({"vegf_pg_ml": float("nan"), "osteosclerosis": True}, (True, True, True, True)),
    ({"vegf_pg_ml": 100.0, "castleman": True}, (True, True, True, True)),
    ({"vegf_pg_ml": 100.0, "castleman": NA}, (True, NA, True, NA)),
    ({"hepatomegaly": False}, (True, True, False, False)),
    ({"hepatomegaly": NA}, (True, True, NA, NA)),
    ({"hepatomegaly": False, "angioma": True}, (True, True, True, True)),
    ({"hepatomegaly": False, "ascites": True}, (True, True, True, True)),
    ({"hepatomegaly": False, "papilledema": True}, (True, True, True, True)),
    ({"hepatomegaly": False, "endocrinopathy": NA}, (True, True, NA, NA)),
    ({"hepatomegaly": False, "thrombocytosis_or_polycythemia": True}, (True, True, True, True)),
    ({"hepatomegaly": NA, "splenomegaly": True}, (True, True, True, True)),
    ({"polyneuropathy": NA, "vegf_pg_ml": 100.0, "hepatomegaly": False},
     (NA, False, False, False)),
])
def test_criteria_are_three_valued(fields, expected):
    got = one(**fields)
    assert tuple(got[k] for k in ("mandatory", "major", "minor", "diagnosis")) == expected


def test_vegf_threshold_is_a_parameter():
    frame = pd.DataFrame({name: pd.array([False], dtype="boolean") for name in
                          [*MINOR, "castleman", "osteosclerosis"]})
    frame["polyneuropathy"] = frame["monoclonal_plasma_cell"] = pd.array([True], "boolean")
    frame["hepatomegaly"] = pd.array([True], "boolean")
    frame["vegf_pg_ml"] = [700.0]
    assert diagnostic_criteria(frame)["major"].iloc[0]
    assert not diagnostic_criteria(frame, vegf_threshold=1000)["major"].iloc[0]


@pytest.fixture
def screened(patients, write):
    patients.loc[0, "polyneuropathy"] = "no"  # P01: criteria evaluable, not met
    patients.loc[1, "monoclonal_plasma_cell"] = ""  # P02: not evaluable -> included, flagged
    patients.loc[2, "treatment_start"] = ""  # P03: incomplete treatment data
    patients.loc[5, ["last_followup", "death_date"]] = ""  # P06: no follow-up
    patients.loc[4, "last_followup"] = ""  # P05: died, so follow-up is complete
    patients.loc[7, "polyneuropathy"] = "no"  # P08: LDex; excluded for regimen when LDex is out
    return load_cohort(write(patients))


def test_exclusions_and_the_flow(screened):
    result = apply_eligibility(screened)
    assert result.included.patients["patient_id"].tolist() == [
        "P02", "P04", "P05", "P07", "P09", "P10"]
    flow = result.flow
    assert flow == PatientFlow(
        screened=10,
        excluded={EXCLUSION_REASONS[0]: 0, EXCLUSION_REASONS[1]: 2, EXCLUSION_REASONS[2]: 2,
                  EXCLUSION_REASONS[3]: 0},
        included=6,
        included_by_regimen={"MDex": 2, "ASCT": 2, "LDex": 2},
        not_evaluable={"diagnostic criteria not fully evaluable": 1,
                       "mandatory criteria not evaluable": 1,
                       "major criteria not evaluable": 0, "minor criteria not evaluable": 0},
    )
    reasons = dict(zip(result.decisions["patient_id"], result.decisions["excluded_reason"],
                       strict=True))
    assert reasons["P01"] == "POEMS diagnostic criteria not met"
    assert reasons["P03"] == reasons["P06"] == "incomplete treatment or follow-up data"
    assert reasons["P02"] is pd.NA
    assert result.included.visits is None


def test_regimen_is_the_first_reason(screened):
    result = apply_eligibility(screened, regimens=("ASCT", "MDex"))
    flow = result.flow
    assert flow.excluded == {EXCLUSION_REASONS[0]: 3, EXCLUSION_REASONS[1]: 1,
                             EXCLUSION_REASONS[2]: 2, EXCLUSION_REASONS[3]: 0}
    assert flow.included_by_regimen == {"ASCT": 2, "MDex": 2}
    frame = flow.to_frame()
    assert frame.columns.tolist() == ["stage", "detail", "n"]
    assert frame["n"].tolist() == [10, 3, 1, 2, 0, 4, 2, 2, 1, 1, 0, 0, 3]
    # the patients on a regimen outside the study's set, per regimen
    assert flow.excluded_by_regimen == {"LDex": 3}
    assert frame.iloc[-1].tolist() == ["excluded, regimen", "LDex", 3]
    assert frame["stage"].tolist()[:6] == ["screened", "excluded", "excluded", "excluded",
                                           "excluded", "included"]
    assert repr(flow).startswith("PatientFlow(screened=10, excluded=6 (regimen not in the "
                                 "study's set=3, POEMS diagnostic criteria not met=1,")


def test_without_diagnostic_columns_everyone_is_included_and_flagged(patients, visits, write):
    patients = patients.drop(columns=["polyneuropathy", "monoclonal_plasma_cell"])
    result = apply_eligibility(load_cohort(write(patients, visits)))
    assert result.flow.included == 10
    assert result.flow.not_evaluable["diagnostic criteria not fully evaluable"] == 10
    assert len(result.included.visits) == 30


def test_the_example_is_fully_eligible():
    result = apply_eligibility(load_cohort(EXAMPLE))
    assert result.flow.included == 10
    assert sum(result.flow.excluded.values()) == 0
    assert result.included.patients.equals(load_cohort(EXAMPLE).patients)


def test_treatment_started_after_the_cutoff_is_excluded(patients, write):
    patients.loc[0, "treatment_start"] = "2018-09-15"  # P01: after the default cutoff
    patients.loc[0, "last_followup"] = "2018-10-01"
    patients.loc[1, "treatment_start"] = "2018-08-31"  # P02: on the cutoff: included
    patients.loc[1, ["last_followup", "death_date", "progression_date"]] = ["2018-08-31", "", ""]
    cohort = load_cohort(write(patients))
    result = apply_eligibility(cohort)
    assert result.flow.excluded["treatment started after the data cutoff"] == 1
    assert "P01" not in set(result.included.patients["patient_id"])
    assert "P02" in set(result.included.patients["patient_id"])
    reasons = dict(zip(result.decisions["patient_id"], result.decisions["excluded_reason"],
                       strict=True))
    assert reasons["P01"] == EXCLUSION_REASONS[3]
    later = apply_eligibility(cohort, cutoff="2019-01-01")
    assert later.flow.excluded[EXCLUSION_REASONS[3]] == 0
    earlier = apply_eligibility(cohort, cutoff=pd.Timestamp("2018-08-30"))
    assert earlier.flow.excluded[EXCLUSION_REASONS[3]] == 2


@pytest.mark.parametrize("kwargs, message", [
    ({"regimens": ("ASCT", " ")}, "regimens must be non-empty names"),
    ({"vegf_threshold": 0}, "vegf_threshold must be positive"),
    ({"cutoff": "soon"}, "cutoff must be a date"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        apply_eligibility(load_cohort(EXAMPLE), **kwargs)
