"""Figures of the comparative analyses, drawn on ``matplotlib.figure.Figure`` (no pyplot):

- cumulative incidence of CRH and CRV by regimen (competing risks; Figure 1b/c as a reviewer
  reads them), with numbers at risk;
- IPTW-weighted Kaplan–Meier curves of PFS and OS;
- the landmark analysis (PFS and OS from each landmark by CRV status), the primary display of
  response → survival;
- the love plot of the standardised mean differences;
- the forest plot of the hazard ratios across subgroups.

Every text is literal (``parse_math=False``); groups differ by Okabe–Ito colour *and* line style
or marker, so they stay apart in greyscale. Curves stop where fewer than 5% of the panel's
patients remain at risk (or at the last event, whichever is later), the rule of Figure 2.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from poems_cohort.report import format as fmt
from poems_cohort.report.figures import SYNTHETIC_STAMP, RenderedFigure
from poems_cohort.report.km_plot import at_risk_end
from poems_cohort.report.styles import styles as group_styles
from poems_cohort.study import StudyResults

MIN_AT_RISK_FRACTION = 0.05
WIDTH_IN = 7.2
FONT = 8.0


def _text(ax_or_fig: object, *args: object, **kw: object) -> object:
    kw.setdefault("fontsize", FONT)
    return ax_or_fig.text(*args, parse_math=False, **kw)  # type: ignore[attr-defined]


def _literal_labels(ax: object) -> None:
    """Every label of ``ax`` literal: the axis labels, the title and each tick label (the ticks
    are made here, for the locators' current choice, so drawing makes no new ones)."""
    for axis in (ax.xaxis, ax.yaxis):  # type: ignore[attr-defined]
        for tick in [*axis.get_major_ticks(), *axis.get_minor_ticks()]:
            tick.label1.set_parse_math(False)
            tick.label2.set_parse_math(False)
        axis.label.set_parse_math(False)
    ax.title.set_parse_math(False)  # type: ignore[attr-defined]


def _all_literal(fig: Figure) -> None:
    from matplotlib.text import Text

    for t in fig.findobj(Text):
        t.set_parse_math(False)


def shown_until(curves: pd.DataFrame, n_col: str = "n_risk", *, keep_last_event: bool = True
                ) -> float:
    """The later of the last time at which at least 5% of the panel's patients are at risk and
    (``keep_last_event``) the last step of a curve (an event); ``curves`` has ``group, time,
    <n_col>, value``."""
    if curves.empty:
        return 1.0
    _, end = at_risk_end(curves, MIN_AT_RISK_FRACTION, n_col)
    last_event = 0.0
    for _, part in curves.groupby("group", sort=True):
        part = part.sort_values("time", kind="stable")
        t = part["time"].to_numpy(float)
        v = part["value"].to_numpy(float)
        jumps = t[1:][np.diff(v) != 0]
        if len(jumps):
            last_event = max(last_event, float(jumps.max()))
    return max(end, last_event if keep_last_event else 0.0, 1e-9)


def _ticks(until: float, step: float) -> list[float]:
    k = 1
    while math.ceil(until / (step * k) - 1e-9) > 8:
        k += 1
    major = step * k
    n = max(1, math.ceil(until / major - 1e-9))
    return [i * major for i in range(n + 1)]


def _at_risk(curve: pd.DataFrame, t: float, n_col: str) -> int:
    times = curve["time"].to_numpy(float)
    idx = int(np.searchsorted(times, t, side="left"))
    if idx >= len(times):
        return 0
    return int(round(float(curve[n_col].iloc[idx])))


@dataclass(frozen=True, slots=True)
class Panel:
    title: str
    curves: pd.DataFrame          # group, time, value, lower, upper, n_risk (and n_col)
    note: str = ""                # p-value text written in the panel


def _step(curve: pd.DataFrame, end: float) -> tuple[np.ndarray, np.ndarray]:
    c = curve[curve["time"] <= end]
    t = c["time"].to_numpy(float)
    y = 100 * c["value"].to_numpy(float)
    last_t = float(curve["time"].max())
    x = np.r_[np.repeat(t, 2)[1:], min(end, last_t)]
    yy = np.repeat(y, 2)
    return x, yy


def draw_curve_panels(panels: Sequence[Panel], groups: Sequence[str], *, ylabel: str,
                      xlabel: str, step: float, cumulative: bool, n_col: str = "n_risk",
                      ncols: int = 2, legend_title: str = "", keep_last_event: bool = True
                      ) -> Figure:
    """Step curves in a grid, each panel with its number-at-risk table under its own axis; every
    panel shows the longest range of the figure's panels."""
    sty = group_styles(groups)
    nrows = math.ceil(len(panels) / ncols)
    plot_in, axis_in, title_in = 1.75, 0.4, 0.3
    table_in = 0.3 + 0.15 * len(groups)
    gap_in, legend_in = 0.22, 0.35
    row_in = title_in + plot_in + axis_in + table_in + gap_in
    height = legend_in + nrows * row_in
    fig = Figure(figsize=(WIDTH_IN, height))
    FigureCanvasAgg(fig)
    left_in, right_in, between_in = 0.9, 0.2, 1.05
    end = max(shown_until(p.curves, n_col, keep_last_event=keep_last_event) for p in panels)
    ticks = _ticks(end, step)
    xmax = ticks[-1]
    width_in = (WIDTH_IN - left_in - right_in - (ncols - 1) * between_in) / ncols
    for k, panel in enumerate(panels):
        r, c = divmod(k, ncols)
        x0 = left_in + c * (width_in + between_in)
        top = height - legend_in - r * row_in - title_in
        ax = fig.add_axes((x0 / WIDTH_IN, (top - plot_in) / height, width_in / WIDTH_IN,
                           plot_in / height))
        tab = fig.add_axes((x0 / WIDTH_IN, (top - plot_in - axis_in - table_in) / height,
                            width_in / WIDTH_IN, table_in / height))
        for g in groups:
            cv = panel.curves[panel.curves["group"] == g].sort_values("time", kind="stable")
            if cv.empty:
                continue
            x, y = _step(cv, end)
            s = sty[g]
            ax.plot(x, y, color=s.colour, linestyle=s.linestyle, linewidth=1.4, label=g)
        ax.set_xlim(0, xmax)
        ax.set_ylim(0, 100 if cumulative else 102)
        ax.set_yticks([0, 20, 40, 60, 80, 100])
        ax.set_xticks(ticks)
        ax.set_xticklabels([f"{t:g}" for t in ticks], fontsize=7)
        ax.tick_params(axis="y", labelsize=7)
        ax.set_xlabel(xlabel, fontsize=FONT, labelpad=2)
        ax.set_ylabel(ylabel, fontsize=FONT)
        ax.spines["top"].set_visible(False)
        ax.spines["right"].set_visible(False)
        _literal_labels(ax)
        _text(ax, 0.0, 1.04, panel.title, transform=ax.transAxes, ha="left", va="bottom",
              fontsize=8.5, fontweight="bold")
        if panel.note:
            _text(ax, 0.98, 0.04 if not cumulative else 0.96, panel.note,
                  transform=ax.transAxes, ha="right", va="bottom" if not cumulative else "top",
                  fontsize=7.5, bbox={"facecolor": "white", "edgecolor": "none", "pad": 1})
        # numbers at risk, under the ticks of this panel's own axis
        tab.set_xlim(0, xmax)
        tab.set_ylim(len(groups) - 0.5, -1.6)
        tab.set_axis_off()
        trans = tab.get_yaxis_transform()
        _text(tab, -0.85 / width_in, -1.0, "Number at risk", transform=trans, ha="left",
              va="bottom", fontsize=7, fontstyle="italic")
        for i, g in enumerate(groups):
            s = sty[g]
            _text(tab, -0.55 / width_in, i, g, transform=trans, ha="left", va="center",
                  fontsize=7)
            tab.add_line(Line2D([-0.85 / width_in, -0.6 / width_in], [i, i], transform=trans,
                                color=s.colour, linestyle=s.linestyle, linewidth=1.3,
                                clip_on=False))
            cv = panel.curves[panel.curves["group"] == g].sort_values("time", kind="stable")
            for t in ticks:
                _text(tab, t, i, str(_at_risk(cv, t, n_col)) if not cv.empty else "0",
                      ha="center", va="center", fontsize=7)
    handles = [Line2D([], [], color=sty[g].colour, linestyle=sty[g].linestyle, linewidth=1.4)
               for g in groups]
    leg = fig.legend(handles, list(groups), loc="upper center", ncol=len(groups),
                     frameon=False, fontsize=FONT, bbox_to_anchor=(0.5, 1.0),
                     title=legend_title or None)
    for label in leg.get_texts():
        label.set_parse_math(False)
    _all_literal(fig)
    return fig


def render(fig: Figure, name: str, title: str, caption: str, *,
           synthetic: bool = False) -> RenderedFigure:
    """PNG (300 dpi) and SVG bytes, deterministic (no dates, fixed SVG hash salt)."""
    import matplotlib

    if synthetic:
        _text(fig, 0.995, 0.003, SYNTHETIC_STAMP, ha="right", va="bottom", fontsize=7,
              color="#555555", style="italic")
        caption = f"{caption} {SYNTHETIC_STAMP}."
    _all_literal(fig)
    png, svg = io.BytesIO(), io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": "poems-cohort", "svg.fonttype": "path",
                                "font.family": "DejaVu Sans"}):
        fig.savefig(png, format="png", dpi=300, metadata={"Software": None})
        fig.savefig(svg, format="svg", metadata={"Date": None, "Creator": None})
    return RenderedFigure(name, title, caption, png.getvalue(), svg.getvalue())


