"""Typed accessors of the study's results: one set of names (``study.names``), no string keys
built by the caller. Checked against the frames they read and against independent oracles."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats as ss

from poems_cohort import stats
from poems_cohort.study import AnalysisPlan, compute_study
from poems_cohort.study.names import BY_CRV, OS, PFS, SURVIVAL, TABLE1, TABLE2, endpoint_label
from poems_cohort.study.policy import FISHER, LOGRANK, PEARSON
from tests.study import cohort12


@pytest.fixture(scope="module")
def results():
    return compute_study(cohort12.baseline(), cohort12.analysis_dataset(), cohort12.flow(),
                         AnalysisPlan())


def test_survival_test_by_regimen_is_the_logrank_test(results):
    ds = cohort12.analysis_dataset()
    direct = stats.logrank_test(ds["os_months"].to_numpy(float), ds["os_event"].to_numpy(int),
                                ds["regimen"].to_numpy(object))
    got = results.survival.test(OS)
    assert got.test == LOGRANK
    assert got.p_value == pytest.approx(float(direct.p_value), rel=1e-12)
    assert got == results.test(SURVIVAL, OS, subgroup="all")


def test_survival_test_by_crv_in_the_supplementary_subgroup(results):
    ds = cohort12.analysis_dataset()
    sub = ds[ds["risk_group"].isin(["medium", "high"]) & (ds["crv_evaluable"] == 1)]
    status = np.where(sub["crv"] == 1, "CRV", "No CRV")
    direct = stats.logrank_test(sub["pfs_months"].to_numpy(float),
                                sub["pfs_event"].to_numpy(int), status)
    got = results.survival.test(PFS, by=BY_CRV, subgroup="medium-high")
    assert got.p_value == pytest.approx(float(direct.p_value), rel=1e-12)
    assert endpoint_label(PFS, BY_CRV) == "PFS by CRV"
    curve = results.survival.curve(PFS, "CRV", by=BY_CRV, subgroup="medium-high")
    assert len(curve) > 0 and set(curve["group"]) == {"CRV"}


def test_table2_row_and_test(results):
    row = results.table2.row("CRH", regimen="MDex")
    # CRH evaluable: MDex 3 (M3 not evaluable), 1 responder; ASCT 4 evaluable, 3 responders
    assert (row["n"], row["N"]) == (1, 3)
    assert row["p_value"] == pytest.approx(ss.fisher_exact([[1, 2], [3, 1]])[1], rel=1e-12)
    assert row["test"] == FISHER
    across = results.table2.test("CRH")
    assert across.test == PEARSON
    chi = ss.chi2_contingency([[1, 2], [3, 1], [2, 2]], correction=False)
    assert across.p_value == pytest.approx(chi.pvalue, rel=1e-12)
    assert across == results.test(TABLE2, "CRH")


def test_table1_test_and_estimate(results):
    t = results.test(TABLE1, "Male")
    assert t.test in (FISHER, PEARSON)
    est = results.survival.estimate(OS, regimen="LDex")
    assert (est["N"], est["events"]) == (4, 1)


def test_unknown_keys_name_what_was_asked(results):
    with pytest.raises(KeyError, match="no survival test with endpoint='OS by CRV', "
                                       "subgroup='low'"):
        results.survival.test(OS, by=BY_CRV, subgroup="low")
    with pytest.raises(KeyError, match="no Table 2 row"):
        results.table2.row("CRH", regimen="Nothing")
    with pytest.raises(KeyError, match="no test source"):
        results.test("table9", "CRH")
    assert math.isnan(results.table2.row("CRH")["p_value"])
