"""The study's numbers, end to end, against R (``survival`` and ``stats``).

The fixed synthetic cohort ``tests/reference/study/cohort`` goes through our pipeline
(``load_cohort`` → ``apply_eligibility`` → ``run_study`` with the default plan) and every number
is compared with the values R computed from the same cohort in
``tests/reference/study/study_reference.json``, made by::

    Rscript tests/reference/study/make_study_reference.R

R calls behind each value (``d`` = the rows of one subgroup and regimen):

- Table 1 and Table 2 tests: ``chisq.test(x, correct = FALSE)`` and ``fisher.test(x)`` on the
  table with empty rows and columns dropped; which one we report is checked against the rule of
  the test policy applied to R's expected counts.
- Table 2 proportions: ``prop.test(n, N, correct = FALSE)$conf.int`` (Wilson).
- PFS/OS: ``summary(survfit(Surv(time, event) ~ 1, data = d, conf.type = "log-log"),
  times = 36, extend = TRUE)`` and ``summary(fit)$table`` for the median;
  ``survdiff(Surv(time, event) ~ regimen)`` for all regimens and for each regimen with ASCT.
- Follow-up: ``median(followup_months)`` and the reverse Kaplan–Meier median
  ``survfit(Surv(os_months, 1 - os_event) ~ 1, conf.type = "log")``.
- Kinetics: ``1 - summary(survfit(Surv(time, reached) ~ 1, conf.type = "log-log"),
  times = c(6, 12), extend = TRUE)$surv``, time = months to the response if reached, else to the
  last usable assessment, among evaluable patients.

R is not needed to run this test.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from poems_cohort.clinical import derive_analysis_dataset
from poems_cohort.cohort import apply_eligibility, load_cohort
from poems_cohort.study.plan import AnalysisPlan
from poems_cohort.study.policy import FISHER, LOGRANK, NOT_TESTABLE, PEARSON
from poems_cohort.workflow import run_study

HERE = Path(__file__).resolve().parents[1] / "reference" / "study"
RTOL = 1e-8
P_RTOL = 1e-9
GROUPS = ("All", "MDex", "ASCT", "LDex")
OTHERS = ("MDex", "LDex")


def _load_reference() -> dict[str, Any]:
    with open(HERE / "study_reference.json", encoding="utf-8") as fh:
        return json.load(fh)


REF = _load_reference()


@cache
def study(policy: str = "spss", late: bool = False) -> Any:
    """The study of the test cohort: the default plan, or another test policy, or late landmarks
    (10-year PFS/OS, 5-year response rates) that some curves do not reach."""
    plan = replace(AnalysisPlan(), test_policy=policy)
    if late:
        plan = replace(plan, survival_landmark_months=120.0,
                       response_landmarks_months=(6.0, 12.0, 60.0))
    return run_study(load_cohort(HERE / "cohort"), plan)


def num(x: Any) -> float:
    """R's null (NA) as NaN."""
    return math.nan if x is None else float(x)


def close(ours: Any, r: Any, rtol: float = RTOL, what: str = "") -> None:
    """Equal to ``rtol``, with missing values in the same places."""
    a = np.atleast_1d(np.asarray(ours, dtype=float))
    b = np.atleast_1d(np.array([num(v) for v in np.atleast_1d(np.asarray(r, dtype=object))]))
    np.testing.assert_allclose(a, b, rtol=rtol, atol=0, equal_nan=True, err_msg=what)


def one(frame: pd.DataFrame, **keys: Any) -> pd.Series:
    """The single row of ``frame`` matching ``keys``."""
    mask = np.ones(len(frame), dtype=bool)
    for k, v in keys.items():
        mask &= (frame[k] == v).to_numpy()
    rows = frame[mask]
    assert len(rows) == 1, f"{len(rows)} rows for {keys}"
    return rows.iloc[0]