# ------------------------------------------------------------------------------ the figures
def incidence_figure(results: StudyResults, *, synthetic: bool = False
                     ) -> RenderedFigure | None:
    """Figure 1b/c as cumulative incidence (Aalen–Johansen, progression or death competing)."""
    comp = results.comparative
    if comp is None or comp.competing.curves.empty:
        return None
    c = comp.competing
    regimens = [r for r in results.plan.regimens if (c.curves["group"] == r).any()]
    panels = []
    for letter, resp in (("b", "CRH"), ("c", "CRV")):
        cv = c.curves[c.curves["response"] == resp]
        if cv.empty:
            continue
        g = c.gray[c.gray["response"] == resp]
        note = f"Gray's test {fmt.p_text(g['p_value'].iloc[0])}" if len(g) else ""
        panels.append(Panel(f"({letter}) Time to {resp}", cv, note))
    fig = draw_curve_panels(panels, regimens, ylabel="Cumulative incidence, %",
                            xlabel="Months since treatment start",
                            step=results.plan.risk_table_step_months, cumulative=True,
                            keep_last_event=False)
    caption = ("Cumulative incidence of (b) hematologic (CRH) and (c) VEGF (CRV) complete "
               "remission by regimen among evaluable patients (Aalen–Johansen; progression or "
               "death before response is a competing event; p: Gray's test). Curves stop where "
               "fewer than 5% of the panel's patients remain at risk (a late response past "
               "that point is not drawn). "
               "The paper's 1 − Kaplan–Meier curves (Figure 1), which treat death as "
               "censoring and so overstate the incidence, stay in the reproduction.")
    return render(fig, "figure1_cumulative_incidence",
                  "Figure 1b–c (competing risks). Cumulative incidence of response", caption,
                  synthetic=synthetic)


