import numpy as np
import pandas as pd

from poems_cohort.clinical import (
    EndpointSettings,
    absent_sources,
    assessment_responses,
    derive_responses,
)
from tests.clinical.frames import patients, visits

M = 30.4375
#: most tests below were written for the readings "either" and "baseline"; the readings
#: "both-or-responder" and "assessed" (the defaults) have their own tests at the end
S = EndpointSettings(crh_crv_evaluable="either", rn_evaluable="baseline")
NEG = "negative"
POS = "positive"


def _row(frame, i=0):
    return {name: frame[name].iloc[i] for name in frame.columns}


def _visit(day, pid="P1", **values):
    return {"patient_id": pid, "visit_date": day, **values}


def _from_visits(patient, *visit_rows, settings=S):
    return _row(derive_responses(patients(patient), visits(*visit_rows), settings))


# --- CRH from visits -------------------------------------------------------------------------


def test_crh_at_the_first_assessment_with_both_immunofixations_negative():
    got = _from_visits({}, _visit("2010-07-01", serum_ife=NEG, urine_ife=NEG),
                       _visit("2011-01-01", serum_ife=NEG, urine_ife=NEG))
    assert (got["crh_evaluable"], got["crh"]) == (1, 1)
    assert got["crh_months"] == 181 / M
    assert got["crh_last_months"] == 181 / M


def test_an_assessment_on_the_treatment_start_date_does_not_count():
    got = _from_visits({}, _visit("2010-01-01", serum_ife=NEG, urine_ife=NEG),
                       _visit("2010-04-01", serum_ife=POS, urine_ife=NEG))
    assert got["crh"] == 0
    assert np.isnan(got["crh_months"])
    assert got["crh_last_months"] == 90 / M


def test_an_immunofixation_not_done_means_no_crh_at_that_assessment():
    got = _from_visits({}, _visit("2010-07-01", serum_ife=NEG),
                       _visit("2011-01-01", serum_ife=NEG, urine_ife=NEG))
    assert got["crh"] == 1 and got["crh_months"] == 365 / M


def test_a_positive_immunofixation_is_judged_even_if_the_other_is_missing():
    got = _from_visits({}, _visit("2010-04-01", urine_ife=POS), _visit("2010-07-01", serum_ife=NEG))
    assert got["crh"] == 0
    assert got["crh_last_months"] == 90 / M  # the 2010-07-01 visit could not be judged


def test_flc_ratio_bounds_are_inclusive():
    for kappa, lam in ((16.5, 10.0), (13.0, 50.0)):  # ratios 1.65 and 0.26
        got = _from_visits({}, _visit("2010-07-01", serum_ife=NEG, urine_ife=NEG,
                                      flc_kappa_mg_l=kappa, flc_lambda_mg_l=lam))
        assert got["crh"] == 1 and got["crh_months"] == 181 / M


def test_an_abnormal_flc_ratio_blocks_crh_and_is_a_judged_assessment():
    got = _from_visits({}, _visit("2010-07-01", serum_ife=NEG, urine_ife=NEG,
                                  flc_kappa_mg_l=17.0, flc_lambda_mg_l=10.0))
    assert got["crh"] == 0 and got["crh_last_months"] == 181 / M
    got = _from_visits({}, _visit("2010-07-01", serum_ife=NEG, urine_ife=NEG,
                                  flc_kappa_mg_l=2.5, flc_lambda_mg_l=10.0))
    assert got["crh"] == 0


def test_flc_with_one_chain_only_cannot_confirm_crh():
    got = _from_visits({}, _visit("2010-07-01", serum_ife=NEG, urine_ife=NEG,
                                  flc_lambda_mg_l=20.0))
    assert got["crh"] == 0
    assert got["crh_last_months"] == 0.0  # no assessment could be judged


def test_a_response_after_the_cutoff_does_not_count():
    got = _from_visits({"treatment_start": "2018-01-01"},
                       _visit("2018-08-31", serum_ife=POS, urine_ife=NEG),
                       _visit("2018-09-01", serum_ife=NEG, urine_ife=NEG))
    assert got["crh"] == 0
    assert got["crh_last_months"] == 242 / M


def test_a_response_on_the_cutoff_date_counts():
    got = _from_visits({"treatment_start": "2018-01-01"},
                       _visit("2018-08-31", serum_ife=NEG, urine_ife=NEG))
    assert got["crh"] == 1 and got["crh_months"] == 242 / M


