"""The patient-flow diagram (CONSORT style): screened → excluded by reason → included → each
regimen with its risk groups. Patients on a regimen outside the study's set are counted per
regimen under their exclusion reason (the largest first; past ``NAMED_REGIMENS`` the rest are
summed as "N more regimens").

Boxes and arrows in black and grey only, so it prints the same in greyscale. Drawn in inches on
an axes covering the figure; the caller sets the style and renders it. Regimen boxes go four to
a row. Every text is drawn literally (``styles.literal``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import FancyArrowPatch, Rectangle
from matplotlib.textpath import TextPath

from poems_cohort.cohort.eligibility import EXCLUDED_BY_REGIMEN, EXCLUSION_REASONS
from poems_cohort.report import format as fmt
from poems_cohort.report.styles import literal
from poems_cohort.study import StudyResults

WIDTH_IN = 7.2
LINE_IN = 0.165          # one line of 8 pt text with its leading
PAD_IN = 0.09            # inside a box, above and below the text
GAP_IN = 0.32            # between boxes, vertically
MAIN_X, MAIN_W = 2.35, 2.5          # centre and width of the screened and included boxes
SIDE_X0, SIDE_W = 4.05, 3.05        # left edge and width of the excluded box
RISK_LEVELS = (("risk_low", "Low risk"), ("risk_medium", "Medium risk"),
               ("risk_high", "High risk"))
EXCLUDED_FILL = "#ebebeb"
BOXES_PER_ROW = 4
ROW_GAP_IN = 0.3         # between two rows of regimen boxes
NAMED_REGIMENS = 8       # excluded regimens named one by one; more are summed
REGIMEN_REASON = EXCLUSION_REASONS[0]  # "regimen not in the study's set"
DETAIL_INDENT = "\u2003"  # an em space before each line of the per-regimen counts


def new_figure(width_in: float, height_in: float) -> Figure:
    """A figure with its own Agg canvas, outside pyplot (no backend chosen, nothing global)."""
    fig = Figure(figsize=(width_in, height_in))
    FigureCanvasAgg(fig)
    return fig


@dataclass(frozen=True, slots=True)
class FlowCounts:
    """The counts the diagram shows, read from the study's flow and Table 1 (``risk``: per
    regimen, each risk group's count and percent of the patients whose risk is known)."""

    screened: int
    excluded: tuple[tuple[str, int], ...]
    included: int
    flagged: tuple[tuple[str, int], ...]
    regimens: tuple[tuple[str, int], ...]
    risk: dict[str, tuple[tuple[str, int, float | None], ...]]
    excluded_regimens: tuple[tuple[str, int], ...] = ()

    @staticmethod
    def of(results: StudyResults) -> FlowCounts:
        f = results.flow

        def rows(stage: str) -> list[tuple[str, int]]:
            part = f[f["stage"] == stage]
            return [(str(d), int(n)) for d, n in zip(part["detail"], part["n"], strict=True)]

        included = dict(rows("included"))
        t1 = results.table1.rows
        risk: dict[str, tuple[tuple[str, int, float | None], ...]] = {}
        for regimen in results.plan.regimens:
            levels: list[tuple[str, int, float | None]] = []
            known = None
            for key, label in RISK_LEVELS:
                r = t1[(t1["key"] == key) & (t1["regimen"] == regimen)]
                if len(r):
                    levels.append((label, int(r["n"].iloc[0]), float(r["percent"].iloc[0])))
                    known = int(r["N"].iloc[0])
            unknown = included.get(regimen, 0) - (known if known is not None else 0)
            if known is not None and unknown > 0:
                levels.append(("Risk unknown", unknown, None))
            risk[regimen] = tuple(levels)
        return FlowCounts(
            screened=sum(n for _, n in rows("screened")),
            excluded=tuple(rows("excluded")),
            included=included.get("all", 0),
            flagged=tuple((d, n) for d, n in rows("flagged") if n > 0),
            regimens=tuple((g, included.get(g, 0)) for g in results.plan.regimens),
            risk=risk,
            excluded_regimens=tuple((g, n) for g, n in rows(EXCLUDED_BY_REGIMEN) if n > 0))


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def text_width(text: str, fontsize: float, *, bold: bool = False) -> float:
    """The printed width of ``text`` in inches, from the glyph outlines."""
    prop = FontProperties(family="DejaVu Sans", weight="bold" if bold else "normal")
    return float(TextPath((0, 0), literal(text), size=fontsize, prop=prop)
                 .get_extents().width) / 72


