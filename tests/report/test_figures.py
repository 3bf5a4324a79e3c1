"""The figures on the bundled cohort: panel order, ticks under which the numbers at risk sit,
the plotted range, print sizes, greyscale styles and p-values clear of the curves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

from poems_cohort.report.figures import (
    WIDTH_IN,
    draw_figure1,
    draw_figure2,
    draw_supplementary_figure,
)
from poems_cohort.report.km_plot import PlotSettings, shown_until, time_axis
from poems_cohort.report.styles import styles
from poems_cohort.workflow import run as run_pipeline

EXPECTED_FIGURE2 = {"a": ("PFS", "all patients"), "b": ("OS", "all patients"),
                    "c": ("PFS", "low risk"), "d": ("PFS", "medium-high risk"),
                    "e": ("OS", "low risk"), "f": ("OS", "medium-high risk")}


@pytest.fixture(scope="module")
def results():
    return run_pipeline(None, None).results


@pytest.fixture(scope="module")
def figures(results) -> dict[str, Figure]:
    figs = {"figure1": draw_figure1(results), "figure2": draw_figure2(results),
            "supplementary_figure1": draw_supplementary_figure(results)}
    for fig in figs.values():
        fig.canvas.draw()
    return figs


def panels(fig: Figure) -> dict[str, tuple]:
    """letter → (plot axes, number-at-risk axes or None)."""
    by_label = {ax.get_label(): ax for ax in fig.axes}
    return {lab.split(":")[0]: (ax, by_label.get(lab.split(":")[0] + ":at-risk"))
            for lab, ax in by_label.items() if lab.endswith(":plot")}


def test_figure2_panels_follow_the_published_order(figures):
    found = panels(figures["figure2"])
    assert sorted(found) == list("abcdef")
    for letter, (endpoint, subgroup) in EXPECTED_FIGURE2.items():
        title = found[letter][0].get_title(loc="left")
        assert title == f"{letter}  {endpoint}, {subgroup}", title
    pos = {k: ax.get_position() for k, (ax, _) in found.items()}
    # three rows of two: a b / c d / e f
    for left, right in ("ab", "cd", "ef"):
        assert pos[left].x0 < pos[right].x0
        assert pos[left].y0 == pytest.approx(pos[right].y0)
    assert pos["a"].y0 > pos["c"].y0 > pos["e"].y0
    assert pos["a"].x0 == pytest.approx(pos["c"].x0) == pytest.approx(pos["e"].x0)


def test_every_text_is_at_least_7_points_at_two_column_width(figures):
    for name, fig in figures.items():
        assert fig.get_figwidth() == pytest.approx(WIDTH_IN)
        assert fig.get_figheight() <= 9.2, name  # fits a journal page with its caption
        texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
        small = [(t.get_text(), t.get_fontsize()) for t in texts if t.get_fontsize() < 7]
        assert not small, (name, small[:5])


@pytest.mark.parametrize("name", ["figure1", "figure2", "supplementary_figure1"])
def test_numbers_at_risk_sit_under_the_labelled_ticks(figures, results, name):
    fig = figures[name]
    km = {k: v for k, v in panels(fig).items() if v[1] is not None}
    assert km
    for letter, (ax, tab) in km.items():
        ticks = [float(t) for t in ax.get_xticks()]
        labels = [t.get_text() for t in ax.get_xticklabels()]
        assert labels == [f"{t:g}" for t in ticks]
        assert all(t % results.plan.risk_table_step_months == 0 for t in ticks)
        steps = np.diff(ticks)
        assert len(set(steps)) == 1 and steps[0] in (12, 24, 36, 48), (letter, ticks)
        minor = sorted(float(t) for t in ax.get_xticks(minor=True))
        assert sorted(set(minor) | set(ticks)) == list(np.arange(0, ticks[-1] + 1, 12.0))
        assert ax.get_xlim() == (0.0, ticks[-1])
        numbers = [t for t in tab.texts if (t.get_gid() or "").startswith("at-risk:")]
        rows: dict[str, list[float]] = {}
        for t in numbers:
            rows.setdefault(t.get_gid(), []).append(t.get_position()[0])
            assert t.get_text().isdigit(), (letter, t.get_text())
            assert t.get_horizontalalignment() == "center"
        assert len(rows) >= 2
        for xs in rows.values():
            assert xs == ticks
        # the same data x lands on the same pixel in the plot and in its table
        px_plot = ax.transData.transform([(t, 0) for t in ticks])[:, 0]
        px_tab = tab.transData.transform([(t, 0) for t in ticks])[:, 0]
        np.testing.assert_allclose(px_tab, px_plot, atol=1e-6)
        # the table sits right under its plot, not far below
        gap_in = (ax.get_position().y0 - tab.get_position().y1) * fig.get_figheight()
        assert 0.3 < gap_in < 0.8, (letter, gap_in)


def test_numbers_at_risk_are_the_studys(figures, results):
    ax, tab = panels(figures["figure2"])["a"]
    ar = results.survival.at_risk
    ar = ar[(ar["endpoint"] == "PFS") & (ar["by"] == "regimen") & (ar["subgroup"] == "all")]
    for t in tab.texts:
        gid = t.get_gid() or ""
        if gid.startswith("at-risk:"):
            group, x = gid.split(":", 1)[1], t.get_position()[0]
            want = ar[(ar["group"] == group) & np.isclose(ar["time"], x)]["n_risk"]
            if len(want):
                assert t.get_text() == str(int(want.iloc[0])), (group, x)
            else:  # past the study's table (the axis ends on a labelled tick): nobody left
                seen = results.survival.curves
                seen = seen[(seen["endpoint"] == "PFS") & (seen["by"] == "regimen")
                            & (seen["subgroup"] == "all") & (seen["group"] == group)]
                assert x > ar.loc[ar["group"] == group, "time"].max(), (group, x)
                assert x > seen["time"].max() and t.get_text() == "0", (group, x)


def _curve_span(line_x: np.ndarray, line_y: np.ndarray, x0: float, x1: float) -> tuple:
    """The y range a step path covers over [x0, x1] (its vertices include the risers)."""
    inside = (line_x >= x0) & (line_x <= x1)
    before = np.flatnonzero(line_x < x0)
    ys = list(line_y[inside])
    if len(before):
        ys.append(line_y[before[-1]])
    return (min(ys), max(ys)) if ys else None


@pytest.mark.parametrize("name", ["figure2", "supplementary_figure1"])
def test_p_values_are_clear_of_every_curve(figures, name):
    for letter, (ax, _) in panels(figures[name]).items():
        p = [t for t in ax.texts if t.get_gid() == "p-value"]
        assert len(p) == 1, letter
        box = p[0].get_window_extent().transformed(ax.transData.inverted())
        for line in ax.get_lines():
            xy = line.get_xydata()
            span = _curve_span(xy[:, 0], xy[:, 1], box.x0, box.x1)
            if span is not None:
                assert span[1] < box.y0 or span[0] > box.y1, (letter, line.get_gid(), span)
        # not in the legend either: the legend is above the panels
        legend = figures[name].legends[0].get_window_extent()
        assert legend.y0 > ax.get_window_extent().y1


def test_regimens_differ_in_line_style_and_hatch_not_only_colour():
    sty = styles(["MDex", "ASCT", "LDex"])
    assert len({str(s.linestyle) for s in sty.values()}) == 3
    assert len({s.hatch for s in sty.values()}) == 3
    assert sty["ASCT"].colour == "#0072B2" and sty["MDex"].colour == "#E69F00"
    crv = styles(["CRV", "No CRV"])
    assert crv["CRV"].linestyle != crv["No CRV"].linestyle
    assert crv["No CRV"].colour != sty["MDex"].colour


def test_time_axis_labels_every_12_months_where_it_fits():
    s = PlotSettings()
    a = time_axis(108, 12, s)
    assert a.end == 108 and a.labelled == tuple(range(0, 109, 12)) and a.minor == ()
    b = time_axis(140, 12, s)  # 12 intervals do not fit: every 24, minor ticks between
    assert b.end == 144 and b.labelled == tuple(range(0, 145, 24))
    assert b.minor == tuple(range(12, 144, 24))
    c = time_axis(170, 12, s)  # every 36 ends at 180, sooner than every 24 (192)
    assert c.end == 180 and c.labelled == tuple(range(0, 181, 36))
    assert time_axis(0, 12, s).end == 12


def _steps(rows: list[tuple[str, float, int, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["group", "time", "n_risk", "n_event"])


def test_plotted_range_follows_the_documented_rule():
    # 40 patients; at risk (A + B) at 1: 40, 2: 19 + 2, 3: 18 + 2, 5: 1 + 2, 10: 1 + 0
    c = _steps([("A", 1, 20, 1), ("A", 2, 19, 1), ("A", 3, 18, 0), ("A", 10, 1, 1),
                ("B", 1, 20, 0), ("B", 5, 2, 0)])
    assert shown_until(c, PlotSettings(0.05, keep_last_event=False)) == 5   # 3 >= 2 at 5
    assert shown_until(c, PlotSettings(0.05, keep_last_event=True)) == 10   # last event
    assert shown_until(c, PlotSettings(0.5, keep_last_event=False)) == 3    # 20 >= 20 at 3
    assert shown_until(c, PlotSettings(0.0, keep_last_event=False)) == 10   # everything
    with pytest.raises(ValueError):
        PlotSettings(min_at_risk_fraction=1.0)


def test_tails_with_few_patients_at_risk_are_cut(figures, results):
    """The shared time axis ends at the first labelled tick at or after the last time any
    panel keeps (``shown_until``: enough patients left, or the last event). Without the last
    event that is, on the bundled cohort, before the longest follow-up; drawn whole, the axis
    covers the follow-up."""
    curves = results.survival.curves
    # Figure 2's panels: all patients and the two risk subgroups of the paper (the study's
    # curves hold the high-risk patients too)
    curves = curves[(curves["by"] == "regimen")
                    & curves["subgroup"].isin(["all", "low", "medium-high"])]
    follow_up = curves["time"].max()

    def axis_ends_at_the_tick_after_the_kept_time(fig: Figure, settings: PlotSettings
                                                  ) -> float:
        ax, _ = panels(fig)["a"]
        kept = max(shown_until(part, settings)
                   for _, part in curves.groupby(["endpoint", "subgroup"]))
        ticks = ax.get_xticks()
        assert kept <= ax.get_xlim()[1] < kept + (ticks[1] - ticks[0])
        return kept

    axis_ends_at_the_tick_after_the_kept_time(figures["figure2"], PlotSettings())
    no_last_event = PlotSettings(keep_last_event=False)
    cut = draw_figure2(results, no_last_event)
    assert axis_ends_at_the_tick_after_the_kept_time(cut, no_last_event) < follow_up
    assert panels(cut)["a"][0].get_xlim()[1] < follow_up
    whole = draw_figure2(results, PlotSettings(min_at_risk_fraction=0.0))
    assert panels(whole)["a"][0].get_xlim()[1] >= follow_up


def test_number_at_risk_ignores_rows_of_a_missing_group():
    """A row whose group is missing (a nullable text column) belongs to no group: the group's
    number at risk is read from its own rows, as the row-by-row selection did."""
    from poems_cohort.report.km_plot import at_risk_at, at_risk_row

    at_risk = pd.DataFrame({"group": pd.array(["A", None, "A"], dtype="string"),
                            "time": [0.0, 12.0, 12.0], "n_risk": [10, 5, 7]})
    curves = pd.DataFrame({"group": pd.array(["A", None], dtype="string"),
                           "time": [0.0, 30.0]})
    assert at_risk_at(at_risk, curves, "A", 12.0) == "7"
    assert at_risk_row(at_risk, curves, "A", [0.0, 12.0]) == ["10", "7"]


def test_number_at_risk_table_refuses_a_subfigure():
    """The table's inch layout reads the figure's width: an axes on a subfigure (whose
    position is relative to the subfigure, not the figure) is refused rather than drawn at
    the wrong scale."""
    from poems_cohort.report.km_plot import TimeAxis, draw_risk_table

    sub = Figure(figsize=(WIDTH_IN, 2)).subfigures(1, 2)[0]
    tab = sub.add_axes((0.1, 0.1, 0.8, 0.8))
    empty = pd.DataFrame({"group": [], "time": [], "n_risk": []})
    with pytest.raises(TypeError, match="must be drawn on a Figure"):
        draw_risk_table(tab, empty, empty, ["A"], styles(["A"]), TimeAxis(12.0, (0.0, 12.0), ()))
    # on a figure, the same call draws the row
    tab = Figure(figsize=(WIDTH_IN, 2)).add_axes((0.1, 0.1, 0.8, 0.8))
    draw_risk_table(tab, empty, empty, ["A"], styles(["A"]), TimeAxis(12.0, (0.0, 12.0), ()))
    assert "A" in [t.get_text() for t in tab.texts]