def test_crh_not_evaluable_without_a_positive_baseline_immunofixation():
    for serum, urine in ((NEG, NEG), (pd.NA, pd.NA), (NEG, pd.NA)):
        got = _from_visits({"serum_ife": serum, "urine_ife": urine},
                           _visit("2010-07-01", serum_ife=NEG, urine_ife=NEG))
        assert got["crh_evaluable"] == 0
        assert got["crh"] is pd.NA
        assert np.isnan(got["crh_months"]) and np.isnan(got["crh_last_months"])
    got = _from_visits({"serum_ife": NEG, "urine_ife": POS},
                       _visit("2010-07-01", serum_ife=NEG, urine_ife=NEG))
    assert got["crh_evaluable"] == 1 and got["crh"] == 1


def test_no_assessment_after_baseline_means_not_reached_and_censored_at_zero():
    got = _from_visits({}, _visit("2010-01-01", serum_ife=NEG, urine_ife=NEG, vegf_pg_ml=100.0,
                                  onls=1.0))
    assert (got["crh"], got["crv"], got["rn"]) == (0, 0, 0)
    assert got["crh_last_months"] == 0.0 and got["crv_last_months"] == 0.0
    assert got["crh_crv"] == 0 and got["crh_crv_last_months"] == 0.0


def test_a_patient_without_visits_in_a_cohort_with_visits():
    frame = derive_responses(patients({}, {}), visits(_visit("2010-07-01", vegf_pg_ml=100.0)), S)
    got = _row(frame, 1)
    assert got["crv"] == 0 and got["crv_last_months"] == 0.0
    assert _row(frame, 0)["crv"] == 1


# --- CRV --------------------------------------------------------------------------------------


def test_crv_needs_vegf_strictly_below_600():
    got = _from_visits({}, _visit("2010-04-01", vegf_pg_ml=600.0),
                       _visit("2010-07-01", vegf_pg_ml=599.0))
    assert got["crv"] == 1 and got["crv_months"] == 181 / M


def test_crv_evaluable_from_baseline_vegf_of_600():
    got = _from_visits({"vegf_pg_ml": 600.0}, _visit("2010-07-01", vegf_pg_ml=100.0))
    assert got["crv_evaluable"] == 1
    for baseline in (599.0, np.nan):
        got = _from_visits({"vegf_pg_ml": baseline}, _visit("2010-07-01", vegf_pg_ml=100.0))
        assert got["crv_evaluable"] == 0 and got["crv"] is pd.NA


def test_crv_threshold_is_a_setting():
    s = S.replace(vegf_normal_below=1000.0)
    got = _from_visits({}, _visit("2010-07-01", vegf_pg_ml=800.0), settings=s)
    assert got["crv"] == 1


def test_crv_last_assessment_ignores_visits_without_vegf():
    got = _from_visits({}, _visit("2010-04-01", vegf_pg_ml=2000.0),
                       _visit("2010-07-01", serum_ife=POS))
    assert got["crv"] == 0 and got["crv_last_months"] == 90 / M


# --- RN ---------------------------------------------------------------------------------------


def test_rn_needs_one_point_below_baseline():
    got = _from_visits({"onls": 4.0}, _visit("2010-04-01", onls=4.0), _visit("2010-07-01", onls=3.0))
    assert got["rn"] == 1 and got["rn_months"] == 181 / M


def test_rn_evaluable_from_baseline_onls_of_one():
    got = _from_visits({"onls": 1.0}, _visit("2010-07-01", onls=0.0))
    assert got["rn_evaluable"] == 1 and got["rn"] == 1
    got = _from_visits({"onls": 0.0}, _visit("2010-07-01", onls=0.0))
    assert got["rn_evaluable"] == 0 and got["rn"] is pd.NA


def test_missing_baseline_onls_is_not_evaluable():
    got = _from_visits({"onls": np.nan}, _visit("2010-07-01", onls=0.0))
    assert got["rn_evaluable"] == 0 and got["rn"] is pd.NA and np.isnan(got["rn_last_months"])


def test_rn_drop_is_a_setting():
    s = S.replace(onls_min_drop=2.0)
    got = _from_visits({"onls": 4.0}, _visit("2010-07-01", onls=3.0), settings=s)
    assert got["rn"] == 0 and got["rn_last_months"] == 181 / M


