"""``report.html``: one self-contained file (inline CSS, figures as PNG data URIs).

It references nothing outside itself: no link, script, font or stylesheet is loaded.

Laid out for the ways a reader holds it (CSS only, no script):

- printed (A4 or Letter, the browser's print): a table's header repeats on every page, a
  section of rows (an endpoint of Table 2) is one ``<tbody class="block">`` that is not split,
  so its label is always above its rows; a figure keeps its title and caption on its page; no
  forced page breaks, so no page is left near blank;
- on a phone: wide tables scroll sideways inside their wrapper with the first column held in
  place; tapping a figure opens it at full size (a ``:target`` view of the same image, so the
  image data is not repeated), and a link closes it.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence

from poems_cohort.report.appendix import Appendix, Folded
from poems_cohort.report.comparative import comparative_methods
from poems_cohort.report.figures import RenderedFigure
from poems_cohort.report.tables import DisplayTable, header_spans
from poems_cohort.study import StudyResults

CSS = """
:root{--rule:#000;--muted:#444}
*{box-sizing:border-box}
body{font-family:Georgia,'Times New Roman',serif;max-width:1100px;margin:1.5em auto;
padding:0 1.2em;color:#111;line-height:1.45;font-size:16px}
header{border-bottom:2px solid var(--rule);margin-bottom:1em}
h1{font-size:1.55em;margin:0.2em 0 0.1em}
.subtitle{color:var(--muted);margin:0 0 0.6em}
.synthetic{border:2px solid #b35806;background:#fff4e5;padding:0.5em 0.8em;margin:0 0 0.8em}
h2{font-size:1.2em;margin:2em 0 0.5em;padding-bottom:0.15em;border-bottom:1px solid #999}
h3{font-size:1.05em;margin:1.4em 0 0.3em}
details{margin:1.2em 0}
summary{cursor:pointer;font-weight:bold}
p{max-width:52em}
nav ol{columns:2;column-gap:2em;margin:0.3em 0;padding-left:1.4em}
nav a{color:#0b4f8a}
table{border-collapse:collapse;margin:0.6em 0;font-size:13px;line-height:1.3;
font-family:Arial,Helvetica,sans-serif;font-variant-numeric:tabular-nums}
thead th{font-weight:bold;text-align:left;vertical-align:bottom;padding:3px 7px}
thead tr:first-child th{border-top:2px solid var(--rule)}
thead tr:last-child th{border-bottom:1px solid var(--rule)}
thead th.group{text-align:center;border-bottom:1px solid #777}
tbody td{padding:2px 7px;vertical-align:top}
tbody td.num{white-space:nowrap}
tbody td.text:last-child{width:45%}
tbody:last-child tr:last-child td{border-bottom:2px solid var(--rule)}
tbody th.section{text-align:left;font-style:italic;font-weight:bold;padding:6px 7px 2px}
tbody tr.in-section td:first-child{padding-left:1.4em}
sup{font-size:0.75em;line-height:0}
.note{font-size:13px;color:#333;max-width:none;margin:0.3em 0}
p,figcaption,h1,h2,h3,summary{overflow-wrap:anywhere}
.scroll{overflow-x:auto;max-width:100%}
.scroll thead tr:first-child th:first-child,.scroll tbody td:first-child{position:sticky;
left:0;z-index:1;background:#fff}
.scroll th.section span{position:sticky;left:7px}
figure{margin:0.8em 0 1.5em}
figure img{display:block;width:100%;max-width:900px;height:auto;border:0}
figcaption{font-size:14px;max-width:900px;margin-top:0.4em}
.zoom .open{display:block;cursor:zoom-in}
.zoom .close{display:none}
.zoom:target{position:fixed;inset:0;z-index:10;margin:0;overflow:auto;background:#fff}
.zoom:target .open{cursor:default}
.zoom:target img{width:auto;max-width:none;max-height:none}
.zoom:target .close{display:block;position:sticky;top:0;left:0;z-index:11;width:max-content;
padding:0.5em 0.9em;background:#111;color:#fff;font:bold 16px Arial,sans-serif;
text-decoration:none}
@media screen and (max-width:600px){
 body{margin:0.6em auto;padding:0 0.7em;font-size:15px}
 h1{font-size:1.3em}
 nav ol{columns:1}
 table{font-size:12px}
 figcaption{font-size:13px}
}
@media print{
 @page{size:auto;margin:14mm 12mm}
 body{max-width:none;margin:0;padding:0;font-size:10pt}
 nav{display:none}
 h2,h3{break-after:avoid;page-break-after:avoid;margin-top:1.2em}
 table{font-size:7.5pt}
 thead{display:table-header-group}
 tr,figure,.note,tbody.block{break-inside:avoid;page-break-inside:avoid}
 figure img{width:auto;max-width:100%;max-height:185mm;margin:0 auto}
 .zoom .close{display:none}
 .scroll{overflow:visible}
 .scroll thead tr:first-child th:first-child,.scroll tbody td:first-child,
 .scroll th.section span{position:static}
 .appendix td{overflow-wrap:anywhere}
 a{color:inherit;text-decoration:none}
}
"""

MARK_CHARS = "*†‡§¶"


def _cell(value: object, numeric: bool, prose: bool = False) -> str:
    text = html.escape(str(value))
    if numeric and not prose and text and text[-1] in MARK_CHARS:  # a test's footnote symbol
        text = f"{text[:-1]}<sup>{text[-1]}</sup>"
    if prose:
        return f'<td class="text">{text}</td>'
    return f'<td class="num">{text}</td>' if numeric else f"<td>{text}</td>"


def _header_html(t: DisplayTable) -> str:
    """One header row, or two when columns are named ``"Group: sub"`` (a spanning group)."""
    columns = t.columns()
    if not t.grouped():
        return "<tr>" + "".join(f'<th scope="col">{html.escape(c.label)}</th>'
                                for c in columns) + "</tr>"
    top, bottom = [], []
    for group, first, n in header_spans(columns):
        if group is None:
            top.append(f'<th scope="col" rowspan="2">{html.escape(columns[first].label)}</th>')
            continue
        top.append(f'<th scope="colgroup" colspan="{n}" class="group">{html.escape(group)}</th>')
        bottom += [f'<th scope="col">{html.escape(c.label)}</th>'
                   for c in columns[first:first + n]]
    return f"<tr>{''.join(top)}</tr><tr>{''.join(bottom)}</tr>"


def _table_html(t: DisplayTable) -> str:
    return (f'<section id="{t.name}" class="table"><h2>{html.escape(t.title)}</h2>'
            f"{_table_body_html(t)}</section>")


def _table_body_html(t: DisplayTable) -> str:
    """The table and its notes, without a heading."""
    frame = t.frame
    columns = [c.name for c in t.columns()]
    head = _header_html(t)
    blocks: list[list[str]] = [[]]
    current: object = None
    for rec in frame.to_dict("records"):
        in_section = ""
        if t.section is not None:
            value = rec[t.section]
            if value != current:
                if blocks[-1]:
                    blocks.append([])
                if str(value):
                    label = html.escape(str(value))  # the span stays in view on scroll
                    blocks[-1].append(f'<tr><th colspan="{len(columns)}" scope="rowgroup" '
                                      f'class="section"><span>{label}</span></th></tr>')
            current = value
            in_section = ' class="in-section"' if str(value) else ""
        cells = "".join(_cell(rec[c], numeric=k > 0, prose=c in t.text_columns)
                        for k, c in enumerate(columns))
        blocks[-1].append(f"<tr{in_section}>{cells}</tr>")
    # a section (its label row and its rows) is one tbody, kept on one printed page
    kind = ' class="block"' if t.section is not None else ""
    body = "".join(f"<tbody{kind}>{''.join(rows)}</tbody>" for rows in blocks)
    notes = "".join(f'<p class="note">{html.escape(n)}</p>' for n in t.notes())
    return (f'<div class="scroll"><table><thead>{head}</thead>{body}'
            f"</table></div>{notes}")


def _figure_html(f: RenderedFigure, table: DisplayTable | None = None) -> str:
    """A figure in a section of its own; ``table`` (of the same name) follows it there, as the
    patient-flow table follows the flow diagram."""
    data = base64.b64encode(f.png).decode("ascii")
    after = _table_body_html(table) if table is not None else ""
    full = f"{f.name}-full"
    return (f'<section id="{f.name}" class="figure"><h2>{html.escape(f.title)}</h2><figure>'
            f'<div class="zoom" id="{full}"><a class="close" href="#{f.name}">Close ✕</a>'
            f'<a class="open" href="#{full}" title="Open at full size">'
            f'<img alt="{html.escape(f.title)}" src="data:image/png;base64,{data}"></a></div>'
            f"<figcaption>{html.escape(f.caption)}</figcaption></figure>{after}</section>")


def _appendix_html(a: Appendix) -> str:
    """A section added after the study's: paragraphs, tables under their titles, folded
    tables."""
    parts = []
    for block in a.blocks:
        if isinstance(block, str):
            parts.append(f"<p>{html.escape(block)}</p>")
        elif isinstance(block, Folded):
            parts.append(f"<details><summary>{html.escape(block.summary)}</summary>"
                         f"{_table_body_html(block.table)}</details>")
        else:
            parts.append(f"<h3>{html.escape(block.title)}</h3>{_table_body_html(block)}")
    return (f'<section id="{html.escape(a.id)}" class="appendix"><h2>{html.escape(a.title)}'
            f"</h2>{''.join(parts)}</section>")


def methods_paragraph(results: StudyResults) -> str:
    """Methods: the tests, the definitions and the software versions."""
    plan = results.plan
    v = results.versions
    policy = ("Pearson's chi-square test without continuity correction, or Fisher's exact test "
              "for a 2x2 table with an expected count below 5"
              if plan.test_policy == "spss" else
              "Fisher's exact test (any table size) whenever an expected count was below 5, "
              "otherwise Pearson's chi-square test without continuity correction")
    ci_name = {"wilson": "Wilson", "clopper-pearson": "Clopper–Pearson"}.get(
        plan.proportion_ci, plan.proportion_ci)
    return (
        f"Categorical variables were compared with {policy}; continuous variables (median, "
        "interquartile range and range) with the Kruskal–Wallis test across the regimens"
        + (", and one-way ANOVA for means" if any(r.mean_sd for r in plan.table1) else "")
        + "; a footnote symbol on each p-value names the test used. Response rates are given with "
        f"{ci_name} {plan.confidence_level * 100:g}% confidence intervals. "
        "Survival was estimated by the Kaplan–Meier method with log-log confidence intervals "
        "and compared with the log-rank test, across all regimens and for each regimen against "
        f"{plan.reference}. Time to response was analysed as 1 − Kaplan–Meier among evaluable "
        "patients, censoring non-responders at their last usable assessment. Median follow-up "
        "is the median observed follow-up, with the reverse Kaplan–Meier estimate alongside. "
        f"Data cutoff {plan.cutoff.isoformat()}. Software: Python {v.get('python')}, numpy "
        f"{v.get('numpy')}, scipy {v.get('scipy')}, pandas {v.get('pandas')}, poems-cohort "
        f"{v.get('poems-cohort')}.")


SYNTHETIC_BANNER = (
    '<p class="synthetic" role="note"><strong>Synthetic cohort.</strong> No patient in this '
    "report is real: the data were generated by poems-cohort to reproduce the published "
    "study's numbers, for demonstration and testing. Do not use them as clinical evidence.</p>")


def report_html(results: StudyResults, tables: Sequence[DisplayTable],
                figures: Sequence[RenderedFigure], narrative: str, *,
                synthetic: bool = False, appendices: Sequence[Appendix] = ()) -> bytes:
    """The whole report as UTF-8 bytes; ``synthetic`` adds the synthetic-cohort banner;
    ``appendices`` follow the study's sections, in order, each with its entry in the
    contents."""
    by_name = {t.name: t for t in tables}
    figs = {f.name: f for f in figures}
    order = ["flow", "table1", "table2", "table2_effects", "figure1_cumulative_incidence",
             "cumulative_incidence", "figure1", "kinetics", "figure2", "survival",
             "hazard_ratios", "figure_forest", "ph_tests", "rmst", "iptw_weights",
             "figure_iptw_km", "balance", "figure_love_plot", "followup", "figure_landmark",
             "landmark", "supplementary_figure1", "supplementary_table1", "tests"]
    names = [n for n in order if n in by_name or n in figs]
    names += [n for n in dict.fromkeys([*by_name, *figs]) if n not in order]
    titles = {**{n: t.title for n, t in by_name.items()}, **{n: f.title for n, f in figs.items()}}
    # a figure and a table of the same name (the patient flow) share one section
    toc = ('<li><a href="#results">Results</a></li><li><a href="#methods">Methods</a></li>'
           + "".join(f'<li><a href="#{n}">{html.escape(titles[n])}</a></li>' for n in names)
           + "".join(f'<li><a href="#{html.escape(a.id)}">{html.escape(a.title)}</a></li>'
                     for a in appendices))
    body = [_figure_html(figs[n], by_name.get(n)) if n in figs else _table_html(by_name[n])
            for n in names]
    n_patients = int(results.survival.events.loc[
        results.survival.events["regimen"] == "All", "patients"].iloc[0])
    regimens = ", ".join(results.plan.regimens)
    title = "POEMS syndrome first-line treatments: study report" + (
        " (synthetic cohort)" if synthetic else "")
    doc = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title>"
        f"<style>{CSS}</style></head><body><header>"
        f"<h1>{title}</h1>"
        f'<p class="subtitle">{n_patients} patients; regimens {html.escape(regimens)}; '
        f"reference {html.escape(results.plan.reference)}; data cutoff "
        f"{results.plan.cutoff.isoformat()}.</p>"
        + (SYNTHETIC_BANNER if synthetic else "") + "</header>"
        f"<nav><h2>Contents</h2><ol>{toc}</ol></nav>"
        f'<section id="results"><h2>Results</h2><p>{html.escape(narrative)}</p></section>'
        f'<section id="methods"><h2>Methods</h2><p>{html.escape(methods_paragraph(results))}'
        "</p>"
        + (f"<p>{html.escape(comparative_methods(results))}</p>"
           if results.comparative is not None else "")
        + "</section>"
        + "".join(body)
        + "".join(_appendix_html(a) for a in appendices)
        + "</body></html>\n")
    return doc.encode("utf-8")
