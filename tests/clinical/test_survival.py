import math

import numpy as np
import pandas as pd
import pytest

from poems_cohort.clinical import (
    EndpointSettings,
    derive_survival,
    followup_end,
    followup_months,
)
from tests.clinical.frames import patients

M = 30.4375
S = EndpointSettings()


def _one(**row):
    frame = derive_survival(patients(row), S)
    return {name: frame[name].iloc[0] for name in frame.columns}


def test_alive_without_progression_is_censored_at_last_followup():
    got = _one(last_followup="2012-01-01")
    assert got["pfs_months"] == 730 / M and got["pfs_event"] == 0
    assert got["os_months"] == 730 / M and got["os_event"] == 0
    assert got["followup_months"] == 730 / M
    assert got["person_years"] == got["followup_months"] / 12
    assert math.isclose(got["person_years"], 730 / 365.25, rel_tol=1e-15)
    assert (got["progression"], got["death"], got["treatment_related_death"]) == (0, 0, 0)


def test_treatment_related_death_is_an_event_for_pfs_and_os():
    got = _one(death_date="2011-01-01", death_cause="treatment-related", last_followup="2011-01-01")
    assert got["os_months"] == 365 / M and got["os_event"] == 1
    assert got["pfs_months"] == 365 / M and got["pfs_event"] == 1
    assert (got["progression"], got["death"], got["treatment_related_death"]) == (0, 1, 1)


def test_death_from_disease_is_not_treatment_related():
    got = _one(death_date="2011-01-01", death_cause="disease")
    assert got["treatment_related_death"] == 0 and got["death"] == 1


def test_progression_then_alive():
    got = _one(progression_date="2010-07-01", last_followup="2012-01-01")
    assert got["pfs_months"] == 181 / M and got["pfs_event"] == 1
    assert got["os_months"] == 730 / M and got["os_event"] == 0
    assert got["progression"] == 1


def test_progression_and_death_on_the_same_day():
    got = _one(progression_date="2011-01-01", death_date="2011-01-01")
    assert got["pfs_months"] == 365 / M and got["pfs_event"] == 1
    assert got["os_months"] == 365 / M and got["os_event"] == 1
    assert (got["progression"], got["death"]) == (1, 1)


def test_progression_dated_after_death_is_ignored():
    got = _one(progression_date="2011-06-01", death_date="2011-01-01")
    assert got["progression"] == 0
    assert got["pfs_months"] == 365 / M and got["pfs_event"] == 1


def test_follow_up_ends_at_death_even_if_last_followup_is_later():
    got = _one(death_date="2011-01-01", last_followup="2012-01-01")
    assert got["followup_months"] == 365 / M


def test_death_after_the_cutoff_is_censored_at_the_cutoff():
    # 2017-01-01 -> 2018-08-31: 365 + 242 = 607 days
    got = _one(treatment_start="2017-01-01", death_date="2019-01-01", death_cause="treatment-related",
               last_followup="2019-01-01")
    assert got["os_months"] == 607 / M and got["os_event"] == 0
    assert got["pfs_months"] == 607 / M and got["pfs_event"] == 0
    assert (got["death"], got["treatment_related_death"]) == (0, 0)
    assert got["followup_months"] == 607 / M


def test_progression_after_the_cutoff_is_censored_at_the_cutoff():
    got = _one(treatment_start="2017-01-01", progression_date="2018-09-01",
               last_followup="2018-12-01")
    assert got["progression"] == 0
    assert got["pfs_months"] == 607 / M and got["pfs_event"] == 0


def test_progression_before_cutoff_and_death_after_it():
    got = _one(treatment_start="2017-01-01", progression_date="2017-01-31",
               death_date="2019-01-01")
    assert got["pfs_months"] == 30 / M and got["pfs_event"] == 1
    assert got["os_months"] == 607 / M and got["os_event"] == 0


