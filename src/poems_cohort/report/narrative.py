"""An abstract-style paragraph of results, written from the study's numbers (nothing typed in)."""

from __future__ import annotations

import pandas as pd

from poems_cohort.report import format as fmt
from poems_cohort.report.comparative import comparative_sentence
from poems_cohort.study import StudyResults
from poems_cohort.study.names import PFS, RESPONSE_ENDPOINTS, SURVIVAL_ENDPOINTS


def _get(frame: pd.DataFrame, **where: object) -> pd.Series:
    sel = frame
    for k, v in where.items():
        sel = sel[sel[k] == v]
    return sel.iloc[0]


def _p(p: object) -> str:
    return fmt.p_text(p)  # "p = 0.012", "p < 0.001" or "p not testable"


def _patients(n: int) -> str:
    return f"{n} patient" if n == 1 else f"{n} patients"


def narrative(results: StudyResults) -> str:
    """The results paragraph."""
    plan = results.plan
    ev = results.survival.events
    fu = results.survival.followup
    ref = plan.reference
    others = [r for r in plan.regimens if r != ref]
    total = int(_get(ev, regimen="All")["patients"])
    counts = ", ".join(f"{r} {int(_get(ev, regimen=r)['patients'])}" for r in plan.regimens)
    verb = "was" if total == 1 else "were"
    parts = [f"{_patients(total)} {verb} analysed ({counts}). After a median follow-up of "
             f"{fmt.months(_get(fu, regimen='All')['median'])} months "
             f"({fmt.num(_get(ev, regimen='All')['person_years'], 0)} person-years),"]

    def rate(endpoint: str, regimen: str) -> str:
        return fmt.pct_text(results.table2.row(endpoint, regimen=regimen)["value"])

    for endpoint, _, _ in RESPONSE_ENDPOINTS:
        vs = "; ".join(
            f"{r} {rate(endpoint, r)}, "
            f"{_p(results.table2.row(endpoint, regimen=r)['p_value'])}"
            for r in others)
        parts.append(f"the {endpoint} rate was {rate(endpoint, 'All')} overall and "
                     f"{rate(endpoint, ref)} with {ref} ({vs});")
    years = fmt.landmark(plan.survival_landmark_months)
    for endpoint, _, _ in SURVIVAL_ENDPOINTS:
        by = ", ".join(f"{r} {rate(endpoint, r)}" for r in plan.regimens)
        p3 = results.survival.test(endpoint).p_value
        parts.append(f"{years} {endpoint} was {rate(endpoint, 'All')} ({by}; log-rank "
                     f"{_p(p3)} across regimens)" + (";" if endpoint == PFS else "."))
    deaths = _get(ev, regimen="All")
    parts.append(f"{_patients(int(deaths['deaths']))} died, "
                 f"{int(deaths['treatment_related_deaths'])} of treatment-related causes.")
    text = " ".join(parts)
    text = text[0].upper() + text[1:]
    extra = comparative_sentence(results)
    return f"{text} {extra}" if extra else text
