"""The study's tables for display: text cells, rounded, with titles and notes.

Every table is built from ``StudyResults`` only; nothing is computed here but presentation.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from poems_cohort.report import format as fmt
from poems_cohort.study import StudyResults

ABBREVIATIONS = ("ASCT autologous stem cell transplantation; MDex melphalan + dexamethasone; "
                 "LDex lenalidomide + dexamethasone; CRH hematologic complete remission; CRV VEGF "
                 "complete remission; RN neurological remission; PFS progression-free survival; "
                 "OS overall survival; ONLS Overall Neuropathy Limitations Scale; SPE serum "
                 "protein electrophoresis; BMPC bone-marrow plasma cells.")


@dataclass(frozen=True, slots=True)
class DisplayTable:
    """A table ready to render: a stable ``name`` (file and sheet name), a title, text cells."""

    name: str
    title: str
    frame: pd.DataFrame
    note: str = ""

    def to_frame(self) -> pd.DataFrame:
        """The text cells."""
        return self.frame.copy()


def _group_header(results: StudyResults, name: str) -> str:
    ev = results.survival.events
    n = int(ev.loc[ev["regimen"] == name, "patients"].iloc[0])
    return f"{name} (N={n})"


def _tests_used(frame: pd.DataFrame, column: str = "test") -> str:
    used = sorted({t for t in frame[column].dropna() if t != "not testable"})
    return ", ".join(used)


def flow_table(results: StudyResults) -> DisplayTable:
    """The patient flow as given by the eligibility step."""
    frame = results.flow.copy()
    return DisplayTable("flow", "Patient flow", frame.astype(str))


def table1(results: StudyResults) -> DisplayTable:
    """Table 1: baseline characteristics, n/N (%) by regimen, and the p-value with its test."""
    plan = results.plan
    groups = ["All", *plan.regimens]
    headers = {g: _group_header(results, g) for g in groups}
    rows = []
    cont = results.table1.continuous
    for label in dict.fromkeys(cont["characteristic"]):
        part = cont[cont["characteristic"] == label].set_index("regimen")
        rec = {"Characteristic": f"{label}, median (range)"}
        for g in groups:
            r = part.loc[g]
            rec[headers[g]] = fmt.median_range(r["median"], r["min"], r["max"])
        rec["p"] = ""
        rec["Test"] = ""
        rows.append(rec)
    t1 = results.table1.rows
    for key in dict.fromkeys(t1["key"]):
        part = t1[t1["key"] == key].set_index("regimen")
        first = part.iloc[0]
        rec = {"Characteristic": str(first["characteristic"])}
        for g in groups:
            r = part.loc[g]
            rec[headers[g]] = fmt.n_pct(r["n"], r["N"], r["percent"])
        rec["p"] = fmt.p_value(first["p_value"])
        rec["Test"] = str(first["test"])
        rows.append(rec)
    tests = results.table1.tests
    risk = tests[tests["endpoint"].str.startswith("Risk group")].iloc[0]
    note = ("n/N (%): N counts the patients whose value is known. Risk rows compare each risk "
            "level with the rest (3x2); the 3x3 risk-group table gives p = "
            f"{fmt.p_value(risk['p_value'])} ({risk['test']}). Tests: "
            f"{_tests_used(t1)}; test policy '{plan.test_policy}'. " + ABBREVIATIONS)
    return DisplayTable("table1", "Table 1. Baseline characteristics by first-line regimen",
                        pd.DataFrame(rows), note)


def table2(results: StudyResults) -> DisplayTable:
    """Table 2: best responses and landmark survival per regimen and risk subgroup."""
    plan = results.plan
    t2 = results.table2.rows
    rows = []
    for endpoint in dict.fromkeys(t2["endpoint"]):
        for g in ["All", *plan.regimens]:
            rec = {"Endpoint": endpoint, "Regimen": g}
            for sg in plan.subgroups:
                sel = t2[(t2["endpoint"] == endpoint) & (t2["subgroup"] == sg.name)
                         & (t2["regimen"] == g)]
                r = sel.iloc[0]
                label = sg.label()
                rec[f"{label}: n/N"] = fmt.n_of(r["n"], r["N"])
                rec[f"{label}: % (95% CI)"] = fmt.rate_ci(r["value"], r["ci_low"], r["ci_high"])
                rec[f"{label}: p"] = ("" if g in ("All", plan.reference)
                                      else fmt.p_value(r["p_value"]))
            rows.append(rec)
    years = plan.survival_landmark_months / 12
    note = ("n/N: responders/evaluable patients; for PFS and OS, events/patients. "
            f"Responses: percent of evaluable patients, Wilson 95% CI. PFS and OS: {years:g}-year "
            "Kaplan–Meier rate, log-log 95% CI. p: each regimen against "
            f"{plan.reference} (responses: {_tests_used(t2[~t2['endpoint'].isin(['PFS', 'OS'])])}"
            "; survival: log-rank). " + ABBREVIATIONS)
    return DisplayTable("table2", "Table 2. Best responses and survival by regimen and risk group",
                        pd.DataFrame(rows), note)


def tests_table(results: StudyResults) -> DisplayTable:
    """Every test across all regimens, with the test used."""
    t = results.tests()
    frame = pd.DataFrame({
        "Table": t["source"], "Endpoint": t["endpoint"], "Subgroup": t["subgroup"],
        "Test": t["test"],
        "Statistic": [fmt.num(x, 3) for x in t["statistic"]],
        "df": [fmt.num(x, 0) for x in t["df"]],
        "p": [fmt.p_value(x) for x in t["p_value"]],
    })
    return DisplayTable("tests", "Comparisons of all regimens", frame,
                        "Statistic and df are blank for Fisher's exact test.")


def kinetics_table(results: StudyResults) -> DisplayTable:
    """Time to CRH and CRV: median (range) among responders and cumulative rates."""
    k = results.kinetics
    rows = []
    for rec in k.medians.to_dict("records"):
        out = {"Response": rec["response"], "Regimen": rec["regimen"],
               "Responders/evaluable": fmt.n_of(rec["responders"], rec["evaluable"]),
               "Median months to response (range)":
                   fmt.median_range(rec["median"], rec["min"], rec["max"])}
        cum = k.cumulative[(k.cumulative["response"] == rec["response"])
                           & (k.cumulative["regimen"] == rec["regimen"])]
        for c in cum.to_dict("records"):
            out[f"{c['month']:g}-month rate, % (95% CI)"] = fmt.rate_ci(c["rate"], c["ci_low"],
                                                                        c["ci_high"])
        rows.append(out)
    return DisplayTable("kinetics", "Time to response", pd.DataFrame(rows),
                        "Cumulative rates: 1 − Kaplan–Meier of the time to response among "
                        "evaluable patients, non-responders censored at their last assessment.")


def survival_table(results: StudyResults) -> DisplayTable:
    """PFS and OS per subgroup and regimen: events, median, landmark rate, p."""
    s = results.survival.by_regimen
    years = results.plan.survival_landmark_months / 12
    frame = pd.DataFrame({
        "Endpoint": s["endpoint"], "Subgroup": s["subgroup"], "Regimen": s["regimen"],
        "Events/N": [fmt.n_of(e, n) for e, n in zip(s["events"], s["N"], strict=True)],
        "Median months (95% CI)": [fmt.median_ci(m, lo, hi) for m, lo, hi in
                                   zip(s["median"], s["median_low"], s["median_high"],
                                       strict=True)],
        f"{years:g}-year rate, % (95% CI)": [fmt.rate_ci(v, lo, hi) for v, lo, hi in
                                            zip(s["rate"], s["ci_low"], s["ci_high"],
                                                strict=True)],
        f"p vs {results.plan.reference} (log-rank)": [
            "" if r in ("All", results.plan.reference) else fmt.p_value(p)
            for r, p in zip(s["regimen"], s["p_value"], strict=True)],
    })
    return DisplayTable("survival", "Progression-free and overall survival", frame,
                        "NR: not reached.")


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
            "Reverse Kaplan–Meier median (95% CI)": fmt.median_ci(
                f.loc[g, "reverse_km"], f.loc[g, "reverse_km_low"], f.loc[g, "reverse_km_high"]),
            "Person-years": fmt.num(e.loc[g, "person_years"], 1),
            "Deaths": str(int(e.loc[g, "deaths"])),
            "Treatment-related deaths": str(int(e.loc[g, "treatment_related_deaths"])),
            "Progressed, alive": str(int(e.loc[g, "progressions_alive"])),
            "Secondary malignancies": str(int(e.loc[g, "secondary_malignancies"])),
        })
    return DisplayTable("followup", "Follow-up and events", pd.DataFrame(rows))


def all_tables(results: StudyResults) -> list[DisplayTable]:
    """Every display table, in report order."""
    return [flow_table(results), table1(results), table2(results), kinetics_table(results),
            survival_table(results), followup_table(results), tests_table(results)]
