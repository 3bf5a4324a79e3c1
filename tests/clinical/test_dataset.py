import math
from types import SimpleNamespace

import numpy as np
import pandas as pd

from poems_cohort.clinical import ANALYSIS_COLUMNS, EndpointSettings, derive_analysis_dataset
from tests.clinical.frames import patients, visits

M = 30.4375
NA = pd.NA
NAN = np.nan


def _cohort(with_visits=True):
    p = patients(
        {},
        {"regimen": "MDex", "age": 60.0, "pulmonary_hypertension": True, "pleural_effusion": NA,
         "egfr": NAN, "creatinine_mg_dl": 0.9, "progression_date": "2010-07-01",
         "death_date": "2011-01-01", "death_cause": "treatment-related",
         "secondary_malignancy": False, "crh_date": "2010-04-01"},
        {"regimen": "LDex", "age": 51.0, "egfr": 20.0, "serum_ife": "negative", "vegf_pg_ml": 100.0,
         "onls": 0.0, "treatment_start": "2018-01-01", "last_followup": "2019-01-01",
         "secondary_malignancy": True},
    )
    v = visits(
        {"patient_id": "P1", "visit_date": "2010-07-01", "serum_ife": "negative",
         "urine_ife": "negative", "vegf_pg_ml": 500.0, "onls": 3.0},
        {"patient_id": "P3", "visit_date": "2018-04-01", "serum_ife": "negative",
         "urine_ife": "negative", "vegf_pg_ml": 50.0},
    )
    return SimpleNamespace(patients=p, visits=v if with_visits else None)


def _expected(with_visits=True):
    r = 181 / M
    cols = {
        "patient_id": ["P1", "P2", "P3"],
        "regimen": ["ASCT", "MDex", "LDex"],
        "risk_points": [0.0, NAN, 3.0],
        "risk_group": ["low", "high", "high"],
        "crh_evaluable": [1, 1, 0], "crv_evaluable": [1, 1, 0], "rn_evaluable": [1, 1, 0],
        "crh_crv_evaluable": [1, 1, 0],
        "pfs_months": [730 / M, 181 / M, 242 / M], "pfs_event": [0, 1, 0],
        "os_months": [730 / M, 365 / M, 242 / M], "os_event": [0, 1, 0],
        "followup_months": [730 / M, 365 / M, 242 / M],
        "progression": [0, 1, 0], "death": [0, 1, 0], "treatment_related_death": [0, 1, 0],
        "secondary_malignancy": [NA, 0, 1],
        "egfr": [90.0, 141 * 0.993**60, 20.0],
        "risk_reason": pd.Series([NA, "missing: pleural effusion; group high whatever their "
                                  "values (2 known point(s))", NA], dtype=object),
    }
    if with_visits:
        # P1 responds at its 2010-07-01 visit; P2 has no visit (censored at 0 months);
        # P3 is evaluable for nothing, so its post-baseline visit is ignored.
        for name in ("crh", "crv", "rn", "crh_crv"):
            cols[name] = [1, 0, NA]
            cols[f"{name}_months"] = [r, NAN, NAN]
            cols[f"{name}_last_months"] = [r, 0.0, NAN]
    else:
        # P1 has no response dates: censored at follow-up (730 days); P2 reached CRH on
        # 2010-04-01 (90 days) and is censored at death (365 days) for the others.
        for name in ("crv", "rn"):
            cols[name] = [0, 0, NA]
            cols[f"{name}_months"] = [NAN, NAN, NAN]
            cols[f"{name}_last_months"] = [730 / M, 365 / M, NAN]
        for name in ("crh", "crh_crv"):
            cols[name] = [0, 1, NA]
            cols[f"{name}_months"] = [NAN, 90 / M, NAN]
            cols[f"{name}_last_months"] = [730 / M, 90 / M, NAN]
    frame = pd.DataFrame(cols)[list(ANALYSIS_COLUMNS)]
    for name in ANALYSIS_COLUMNS:
        if name == "risk_reason":
            continue
        if name in ("patient_id", "regimen", "risk_group"):
            frame[name] = frame[name].astype("object")
        elif name.endswith(("_months", "_points")) or name == "egfr":
            frame[name] = frame[name].astype("float64")
        else:
            frame[name] = frame[name].astype("Int8")  # the 0/1 flags (FLAG_DTYPE)
    return frame