def weighted_km_figure(results: StudyResults, *, synthetic: bool = False
                       ) -> RenderedFigure | None:
    """IPTW-weighted Kaplan–Meier curves of PFS and OS, all patients."""
    comp = results.comparative
    if comp is None or comp.survival.weighted_curves.empty:
        return None
    wc = comp.survival.weighted_curves
    wc = wc[wc["subgroup"] == "all"]
    wt = comp.survival.weighted_tests
    regimens = [r for r in results.plan.regimens if (wc["group"] == r).any()]
    panels = []
    for letter, ep in (("a", "PFS"), ("b", "OS")):
        t = wt[(wt["endpoint"] == ep) & (wt["subgroup"] == "all")]
        note = f"weighted log-rank {fmt.p_text(t['p_value'].iloc[0])}" if len(t) else ""
        name = "Progression-free survival" if ep == "PFS" else "Overall survival"
        panels.append(Panel(f"({letter}) {name}, IPTW-weighted", wc[wc["endpoint"] == ep],
                            note))
    fig = draw_curve_panels(panels, regimens, ylabel="Survival, %",
                            xlabel="Months since treatment start",
                            step=results.plan.risk_table_step_months, cumulative=False,
                            n_col="n_patients")
    caption = ("Kaplan–Meier curves weighted by the inverse probability of the regimen "
               "received (IPTW, ATE weights from the multinomial propensity model), all "
               "patients. p: robust score test of the weighted Cox model (the weighted "
               "log-rank). Numbers at risk are patients (unweighted). Curves stop where fewer "
               "than 5% of the patients remain at risk, or at the last event.")
    return render(fig, "figure_iptw_km", "Figure (comparative). IPTW-weighted survival",
                  caption, synthetic=synthetic)


