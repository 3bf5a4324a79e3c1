"""The flow diagram counts the patients on a regimen outside the study's set per regimen, inside
the excluded box, legibly for many regimens, and draws nothing more when there are none."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import pytest
from matplotlib.colors import to_rgb
from matplotlib.patches import Rectangle

from poems_cohort import workflow
from poems_cohort.cohort.eligibility import EXCLUSION_REASONS, PatientFlow
from poems_cohort.report.figures import flow_figure
from poems_cohort.report.flow_diagram import (
    DETAIL_INDENT,
    EXCLUDED_FILL,
    NAMED_REGIMENS,
    SIDE_W,
    FlowCounts,
    draw_flow,
    regimen_counts,
    text_width,
    wrap_items,
)
from poems_cohort.study import AnalysisPlan, compute_study
from tests.study import cohort12

ANY_PLAN = Path(__file__).resolve().parents[1] / "reference" / "study" / "any_plan"
REASON = "Regimen not in the study's set"


def study_with(excluded_by_regimen: dict[str, int]):
    """The twelve-patient study screened with the patients of ``excluded_by_regimen`` besides."""
    outside = sum(excluded_by_regimen.values())
    flow = PatientFlow(screened=12 + outside,
                       excluded={r: (outside if i == 0 else 0)
                                 for i, r in enumerate(EXCLUSION_REASONS)},
                       included=12, included_by_regimen={"MDex": 4, "ASCT": 4, "LDex": 4},
                       not_evaluable={"diagnostic criteria not fully evaluable": 0},
                       excluded_by_regimen=excluded_by_regimen)
    return compute_study(cohort12.baseline(), cohort12.analysis_dataset(), flow.to_frame(),
                         AnalysisPlan())


def excluded_box(results) -> tuple[list[str], bool]:
    """The lines written in the grey excluded box, top down, and whether each one lies wholly
    inside it."""
    fig = draw_flow(results)
    try:
        ax = fig.axes[0]
        renderer = fig.canvas.get_renderer()
        (box,) = [p for p in ax.patches if isinstance(p, Rectangle)
                  and p.get_facecolor()[:3] == pytest.approx(to_rgb(EXCLUDED_FILL))]
        x0, y0 = box.get_x(), box.get_y()
        x1, y1 = x0 + box.get_width(), y0 + box.get_height()
        inside = [t for t in ax.texts if x0 <= t.get_position()[0] <= x1
                  and y0 <= t.get_position()[1] <= y1]
        inside.sort(key=lambda t: -t.get_position()[1])
        outer = box.get_window_extent(renderer)
        contained = all(
            outer.x0 <= e.x0 and e.x1 <= outer.x1 and outer.y0 <= e.y0 and e.y1 <= outer.y1
            for e in (t.get_window_extent(renderer) for t in inside))
        return [t.get_text() for t in inside], contained
    finally:
        plt.close(fig)


def test_the_centre_cohort_shows_its_regimen_outside_the_plan():
    results = workflow.compute(ANY_PLAN / "cohort", plan=ANY_PLAN / "plan.toml").results
    r = json.loads((ANY_PLAN / "any_plan_reference.json").read_text(encoding="utf-8"))
    assert FlowCounts.of(results).excluded_regimens == tuple(r["excluded"].items())
    lines, contained = excluded_box(results)
    total = sum(r["excluded"].values())
    (name,) = r["excluded"]
    assert lines[:3] == [f"Excluded (n = {total})", f"{REASON}: {total}",
                         f"{DETAIL_INDENT}({name} {total})"]
    assert lines[3:] == [f"{reason[:1].upper()}{reason[1:]}: 0"
                         for reason in EXCLUSION_REASONS[1:]]
    assert contained


def test_the_bundled_cohort_has_no_per_regimen_line():
    results = workflow.compute(None).results
    assert FlowCounts.of(results).excluded_regimens == ()
    lines, contained = excluded_box(results)
    assert len(lines) == 1 + len(EXCLUSION_REASONS)
    assert not any(line.startswith(DETAIL_INDENT) for line in lines)
    assert contained


def test_a_zero_count_per_regimen_draws_the_same_figure_as_none():
    assert (flow_figure(study_with({"Radiotherapy": 0})).svg
            == flow_figure(study_with({})).svg)


EIGHT = {"Radiotherapy": 5, "Thalidomide-dexamethasone": 9, "Bortezomib-dex": 2,
         "Lenalidomide maintenance": 3, "(none)": 1, "Daratumumab": 4,
         "Cyclophosphamide pulses": 2, "Plasmapheresis": 7}


def test_eight_regimens_are_all_named_largest_first_and_fit_the_box():
    results = study_with(EIGHT)
    lines, contained = excluded_box(results)
    assert lines[1] == f"{REASON}: {sum(EIGHT.values())}"
    detail = [line for line in lines if line.startswith(DETAIL_INDENT)]
    assert 1 < len(detail) < len(EIGHT)  # wrapped, fewer lines than regimens
    text = " ".join(line.removeprefix(DETAIL_INDENT) for line in detail)
    assert text.startswith("(") and text.endswith(")")
    items = text[1:-1].split(", ")
    assert items == ["Thalidomide-dexamethasone 9", "Plasmapheresis 7", "Radiotherapy 5",
                     "Daratumumab 4", "Lenalidomide maintenance 3",
                     "Bortezomib-dex 2", "Cyclophosphamide pulses 2", "no regimen recorded 1"]
    assert contained


def test_past_eight_regimens_the_smallest_are_summed():
    many = {**EIGHT, "Melphalan": 1, "Rituximab": 6, "Watchful waiting": 1}
    items = regimen_counts(tuple(many.items()))
    assert len(items) == NAMED_REGIMENS
    assert items[0] == "Thalidomide-dexamethasone 9" and items[1] == "Plasmapheresis 7"
    assert items[-1] == "4 more regimens 5"  # Cyclophosphamide 2, none 1, Melphalan 1, Watchful 1
    named = sum(int(i.rsplit(" ", 1)[1]) for i in items[:-1])
    assert named + 5 == sum(many.values())
    lines, contained = excluded_box(study_with(many))
    assert lines[-len(EXCLUSION_REASONS) + 1:] == [
        f"{reason[:1].upper()}{reason[1:]}: 0" for reason in EXCLUSION_REASONS[1:]]
    assert contained


def test_ties_keep_the_flow_order():
    assert regimen_counts((("B", 2), ("A", 3), ("C", 2))) == ["A 3", "B 2", "C 2"]


def test_items_wrap_between_items_and_a_long_one_is_cut():
    width = SIDE_W - 0.2
    items = [f"Regimen number {k} 1" for k in range(9)]
    lines = wrap_items(items, width)
    assert len(lines) > 1
    assert " ".join(lines) == ", ".join(items)  # every break falls after a comma
    assert all(text_width(line, 8.0) <= width for line in lines)
    long = ["A regimen whose name alone is far wider than the excluded box can hold 3"]
    (cut,) = wrap_items(long, width)
    assert cut.endswith("…") and text_width(cut, 8.0) <= width