def implied_test(ref: dict[str, Any], policy: str) -> str:
    """The test the policy's rule picks for a table, from R's expected counts."""
    if not ref["testable"]:
        return NOT_TESTABLE
    small = ref["min_expected"] < 5
    if small and (policy == "exact" or list(ref["tested_shape"]) == [2, 2]):
        return FISHER
    return PEARSON


def check_table_test(test: str, statistic: float, df: float, p: float, ref: dict[str, Any],
                     policy: str, what: str) -> None:
    expected = implied_test(ref, policy)
    assert test == expected, f"{what}: {test!r}, the rule gives {expected!r} " \
                             f"(R's smallest expected count {ref.get('min_expected')})"
    if expected == NOT_TESTABLE:
        assert math.isnan(p), what
    elif expected == FISHER:
        close(p, ref["fisher_p"], P_RTOL, what)
    else:
        close([statistic, df], [ref["chisq"]["statistic"], ref["chisq"]["df"]], RTOL, what)
        close(p, ref["chisq"]["p"], P_RTOL, what)


# ---------------------------------------------------------------- the input R read


def test_the_analysis_dataset_r_read_is_the_one_the_pipeline_derives():
    cohort = load_cohort(HERE / "cohort")
    eligibility = apply_eligibility(cohort)
    ds = derive_analysis_dataset(eligibility.included, AnalysisPlan().endpoint_settings())
    frozen = pd.read_csv(HERE / "analysis_dataset.csv")
    assert len(ds) == len(frozen) == REF["patients"]
    assert list(ds["patient_id"].astype(str)) == list(frozen["patient_id"])
    for col in frozen.columns:
        if col in ("patient_id", "regimen", "risk_group"):
            assert list(ds[col].astype(object).where(ds[col].notna(), None)) == \
                list(frozen[col].astype(object).where(frozen[col].notna(), None)), col
        else:
            close(pd.to_numeric(ds[col].astype("Float64"), errors="coerce")
                  .astype(float).to_numpy(), frozen[col].to_numpy(float), 0.0, col)


# ---------------------------------------------------------------- Table 1

T1_KEYS = [t["key"] for t in REF["table1"]]


@pytest.mark.parametrize("key", T1_KEYS)
def test_table1_counts(key):
    ref = next(t for t in REF["table1"] if t["key"] == key)
    rows = study().table1.rows
    for g in ref["groups"]:
        row = one(rows, key=key, regimen=g["regimen"])
        assert (row["n"], row["N"]) == (g["n"], g["N"]), (key, g["regimen"])
        close(row["percent"] / 100, g["n"] / g["N"] if g["N"] else math.nan, RTOL, key)
    table = []
    for r in ("MDex", "ASCT", "LDex"):
        row = one(rows, key=key, regimen=r)
        table.append([int(row["n"]), int(row["N"] - row["n"])])
    assert table == ref["counts"], key


@pytest.mark.parametrize("policy", ["spss", "exact"])
@pytest.mark.parametrize("key", T1_KEYS)
def test_table1_test(key, policy):
    ref = next(t for t in REF["table1"] if t["key"] == key)
    res = study(policy)
    label = one(res.table1.rows, key=key, regimen="All")["characteristic"]
    t = one(res.table1.tests, endpoint=label)
    check_table_test(t["test"], t["statistic"], t["df"], t["p_value"], ref, policy, key)
    for row in res.table1.rows[res.table1.rows["key"] == key].itertuples():
        assert row.test == t["test"]
        close(row.p_value, t["p_value"], 0.0, key)


@pytest.mark.parametrize("policy", ["spss", "exact"])
def test_table1_risk_group_3x3(policy):
    ref = REF["table1_risk_3x3"]
    t = one(study(policy).table1.tests, endpoint="Risk group (low/medium/high)")
    check_table_test(t["test"], t["statistic"], t["df"], t["p_value"], ref, policy, "risk 3x3")


