"""Figures at any n and any number of arms: the library leaves matplotlib's global state
alone, labels print literally, 2 to 8 arms stay apart, and a million patients give thinned
ticks, step-vertex curves, abbreviated non-overlapping numbers at risk and a bounded SVG."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib import cbook
from matplotlib.text import Text

from poems_cohort.report.figures import draw_figure1, draw_figure2, figure2, flow_figure
from poems_cohort.report.flow_diagram import draw_flow
from poems_cohort.report.km_plot import (
    CENSOR_BINS,
    abbreviate_count,
    censor_marks,
    curve_bins,
    step_vertices,
)
from poems_cohort.report.styles import literal, styles
from poems_cohort.workflow import run as run_pipeline
from tests.report.study_variants import km_frames, with_arms, with_patients

AWKWARD = ["$\\alpha$", "a_b^c", "R:100:x", "bell\x07tab\tend", "_hidden"]
EIGHT = ["Bortezomib-dex", "Lenalidomide", "Daratumumab", "Radiotherapy", "ASCT",
         "$x$", "a_b^c", "R:100:x"]


@pytest.fixture(scope="module")
def results():
    return run_pipeline(None, None).results


def test_importing_and_drawing_leave_the_users_backend_alone():
    code = textwrap.dedent("""
        import sys, matplotlib
        matplotlib.use("svg")
        before = dict(matplotlib.rcParams)
        import poems_cohort, poems_cohort.report, poems_cohort.report.figures
        import poems_cohort.report.html, poems_cohort.report.output
        assert matplotlib.get_backend() == "svg", matplotlib.get_backend()
        assert "matplotlib.pyplot" not in sys.modules
        assert dict(matplotlib.rcParams) == before
        print("unchanged")
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0 and "unchanged" in done.stdout, done.stderr


def test_drawing_uses_no_pyplot_state_and_restores_the_style(results):
    import matplotlib.pyplot as plt

    before_rc = dict(matplotlib.rcParams)
    before_figs = plt.get_fignums()
    figure2(results)
    flow_figure(results)
    assert plt.get_fignums() == before_figs
    assert dict(matplotlib.rcParams) == before_rc


def test_literal_escapes_mathtext_and_control_characters():
    assert literal("$\\alpha$") == "\\$\\alpha\\$"
    assert literal("a\x07b\tc\nd\x00") == "a\ufffdb c d\ufffd"
    assert literal("R:100:x") == "R:100:x"
    for raw in AWKWARD:
        t = Text(0, 0, literal(raw))
        assert not cbook.is_math_text(t.get_text())
        assert t._preprocess_math(t.get_text())[1] is False  # drawn as plain text


def _texts(fig) -> list[str]:
    fig.canvas.draw()
    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


def _shown(text: str) -> str:
    return text.replace("\\$", "$")  # what matplotlib prints for an escaped dollar


def test_every_label_is_drawn_literally(results):
    odd = with_arms(results, AWKWARD)
    for fig in (draw_figure1(odd), draw_figure2(odd), draw_flow(odd)):
        texts = _texts(fig)
        for text in texts:
            assert not cbook.is_math_text(text), text
            assert not any(ord(c) < 32 or 127 <= ord(c) < 160 for c in text), repr(text)
        shown = {_shown(t) for t in texts}
        for raw in AWKWARD:
            want = raw.replace("\x07", "\ufffd").replace("\t", " ")
            assert any(want in s for s in shown), (raw, sorted(shown)[:20])
    legend = [_shown(t.get_text()) for t in draw_figure2(odd).legends[0].get_texts()]
    assert legend == [a.replace("\x07", "\ufffd").replace("\t", " ") for a in AWKWARD]


def test_eight_arms_differ_in_colour_line_style_marker_and_hatch():
    sty = styles(EIGHT)
    for attr in ("colour", "marker", "hatch"):
        assert len({getattr(s, attr) for s in sty.values()}) == 8, attr
    assert len({str(s.linestyle) for s in sty.values()}) == 8
    assert sty["ASCT"].colour == "#0072B2"  # the paper's regimens keep their colours
    assert styles(["A", "B"])["A"] != styles(["A", "B"])["B"]


