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
from poems_cohort.synth.solver import (
    Printed,
    _regimen_options,
    counts_for_percent,
    solve_percent_row,
    solve_response_endpoint,
)

REGIMENS = ("MDex", "ASCT", "LDex")
#: low and medium-high risk patients per regimen (Table 1's risk rows, docs/reproduction.md)
SIZES = {"MDex": {"low": 18, "medium_high": 61}, "ASCT": {"low": 73, "medium_high": 92},
         "LDex": {"low": 27, "medium_high": 76}}
OVERALL = {"crh": "46.4", "crv": "55.1"}


@pytest.fixture(scope="module")
def study():
    return load_published()


def _conflict(study, number_id):
    return next(c for c in study.conflicts if number_id in c.ids)


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
    conflict = _conflict(study, number.id)
    assert f"{counts[0][0]}/{counts[0][1]} vs {counts[1][0]}/{counts[1][1]}" in conflict.note


def test_crh_crv_ldex_p_the_policy_cannot_print_under_any_reading(study):
    """Scope: the CRH/CRV rates of LDex and ASCT printed in all three columns, any evaluable
    count from 0 to the whole risk subgroup (so every reading of CRH/CRV evaluability, whichever
    CRH and CRV counts it starts from), the pooled 65.8 left out (itself impossible)."""
    number = study["table2.crh_crv.all.LDex.p"]
    found = search_pair(_rates(study, "crh_crv"), SIZES, "LDex", "all", number.printed,
                        min_fraction=0.0)
    assert found.proven
    assert found.candidates == 2                  # 61/92 against 113/150 or 64/85
    assert {t.counts for t in found.by_other_tests["fisher"]} == {((61, 92), (113, 150))}
    assert found.nearest.counts == ((61, 92), (113, 150))
    assert f"{p_value('spss', (61, 64), (92, 85)):.3f}" == "0.190"
    assert found.nearest.p["spss"] == pytest.approx(found.nearest.p["pearson"])
    assert number.conflict_kind == "impossible"
    assert study["text.crh_crv.LDex.p"].conflict_kind == "impossible"
    conflict = _conflict(study, number.id)
    assert "61/92 vs 113/150" in conflict.note and "every reading" in conflict.note
    assert "61/92 vs 64/85 (0.190)" in conflict.note


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


def test_onls_row_cannot_hold_under_the_reading_baseline(study):
    """Scope: RN-evaluable exactly when the baseline ONLS is at least 1 (rn_evaluable =
    "baseline"). Under "assessed" the row holds (next test), so it is no conflict."""
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
    assert study["table1.onls_gt_4.p"].conflict_kind is None


def test_onls_row_holds_with_complete_data_under_the_reading_assessed(study):
    """With every baseline ONLS recorded the row prints (37/79, 64/165, 34/103, p 0.166); under
    "assessed" the RN-evaluable patients (32, 82, 65) are those re-scored after treatment, so
    the RN block of Table 2 is untouched."""
    counts, sizes = (37, 64, 34), (79, 165, 103)
    for r, n, big_n in zip(REGIMENS, counts, sizes, strict=True):
        assert Printed.parse(study[f"table1.onls_gt_4.{r}.percent"].printed).admits_percent(
            n, big_n)
    assert Printed.parse(study["table1.onls_gt_4.All.percent"].printed).admits_percent(
        sum(counts), sum(sizes))
    assert Printed.parse(study["table1.onls_gt_4.p"].printed).admits_p(
        p_value("pearson", counts, sizes))
    # the 19 at ONLS 0 and the RN-evaluable patients fit inside every regimen
    assert all(ev + 19 <= big_n for ev, big_n in zip((32, 82, 65), sizes, strict=True))


def test_crh_crv_low_mdex_p_cannot_hold_under_the_reading_either(study):
    """Scope: CRH/CRV-evaluable when evaluable for CRH or CRV (crh_crv_evaluable = "either")."""
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
    assert study["table2.crh_crv.low.MDex.p"].conflict_kind is None


