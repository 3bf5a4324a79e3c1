"""The study's tables for display: text cells, rounded, with titles and notes.

Every table is built from ``StudyResults`` only; nothing is computed here but presentation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from poems_cohort.report import format as fmt
from poems_cohort.study import StudyResults
from poems_cohort.study.names import ALL, OS, PFS, SURVIVAL, TABLE2

ABBREVIATIONS = {
    "ASCT": "autologous stem cell transplantation", "MDex": "melphalan + dexamethasone",
    "LDex": "lenalidomide + dexamethasone", "CRH": "hematologic complete remission",
    "CRV": "VEGF complete remission", "RN": "neurological remission",
    "PFS": "progression-free survival", "OS": "overall survival",
    "ONLS": "Overall Neuropathy Limitations Scale", "SPE": "serum protein electrophoresis",
    "BMPC": "bone-marrow plasma cells", "VEGF": "vascular endothelial growth factor",
    "eGFR": "estimated glomerular filtration rate", "CI": "confidence interval",
    "NR": "not reached",
}


def abbreviations(frame: pd.DataFrame, *texts: str) -> str:
    """The abbreviations used in ``frame`` (cells and header) or ``texts``, spelled out in the
    order of :data:`ABBREVIATIONS`."""
    words: set[str] = set()
    for text in [*map(str, frame.columns), *texts,
                 *(str(v) for col in frame.columns for v in frame[col])]:
        words.update(re.findall(r"[A-Za-z]+", text))
    used = [f"{k} {v}" for k, v in ABBREVIATIONS.items() if k in words]
    return "; ".join(used) + "." if used else ""


TEST_MARKS = ("*", "†", "‡", "§", "¶")
TEST_NAMES = {"Pearson chi-square": "Pearson's chi-square test",
              "Fisher's exact": "Fisher's exact test", "log-rank": "log-rank test"}


@dataclass(frozen=True, slots=True)
class HeaderColumn:
    """One shown column: its name in ``frame``, its group (``None`` when it stands alone) and
    the label under the group (the whole name when it stands alone)."""

    name: str
    group: str | None
    label: str


@dataclass(frozen=True, slots=True)
class DisplayTable:
    """A table ready to render: a stable ``name`` (file and sheet name), a title, text cells.

    ``section``: a column whose values head groups of rows (HTML, Word and Excel show them as
    section rows instead of a column). Columns named ``"Group: sub"`` are shown under a
    spanning ``Group`` header. ``marks``: the footnote symbols used on p-values, in order;
    ``legend`` pairs each with the name of its test. The notes under the table are ``note``,
    the legend and ``abbreviations``, in that order (see :meth:`notes`). ``text_columns``: columns
    of running text (a note), shown left-aligned and wrapped and never stored as numbers; the
    first column is always such a label.
    """

    name: str
    title: str
    frame: pd.DataFrame
    note: str = ""
    section: str | None = None
    marks: tuple[str, ...] = ()
    legend: tuple[tuple[str, str], ...] = ()
    abbreviations: str = ""
    text_columns: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """The text cells."""
        return self.frame.copy()

    def columns(self) -> list[HeaderColumn]:
        """The shown columns (all but the section column), with their header groups."""
        out = []
        for c in self.frame.columns:
            if c == self.section:
                continue
            name = str(c)
            group, _, label = name.partition(": ")
            out.append(HeaderColumn(name, group, label) if label else
                       HeaderColumn(name, None, name))
        return out

    def grouped(self) -> bool:
        """Whether the header has a row of spanning groups above the column labels."""
        return any(c.group is not None for c in self.columns())

    def legend_text(self) -> str:
        """``"* Pearson's chi-square test; † Fisher's exact test."`` (empty without marks)."""
        return "; ".join(f"{m} {name}" for m, name in self.legend) + "." if self.legend else ""

    def notes(self) -> tuple[str, ...]:
        """The paragraphs under the table: the note, the symbol legend, the abbreviations."""
        return tuple(x for x in (self.note, self.legend_text(), self.abbreviations) if x)


def header_spans(columns: list[HeaderColumn]) -> list[tuple[str | None, int, int]]:
    """Runs of adjacent columns of the same group: ``(group, first index, count)``; a column
    without a group is a run of its own with group ``None``."""
    spans: list[tuple[str | None, int, int]] = []
    for i, c in enumerate(columns):
        if spans and c.group is not None and spans[-1][0] == c.group:
            g, first, n = spans[-1]
            spans[-1] = (g, first, n + 1)
        else:
            spans.append((c.group, i, 1))
    return spans


def ci_label(results: StudyResults) -> str:
    """``"95% CI"`` at the plan's confidence level."""
    return f"{results.plan.confidence_level * 100:g}% CI"