def test_table1_continuous():
    cont = study().table1.continuous
    labels = {"age": "Age, years", "onls": "ONLS score"}
    for ref in REF["table1_continuous"]:
        row = one(cont, characteristic=labels[ref["column"]], regimen=ref["regimen"])
        assert row["N"] == ref["N"]
        close([row["median"], row["min"], row["max"]], [ref["median"], ref["min"], ref["max"]],
              RTOL, f"{ref['column']} {ref['regimen']}")


# ---------------------------------------------------------------- Table 2 responses

T2_ITEMS = [(t["endpoint"], t["subgroup"]) for t in REF["table2"]]
T2_IDS = [f"{e}-{s}" for e, s in T2_ITEMS]


def _t2_ref(endpoint: str, subgroup: str) -> dict[str, Any]:
    return next(t for t in REF["table2"] if (t["endpoint"], t["subgroup"]) == (endpoint, subgroup))


@pytest.mark.parametrize(("endpoint", "subgroup"), T2_ITEMS, ids=T2_IDS)
def test_table2_proportions(endpoint, subgroup):
    ref = _t2_ref(endpoint, subgroup)
    rows = study().table2.rows
    for g in ref["groups"]:
        row = one(rows, endpoint=endpoint, subgroup=subgroup, regimen=g["regimen"])
        what = f"{endpoint} {subgroup} {g['regimen']}"
        assert (row["n"], row["N"]) == (g["n"], g["N"]), what
        close(np.array([row["value"], row["ci_low"], row["ci_high"]], dtype=float) / 100,
              [g["estimate"], g["lower"], g["upper"]], RTOL, what)


@pytest.mark.parametrize("policy", ["spss", "exact"])
@pytest.mark.parametrize(("endpoint", "subgroup"), T2_ITEMS, ids=T2_IDS)
def test_table2_tests(endpoint, subgroup, policy):
    ref = _t2_ref(endpoint, subgroup)
    res = study(policy)
    t = one(res.table2.tests, endpoint=endpoint, subgroup=subgroup)
    check_table_test(t["test"], t["statistic"], t["df"], t["p_value"], ref["overall"], policy,
                     f"{endpoint} {subgroup} all regimens")
    for r in OTHERS:
        vs = ref["vs_reference"][r]
        row = one(res.table2.rows, endpoint=endpoint, subgroup=subgroup, regimen=r)
        # Table 2 keeps the p-value and the test name of the 2x2 comparison, not its statistic.
        check_table_test(row["test"], math.nan, math.nan, row["p_value"],
                         _p_only(vs), policy, f"{endpoint} {subgroup} {r} vs ASCT")
        assert vs["counts"][0][0] == row["n"]
        assert vs["counts"][0][0] + vs["counts"][0][1] == row["N"]
    for name in ("All", "ASCT"):
        row = one(res.table2.rows, endpoint=endpoint, subgroup=subgroup, regimen=name)
        assert math.isnan(row["p_value"])


def _p_only(ref: dict[str, Any]) -> dict[str, Any]:
    """A table reference whose Pearson statistic and df are not compared (NaN on our side)."""
    if not ref["testable"]:
        return ref
    return {**ref, "chisq": {"statistic": None, "df": None, "p": ref["chisq"]["p"]}}


# ---------------------------------------------------------------- PFS and OS

SURV_ITEMS = [(s["endpoint"], s["subgroup"], s["regimen"]) for s in REF["survival"]]


@pytest.mark.parametrize(("endpoint", "subgroup", "regimen"), SURV_ITEMS,
                         ids=["-".join(i) for i in SURV_ITEMS])
def test_survival_rate_and_median(endpoint, subgroup, regimen):
    ref = next(s for s in REF["survival"]
               if (s["endpoint"], s["subgroup"], s["regimen"]) == (endpoint, subgroup, regimen))
    res = study()
    row = one(res.survival.by_regimen, endpoint=endpoint, subgroup=subgroup, regimen=regimen)
    what = f"{endpoint} {subgroup} {regimen}"
    assert (row["N"], row["events"]) == (ref["N"], ref["events"]), what
    assert ref["max_time"] >= 36, what
    close(np.array([row["rate"], row["ci_low"], row["ci_high"]], dtype=float) / 100,
          [ref["surv"], ref["lower"], ref["upper"]], RTOL, what)
    m = ref["median"]
    close([row["median"], row["median_low"], row["median_high"]],
          [m["median"], m["lower"], m["upper"]], RTOL, what)
    t2 = one(res.table2.rows, endpoint=endpoint, subgroup=subgroup, regimen=regimen)
    assert (t2["n"], t2["N"]) == (ref["events"], ref["N"])
    close([t2["value"], t2["ci_low"], t2["ci_high"]], [row["rate"], row["ci_low"], row["ci_high"]],
          0.0, what)


