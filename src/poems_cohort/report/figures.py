"""The study's figures (matplotlib), drawn from ``StudyResults`` only.

Figures are ``matplotlib.figure.Figure`` objects with their own Agg canvas: nothing here selects
a backend or touches pyplot's state, so importing or drawing leaves a notebook user's backend
and open figures alone (the style is applied with ``matplotlib.rc_context`` while drawing).
Every label is drawn as literal text (``styles.literal``).

Every figure is 7.2 in (183 mm) wide, a journal's two-column width, so the point sizes set
here are the printed sizes (no text below 7 pt). Panels are laid out in inches: each
Kaplan–Meier panel has its number-at-risk table right under its time axis, sharing its x
coordinates. One legend per figure, above the panels. Output is deterministic: fixed SVG hash
salt, no dates.
"""

from __future__ import annotations

import functools
import io
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, ParamSpec

import numpy as np
import pandas as pd
from matplotlib import rc_context
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.legend_handler import HandlerBase, HandlerTuple
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from poems_cohort.report import format as fmt
from poems_cohort.report.flow_diagram import draw_flow, flow_caption, new_figure
from poems_cohort.report.km_plot import (
    PlotSettings,
    TimeAxis,
    abbreviate_count,
    curve_bins,
    dense_censor_bins,
    draw_curve,
    draw_risk_table,
    fitting_intervals,
    label_width_in,
    place_text,
    set_time_axis,
    shown_until,
    time_axis,
)
from poems_cohort.report.styles import MARKED_ABOVE, Style, literal, styles
from poems_cohort.study import StudyResults
from poems_cohort.study.names import BY_CRV, BY_REGIMEN, CRV_GROUPS, EVERYONE, OS, PFS, By
from poems_cohort.study.policy import NOT_TESTABLE

if TYPE_CHECKING:  # matplotlib.typing exists from matplotlib 3.8; only the checker reads it
    from matplotlib.typing import RcKeyType

__all__ = ["PlotSettings", "RenderedFigure", "all_figures", "draw_figure1", "draw_figure2",
           "draw_supplementary_figure", "figure1", "figure2", "flow_figure", "styles",
           "supplementary_figure"]

P = ParamSpec("P")

RC: dict[RcKeyType, object] = {
    "svg.hashsalt": "poems-cohort",
    "svg.fonttype": "path",
    "font.family": "DejaVu Sans",
    "font.size": 8,
    "axes.titlesize": 8.5,
    "axes.labelsize": 8,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 8,
    "axes.linewidth": 0.7,
    "xtick.major.width": 0.7,
    "ytick.major.width": 0.7,
    "xtick.major.size": 3,
    "ytick.major.size": 3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "hatch.linewidth": 0.6,
    "savefig.dpi": 300,
}

WIDTH_IN = 7.2       # two-column journal width
LEFT_IN = 0.9        # y tick labels and label; the at-risk row names and line samples
RIGHT_IN = 0.16      # half of the last tick label and its number at risk
LEGEND_IN = 0.34     # the figure legend above the panels (one row)
LEGEND_ROW_IN = 0.2  # each further row of the legend
TITLE_IN = 0.27      # panel title above each plot
XAXIS_IN = 0.36      # tick labels and axis label under each plot
TABLE_TITLE_IN = 0.17
TABLE_ROW_IN = 0.15
GAP_IN = 0.2         # between a number-at-risk table and the next row of panels
KM_PLOT_IN = 1.45
BAR_PLOT_IN = 2.1
MONTHS = "Months since treatment start"
DEFAULT_SETTINGS = PlotSettings()


@dataclass(frozen=True, slots=True)
class RenderedFigure:
    """A figure as PNG and SVG bytes, with its title ("Figure 1. …") and caption."""

    name: str
    title: str
    caption: str
    png: bytes
    svg: bytes


@contextmanager
def _style() -> Iterator[None]:
    with rc_context(RC):
        yield


def _styled(draw: Callable[P, Figure]) -> Callable[P, Figure]:
    """Draw under the figure style (sizes are read when the artists are made)."""
    @functools.wraps(draw)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Figure:
        with _style():
            return draw(*args, **kwargs)
    return wrapper