def _crh_crv_cells(h: tuple[int, int], v: tuple[int, int], size: int) -> list[tuple[int, int]]:
    """Every CRH/CRV cell ``(n, N)`` one set of patients allows with CRH ``h`` and CRV ``v``."""
    from poems_cohort.synth.crh_crv import Cell, feasible

    return [(n, big_n) for big_n in range(max(h[1], v[1]), min(h[1] + v[1], size) + 1)
            for n in range(max(h[0], v[0]), min(h[0] + v[0], big_n) + 1)
            if feasible(Cell(*h), Cell(*v), Cell(n, big_n))]


def test_crh_counts_are_the_one_set_printing_every_crh_number_but_the_mdex_p(study):
    rates = _rates(study, "crh")
    ps = {r: {c: study[f"table2.crh.{c}.{r}.p"].printed for c in ("all", "low", "medium_high")}
          for r in ("MDex", "LDex")}
    sols = solve_response_endpoint(rates, ps, SIZES, overall=OVERALL["crh"], min_fraction=0.3,
                                   ignore=["p:MDex:all"])
    assert len(sols) == 1
    cells = {(r, c): (x.n, x.N) for r, cols in sols[0].cells.items() for c, x in cols.items()}
    assert cells["LDex", "medium_high"] == (35, 74)
    assert cells["ASCT", "low"] == (28, 69) and cells["ASCT", "medium_high"] == (49, 86)


def test_crh_crv_medium_high_mdex_rate_cannot_print_under_the_reading_either(study):
    assert counts_for_percent("35.8", 1, range(19, 62)) == [(19, 53)]   # CRH
    assert counts_for_percent("32.5", 1, range(19, 62)) == [(13, 40)]   # CRV
    cells = _crh_crv_cells((19, 53), (13, 40), 61)
    target = Printed.parse(study["table2.crh_crv.medium_high.MDex.rate"].printed)
    assert cells and not any(target.admits_percent(n, big_n) for n, big_n in cells)
    nearest = min(cells, key=lambda c: abs(100 * c[0] / c[1] - target.value))
    assert nearest == (32, 60)
    assert study["table2.crh_crv.medium_high.MDex.rate"].conflict_kind is None


def test_crh_crv_medium_high_ldex_rate_cannot_print_under_the_reading_either(study):
    cells = _crh_crv_cells((35, 74), (32, 64), 76)
    target = Printed.parse(study["table2.crh_crv.medium_high.LDex.rate"].printed)
    assert cells and not any(target.admits_percent(n, big_n) for n, big_n in cells)
    assert min(cells, key=lambda c: abs(100 * c[0] / c[1] - target.value)) == (52, 74)
    assert study["table2.crh_crv.medium_high.LDex.rate"].conflict_kind is None


def test_asct_crh_crv_rates_cannot_all_print_under_the_reading_either(study):
    printed = {c: Printed.parse(study[f"table2.crh_crv.{c}.ASCT.rate"].printed)
               for c in ("all", "low", "medium_high")}
    low = _crh_crv_cells((28, 69), (41, 66), 73)
    high = _crh_crv_cells((49, 86), (49, 70), 92)
    assert [c for c in low if printed["low"].admits_percent(*c)] == [(49, 70)]
    assert [c for c in high if printed["medium_high"].admits_percent(*c)] == [(72, 90)]
    printing = [(a, b) for a in low for b in high
                if sum(printed[col].admits_percent(*cell) for col, cell in
                       (("low", a), ("medium_high", b), ("all", (a[0] + b[0], a[1] + b[1])))) == 3]
    assert printing == []
    assert not printed["all"].admits_percent(49 + 72, 70 + 90)


#: CRH and CRV counts of Table 2 (solved; see solved_counts.json) and the solver's CRH/CRV
#: counts, per regimen and risk column
CRH = {"MDex": {"low": (7, 16), "medium_high": (19, 53)},
       "ASCT": {"low": (28, 69), "medium_high": (49, 86)},
       "LDex": {"low": (12, 25), "medium_high": (35, 74)}}
