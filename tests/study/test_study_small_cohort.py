"""The study on the twelve-patient cohort of ``cohort12.py``; expected values worked by hand.

Independent oracles: scipy's Fisher and chi-square tests for the contingency p-values.
"""

import math

import numpy as np
import pandas as pd
import pytest
import scipy.stats as ss

from poems_cohort.study import AnalysisPlan, compute_study
from tests.study import cohort12


@pytest.fixture(scope="module")
def results():
    return compute_study(cohort12.baseline(), cohort12.analysis_dataset(), cohort12.flow(),
                         AnalysisPlan())


def row(frame, **where):
    sel = frame
    for k, v in where.items():
        sel = sel[sel[k] == v]
    assert len(sel) == 1, where
    return sel.iloc[0]


def test_table1_counts_use_each_characteristics_own_denominator(results):
    t1 = results.table1.rows
    age = row(t1, key="age_gt_50", regimen="All")
    assert (age["n"], age["N"]) == (8, 12)
    assert (row(t1, key="age_gt_50", regimen="ASCT")["n"], row(t1, key="age_gt_50",
                                                               regimen="ASCT")["N"]) == (2, 4)
    # Castleman: only the 5 biopsied patients count (A1 yes, A3 no, M2 yes, L1 no, L4 yes)
    cas = row(t1, key="castleman", regimen="All")
    assert (cas["n"], cas["N"], cas["percent"]) == (3, 5, 60.0)
    assert (row(t1, key="castleman", regimen="MDex")["N"]) == 1
    # SPE is missing for A3: 11 known, > 5 g/l in A1, M2, L1
    spe = row(t1, key="spe_gt_5", regimen="All")
    assert (spe["n"], spe["N"]) == (3, 11)
    # eGFR < 30: A3 (25), M3 (20), L4 (15)
    assert row(t1, key="egfr_lt_30", regimen="All")["n"] == 3
    assert row(t1, key="risk_high", regimen="MDex")["n"] == 2


def test_table1_p_values_follow_the_spss_policy(results):
    t1 = results.table1.rows
    # age > 50 by regimen MDex 3/4, ASCT 2/4, LDex 3/4: 3x2 -> Pearson chi-square
    age = row(t1, key="age_gt_50", regimen="All")
    expected = ss.chi2_contingency([[3, 1], [2, 2], [3, 1]], correction=False)[1]
    assert age["test"] == "Pearson chi-square"
    assert age["p_value"] == pytest.approx(expected, rel=1e-12)
    # a characteristic nobody has cannot be tested
    assert math.isnan(row(t1, key="urine_protein_gt_1", regimen="All")["p_value"])
    risk3 = row(results.table1.tests, endpoint="Risk group (low/medium/high)")
    exp3 = ss.chi2_contingency([[1, 1, 2], [2, 1, 1], [1, 2, 1]], correction=False)
    assert risk3["p_value"] == pytest.approx(exp3[1], rel=1e-12)
    assert risk3["df"] == 4


def test_table1_continuous_median_and_range(results):
    c = results.table1.continuous
    age = row(c, characteristic="Age, years", regimen="ASCT")
    assert (age["median"], age["min"], age["max"]) == (50.0, 40.0, 60.0)
    onls = row(c, characteristic="ONLS score", regimen="All")
    assert (onls["median"], onls["min"], onls["max"]) == (4.5, 1.0, 9.0)


def test_table2_response_rates_and_pairwise_fisher(results):
    t2 = results.table2.rows
    crh = row(t2, endpoint="CRH", subgroup="all", regimen="All")
    assert (crh["n"], crh["N"]) == (6, 11)  # M3 not evaluable
    assert crh["value"] == pytest.approx(100 * 6 / 11)
    z = 1.959963984540054
    p, n = 6 / 11, 11
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert crh["ci_low"] == pytest.approx(100 * (centre - half), rel=1e-9)
    assert crh["ci_high"] == pytest.approx(100 * (centre + half), rel=1e-9)
    mdex = row(t2, endpoint="CRH", subgroup="all", regimen="MDex")
    assert (mdex["n"], mdex["N"]) == (1, 3)
    assert mdex["test"] == "Fisher's exact"
    assert mdex["p_value"] == pytest.approx(ss.fisher_exact([[1, 2], [3, 1]])[1], rel=1e-12)
    assert math.isnan(row(t2, endpoint="CRH", subgroup="all", regimen="ASCT")["p_value"])
    low = row(t2, endpoint="CRH", subgroup="low", regimen="ASCT")
    assert (low["n"], low["N"]) == (2, 2)
    mh = row(t2, endpoint="CRV", subgroup="medium-high", regimen="LDex")
    assert (mh["n"], mh["N"]) == (2, 3)


