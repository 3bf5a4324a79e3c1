"""Drawing one Kaplan–Meier panel: the plotted range, the month ticks, the steps, the
number-at-risk table under the ticks and a p-value placed where no curve runs.

Everything here is presentation: the curves and the numbers at risk come from the study.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.path import Path
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from poems_cohort.report.styles import Style, literal

LABEL_MULTIPLES = (1, 2, 3, 4, 6, 8, 12)
SAMPLE_FROM_IN, SAMPLE_TO_IN = 0.86, 0.64  # line sample left of each at-risk row, inches
NAME_AT_IN = 0.58  # left edge of each row name, inches left of the axis
CENSOR_BINS = 200  # at most one censoring tick per 1/200 of the time axis …
DENSE_CENSOR_BINS, DENSE_FRACTION = 50, 0.6  # … or per 1/50 when they would fill the curve
CURVE_BINS = 1000  # above this many steps a curve keeps one step per 1/1000 of the axis …
FIGURE_STEPS = 12_000  # … fewer when a figure has many curves (SVG under 1 MB at any n)
FIGURE_TICKS = 1_500  # dense censoring: fewer ticks per curve when a figure has many curves
MIN_CURVE_BINS = 250


def curve_bins(n_curves: int) -> int:
    """The step resolution of each curve in a figure of ``n_curves`` curves: ``CURVE_BINS``
    up to 12 curves, then fewer (never under 1/250 of the axis, about a third of a millimetre
    at print size) so the figure's SVG stays small."""
    return max(MIN_CURVE_BINS, min(CURVE_BINS, FIGURE_STEPS // max(1, n_curves)))


def dense_censor_bins(n_curves: int) -> int:
    """Ticks per axis of a densely censored curve in a figure of ``n_curves`` curves: 50,
    fewer beyond 30 curves (never under 10)."""
    return max(10, min(DENSE_CENSOR_BINS, FIGURE_TICKS // max(1, n_curves)))
MARKS_PER_CURVE = 6  # markers on each curve when a panel has many groups


@dataclass(frozen=True, slots=True)
class PlotSettings:
    """How the time axis of every Kaplan–Meier panel is drawn.

    The plotted range ends at the later of (a) the last time at which at least
    ``min_at_risk_fraction`` of the panel's patients (all its groups together) remain at risk
    and (b) the last event, when ``keep_last_event``; it is then rounded up to a labelled
    tick. Curves are clipped there: the tail beyond rests on very few patients.
    ``min_at_risk_fraction=0`` shows the whole follow-up. With ``same_range_in_figure`` every
    panel of a figure takes the longest of its panels' ranges, so panels compare at a glance.

    Ticks fall every ``step`` months of the analysis plan (``risk_table_step_months``). They
    are all labelled when at most ``max_labelled_intervals`` fit; otherwise every 2nd, 3rd,
    4th… tick is labelled (the choice that ends the axis soonest) and the others stay as
    unlabelled minor ticks. The numbers at risk sit under the labelled ticks.
    """

    min_at_risk_fraction: float = 0.05
    keep_last_event: bool = True
    max_labelled_intervals: int = 10
    same_range_in_figure: bool = True

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_at_risk_fraction < 1.0:
            raise ValueError("min_at_risk_fraction must be in [0, 1)")
        if self.max_labelled_intervals < 1:
            raise ValueError("max_labelled_intervals must be at least 1")


@dataclass(frozen=True, slots=True)
class TimeAxis:
    """The x axis of a panel: its end, the labelled (major) ticks and the minor ticks."""

    end: float
    labelled: tuple[float, ...]
    minor: tuple[float, ...]


def at_risk_end(curves: pd.DataFrame, fraction: float, n_col: str = "n_risk"
                ) -> tuple[np.ndarray, float]:
    """The step times of a panel's curves and the last of them at which at least ``fraction``
    of the panel's patients (the sum of each group's first ``n_col``) are at risk (0 if none).

    ``curves`` holds the steps of every group: ``group, time, <n_col>`` (numbers at risk may be
    weighted)."""
    times = np.unique(curves["time"].to_numpy(float))
    total = np.zeros(len(times))
    start = 0.0
    for _, part in curves.groupby("group", sort=True):
        t = part["time"].to_numpy(float)
        n = part[n_col].to_numpy(float)
        order = np.argsort(t, kind="stable")
        t, n = t[order], n[order]
        start += float(n[0])
        idx = np.searchsorted(t, times, side="left")  # first step at or after each time
        total += np.where(idx < len(t), n[np.minimum(idx, len(t) - 1)], 0.0)
    enough = times[total >= fraction * start]
    return times, float(enough.max()) if len(enough) else 0.0


def shown_until(curves: pd.DataFrame, settings: PlotSettings) -> float:
    """The last time the panel must show (before rounding to a tick), by the settings' rule.

    ``curves`` holds the steps of every group of the panel: ``group, time, n_risk, n_event``.
    """
    if curves.empty:
        return 0.0
    times, end = at_risk_end(curves, settings.min_at_risk_fraction)
    if settings.keep_last_event:
        events = curves.loc[curves["n_event"] > 0, "time"]
        if len(events):
            end = max(end, float(events.max()))
    if settings.min_at_risk_fraction == 0.0:
        end = float(times.max())
    return end


def time_axis(until: float, step: float, settings: PlotSettings,
              max_intervals: int | None = None) -> TimeAxis:
    """Ticks every ``step`` months up to ``until`` (rounded up), labelled as the settings say;
    ``max_intervals`` lowers the settings' number of labelled intervals to what the panel's
    width holds (see :func:`fitting_intervals`)."""
    if step <= 0:
        raise ValueError("step must be positive")
    most = settings.max_labelled_intervals
    if max_intervals is not None:
        most = max(1, min(most, max_intervals))
    best: tuple[float, int] | None = None
    for k in LABEL_MULTIPLES:
        major = k * step
        intervals = max(1, math.ceil(until / major - 1e-9))
        if intervals > most:
            continue
        end = intervals * major
        if best is None or end < best[0]:
            best = (end, k)
    if best is None:  # very long follow-up: a multiple of 12 steps that fits
        k = max(LABEL_MULTIPLES[-1], math.ceil(until / (step * most) - 1e-9))
        best = (max(1, math.ceil(until / (k * step) - 1e-9)) * k * step, k)
    end, k = best
    n_minor = round(end / step)
    minor = tuple(float(i * step) for i in range(n_minor + 1))
    labelled = tuple(minor[::k])
    return TimeAxis(float(end), labelled, tuple(t for t in minor if t not in labelled))


def step_vertices(curve: pd.DataFrame, end: float,
                  bins: int = CURVE_BINS) -> tuple[np.ndarray, np.ndarray]:
    """The times and values where a step curve changes, clipped to ``[0, end]``, plus its last
    observed time (the flat tail of censored patients).

    Rows where nothing changes (censoring only) are not vertices. Beyond ``bins`` changes the
    curve is down-sampled to one change per 1/``bins`` of the axis: each bin keeps its first
    change time and the value after its last change, so the drawn curve departs from the exact
    one by less than 1/``bins`` of the axis width horizontally (with 1000 bins, a quarter of
    a pixel at 300 dpi) and a million-patient curve is at most 2·``bins`` vertices, not a
    million. The vertical drop is never approximated.
    """
    t = curve["time"].to_numpy(float)
    v = curve["value"].to_numpy(float)
    inside = t <= end
    t, v = t[inside], v[inside]
    if len(t) == 0:
        return t, v
    last_t, last_v = float(t[-1]), float(v[-1])
    change = np.r_[True, v[1:] != v[:-1]]
    t, v = t[change], v[change]
    if len(t) > bins and end > 0:
        cell = np.minimum((t / end * bins).astype(np.int64), bins - 1)
        first = np.r_[True, cell[1:] != cell[:-1]]
        last = np.r_[cell[1:] != cell[:-1], True]
        t, v = t[first], v[last]
    if t[-1] < last_t:
        t, v = np.r_[t, last_t], np.r_[v, last_v]
    return t, v


def step_xy(curve: pd.DataFrame, *, cumulative: bool, end: float = math.inf,
            bins: int = CURVE_BINS) -> tuple[np.ndarray, np.ndarray]:
    """The vertices of a right-continuous step curve from time 0, in percent."""
    start = 0.0 if cumulative else 1.0
    times, values = step_vertices(curve, end, bins)
    t = np.r_[0.0, times]
    y = 100 * np.r_[start, values]
    x = np.repeat(t, 2)[1:]
    yy = np.repeat(y, 2)[:-1]
    return x, yy


def censor_marks(curve: pd.DataFrame, end: float,
                 dense_bins: int = DENSE_CENSOR_BINS) -> tuple[np.ndarray, np.ndarray]:
    """Where the censoring ticks go: at most one per 1/``CENSOR_BINS`` of the axis (the first
    censored time in each bin, at the curve's value there), so a large cohort's ticks stay
    ticks instead of merging into a band. When the ticks would still fill more than
    ``DENSE_FRACTION`` of the bins the curve spans (censoring all along, as in a registry),
    they thin to one per 1/``dense_bins`` (50), so the line style shows between them."""
    cens = curve[(curve["n_censor"] > 0) & (curve["time"] <= end)]
    t = cens["time"].to_numpy(float)
    y = 100 * cens["value"].to_numpy(float)
    if len(t) == 0 or end <= 0:
        return t, y
    last = min(float(curve["time"].max()), end)
    for n_bins in (CENSOR_BINS, dense_bins):
        bins = np.minimum((t / end * n_bins).astype(np.int64), n_bins - 1)
        first = np.r_[True, bins[1:] != bins[:-1]]
        spanned = min(n_bins, int(last / end * n_bins) + 1)
        if first.sum() <= DENSE_FRACTION * spanned:
            break
    return t[first], y[first]


def draw_curve(ax: Axes, curve: pd.DataFrame, style: Style, label: str, *,
               cumulative: bool, end: float = math.inf, marked: bool = False,
               bins: int = CURVE_BINS, dense_bins: int = DENSE_CENSOR_BINS) -> None:
    """One group's step curve up to ``end`` with its (thinned) censoring ticks; ``marked``
    also puts the group's marker on the curve at a few evenly spaced times, so many groups
    stay apart in greyscale."""
    curve = curve.sort_values("time", kind="stable")
    x, y = step_xy(curve, cumulative=cumulative, end=end, bins=bins)
    name = literal(label)
    ax.plot(x, y, color=style.colour, linestyle=style.linestyle, linewidth=1.3, label=name,
            gid=f"curve:{name}", solid_joinstyle="miter")
    ct, cy = censor_marks(curve, end, dense_bins)
    ax.plot(ct, cy, linestyle="none", marker="|", markersize=4, markeredgewidth=0.8,
            color=style.colour, gid=f"censored:{name}")
    if marked and len(x) and math.isfinite(end):
        mx = np.linspace(0.0, end, MARKS_PER_CURVE + 2)[1:-1]
        mx = mx[mx <= x[-1]]
        idx = np.searchsorted(x[::2], mx, side="right") - 1  # the step in force at each mark
        ax.plot(mx, y[::2][idx], linestyle="none", marker=style.marker, markersize=3.5,
                markerfacecolor="white", markeredgecolor=style.colour, markeredgewidth=0.9,
                gid=f"marks:{name}")


def abbreviate_count(n: int) -> str:
    """A count short enough for a number-at-risk cell: exact below 10,000, then ``12.3k``,
    ``123k``, ``1.2M`` (at most five characters below 10⁹)."""
    if n < 10_000:
        return str(n)
    for unit, size in (("k", 1_000), ("M", 1_000_000), ("G", 1_000_000_000)):
        x = n / size
        if round(x, 1) < 100:
            return f"{x:.1f}{unit}"
        if round(x) < 1000:
            return f"{x:.0f}{unit}"
    return f"{n / 1e9:.0f}G"


def at_risk_at(at_risk: pd.DataFrame, curves: pd.DataFrame, group: str, time: float) -> str:
    """The number at risk of ``group`` at ``time`` as the study gave it (abbreviated past
    9,999); ``0`` past the group's last observed time when the study's table stops earlier;
    blank if neither says."""
    return at_risk_row(at_risk, curves, group, [time])[0]


def at_risk_row(at_risk: pd.DataFrame, curves: pd.DataFrame, group: str,
                times: Sequence[float]) -> list[str]:
    """:func:`at_risk_at` of ``group`` at each of ``times``, the group's rows selected once."""
    part = at_risk[(at_risk["group"] == group).to_numpy(bool, na_value=False)]
    at = part["time"].to_numpy(float)
    n_risk = part["n_risk"]
    seen = curves.loc[(curves["group"] == group).to_numpy(bool, na_value=False), "time"]
    last = float(seen.max()) if len(seen) else None
    cells = []
    for time in times:
        v = n_risk[np.isclose(at, time)]
        if len(v):
            cells.append(abbreviate_count(int(v.iloc[0])))
        elif last is None or time > last:
            cells.append("0")
        else:
            cells.append("")
    return cells


def label_width_in(text: str, fontsize: float = 7.0) -> float:
    """A generous estimate of the printed width of ``text`` in DejaVu Sans (its widest
    digits and letters are about 0.64 em; ``M`` and ``W`` 0.86 and 1.0 em)."""
    wide = sum(1 for c in text if c in "MWmw@%")
    return (0.64 * (len(text) - wide) + 1.0 * wide) * fontsize / 72


def fitting_intervals(width_in: float, widest_label: str, fontsize: float = 7.0) -> int:
    """How many labelled intervals fit an axis ``width_in`` wide when each number at risk is
    as wide as ``widest_label`` and neighbours keep 0.08 in apart."""
    return max(1, int(width_in / (label_width_in(widest_label, fontsize) + 0.08)))


def _fit_name(name: str, room_in: float, fontsize: float = 7.0) -> str:
    """``name`` cut with an ellipsis to fit ``room_in`` (the legend shows it whole)."""
    if label_width_in(name, fontsize) <= room_in:
        return name
    while len(name) > 1 and label_width_in(name + "…", fontsize) > room_in:
        name = name[:-1]
    return name + "…"


def draw_risk_table(tab: Axes, at_risk: pd.DataFrame, curves: pd.DataFrame,
                    groups: Sequence[str], sty: dict[str, Style], axis: TimeAxis, *,
                    marked: bool = False) -> None:
    """Numbers at risk under the labelled ticks; each row names its group with a line sample
    (and the group's marker when ``marked``)."""
    tab.set_xlim(0.0, axis.end)
    tab.set_ylim(len(groups) - 0.5, -0.5)
    tab.set_yticks([])
    tab.set_xticks([])
    for side in ("top", "right", "bottom", "left"):
        tab.spines[side].set_visible(False)
    trans = tab.get_yaxis_transform()  # x in axes fraction, y in data
    fig = tab.figure
    if not isinstance(fig, Figure):  # the figures here are all top-level, never subfigures
        raise TypeError(f"the number-at-risk table must be drawn on a Figure, not {fig!r}")
    width_in = tab.get_position().width * fig.get_figwidth()

    def inches(x: float) -> float:
        return x / width_in

    cells = {g: at_risk_row(at_risk, curves, g, axis.labelled) for g in groups}
    # a row name ends before the first number, centred on the axis origin, begins
    first = max((label_width_in(c[0]) for c in cells.values() if c), default=0.0)
    room = NAME_AT_IN - first / 2 - 0.06
    for i, g in enumerate(groups):
        name = literal(g)
        tab.text(inches(-NAME_AT_IN), i, literal(_fit_name(str(g), room)),
                 transform=trans, ha="left", va="center", fontsize=7,
                 gid=f"at-risk-label:{name}")
        s = sty[g]
        tab.add_line(Line2D([inches(-SAMPLE_FROM_IN), inches(-SAMPLE_TO_IN)], [i, i],
                            transform=trans, color=s.colour, linestyle=s.linestyle,
                            linewidth=1.3, clip_on=False))
        if marked:
            tab.add_line(Line2D([inches(-(SAMPLE_FROM_IN + SAMPLE_TO_IN) / 2)], [i],
                                transform=trans, linestyle="none", marker=s.marker,
                                markersize=3.5, markerfacecolor="white",
                                markeredgecolor=s.colour, markeredgewidth=0.9, clip_on=False))
        for x, cell in zip(axis.labelled, cells[g], strict=True):
            tab.text(x, i, cell, ha="center", va="center", fontsize=7, gid=f"at-risk:{name}")
    tab.text(inches(-SAMPLE_FROM_IN), -0.6, "Number at risk", transform=trans, ha="left",
             va="bottom", fontsize=7, fontstyle="italic")


def set_time_axis(ax: Axes, axis: TimeAxis, xlabel: str) -> None:
    """Labelled ticks at ``axis.labelled``, unlabelled minor ticks between them."""
    ax.set_xlim(0.0, axis.end)
    ax.set_xticks(list(axis.labelled))
    ax.set_xticklabels([f"{t:g}" for t in axis.labelled])
    ax.set_xticks(list(axis.minor), minor=True)
    ax.tick_params(axis="x", which="minor", length=2)
    ax.set_xlabel(xlabel, labelpad=2)


def _blocked(ax: Axes, box: Bbox) -> bool:
    """Whether any curve or censoring tick of ``ax`` runs through ``box`` (display units)."""
    for line in ax.get_lines():
        xy = line.get_transform().transform(line.get_xydata())
        if line.get_linestyle() in ("None", "none", ""):
            pad = line.get_markersize() * ax.figure.dpi / 72 / 2
            inside = ((xy[:, 0] >= box.x0 - pad) & (xy[:, 0] <= box.x1 + pad)
                      & (xy[:, 1] >= box.y0 - pad) & (xy[:, 1] <= box.y1 + pad))
            if inside.any():
                return True
            continue
        if len(xy) > 1 and Path(xy).intersects_bbox(box.padded(2.0), filled=False):
            return True
    return False


def place_text(ax: Axes, text: str, corners: Sequence[str]) -> Text:
    """Write ``text`` in the first corner of ``ax`` where no curve passes (else the first).

    Corners are ``"lower left"``, ``"lower right"``, ``"upper left"``, ``"upper right"``.
    """
    pos = {"lower left": (0.03, 0.04, "left", "bottom"),
           "lower right": (0.98, 0.04, "right", "bottom"),
           "upper left": (0.03, 0.97, "left", "top"),
           "upper right": (0.98, 0.97, "right", "top")}
    renderer = ax.figure.canvas.get_renderer()  # type: ignore[attr-defined]
    for corner in corners:
        x, y, ha, va = pos[corner]
        t = ax.text(x, y, text, transform=ax.transAxes, ha=ha, va=va, fontsize=7.5,
                    gid="p-value")
        if not _blocked(ax, t.get_window_extent(renderer)):
            return t
        t.remove()
    x, y, ha, va = pos[corners[0]]
    return ax.text(x, y, text, transform=ax.transAxes, ha=ha, va=va, fontsize=7.5,
                   gid="p-value", bbox={"facecolor": "white", "edgecolor": "none", "pad": 1})