CRV = {"MDex": {"low": (7, 12), "medium_high": (13, 40)},
       "ASCT": {"low": (41, 66), "medium_high": (49, 70)},
       "LDex": {"low": (10, 24), "medium_high": (32, 64)}}
CRH_CRV = {"MDex": {"low": (10, 13), "medium_high": (25, 47)},
           "ASCT": {"low": (49, 70), "medium_high": (64, 80)},
           "LDex": {"low": (14, 25), "medium_high": (47, 67)}}
CELL_SIZES = {"MDex": {"low": 18, "medium_high": 61}, "ASCT": {"low": 73, "medium_high": 92},
              "LDex": {"low": 27, "medium_high": 76}}


def test_every_crh_crv_rate_and_p_prints_under_the_reading_both_or_responder(study):
    """Evaluable for both, or a responder to either: the CRH/CRV counts fit CRH and CRV in all
    six cells, and print every CRH/CRV rate of Table 2 (76.9 low-risk MDex with its p 0.748,
    53.2 and 70.1 in medium-high risk, ASCT's 70.0 / 80.0 / 75.3)."""
    from poems_cohort.synth.crh_crv import Cell, reachable

    for reg, cols in CRH_CRV.items():
        for col, (n, big_n) in cols.items():
            cell = Cell(n, big_n)
            assert cell in reachable(Cell(*CRH[reg][col]), Cell(*CRV[reg][col]),
                                     CELL_SIZES[reg][col]), (reg, col)
            assert Printed.parse(study[f"table2.crh_crv.{col}.{reg}.rate"].printed
                                 ).admits_percent(n, big_n)
        pooled = (cols["low"][0] + cols["medium_high"][0], cols["low"][1] + cols["medium_high"][1])
        assert Printed.parse(study[f"table2.crh_crv.all.{reg}.rate"].printed).admits_percent(
            *pooled)
    mdex_low = p_value("spss", (10, 49), (13, 70))
    assert Printed.parse(study["table2.crh_crv.low.MDex.p"].printed).admits_p(mdex_low)


def test_splenomegaly_p_cannot_come_from_the_policy(study):
    percents = [study[f"table1.splenomegaly.{r}.percent"].printed for r in REGIMENS]
    sizes = [79, 165, 103]
    search = search_row(percents, sizes, [s - 15 for s in sizes],
                        study["table1.splenomegaly.p"].printed)
    assert search.candidates == 4 and search.proven
    sets = solve_percent_row(percents, sizes, None, None, sizes_min=[s - 15 for s in sizes])
    assert len(sets) == 4
    assert all(0.0039 <= p_value("pearson", s.n, s.N) < 0.0045 for s in sets)
    wider = search_row(percents, sizes, [s - 40 for s in sizes],
                       study["table1.splenomegaly.p"].printed)
    assert min(t.counts[2][1] for t in wider.reproduced) == 82     # 21 missing LDex values
    assert study["table1.splenomegaly.p"].conflict_kind == "impossible"


def test_scope_of_the_osteosclerosis_pooled_percent_proof(study):
    """81.6 pooled is unreachable with up to 21 missing values per regimen, reachable with 22
    (39/57 MDex, 142/165 ASCT, 71/87 or 80/98 LDex), and still not with the printed p."""
    percents = [study[f"table1.osteosclerosis.{r}.percent"].printed for r in REGIMENS]
    pooled = study["table1.osteosclerosis.All.percent"].printed
    sizes = [79, 165, 103]
    assert solve_percent_row(percents, sizes, pooled, None,
                             sizes_min=[s - 21 for s in sizes]) == []
    sols = solve_percent_row(percents, sizes, pooled, None, sizes_min=[s - 22 for s in sizes])
    assert [(s.n, s.N) for s in sols] == [((39, 142, 71), (57, 165, 87)),
                                          ((39, 142, 80), (57, 165, 98))]
    assert solve_percent_row(percents, sizes, pooled, study["table1.osteosclerosis.p"].printed,
                             sizes_min=[s - 22 for s in sizes]) == []