def test_a_progression_after_the_last_followup_extends_follow_up():
    # 2010-01-01 -> 2012-06-01: 365 + 365 + 152 = 882 days
    got = _one(progression_date="2012-06-01", last_followup="2012-01-01")
    assert got["followup_months"] == 882 / M
    assert got["os_months"] == 882 / M and got["os_event"] == 0
    assert got["pfs_months"] == 882 / M and got["pfs_event"] == 1


def test_an_earlier_cutoff_setting_moves_censoring():
    s = EndpointSettings(cutoff="2010-07-01")
    got = derive_survival(patients({"death_date": "2011-01-01"}), s)
    assert got["os_months"].iloc[0] == 181 / M and got["os_event"].iloc[0] == 0


def test_missing_follow_up_gives_missing_times_and_events():
    got = _one(last_followup=pd.NaT)
    assert np.isnan(got["os_months"]) and got["os_event"] is pd.NA
    assert np.isnan(got["pfs_months"]) and got["pfs_event"] is pd.NA
    assert got["death"] == 0


def test_secondary_malignancy_is_carried_as_0_1_or_missing():
    got = derive_survival(
        patients({"secondary_malignancy": True}, {"secondary_malignancy": False}, {}), S
    )
    assert got["secondary_malignancy"].tolist() == [1, 0, pd.NA]
    assert str(got["secondary_malignancy"].dtype) == "Int64"


def test_dtypes_and_index():
    p = patients({}, {"death_date": "2011-01-01"}).set_axis(["a", "b"])
    got = derive_survival(p, S)
    assert list(got.index) == ["a", "b"]
    for name in ("pfs_months", "os_months", "followup_months", "person_years"):
        assert got[name].dtype == "float64"
    for name in ("pfs_event", "os_event", "progression", "death", "treatment_related_death"):
        assert str(got[name].dtype) == "Int64"


def test_followup_end_is_capped_at_the_cutoff():
    got = followup_end(patients({"last_followup": "2020-01-01"}), S)
    assert got.iloc[0] == pd.Timestamp("2018-08-31")


def test_a_treatment_start_after_the_cutoff_is_refused_not_given_a_negative_time():
    frame = patients({"treatment_start": "2018-10-15", "last_followup": "2018-12-01"},
                     {"treatment_start": "2010-01-01"})
    with pytest.raises(ValueError, match=r"negative time for patient\(s\) P1: .*2018-08-31"):
        derive_survival(frame, S)
    with pytest.raises(ValueError, match="P1"):
        followup_months(frame, S)
    assert (derive_survival(frame.iloc[[1]], S)["os_months"] >= 0).all()


def test_followup_end_is_the_later_of_last_contact_and_progression_either_missing():
    rows = [({"last_followup": "2012-01-01", "progression_date": "2011-01-01"}, "2012-01-01"),
            ({"last_followup": "2011-01-01", "progression_date": "2012-01-01"}, "2012-01-01"),
            ({"last_followup": "2012-01-01", "progression_date": pd.NA}, "2012-01-01"),
            ({"last_followup": pd.NA, "progression_date": "2012-01-01"}, "2012-01-01"),
            ({"last_followup": pd.NA, "progression_date": pd.NA}, None),
            ({"last_followup": "2011-05-05", "progression_date": "2011-05-05"}, "2011-05-05")]
    frame = patients(*[r for r, _ in rows])
    got = followup_end(frame, S)
    assert str(got.dtype) == "datetime64[ns]"
    assert list(got.index) == list(frame.index)
    for (_, want), value in zip(rows, got, strict=True):
        assert (pd.isna(value) if want is None else value == pd.Timestamp(want))
    # the row-wise maximum it replaces
    ref = pd.concat([pd.to_datetime(frame["last_followup"]).astype("datetime64[ns]"),
                     pd.to_datetime(frame["progression_date"]).astype("datetime64[ns]")],
                    axis=1).max(axis=1)
    pd.testing.assert_series_equal(got, ref.where(ref.isna() | (ref <= S.cutoff), S.cutoff)
                                   .astype("datetime64[ns]"), check_names=False)