def _group_header(results: StudyResults, name: str) -> str:
    ev = results.survival.events
    n = int(ev.loc[ev["regimen"] == name, "patients"].iloc[0])
    return f"{name} (N={n})"


def _tests_used(frame: pd.DataFrame, column: str = "test") -> str:
    used = sorted({t for t in frame[column].dropna() if t != "not testable"})
    return ", ".join(used)


class _Marks:
    """A footnote symbol per test, given in order of first use."""

    def __init__(self) -> None:
        self.used: dict[str, str] = {}

    def p(self, p: object, test: object) -> str:
        """The p-value with its test's symbol (none when not testable or missing)."""
        shown = fmt.p_value(p)
        if shown == fmt.MISSING or not isinstance(test, str) or test == "not testable":
            return shown if shown != fmt.MISSING else ""
        if test not in self.used:
            self.used[test] = TEST_MARKS[len(self.used) % len(TEST_MARKS)]
        return shown + self.used[test]

    def legend(self) -> tuple[tuple[str, str], ...]:
        """(symbol, test name) in order of first use."""
        return tuple((m, TEST_NAMES.get(t, t)) for t, m in self.used.items())


def flow_table(results: StudyResults) -> DisplayTable:
    """The patient flow as given by the eligibility step."""
    f = results.flow
    frame = pd.DataFrame({
        "Stage": [str(x).capitalize() for x in f["stage"]],
        "Detail": [str(x)[:1].upper() + str(x)[1:] for x in f["detail"]],
        "Patients": [str(int(x)) for x in f["n"]],
    })
    return DisplayTable("flow", "Patient flow", frame, section="Stage")


TABLE1_SECTIONS = {"hepatomegaly": "Organomegaly", "splenomegaly": "Organomegaly",
                   "lymphadenopathy": "Organomegaly", "risk_low": "Risk stratification",
                   "risk_medium": "Risk stratification", "risk_high": "Risk stratification"}


def table1(results: StudyResults) -> DisplayTable:
    """Table 1: baseline characteristics, n/N (%) by regimen, and the p-value marked with its
    test (regimens in the plan's order, as published: MDex, ASCT, LDex)."""
    plan = results.plan
    groups = ["All", *plan.regimens]
    headers = {g: _group_header(results, g) for g in groups}
    headers["All"] = headers["All"].replace("All", "All patients", 1)
    marks = _Marks()
    rows = []
    cont = results.table1.continuous
    for label in dict.fromkeys(cont["characteristic"]):
        part = cont[cont["characteristic"] == label].set_index("regimen")
        rec = {"Group": "", "Characteristic": f"{label}, median (range)"}
        digits = fmt.whole_digits(*part["median"], *part["min"], *part["max"])
        for g in groups:
            r = part.loc[g]
            rec[headers[g]] = fmt.median_range(r["median"], r["min"], r["max"], digits)
        rec["p"] = ""
        rows.append(rec)
    t1 = results.table1.rows
    for key in dict.fromkeys(t1["key"]):
        part = t1[t1["key"] == key].set_index("regimen")
        first = part.iloc[0]
        rec = {"Group": TABLE1_SECTIONS.get(str(key), ""),
               "Characteristic": str(first["characteristic"])}
        for g in groups:
            r = part.loc[g]
            rec[headers[g]] = fmt.n_pct(r["n"], r["N"], r["percent"])
        rec["p"] = marks.p(first["p_value"], first["test"])
        rows.append(rec)
    tests = results.table1.tests
    risk = tests[tests["endpoint"].str.startswith("Risk group")].iloc[0]
    note = ("n/N (%): N counts the patients whose value is known (Castleman disease: patients "
            "who had a biopsy). p: across the regimens, by the test policy "
            f"'{plan.test_policy}'. Each risk row compares that level with the other two (3x2 "
            f"table); the 3x3 risk-group table gives {fmt.p_text(risk['p_value'])} "
            f"({risk['test']}).")
    frame = pd.DataFrame(rows)
    return DisplayTable("table1", "Table 1. Baseline characteristics by first-line regimen",
                        frame, note, section="Group", marks=tuple(marks.used.values()),
                        legend=marks.legend(), abbreviations=abbreviations(frame, note))