# ---- the remaining conflicts of Table 1 and Table 2, each proof recomputed


SIZES_T1 = [79, 165, 103]


def _row(study, row):
    return [study[f"table1.{row}.{r}.percent"].printed for r in REGIMENS]


@pytest.mark.parametrize(("row", "nearest"), [
    ("hepatomegaly", "0.183"), ("papilledema", "0.267"), ("bmpc_gt_10", "0.385"),
    ("vegf_gt_4000", "0.006")])
def test_table1_p_values_no_counts_print_with_the_row(study, row, nearest):
    """Scope: up to 15 missing values per regimen, every percent of the row and the pooled
    percent printed; neither Pearson (the policy for 3 x 2) nor Fisher prints the p."""
    found = search_row(_row(study, row), SIZES_T1, [s - 15 for s in SIZES_T1],
                       study[f"table1.{row}.p"].printed,
                       all_percent=study[f"table1.{row}.All.percent"].printed)
    assert found.candidates > 0
    assert found.proven
    assert not any(found.by_other_tests.values())
    assert f"{found.nearest.p['spss']:.3f}" == nearest
    note = _conflict(study, f"table1.{row}.p").note
    assert "15 missing" in note and nearest in note


@pytest.mark.parametrize(("row", "complete", "p"), [
    ("splenomegaly", "59.4", "0.004"), ("osteosclerosis", "80.7", "0.004"),
    ("urine_protein_gt_1g", "5.5", "0.459")])
def test_pooled_percents_the_regimen_percents_cannot_give(study, row, complete, p):
    """Scope: up to 15 missing values per regimen (osteosclerosis further: the test above);
    with complete data the pooled percent and Pearson p are the note's."""
    percents = _row(study, row)
    pooled = study[f"table1.{row}.All.percent"].printed
    assert solve_percent_row(percents, SIZES_T1, pooled, None,
                             sizes_min=[s - 15 for s in SIZES_T1]) == []
    full = solve_percent_row(percents, SIZES_T1, None, None)
    assert len(full) == 1
    n = full[0].n
    assert f"{100 * sum(n) / sum(SIZES_T1):.1f}" == complete
    assert f"{p_value('pearson', n, SIZES_T1):.3f}" == p
    note = _conflict(study, f"table1.{row}.All.percent").note
    assert "15 missing" in note and complete in note and p in note


def test_urinary_protein_pooled_percent_scope(study):
    """docs/reproduction.md: unreachable up to 45 missing values per regimen, 46 make it
    printable (2/39, 5/119, 8/102); splenomegaly's 59.1 stays unreachable up to 60."""
    assert solve_percent_row(_row(study, "splenomegaly"), SIZES_T1,
                             study["table1.splenomegaly.All.percent"].printed, None,
                             sizes_min=[s - 60 for s in SIZES_T1]) == []

    percents = _row(study, "urine_protein_gt_1g")
    pooled = study["table1.urine_protein_gt_1g.All.percent"].printed
    assert solve_percent_row(percents, SIZES_T1, pooled, None,
                             sizes_min=[s - 45 for s in SIZES_T1]) == []
    wider = solve_percent_row(percents, SIZES_T1, pooled, None,
                              sizes_min=[s - 46 for s in SIZES_T1])
    assert ((2, 5, 8), (39, 119, 102)) in [(s.n, s.N) for s in wider]


def test_angioma_row_prints_only_with_another_asct_percent(study):
    """No counts (up to 15 missing per regimen) print 55.7 / 52.1 / 68.9 with the pooled 59.4
    and p = 0.062; with ASCT 91/165 = 55.2 all of them print on complete data."""
    percents = _row(study, "angioma")
    pooled = study["table1.angioma.All.percent"].printed
    printed_p = study["table1.angioma.p"].printed
    assert solve_percent_row(percents, SIZES_T1, pooled, printed_p,
                             sizes_min=[s - 15 for s in SIZES_T1]) == []
    n = (44, 91, 71)                                  # 55.7 of 79, 55.2 of 165, 68.9 of 103
    assert [f"{100 * a / b:.1f}" for a, b in zip(n, SIZES_T1, strict=True)] == [
        "55.7", "55.2", "68.9"]
    assert f"{100 * sum(n) / 347:.1f}" == pooled == "59.4"
    assert Printed.parse(printed_p).admits_p(p_value("pearson", n, SIZES_T1))
    conflict = _conflict(study, "table1.angioma.ASCT.percent")
    assert conflict.intended == "55.2" and "91/165" in conflict.note


