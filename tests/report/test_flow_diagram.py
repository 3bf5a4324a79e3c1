"""The patient-flow diagram: its counts add up and every box says what it counts."""

from __future__ import annotations

import pytest

from poems_cohort.cohort.eligibility import EXCLUSION_REASONS, PatientFlow
from poems_cohort.report.figures import flow_figure
from poems_cohort.report.flow_diagram import FlowCounts, draw_flow
from poems_cohort.study import AnalysisPlan, compute_study
from tests.study import cohort12


@pytest.fixture(scope="module")
def results():
    """The twelve-patient cohort (four per regimen) after three exclusions."""
    flow = PatientFlow(screened=15, excluded={r: (2 if i == 1 else 1 if i == 2 else 0)
                                              for i, r in enumerate(EXCLUSION_REASONS)},
                       included=12, included_by_regimen={"MDex": 4, "ASCT": 4, "LDex": 4},
                       not_evaluable={"diagnostic criteria not fully evaluable": 1})
    return compute_study(cohort12.baseline(), cohort12.analysis_dataset(), flow.to_frame(),
                         AnalysisPlan())


def test_counts_come_from_the_flow_and_add_up(results):
    c = FlowCounts.of(results)
    f = results.flow
    assert c.screened == int(f.loc[f["stage"] == "screened", "n"].iloc[0])
    assert c.screened == c.included + sum(n for _, n in c.excluded)
    assert [g for g, _ in c.regimens] == list(results.plan.regimens)
    assert sum(n for _, n in c.regimens) == c.included
    for regimen, n in c.regimens:
        assert sum(k for _, k, _ in c.risk[regimen]) == n, regimen


def test_every_box_is_labelled_and_readable(results):
    import matplotlib.pyplot as plt

    fig = draw_flow(results)
    try:
        texts = [t.get_text() for ax in fig.axes for t in ax.texts]
        sizes = [t.get_fontsize() for ax in fig.axes for t in ax.texts]
        assert fig.get_figwidth() == pytest.approx(7.2)
    finally:
        plt.close(fig)
    c = FlowCounts.of(results)
    assert f"n = {c.screened}" in texts
    assert "Excluded (n = 3)" in texts
    assert "POEMS diagnostic criteria not met: 2" in texts
    assert "Diagnostic criteria not fully evaluable: 1" in texts  # flagged, still included
    for regimen, n in c.regimens:
        assert f"{regimen} (n = {n})" in texts
    assert any(t.startswith("Low risk: ") for t in texts)
    assert min(sizes) >= 7


def test_the_rendered_diagram_is_stamped_when_synthetic_and_reproducible(results):
    a = flow_figure(results, synthetic=True)
    assert a.name == "flow" and a.png and b"Synthetic cohort" not in a.png
    assert "Synthetic cohort: no real patients" in a.caption
    assert flow_figure(results).svg == flow_figure(results).svg