def _boxes(fig, prefix: str) -> dict[str, list]:
    rows: dict[str, list] = {}
    renderer = fig.canvas.get_renderer()
    for t in fig.findobj(Text):
        gid = t.get_gid() or ""
        if gid.startswith(prefix) and t.get_text():
            rows.setdefault(gid, []).append(t.get_window_extent(renderer))
    return rows


def _assert_at_risk_legible(fig) -> None:
    fig.canvas.draw()
    page = fig.bbox
    numbers = _boxes(fig, "at-risk:")
    names = _boxes(fig, "at-risk-label:")
    assert numbers
    every = [b for boxes in numbers.values() for b in boxes]
    for b in every:  # inside the figure
        assert page.x0 - 0.5 <= b.x0 and b.x1 <= page.x1 + 0.5 and b.y0 >= page.y0 - 0.5
    for i, a in enumerate(every):  # no two numbers overlap
        for b in every[i + 1:]:
            assert not a.overlaps(b), (a, b)
    for boxes in names.values():  # a row's name ends before the numbers start
        for name in boxes:
            for b in every:
                assert not name.overlaps(b), (name, b)
    legend = fig.legends[0].get_window_extent()
    assert page.x0 <= legend.x0 and legend.x1 <= page.x1 and legend.y1 <= page.y1


@pytest.mark.parametrize("n_arms", [2, 5, 8])
def test_two_to_eight_arms_each_have_a_risk_row_and_fit(results, n_arms):
    arms = with_arms(results, EIGHT[:n_arms])
    fig = draw_figure2(arms)
    tables = [ax for ax in fig.axes if ax.get_label().endswith(":at-risk")]
    assert len(tables) == 6
    for tab in tables:
        gids = {t.get_gid() for t in tab.texts if (t.get_gid() or "").startswith("at-risk:")}
        assert gids == {f"at-risk:{literal(a)}" for a in EIGHT[:n_arms]}
    _assert_at_risk_legible(fig)
    colours = {line.get_color() for ax in fig.axes if ax.get_label().endswith(":plot")
               for line in ax.get_lines() if (line.get_gid() or "").startswith("curve:")}
    assert len(colours) == n_arms
    marks = [line for ax in fig.axes for line in ax.get_lines()
             if (line.get_gid() or "").startswith("marks:")]
    assert bool(marks) == (n_arms > 4)  # markers added when styles alone get crowded
    bars = draw_figure1(arms)
    bars.canvas.draw()
    values = _boxes(bars, "bar-value")["bar-value"]
    for i, a in enumerate(values):
        for b in values[i + 1:]:
            assert not a.overlaps(b)


def test_abbreviated_counts():
    cases = {0: "0", 347: "347", 9999: "9999", 10_000: "10.0k", 12_345: "12.3k",
             99_949: "99.9k", 99_960: "100k", 123_456: "123k", 999_499: "999k",
             999_500: "1.0M", 1_234_567: "1.2M", 98_765_432: "98.8M", 123_456_789: "123M"}
    for n, want in cases.items():
        assert abbreviate_count(n) == want, n
        assert len(abbreviate_count(n)) <= 5


def _step_value(t: np.ndarray, v: np.ndarray, at: np.ndarray, start: float = 1.0) -> np.ndarray:
    i = np.searchsorted(t, at, side="right") - 1
    return np.where(i >= 0, v[np.maximum(i, 0)], start)