SYNTHETIC_STAMP = "Synthetic cohort: no real patients"


def _render(fig: Figure, name: str, title: str, caption: str, *,
            synthetic: bool = False) -> RenderedFigure:
    png, svg = io.BytesIO(), io.BytesIO()
    with _style():  # the SVG hash salt must be set while saving
        if synthetic:  # a figure copied on its own still says what it shows
            fig.text(0.995, 0.003, SYNTHETIC_STAMP, ha="right", va="bottom", fontsize=7,
                     color="#555555", style="italic")
            caption = f"{caption} {SYNTHETIC_STAMP}."
        fig.savefig(png, format="png", dpi=300, metadata={"Software": None})
        fig.savefig(svg, format="svg", metadata={"Date": None, "Creator": None})
    return RenderedFigure(name, title, caption, png.getvalue(), compact_svg(svg.getvalue()))


_SVG_GEOMETRY = re.compile(rb'( (?:d|x|y)=")([^"]*)(")')
_LONG_DECIMAL = re.compile(rb"(-?\d+\.\d{2})\d+")


def compact_svg(svg: bytes) -> bytes:
    """``svg`` with the coordinates of its paths and placed glyphs and markers rounded to
    0.01 pt (matplotlib writes six decimals; 0.01 pt is 3.5 µm on paper), a third smaller.
    Only ``d``, ``x`` and ``y`` attributes are touched, never an id or a label."""
    return _SVG_GEOMETRY.sub(
        lambda m: m.group(1) + _LONG_DECIMAL.sub(rb"\1", m.group(2)) + m.group(3), svg)


def _p_text(p: object, label: str = "p") -> str:
    return fmt.p_text(p, label)


# ---------------------------------------------------------------------------- layout
class _Page:
    """Axes placed top-down in inches on a figure of fixed width."""

    def __init__(self, height_in: float) -> None:
        self.height = height_in
        self.fig = new_figure(WIDTH_IN, height_in)
        self.y = 0.0  # inches from the top

    def axes(self, left: float, top: float, width: float, height: float, label: str) -> Axes:
        bottom = self.height - top - height
        return self.fig.add_axes((left / WIDTH_IN, bottom / self.height, width / WIDTH_IN,
                                  height / self.height), label=label)


def _columns(ncols: int) -> list[tuple[float, float]]:
    """(left, width) in inches of each panel column."""
    width = WIDTH_IN / ncols - LEFT_IN - RIGHT_IN
    return [(c * WIDTH_IN / ncols + LEFT_IN, width) for c in range(ncols)]


def _km_row_height(n_groups: int, plot_in: float = KM_PLOT_IN) -> float:
    return (TITLE_IN + plot_in + XAXIS_IN + TABLE_TITLE_IN + n_groups * TABLE_ROW_IN
            + GAP_IN)


def _km_row(page: _Page, ncols: int, n_panels: int, n_groups: int, letters: Sequence[str],
            plot_in: float = KM_PLOT_IN) -> list[tuple[Axes, Axes]]:
    """A row of (plot, number-at-risk table) pairs; the table has the plot's left and width."""
    out = []
    top = page.y + TITLE_IN
    table_top = top + plot_in + XAXIS_IN + TABLE_TITLE_IN
    for (left, width), letter in zip(_columns(ncols)[:n_panels], letters, strict=True):
        ax = page.axes(left, top, width, plot_in, f"{letter}:plot")
        tab = page.axes(left, table_top, width, n_groups * TABLE_ROW_IN, f"{letter}:at-risk")
        out.append((ax, tab))
    page.y += _km_row_height(n_groups, plot_in)
    return out


LEGEND_FONT = 8.0
LEGEND_HANDLE_EM, LEGEND_PAD_EM, LEGEND_GAP_EM = 4.0, 0.8, 2.2


def legend_columns(labels: Sequence[str], handle_em: float = LEGEND_HANDLE_EM) -> int:
    """How many legend entries fit side by side across the figure (all of them when they
    fit; otherwise the most that fit, in rows of equal columns)."""
    em = LEGEND_FONT / 72
    room = WIDTH_IN - 0.3
    widest = max((label_width_in(literal(x), LEGEND_FONT) for x in labels), default=0.0)
    entry = (handle_em + LEGEND_PAD_EM) * em + widest
    for ncols in range(len(labels), 0, -1):
        if ncols * entry + (ncols - 1) * LEGEND_GAP_EM * em <= room:
            return ncols
    return 1


