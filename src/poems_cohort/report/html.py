"""``report.html``: one self-contained file (inline CSS, figures as PNG data URIs).

It references nothing outside itself: no link, script, font or stylesheet is loaded.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence

from poems_cohort.report.figures import RenderedFigure
from poems_cohort.report.tables import DisplayTable
from poems_cohort.study import StudyResults

CSS = """
body{font-family:Georgia,'Times New Roman',serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#111;line-height:1.45}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #999}
table{border-collapse:collapse;margin:0.8em 0;font-size:0.8em;font-family:Arial,sans-serif}
thead th{border-top:2px solid #000;border-bottom:1px solid #000;padding:3px 6px;text-align:left;
vertical-align:bottom}
tbody td{padding:2px 6px;white-space:nowrap}tbody tr:last-child td{border-bottom:2px solid #000}
caption{caption-side:top;text-align:left;font-weight:bold;padding-bottom:4px}
.note{font-size:0.8em;color:#333;max-width:60em}figure{margin:1.5em 0}
figure img{max-width:100%;height:auto;border:0}figcaption{font-size:0.85em}
nav ul{columns:2}.scroll{overflow-x:auto}
"""


def _table_html(t: DisplayTable) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in t.frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
        for row in t.frame.itertuples(index=False))
    note = f'<p class="note">{html.escape(t.note)}</p>' if t.note else ""
    return (f'<section id="{t.name}"><h2>{html.escape(t.title)}</h2><div class="scroll">'
            f'<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'
            f"{note}</section>")


def _figure_html(f: RenderedFigure) -> str:
    data = base64.b64encode(f.png).decode("ascii")
    return (f'<section id="{f.name}"><figure><img alt="{html.escape(f.caption)}" '
            f'src="data:image/png;base64,{data}"><figcaption>{html.escape(f.caption)}'
            "</figcaption></figure></section>")


def methods_paragraph(results: StudyResults) -> str:
    """Methods: the tests, the definitions and the software versions."""
    plan = results.plan
    v = results.versions
    policy = ("Pearson's chi-square test without continuity correction, or Fisher's exact test "
              "for a 2x2 table with an expected count below 5"
              if plan.test_policy == "spss" else
              "Fisher's exact test (any table size) whenever an expected count was below 5, "
              "otherwise Pearson's chi-square test without continuity correction")
    return (
        f"Categorical variables were compared with {policy} (test policy '{plan.test_policy}'); "
        "the test used for each p-value is listed with it. Response rates are given with Wilson "
        f"{plan.confidence_level * 100:g}% confidence intervals ({plan.proportion_ci}). "
        "Survival was estimated by the Kaplan–Meier method with log-log confidence intervals "
        "and compared with the log-rank test, across all regimens and for each regimen against "
        f"{plan.reference}. Time to response was analysed as 1 − Kaplan–Meier among evaluable "
        "patients, censoring non-responders at their last usable assessment. Median follow-up "
        "is the median observed follow-up, with the reverse Kaplan–Meier estimate alongside. "
        f"Data cutoff {plan.cutoff.isoformat()}. Software: Python {v.get('python')}, numpy "
        f"{v.get('numpy')}, scipy {v.get('scipy')}, pandas {v.get('pandas')}, poems-cohort "
        f"{v.get('poems-cohort')}.")


def report_html(results: StudyResults, tables: Sequence[DisplayTable],
                figures: Sequence[RenderedFigure], narrative: str) -> bytes:
    """The whole report as UTF-8 bytes."""
    toc = "".join(f'<li><a href="#{t.name}">{html.escape(t.title)}</a></li>' for t in tables)
    toc += "".join(f'<li><a href="#{f.name}">{html.escape(f.caption.split(".")[0])}</a></li>'
                   for f in figures)
    by_name = {t.name: t for t in tables}
    figs = {f.name: f for f in figures}
    order = ["flow", "table1", "table2", "figure1", "kinetics", "figure2", "survival",
             "followup", "supplementary_figure1", "tests"]
    body = []
    for name in order + [n for n in [*by_name, *figs] if n not in order]:
        if name in by_name:
            body.append(_table_html(by_name[name]))
        elif name in figs:
            body.append(_figure_html(figs[name]))
    doc = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>POEMS syndrome first-line treatments: study report</title>"
        f"<style>{CSS}</style></head><body>"
        "<h1>POEMS syndrome first-line treatments: study report</h1>"
        f"<section id=\"results\"><h2>Results</h2><p>{html.escape(narrative)}</p></section>"
        f"<nav><h2>Contents</h2><ul>{toc}</ul></nav>"
        + "".join(body)
        + f'<section id="methods"><h2>Methods</h2><p>{html.escape(methods_paragraph(results))}'
        "</p></section></body></html>\n")
    return doc.encode("utf-8")