def test_table2_three_year_survival_from_kaplan_meier(results):
    t2 = results.table2.rows
    # ASCT PFS: events at 20 and 40, censored 48, 60 -> S(36) = 3/4
    assert row(t2, endpoint="PFS", subgroup="all", regimen="ASCT")["value"] == pytest.approx(75)
    # MDex PFS: events at 10, 12, 24 -> 3/4 * 2/3 * 1/2 = 1/4
    assert row(t2, endpoint="PFS", subgroup="all", regimen="MDex")["value"] == pytest.approx(25)
    assert row(t2, endpoint="OS", subgroup="all", regimen="ASCT")["value"] == pytest.approx(75)
    pfs = row(t2, endpoint="PFS", subgroup="all", regimen="LDex")
    assert pfs["n"] == 3 and pfs["N"] == 4 and pfs["test"] == "log-rank"
    assert 0 < pfs["p_value"] < 1
    lo, hi = pfs["ci_low"], pfs["ci_high"]
    assert lo < pfs["value"] < hi


def test_kinetics_medians_and_cumulative_rates(results):
    k = results.kinetics
    asct = row(k.medians, response="CRH", regimen="ASCT")
    assert (asct["median"], asct["min"], asct["max"], asct["responders"]) == (6, 4, 10, 3)
    everyone = row(k.medians, response="CRH", regimen="All")
    assert everyone["median"] == 5.5  # 3, 4, 5, 6, 10, 20
    # ASCT time to CRH: 4, 6, 10 responded, censored at 30 -> 1 - 3/4 * 2/3 = 1/2 at 6 months
    six = row(k.cumulative, response="CRH", regimen="ASCT", month=6.0)
    assert six["rate"] == pytest.approx(50.0)
    twelve = row(k.cumulative, response="CRH", regimen="ASCT", month=12.0)
    assert twelve["rate"] == pytest.approx(75.0)


def test_events_followup_and_person_years(results):
    ev = row(results.survival.events, regimen="All")
    assert ev["deaths"] == 3 and ev["treatment_related_deaths"] == 1
    assert ev["progressions_alive"] == 5
    assert ev["secondary_malignancies"] == 1
    assert ev["person_years"] == pytest.approx(537 / 12)
    fu = row(results.survival.followup, regimen="All")
    assert (fu["median"], fu["min"], fu["max"]) == (43.0, 18.0, 72.0)


def test_overall_tests_and_supplementary_by_crv(results):
    tests = results.tests()
    assert set(tests["source"]) == {"table1", "table2", "survival"}
    crh3 = row(tests, source="table2", endpoint="CRH", subgroup="all")
    exp = ss.chi2_contingency([[1, 2], [3, 1], [2, 2]], correction=False)[1]
    assert crh3["test"] == "Pearson chi-square" and crh3["p_value"] == pytest.approx(exp)
    # nobody died in the low-risk group: no OS test there
    assert row(tests, source="survival", endpoint="OS", subgroup="low")["test"] == "not testable"
    crv = row(tests, endpoint="PFS by CRV", subgroup="medium-high")
    assert crv["test"] == "log-rank" and 0 < crv["p_value"] <= 1
    curves = results.survival.curves
    assert set(curves.loc[curves["by"] == "CRV", "group"]) == {"CRV", "No CRV"}


def test_exact_policy_uses_fisher_for_any_table_with_small_expected_counts():
    res = compute_study(cohort12.baseline(), cohort12.analysis_dataset(), cohort12.flow(),
                        AnalysisPlan(test_policy="exact"))
    age = row(res.table1.rows, key="age_gt_50", regimen="All")
    assert age["test"] == "Fisher's exact"


def test_to_dict_has_the_documented_keys_and_no_nan(results):
    d = results.to_dict()
    assert {"table1", "table2", "tests", "kinetics", "survival", "followup", "flow", "plan",
            "versions", "events", "curves", "at_risk"} <= set(d)
    rec = d["table2"][0]
    assert set(rec) >= {"endpoint", "subgroup", "regimen", "n", "N", "value", "ci_low",
                        "ci_high", "p_value"}
    flat = pd.json_normalize(d["table2"]).select_dtypes("number").to_numpy(float)
    assert not np.isnan(flat[~pd.isna(flat)]).any()
    assert "patient_id" not in str(d)