def legend_height(labels: Sequence[str], handle_em: float = LEGEND_HANDLE_EM) -> float:
    """The height the legend takes above the panels, in inches."""
    rows = math.ceil(len(labels) / legend_columns(labels, handle_em)) if labels else 1
    return LEGEND_IN + (rows - 1) * LEGEND_ROW_IN


def _legend(page: _Page, handles: Sequence[Artist | tuple[Artist, ...]], labels: list[str],
            handle_em: float = LEGEND_HANDLE_EM,
            handler_map: Mapping[type, HandlerBase] | None = None) -> None:
    """The figure's legend above the panels; a tuple handle draws its artists over each other
    (``handler_map`` says how)."""
    height = legend_height(labels, handle_em)
    # matplotlib's stub types the handles as artists only, though a tuple of artists is a
    # documented handle (drawn by HandlerTuple)
    page.fig.legend(handles, [literal(x) for x in labels],  # type: ignore[call-overload]
                    loc="center",
                    ncols=legend_columns(labels, handle_em), frameon=False,
                    bbox_to_anchor=(0.5, 1 - height / 2 / page.height),
                    handlelength=handle_em, columnspacing=LEGEND_GAP_EM, handler_map=handler_map)
    page.y += height


def _marked(groups: Sequence[str]) -> bool:
    return len(groups) > MARKED_ABOVE


def _line_handles(groups: Sequence[str], sty: dict[str, Style]) -> list[Line2D]:
    marked = _marked(groups)
    return [Line2D([], [], color=sty[g].colour, linestyle=sty[g].linestyle, linewidth=1.3,
                   marker=sty[g].marker if marked else None, markersize=3.5,
                   markerfacecolor="white", markeredgewidth=0.9)
            for g in groups]


# ---------------------------------------------------------------------------- KM panel
def km_panel(ax: Axes, tab: Axes, curves: pd.DataFrame, at_risk: pd.DataFrame,
             groups: Sequence[str], sty: dict[str, Style], axis: TimeAxis, *, title: str,
             ylabel: str, p_label: str | None, cumulative: bool = False,
             n_curves: int = 1) -> None:
    """One Kaplan–Meier panel with its number-at-risk table under ``axis`` (each curve drawn
    at the step resolution and tick density of a figure of ``n_curves`` curves, see
    ``km_plot.curve_bins``)."""
    marked = _marked(groups)
    for g in groups:
        part = curves.loc[(curves["group"] == g).to_numpy(bool)]
        if len(part):
            draw_curve(ax, part, sty[g], g, cumulative=cumulative, end=axis.end,
                       marked=marked, bins=curve_bins(n_curves),
                       dense_bins=dense_censor_bins(n_curves))
    set_time_axis(ax, axis, MONTHS)
    ax.set_ylim(-2, 103)
    ax.set_yticks(range(0, 101, 20))
    ax.set_ylabel(ylabel)
    ax.set_title(literal(title), loc="left", fontweight="bold", pad=6)
    ax.grid(axis="y", color="#e0e0e0", linewidth=0.5)
    ax.set_axisbelow(True)
    draw_risk_table(tab, at_risk, curves, groups, sty, axis, marked=marked)
    if p_label is not None:
        corners = (("lower right", "upper left", "lower left") if cumulative else
                   ("lower left", "lower right", "upper right"))
        place_text(ax, p_label, corners)


def _axes_for(panels: Sequence[pd.DataFrame], step: float, settings: PlotSettings,
              width_in: float) -> list[TimeAxis]:
    """The time axis of each panel (one shared axis when the settings say so), with no more
    labelled ticks than the numbers at risk need to stand apart on a panel ``width_in`` wide
    (the widest number is the largest group at time 0, abbreviated)."""
    until = [shown_until(c, settings) for c in panels]
    if settings.same_range_in_figure:
        until = [max(until)] * len(until)
    biggest = max((int(c["n_risk"].max()) for c in panels if len(c)), default=0)
    fit = fitting_intervals(width_in, abbreviate_count(biggest))
    return [time_axis(u, step, settings, fit) for u in until]