# --- CRH/CRV ----------------------------------------------------------------------------------


def test_crh_crv_takes_the_earlier_response():
    got = _from_visits({}, _visit("2010-04-01", vegf_pg_ml=100.0),
                       _visit("2010-07-01", serum_ife=NEG, urine_ife=NEG))
    assert (got["crh_crv_evaluable"], got["crh_crv"]) == (1, 1)
    assert got["crh_crv_months"] == 90 / M and got["crh_crv_last_months"] == 90 / M


def test_crh_crv_ignores_a_response_the_patient_is_not_evaluable_for():
    got = _from_visits({"vegf_pg_ml": 500.0}, _visit("2010-04-01", vegf_pg_ml=100.0),
                       _visit("2010-07-01", serum_ife=NEG, urine_ife=NEG))
    assert got["crv_evaluable"] == 0
    assert got["crh_crv_evaluable"] == 1 and got["crh_crv_months"] == 181 / M


def test_crh_crv_evaluable_for_either():
    got = _from_visits({"serum_ife": NEG, "urine_ife": NEG},
                       _visit("2010-04-01", vegf_pg_ml=100.0))
    assert (got["crh_crv_evaluable"], got["crh_crv"], got["crh_crv_months"]) == (1, 1, 90 / M)
    got = _from_visits({"serum_ife": NEG, "urine_ife": NEG, "vegf_pg_ml": 100.0},
                       _visit("2010-04-01", vegf_pg_ml=100.0))
    assert got["crh_crv_evaluable"] == 0 and got["crh_crv"] is pd.NA


def test_crh_crv_non_responder_is_censored_at_the_earlier_last_assessment():
    got = _from_visits({}, _visit("2010-04-01", serum_ife=POS, urine_ife=NEG),
                       _visit("2010-07-01", vegf_pg_ml=2000.0))
    assert got["crh_last_months"] == 90 / M and got["crv_last_months"] == 181 / M
    assert got["crh_crv"] == 0 and got["crh_crv_last_months"] == 90 / M


# --- patient-level columns --------------------------------------------------------------------


def _from_columns(*rows, settings=S):
    return derive_responses(patients(*rows), None, settings)


def test_patient_level_dates_give_responses_and_times():
    got = _row(_from_columns({"crh_date": "2010-07-01", "crv_date": "2010-04-01",
                              "rn_date": "2011-01-01"}))
    assert (got["crh"], got["crv"], got["rn"], got["crh_crv"]) == (1, 1, 1, 1)
    assert got["crh_months"] == 181 / M and got["crv_months"] == 90 / M
    assert got["rn_months"] == 365 / M and got["crh_crv_months"] == 90 / M
    assert got["crh_last_months"] == 181 / M


def test_patient_level_non_responder_is_censored_at_follow_up():
    got = _row(_from_columns({"last_followup": "2012-01-01"}))
    assert (got["crh"], got["crv"], got["rn"]) == (0, 0, 0)
    for name in ("crh", "crv", "rn", "crh_crv"):
        assert got[f"{name}_last_months"] == 730 / M


def test_patient_level_given_evaluable_wins_over_baseline():
    got = _row(_from_columns({"crh_evaluable": False, "crh_date": "2010-07-01",
                              "rn_evaluable": True, "onls": 0.0}))
    assert got["crh_evaluable"] == 0 and got["crh"] is pd.NA and np.isnan(got["crh_months"])
    assert got["rn_evaluable"] == 1 and got["rn"] == 0


def test_patient_level_missing_evaluable_falls_back_to_baseline():
    got = _row(_from_columns({"vegf_pg_ml": 300.0, "crv_date": "2010-07-01"}))
    assert got["crv_evaluable"] == 0 and got["crv"] is pd.NA


def test_patient_level_response_on_start_date_or_after_cutoff_does_not_count():
    frame = _from_columns({"crh_date": "2010-01-01"},
                          {"treatment_start": "2018-01-01", "crh_date": "2018-09-01",
                           "last_followup": "2019-01-01"})
    assert frame["crh"].tolist() == [0, 0]
    assert frame["crh_last_months"].tolist() == [730 / M, 242 / M]


def test_columns_and_dtypes():
    frame = _from_columns({}).set_axis(["x"])
    assert list(frame.index) == ["x"]
    for name in ("crh", "crv", "rn", "crh_crv"):
        assert str(frame[f"{name}_evaluable"].dtype) == "Int64"
        assert str(frame[name].dtype) == "Int64"
        assert frame[f"{name}_months"].dtype == "float64"
        assert frame[f"{name}_last_months"].dtype == "float64"