def test_columns_follow_the_contract_order():
    got = derive_analysis_dataset(_cohort(), EndpointSettings())
    assert tuple(got.columns) == ANALYSIS_COLUMNS
    assert ANALYSIS_COLUMNS[-1] == "risk_reason"  # an extra after the contract columns
    assert ANALYSIS_COLUMNS[:21] == (
        "patient_id", "regimen", "risk_points", "risk_group", "crh_evaluable", "crh",
        "crh_months", "crv_evaluable", "crv", "crv_months", "rn_evaluable", "rn", "rn_months",
        "crh_crv_evaluable", "crh_crv", "crh_crv_months", "pfs_months", "pfs_event",
        "os_months", "os_event", "followup_months",
    )


#: the readings of evaluability the expected frame was written for
FORMER = EndpointSettings(crh_crv_evaluable="either", rn_evaluable="baseline")


def test_hand_built_cohort_with_visits():
    got = derive_analysis_dataset(_cohort(), FORMER)
    pd.testing.assert_frame_equal(got, _expected(), check_exact=True)


def test_hand_built_cohort_with_visits_under_the_default_readings():
    """P2 has a baseline ONLS of 1 but no ONLS after treatment start: not RN-evaluable when
    evaluability needs an assessment ("assessed"); nothing else changes."""
    got = derive_analysis_dataset(_cohort(), EndpointSettings())
    expected = _expected()
    expected.loc[1, "rn_evaluable"] = 0
    expected.loc[1, "rn"] = pd.NA
    expected.loc[1, ["rn_months", "rn_last_months"]] = np.nan
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


def test_hand_built_cohort_from_patient_level_columns():
    got = derive_analysis_dataset(_cohort(with_visits=False))
    pd.testing.assert_frame_equal(got, _expected(with_visits=False), check_exact=True)


def test_the_input_frames_are_not_modified():
    cohort = _cohort()
    before = cohort.patients.copy(), cohort.visits.copy()
    derive_analysis_dataset(cohort)
    pd.testing.assert_frame_equal(cohort.patients, before[0])
    pd.testing.assert_frame_equal(cohort.visits, before[1])


def test_a_non_default_index_gives_rows_in_the_patients_order():
    cohort = _cohort()
    shuffled = SimpleNamespace(patients=cohort.patients.iloc[[2, 0, 1]].set_axis([7, 8, 9]),
                               visits=cohort.visits)
    got = derive_analysis_dataset(shuffled)
    assert got["patient_id"].tolist() == ["P3", "P1", "P2"]
    assert list(got.index) == [0, 1, 2]


def test_the_risk_score_uses_the_computed_egfr():
    # male, 40 years, creatinine 3.0 mg/dl: 141 × (3.0/0.9)^-1.209 × 0.993^40 ≈ 24.8 < 30
    p = patients({"egfr": NAN, "creatinine_mg_dl": 3.0},
                 {"egfr": NAN, "creatinine_mg_dl": 3.0, "age": NAN})
    got = derive_analysis_dataset(SimpleNamespace(patients=p, visits=None))
    assert math.isclose(got["egfr"].iloc[0], 141 * (3.0 / 0.9) ** -1.209 * 0.993**40, rel_tol=1e-13)
    assert got["risk_points"].iloc[0] == 2.0 and got["risk_group"].iloc[0] == "high"
    # without age the eGFR cannot be computed: 0 known points, 3 possible → undecided
    assert np.isnan(got["egfr"].iloc[1]) and got["risk_group"].iloc[1] is pd.NA