@pytest.mark.parametrize(("endpoint", "subgroup", "regimen"), SURV_ITEMS,
                         ids=["-".join(i) for i in SURV_ITEMS])
def test_survival_rate_at_a_landmark_past_the_curve(endpoint, subgroup, regimen):
    """10-year rates: equal to R where the curve reaches 10 years; missing (on purpose) where it
    stops before with S > 0, where ``summary(fit, times, extend = TRUE)`` carries it forward."""
    ref = next(s for s in REF["survival"]
               if (s["endpoint"], s["subgroup"], s["regimen"]) == (endpoint, subgroup, regimen))
    late = ref["late"]
    row = one(study(late=True).survival.by_regimen, endpoint=endpoint, subgroup=subgroup,
              regimen=regimen)
    ours = np.array([row["rate"], row["ci_low"], row["ci_high"]], dtype=float) / 100
    what = f"{endpoint} {subgroup} {regimen} at {late['time']} months"
    if ref["max_time"] < late["time"] and late["surv"] > 0:
        assert np.isnan(ours).all(), what
    else:
        close(ours, [late["surv"], late["lower"], late["upper"]], RTOL, what)


def test_some_curves_stop_before_the_late_landmarks():
    """The late-landmark checks cover both cases."""
    stops = [s["max_time"] < s["late"]["time"] for s in REF["survival"]]
    assert any(stops) and not all(stops)
    stops = [k["max_time"] < k["late"]["month"] for k in REF["kinetics"]]
    assert any(stops) and not all(stops)


LR_ITEMS = [(s["endpoint"], s["subgroup"]) for s in REF["survival_tests"]]


def _check_logrank(test: str, statistic: float, df: float, p: float, ref: dict[str, Any],
                   what: str) -> None:
    if not ref["testable"]:
        assert test == NOT_TESTABLE and math.isnan(p), what
        return
    assert test == LOGRANK, what
    close([statistic, df], [ref["statistic"], ref["df"]], RTOL, what)
    close(p, ref["p"], P_RTOL, what)


@pytest.mark.parametrize(("endpoint", "subgroup"), LR_ITEMS, ids=[f"{e}-{s}" for e, s in LR_ITEMS])
def test_logrank(endpoint, subgroup):
    ref = next(s for s in REF["survival_tests"] if (s["endpoint"], s["subgroup"]) ==
               (endpoint, subgroup))
    res = study()
    t = one(res.survival.tests, endpoint=endpoint, subgroup=subgroup)
    _check_logrank(t["test"], t["statistic"], t["df"], t["p_value"], ref["overall"],
                   f"{endpoint} {subgroup}")
    for r in OTHERS:
        row = one(res.survival.by_regimen, endpoint=endpoint, subgroup=subgroup, regimen=r)
        vs = ref["vs_reference"][r]
        what = f"{endpoint} {subgroup} {r} vs ASCT"
        if vs["testable"]:
            assert row["test"] == LOGRANK, what
            close(row["p_value"], vs["p"], P_RTOL, what)
        else:
            assert row["test"] == NOT_TESTABLE and math.isnan(row["p_value"]), what
        t2 = one(res.table2.rows, endpoint=endpoint, subgroup=subgroup, regimen=r)
        assert t2["test"] == row["test"]
        close(t2["p_value"], row["p_value"], 0.0, what)


