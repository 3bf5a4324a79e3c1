"""``run_study``: from a loaded cohort and a plan to every result of the study."""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import pandas as pd

from poems_cohort.errors import InputError, Problem
from poems_cohort.study.kinetics import compute_kinetics
from poems_cohort.study.plan import AnalysisPlan
from poems_cohort.study.results import StudyResults
from poems_cohort.study.survival import compute_survival
from poems_cohort.study.table1 import compute_table1
from poems_cohort.study.table2 import compute_table2


def software_versions() -> dict[str, str]:
    """Versions of Python and of the libraries the numbers depend on."""
    out = {"python": platform.python_version()}
    for name in ("numpy", "scipy", "pandas", "poems-cohort"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "unknown"
    return out


def baseline_frame(patients: pd.DataFrame, ds: pd.DataFrame) -> pd.DataFrame:
    """The included patients' baseline data with the derived risk group and eGFR."""
    extra = ds[["patient_id", "risk_group", "egfr"]]
    base = patients.drop(columns=[c for c in ("risk_group", "egfr") if c in patients.columns])
    return base.merge(extra, on="patient_id", how="left", validate="one_to_one")


def check_included(flow: Any, source: object = "cohort") -> None:
    """An ``InputError`` when eligibility leaves no patient to analyse, saying why (the
    exclusion counts), instead of a report of empty tables."""
    if flow.included > 0:
        return
    reasons = "; ".join(f"{reason}: {n}" for reason, n in flow.excluded.items() if n)
    raise InputError([Problem(str(source), None, None, None,
                              f"at least one patient left to analyse; of {flow.screened} "
                              f"screened none was included ({reasons or 'no patients'})")])


def compute_study(baseline: pd.DataFrame, ds: pd.DataFrame, flow: pd.DataFrame,
                  plan: AnalysisPlan) -> StudyResults:
    """The study from already-derived frames (the pure core of ``run_study``)."""
    survival = compute_survival(ds, plan)
    return StudyResults(
        plan=plan,
        flow=flow,
        table1=compute_table1(baseline, plan),
        table2=compute_table2(ds, plan, survival.by_regimen),
        kinetics=compute_kinetics(ds, plan),
        survival=survival,
        versions=software_versions(),
        analysis_dataset=ds,
    )


def run_study(cohort: Any, plan: AnalysisPlan | None = None) -> StudyResults:
    """Eligibility, the analysis dataset and every table of the study for ``cohort``."""
    from poems_cohort.clinical import derive_analysis_dataset
    from poems_cohort.cohort import apply_eligibility

    plan = plan or AnalysisPlan()
    eligibility = apply_eligibility(cohort, regimens=plan.regimens, cutoff=plan.cutoff)
    check_included(eligibility.flow, getattr(cohort, "source", "cohort"))
    ds = derive_analysis_dataset(eligibility.included, plan.endpoint_settings())
    baseline = baseline_frame(eligibility.included.patients, ds)
    return compute_study(baseline, ds, eligibility.flow.to_frame(), plan)