def _cut(text: str, width_in: float, fontsize: float, *, bold: bool = False) -> str:
    """``text`` shortened with "…" until it fits ``width_in``."""
    while len(text) > 1 and text_width(text, fontsize, bold=bold) > width_in:
        text = text[:-2] + "…"
    return text


def wrap_head(text: str, width_in: float, fontsize: float = 8.5) -> list[str]:
    """``text`` in bold broken into lines that fit ``width_in`` (at spaces, or after a
    hyphen, never at a no-break space, which is printed as a space); a single word too long
    for a line is cut with "…"."""
    def width(t: str) -> float:
        return text_width(t, fontsize, bold=True)

    words = re.findall(r"[^ ]+?(?:-| +|$)", text)  # a no-break space holds
    lines: list[str] = []
    current = ""
    for word in words:
        if current and width((current + word).rstrip()) > width_in:
            lines.append(current.rstrip())
            current = ""
        current += word
    if current.strip():
        lines.append(current.rstrip())
    return [_cut(line, width_in, fontsize, bold=True).replace("\u00a0", " ")
            for line in lines or [""]]  # no-break spaces only steer the breaks


def regimen_counts(counts: tuple[tuple[str, int], ...]) -> list[str]:
    """The excluded regimens as "name n", the largest first (ties in the flow's order), the
    ones past ``NAMED_REGIMENS`` summed as "N more regimens n"; a missing regimen is named."""
    ranked = sorted(counts, key=lambda c: -c[1])
    named = ranked if len(ranked) <= NAMED_REGIMENS else ranked[:NAMED_REGIMENS - 1]
    items = [f"{'no regimen recorded' if g == '(none)' else g} {n}" for g, n in named]
    rest = ranked[len(named):]
    if rest:
        items.append(f"{len(rest)} more regimens {sum(n for _, n in rest)}")
    return items


def wrap_items(items: list[str], width_in: float, fontsize: float = 8.0) -> list[str]:
    """``items`` joined by ", " into lines that fit ``width_in``, never breaking inside an item
    (an item too long for a line alone is cut with "…")."""
    lines: list[str] = []
    current = ""
    for i, item in enumerate(items):
        piece = item + ("," if i < len(items) - 1 else "")
        trial = f"{current} {piece}" if current else piece
        if current and text_width(trial, fontsize) > width_in:
            lines.append(current)
            trial = piece
        current = trial
    if current:
        lines.append(current)
    return [_cut(line, width_in, fontsize) for line in lines]


def excluded_lines(counts: FlowCounts, width_in: float) -> list[str]:
    """The lines of the excluded box: each reason with its count, the regimen reason followed
    by its counts per regimen in brackets, indented and wrapped to ``width_in``."""
    out = []
    for reason, n in counts.excluded:
        out.append(f"{_sentence(reason)}: {n}")
        if reason == REGIMEN_REASON and counts.excluded_regimens:
            indent = text_width(f"x{DETAIL_INDENT}x", 8.0) - text_width("xx", 8.0)
            items = regimen_counts(counts.excluded_regimens)
            items[0] = "(" + items[0]
            items[-1] += ")"
            out += [DETAIL_INDENT + line for line in wrap_items(items, width_in - indent)]
    return out


def _box(ax: Axes, x0: float, top: float, width: float, head: str | list[str],
         lines: list[str], *, fill: str = "white", centred: bool = True,
         head_lines: int = 0) -> float:
    """A box with a bold head (one line, or the lines given, padded to ``head_lines``);
    returns its height."""
    heads = [head] if isinstance(head, str) else head
    n_head = max(len(heads), head_lines)
    height = 2 * PAD_IN + LINE_IN * (n_head + len(lines))
    ax.add_patch(Rectangle((x0, top - height), width, height, facecolor=fill,
                           edgecolor="black", linewidth=0.8))
    x = x0 + width / 2 if centred else x0 + 0.1
    ha = "center" if centred else "left"
    y = top - PAD_IN - LINE_IN / 2
    for i, h in enumerate(heads):
        ax.text(x, y - i * LINE_IN, literal(h), ha=ha, va="center", fontsize=8.5,
                fontweight="bold")
    y -= (len(heads) - 1) * LINE_IN  # a shorter head leaves its spare lines at the bottom
    for line in lines:
        y -= LINE_IN
        ax.text(x, y, literal(line), ha=ha, va="center", fontsize=8)
    return height


def _arrow(ax: Axes, start: tuple[float, float], end: tuple[float, float]) -> None:
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=9,
                                 linewidth=0.8, color="black", shrinkA=0, shrinkB=0))