def test_crh_crv_overall_rate_is_below_every_pooling_of_the_regimens(study):
    """Scope: each regimen's CRH/CRV rate printed in its low-risk, medium-high-risk and overall
    columns with any number from none to all of each risk subgroup evaluable (every reading):
    the regimens pool to 67.5 at least, never 65.8."""
    rates = _rates(study, "crh_crv")
    options = {r: _regimen_options(rates[r], SIZES[r], 0.0, frozenset(), r) for r in rates}
    pooled = {(a["all"].n + b["all"].n + c["all"].n, a["all"].N + b["all"].N + c["all"].N)
              for a in options["ASCT"] for b in options["MDex"] for c in options["LDex"]}
    percents = sorted(100 * n / big_n for n, big_n in pooled)
    assert f"{percents[0]:.1f}" == "67.5" and f"{percents[-1]:.1f}" == "69.2"
    assert not any(Printed.parse("65.8").admits_percent(n, big_n) for n, big_n in pooled)
    note = _conflict(study, "text.crh_crv.All.percent").note
    assert "67.5" in note and "69.2" in note


def test_rn_rates_admit_one_count_set_which_pools_to_93_9(study):
    """Every RN rate and pairwise p-value of Table 2 and the 3-group p 0.234 (30% to all of each
    risk subgroup evaluable): one count set, pooling to 168/179 = 93.9, never 93.8."""
    rates = _rates(study, "rn")
    ps = {r: {c: study[f"table2.rn.{c}.{r}.p"].printed for c in ("all", "low", "medium_high")}
          for r in ("MDex", "LDex")}
    sols = solve_response_endpoint(rates, ps, SIZES, p_groups="0.234", min_fraction=0.3)
    assert len(sols) == 1
    cells = {r: (c["all"].n, c["all"].N) for r, c in sols[0].cells.items()}
    assert cells == {"ASCT": (75, 82), "MDex": (32, 32), "LDex": (61, 65)}
    assert f"{100 * 168 / 179:.1f}" == "93.9"
    assert solve_response_endpoint(rates, ps, SIZES, overall="93.8", p_groups="0.234",
                                   min_fraction=0.3) == []
    assert "75/82" in _conflict(study, "abstract.rn.All.percent").note


def test_crh_mdex_p_is_far_from_0_001_under_every_count(study):
    """CRH 37.7 (MDex) against 49.7 (ASCT): every pair of counts printing them, any evaluable
    count up to the regimen's size, gives a Pearson p of 0.080 or more; with the other CRH
    constraints of Table 2 one pair is admissible, p 0.096."""
    mdex = [(n, big_n) for big_n in range(1, 80) for n in range(big_n + 1)
            if Printed.parse("37.7").admits_percent(n, big_n)]
    asct = [(n, big_n) for big_n in range(1, 166) for n in range(big_n + 1)
            if Printed.parse("49.7").admits_percent(n, big_n)]
    smallest = min(p_value("pearson", (a[0], b[0]), (a[1], b[1])) for a in mdex for b in asct)
    assert f"{smallest:.3f}" == "0.080"
    number = study["table2.crh.all.MDex.p"]
    found = search_pair(_rates(study, "crh"), SIZES, "MDex", "all", number.printed,
                        overall=OVERALL["crh"])
    assert found.proven and found.candidates == 1
    assert found.nearest.counts == ((26, 69), (77, 155))
    assert f"{found.nearest.p['spss']:.3f}" == "0.096"
    assert not any(found.by_other_tests.values())
    note = _conflict(study, number.id).note
    assert "0.080" in note and "0.096" in note