def _subgroup_header(results: StudyResults, subgroup: str) -> str:
    label = results.plan.subgroup(subgroup).label()
    try:
        n = results.survival.estimate(PFS, subgroup=subgroup)["N"]
    except KeyError:
        return label
    return f"{label} (N={int(n)})"


def _response_table(results: StudyResults, subgroups: list[str], name: str,
                    title: str) -> DisplayTable:
    plan = results.plan
    t2 = results.table2.rows
    marks = _Marks()
    when = fmt.landmark(plan.survival_landmark_months)
    order = [plan.reference, *(r for r in plan.regimens if r != plan.reference), "All"]
    ci = ci_label(results)
    rows = []
    for endpoint in dict.fromkeys(t2["endpoint"]):
        survival = endpoint in (PFS, OS)
        section = f"{endpoint}, {when} rate" if survival else endpoint
        for g in order:
            rec = {"Endpoint": section, "Regimen": "All regimens" if g == "All" else g}
            for sg in subgroups:
                r = results.table2.row(endpoint, subgroup=sg, regimen=g)
                head = _subgroup_header(results, sg)
                rec[f"{head}: n/N"] = fmt.n_of(r["n"], r["N"])
                rec[f"{head}: % ({ci})"] = fmt.rate_ci(r["value"], r["ci_low"], r["ci_high"])
                if g == ALL:
                    t = results.test(SURVIVAL if survival else TABLE2, endpoint, subgroup=sg)
                    p = marks.p(t.p_value, t.test)
                elif g == plan.reference:
                    p = ""
                else:
                    p = marks.p(r["p_value"], "log-rank" if survival else r["test"])
                rec[f"{head}: p"] = p
            rows.append(rec)
    ci_name = {"wilson": "Wilson", "clopper-pearson": "Clopper–Pearson"}.get(
        plan.proportion_ci, plan.proportion_ci)
    note = ("n/N: responders/evaluable patients; for PFS and OS, events/patients. Responses: "
            f"percent of evaluable patients with {ci_name} {plan.confidence_level * 100:g}% CI. "
            f"PFS and OS: {when} Kaplan–Meier rate with log-log "
            f"{plan.confidence_level * 100:g}% CI. p: each regimen against {plan.reference}; "
            "on the 'All regimens' row, across all regimens; by the test policy "
            f"'{plan.test_policy}'.")
    frame = pd.DataFrame(rows)
    return DisplayTable(name, title, frame, note, section="Endpoint",
                        marks=tuple(marks.used.values()), legend=marks.legend(),
                        abbreviations=abbreviations(frame, note))


def table2(results: StudyResults) -> DisplayTable:
    """Table 2: best responses and landmark survival per regimen, for all patients and the
    figure subgroups (low and medium-high risk by default), as published."""
    return _response_table(results, list(results.plan.figure_subgroups), "table2",
                           "Table 2. Best responses and survival by regimen and risk group")


def supplementary_table(results: StudyResults) -> DisplayTable | None:
    """The same as Table 2 for the plan's other subgroups (high risk by default)."""
    shown = set(results.plan.figure_subgroups)
    rest = [s.name for s in results.plan.subgroups if s.name not in shown]
    if not rest:
        return None
    labels = ", ".join(results.plan.subgroup(s).label().lower() for s in rest)
    return _response_table(results, rest, "supplementary_table1",
                           f"Supplementary Table 1. Best responses and survival by regimen, "
                           f"{labels}")


def tests_table(results: StudyResults) -> DisplayTable:
    """Every test across all regimens, with the test used."""
    t = results.tests()
    sources = {"table1": "Table 1", "table2": "Table 2", "survival": "Survival"}
    frame = pd.DataFrame({
        "Table": [sources.get(x, x) for x in t["source"]], "Endpoint": t["endpoint"], "Subgroup": t["subgroup"],
        "Test": t["test"],
        "Statistic": [fmt.num(x, 3) for x in t["statistic"]],
        "df": [fmt.num(x, 0) for x in t["df"]],
        "p": [fmt.p_value(x) for x in t["p_value"]],
    })
    return DisplayTable("tests", "Comparisons of all regimens", frame,
                        "Statistic and df are blank for Fisher's exact test.", section="Table")


