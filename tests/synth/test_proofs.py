"""The searches behind the published record's test-policy conflicts, recomputed.

Each conflict added for a p-value the study's policy cannot print quotes a search; these tests run
the search again and check both the proof (no admissible counts give the printed p under the
policy) and the counts on which another test does print it.
"""

from __future__ import annotations

import pytest
from scipy.stats import chi2_contingency, fisher_exact

from poems_cohort.synth.proofs import search_pair, search_row
from poems_cohort.synth.published import load_published
from poems_cohort.synth.pvalues import p_value
from poems_cohort.synth.solver import Printed, counts_for_percent

REGIMENS = ("MDex", "ASCT", "LDex")
#: low and medium-high risk patients per regimen (Table 1's risk rows, docs/reproduction.md)
SIZES = {"MDex": {"low": 18, "medium_high": 61}, "ASCT": {"low": 73, "medium_high": 92},
         "LDex": {"low": 27, "medium_high": 76}}
OVERALL = {"crh": "46.4", "crv": "55.1"}


@pytest.fixture(scope="module")
def study():
    return load_published()


def _rates(study, endpoint):
    return {r: {c: study[f"table2.{endpoint}.{c}.{r}.rate"].printed
                for c in ("all", "low", "medium_high")} for r in ("ASCT", "MDex", "LDex")}


# ---- hand-checkable cases


def test_pair_search_by_hand():
    # A (reference): 2/4 + 2/4; B: 1/4 + 0/4 with every patient evaluable: one table per column
    rates = {"A": {"all": "50.0", "low": "50.0", "medium_high": "50.0"},
             "B": {"all": "12.5", "low": "25.0", "medium_high": "0.0"}}
    sizes = {"A": {"low": 4, "medium_high": 4}, "B": {"low": 4, "medium_high": 4}}
    fisher = fisher_exact([[1, 7], [4, 4]])[1]     # 1/8 vs 4/8, expected counts 2.5: Fisher
    pearson = chi2_contingency([[1, 7], [4, 4]], correction=False)[1]
    found = search_pair(rates, sizes, "B", "all", f"{fisher:.3f}", reference="A",
                        min_fraction=1.0)
    assert found.candidates == 1 and not found.proven
    assert found.nearest.counts == ((1, 8), (4, 8))
    assert found.nearest.p["spss"] == pytest.approx(fisher)
    printed_pearson = f"{pearson:.3f}"
    found = search_pair(rates, sizes, "B", "all", printed_pearson, reference="A",
                        min_fraction=1.0)
    assert found.proven
    assert [t.counts for t in found.by_other_tests["pearson"]] == [((1, 8), (4, 8))]


def test_row_search_by_hand():
    # 1/4 = 25.0 and 3/4 = 75.0, nothing missing: a single 2 x 2 table, expected counts 2
    fisher = fisher_exact([[1, 3], [3, 1]])[1]
    found = search_row(["25.0", "75.0"], [4, 4], [4, 4], f"{fisher:.3f}")
    assert found.candidates == 1 and not found.proven
    # the policy takes Fisher's test here, so Pearson's p cannot be printed by it
    pearson = chi2_contingency([[1, 3], [3, 1]], correction=False)[1]
    found = search_row(["25.0", "75.0"], [4, 4], [4, 4], f"{pearson:.3f}")
    assert found.proven
    assert [t.counts for t in found.by_other_tests["pearson"]] == [((1, 4), (3, 4))]


# ---- the published conflicts


PAIRS = [  # endpoint, regimen, column, test printing the published p, its counts
    ("crh", "MDex", "low", "fisher", ((7, 16), (28, 69))),
    ("crh", "MDex", "medium_high", "fisher", ((19, 53), (49, 86))),
    ("crh", "LDex", "all", "fisher", ((47, 99), (77, 155))),
    ("crh", "LDex", "low", "fisher", ((12, 25), (28, 69))),
    ("crh", "LDex", "medium_high", "fisher", ((35, 74), (49, 86))),
    ("crv", "MDex", "low", "pearson", ((7, 12), (41, 66))),
    ("crv", "LDex", "all", "fisher", ((41, 86), (90, 136))),
    ("crv", "LDex", "low", "fisher", ((10, 24), (41, 66))),
    ("crv", "LDex", "medium_high", "fisher", ((32, 64), (49, 70))),
]


