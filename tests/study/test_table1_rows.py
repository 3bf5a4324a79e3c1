"""Table 1 rows as data: every kind on small frames worked out by hand, and the continuous
tests against R (``tests/reference/study/make_continuous_reference.R``)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from poems_cohort.study import AnalysisPlan
from poems_cohort.study.policy import NOT_TESTABLE
from poems_cohort.study.table1 import (
    ANOVA,
    KRUSKAL,
    MANN_WHITNEY,
    anova,
    compute_table1,
    kruskal_wallis,
    mann_whitney,
)
from poems_cohort.study.table1_spec import Table1Row

R = json.loads((Path(__file__).resolve().parents[1] / "reference" / "study"
                / "continuous_reference.json").read_text())
X = np.array([1.5, 3.2, 4.8, 7.1, 9.9, 12.4])
Y = np.array([2.2, 5.5, 6.1, 8.3, 10.7, 13.0, 15.2])
U = np.array([1, 2, 2, 3, 5, 5, 8], dtype=float)
V = np.array([2, 3, 3, 4, 6, 9, 9, 10], dtype=float)
W = np.array([4.4])


def test_mann_whitney_is_exact_without_ties_and_approximate_with_them():
    exact = mann_whitney(X, Y)
    assert exact.test == MANN_WHITNEY
    assert exact.statistic == R["mw_exact_w"]
    assert exact.p_value == pytest.approx(R["mw_exact_p"], rel=1e-8)
    ties = mann_whitney(U, V)
    assert ties.statistic == R["mw_ties_w"]
    assert ties.p_value == pytest.approx(R["mw_ties_p"], rel=1e-8)
    large = mann_whitney(np.arange(0.5, 60.5, 1.0), np.arange(0.75, 40.5, 1.0))
    assert large.p_value == pytest.approx(R["mw_large_p"], rel=1e-8)
    assert mann_whitney(X, np.array([])).test == NOT_TESTABLE


def test_kruskal_wallis_with_ties_and_a_group_of_one():
    kw = kruskal_wallis([U, V, W, np.array([])])  # the empty group is left out
    assert kw.test == KRUSKAL
    assert kw.statistic == pytest.approx(R["kw_stat"], rel=1e-8)
    assert kw.df == R["kw_df"]
    assert kw.p_value == pytest.approx(R["kw_p"], rel=1e-8)
    assert kruskal_wallis([U, np.array([])]).test == NOT_TESTABLE
    assert kruskal_wallis([np.ones(3), np.ones(4)]).test == NOT_TESTABLE  # all values tied


def test_anova_and_its_refusal_of_a_group_of_one():
    a = anova([U, V, X])
    assert a.test == ANOVA
    assert a.statistic == pytest.approx(R["anova_f"], rel=1e-8)
    assert a.p_value == pytest.approx(R["anova_p"], rel=1e-8)
    assert anova([U, W]).test == NOT_TESTABLE


def _frame() -> pd.DataFrame:
    return pd.DataFrame({
        "patient_id": [f"P{i}" for i in range(8)],
        "regimen": ["A", "A", "A", "B", "B", "B", "C", "C"],
        "score": [2.0, 3.0, np.nan, 9.0, 4.0, 3.0, 6.0, 10.0],
        "flag": pd.array([True, False, pd.NA, True, True, False, pd.NA, False], dtype="boolean"),
        "grade": ["I", "II", "I", pd.NA, "III", "II", "I", "I"],
        "code": ["x", "y", "x", "x", "y", pd.NA, "x", "y"],
    })


def _table(rows: tuple[Table1Row, ...]):
    plan = AnalysisPlan(regimens=("A", "B", "C"), reference="A", table1=rows,
                        test_policy="exact")
    return compute_table1(_frame(), plan)


def test_every_kind_counts_known_values_and_unknowns():
    t = _table((
        Table1Row("Score", "score", "continuous", mean_sd=True),
        Table1Row("Score > 3", "score", "above", threshold=3),
        Table1Row("Score < 3", "score", "below", threshold=3, key="score_lt_3"),
        Table1Row("Flag", "flag", "binary"),
        Table1Row("Code x", "code", "binary", level="x"),
        Table1Row("Grade", "grade", "categorical"),
        Table1Row("Score 3", "score", "binary", level=3.0, key="score_eq_3", descriptive=True),
    ))
    above = t.row("score_3", regimen="All")  # "Score > 3": 9, 4, 6, 10 of 7 known
    assert (above["n"], above["N"], above["unknown"]) == (4, 7, 1)
    below = t.row("score_lt_3", regimen="A")
    assert (below["n"], below["N"], below["unknown"]) == (1, 2, 1)
    flag = t.row("flag", regimen="A")
    assert (flag["n"], flag["N"], flag["unknown"]) == (1, 2, 1)
    code = t.row("code_x", regimen="B")
    assert (code["n"], code["N"], code["unknown"]) == (1, 2, 1)
    levels = [k for k in dict.fromkeys(t.rows["key"]) if str(k).startswith("grade_")]
    assert levels == ["grade_i", "grade_ii", "grade_iii"]  # found and sorted
    assert t.row("grade_i", regimen="C")["n"] == 2
    assert t.test("Grade").test != NOT_TESTABLE
    cont = t.continuous.set_index("regimen")
    assert cont.loc["A", "N"] == 2 and cont.loc["A", "unknown"] == 1
    assert cont.loc["B", "median"] == 4.0 and cont.loc["B", "q1"] == 3.5
    assert cont.loc["C", "mean"] == 8.0
    assert math.isnan(cont.loc["A", "p_vs_reference"])
    assert cont.loc["B", "test_vs_reference"] == MANN_WHITNEY
    desc = t.descriptive.set_index("regimen")
    assert desc.loc["All", "n"] == 2 and desc.loc["All", "N"] == 7


def test_duplicate_keys_are_a_plan_error(tmp_path):
    from poems_cohort.errors import InputError
    from poems_cohort.study import load_plan

    f = tmp_path / "plan.toml"
    f.write_text('[[table1]]\nlabel = "Score > 3"\ncolumn = "score"\nkind = "above"\n'
                 'threshold = 3\n[[table1]]\nlabel = "Score < 3"\ncolumn = "score"\n'
                 'kind = "below"\nthreshold = 3\n', encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_plan(f)
    found = {(p.column, str(p.value)) for p in caught.value.problems}
    assert found == {("table1", "['score_3']")}  # keys come from labels unless given
    f.write_text('[[table1]]\nlabel = "X"\ncolumn = "x"\nkind = "ratio"\nlevel = [1]\n',
                 encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_plan(f)
    found = {(p.column, str(p.value)) for p in caught.value.problems}
    assert found == {("table1[1].kind", "ratio"), ("table1[1].level", "[1]")}


def test_a_column_absent_from_the_cohort_counts_as_all_unknown():
    t = _table((Table1Row("Missing", "nowhere", "binary"),))
    row = t.row("missing")
    assert (row["n"], row["N"], row["unknown"]) == (0, 0, 8)
    assert row["test"] == NOT_TESTABLE