def test_an_egfr_race_factor_setting_changes_only_computed_values():
    p = patients({"egfr": NAN, "creatinine_mg_dl": 0.9, "age": 50.0}, {"egfr": 25.0})
    got = derive_analysis_dataset(SimpleNamespace(patients=p, visits=None),
                                  EndpointSettings(egfr_race_factor=1.159))
    assert math.isclose(got["egfr"].iloc[0], 141 * 0.993**50 * 1.159, rel_tol=1e-13)
    assert got["egfr"].iloc[1] == 25.0


def test_absent_response_columns_of_a_loaded_cohort_are_not_evaluable(tmp_path):
    from pathlib import Path

    from poems_cohort.cohort import load_cohort

    example = Path(__file__).resolve().parents[2] / "examples" / "ten-patients"
    alone = load_cohort(example / "patients.csv")  # no visits, no *_date columns
    frame = derive_analysis_dataset(alone)
    for name in ("crh", "crv", "rn", "crh_crv"):
        assert (frame[f"{name}_evaluable"] == 0).all(), name
        assert frame[name].isna().all(), name
    # the same cells, but with an empty crh_date column: evaluable, not reached
    table = pd.read_csv(example / "patients.csv", dtype=str, keep_default_na=False)
    table["crh_date"] = ""
    table.to_csv(tmp_path / "patients.csv", index=False)
    frame = derive_analysis_dataset(load_cohort(tmp_path / "patients.csv"))
    assert frame["crh_evaluable"].sum() > 0
    assert (frame["crh"].dropna() == 0).all() and frame["crv_evaluable"].sum() == 0


def test_analysis_frame_is_the_concatenated_columns_without_copying_them():
    from poems_cohort.clinical.dataset import analysis_frame
    from poems_cohort.clinical.egfr import resolve_egfr
    from poems_cohort.clinical.responses import derive_responses
    from poems_cohort.clinical.risk import risk_score
    from poems_cohort.clinical.survival import derive_survival

    c = _cohort()
    p = c.patients.set_axis([7, 3, 11])
    s = EndpointSettings()
    got = analysis_frame(p, c.visits, s)
    egfr = resolve_egfr(p, race_factor=s.egfr_race_factor)
    responses = derive_responses(p, c.visits, s)
    ref = pd.concat([pd.DataFrame({"patient_id": p["patient_id"].astype("object"),
                                   "regimen": p["regimen"].astype("object")}),
                     risk_score(p.assign(egfr=egfr), s.risk_score), responses,
                     derive_survival(p, s), egfr.to_frame()], axis=1)
    want = ref.loc[:, list(ANALYSIS_COLUMNS)].reset_index(drop=True)
    # the pieces' Int64 flags are taken as Int8: the same values, 2 bytes a patient, not 9
    flags = [c for c in want.columns if str(want[c].dtype) == "Int64"]
    assert len(flags) == 14 and all(str(got[c].dtype) == "Int8" for c in flags)
    for c in flags:
        assert got[c].astype("Int64").equals(want[c])
    pd.testing.assert_frame_equal(got, want.astype(dict.fromkeys(flags, "Int8")))
    assert isinstance(got.index, pd.RangeIndex)
    # each column is its own block (the pieces' arrays, not a copy of them)
    assert got._mgr.nblocks == len(ANALYSIS_COLUMNS)


def test_only_zero_one_integer_columns_become_eight_bit_flags():
    """``Int8`` holds -128..127: a nullable integer column with any other value keeps
    ``Int64`` (pandas' cast would wrap 200 into -56 silently); 0/1 flags, all-missing ones
    included, are narrowed."""
    from poems_cohort.clinical.dataset import _is_flag

    assert _is_flag(pd.Series([0, 1, None], dtype="Int64"))
    assert _is_flag(pd.Series([None, None], dtype="Int64"))
    assert _is_flag(pd.Series([], dtype="Int64"))
    assert not _is_flag(pd.Series([0, 1, 200], dtype="Int64"))
    assert not _is_flag(pd.Series([0, -1], dtype="Int64"))
    assert not _is_flag(pd.Series([0, 2], dtype="Int64"))
    assert not _is_flag(pd.Series([0.0, 1.0]))