# ---------------------------------------------------------------------------- figure 1
@_styled
def draw_figure1(results: StudyResults, settings: PlotSettings = DEFAULT_SETTINGS) -> Figure:
    """1a response rates per regimen; 1b/1c cumulative time to CRH and to CRV."""
    plan = results.plan
    regs = list(plan.regimens)
    sty = styles(regs)
    height = (legend_height(regs) + TITLE_IN + BAR_PLOT_IN + 0.3 + GAP_IN
              + _km_row_height(len(regs)))
    page = _Page(height)
    lines = _line_handles(regs, sty)
    handles = [(Patch(facecolor=sty[r].colour, hatch=sty[r].hatch, edgecolor="black",
                      linewidth=0.6), line)
               for r, line in zip(regs, lines, strict=True)]
    _legend(page, handles, regs, handler_map={tuple: HandlerTuple(ndivide=None, pad=0.6)})
    left, _ = _columns(1)[0]
    ax = page.axes(left, page.y + TITLE_IN, WIDTH_IN - LEFT_IN - RIGHT_IN, BAR_PLOT_IN,
                   "a:plot")
    page.y += TITLE_IN + BAR_PLOT_IN + 0.3 + GAP_IN
    endpoints = ["CRH", "CRV", "RN"]
    width = 0.8 / len(regs)
    bar_in = width * 0.9 * (WIDTH_IN - LEFT_IN - RIGHT_IN) / len(endpoints)
    upright = label_width_in("100.0") > bar_in  # rates written up the bar when too narrow
    top = 132 if upright else 118
    for j, r in enumerate(regs):
        vals = [float(results.table2.row(e, regimen=r)["value"]) for e in endpoints]
        x = np.arange(len(endpoints)) + (j - (len(regs) - 1) / 2) * width
        bars = ax.bar(x, np.nan_to_num(vals), width * 0.9, color=sty[r].colour,
                      hatch=sty[r].hatch, edgecolor="black", linewidth=0.6, label=literal(r))
        for b, v in zip(bars, vals, strict=True):
            ax.text(b.get_x() + b.get_width() / 2, b.get_height() + 1.5, fmt.pct(v),
                    ha="center", va="bottom", fontsize=7, rotation=90 if upright else 0,
                    gid="bar-value")
    for i, e in enumerate(endpoints):
        ax.text(i, top - 8, _p_text(results.table2.test(e).p_value),
                ha="center", va="bottom", fontsize=7.5)
    ax.set_xticks(range(len(endpoints)))
    ax.set_xticklabels(endpoints, fontsize=8)
    ax.tick_params(axis="x", length=0)
    ax.set_xlim(-0.5, len(endpoints) - 0.5)
    ax.set_ylim(0, top)
    ax.set_yticks(range(0, 101, 20))
    ax.set_ylabel("Patients with response (%)")
    ax.set_title("a  Best response", loc="left", fontweight="bold", pad=6)
    k = results.kinetics
    pairs = _km_row(page, 2, 2, len(regs), "bc")
    curves = [k.curves[k.curves["endpoint"] == resp] for resp in ("CRH", "CRV")]
    axes = _axes_for(curves, plan.risk_table_step_months, settings, _columns(2)[0][1])
    for (a, tab), resp, cur, axis, letter in zip(pairs, ("CRH", "CRV"), curves, axes, "bc",
                                                 strict=True):
        km_panel(a, tab, cur, k.at_risk[k.at_risk["endpoint"] == resp], regs, sty, axis,
                 title=f"{letter}  Time to {resp}", ylabel=f"Cumulative {resp} rate (%)",
                 p_label=None, cumulative=True, n_curves=2 * len(regs))
    return page.fig


