"""The test rule is defined once (``study.policy.fisher_applies``) and the study and the
synthetic cohort's search agree on a table with an empty group: the group is left out (SPSS
leaves an empty row out of the crosstab) and the 2 x 2 table left gets Fisher's exact test when
an expected count is below 5. R values: ``tests/reference/study/make_empty_group_reference.R``."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from poems_cohort.study.policy import FISHER, PEARSON, compare_counts, fisher_applies
from poems_cohort.synth.pvalues import p_value

R = json.loads((Path(__file__).resolve().parents[1] / "reference" / "study"
                / "empty_group_reference.json").read_text())


@pytest.mark.parametrize("where", [0, 1, 2])
def test_empty_group_small_table_is_fisher_in_both(where):
    groups = [(2, 10), (5, 12)]
    groups.insert(where, (0, 0))
    n, big_n = [g[0] for g in groups], [g[1] for g in groups]
    study = compare_counts([[a, b - a] for a, b in groups], "spss")
    assert study.test == FISHER
    assert study.p_value == pytest.approx(R["small_fisher_p"], rel=1e-8)
    assert p_value("spss", n, big_n) == pytest.approx(R["small_fisher_p"], rel=1e-8)


def test_empty_group_large_table_is_pearson_in_both():
    table = [[20, 30], [0, 0], [35, 25]]
    study = compare_counts(table, "spss")
    assert study.test == PEARSON
    assert study.statistic == pytest.approx(R["large_pearson_stat"], rel=1e-8)
    assert study.p_value == pytest.approx(R["large_pearson_p"], rel=1e-8)
    assert p_value("spss", (20, 0, 35), (50, 0, 60)) == pytest.approx(R["large_pearson_p"],
                                                                      rel=1e-8)


def test_three_groups_with_small_counts_stay_pearson_under_spss_and_fisher_under_exact():
    table = [[2, 8], [5, 7], [9, 3]]
    assert compare_counts(table, "spss").p_value == pytest.approx(R["three_pearson_p"], rel=1e-8)
    assert p_value("spss", (2, 5, 9), (10, 12, 12)) == pytest.approx(R["three_pearson_p"],
                                                                      rel=1e-8)
    assert compare_counts(table, "exact").test == FISHER


def test_the_rule():
    assert fisher_applies("spss", (2, 2), 4.9)
    assert not fisher_applies("spss", (2, 2), 5.0)
    assert not fisher_applies("spss", (3, 2), 1.0)
    assert fisher_applies("exact", (3, 2), 1.0)
    assert not fisher_applies("exact", (3, 2), 5.0)


def test_one_group_left_is_not_testable_in_the_study():
    assert math.isnan(compare_counts([[2, 8], [0, 0]], "spss").p_value)
    assert p_value("spss", (2, 0), (10, 0)) == 1.0  # the search's convention: no association
