"""The reproduction audit: extractors, status rules and tolerances on hand-built study results.

The study results below are written by hand (frames in the shape ``run_study`` gives), so each
published number's value is chosen to sit exactly on, just inside or just outside a rule.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
import scipy.stats as ss

from poems_cohort.study import AnalysisPlan, Kinetics, StudyResults, Survival, Table1, Table2
from poems_cohort.synth.published import Conflict, PublishedNumber, load_published
from poems_cohort.synth.reproduce import (
    CLOSE,
    COLUMNS,
    EXACT,
    EXTRACTORS,
    INCONSISTENT,
    MISSED,
    NOT_A_RESULT,
    STATUSES,
    Found,
    Reproduction,
    judge,
    prints_as,
    reproduce_study,
    round_printed,
    rounded_text,
)

REGIMENS = ("All", "MDex", "ASCT", "LDex")
PEARSON, FISHER, LOGRANK = "Pearson chi-square", "Fisher's exact", "log-rank"


# --------------------------------------------------------------------------------------------
# Hand-built study results


def table1_rows(counts: dict[str, list[tuple[int, int]]], p: dict[str, float]) -> pd.DataFrame:
    """Table 1 rows: per key, (n, N) for All, MDex, ASCT, LDex and one p-value."""
    rows = []
    for key, cells in counts.items():
        for regimen, (n, big_n) in zip(REGIMENS, cells, strict=True):
            rows.append({"key": key, "characteristic": key, "regimen": regimen, "n": n, "N": big_n,
                         "percent": 100.0 * n / big_n, "p_value": p[key], "test": PEARSON})
    return pd.DataFrame(rows)


TABLE1 = table1_rows(
    {
        "age_gt_50": [(140, 347), (38, 79), (54, 165), (48, 103)],        # 40.3 48.1 32.7 46.6
        "albumin_lt_30": [(45, 347), (15, 79), (17, 165), (13, 103)],     # 13.0 19.0 10.3 12.6
        "peripheral_edema": [(292, 347), (72, 79), (123, 165), (97, 103)],
        "risk_high": [(79, 347), (27, 79), (21, 165), (31, 103)],
        "castleman": [(32, 52), (5, 12), (19, 29), (8, 11)],              # LDex 72.7, not 2.7
    },
    {"age_gt_50": 0.0216, "albumin_lt_30": 0.1671, "peripheral_edema": 0.0004999,
     "risk_high": 0.00099, "castleman": 0.2494},
)

CONTINUOUS = pd.DataFrame([
    {"characteristic": "Age, years", "regimen": "All", "N": 347, "median": 48.0, "min": 21.0,
     "max": 74.0},
    {"characteristic": "ONLS score", "regimen": "All", "N": 347, "median": 4.0, "min": 0.0,
     "max": 11.0},
])

T2_COLUMNS = ["endpoint", "subgroup", "regimen", "n", "N", "value", "ci_low", "ci_high",
              "p_value", "test"]


def t2(endpoint: str, subgroup: str, regimen: str, n: int, big_n: int, p: float = math.nan,
       test: str | None = None) -> dict[str, object]:
    return {"endpoint": endpoint, "subgroup": subgroup, "regimen": regimen, "n": n, "N": big_n,
            "value": 100.0 * n / big_n, "ci_low": math.nan, "ci_high": math.nan, "p_value": p,
            "test": test}


TABLE2_ROWS = pd.DataFrame([
    t2("CRH", "all", "All", 161, 347),                          # 46.4
    t2("CRH", "all", "ASCT", 82, 165),                          # 49.7
    t2("CRH", "all", "MDex", 29, 77, 0.00104, PEARSON),         # 37.7, p 0.001
    t2("CRH", "all", "LDex", 48, 101, 0.797, PEARSON),          # 47.5
    t2("CRV", "low", "ASCT", 36, 58),
    t2("CRV", "low", "MDex", 7, 12, 0.80, FISHER),
    t2("CRV", "low", "LDex", 10, 24, 0.10, PEARSON),
], columns=T2_COLUMNS)

#: the three-regimen CRV test in low risk: Pearson on MDex 7/12, ASCT 36/58, LDex 10/24
CRV_LOW_3 = ss.chi2_contingency([[7, 5], [36, 22], [10, 14]], correction=False)

TABLE2_TESTS = pd.DataFrame([
    {"endpoint": "RN", "subgroup": "all", "test": PEARSON, "statistic": 2.9, "df": 2.0,
     "p_value": 0.2344},
    {"endpoint": "CRV", "subgroup": "low", "test": PEARSON, "statistic": CRV_LOW_3[0],
     "df": 2.0, "p_value": CRV_LOW_3[1]},
])

BY_REGIMEN = pd.DataFrame([
    {"endpoint": e, "subgroup": sg, "regimen": r, "N": big_n, "events": ev, "median": math.nan,
     "median_low": math.nan, "median_high": math.nan, "rate": rate, "ci_low": math.nan,
     "ci_high": math.nan, "p_value": p, "test": None if math.isnan(p) else LOGRANK}
    for e, sg, r, big_n, ev, rate, p in [
        ("PFS", "all", "All", 347, 100, 80.5, math.nan),
        ("PFS", "all", "MDex", 79, 20, 85.6, 0.568),              # 84.6 printed: 1.0 off
        ("PFS", "all", "LDex", 103, 40, 64.9, 0.049),             # 0.003 printed
        ("PFS", "low", "All", 118, 20, 85.0, math.nan),
        ("PFS", "medium-high", "All", 229, 80, 77.0, math.nan),
        ("OS", "all", "All", 347, 49, 90.43, math.nan),           # 90.4 text, 90.8 abstract
    ]
])

SURVIVAL_TESTS = pd.DataFrame([
    {"endpoint": "OS", "subgroup": "all", "test": LOGRANK, "statistic": 5.1, "df": 2.0,
     "p_value": 0.0789},
])

EVENTS = pd.DataFrame([
    {"regimen": r, "patients": n, "deaths": d, "treatment_related_deaths": trd,
     "progressions_alive": pa, "secondary_malignancies": sm, "secondary_malignancy_known": n,
     "person_years": py}
    for r, n, d, trd, pa, sm, py in [
        ("All", 347, 49, 2, 51, 1, 1410.0),
        ("MDex", 79, 15, 0, 10, 0, 500.0),
        ("ASCT", 165, 20, 2, 25, 1, 650.0),
        ("LDex", 103, 14, 0, 16, 0, 260.0),
    ]
])

FOLLOWUP = pd.DataFrame([
    {"regimen": r, "N": n, "median": med, "min": 1.0, "max": 200.0, "reverse_km": med + 2,
     "reverse_km_low": math.nan, "reverse_km_high": math.nan}
    for r, n, med in [("All", 347, 45.4), ("MDex", 79, 90.0), ("ASCT", 165, 48.0),
                      ("LDex", 103, 44.0)]
])

MEDIANS = pd.DataFrame([
    {"response": "CRH", "regimen": "MDex", "responders": 29, "evaluable": 77, "median": 28.5,
     "min": 1.0, "max": 179.0},
    {"response": "CRV", "regimen": "All", "responders": 170, "evaluable": 310, "median": 8.0,
     "min": 1.0, "max": 163.0},
])

CUMULATIVE = pd.DataFrame([
    {"response": "CRH", "regimen": r, "month": 6.0, "rate": rate, "ci_low": math.nan,
     "ci_high": math.nan}
    for r, rate in [("All", 14.3), ("ASCT", 13.8), ("MDex", 5.9), ("LDex", 21.4)]
] + [{"response": "CRV", "regimen": "All", "month": 12.0, "rate": 40.3, "ci_low": math.nan,
      "ci_high": math.nan}])


DESCRIPTIVE = pd.DataFrame([
    {"key": "onls_zero", "characteristic": "ONLS score 0", "regimen": "All", "n": 19, "N": 198,
     "percent": 100 * 19 / 198},
    {"key": "lambda_light_chain", "characteristic": "Lambda light chain", "regimen": "All",
     "n": 347, "N": 347, "percent": 100.0},
])


def make_results(**changes: object) -> StudyResults:
    empty = pd.DataFrame()
    base = StudyResults(
        plan=AnalysisPlan(), flow=empty,
        table1=Table1(rows=TABLE1, continuous=CONTINUOUS, tests=empty, descriptive=DESCRIPTIVE),
        table2=Table2(rows=TABLE2_ROWS, tests=TABLE2_TESTS),
        kinetics=Kinetics(medians=MEDIANS, cumulative=CUMULATIVE, curves=empty, at_risk=empty),
        survival=Survival(by_regimen=BY_REGIMEN, tests=SURVIVAL_TESTS, events=EVENTS,
                          followup=FOLLOWUP, curves=empty, at_risk=empty),
        versions={}, analysis_dataset=empty,
    )
    return replace(base, **changes)


@pytest.fixture(scope="module")
def published():
    return load_published()


@pytest.fixture(scope="module")
def reproduction(published):
    return reproduce_study(make_results(), published)


def status(rep: Reproduction, number_id: str) -> str:
    return rep[number_id].status


def with_table1(key: str, regimen: str, **values: float) -> StudyResults:
    rows = TABLE1.copy()
    sel = (rows["key"] == key) & (rows["regimen"] == regimen)
    for k, v in values.items():
        rows.loc[sel, k] = v
    if "n" in values:
        rows.loc[sel, "percent"] = 100.0 * rows.loc[sel, "n"] / rows.loc[sel, "N"]
    return make_results(table1=Table1(rows=rows, continuous=CONTINUOUS, tests=pd.DataFrame()))


def with_frame(frame: pd.DataFrame, where: dict[str, object], **values: object) -> pd.DataFrame:
    out = frame.copy()
    sel = pd.Series(True, index=out.index)
    for k, v in where.items():
        sel &= out[k] == v
    assert sel.sum() == 1, where
    for k, v in values.items():
        out.loc[sel, k] = v
    return out


# --------------------------------------------------------------------------------------------
# Printing rules


@pytest.mark.parametrize(("x", "decimals", "printed"), [
    (0.0225, 3, "0.023"),      # half up, not to even
    (0.0215, 3, "0.022"),
    (49.65, 1, "49.7"),
    (100.0 * 82 / 165, 1, "49.7"),
    (0.00049999, 3, "0.000"),
    (0.0005, 3, "0.001"),
    (99.96, 1, "100.0"),
    (26.5, 0, "27"),
])
def test_round_printed_rounds_half_up(x, decimals, printed):
    assert round_printed(x, decimals) == printed


def number(printed: str, kind: str = "p-value", quantity: str = "crh", **kw: object
           ) -> PublishedNumber:
    from poems_cohort.synth.published import parse_printed

    value, decimals, relation = parse_printed(printed, kind)
    fields = {"id": "x", "printed": printed, "value": value, "decimals": decimals,
              "relation": relation, "kind": kind, "regimen": "All", "subgroup": "all",
              "location": "here", "quantity": quantity}
    fields.update(kw)
    return PublishedNumber(**fields)  # type: ignore[arg-type]


def test_p_printed_zero_means_below_half_a_thousandth():
    p = number("0.000")
    assert prints_as(p, 0.0)
    assert prints_as(p, 0.000499)
    assert not prints_as(p, 0.0005)
    assert judge(p, Found(0.0004999))[0] == EXACT
    assert judge(p, Found(0.0005))[0] == CLOSE          # prints 0.001: one unit off
    assert judge(p, Found(0.00249))[0] == CLOSE         # prints 0.002: two units
    assert judge(p, Found(0.0025))[0] == MISSED         # prints 0.003


def test_p_printed_below_a_thousandth():
    p = number("< 0.001")
    assert prints_as(p, 0.000999)
    assert not prints_as(p, 0.001)
    assert rounded_text(p, 0.0002) == "< 0.001"
    assert rounded_text(p, 0.0012) == "0.001"
    assert judge(p, Found(0.001))[0] == CLOSE
    assert judge(p, Found(0.00349))[0] == CLOSE         # prints 0.003, two units above the bound
    assert judge(p, Found(0.0035))[0] == MISSED


def test_p_close_is_two_units_of_the_last_digit_or_ten_percent():
    p = number("0.048")
    assert judge(p, Found(0.0484))[0] == EXACT
    assert judge(p, Found(0.0499))[0] == CLOSE            # prints 0.050: two units
    assert judge(p, Found(0.0505))[0] == CLOSE            # prints 0.051 (3 units), 5.2% off
    assert judge(p, Found(0.0528))[0] == CLOSE            # 10.0% off
    assert judge(p, Found(0.0530))[0] == MISSED           # 10.4% off, 5 units
    assert judge(p, Found(0.0430))[0] == MISSED           # 10.4% off, 5 units
    big = number("0.797")
    assert judge(big, Found(0.7949))[0] == CLOSE          # prints 0.795
    assert judge(big, Found(0.7175))[0] == CLOSE          # 0.0795 off: within 10%
    assert judge(big, Found(0.717))[0] == MISSED          # 10.04% off
    # the side of 0.05 no longer makes a p-value close
    assert judge(number("0.079", quantity="os"), Found(0.209))[0] == MISSED
    assert judge(number("0.088", quantity="os"), Found(0.976))[0] == MISSED


def test_logrank_p_takes_the_same_rule():
    p = number("0.003", quantity="pfs")
    assert judge(p, Found(0.001))[0] == CLOSE
    assert judge(p, Found(0.0054))[0] == CLOSE            # prints 0.005
    assert judge(p, Found(0.0055))[0] == MISSED           # prints 0.006, 83% off
    assert judge(p, Found(0.049))[0] == MISSED            # same side of 0.05 is not enough
    q = number("0.568", quantity="os")
    assert judge(q, Found(0.62))[0] == CLOSE              # 9.2% off
    assert judge(q, Found(0.63))[0] == MISSED


def test_three_year_rate_close_within_two_tenths():
    r = number("84.6", kind="3y-rate", quantity="pfs3y")
    assert judge(r, Found(84.64))[0] == EXACT
    assert judge(r, Found(84.84))[0] == CLOSE             # prints 84.8
    assert judge(r, Found(84.35))[0] == CLOSE             # prints 84.4
    assert judge(r, Found(84.85))[0] == MISSED            # prints 84.9
    assert judge(r, Found(85.2))[0] == MISSED             # a whole 0.6 points off


def test_months_and_rates_take_two_units_of_their_precision():
    fu = number("45", kind="months", quantity="followup_median")
    assert judge(fu, Found(45.49))[0] == EXACT
    assert judge(fu, Found(46.0))[0] == CLOSE             # prints 46: one month off
    assert judge(fu, Found(47.49))[0] == CLOSE            # prints 47: two
    assert judge(fu, Found(47.5))[0] == MISSED            # prints 48
    ttr = number("26.5", kind="months", quantity="time_to_crh_median")
    assert judge(ttr, Found(26.7))[0] == CLOSE
    assert judge(ttr, Found(26.8))[0] == MISSED
    six = number("21.4", kind="6m-rate", quantity="crv_6m")
    assert judge(six, Found(21.6))[0] == CLOSE
    assert judge(six, Found(22.6))[0] == MISSED


def test_percent_close_within_two_tenths():
    pct = number("32.7", kind="percent", quantity="age_gt_50")
    assert judge(pct, Found(100 * 54 / 165, denominator=165))[0] == EXACT
    assert judge(pct, Found(32.9, denominator=165))[0] == CLOSE
    assert judge(pct, Found(100 * 53 / 165, denominator=165))[0] == MISSED   # 32.1
    small = number("41.7", kind="percent", quantity="castleman")
    assert judge(small, Found(100 * 5 / 12, denominator=12))[0] == EXACT
    assert judge(small, Found(42.7, denominator=12))[0] == MISSED            # one point off


def test_counts_and_baseline_medians_must_be_exact():
    assert judge(number("49", kind="count", quantity="deaths"), Found(50.0))[0] == MISSED
    assert judge(number("48", kind="median", quantity="age_median"), Found(48.4))[0] == EXACT
    assert judge(number("48", kind="median", quantity="age_median"), Found(49.0))[0] == MISSED


def test_no_value_is_missed_with_the_reason():
    st, note = judge(number("19", kind="count", quantity="onls_zero"), None,
                     reason="the study does not compute this number")
    assert st == MISSED and "does not compute" in note
    st, note = judge(number("0.5"), Found(math.nan))
    assert st == MISSED and "no value" in note


def test_numbers_of_other_studies_and_methods_are_not_results():
    cited = number("60", kind="percent", scope="cited")
    definition = number("600", kind="pg/ml", quantity="vegf_normal_limit", scope="definition")
    assert judge(cited, Found(60.0))[0] == NOT_A_RESULT
    assert judge(definition, None)[0] == NOT_A_RESULT


# --------------------------------------------------------------------------------------------
# The published record against hand-built results


def test_one_row_per_published_number_in_order(reproduction, published):
    frame = reproduction.to_frame()
    assert tuple(frame.columns) == COLUMNS
    assert list(frame["id"]) == [n.id for n in published]
    assert list(frame["published"]) == [n.printed for n in published]
    assert set(frame["status"]) <= set(STATUSES)
    assert sum(reproduction.summary().values()) == len(published)
    assert tuple(reproduction.summary()) == STATUSES


def test_every_study_quantity_has_an_extractor(published):
    """The study computes every number of the paper that is a result of this cohort."""
    missing = {(n.kind, n.quantity) for n in published
               if n.scope == "study" and (n.kind, n.quantity) not in EXTRACTORS}
    assert missing == set()


@pytest.mark.parametrize(("number_id", "expected", "rounded"), [
    ("table1.age_gt_50.All.percent", EXACT, "40.3"),
    ("table1.age_gt_50.ASCT.percent", EXACT, "32.7"),
    ("table1.age_gt_50.p", EXACT, "0.022"),
    ("text.age_gt_50.p", EXACT, "0.022"),
    ("table1.hypoalbuminemia.MDex.percent", EXACT, "19.0"),     # key albumin_lt_30
    ("table1.peripheral_edema.p", EXACT, "0.000"),              # 0.0004999
    ("table1.risk_high.p", CLOSE, "0.001"),                     # 0.00099 is not 0.000
    ("text.risk_high.p", EXACT, "< 0.001"),
    ("text.risk_high.All.count", EXACT, "79"),
    ("table1.footnote.castleman.All.count", EXACT, "32"),
    ("table1.footnote.castleman.All.biopsied", EXACT, "52"),
    ("table1.castleman.LDex.percent", INCONSISTENT, "72.7"),    # impossible 2.7 of 11
    ("text.age.median.All", EXACT, "48"),
    ("text.age.range.high.All", EXACT, "74"),
    ("text.onls.median.All", EXACT, "4"),
    ("table2.crh.all.ASCT.rate", EXACT, "49.7"),
    ("abstract.crh.All.percent", EXACT, "46.4"),
    ("table2.crh.all.MDex.p", EXACT, "0.001"),
    ("abstract.crh.MDex.p", EXACT, "0.001"),
    ("table2.crh.all.LDex.rate", EXACT, "47.5"),
    ("text.crh.LDex.percent", INCONSISTENT, "47.5"),            # repeat printed 49.7
    ("text.crh.ASCT.percent_in_ldex_sentence", INCONSISTENT, "49.7"),
    ("abstract.rn.p", EXACT, "0.234"),                          # all-regimen test
    ("table2.pfs.all.MDex.rate", MISSED, "85.6"),               # 1.0 point off 84.6
    ("table2.pfs.all.MDex.p", EXACT, "0.568"),
    ("table2.pfs.all.LDex.p", MISSED, "0.049"),                 # same side of 0.05 only
    ("table2.pfs.low.ASCT.p", INCONSISTENT, ""),                # misplaced
    ("abstract.pfs3y.All", EXACT, "80.5"),
    ("table2.header.n.low", EXACT, "118"),
    ("table2.header.n.medium_high", EXACT, "229"),
    ("table2.header.n.all", INCONSISTENT, "347"),               # 387 printed
    ("table1.header.n.All", EXACT, "347"),
    ("text.os3y.All", EXACT, "90.4"),
    ("abstract.os3y.All", INCONSISTENT, "90.4"),                # repeat printed 90.8
    ("abstract.os.p", EXACT, "0.079"),
    ("text.deaths.All.count", EXACT, "49"),
    ("text.progressed_alive.All.count", EXACT, "51"),
    ("text.treatment_related_deaths.ASCT.count", EXACT, "2"),
    ("discussion.treatment_related_mortality.ASCT.percent", EXACT, "1.2"),
    ("discussion.secondary_malignancy.ASCT.percent", EXACT, "0.6"),
    ("text.secondary_malignancy.LDex.count", EXACT, "0"),
    ("text.followup.median.All", EXACT, "45"),
    ("abstract.followup.median.All", EXACT, "45"),
    ("text.followup.total.All", MISSED, "1410"),                # 10 units below 1420
    ("text.time_to_crh.median.MDex", MISSED, "28.5"),           # 2 months off 26.5
    ("text.time_to_crh.range.high.MDex", EXACT, "179"),
    ("text.time_to_crv.median.All", EXACT, "8"),
    ("text.crh_6m.ASCT", EXACT, "13.8"),
    ("text.crh_6m.All", INCONSISTENT, "14.3"),                  # proved: synth.pooled_bound
    ("text.onls_zero.All.count", EXACT, "19"),                  # beside Table 1
    ("text.lambda_light_chain.All.percent", EXACT, "100"),
    ("intro.cited.asct.crh.percent", NOT_A_RESULT, ""),
    ("methods.crv.vegf_normal_below", NOT_A_RESULT, ""),
])
def test_status_of_published_numbers(reproduction, number_id, expected, rounded):
    row = reproduction[number_id]
    assert (row.status, row.reproduced_rounded) == (expected, rounded), row.note


def test_crv_twelve_month_rate_two_tenths_off_is_close():
    """38.3 printed: 38.54 prints 38.5 (close), 38.55 prints 38.6 (missed)."""
    cum = with_frame(CUMULATIVE, {"response": "CRV", "regimen": "All", "month": 12.0}, rate=38.54)
    kin = Kinetics(medians=MEDIANS, cumulative=cum, curves=pd.DataFrame(), at_risk=pd.DataFrame())
    rep = reproduce_study(make_results(kinetics=kin))
    assert rep["text.crv_12m.All"].status == CLOSE
    cum = with_frame(CUMULATIVE, {"response": "CRV", "regimen": "All", "month": 12.0}, rate=38.55)
    kin = replace(kin, cumulative=cum)
    assert reproduce_study(make_results(kinetics=kin))["text.crv_12m.All"].status == MISSED


def test_text_crv_p_of_asct_against_the_others_is_the_three_regimen_test(reproduction):
    """The text's CRV p for 'ASCT against the other regimens' in low risk is read as the
    three-regimen test (the reading that prints the paper's values on Table 2's counts)."""
    row = reproduction["text.crv.low.p"]
    assert row.reproduced == CRV_LOW_3[1]
    assert row.note.endswith(PEARSON)


def test_inconsistent_rows_carry_the_proof(reproduction):
    castleman = reproduction["table1.castleman.LDex.percent"]
    assert "impossible" in castleman.note and "72.7 (ours prints as it)" in castleman.note
    repeat = reproduction["table2.header.n.all"]
    assert "we reproduce table1.header.n.All" in repeat.note
    assert "90.8" in reproduction["abstract.os3y.All"].note   # a close value keeps the conflict


def test_a_disagreeing_repeat_neither_of_whose_values_we_reproduce_is_missed():
    by = with_frame(BY_REGIMEN, {"endpoint": "OS", "subgroup": "all", "regimen": "All"},
                    rate=92.5)
    surv = Survival(by_regimen=by, tests=SURVIVAL_TESTS, events=EVENTS, followup=FOLLOWUP,
                    curves=pd.DataFrame(), at_risk=pd.DataFrame())
    rep = reproduce_study(make_results(survival=surv))
    assert rep["abstract.os3y.All"].status == MISSED
    assert rep["text.os3y.All"].status == MISSED
    assert "90.8" in rep["text.os3y.All"].note                 # the conflict is still told


def test_the_abstracts_overall_os_is_ruled_out_once_the_texts_prints():
    """Overall 3-year OS is printed 90.8 (abstract) and 90.4 (text): a cohort printing 90.4
    makes the text's exact and the abstract's the paper's inconsistency (the disagreeing
    repeat), and one printing 90.8 the other way round."""
    for ours, exact, ruled_out in ((90.4, "text.os3y.All", "abstract.os3y.All"),
                                   (90.8, "abstract.os3y.All", "text.os3y.All")):
        by = with_frame(BY_REGIMEN, {"endpoint": "OS", "subgroup": "all", "regimen": "All"},
                        rate=ours)
        surv = Survival(by_regimen=by, tests=SURVIVAL_TESTS, events=EVENTS, followup=FOLLOWUP,
                        curves=pd.DataFrame(), at_risk=pd.DataFrame())
        rep = reproduce_study(make_results(survival=surv))
        assert rep[exact].status == EXACT
        assert rep[ruled_out].status == INCONSISTENT
        assert f"we reproduce {exact}" in rep[ruled_out].note


def test_an_impossible_value_reproduced_as_printed_is_exact():
    """A conflict does not hide an exact match: the LDex Castleman cell printing 2.7 is exact."""
    rows = TABLE1.copy()
    sel = (rows["key"] == "castleman") & (rows["regimen"] == "LDex")
    rows.loc[sel, "percent"] = 2.7
    rep = reproduce_study(make_results(
        table1=Table1(rows=rows, continuous=CONTINUOUS, tests=pd.DataFrame())))
    assert rep["table1.castleman.LDex.percent"].status == EXACT


def with_cumulative(response: str, regimen: str, month: float, rate: float,
                    frame: pd.DataFrame = CUMULATIVE) -> tuple[StudyResults, pd.DataFrame]:
    cum = with_frame(frame, {"response": response, "regimen": regimen, "month": month},
                     rate=rate)
    kin = Kinetics(medians=MEDIANS, cumulative=cum, curves=pd.DataFrame(), at_risk=pd.DataFrame())
    return make_results(kinetics=kin), cum


def test_a_close_value_of_an_impossible_set_is_close_and_the_far_one_inconsistent():
    """6-month CRH: ASCT 13.7 (13.8 printed) is close, though the set it belongs to cannot all
    print; the overall 14.3 (19.2), far from its printed value, is inconsistent-in-paper (one of
    the set must be wrong), its note giving the proof under both readings (Kaplan-Meier rates
    and proportions)."""
    res, _ = with_cumulative("CRH", "ASCT", 6.0, 13.7)
    rep = reproduce_study(res)
    assert rep["text.crh_6m.ASCT"].status == CLOSE
    row = rep["text.crh_6m.All"]
    assert row.status == INCONSISTENT
    assert "pooled_bound" in row.note and "proportions" in row.note


def test_a_close_value_the_record_proves_impossible_is_inconsistent():
    """Blamed by an impossible conflict: inconsistent even within the close tolerance, the note
    giving the proof and saying ours is close; exact still comes first."""
    x = number("33.0", kind="percent", quantity="onls_gt_4")
    proof = Conflict(ids=("x", "y"), kind="impossible", note="no count of 65 to 84 prints 33.0",
                     blame=("x",))
    status, note = judge(x, Found(33.2, "83/250", denominator=250), conflicts=(proof,))
    assert status == INCONSISTENT
    assert "no count of 65 to 84 prints 33.0" in note
    assert "ours, 33.2, is within the tolerance of close" in note and "83/250" in note
    assert judge(x, Found(33.0, "33/100", denominator=100), conflicts=(proof,))[0] == EXACT
    far, _ = judge(x, Found(40.0, "40/100", denominator=100), conflicts=(proof,))
    assert far == INCONSISTENT


def test_a_close_value_not_blamed_stays_close():
    """A conflict naming several values without saying which is wrong blames none of them, and
    implausible conflicts and disagreeing repeats never blame: a close value stays close."""
    x = number("75.3", kind="percent", quantity="crh_crv")
    found = Found(75.1, "188/250", denominator=250)
    for c in (Conflict(ids=("y", "x"), kind="impossible", note="one of them is wrong"),
              Conflict(ids=("x",), kind="implausible", note="needs odd censoring"),
              Conflict(ids=("x", "y"), kind="disagreeing-repeat", note="printed twice")):
        assert judge(x, found, conflicts=(c,))[0] == CLOSE, c.kind
    blamed_other = Conflict(ids=("y", "x"), kind="impossible", note="y is wrong", blame=("y",))
    assert judge(x, found, conflicts=(blamed_other,))[0] == CLOSE


def test_values_the_record_proves_impossible_are_inconsistent_on_the_bundled_counts(
        reproduction):
    for nid in ("table1.castleman.LDex.percent", "table1.splenomegaly.All.percent",
                "text.crh_crv.All.percent"):
        row = reproduction[nid]
        assert row.status == INCONSISTENT, row
        assert "impossible" in row.note


def test_an_impossible_set_rules_out_whichever_member_misses():
    """An impossible conflict of several values without an intended one: whichever member we
    do not reproduce is ruled out (any of them may be the wrong one), while a member we
    reproduce is exact."""
    proof = Conflict(ids=("all", "a", "b"), kind="impossible",
                     note="the pooled rate cannot lie outside its regimens' rates")
    a = number("13.8", kind="6m-rate", quantity="crh_6m", id="a", regimen="ASCT")
    status, note = judge(a, Found(16.0), conflicts=(proof,),
                         reproduced_elsewhere=frozenset({"all", "b"}))
    assert status == INCONSISTENT and "impossible: the pooled rate" in note
    assert judge(a, Found(13.8), conflicts=(proof,))[0] == EXACT


def test_with_an_intended_value_only_the_blamed_member_is_ruled_out():
    """Castleman: the record says LDex meant 72.7, so a wrong overall count (31, printed 32) is
    missed, not excused; the LDex cell stays inconsistent."""
    rep = reproduce_study(with_table1("castleman", "All", n=31))
    assert rep["table1.footnote.castleman.All.count"].status == MISSED
    assert rep["table1.castleman.LDex.percent"].status == INCONSISTENT


def test_one_patient_off_is_not_close_on_table1():
    """ASCT age > 50 printed 32.7 of 165: one patient more or fewer (33.3, 32.1) is 6 units of
    the last digit off, so missed; 32.9 of a larger denominator would be close."""
    for n in (53, 55):
        assert reproduce_study(with_table1("age_gt_50", "ASCT", n=n))[
            "table1.age_gt_50.ASCT.percent"].status == MISSED
    assert reproduce_study(with_table1("age_gt_50", "ASCT", n=329, N=1000))[
        "table1.age_gt_50.ASCT.percent"].status == CLOSE


def test_summary_and_frame_are_fixed_shape(reproduction):
    summary = reproduction.summary()
    assert list(summary) == list(STATUSES)
    frame = reproduction.to_frame()
    assert frame["reproduced"].dtype == float
    assert str(frame["precision"].dtype) == "Int64"
    assert frame.loc[frame["status"] == NOT_A_RESULT, "reproduced"].isna().all()
    assert summary[NOT_A_RESULT] == sum(1 for n in load_published() if n.scope != "study")
    assert "Reproduction(" in repr(reproduction)


# --------------------------------------------------------------------------------------------
# The command


EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "ten-patients"


def run_cli(*args: str):
    from typer.testing import CliRunner

    from poems_cohort.cli import app

    return CliRunner().invoke(app, ["reproduce", *args])


def test_cli_bad_cohort_exits_2_and_writes_nothing(tmp_path):
    out = tmp_path / "out"
    result = run_cli(str(tmp_path / "no-such-cohort"), "--out", str(out))
    assert result.exit_code == 2
    assert "nothing was written" in result.output
    assert not out.exists()


def test_cli_out_that_is_a_file_exits_2_and_leaves_it(tmp_path):
    out = tmp_path / "taken"
    out.write_text("keep me")
    result = run_cli(str(EXAMPLE), "--out", str(out))
    assert result.exit_code == 2
    assert out.read_text() == "keep me"


def test_cli_bad_plan_exits_2(tmp_path):
    plan = tmp_path / "plan.toml"
    plan.write_text('test_policy = "sometimes"\n')
    out = tmp_path / "out"
    result = run_cli(str(EXAMPLE), "--out", str(out), "--plan", str(plan))
    assert result.exit_code == 2
    assert not out.exists()


def test_cli_writes_one_row_per_published_number(tmp_path):
    result = run_cli(str(EXAMPLE), "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(tmp_path / "reproduction.csv", dtype={"published": str,
                                                            "reproduced_rounded": str})
    assert tuple(frame.columns) == COLUMNS
    assert list(frame["id"]) == [n.id for n in load_published()]
    assert set(frame["status"]) <= set(STATUSES)
    counts = frame["status"].value_counts()
    for st in STATUSES:
        assert f"{st} {counts.get(st, 0)}" in result.output
    # the ten patients are all counted
    assert frame.set_index("id").loc["table1.header.n.All", "reproduced"] == 10
    assert not list(tmp_path.glob(".reproduction.*"))          # no temporary file left


def _bundled_files_present() -> bool:
    from poems_cohort.data import bundled_cohort_path

    folder = bundled_cohort_path()
    return (folder / "patients.csv").is_file() and (folder / "visits.csv").is_file()


@pytest.mark.skipif(not _bundled_files_present(),
                    reason="the bundled synthetic cohort (data/synthetic/patients.csv and "
                    "visits.csv) is not in this tree yet")
def test_bundled_cohort_misses_no_number_of_table1_or_table2_and_no_statement(tmp_path):
    """Every Table 1 and Table 2 number, and every statement of significance in words (CRV
    prognostic for PFS but not OS in medium-high risk patients among them), is reproduced or
    shown inconsistent by the paper itself; every log-rank p of Table 2 is exact but LDex's PFS
    p over all patients (close: 0.0009 for 0.003)."""
    result = run_cli("--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(tmp_path / "reproduction.csv", dtype={"published": str,
                                                            "reproduced_rounded": str})
    tables = frame[frame["id"].str.startswith(("table1.", "table2."))]
    assert len(tables) > 200
    statements = frame[frame["id"].str.contains(".claim.", regex=False)]
    assert len(statements) == 49
    assert set(statements.loc[statements["status"] == INCONSISTENT, "id"]) == {
        "abstract.claim.crh.all.MDex", "text.claim.crh.all.MDex",
        "discussion.claim.ldex_similar.crv"}
    both = pd.concat([tables, statements])
    # the rows the readings of the definitions reproduce: exact, the reading named
    by_id = frame.set_index("id")
    for nid in ("table1.onls_gt_4.MDex.percent", "table1.onls_gt_4.LDex.percent",
                "table1.onls_gt_4.All.percent", "table1.onls_gt_4.p",
                "table2.crh_crv.low.MDex.rate", "table2.crh_crv.low.MDex.p",
                "table2.crh_crv.medium_high.MDex.rate", "table2.crh_crv.medium_high.LDex.rate",
                "table2.crh_crv.all.ASCT.rate", "table2.crh_crv.low.ASCT.rate",
                "table2.crh_crv.medium_high.ASCT.rate", "text.crh_crv.ASCT.percent"):
        assert by_id.loc[nid, "status"] == EXACT, (nid, by_id.loc[nid, "note"])
        assert "reading" in by_id.loc[nid, "note"], nid
    assert "both-or-responder" in by_id.loc["table2.crh_crv.low.MDex.rate", "note"]
    assert '"assessed"' in by_id.loc["table1.onls_gt_4.p", "note"]
    # no reading prints the CRH/CRV LDex p: the proof is in the row (tests/synth/test_proofs.py)
    for nid in ("table2.crh_crv.all.LDex.p", "text.crh_crv.LDex.p"):
        assert by_id.loc[nid, "status"] == INCONSISTENT, nid
        assert "61/92 vs 113/150" in by_id.loc[nid, "note"], nid
    missed = both[both["status"] == MISSED]
    assert missed.empty, "\n" + missed[["id", "published", "reproduced_rounded", "note"]
                                       ].to_string()
    tests = tables[tables["id"].str.fullmatch(r"table2\.(pfs|os)\.\w+\.(MDex|LDex)\.p")]
    assert len(tests) == 12
    assert dict(tests.loc[tests["status"] != EXACT, ["id", "status"]].values) == {
        "table2.pfs.all.LDex.p": CLOSE}
    # the close rows: that p where Table 2, the abstract and the text print it
    assert sorted(frame.loc[frame["status"] == CLOSE, "id"]) == [
        "abstract.pfs.LDex.p", "table2.pfs.all.LDex.p", "text.pfs.LDex.p"]
    # the 6- and 12-month cumulative response rates of the text: every one exact but the pooled
    # CRH at 6 months, which cannot print beside the others (synth.pooled_bound)
    kinetics = frame[frame["id"].str.fullmatch(r"text\.cr[hv]_(6|12)m\.\w+")]
    assert len(kinetics) == 16
    assert dict(kinetics.loc[kinetics["status"] != EXACT, ["id", "status"]].values) == {
        "text.crh_6m.All": INCONSISTENT}
    # the cohort's 3-year rates: PFS 80.5 (abstract and text) and the text's OS 90.4 exact, so
    # the abstract's 90.8, their disagreeing repeat, is shown inconsistent by the paper itself;
    # nothing is missed
    assert by_id.loc[["abstract.pfs3y.All", "text.pfs3y.All", "text.os3y.All",
                      "abstract.os3y.All"], "status"].tolist() == [EXACT] * 3 + [INCONSISTENT]
    assert "we reproduce text.os3y.All" in by_id.loc["abstract.os3y.All", "note"]
    assert frame.loc[frame["status"] == MISSED, "id"].tolist() == []


# --------------------------------------------------------------------------------------------
# Statements of significance


def statement(side: str, *, direction: str | None = None, comparison: str = "MDex vs ASCT",
              evidence: tuple[str, ...] = ()) -> PublishedNumber:
    return number(side, kind="significance", comparison=comparison, direction=direction,
                  evidence=evidence)


CRH_GROUPS = (("MDex", 37.7), ("ASCT", 49.7))


def test_statement_is_exact_on_its_side_of_five_percent_and_never_close():
    below = statement("p < 0.05")
    assert judge(below, Found(0.0499))[0] == EXACT
    assert judge(below, Found(0.05))[0] == MISSED           # 0.05 is not significant
    assert judge(below, Found(0.0501))[0] == MISSED         # no tolerance
    above = statement("p >= 0.05")
    assert judge(above, Found(0.05))[0] == EXACT
    assert judge(above, Found(1.0))[0] == EXACT
    st, note = judge(above, Found(0.0499))
    assert st == MISSED and "not at or above 0.05" in note
    st, note = judge(below, None, reason="the study computes no p-value for 'x'")
    assert st == MISSED and "no p-value" in note


def test_statement_direction_must_match():
    better = statement("p < 0.05", direction="ASCT higher")
    assert judge(better, Found(0.01, groups=CRH_GROUPS))[0] == EXACT
    st, note = judge(better, Found(0.01, groups=(("MDex", 49.7), ("ASCT", 37.7))))
    assert st == MISSED and "ASCT is not higher" in note
    st, note = judge(better, Found(0.01, groups=(("MDex", 49.7), ("ASCT", 49.7))))
    assert st == MISSED                                       # a tie is not higher
    st, note = judge(better, Found(0.01))
    assert st == MISSED and "no values" in note
    fewer = statement("p < 0.05", direction="ASCT lower", comparison="ASCT vs MDex vs LDex")
    three = (("ASCT", 12.7), ("MDex", 34.2), ("LDex", 30.1))
    assert judge(fewer, Found(0.0001, groups=three))[0] == EXACT
    three = (("ASCT", 12.7), ("MDex", 34.2), ("LDex", 10.1))  # below one, not both
    assert judge(fewer, Found(0.0001, groups=three))[0] == MISSED


def test_statement_against_the_papers_own_p_is_inconsistent():
    """'Similar' where the paper prints p = 0.008 for the comparison cannot be true in print."""
    printed = number("0.008", id="table2.crv.all.LDex.p")
    similar = statement("p >= 0.05", comparison="LDex vs ASCT",
                        evidence=("table2.crv.all.LDex.p",))
    st, note = judge(similar, Found(0.006), evidence=(printed,))
    assert st == INCONSISTENT
    assert "prints p = 0.008 (table2.crv.all.LDex.p)" in note and "p = 0.006" in note
    # the same statement reproduced is still exact
    assert judge(similar, Found(0.2), evidence=(printed,))[0] == EXACT
    # printed evidence on the stated side excuses nothing
    backed = statement("p < 0.05", evidence=("e",))
    for printed_p in ("0.001", "< 0.001", "0.000"):
        assert judge(backed, Found(0.2), evidence=(number(printed_p, id="e"),))[0] == MISSED
    assert judge(backed, Found(0.2), evidence=(number("0.050", id="e"),))[0] == INCONSISTENT


def test_statement_in_a_proven_conflict_is_inconsistent():
    from poems_cohort.synth.published import Conflict

    claim = statement("p < 0.05", direction="ASCT higher")
    proof = Conflict(ids=("x", "y"), kind="impossible", note="37.7 vs 49.7 gives p >= 0.080")
    st, note = judge(claim, Found(0.096, groups=CRH_GROUPS), conflicts=(proof,))
    assert st == INCONSISTENT and "0.080" in note


def test_statement_rows_show_the_side(reproduction):
    row = reproduction["text.claim.crh.all.LDex"]                 # hand-built p 0.797
    assert (row.published, row.reproduced_rounded, row.status) == ("p >= 0.05", "p >= 0.05",
                                                                  EXACT)
    assert row.precision is None and row.reproduced == pytest.approx(0.797)
    frame = reproduction.to_frame()
    assert frame.set_index("id").loc["text.claim.crh.all.LDex", "precision"] is pd.NA


@pytest.mark.parametrize(("number_id", "expected"), [
    ("abstract.claim.crh.all.MDex", EXACT),          # hand-built p 0.00104, ASCT higher
    ("text.claim.crh.all.LDex", EXACT),              # 0.797
    ("abstract.claim.rn.all.regimens", EXACT),       # three regimens, 0.2344
    ("abstract.claim.os.all.regimens", EXACT),       # log-rank 0.0789
    ("text.claim.age_gt_50.all.regimens", EXACT),    # 0.0216, ASCT 32.7 the lowest
    ("text.claim.risk_high.all.regimens", EXACT),    # 0.00099, ASCT 12.7 the lowest
    ("text.claim.crv.low.others", EXACT),            # three regimens p 0.235, ASCT the highest
    ("text.claim.pfs.all.LDex", MISSED),             # 0.049 but LDex 64.9 vs no ASCT rate
    ("discussion.claim.ldex_similar.crv", INCONSISTENT),   # no CRV row; 0.008 printed
])
def test_status_of_statements(reproduction, number_id, expected):
    row = reproduction[number_id]
    assert row.status == expected, row.note


def by_crv_results(pfs_p: float, crv_at_36: float, no_crv_at_36: float) -> StudyResults:
    """PFS by CRV in medium-high risk: the log-rank p and two curves (a step after 3 years that
    must not count)."""
    tests = pd.concat([SURVIVAL_TESTS, pd.DataFrame([
        {"endpoint": "PFS by CRV", "subgroup": "medium-high", "test": LOGRANK, "statistic": 1.0,
         "df": 1.0, "p_value": pfs_p}])], ignore_index=True)
    curves = pd.DataFrame([
        {"endpoint": "PFS", "by": "CRV", "subgroup": "medium-high", "group": g, "time": t,
         "n_risk": 10, "n_event": 1, "n_censor": 0, "value": v, "lower": v, "upper": v}
        for g, steps in (("CRV", ((12.0, 0.95), (30.0, crv_at_36), (40.0, 0.1))),
                         ("No CRV", ((6.0, 0.9), (36.0, no_crv_at_36), (50.0, 0.05))))
        for t, v in steps])
    surv = Survival(by_regimen=BY_REGIMEN, tests=tests, events=EVENTS, followup=FOLLOWUP,
                    curves=curves, at_risk=pd.DataFrame())
    return make_results(survival=surv)


def test_crv_prognostic_for_pfs_reads_the_supplementary_test_and_curves():
    rep = reproduce_study(by_crv_results(0.01, 0.85, 0.60))
    row = rep["text.claim.pfs.medium_high.by_crv"]
    assert row.status == EXACT, row.note
    assert "CRV 85.0, No CRV 60.0" in row.note                # the landmark values
    row = reproduce_study(by_crv_results(0.01, 0.55, 0.60))["text.claim.pfs.medium_high.by_crv"]
    assert row.status == MISSED and "CRV is not higher" in row.note
    row = reproduce_study(by_crv_results(0.2, 0.85, 0.60))["text.claim.pfs.medium_high.by_crv"]
    assert row.status == MISSED and "not below 0.05" in row.note
    # no OS-by-CRV test in these results: missed with the reason
    row = reproduce_study(by_crv_results(0.01, 0.85, 0.6))["text.claim.os.medium_high.by_crv"]
    assert row.status == MISSED and "OS by CRV" in row.note