def _figure1_caption(results: StudyResults) -> str:
    tests = sorted({results.table2.test(e).test for e in ("CRH", "CRV", "RN")}
                   - {"", NOT_TESTABLE})
    return ("(a) Rates of hematologic complete "
            "remission (CRH), VEGF complete remission (CRV) and neurological remission (RN) "
            "among evaluable patients, with the p-value across regimens ("
            + " or ".join(tests) + "). (b, c) Cumulative rate of CRH and of CRV over time "
            "among evaluable patients (1 − Kaplan–Meier; non-responders censored at their "
            "last assessment, marked by ticks), with the numbers at risk.")


def figure1(results: StudyResults, settings: PlotSettings = DEFAULT_SETTINGS, *,
            synthetic: bool = False) -> RenderedFigure:
    """Figure 1 rendered."""
    fig = draw_figure1(results, settings)
    return _render(fig, "figure1", "Figure 1. Response to first-line treatment",
                   _figure1_caption(results), synthetic=synthetic)


# ---------------------------------------------------------------------------- figure 2
def figure2_panels(results: StudyResults) -> list[list[tuple[str, str]]]:
    """Rows of (endpoint, subgroup): PFS and OS of all patients, then PFS of each other
    subgroup, then OS of each other subgroup (the published order)."""
    sgs = list(results.plan.figure_subgroups)
    rows: list[list[tuple[str, str]]] = []
    if EVERYONE in sgs:
        rows.append([(PFS, EVERYONE), (OS, EVERYONE)])
    others = [s for s in sgs if s != EVERYONE]
    if others:
        rows.append([(PFS, s) for s in others])
        rows.append([(OS, s) for s in others])
    return rows


def _panels(frame: pd.DataFrame, by: str, keys: Sequence[tuple[str, str]]
            ) -> dict[tuple[str, str], pd.DataFrame]:
    """The rows of each (endpoint, subgroup) of ``keys`` with ``by``, without the key columns
    (a registry's curves hold millions of rows: copying fewer text columns is most of the
    time this takes)."""
    cols = [c for c in frame.columns if c not in ("endpoint", "by", "subgroup")]
    is_by = (frame["by"] == by).to_numpy(bool)
    endpoint, subgroup = frame["endpoint"], frame["subgroup"]
    return {(e, sg): frame.loc[is_by & (endpoint == e).to_numpy(bool)
                               & (subgroup == sg).to_numpy(bool), cols]
            for e, sg in keys}


@_styled
def _survival_figure(results: StudyResults, rows: list[list[tuple[str, str]]], by: By,
                     groups: Sequence[str], settings: PlotSettings,
                     title_of: dict[tuple[str, str], str]) -> Figure:
    plan = results.plan
    sty = styles(groups)
    s = results.survival
    ncols = max(2, *(len(r) for r in rows))
    page = _Page(legend_height(groups) + len(rows) * _km_row_height(len(groups)))
    _legend(page, _line_handles(groups, sty), list(groups))
    flat = [panel for row in rows for panel in row]
    curves, at_risk = _panels(s.curves, by, flat), _panels(s.at_risk, by, flat)

    def select(frame: dict[tuple[str, str], pd.DataFrame], endpoint: str,
               subgroup: str) -> pd.DataFrame:
        return frame[(endpoint, subgroup)]

    axes = iter(_axes_for([select(curves, e, sg) for e, sg in flat],
                          plan.risk_table_step_months, settings, _columns(ncols)[0][1]))
    letters = iter("abcdefghijklmnopqrstuvwxyz")
    for row in rows:
        row_letters = [next(letters) for _ in row]
        pairs = _km_row(page, ncols, len(row), len(groups), row_letters)
        for (ax, tab), (endpoint, subgroup), letter in zip(pairs, row, row_letters,
                                                          strict=True):
            p = s.test(endpoint, by=by, subgroup=subgroup).p_value
            km_panel(ax, tab, select(curves, endpoint, subgroup),
                     select(at_risk, endpoint, subgroup), list(groups), sty, next(axes),
                     title=f"{letter}  {title_of[(endpoint, subgroup)]}",
                     ylabel=f"{endpoint} (%)", p_label=_p_text(p, "Log-rank p"),
                     n_curves=len(flat) * len(groups))
    return page.fig