def landmark_figure(results: StudyResults, *, synthetic: bool = False
                    ) -> RenderedFigure | None:
    """PFS and OS from each landmark by CRV status reached by the landmark."""
    comp = results.comparative
    if comp is None or comp.landmark.curves.empty:
        return None
    lc, lt = comp.landmark.curves, comp.landmark.table
    sg = results.plan.supplementary_subgroup
    panels = []
    letters = iter("abcdefgh")
    for lm in results.plan.comparative.landmarks_months:
        for ep in ("PFS", "OS"):
            cv = lc[(lc["endpoint"] == ep) & (lc["landmark_months"] == lm)
                    & (lc["subgroup"] == sg)]
            row = lt[(lt["endpoint"] == ep) & (lt["landmark_months"] == lm)
                     & (lt["subgroup"] == sg) & (lt["group"] == "CRV")]
            note = ""
            if len(row):
                r = row.iloc[0]
                note = (f"HR {fmt.num(r['hr'], 2)} ({fmt.num(r['ci_low'], 2)}–"
                        f"{fmt.num(r['ci_high'], 2)}), log-rank {fmt.p_text(r['logrank_p'])}")
            panels.append(Panel(f"({next(letters)}) {ep} from the {lm:g}-month landmark", cv,
                                note))
    fig = draw_curve_panels(panels, ["CRV", "No CRV"], ylabel="Survival, %",
                            xlabel="Months since the landmark",
                            step=results.plan.risk_table_step_months, cumulative=False)
    label = results.plan.subgroup(sg).label().lower()
    caption = (f"Landmark analysis among CRV-evaluable {label} patients alive and "
               "progression-free at the landmark: CRV reached by the landmark vs not; "
               "Kaplan–Meier from the landmark, hazard ratio (Cox) of CRV vs no CRV and "
               "log-rank p. This replaces the comparison from treatment start (Supplementary "
               "Figure 1, the paper's), which favours responders by guarantee-time bias.")
    return render(fig, "figure_landmark", "Figure (comparative). Response and survival: "
                  "landmark analysis", caption, synthetic=synthetic)