def test_assessment_states():
    p = patients({"onls": 3.0})
    v = visits(_visit("2009-12-01", serum_ife=NEG, urine_ife=NEG),
               _visit("2010-07-01", serum_ife=NEG, urine_ife=NEG, vegf_pg_ml=700.0, onls=2.0),
               _visit("2010-04-01", serum_ife=NEG, flc_kappa_mg_l=10.0),
               _visit("2010-05-01", pid="unknown", onls=0.0))
    got = assessment_responses(p, v, S)
    assert got["visit_date"].tolist() == [pd.Timestamp("2010-04-01"), pd.Timestamp("2010-07-01")]
    assert got["months"].tolist() == [90 / M, 181 / M]
    assert got["crh"].tolist() == [pd.NA, True]
    assert got["crv"].tolist() == [pd.NA, False]
    assert got["rn"].tolist() == [pd.NA, True]


def test_an_empty_visits_table_means_no_response_is_evaluable():
    frame = derive_responses(patients({}, {}), visits(), S)
    for name in ("crh", "crv", "rn", "crh_crv"):
        assert frame[f"{name}_evaluable"].tolist() == [0, 0]
        assert frame[name].isna().all() and frame[f"{name}_last_months"].isna().all()


# --- absent measurement sources ---------------------------------------------------------------


def test_a_visits_table_without_vegf_makes_crv_not_evaluable_not_zero():
    rows = [_visit("2010-07-01", serum_ife=NEG, urine_ife=NEG, onls=2.0)]
    table = visits(*rows).drop(columns=["vegf_pg_ml"])
    frame = derive_responses(patients({}, {"vegf_pg_ml": 3000.0}), table, S)
    assert absent_sources(patients({}), table) == {"crv": ("vegf_pg_ml",)}
    assert frame["crv_evaluable"].tolist() == [0, 0]
    assert frame["crv"].isna().all() and frame["crv_last_months"].isna().all()
    # CRH and RN are still judged; CRH/CRV rests on CRH alone
    assert frame["crh"].tolist() == [1, 0] and frame["rn"].tolist() == [1, 0]
    assert frame["crh_crv"].tolist() == [1, 0]
    assert frame["crh_crv_last_months"].tolist() == [181 / M, 0.0]


def test_a_visits_column_without_a_single_value_counts_as_absent():
    frame = derive_responses(patients({}), visits(_visit("2010-07-01", onls=2.0)), S)
    assert (frame["crh_evaluable"].iloc[0], frame["crv_evaluable"].iloc[0]) == (0, 0)
    assert frame["rn"].iloc[0] == 1 and frame["crh_crv"].iloc[0] is pd.NA


def test_a_urine_immunofixation_never_recorded_makes_crh_not_evaluable():
    table = visits(_visit("2010-07-01", serum_ife=NEG, vegf_pg_ml=100.0, onls=2.0))
    assert absent_sources(patients({}), table) == {"crh": ("urine_ife",)}
    assert derive_responses(patients({}), table, S)["crh_evaluable"].iloc[0] == 0


def test_patient_columns_absent_make_every_response_not_evaluable():
    bare = patients({}, {}).drop(columns=["crh_date", "crv_date", "rn_date", "crh_evaluable",
                                          "crv_evaluable", "rn_evaluable"])
    frame = derive_responses(bare, None, S)
    assert absent_sources(bare, None) == {"crh": ("crh_date",), "crv": ("crv_date",),
                                          "rn": ("rn_date",)}
    for name in ("crh", "crv", "rn", "crh_crv"):
        assert frame[f"{name}_evaluable"].tolist() == [0, 0]
        assert frame[name].isna().all()


def test_an_empty_patient_response_column_means_not_reached():
    frame = derive_responses(patients({}, {}), None, S)  # crh_date present, all empty
    assert frame["crh"].tolist() == [0, 0] and frame["crh_evaluable"].tolist() == [1, 1]


# --- readings of evaluability: "both-or-responder" (CRH/CRV) and "assessed" (RN) ---------------

PAPER = EndpointSettings()  # the defaults: "both-or-responder" and "assessed"


