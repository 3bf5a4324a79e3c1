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
from matplotlib.lines import Line2D
from matplotlib.path import Path
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from poems_cohort.report.styles import Style

LABEL_MULTIPLES = (1, 2, 3, 4, 6, 8, 12)
SAMPLE_FROM_IN, SAMPLE_TO_IN = 0.86, 0.64  # line sample left of each at-risk row, inches
NAME_AT_IN = 0.58  # left edge of each row name, inches left of the axis


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


def shown_until(curves: pd.DataFrame, settings: PlotSettings) -> float:
    """The last time the panel must show (before rounding to a tick), by the settings' rule.

    ``curves`` holds the steps of every group of the panel: ``group, time, n_risk, n_event``.
    """
    if curves.empty:
        return 0.0
    times = np.unique(curves["time"].to_numpy(float))
    total = np.zeros(len(times))
    start = 0
    for _, part in curves.groupby("group", sort=True):
        t = part["time"].to_numpy(float)
        n = part["n_risk"].to_numpy(float)
        order = np.argsort(t, kind="stable")
        t, n = t[order], n[order]
        start += int(n[0])
        idx = np.searchsorted(t, times, side="left")  # first step at or after each time
        total += np.where(idx < len(t), n[np.minimum(idx, len(t) - 1)], 0.0)
    enough = times[total >= settings.min_at_risk_fraction * start]
    end = float(enough.max()) if len(enough) else 0.0
    if settings.keep_last_event:
        events = curves.loc[curves["n_event"] > 0, "time"]
        if len(events):
            end = max(end, float(events.max()))
    if settings.min_at_risk_fraction == 0.0:
        end = float(times.max())
    return end


def time_axis(until: float, step: float, settings: PlotSettings) -> TimeAxis:
    """Ticks every ``step`` months up to ``until`` (rounded up), labelled as the settings say."""
    if step <= 0:
        raise ValueError("step must be positive")
    best: tuple[float, int] | None = None
    for k in LABEL_MULTIPLES:
        major = k * step
        intervals = max(1, math.ceil(until / major - 1e-9))
        if intervals > settings.max_labelled_intervals:
            continue
        end = intervals * major
        if best is None or end < best[0]:
            best = (end, k)
    if best is None:  # very long follow-up: the largest multiple, however many labels
        k = LABEL_MULTIPLES[-1]
        best = (max(1, math.ceil(until / (k * step) - 1e-9)) * k * step, k)
    end, k = best
    n_minor = round(end / step)
    minor = tuple(float(i * step) for i in range(n_minor + 1))
    labelled = tuple(minor[::k])
    return TimeAxis(float(end), labelled, tuple(t for t in minor if t not in labelled))


def step_xy(curve: pd.DataFrame, *, cumulative: bool) -> tuple[np.ndarray, np.ndarray]:
    """The vertices of a right-continuous step curve from time 0, in percent."""
    start = 0.0 if cumulative else 1.0
    t = np.r_[0.0, curve["time"].to_numpy(float)]
    y = 100 * np.r_[start, curve["value"].to_numpy(float)]
    x = np.repeat(t, 2)[1:]
    yy = np.repeat(y, 2)[:-1]
    return x, yy


def draw_curve(ax: Axes, curve: pd.DataFrame, style: Style, label: str, *,
               cumulative: bool) -> None:
    """One group's step curve with a tick at each censored time."""
    x, y = step_xy(curve, cumulative=cumulative)
    ax.plot(x, y, color=style.colour, linestyle=style.linestyle, linewidth=1.3, label=label,
            gid=f"curve:{label}", solid_joinstyle="miter")
    cens = curve[curve["n_censor"] > 0]
    ax.plot(cens["time"].to_numpy(float), 100 * cens["value"].to_numpy(float), linestyle="none",
            marker="|", markersize=4, markeredgewidth=0.8, color=style.colour,
            gid=f"censored:{label}")


def at_risk_at(at_risk: pd.DataFrame, curves: pd.DataFrame, group: str, time: float) -> str:
    """The number at risk of ``group`` at ``time`` as the study gave it; ``0`` past the group's
    last observed time when the study's table stops earlier; blank if neither says."""
    part = at_risk[at_risk["group"] == group]
    v = part.loc[np.isclose(part["time"].to_numpy(float), time), "n_risk"]
    if len(v):
        return str(int(v.iloc[0]))
    seen = curves.loc[curves["group"] == group, "time"]
    if len(seen) == 0 or time > float(seen.max()):
        return "0"
    return ""


def draw_risk_table(tab: Axes, at_risk: pd.DataFrame, curves: pd.DataFrame,
                    groups: Sequence[str], sty: dict[str, Style], axis: TimeAxis) -> None:
    """Numbers at risk under the labelled ticks; each row names its group with a line sample."""
    tab.set_xlim(0.0, axis.end)
    tab.set_ylim(len(groups) - 0.5, -0.5)
    tab.set_yticks([])
    tab.set_xticks([])
    for side in ("top", "right", "bottom", "left"):
        tab.spines[side].set_visible(False)
    trans = tab.get_yaxis_transform()  # x in axes fraction, y in data
    width_in = tab.get_position().width * tab.figure.get_figwidth()

    def inches(x: float) -> float:
        return x / width_in

    for i, g in enumerate(groups):
        tab.text(inches(-NAME_AT_IN), i, g, transform=trans, ha="left", va="center", fontsize=7,
                 gid=f"at-risk-label:{g}")
        s = sty[g]
        tab.add_line(Line2D([inches(-SAMPLE_FROM_IN), inches(-SAMPLE_TO_IN)], [i, i],
                            transform=trans, color=s.colour, linestyle=s.linestyle,
                            linewidth=1.3, clip_on=False))
        for x in axis.labelled:
            tab.text(x, i, at_risk_at(at_risk, curves, g, x), ha="center", va="center", fontsize=7,
                     gid=f"at-risk:{g}")
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