def love_plot(results: StudyResults, *, synthetic: bool = False) -> RenderedFigure | None:
    """Standardised mean differences before and after weighting, each regimen vs the reference."""
    comp = results.comparative
    if comp is None or comp.balance.empty:
        return None
    bal = comp.balance
    covs = list(dict.fromkeys(bal["covariate"]))
    regimens = list(dict.fromkeys(bal["regimen"]))
    legend_in = 0.2 + 0.17 * len(regimens)
    height = 0.75 + legend_in + 0.16 * len(covs)
    fig = Figure(figsize=(WIDTH_IN, height))
    FigureCanvasAgg(fig)
    ax = fig.add_axes((2.4 / WIDTH_IN, 0.55 / height, (WIDTH_IN - 2.7) / WIDTH_IN,
                       (height - 0.6 - legend_in) / height))
    sty = group_styles(regimens)
    y = np.arange(len(covs))
    for k, r in enumerate(regimens):
        part = bal[bal["regimen"] == r].set_index("covariate").reindex(covs)
        off = (k - (len(regimens) - 1) / 2) * 0.22
        ax.plot(part["smd_unweighted"], y + off, linestyle="none", marker=sty[r].marker,
                markerfacecolor="none", markeredgecolor=sty[r].colour, markersize=4.5,
                label=f"{r} vs {results.plan.reference}, unweighted")
        ax.plot(part["smd_weighted"], y + off, linestyle="none", marker=sty[r].marker,
                color=sty[r].colour, markersize=4.5,
                label=f"{r} vs {results.plan.reference}, IPTW")
    for x in (-0.1, 0.1):
        ax.axvline(x, color="#555555", linestyle=":", linewidth=0.8)
    ax.axvline(0, color="#000000", linewidth=0.6)
    ax.set_yticks(y)
    from poems_cohort.report.comparative import design_label

    ax.set_yticklabels([design_label(c) for c in covs], fontsize=7)
    ax.set_ylim(len(covs) - 0.5, -0.5)
    ax.tick_params(axis="x", labelsize=7)
    ax.set_xlabel("Standardised mean difference", fontsize=FONT)
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    _literal_labels(ax)
    leg = fig.legend(*ax.get_legend_handles_labels(), loc="upper center",
                     bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False, fontsize=7)
    for t in leg.get_texts():
        t.set_parse_math(False)
    caption = ("Covariate balance: standardised mean differences of the propensity model's "
               "design columns, each regimen vs the reference, before (open markers) and after "
               "(filled) IPTW weighting; denominator from the unweighted groups (cobalt's "
               "convention), binary columns as proportions. Dotted lines: ±0.1.")
    return render(fig, "figure_love_plot", "Figure (comparative). Covariate balance",
                  caption, synthetic=synthetic)


FOREST_MODELS = (("unadjusted", "Unadjusted"), ("multivariable", "Multivariable"),
                 ("iptw", "IPTW"))