@pytest.mark.parametrize("endpoint", ["PFS", "OS"])
def test_survival_by_crv_in_medium_high_risk(endpoint):
    ref = REF["by_crv"][endpoint]
    res = study()
    t = one(res.survival.tests, endpoint=f"{endpoint} by CRV", subgroup="medium-high")
    _check_logrank(t["test"], t["statistic"], t["df"], t["p_value"], ref, f"{endpoint} by CRV")
    curves = res.survival.curves
    for group, n in (("CRV", ref["n_crv"]), ("No CRV", ref["n_no_crv"])):
        c = curves[(curves["endpoint"] == endpoint) & (curves["by"] == "CRV")
                   & (curves["group"] == group)]
        assert int(c["n_risk"].iloc[0]) == n, (endpoint, group)


# ---------------------------------------------------------------- follow-up and events


@pytest.mark.parametrize("regimen", GROUPS)
def test_followup(regimen):
    ref = next(f for f in REF["followup"] if f["regimen"] == regimen)
    row = one(study().survival.followup, regimen=regimen)
    assert row["N"] == ref["N"]
    rk = ref["reverse_km"]
    close([row["median"], row["min"], row["max"],
           row["reverse_km"], row["reverse_km_low"], row["reverse_km_high"]],
          [ref["median"], ref["min"], ref["max"], rk["median"], rk["lower"], rk["upper"]],
          RTOL, regimen)


@pytest.mark.parametrize("regimen", GROUPS)
def test_events(regimen):
    ref = next(e for e in REF["events"] if e["regimen"] == regimen)
    row = one(study().survival.events, regimen=regimen)
    for key in ("patients", "deaths", "treatment_related_deaths", "progressions_alive",
                "secondary_malignancies", "secondary_malignancy_known"):
        assert row[key] == ref[key], (regimen, key)
    close(row["person_years"], ref["person_years"], RTOL, regimen)


# ---------------------------------------------------------------- response kinetics

KIN_ITEMS = [(k["response"], k["regimen"]) for k in REF["kinetics"]]


@pytest.mark.parametrize(("response", "regimen"), KIN_ITEMS, ids=[f"{a}-{b}" for a, b in KIN_ITEMS])
def test_kinetics(response, regimen):
    ref = next(k for k in REF["kinetics"] if (k["response"], k["regimen"]) == (response, regimen))
    kin = study().kinetics
    what = f"{response} {regimen}"
    med = one(kin.medians, response=response, regimen=regimen)
    assert (med["responders"], med["evaluable"]) == (ref["responders"], ref["evaluable"]), what
    close([med["median"], med["min"], med["max"]], [ref["median"], ref["min"], ref["max"]],
          RTOL, what)
    for i, month in enumerate(ref["month"]):
        row = one(kin.cumulative, response=response, regimen=regimen, month=float(month))
        close(np.array([row["rate"], row["ci_low"], row["ci_high"]], dtype=float) / 100,
              [ref["cumulative"][i], ref["cumulative_lower"][i], ref["cumulative_upper"][i]],
              RTOL, f"{what} at {month} months")


@pytest.mark.parametrize(("response", "regimen"), KIN_ITEMS, ids=[f"{a}-{b}" for a, b in KIN_ITEMS])
def test_kinetics_at_a_landmark_past_the_curve(response, regimen):
    """5-year response rates: equal to R where the curve reaches 5 years, else missing."""
    ref = next(k for k in REF["kinetics"] if (k["response"], k["regimen"]) == (response, regimen))
    late = ref["late"]
    row = one(study(late=True).kinetics.cumulative, response=response, regimen=regimen,
              month=float(late["month"]))
    ours = np.array([row["rate"], row["ci_low"], row["ci_high"]], dtype=float) / 100
    what = f"{response} {regimen} at {late['month']} months"
    if ref["max_time"] < late["month"] and late["surv"] > 0:
        assert np.isnan(ours).all(), what
    else:
        close(ours, [late["cumulative"], late["cumulative_lower"], late["cumulative_upper"]],
              RTOL, what)