@pytest.mark.parametrize(("endpoint", "regimen", "column", "test", "counts"), PAIRS)
def test_table2_p_values_the_policy_cannot_print(study, endpoint, regimen, column, test, counts):
    number = study[f"table2.{endpoint}.{column}.{regimen}.p"]
    found = search_pair(_rates(study, endpoint), SIZES, regimen, column, number.printed,
                        overall=OVERALL[endpoint])
    assert found.proven
    assert counts in [t.counts for t in found.by_other_tests[test]]
    assert number.conflict_kind == "impossible"
    conflict = next(c for c in study.conflicts if number.id in c.ids)
    assert f"{counts[0][0]}/{counts[0][1]} vs {counts[1][0]}/{counts[1][1]}" in conflict.note


@pytest.mark.parametrize(("row", "percents", "candidates"), [
    ("osteosclerosis", ("68.4", "86.1", "81.6"), 12),
    ("urine_protein_gt_1g", ("5.1", "4.2", "7.8"), 6),
])
def test_table1_p_values_no_test_prints(study, row, percents, candidates):
    printed = study[f"table1.{row}.p"].printed
    found = search_row(percents, [79, 165, 103], [64, 150, 88], printed)
    assert found.candidates == candidates
    assert found.proven
    assert not any(found.by_other_tests.values())
    assert study[f"table1.{row}.p"].conflict_kind == "impossible"


def test_onls_row_cannot_hold_with_the_rn_evaluable_patients(study):
    evaluable = (32, 82, 65)   # the one RN solution (MDex, ASCT, LDex)
    percents = [Printed.parse(study[f"table1.onls_gt_4.{r}.percent"].printed) for r in REGIMENS]
    pooled = Printed.parse(study["table1.onls_gt_4.All.percent"].printed)
    target = Printed.parse(study["table1.onls_gt_4.p"].printed)
    zeros = int(study["text.onls_zero.All.count"].printed)
    # no LDex denominator of 65 to 65 + 19 prints 33.0
    assert counts_for_percent("33.0", 1, range(65, 65 + zeros + 1)) == []
    printing_three = []
    for a in range(zeros + 1):
        for b in range(zeros + 1 - a):
            big_n = (evaluable[0] + a, evaluable[1] + b, evaluable[2] + zeros - a - b)
            md = [n for n in range(big_n[0] + 1) if percents[0].admits_percent(n, big_n[0])]
            asct = [n for n in range(big_n[1] + 1) if percents[1].admits_percent(n, big_n[1])]
            for n0 in md:
                for n1 in asct:
                    for n2 in range(big_n[2] + 1):
                        if pooled.admits_percent(n0 + n1 + n2, sum(big_n)):
                            printing_three.append(((n0, n1, n2), big_n))
    assert printing_three == [((22, 33, 22), (47, 85, 66))]
    p = p_value("pearson", *printing_three[0])
    assert f"{p:.3f}" == "0.350" and not target.admits_p(p)
    assert study["table1.onls_gt_4.p"].conflict_kind == "impossible"


def test_crh_crv_low_mdex_p_cannot_hold_with_crh(study):
    # CRH MDex low 43.8% of at most 18 patients: 7/16 only
    assert counts_for_percent("43.8", 1, range(1, 19)) == [(7, 16)]
    # CRH/CRV MDex low 76.9% of at most 18: 10/13 only, fewer than CRH's 16
    assert counts_for_percent("76.9", 1, range(1, 19)) == [(10, 13)]
    # ASCT low CRH/CRV 70.0% with at least CRV's 66 evaluable (41/66) and at most 73
    assert counts_for_percent("70.0", 1, range(66, 74)) == [(49, 70)]
    target = Printed.parse(study["table2.crh_crv.low.MDex.p"].printed)
    assert not any(target.admits_p(p_value("spss", (n, 49), (big_n, 70)))
                   for big_n in (16, 17, 18) for n in range(big_n + 1))
    assert target.admits_p(p_value("fisher", (10, 49), (13, 70)))
    assert study["table2.crh_crv.low.MDex.p"].conflict_kind == "impossible"