def _line(ax: Axes, xs: list[float], ys: list[float]) -> None:
    ax.plot(xs, ys, color="black", linewidth=0.8, solid_capstyle="butt")


def draw_flow(results: StudyResults) -> Figure:
    """The diagram of the study's patient flow (the caller applies the figure style)."""
    c = FlowCounts.of(results)
    n_reg = max(1, len(c.regimens))
    ex_lines = excluded_lines(c, SIDE_W - 0.2)
    included_lines = [f"{_sentence(what)}: {n}" for what, n in c.flagged]
    risk_lines = max((len(v) for v in c.risk.values()), default=0)
    h_screened = 2 * PAD_IN + 2 * LINE_IN
    h_excluded = 2 * PAD_IN + LINE_IN * (1 + len(ex_lines))
    h_included = 2 * PAD_IN + LINE_IN * (2 + len(included_lines))
    per_row = min(n_reg, BOXES_PER_ROW)
    box_w = min(2.1, WIDTH_IN / per_row - 0.2)
    heads = {regimen: wrap_head(f"{regimen} (n\u00a0=\u00a0{n})", box_w - 0.16)
             for regimen, n in c.regimens}
    head_lines = max((len(h) for h in heads.values()), default=1)
    h_regimen = 2 * PAD_IN + LINE_IN * (head_lines + risk_lines)
    n_rows = math.ceil(n_reg / per_row)
    height = (0.1 + h_screened + GAP_IN + h_excluded + GAP_IN + h_included + 0.5
              + n_rows * h_regimen + (n_rows - 1) * ROW_GAP_IN
              + 0.22)  # room under the boxes for the synthetic-cohort stamp
    fig = new_figure(WIDTH_IN, height)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, WIDTH_IN)
    ax.set_ylim(0, height)
    ax.set_axis_off()

    top = height - 0.1
    _box(ax, MAIN_X - MAIN_W / 2, top, MAIN_W, "Patients screened", [f"n = {c.screened}"])
    bottom = top - h_screened
    ex_top = bottom - GAP_IN
    total_ex = sum(n for _, n in c.excluded)
    _box(ax, SIDE_X0, ex_top, SIDE_W, f"Excluded (n = {total_ex})", ex_lines,
         fill=EXCLUDED_FILL, centred=False)
    inc_top = ex_top - h_excluded - GAP_IN
    _arrow(ax, (MAIN_X, bottom), (MAIN_X, inc_top))
    _arrow(ax, (MAIN_X, ex_top - h_excluded / 2), (SIDE_X0, ex_top - h_excluded / 2))
    _box(ax, MAIN_X - MAIN_W / 2, inc_top, MAIN_W, "Included",
         [f"n = {c.included}", *included_lines])

    split_y = inc_top - h_included - 0.22
    reg_top = split_y - 0.28
    col_w = WIDTH_IN / per_row
    centres = [col_w * (i % per_row + 0.5) for i in range(n_reg)]
    _line(ax, [MAIN_X, MAIN_X], [inc_top - h_included, split_y])
    if n_rows > 1:
        _line(ax, [0.08, centres[per_row - 1]], [split_y, split_y])
    elif n_reg > 1:
        _line(ax, [centres[0], centres[per_row - 1]], [split_y, split_y])
    for i, (x, (regimen, _n)) in enumerate(zip(centres, c.regimens, strict=True)):
        row = i // per_row
        top = reg_top - row * (h_regimen + ROW_GAP_IN)
        if row == 0:
            _arrow(ax, (x, split_y), (x, top))
        else:  # a later row hangs from a line running down the left margin
            rail_x = 0.08
            _line(ax, [rail_x, rail_x], [split_y, top + ROW_GAP_IN / 2])
            _line(ax, [rail_x, x], [top + ROW_GAP_IN / 2] * 2)
            _arrow(ax, (x, top + ROW_GAP_IN / 2), (x, top))
        lines = [f"{label}: {k}" + ("" if pc is None else f" ({fmt.pct(pc)}%)")
                 for label, k, pc in c.risk.get(regimen, ())]
        _box(ax, x - box_w / 2, top, box_w, heads[regimen], lines, head_lines=head_lines)
    return fig


def flow_caption(results: StudyResults) -> str:
    """What the diagram shows."""
    return ("Patients screened, excluded (by reason, in the order the criteria are applied) "
            "and included, and the included patients by first-line regimen with their risk "
            f"groups. Data cutoff {results.plan.cutoff.isoformat()}.")