def kinetics_table(results: StudyResults) -> DisplayTable:
    """Time to CRH and CRV: median (range) among responders and cumulative rates."""
    k = results.kinetics
    ci = ci_label(results)
    rows = []
    for rec in k.medians.to_dict("records"):
        out = {"Response": rec["response"], "Regimen": rec["regimen"],
               "Responders/evaluable": fmt.n_of(rec["responders"], rec["evaluable"]),
               "Median months to response (range)":
                   fmt.median_range(rec["median"], rec["min"], rec["max"])}
        cum = k.cumulative[(k.cumulative["response"] == rec["response"])
                           & (k.cumulative["regimen"] == rec["regimen"])]
        for c in cum.to_dict("records"):
            out[f"{c['month']:g}-month rate, % ({ci})"] = fmt.rate_ci(c["rate"], c["ci_low"],
                                                                     c["ci_high"])
        rows.append(out)
    frame = pd.DataFrame(rows)
    note = ("Cumulative rates: 1 − Kaplan–Meier of the time to response among evaluable "
            "patients, non-responders censored at their last assessment.")
    return DisplayTable("kinetics", "Time to response", frame, note, section="Response",
                        abbreviations=abbreviations(frame, note))


def survival_table(results: StudyResults) -> DisplayTable:
    """PFS and OS per subgroup and regimen: events, median, landmark rate, p."""
    s = results.survival.by_regimen
    when = fmt.landmark(results.plan.survival_landmark_months)
    ci = ci_label(results)
    frame = pd.DataFrame({
        "Endpoint": s["endpoint"],
        "Subgroup": [results.plan.subgroup(x).label() for x in s["subgroup"]],
        "Regimen": s["regimen"],
        "Events/N": [fmt.n_of(e, n) for e, n in zip(s["events"], s["N"], strict=True)],
        f"Median months ({ci})": [fmt.median_ci(m, lo, hi, n) for m, lo, hi, n in
                                  zip(s["median"], s["median_low"], s["median_high"], s["N"],
                                      strict=True)],
        f"{when} rate, % ({ci})": [fmt.rate_ci(v, lo, hi) for v, lo, hi in
                                          zip(s["rate"], s["ci_low"], s["ci_high"],
                                              strict=True)],
        f"p vs {results.plan.reference} (log-rank)": [
            "" if r in ("All", results.plan.reference) else fmt.p_value(p)
            for r, p in zip(s["regimen"], s["p_value"], strict=True)],
    })
    note = "Months with one decimal. —: no patients, or a rate at a time the curve does not reach."
    return DisplayTable("survival", "Progression-free and overall survival", frame, note,
                        section="Endpoint", abbreviations=abbreviations(frame))


def followup_table(results: StudyResults) -> DisplayTable:
    """Follow-up, person-years and events per regimen."""
    f = results.survival.followup.set_index("regimen")
    e = results.survival.events.set_index("regimen")
    rows = []
    for g in f.index:
        rows.append({
            "Regimen": g, "Patients": str(int(e.loc[g, "patients"])),
            "Median follow-up, months (range)": fmt.median_range(f.loc[g, "median"],
                                                                 f.loc[g, "min"],
                                                                 f.loc[g, "max"]),
            f"Reverse Kaplan–Meier median ({ci_label(results)})": fmt.median_ci(
                f.loc[g, "reverse_km"], f.loc[g, "reverse_km_low"], f.loc[g, "reverse_km_high"],
                e.loc[g, "patients"]),
            "Person-years": fmt.num(e.loc[g, "person_years"], 1),
            "Deaths": str(int(e.loc[g, "deaths"])),
            "Treatment-related deaths": str(int(e.loc[g, "treatment_related_deaths"])),
            "Progressed, alive": str(int(e.loc[g, "progressions_alive"])),
            "Secondary malignancies": str(int(e.loc[g, "secondary_malignancies"])),
        })
    frame = pd.DataFrame(rows)
    return DisplayTable("followup", "Follow-up and events", frame,
                        abbreviations=abbreviations(frame))


def all_tables(results: StudyResults) -> list[DisplayTable]:
    """Every display table, in report order."""
    supp = supplementary_table(results)
    return [flow_table(results), table1(results), table2(results), kinetics_table(results),
            survival_table(results), followup_table(results),
            *([supp] if supp is not None else []), tests_table(results)]