def test_the_defaults_are_the_readings_of_the_paper():
    assert (PAPER.crh_crv_evaluable, PAPER.rn_evaluable) == ("both-or-responder", "assessed")


def test_crh_crv_both_or_responder_keeps_a_patient_evaluable_for_both():
    got = _from_visits({}, _visit("2010-04-01", serum_ife=POS, urine_ife=NEG, vegf_pg_ml=2000.0),
                       settings=PAPER)
    assert (got["crh_crv_evaluable"], got["crh_crv"]) == (1, 0)
    assert got["crh_crv_last_months"] == 90 / M


def test_crh_crv_both_or_responder_drops_a_non_responder_evaluable_for_one_only():
    """Baseline VEGF normal (not CRV-evaluable), CRH not reached: evaluable under "either",
    not under "both-or-responder"."""
    rows = ({"vegf_pg_ml": 500.0}, _visit("2010-04-01", serum_ife=POS, urine_ife=NEG))
    assert _from_visits(*rows)["crh_crv_evaluable"] == 1
    got = _from_visits(*rows, settings=PAPER)
    assert got["crh_crv_evaluable"] == 0 and got["crh_crv"] is pd.NA
    assert np.isnan(got["crh_crv_last_months"])


def test_crh_crv_both_or_responder_keeps_a_responder_evaluable_for_one_only():
    got = _from_visits({"vegf_pg_ml": 500.0}, _visit("2010-07-01", serum_ife=NEG, urine_ife=NEG),
                       settings=PAPER)
    assert got["crv_evaluable"] == 0
    assert (got["crh_crv_evaluable"], got["crh_crv"]) == (1, 1)
    assert got["crh_crv_months"] == 181 / M
    # a response the patient is not evaluable for does not make a responder
    got = _from_visits({"vegf_pg_ml": 500.0, "serum_ife": NEG, "urine_ife": NEG},
                       _visit("2010-04-01", vegf_pg_ml=100.0), settings=PAPER)
    assert got["crh_crv_evaluable"] == 0


def test_crh_crv_both_or_responder_from_patient_level_columns():
    rows = ({"crh_evaluable": True, "crv_evaluable": False},
            {"crh_evaluable": True, "crv_evaluable": False, "crh_date": "2010-07-01"},
            {"crh_evaluable": True, "crv_evaluable": True})
    frame = derive_responses(patients(*rows), None, PAPER)
    assert frame["crh_crv_evaluable"].tolist() == [0, 1, 1]
    assert frame["crh_crv"].tolist()[1:] == [1, 0]


def test_rn_assessed_needs_an_onls_after_treatment_start():
    # P1 has no ONLS after baseline; P2's ONLS keeps the visits' ONLS column in use
    two = patients({"onls": 3.0}, {"onls": 3.0})
    seen = visits(_visit("2010-04-01", serum_ife=POS, urine_ife=NEG),
                  _visit("2010-04-01", pid="P2", onls=2.0))
    assert derive_responses(two, seen, S)["rn_evaluable"].tolist() == [1, 1]      # "baseline"
    got = derive_responses(two, seen, PAPER)
    assert got["rn_evaluable"].tolist() == [0, 1] and got["rn"].iloc[0] is pd.NA
    assert np.isnan(got["rn_last_months"].iloc[0]) and got["rn"].iloc[1] == 1
    # an ONLS on the treatment start date or after the cutoff is no assessment
    late = ({"onls": 3.0}, _visit("2010-01-01", onls=3.0), _visit("2019-01-01", onls=1.0))
    assert _from_visits(*late, settings=PAPER)["rn_evaluable"] == 0
    got = _from_visits({"onls": 3.0}, _visit("2010-04-01", onls=3.0), settings=PAPER)
    assert (got["rn_evaluable"], got["rn"], got["rn_last_months"]) == (1, 0, 90 / M)


def test_rn_assessed_without_visits_takes_the_given_column_or_the_baseline():
    frame = derive_responses(patients({"onls": 3.0}, {"onls": 3.0, "rn_evaluable": False}),
                             None, PAPER)
    assert frame["rn_evaluable"].tolist() == [1, 0]


def test_unknown_readings_are_refused():
    import pytest

    with pytest.raises(ValueError, match="crh_crv_evaluable"):
        EndpointSettings(crh_crv_evaluable="any")
    with pytest.raises(ValueError, match="rn_evaluable"):
        EndpointSettings(rn_evaluable="sometimes")
