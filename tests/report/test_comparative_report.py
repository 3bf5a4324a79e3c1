"""The comparative tables, figures and methods in the report, tried as a new user would: every
table has rows and no raw NaN, every figure is a PNG/SVG with literal text, the methods name the
models, the weighting, the landmark, missing data, multiplicity and limitations."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.text import Text

from poems_cohort import workflow
from poems_cohort.report.comparative import comparative_methods, comparative_tables
from poems_cohort.report.comparative_figures import (
    Panel,
    comparative_figures,
    draw_curve_panels,
    shown_until,
)
from poems_cohort.report.styles import styles as group_styles
from poems_cohort.study import StudyResults


@cache
def results() -> StudyResults:
    return workflow.compute(None).results


def test_every_comparative_table_is_filled_and_formatted() -> None:
    tables = {t.name: t for t in comparative_tables(results())}
    assert set(tables) == {"table2_effects", "cumulative_incidence", "landmark",
                           "hazard_ratios", "ph_tests", "rmst", "iptw_weights", "balance"}
    for t in tables.values():
        assert len(t.frame) > 0, t.name
        cells = t.frame.astype(str).to_numpy().ravel()
        assert not any("nan" in c.lower() for c in cells), t.name
    hr = tables["hazard_ratios"].frame
    assert list(hr.columns[:3]) == ["Endpoint", "Subgroup", "Regimen (vs ASCT)"]
    assert "IPTW" in " ".join(hr.columns)
    inc = tables["cumulative_incidence"].frame
    assert any("1 − KM (paper)" in c for c in inc.columns)


def test_methods_paragraph_has_the_caveats() -> None:
    text = comparative_methods(results())
    for word in ("CRH", "CRV", "RN", "CRH/CRV", "evaluable", "PFS", "OS", "Risk score",
                 "Efron", "IPTW", "robust", "cox.zph", "landmark", "median plus a missing "
                 "indicator", "exploratory", "retrospective", "confounding by indication",
                 "Gray", "Holm", "Newcombe"):
        assert word in text, word


def test_figures_are_rendered_in_both_formats() -> None:
    figs = comparative_figures(results(), synthetic=True)
    assert [f.name for f in figs] == ["figure1_cumulative_incidence", "figure_landmark",
                                      "figure_forest", "figure_iptw_km", "figure_love_plot"]
    for f in figs:
        assert f.png.startswith(b"\x89PNG") and b"<svg" in f.svg[:500]
        assert "Synthetic" in f.caption


def test_curve_panels_have_literal_text_and_aligned_numbers_at_risk() -> None:
    curves = pd.DataFrame({"group": ["A$x$"] * 3 + ["B_1"] * 3, "time": [0, 5, 30, 0, 10, 20],
                           "value": [1, 0.5, 0.5, 1, 0.8, 0.8],
                           "n_risk": [10, 6, 1, 8, 5, 2]})
    fig = draw_curve_panels([Panel("$title$", curves, "p = 0.5")], ["A$x$", "B_1"],
                            ylabel="S, %", xlabel="Months", step=12, cumulative=False)
    fig.canvas.draw()
    texts = [t for t in fig.findobj(Text) if t.get_text()]
    assert texts and all(not t.get_parse_math() for t in texts)
    # the numbers at risk sit at the panel's labelled ticks: 10 and 8 at 0; at 12 those whose
    # time is 12 or later (the step table's next row: 1 of A, 2 of B)
    ax, tab = fig.axes[0], fig.axes[1]
    ticks = list(ax.get_xticks())
    numbers = [(t.get_position()[0], t.get_text()) for t in tab.texts
               if t.get_text().isdigit()]
    assert {x for x, _ in numbers} == set(ticks)
    at0 = sorted(s for x, s in numbers if x == 0)
    assert at0 == ["10", "8"]
    assert sorted(s for x, s in numbers if x == 12) == ["1", "2"]


def test_truncation_follows_the_five_percent_rule() -> None:
    # 100 patients; from time 50 only 4 (< 5%) remain, the last event is at 60
    t = np.array([0.0, 10, 50, 60, 80])
    curves = pd.DataFrame({"group": "A", "time": t, "value": [1, 0.9, 0.5, 0.4, 0.4],
                           "n_risk": [100, 90, 5, 4, 1]})
    assert shown_until(curves, keep_last_event=False) == 50
    assert shown_until(curves) == 60


def test_styles_differ_in_colour_and_line_style() -> None:
    sty = group_styles(["MDex", "ASCT", "LDex", "Other"])
    assert len({s.colour for s in sty.values()}) == 4
    assert len({str(s.linestyle) for s in sty.values()}) == 4
    assert sty["ASCT"].colour == "#0072B2"


def test_results_paragraph_gives_the_hazard_ratios() -> None:
    from poems_cohort.report.narrative import narrative

    text = narrative(results())
    assert "Hazard ratios (95% CI): PFS MDex vs ASCT" in text
    assert text.count("IPTW") == 4


def test_a_cohort_too_small_for_the_propensity_model_says_so() -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "ten-patients"
    small = workflow.compute(example).results
    comp = small.comparative
    assert comp.propensity is None and comp.balance.empty
    iptw = comp.survival.hazard_ratios.query("model == 'iptw'")
    assert iptw["hr"].isna().all()
    assert iptw["note"].str.startswith("no propensity model").all()
    names = {t.name for t in comparative_tables(small)}
    assert "iptw_weights" not in names and "hazard_ratios" in names
    assert small.to_dict()["propensity"] is None


def test_the_papers_figures_are_labelled_when_their_replacement_is_drawn() -> None:
    from poems_cohort.report.comparative_figures import label_paper_figures
    from poems_cohort.report.figures import RenderedFigure

    def fig(name: str) -> RenderedFigure:
        return RenderedFigure(name, name, f"Caption of {name}.", b"", b"")

    paper = [fig("flow"), fig("figure1"), fig("supplementary_figure1")]
    out = label_paper_figures(paper, [fig("figure_landmark")])
    assert [f.name for f in out] == ["flow", "figure1", "supplementary_figure1",
                                     "figure_landmark"]
    assert out[1].caption == "Caption of figure1."  # its replacement was not drawn
    assert "guarantee-time" in out[2].caption and out[2].caption.startswith("Caption of")
    both = label_paper_figures(paper, [fig("figure1_cumulative_incidence")])
    assert "1 − Kaplan–Meier" in both[1].caption


def test_design_columns_read_as_covariates() -> None:
    from poems_cohort.report.comparative import design_label

    assert design_label("male_1") == "Male"
    assert design_label("onls_missing") == "ONLS score: missing"
    assert design_label("log_vegf") == "VEGF, log pg/ml"
    assert design_label("urine_protein_over_1_1") == "24-h urine protein > 1 g"
    assert design_label("something_else") == "something_else"


def test_an_rmst_held_flat_past_the_follow_up_is_flagged_and_named() -> None:
    """A horizon beyond a regimen's last time holds its curve flat (survfit's rmean): the row
    says so (last_time, held_flat) and the table's note names it; within follow-up, nothing."""
    from dataclasses import replace

    from poems_cohort.report.comparative import rmst_table
    from poems_cohort.study._common import in_subgroup

    base = results()
    subgroups = {sg.name: sg for sg in base.plan.subgroups}
    rm = base.comparative.survival.rmst
    for row in rm.itertuples():
        time = "pfs_months" if row.endpoint == "PFS" else "os_months"
        rows = in_subgroup(base.analysis_dataset, subgroups[row.subgroup])
        assert row.last_time == rows.loc[rows["regimen"] == row.regimen, time].max(), row
        assert row.held_flat == (row.tau > row.last_time), row
    assert not rm["held_flat"].any()
    assert "Held flat" not in rmst_table(base).note
    plan = replace(base.plan, comparative=replace(base.plan.comparative, tau_months=400.0))
    far = workflow.compute(None, plan=plan).results
    flagged = far.comparative.survival.rmst
    assert flagged["held_flat"].all() and (flagged["last_time"] < 400).all()
    note = rmst_table(far).note
    assert "Held flat" in note and "survRM2" in note
    assert note.count("last time") == len(flagged)