def test_step_vertices_are_exact_for_small_curves_and_within_a_bin_for_large():
    small, _ = km_frames(300, ["A"], seed=3)
    t, v = step_vertices(small, np.inf)
    probe = np.linspace(0, small["time"].max(), 5000)
    exact = _step_value(small["time"].to_numpy(), small["value"].to_numpy(), probe)
    np.testing.assert_array_equal(_step_value(t, v, probe), exact)
    assert len(t) <= (small["n_event"] > 0).sum() + 2
    big, _ = km_frames(200_000, ["A"], seed=4)
    end = 150.0
    bins = curve_bins(18)
    t, v = step_vertices(big, end, bins)
    assert len(t) <= bins + 2
    bt, bv = big["time"].to_numpy(), big["value"].to_numpy()
    probe = np.linspace(0, end, 20_000)
    drawn = _step_value(t, v, probe)
    width = end / bins
    # monotone: the drawn curve lies between the exact curve a bin earlier and a bin later
    assert np.all(drawn <= _step_value(bt, bv, probe - width) + 1e-15)
    assert np.all(drawn >= _step_value(bt, bv, probe + width) - 1e-15)


def test_censoring_ticks_are_thinned_to_the_axis_resolution():
    curve, _ = km_frames(100_000, ["A"], seed=5)
    end = 150.0
    t, y = censor_marks(curve, end)
    assert 0 < len(t) <= CENSOR_BINS
    cells = np.floor(t / end * CENSOR_BINS)
    assert len(np.unique(cells)) == len(t)
    censored = curve[curve["n_censor"] > 0]
    assert set(t) <= set(censored["time"])
    assert np.allclose(y, 100 * censored.set_index("time").loc[t, "value"].to_numpy())
    few = pd.DataFrame({"time": [1.0, 2.0, 50.0], "n_censor": [1, 0, 1],
                        "value": [1.0, 0.9, 0.9]})
    t, _ = censor_marks(few, 100.0)
    assert list(t) == [1.0, 50.0]  # sparse censoring keeps every tick


@pytest.mark.slow
def test_a_million_patients_draw_legibly_in_under_a_megabyte(results):
    big = with_patients(results, 1_000_000)
    rendered = figure2(big)
    assert len(rendered.svg) <= 1_000_000, len(rendered.svg)
    fig = draw_figure2(big)
    _assert_at_risk_legible(fig)
    texts = [t.get_text() for t in fig.findobj(Text)
             if (t.get_gid() or "").startswith("at-risk:")]
    assert all(len(x) <= 5 for x in texts) and any(x.endswith("k") for x in texts)
    for ax in fig.axes:
        for line in ax.get_lines():
            gid = line.get_gid() or ""
            if gid.startswith("curve:"):
                assert len(line.get_xdata()) <= 2 * curve_bins(18) + 4
            if gid.startswith("censored:"):
                assert len(line.get_xdata()) <= CENSOR_BINS


@pytest.mark.slow
def test_eight_arms_of_a_million_patients_stay_under_a_megabyte(results):
    big = with_patients(with_arms(results, EIGHT), 1_000_000)
    assert len(figure2(big).svg) <= 1_000_000


def test_flow_boxes_hold_their_text_for_eight_long_regimen_names(results):
    from matplotlib.patches import Rectangle

    names = ["Bortezomib-dexamethasone", "Lenalidomide-dexamethasone", "Daratumumab",
             "Radiotherapy", "ASCT", "Cyclophosphamide", "$x$", "Thalidomide-dexamethasone"]
    fig = draw_flow(with_arms(results, names))
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [r.get_window_extent(renderer) for r in fig.findobj(Rectangle)
             if r.get_edgecolor()[:3] == (0.0, 0.0, 0.0)]
    assert len(boxes) >= 3 + 8
    for t in fig.findobj(Text):
        if not t.get_text():
            continue
        b = t.get_window_extent(renderer)
        assert any(box.x0 <= b.x0 and b.x1 <= box.x1 and box.y0 <= b.y0 and b.y1 <= box.y1
                   for box in boxes), t.get_text()
    shown = " ".join(_shown(t.get_text()) for t in fig.findobj(Text))
    assert "Bortezomib-" in shown and "(n = 79)" in shown and "$x$" in shown
