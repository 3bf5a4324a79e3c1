"""The count solver on hand-checkable cases and on the published tables."""

from __future__ import annotations

import json

import pytest
from scipy.stats import chi2_contingency, fisher_exact

from poems_cohort.synth.pvalues import p_value
from poems_cohort.synth.solver import (
    Printed,
    choose_row,
    counts_for_percent,
    diagnose_endpoint,
    diagnose_row,
    solve_partition,
    solve_percent_row,
    solve_response_endpoint,
)


def test_printed_rounding_is_exact_and_half_up():
    assert Printed.parse("12.5").admits_percent(1, 8)          # exactly 12.5
    assert Printed.parse("6.3").admits_percent(1, 16)          # 6.25 rounds up
    assert not Printed.parse("6.2").admits_percent(1, 16)
    assert Printed.parse("0.000").admits_p(0.00049)
    assert not Printed.parse("0.000").admits_p(0.0005)
    assert Printed.parse("< 0.001").admits_p(0.0009)
    assert Printed.parse("1.000").admits_p(1.0)


def test_counts_for_percent_by_hand():
    # 37.5% of at most 16: 3/8 and 6/16 only
    assert counts_for_percent("37.5", 1, range(1, 17)) == [(3, 8), (6, 16)]
    # 2.7% of 11 cannot be printed: 0/11 = 0%, 1/11 = 9.1%
    assert counts_for_percent("2.7", 1, [11]) == []
    assert counts_for_percent("100.0", 1, [5]) == [(5, 5)]
    with pytest.raises(ValueError):
        counts_for_percent("37.5", 2, [8])


def test_p_values_agree_with_scipy():
    n, N = (5, 12), (20, 25)
    table = [[5, 15], [12, 13]]
    assert p_value("pearson", n, N) == pytest.approx(chi2_contingency(table, correction=False)[1])
    assert p_value("yates", n, N) == pytest.approx(chi2_contingency(table, correction=True)[1])
    assert p_value("fisher", n, N) == pytest.approx(fisher_exact(table)[1])
    # expected counts below 5 switch the SPSS rule to Fisher
    assert p_value("spss", (1, 6), (8, 9)) == pytest.approx(fisher_exact([[1, 7], [6, 3]])[1])
    assert p_value("pearson", (3, 3), (3, 3)) == 1.0


def test_row_with_a_unique_solution():
    # 1/4 = 25.0 and 3/4 = 75.0 of complete groups of 4: pooled 4/8 = 50.0, p from those counts
    p = f"{p_value('pearson', (1, 3), (4, 4)):.3f}"
    sols = solve_percent_row(["25.0", "75.0"], [4, 4], "50.0", p, sizes_min=[1, 1])
    assert [(s.n, s.N) for s in sols] == [((1, 3), (4, 4))]


def test_row_with_several_solutions_and_the_choice_rule():
    sols = solve_percent_row(["50.0", "50.0"], [4, 4], "50.0", None, sizes_min=[2, 2])
    assert {(s.n, s.N) for s in sols} == {((1, 1), (2, 2)), ((1, 2), (2, 4)),
                                          ((2, 1), (4, 2)), ((2, 2), (4, 4))}
    assert choose_row(sols).N == (4, 4)   # complete data first


def test_row_without_solution_is_diagnosed():
    # 2.7% of 11 is impossible; with a pooled 61.5% of 52 the third group must be 8/11 (72.7%)
    args = (["41.7", "65.5", "2.7"], [12, 29, 11], "61.5", "0.249")
    assert solve_percent_row(*args) == []
    relax = diagnose_row(*args, labels=["MDex", "ASCT", "LDex"])
    assert [(r.dropped, r.achieved) for r in relax] == [("LDex", "72.7")]
    assert relax[0].solution.n == (5, 19, 8)


def test_partition_of_a_whole():
    assert solve_partition(["22.8", "43.0", "34.2"], 79) == [(18, 34, 27)]
    assert solve_partition(["26.2", "42.7", "30.1"], 103) == []   # 27 + 44 + 31 = 102


def _endpoint(all_a, low_a, mh_a, all_b, low_b, mh_b):
    rates = {"A": {"all": all_a, "low": low_a, "medium_high": mh_a},
             "B": {"all": all_b, "low": low_b, "medium_high": mh_b}}
    return rates


