"""Every p-value a figure prints is the study's own test of that panel: the log-rank test of the
panel's endpoint and subgroup (by regimen in Figure 2, by CRV status in the supplementary figure)
and the test across regimens of each response in Figure 1a. Checked on the centre's plan, whose
subgroup names and supplementary subgroup differ from the published ones."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pytest

from poems_cohort import workflow
from poems_cohort.report import format as fmt
from poems_cohort.report.figures import (
    draw_figure1,
    draw_figure2,
    draw_supplementary_figure,
    figure2_panels,
)
from poems_cohort.study.names import BY_CRV, BY_REGIMEN, OS, PFS

ANY_PLAN = Path(__file__).resolve().parents[1] / "reference" / "study" / "any_plan"


@pytest.fixture(scope="module")
def results():
    return workflow.compute(ANY_PLAN / "cohort", plan=ANY_PLAN / "plan.toml").results


def p_labels(fig) -> dict[str, str]:
    """The p-value written on each panel, by panel letter."""
    try:
        return {ax.get_label().split(":")[0]: t.get_text()
                for ax in fig.axes if ax.get_label().endswith(":plot")
                for t in ax.texts if t.get_gid() == "p-value"}
    finally:
        plt.close(fig)


def test_figure2_prints_each_panels_log_rank_test(results):
    shown = p_labels(draw_figure2(results))
    panels = [panel for row in figure2_panels(results) for panel in row]
    assert "north" in {sg for _, sg in panels}
    expected = {letter: fmt.p_text(results.survival.test(e, by=BY_REGIMEN, subgroup=sg).p_value,
                                   "Log-rank p")
                for letter, (e, sg) in zip("abcdefgh", panels, strict=False)}
    assert shown == expected
    assert len(set(expected.values())) > 1  # the panels' tests tell apart


def test_the_supplementary_figure_prints_the_tests_by_crv_status(results):
    sg = results.plan.supplementary_subgroup
    assert sg == "north"
    shown = p_labels(draw_supplementary_figure(results))
    expected = {letter: fmt.p_text(results.survival.test(e, by=BY_CRV, subgroup=sg).p_value,
                                   "Log-rank p")
                for letter, e in zip("ab", (PFS, OS), strict=True)}
    assert shown == expected
    by_regimen = {fmt.p_text(results.survival.test(e, subgroup=sg).p_value, "Log-rank p")
                  for e in (PFS, OS)}
    assert set(expected.values()) != by_regimen  # not the tests across regimens


def test_figure1a_prints_the_test_of_each_response(results):
    fig = draw_figure1(results)
    try:
        (ax,) = [a for a in fig.axes if a.get_label() == "a:plot"]
        shown = [t.get_text() for t in ax.texts if t.get_text().startswith("p ")]
    finally:
        plt.close(fig)
    assert shown == [fmt.p_text(results.table2.test(e).p_value) for e in ("CRH", "CRV", "RN")]
