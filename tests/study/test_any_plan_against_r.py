"""A centre's own plan, end to end, checked against R.

The cohort (``tests/reference/study/any_plan/``, SYNTHETIC, made by ``make_cohort.py``) has five
regimens under the centre's names (Radiotherapy is not in the plan) and three extra baseline
columns; ``plan.toml`` compares four regimens with Auto-HCT as reference, custom Table 1 rows on
the extra columns and a subgroup by centre, under the ``exact`` test policy. Every Kaplan–Meier,
log-rank, chi-square/Fisher, Kruskal–Wallis, Mann–Whitney and ANOVA number is compared with R
(``make_any_plan_reference.R`` → ``any_plan_reference.json``); the test itself needs no R.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from poems_cohort import workflow
from poems_cohort.study.names import BY_CRV
from poems_cohort.study.policy import FISHER, NOT_TESTABLE, PEARSON

HERE = Path(__file__).resolve().parents[1] / "reference" / "study" / "any_plan"
R = json.loads((HERE / "any_plan_reference.json").read_text(encoding="utf-8"))
REGIMENS = ["Lenalidomide-dex", "Auto-HCT", "Bortezomib-dex", "Daratumumab"]
REFERENCE = "Auto-HCT"
REL = 1e-8
TESTS = {"pearson": PEARSON, "fisher": FISHER}


def close(ours: float, theirs: float | None) -> bool:
    if theirs is None:
        return math.isnan(ours)
    return ours == pytest.approx(theirs, rel=REL, abs=1e-12)


def check_test(outcome_test: str, p: float, r: dict) -> None:
    if not r["testable"]:
        assert outcome_test == NOT_TESTABLE
        return
    assert outcome_test == TESTS.get(r.get("test", ""), outcome_test)
    assert close(p, r["p"])


@pytest.fixture(scope="module")
def results():
    return workflow.compute(HERE / "cohort", plan=HERE / "plan.toml").results


def test_the_analysis_dataset_is_the_one_r_read(results):
    written = (HERE / "analysis_dataset.csv").read_text(encoding="utf-8")
    assert results.analysis_dataset.to_csv(index=False) == written
    assert len(results.analysis_dataset) == R["patients"]


def test_the_regimen_outside_the_plan_is_excluded_and_counted(results):
    flow = results.flow
    per = flow[flow["stage"] == "excluded, regimen"]
    assert dict(zip(per["detail"], per["n"], strict=True)) == R["excluded"]
    included = flow[(flow["stage"] == "included") & (flow["detail"] != "all")]
    assert list(included["detail"]) == REGIMENS


@pytest.mark.parametrize("i", range(7))
def test_table1_counts_and_tests(results, i):
    r = R["table1"][i]
    for g in r["groups"]:
        row = results.table1.row(r["key"], regimen=g["regimen"])
        assert (row["n"], row["N"], row["unknown"]) == (g["n"], g["N"], g["unknown"])
    row = results.table1.row(r["key"])
    check_test(row["test"], row["p_value"], r["test"])


def test_table1_categorical_table_of_all_levels(results):
    t = results.table1.test("Centre")
    check_test(t.test, t.p_value, R["table1_centre"])


def test_table1_continuous_row_with_its_three_tests(results):
    r = R["table1_ecog"]
    cont = results.table1.continuous.set_index("regimen")
    for g in r["groups"]:
        row = cont.loc[g["regimen"]]
        assert row["N"] == g["N"]
        for k in ("median", "q1", "q3", "min", "max", "mean", "sd"):
            assert close(row[k], g[k]), (g["regimen"], k)
    kw = results.table1.test("ECOG performance status")
    assert close(kw.statistic, r["kruskal"]["statistic"])
    assert kw.df == r["kruskal"]["df"]
    assert close(kw.p_value, r["kruskal"]["p"])
    aov = results.table1.test("ECOG performance status (mean)")
    assert close(aov.statistic, r["anova"]["statistic"])
    assert close(aov.p_value, r["anova"]["p"])
    for regimen, mw in r["mann_whitney"].items():
        assert close(cont.loc[regimen, "p_vs_reference"], mw["p"]), regimen
    assert math.isnan(cont.loc[REFERENCE, "p_vs_reference"])


@pytest.mark.parametrize("i", range(12))
def test_table2_responses(results, i):
    r = R["table2"][i]
    endpoint, subgroup = r["endpoint"], r["subgroup"]
    for g in r["groups"]:
        row = results.table2.row(endpoint, subgroup=subgroup, regimen=g["regimen"])
        assert (row["n"], row["N"]) == (g["n"], g["N"])
    overall = results.table2.test(endpoint, subgroup=subgroup)
    check_test(overall.test, overall.p_value, r["overall"])
    if r["overall"]["testable"] and r["overall"]["test"] == "pearson":
        assert close(overall.statistic, r["overall"]["statistic"])
    for regimen, vs in r["vs_reference"].items():
        row = results.table2.row(endpoint, subgroup=subgroup, regimen=regimen)
        check_test(row["test"] if isinstance(row["test"], str) else NOT_TESTABLE,
                   row["p_value"], vs)


@pytest.mark.parametrize("i", range(30))
def test_kaplan_meier_estimates_and_curves(results, i):
    r = R["survival"][i]
    est = results.survival.estimate(r["endpoint"], subgroup=r["subgroup"], regimen=r["regimen"])
    assert (est["N"], est["events"]) == (r["N"], r["events"])
    if r["max_time"] >= 36:
        for ours, theirs in (("rate", "surv"), ("ci_low", "lower"), ("ci_high", "upper")):
            assert close(est[ours], None if r[theirs] is None else 100 * r[theirs])
    for ours, theirs in (("median", "median"), ("median_low", "median_lower"),
                         ("median_high", "median_upper")):
        assert close(est[ours], r[theirs])
    if r["regimen"] == "All":
        return
    curve = results.survival.curve(r["endpoint"], r["regimen"], subgroup=r["subgroup"])
    c = r["curve"]
    assert np.allclose(curve["time"], c["time"], rtol=REL, atol=0)
    assert np.allclose(curve["value"], c["surv"], rtol=REL, atol=1e-12)
    assert curve["n_risk"].tolist() == c["n_risk"]
    assert curve["n_event"].tolist() == c["n_event"]
    lower = np.array([np.nan if v is None else v for v in c["lower"]], dtype=float)
    assert np.allclose(curve["lower"], lower, rtol=REL, atol=1e-12, equal_nan=True)


@pytest.mark.parametrize("i", range(6))
def test_logrank_across_regimens_and_against_the_reference(results, i):
    r = R["survival_tests"][i]
    t = results.survival.test(r["endpoint"], subgroup=r["subgroup"])
    assert close(t.statistic, r["overall"]["statistic"])
    assert t.df == r["overall"]["df"]
    assert close(t.p_value, r["overall"]["p"])
    for regimen, vs in r["vs_reference"].items():
        est = results.survival.estimate(r["endpoint"], subgroup=r["subgroup"], regimen=regimen)
        assert close(est["p_value"], vs["p"] if vs["testable"] else None)


@pytest.mark.parametrize("endpoint", ["PFS", "OS"])
def test_logrank_by_crv_in_the_custom_subgroup(results, endpoint):
    t = results.survival.test(endpoint, by=BY_CRV, subgroup="north")
    assert close(t.statistic, R["by_crv"][endpoint]["statistic"])
    assert close(t.p_value, R["by_crv"][endpoint]["p"])


def test_the_whole_report_is_written_for_four_arms(tmp_path):
    out = tmp_path / "report"
    summary = workflow.run(HERE / "cohort", out, plan=HERE / "plan.toml")
    names = set(summary.outputs.files)
    for expected in ("report.html", "results.json", "tables/table1.csv", "tables/table2.csv",
                     "figures/figure1.png", "figures/figure2.png", "analysis_dataset.csv"):
        assert expected in names
        assert (out / expected).is_file()
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert data["plan"]["regimens"] == REGIMENS
    assert {r["regimen"] for r in data["table2"]} == {"All", *REGIMENS}
    html = (out / "report.html").read_text(encoding="utf-8")
    for regimen in REGIMENS:
        assert regimen in html
    assert "Radiotherapy" in html  # counted in the patient flow
    table1 = pd.read_csv(out / "tables" / "table1.csv")
    assert "ECOG performance status, median (IQR)" in set(table1["Characteristic"])
    assert "Unknown" in set(table1["Characteristic"])
    assert "North centre" in (out / "tables" / "table2.csv").read_text(encoding="utf-8")