def test_endpoint_unique_solution_from_constructed_counts():
    # A: 2/4 low + 3/4 high = 5/8; B: 1/4 + 1/4 = 2/8; p of B vs A for each column
    p_all = f"{p_value('fisher', (2, 5), (8, 8)):.3f}"
    rates = _endpoint("62.5", "50.0", "75.0", "25.0", "25.0", "25.0")
    ps = {"B": {"all": p_all}}
    sizes = {"A": {"low": 4, "medium_high": 4}, "B": {"low": 4, "medium_high": 4}}
    sols = solve_response_endpoint(rates, ps, sizes, reference="A", overall="43.8",
                                   min_fraction=1.0)
    assert len(sols) == 1
    only = sols[0]
    assert (only.cells["A"]["all"].n, only.cells["B"]["all"].n) == (5, 2)
    assert "fisher" in only.tests[("B", "all")]


def test_endpoint_impossible_p_is_located():
    rates = _endpoint("62.5", "50.0", "75.0", "25.0", "25.0", "25.0")
    ps = {"B": {"all": "0.001"}}
    sizes = {"A": {"low": 4, "medium_high": 4}, "B": {"low": 4, "medium_high": 4}}
    assert solve_response_endpoint(rates, ps, sizes, reference="A", min_fraction=1.0) == []
    relax = diagnose_endpoint(rates, ps, sizes, reference="A", min_fraction=1.0)
    assert [r.dropped for r in relax] == ["p:B:all"]


# ---- the published tables (the generated file must match a fresh solve)

@pytest.fixture(scope="module")
def solved():
    from poems_cohort.synth.solve import OUTPUT
    return json.loads(OUTPUT.read_text())


def test_table1_age_reproduced_with_complete_sizes(solved):
    age = solved["table1"]["age_gt_50"]
    assert age["status"] == "unique"
    assert {r: (c["n"], c["N"]) for r, c in age["counts"].items()} == {
        "MDex": (38, 79), "ASCT": (54, 165), "LDex": (48, 103), "All": (140, 347)}
    assert f"{age['p']:.3f}" == "0.022"


def test_risk_groups(solved):
    risk = solved["risk_groups"]
    assert [risk[r]["low"] for r in ("MDex", "ASCT", "LDex")] == [18, 73, 27]
    assert [risk[r]["medium_high"] for r in ("MDex", "ASCT", "LDex")] == [61, 92, 76]
    assert risk["LDex"]["intended_percents"][1] == "43.7"
    assert risk["All"] == {"low": 118, "medium": 150, "high": 79, "medium_high": 229}


def test_castleman_intended(solved):
    row = solved["table1"]["castleman"]
    assert row["status"] == "impossible"
    assert row["intended"] == {"drop": "LDex", "value": "72.7"}
    assert row["counts"]["LDex"] == {"n": 8, "N": 11}


def test_table2_crh_mdex_p_cannot_be_reproduced(solved):
    crh = solved["table2"]["crh"]
    assert crh["status"] == "impossible"
    assert [r["drop"] for r in crh["relaxations"]] == ["p:MDex:all"]


def test_table2_cells_add_up_and_print_as_published(solved):
    from poems_cohort.synth.published import load_published
    study = load_published()
    for endpoint, entry in solved["table2"].items():
        for regimen, cells in entry["counts"].items():
            assert cells["all"]["n"] == cells["low"]["n"] + cells["medium_high"]["n"]
            assert cells["all"]["N"] == cells["low"]["N"] + cells["medium_high"]["N"]
            for column in ("all", "low", "medium_high"):
                c = cells[column]
                printed = study[f"table2.{endpoint}.{column}.{regimen}.rate"].printed
                assert Printed.parse(printed).admits_percent(c["n"], c["N"]), (endpoint, regimen)


@pytest.mark.slow
def test_bundled_file_is_regenerated_identically(solved, tmp_path):
    from poems_cohort.synth.solve import main
    out = tmp_path / "solved.json"
    main([str(out)])
    assert json.loads(out.read_text()) == solved


def test_printed_denominators_of_a_row_are_all_or_none():
    """A Table 1 row prints a denominator for every regimen or for none (Castleman: biopsied
    patients); one printed for some regimens only is refused, not searched with a gap."""
    from dataclasses import replace

    from poems_cohort.synth.published import load_published
    from poems_cohort.synth.solve import REGIMENS, _printed_denominators

    study = load_published()
    cells = [study[f"table1.castleman.{r}.percent"] for r in REGIMENS]
    assert _printed_denominators("castleman", cells) == [12, 29, 11]
    cells[2] = replace(cells[2], denominator=None)
    with pytest.raises(ValueError, match=r"table1.castleman: .*some regimens only: \[12, 29, None\]"):
        _printed_denominators("castleman", cells)