@_styled
def draw_figure2(results: StudyResults, settings: PlotSettings = DEFAULT_SETTINGS) -> Figure:
    """Kaplan–Meier PFS and OS by regimen, in the published panel order (see
    :func:`figure2_panels`), two panels a row."""
    plan = results.plan
    rows = figure2_panels(results)
    titles = {(e, sg): f"{e}, {plan.subgroup(sg).label().lower()}"
              for row in rows for e, sg in row}
    return _survival_figure(results, rows, BY_REGIMEN, plan.regimens, settings, titles)


def _figure2_caption(results: StudyResults, settings: PlotSettings) -> str:
    plan = results.plan
    names = {PFS: "progression-free survival", OS: "overall survival"}
    letters = iter("abcdefghijklmnopqrstuvwxyz")
    parts = [f"({next(letters)}) {names[e]}, {plan.subgroup(sg).label().lower()}"
             for row in figure2_panels(results) for e, sg in row]
    return ("Kaplan–Meier estimates: " + "; ".join(parts)
            + ". Ticks mark censored patients; p: log-rank test across regimens. "
            + _range_rule(settings))


def _range_rule(settings: PlotSettings) -> str:
    if settings.min_at_risk_fraction == 0:
        return "Curves are drawn over the whole follow-up."
    pct = f"{settings.min_at_risk_fraction * 100:g}%"
    last = " or up to the last event, whichever is later" if settings.keep_last_event else ""
    same = " (the same range in every panel)" if settings.same_range_in_figure else ""
    return (f"Curves are drawn while at least {pct} of a panel's patients remain at "
            f"risk{last}{same}.")


def figure2(results: StudyResults, settings: PlotSettings = DEFAULT_SETTINGS, *,
            synthetic: bool = False) -> RenderedFigure:
    """Figure 2 rendered."""
    fig = draw_figure2(results, settings)
    return _render(fig, "figure2", "Figure 2. Progression-free and overall survival by "
                   "first-line regimen", _figure2_caption(results, settings),
                   synthetic=synthetic)


# ---------------------------------------------------------------------------- supplement
@_styled
def draw_supplementary_figure(results: StudyResults,
                              settings: PlotSettings = DEFAULT_SETTINGS) -> Figure:
    """PFS and OS by CRV status in the supplementary subgroup."""
    sg = results.plan.supplementary_subgroup
    label = results.plan.subgroup(sg).label().lower()
    rows = [[(PFS, sg), (OS, sg)]]
    titles = {(e, sg): f"{e} by CRV, {label}" for e in (PFS, OS)}
    return _survival_figure(results, rows, BY_CRV, CRV_GROUPS, settings, titles)


def supplementary_figure(results: StudyResults, settings: PlotSettings = DEFAULT_SETTINGS, *,
                         synthetic: bool = False) -> RenderedFigure:
    """Supplementary Figure 1 rendered."""
    sg = results.plan.subgroup(results.plan.supplementary_subgroup)
    among = ("all CRV-evaluable patients" if sg.risk_groups is None else
             f"CRV-evaluable {sg.label().lower()} patients")
    caption = (f"(a) Progression-free and (b) overall survival by CRV "
               f"status among {among} (Kaplan–Meier; ticks mark "
               "censored patients; p: log-rank test). " + _range_rule(settings))
    fig = draw_supplementary_figure(results, settings)
    return _render(fig, "supplementary_figure1", "Supplementary Figure 1. Survival by VEGF "
                   "complete remission", caption, synthetic=synthetic)


# ---------------------------------------------------------------------------- patient flow
def flow_figure(results: StudyResults, *, synthetic: bool = False) -> RenderedFigure:
    """The patient-flow diagram rendered (``figures/flow``)."""
    fig = _styled(draw_flow)(results)
    return _render(fig, "flow", "Patient flow", flow_caption(results), synthetic=synthetic)


def all_figures(results: StudyResults, settings: PlotSettings = DEFAULT_SETTINGS, *,
                synthetic: bool = False) -> list[RenderedFigure]:
    """Every figure, in report order; ``synthetic`` stamps each one as synthetic."""
    return [flow_figure(results, synthetic=synthetic),
            figure1(results, settings, synthetic=synthetic),
            figure2(results, settings, synthetic=synthetic),
            supplementary_figure(results, settings, synthetic=synthetic)]
