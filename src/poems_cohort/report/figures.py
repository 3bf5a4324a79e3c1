"""The study's figures (matplotlib, Agg backend), drawn from ``StudyResults`` only.

One colour, line style, marker and hatch per regimen across every figure (Okabe–Ito colours,
distinguishable in greyscale by style). Output is deterministic: fixed SVG hash salt, no dates.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from poems_cohort.report import format as fmt  # noqa: E402
from poems_cohort.study import StudyResults  # noqa: E402

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
             "#000000")
LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1)), (0, (1, 1)))
HATCHES = ("", "//", "..", "xx", "\\\\", "++")
MARKERS = ("o", "s", "^", "D", "v", "P")
FIXED_COLOURS = {"ASCT": 0, "MDex": 1, "LDex": 2}
GROUP_STYLE_OVERRIDES = {"CRV": ("#000000", "-", "", "o"), "No CRV": ("#CC79A7", "--", "//", "s")}

RC = {
    "svg.hashsalt": "poems-cohort",
    "svg.fonttype": "path",
    "font.family": "DejaVu Sans",
    "font.size": 8,
    "axes.titlesize": 9,
    "axes.labelsize": 8,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 7,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "savefig.dpi": 300,
}


@dataclass(frozen=True, slots=True)
class Style:
    """How one group is drawn."""

    colour: str
    linestyle: object
    hatch: str
    marker: str


def styles(regimens: Sequence[str]) -> dict[str, Style]:
    """A style per regimen, stable across figures (ASCT, MDex, LDex keep theirs always)."""
    out: dict[str, Style] = {}
    used = {FIXED_COLOURS[r] for r in regimens if r in FIXED_COLOURS}
    free = (i for i in range(len(OKABE_ITO)) if i not in used)
    for r in regimens:
        i = FIXED_COLOURS[r] if r in FIXED_COLOURS else next(free)
        out[r] = Style(OKABE_ITO[i % len(OKABE_ITO)], LINESTYLES[i % len(LINESTYLES)],
                       HATCHES[i % len(HATCHES)], MARKERS[i % len(MARKERS)])
    for g, (c, ls, h, m) in GROUP_STYLE_OVERRIDES.items():
        out.setdefault(g, Style(c, ls, h, m))
    return out


@dataclass(frozen=True, slots=True)
class RenderedFigure:
    """A figure as PNG and SVG bytes, with its caption."""

    name: str
    caption: str
    png: bytes
    svg: bytes


@contextmanager
def _style() -> Iterator[None]:
    with plt.rc_context(RC):
        yield


def _render(fig: Figure, name: str, caption: str) -> RenderedFigure:
    png, svg = io.BytesIO(), io.BytesIO()
    with _style():  # the SVG hash salt must be set while saving
        fig.savefig(png, format="png", dpi=300, metadata={"Software": None})
        fig.savefig(svg, format="svg", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    return RenderedFigure(name, caption, png.getvalue(), svg.getvalue())


def _p_text(p: object, label: str = "p") -> str:
    shown = fmt.p_value(p)
    return f"{label} {shown}" if shown.startswith("<") else f"{label} = {shown}"


def _test_p(results: StudyResults, source: str, endpoint: str, subgroup: str) -> float:
    t = results.tests()
    sel = t[(t["source"] == source) & (t["endpoint"] == endpoint) & (t["subgroup"] == subgroup)]
    return float(sel["p_value"].iloc[0]) if len(sel) else float("nan")


# ---------------------------------------------------------------------------- step curves
def _draw_steps(ax: Axes, curve: pd.DataFrame, style: Style, label: str, *,
                cumulative: bool, ci: bool) -> None:
    start = 0.0 if cumulative else 1.0
    t = np.r_[0.0, curve["time"].to_numpy(float)]
    y = 100 * np.r_[start, curve["value"].to_numpy(float)]
    ax.step(t, y, where="post", color=style.colour, linestyle=style.linestyle, linewidth=1.4,
            label=label)
    if ci:
        lo = 100 * np.r_[start, curve["lower"].to_numpy(float)]
        hi = 100 * np.r_[start, curve["upper"].to_numpy(float)]
        ax.fill_between(t, lo, hi, step="post", color=style.colour, alpha=0.12, linewidth=0)
    cens = curve[curve["n_censor"] > 0]
    ax.plot(cens["time"], 100 * cens["value"], linestyle="none", marker="|", markersize=5,
            markeredgewidth=1.0, color=style.colour)


def _risk_table(ax: Axes, at_risk: pd.DataFrame, groups: Sequence[str], sty: dict[str, Style],
                ticks: np.ndarray, labelled: set[float]) -> None:
    ax.set_xlim(ticks[0], ticks[-1])
    ax.set_ylim(-0.5, len(groups) - 0.5)
    ax.set_yticks(range(len(groups)))
    ax.set_yticklabels(list(reversed(groups)))
    for lab, g in zip(ax.get_yticklabels(), reversed(groups), strict=True):
        lab.set_color(sty[g].colour)
        lab.set_fontweight("bold")
    for i, g in enumerate(reversed(groups)):
        part = at_risk[at_risk["group"] == g]
        for x in (t for t in ticks if float(t) in labelled):
            v = part.loc[np.isclose(part["time"], x), "n_risk"]
            ax.text(x, i, str(int(v.iloc[0])) if len(v) else "", ha="center", va="center",
                    fontsize=6.5)
    ax.set_xticks(ticks)
    ax.tick_params(axis="x", length=0, labelbottom=False)
    ax.tick_params(axis="y", length=0, pad=9)
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    ax.set_title("Number at risk", loc="left", fontsize=7, pad=2)


def _km_panel(ax: Axes, tab: Axes, curves: pd.DataFrame, at_risk: pd.DataFrame,
              groups: Sequence[str], sty: dict[str, Style], step: float, *, title: str,
              ylabel: str, p_label: str, cumulative: bool = False, ci: bool = False,
              legend_loc: str = "lower left") -> Axes:
    t_max = float(at_risk["time"].max()) if len(at_risk) else step
    ticks = np.arange(0.0, t_max + step / 2, step)
    for g in groups:
        part = curves[curves["group"] == g]
        if len(part):
            _draw_steps(ax, part, sty[g], g, cumulative=cumulative, ci=ci)
    labelled = _labelled(ticks)
    ax.set_xlim(ticks[0], ticks[-1])
    ax.set_xticks(ticks)
    ax.set_xticklabels([f"{t:g}" if t in labelled else "" for t in ticks])
    ax.set_ylim(-2, 104)
    ax.set_yticks(range(0, 101, 20))
    ax.set_ylabel(ylabel)
    ax.set_xlabel("Months since treatment start")
    ax.set_title(title, loc="left", fontweight="bold")
    ax.legend(loc=legend_loc, frameon=False, handlelength=2.8)
    ax.text(0.98, 0.04 if legend_loc != "lower right" else 0.96, p_label,
            transform=ax.transAxes, ha="right", va="bottom" if legend_loc != "lower right"
            else "top", fontsize=7.5)
    ax.grid(axis="y", color="#dddddd", linewidth=0.5)
    _risk_table(tab, at_risk, groups, sty, ticks, labelled)
    return ax


def _labelled(ticks: np.ndarray, most: int = 9) -> set[float]:
    """The ticks that carry a label and a number at risk: every k-th, at most ``most``."""
    every = max(1, int(np.ceil(len(ticks) / most)))
    return {float(t) for t in ticks[::every]}


def _panel_axes(fig: Figure, nrows: int, ncols: int, n_groups: int, *, top: float = 0.95,
                bottom: float = 0.05, row0: int = 0) -> list[tuple[Axes, Axes]]:
    """Pairs (plot, number-at-risk table) laid out in ``nrows`` x ``ncols`` panels."""
    ratios = [3.2, 0.3 + 0.22 * n_groups] * nrows
    gs = fig.add_gridspec(2 * nrows, ncols, height_ratios=ratios, hspace=0.62, wspace=0.32,
                          left=0.09, right=0.98, top=top, bottom=bottom)
    out = []
    for i in range(nrows):
        for j in range(ncols):
            ax = fig.add_subplot(gs[2 * i, j])
            out.append((ax, fig.add_subplot(gs[2 * i + 1, j], sharex=ax)))
    return out


# ---------------------------------------------------------------------------- figures
def figure1(results: StudyResults) -> RenderedFigure:
    """1a response rates per regimen; 1b/1c cumulative time to CRH and to CRV."""
    plan = results.plan
    regs = list(plan.regimens)
    sty = styles(regs)
    t2 = results.table2.rows
    with _style():
        fig = plt.figure(figsize=(7.2, 8.2))
        ax = fig.add_axes((0.09, 0.62, 0.89, 0.33))
        pairs = _panel_axes(fig, 1, 2, len(regs), top=0.52, bottom=0.04)
        endpoints = ["CRH", "CRV", "RN"]
        width = 0.8 / len(regs)
        for j, r in enumerate(regs):
            vals = [float(t2[(t2["endpoint"] == e) & (t2["subgroup"] == "all")
                             & (t2["regimen"] == r)]["value"].iloc[0]) for e in endpoints]
            x = np.arange(len(endpoints)) + (j - (len(regs) - 1) / 2) * width
            bars = ax.bar(x, np.nan_to_num(vals), width * 0.92, color=sty[r].colour,
                          hatch=sty[r].hatch, edgecolor="black", linewidth=0.6, label=r)
            for b, v in zip(bars, vals, strict=True):
                ax.text(b.get_x() + b.get_width() / 2, b.get_height() + 1.5, fmt.pct(v),
                        ha="center", va="bottom", fontsize=6.5)
        for i, e in enumerate(endpoints):
            ax.text(i, 111, _p_text(_test_p(results, "table2", e, "all")), ha="center",
                    fontsize=7.5)
        ax.set_xticks(range(len(endpoints)))
        ax.set_xticklabels(endpoints)
        ax.set_ylim(0, 117)
        ax.set_yticks(range(0, 101, 20))
        ax.set_ylabel("Patients with response (%)")
        ax.set_title("a  Best responses", loc="left", fontweight="bold")
        ax.legend(ncols=len(regs), loc="lower right", frameon=False, bbox_to_anchor=(1.0, 1.0),
                  borderaxespad=0.2)
        k = results.kinetics
        for col, resp in enumerate(["CRH", "CRV"]):
            cur = k.curves[k.curves["endpoint"] == resp]
            risk = k.at_risk[k.at_risk["endpoint"] == resp]
            p = results.table2.tests
            _km_panel(*pairs[col], cur, risk, regs, sty, plan.risk_table_step_months,
                      title=f"{'bc'[col]}  Time to {resp}", ylabel=f"Cumulative {resp} (%)",
                      p_label=_p_text(float(p[(p["endpoint"] == resp)
                                              & (p["subgroup"] == "all")]["p_value"].iloc[0]),
                                      f"{resp} rate p"),
                      cumulative=True, legend_loc="upper left")
    caption = ("Figure 1. (a) CRH, CRV and RN rates by regimen, with the p-value across "
               "regimens; (b, c) cumulative rate of CRH and CRV over time among evaluable "
               "patients (1 − Kaplan–Meier; ticks mark censored patients).")
    return _render(fig, "figure1", caption)


def _survival_figure(results: StudyResults, panels: list[tuple[str, str, str]], by: str,
                     groups: Sequence[str], name: str, caption: str, ncols: int,
                     p_source: tuple[str, str] | None = None) -> RenderedFigure:
    plan = results.plan
    sty = styles(groups)
    s = results.survival
    nrows = int(np.ceil(len(panels) / ncols))
    with _style():
        fig = plt.figure(figsize=(3.6 * ncols, 3.7 * nrows))
        pairs = _panel_axes(fig, nrows, ncols, len(groups), top=1 - 0.2 / nrows,
                            bottom=0.18 / nrows)
        for i, (endpoint, subgroup, title) in enumerate(panels):
            cur = s.curves[(s.curves["endpoint"] == endpoint) & (s.curves["by"] == by)
                           & (s.curves["subgroup"] == subgroup)]
            risk = s.at_risk[(s.at_risk["endpoint"] == endpoint) & (s.at_risk["by"] == by)
                             & (s.at_risk["subgroup"] == subgroup)]
            test_endpoint = endpoint if by == "regimen" else f"{endpoint} by CRV"
            p = _test_p(results, "survival", test_endpoint, subgroup)
            _km_panel(*pairs[i], cur, risk, list(groups), sty,
                      plan.risk_table_step_months, title=title, ylabel=f"{endpoint} (%)",
                      p_label=_p_text(p, "Log-rank p"), ci=False)
    return _render(fig, name, caption)


def figure2(results: StudyResults) -> RenderedFigure:
    """Kaplan–Meier PFS and OS by regimen: all patients and the figure subgroups."""
    plan = results.plan
    panels: list[tuple[str, str, str]] = []
    letters = iter("abcdefghijklmnop")
    for endpoint in ("PFS", "OS"):
        for sg in plan.figure_subgroups:
            panels.append((endpoint, sg, f"{next(letters)}  {endpoint}, "
                                         f"{plan.subgroup(sg).label().lower()}"))
    caption = ("Figure 2. Kaplan–Meier estimates of progression-free (top) and overall survival "
               "(bottom) by regimen, for " + ", ".join(plan.subgroup(s).label().lower()
                                                      for s in plan.figure_subgroups)
               + "; ticks mark censored patients; log-rank p across regimens.")
    return _survival_figure(results, panels, "regimen", plan.regimens, "figure2", caption,
                            ncols=len(plan.figure_subgroups))


def supplementary_figure(results: StudyResults) -> RenderedFigure:
    """PFS and OS by CRV status in the supplementary subgroup."""
    sg = results.plan.supplementary_subgroup
    label = results.plan.subgroup(sg).label().lower()
    panels = [("PFS", sg, f"a  PFS by CRV, {label}"), ("OS", sg, f"b  OS by CRV, {label}")]
    caption = (f"Supplementary Figure 1. PFS and OS by CRV status among CRV-evaluable {label} "
               "patients (Kaplan–Meier, log-rank p).")
    return _survival_figure(results, panels, "CRV", ("CRV", "No CRV"), "supplementary_figure1",
                            caption, ncols=2)


def all_figures(results: StudyResults) -> list[RenderedFigure]:
    """Every figure, in report order."""
    return [figure1(results), figure2(results), supplementary_figure(results)]
