"""The study's frames at registry size: the baseline frame set beside the patients' columns
instead of merged, and the comparative analyses reading only the columns their covariate rules
read; both give the frames the merges gave."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from poems_cohort.study._common import same_order
from poems_cohort.study.comparative import RULES, covariate_values, rule_columns
from poems_cohort.study.run import baseline_frame
from poems_cohort.workflow import derive


def _patients() -> pd.DataFrame:
    return pd.DataFrame({
        "patient_id": ["P1", "P2", "P3", "P4"],
        "regimen": ["ASCT", "MDex", "LDex", "ASCT"],
        "age": [51.0, 60.0, np.nan, 45.0],
        "sex": ["M", "F", None, "M"],
        "egfr": [1.0, 2.0, 3.0, 4.0],  # replaced by the derived eGFR
    }, index=[10, 11, 12, 13])


def _ds(order: list[int]) -> pd.DataFrame:
    ids = np.array(["P1", "P2", "P3", "P4"], dtype=object)[order]
    return pd.DataFrame({
        "patient_id": ids,
        "risk_group": pd.Series(["low", None, "high", "medium"], dtype=object).iloc[order]
        .to_numpy(),
        "egfr": np.array([90.0, np.nan, 45.0, 70.0])[order],
    })


def _merged(patients: pd.DataFrame, ds: pd.DataFrame) -> pd.DataFrame:
    base = patients.drop(columns=["egfr"])
    return base.merge(ds[["patient_id", "risk_group", "egfr"]], on="patient_id", how="left",
                      validate="one_to_one")


@pytest.mark.parametrize("order", [[0, 1, 2, 3], [3, 2, 1, 0], [1, 0, 2, 3]])
def test_baseline_frame_equals_the_merge_in_any_order(order):
    patients, ds = _patients(), _ds(order)
    got = baseline_frame(patients, ds)
    pd.testing.assert_frame_equal(got, _merged(patients, ds))
    assert list(got.columns) == ["patient_id", "regimen", "age", "sex", "risk_group", "egfr"]
    assert got.loc[got["patient_id"] == "P3", "egfr"].item() == 45.0


def test_same_order():
    a = pd.Series(["P1", "P2", "P3"], dtype=object)
    assert same_order(a, pd.Series(["P1", "P2", "P3"]))
    assert not same_order(a, pd.Series(["P2", "P1", "P3"]))
    assert not same_order(a, pd.Series(["P1", "P2"]))
    assert not same_order(pd.Series(["P1", None]), pd.Series(["P1", None]))
    assert not same_order(pd.Series(["P1", "P1"]), pd.Series(["P1", "P1"]))


def test_rule_columns_are_all_the_rules_read():
    columns = rule_columns()
    assert {"age", "sex", "vegf_pg_ml", "heavy_chain", "egfr", "castleman"} <= columns
    derived = derive(None)
    baseline = baseline_frame(derived.eligibility.included.patients, derived.dataset)
    assert columns <= set(baseline.columns)
    names = list(RULES)
    # the rule columns alone give every covariate as the whole baseline does
    pd.testing.assert_frame_equal(covariate_values(baseline[sorted(columns)], names),
                                  covariate_values(baseline, names))
    # and leaving any one of them out changes some covariate
    for c in sorted(columns):
        assert not covariate_values(baseline.drop(columns=c), names).equals(
            covariate_values(baseline, names)), c


@pytest.mark.parametrize("order", [[0, 1, 2, 3], [3, 2, 1, 0], [1, 0, 2, 3]])
def test_the_comparative_frame_equals_the_merge_in_any_order(order):
    from poems_cohort.study.comparative_results import comparative_frame

    patients = _patients()
    rows = _ds(order).assign(regimen=lambda d: d["patient_id"].map(
        dict(zip(patients["patient_id"], patients["regimen"], strict=True))))
    rows.index = [20, 21, 22, 23]
    base = patients[["patient_id", "age", "sex"]]
    got = comparative_frame(rows, base)
    merged = rows[["patient_id", "regimen", "risk_group", "egfr"]].merge(
        base, on="patient_id", how="left", validate="one_to_one").set_axis(rows.index)
    pd.testing.assert_frame_equal(got, merged)
    assert got.loc[got["patient_id"] == "P3", "age"].isna().item()
    assert list(got.index) == [20, 21, 22, 23]


def test_the_study_reads_only_the_patient_columns_it_keeps():
    import json

    from poems_cohort.study import compute_study
    from poems_cohort.study.run import study_columns, study_patients

    derived = derive(None)
    patients, ds = derived.eligibility.included.patients, derived.dataset
    kept = study_patients(patients, derived.plan)
    assert set(kept.columns) == set(patients.columns) & study_columns(derived.plan)
    assert {"patient_id", "regimen", "age", "vegf_pg_ml"} <= set(kept.columns)
    assert not {"death_date", "serum_ife", "crh_date"} & set(kept.columns)
    assert study_patients(kept, derived.plan) is kept  # nothing left to drop: no copy
    flow = derived.eligibility.flow.to_frame()

    def study(frame: pd.DataFrame) -> str:
        res = compute_study(baseline_frame(frame, ds), ds, flow, derived.plan)
        return json.dumps(res.to_dict(), sort_keys=True, default=str)

    assert study(kept) == study(patients)


def test_the_propensity_design_built_again_is_the_fitted_one():
    """The study lets the propensity design go during the Cox models and builds it again for
    the analysis dataset: every value, column and row label as fitted, bit for bit (any subset
    of its columns, as the separation check may leave)."""
    from poems_cohort.study.comparative import fit_propensity, propensity_design, rule_columns
    from poems_cohort.study.comparative_results import comparative_frame, compute_comparative

    derived = derive(None)
    ds = derived.dataset.set_axis(range(100, 100 + len(derived.dataset)))
    baseline = baseline_frame(derived.eligibility.included.patients, derived.dataset)
    base = baseline[["patient_id", *sorted(rule_columns() & set(baseline.columns)
                                           - {"patient_id", "regimen", "risk_group", "egfr"})]]
    frame = comparative_frame(ds, base)
    prop = fit_propensity(frame, derived.plan)
    columns = list(prop.design.columns)
    assert len(columns) > 2 and len(prop.design) == len(ds)
    for kept in (columns, columns[1:], columns[::2]):
        again = propensity_design(frame, prop, kept)
        pd.testing.assert_frame_equal(again, prop.design[kept], check_exact=True)
        assert (again.to_numpy().view(np.uint64)
                == prop.design[kept].to_numpy().view(np.uint64)).all()
    # and the study's result holds the whole design again, the dataset its ps_ columns
    from poems_cohort.study.survival import compute_survival
    from poems_cohort.study.table2 import compute_table2

    table2 = compute_table2(ds, derived.plan, compute_survival(ds, derived.plan).by_regimen)
    comp, dataset = compute_comparative(baseline.set_axis(ds.index), ds, table2.rows,
                                        derived.plan)
    assert comp.propensity is not None
    pd.testing.assert_frame_equal(comp.propensity.design, prop.design, check_exact=True)
    pd.testing.assert_frame_equal(dataset[[f"ps_{c}" for c in columns]],
                                  prop.design.add_prefix("ps_"), check_exact=True)


def _wide_patients(consolidated: bool) -> pd.DataFrame:
    """The example's patients, each column in its own array (as the engine's reader builds the
    frame) or consolidated (columns of one type side by side in one 2-D array)."""
    patients = derive(None).eligibility.included.patients
    if consolidated:
        return patients.copy()  # a copy consolidates the blocks
    return pd.DataFrame({c: patients[c].copy() for c in patients.columns}, copy=False)


@pytest.mark.parametrize("consolidated", [False, True])
def test_study_patients_shares_own_columns_and_copies_consolidated_ones(consolidated):
    from poems_cohort.study.plan import AnalysisPlan
    from poems_cohort.study.run import _in_shared_block, study_patients

    patients = _wide_patients(consolidated)
    numeric = [c for c in patients.columns if patients[c].dtype == np.float64]
    assert len(numeric) > 2
    assert all(_in_shared_block(patients[c]) for c in numeric) == consolidated
    kept = study_patients(patients, AnalysisPlan())
    assert 0 < len(kept.columns) < len(patients.columns)
    pd.testing.assert_frame_equal(kept, patients[list(kept.columns)])
    shares = [np.shares_memory(kept[c].to_numpy(), patients[c].to_numpy())
              for c in kept.columns if kept[c].dtype == np.float64]
    # own arrays are taken as they are (no copy); a consolidated block is copied, so that the
    # columns left out are not kept alive through it
    assert shares and all(shares) == (not consolidated) and any(shares) == (not consolidated)


def test_propensity_design_from_the_rules_is_that_of_the_covariate_values():
    # the design is built from each covariate as it is read (no frame of the covariate values):
    # the design of covariate_values' frame, bit for bit
    from poems_cohort import stats
    from poems_cohort.study.comparative import COVARIATES, _covariate_design

    derived = derive(None)
    baseline = baseline_frame(derived.eligibility.included.patients, derived.dataset)
    names = tuple(RULES)
    got, dropped = _covariate_design(baseline, names)
    want = stats.covariate_design(
        covariate_values(baseline, names),
        continuous=[n for n in names if COVARIATES[n][0] == "continuous"],
        categorical=[n for n in names if COVARIATES[n][0] == "binary"])
    pd.testing.assert_frame_equal(got, want.frame, check_exact=True)
    assert dropped == list(want.dropped)
    assert got.shape[1] > 10


@pytest.mark.parametrize("dtype", [object, pd.StringDtype("pyarrow", na_value=np.nan),
                                   pd.StringDtype("python")])
def test_same_order_of_text_identifiers(dtype):
    def s(values):
        return pd.Series(values, dtype=dtype)

    assert same_order(s(["P1", "P2", "P3"]), s(["P1", "P2", "P3"]))
    assert same_order(s(["P1", "P2"]), pd.Series(["P1", "P2"], dtype=object))
    assert not same_order(s(["P1", "P2", "P3"]), s(["P2", "P1", "P3"]))
    assert not same_order(s(["P1", "P2"]), s(["P1", "P2", "P3"]))
    assert not same_order(s(["P1", None]), s(["P1", None]))
    assert not same_order(s(["P1", "P1"]), s(["P1", "P1"]))
    # the same rows as the merge's, the identifiers as text or as objects alike
    patients = _patients().assign(patient_id=lambda d: d["patient_id"].astype(dtype))
    ds = _ds([0, 1, 2, 3]).assign(patient_id=lambda d: d["patient_id"].astype(dtype))
    pd.testing.assert_frame_equal(baseline_frame(patients, ds), _merged(patients, ds))


def test_the_design_without_separated_columns_is_the_whole_design_s_other_columns():
    # fit_propensity builds the design again without the columns separation drops (no copy of
    # the rest beside it): the whole design's other columns, bit for bit, in one block
    from poems_cohort.study.comparative import _covariate_design, fit_propensity, rule_columns
    from poems_cohort.study.comparative_results import comparative_frame

    derived = derive(None)
    ds = derived.dataset
    baseline = baseline_frame(derived.eligibility.included.patients, ds)
    base = baseline[["patient_id", *sorted(rule_columns() & set(baseline.columns)
                                           - {"patient_id", "regimen", "risk_group", "egfr"})]]
    frame = comparative_frame(ds, base)
    asct = np.flatnonzero((frame["regimen"] == "ASCT").to_numpy())[:3]
    hep = frame["hepatomegaly"].astype("boolean").fillna(False)
    hep.iloc[asct] = pd.NA  # missing only among ASCT patients: separation
    frame = frame.assign(hepatomegaly=hep)
    prop = fit_propensity(frame, derived.plan)
    separated = [c for c, why in prop.dropped if "separation" in why]
    assert "hepatomegaly_missing" in separated
    whole, _ = _covariate_design(frame, prop.covariates)
    pd.testing.assert_frame_equal(prop.design, whole.drop(columns=separated), check_exact=True)
    assert prop.design._mgr.nblocks == 1