def forest_plot(results: StudyResults, *, synthetic: bool = False) -> RenderedFigure | None:
    """Hazard ratios (unadjusted, multivariable, IPTW) of PFS and OS across subgroups."""
    comp = results.comparative
    if comp is None:
        return None
    hr = comp.survival.hazard_ratios
    if not np.isfinite(hr["hr"].to_numpy(float)).any():
        return None  # no model could be estimated: nothing to draw
    plan = results.plan
    others = [r for r in plan.regimens if r != plan.reference]
    rows = [(sg.name, r) for sg in plan.subgroups for r in others]
    height = 1.15 + 0.2 * len(rows) * len(FOREST_MODELS) / 2.2
    fig = Figure(figsize=(WIDTH_IN, height))
    FigureCanvasAgg(fig)
    inter = comp.survival.interaction
    marks = {"unadjusted": "o", "multivariable": "s", "iptw": "D"}
    colours = {"unadjusted": "#000000", "multivariable": "#0072B2", "iptw": "#D55E00"}
    est = {(r["endpoint"], r["subgroup"], r["term"], r["model"]):
           (float(r["hr"]), float(r["ci_low"]), float(r["ci_high"]))
           for r in hr[["endpoint", "subgroup", "term", "model", "hr", "ci_low", "ci_high"]]
           .to_dict("records")}
    for k, ep in enumerate(("PFS", "OS")):
        left = (1.75 + k * 2.75) / WIDTH_IN
        ax = fig.add_axes((left, 0.6 / height, 2.3 / WIDTH_IN, (height - 1.1) / height))
        for i, (sg, r) in enumerate(rows):
            for j, (model, _label) in enumerate(FOREST_MODELS):
                value, lo, hi = est.get((ep, sg, r, model), (math.nan,) * 3)
                if not np.isfinite(value):
                    continue
                yy = i + (j - 1) * 0.25
                ax.plot([lo, hi], [yy, yy], color=colours[model], linewidth=0.9)
                ax.plot([value], [yy], marker=marks[model],
                        color=colours[model], markersize=3.5, linestyle="none")
        ax.axvline(1.0, color="#555555", linewidth=0.7, linestyle="--")
        ax.set_xscale("log")
        ax.set_xlim(0.05, 20)
        ax.set_xticks([0.1, 0.25, 0.5, 1, 2, 4, 10])
        ax.set_xticklabels(["0.1", "0.25", "0.5", "1", "2", "4", "10"], fontsize=7)
        ax.minorticks_off()
        ax.set_ylim(len(rows) - 0.5, -0.5)
        ax.set_yticks(range(len(rows)))
        if k == 0:
            ax.set_yticklabels([f"{plan.subgroup(sg).label()}: {r} vs {plan.reference}"
                                for sg, r in rows], fontsize=7)
        else:
            ax.set_yticklabels([])
        ax.set_xlabel(f"Hazard ratio ({ep}, log scale)", fontsize=FONT)
        ax.spines["top"].set_visible(False)
        ax.spines["right"].set_visible(False)
        _literal_labels(ax)
        it = inter[inter["endpoint"] == ep]
        p = fmt.p_text(it["p_value"].iloc[0]) if len(it) else "p —"
        _text(ax, 0.0, 1.02, f"{ep} (interaction {p})",
              transform=ax.transAxes, ha="left", va="bottom", fontsize=7.5)
    handles = [Line2D([], [], color=colours[m], marker=marks[m], linewidth=0.9, markersize=3.5)
               for m, _ in FOREST_MODELS]
    leg = fig.legend(handles, [lab for _, lab in FOREST_MODELS], loc="upper center", ncol=3,
                     frameon=False, fontsize=FONT, bbox_to_anchor=(0.5, 1.0))
    for t in leg.get_texts():
        t.set_parse_math(False)
    caption = ("Hazard ratios with 95% confidence intervals of each regimen vs the reference, "
               "by risk subgroup: unadjusted Cox, multivariable Cox (the plan's covariates) and "
               "IPTW-weighted Cox with robust standard errors. Interaction p: likelihood-ratio "
               "test of regimen × risk group (low, medium, high) in an unadjusted Cox model. "
               "Intervals past the axis are clipped; a missing marker is a model that could "
               "not be estimated in that subgroup.")
    return render(fig, "figure_forest", "Figure (comparative). Hazard ratios across subgroups",
                  caption, synthetic=synthetic)


def comparative_figures(results: StudyResults, *, synthetic: bool = False
                        ) -> list[RenderedFigure]:
    """Every comparative figure that the results allow, in report order."""
    out = [incidence_figure(results, synthetic=synthetic),
           landmark_figure(results, synthetic=synthetic),
           forest_plot(results, synthetic=synthetic),
           weighted_km_figure(results, synthetic=synthetic),
           love_plot(results, synthetic=synthetic)]
    return [f for f in out if f is not None]


#: caption sentences added to the paper's figures when the comparative displays are present
PAPER_LABELS = {
    "figure1": ("The paper's display: panels b and c are 1 − Kaplan–Meier, which treats death "
                "and progression as censoring and overstates the incidence of response; see "
                "Figure 1b–c (competing risks)."),
    "supplementary_figure1": (
        "The paper's comparison, from treatment start: it is biased in favour of responders "
        "(guarantee-time, or immortal-time, bias: a patient must live long enough to "
        "respond); see the landmark analysis for the unbiased comparison."),
}


def label_paper_figures(figures: Sequence[RenderedFigure],
                        comparative: Sequence[RenderedFigure]) -> list[RenderedFigure]:
    """The paper's figures with a caption sentence naming them as the paper's and pointing to
    the comparative display that replaces them (when it was drawn), then the comparative
    figures."""
    from dataclasses import replace

    drawn = {f.name for f in comparative}
    needs = {"figure1": "figure1_cumulative_incidence",
             "supplementary_figure1": "figure_landmark"}
    out = []
    for f in figures:
        if f.name in PAPER_LABELS and needs[f.name] in drawn:
            f = replace(f, caption=f"{f.caption} {PAPER_LABELS[f.name]}")
        out.append(f)
    return [*out, *comparative]
