"""``compute_study``: from the derived frames and a plan to every result of the study (the
whole path from a cohort is :func:`poems_cohort.workflow.run_study`)."""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version

import numpy as np
import pandas as pd

from poems_cohort.study._common import join_on_patient
from poems_cohort.study.comparative_results import compute_comparative
from poems_cohort.study.kinetics import compute_kinetics
from poems_cohort.study.plan import AnalysisPlan
from poems_cohort.study.results import StudyResults
from poems_cohort.study.survival import compute_survival
from poems_cohort.study.table1 import compute_table1, table1_columns
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
    base = patients.drop(columns=[c for c in ("risk_group", "egfr") if c in patients.columns])
    return join_on_patient(base.reset_index(drop=True), ds[["patient_id", "risk_group", "egfr"]])


def study_columns(plan: AnalysisPlan) -> frozenset[str]:
    """The patients' columns the study reads: the identifier and regimen, the plan's Table 1
    rows and subgroups, and the columns the comparative covariate rules read (the risk group
    and eGFR come from the analysis dataset)."""
    from poems_cohort.study.comparative import rule_columns

    return frozenset({"patient_id", "regimen", *(spec.column for spec in plan.table1),
                      *(sg.column for sg in plan.subgroups if sg.values is not None),
                      *rule_columns()})


def _in_shared_block(column: pd.Series) -> bool:
    """Whether ``column``'s values are part of a larger array (a row of a consolidated frame's
    2-D block holding other columns too, or a slice): a view of it would keep all of it in
    memory. (Arrow's zero-copy arrays are a 1 × n view of the Arrow buffer: not larger.)"""
    if not isinstance(column.dtype, np.dtype):
        return False  # extension arrays (boolean, Int64, strings) have a block each
    values = column.to_numpy(copy=False)
    base = values
    while isinstance(base.base, np.ndarray):
        base = base.base
    return bool(base.size > values.size)


def study_patients(patients: pd.DataFrame, plan: AnalysisPlan) -> pd.DataFrame:
    """``patients`` with only the columns the study reads (:func:`study_columns`), so that the
    others (dates, laboratory values the study does not use) are freed with the reader's frame;
    the frame itself when it has no other column.

    The engine's reader keeps each column in its own array: the columns are then taken as they
    are (no copy: at 10⁷ patients a copy was 1.3 GB more, for a moment, on top of everything
    the derivation holds). A consolidated frame (columns of one type side by side in one 2-D
    array) is copied, else the arrays of the columns let go would stay alive through views."""
    wanted = study_columns(plan)
    keep = [c for c in patients.columns if c in wanted]
    if len(keep) == len(patients.columns):
        return patients
    narrowed = patients[keep]
    if any(_in_shared_block(patients[c]) for c in keep):
        return narrowed.copy()
    return narrowed


def with_subgroup_columns(ds: pd.DataFrame, baseline: pd.DataFrame, plan: AnalysisPlan
                          ) -> pd.DataFrame:
    """The analysis dataset with the baseline columns that define the plan's subgroups (a
    column absent from both is all missing: its subgroups are empty)."""
    wanted = [c for c in dict.fromkeys(s.column for s in plan.subgroups if s.values is not None)
              if c not in ds.columns]
    if not wanted:
        return ds
    have = [c for c in wanted if c in baseline.columns]
    out = ds.merge(baseline[["patient_id", *have]], on="patient_id", how="left",
                   validate="one_to_one")
    for c in wanted:
        if c not in out.columns:
            out[c] = pd.NA
    return out


def compute_study(baseline: pd.DataFrame, ds: pd.DataFrame, flow: pd.DataFrame,
                  plan: AnalysisPlan) -> StudyResults:
    """The study from already-derived frames: the baseline frame (:func:`baseline_frame`), the
    analysis dataset, the patient flow and the plan."""
    analysed = with_subgroup_columns(ds, baseline, plan)
    survival = compute_survival(analysed, plan)
    table2 = compute_table2(analysed, plan, survival.by_regimen)
    table1 = compute_table1(baseline, plan)
    kinetics = compute_kinetics(analysed, plan)
    # the comparative analyses last: they hold the most (the propensity design, the models'
    # sorted copies), and the analysis dataset they return is the largest result
    comparative, dataset = compute_comparative(baseline, analysed, table2.rows, plan)
    # what each Table 1 row counts, so that Table 1 too can be recomputed from the export
    dataset = join_on_patient(dataset, table1_columns(baseline, plan, have=dataset.columns))
    return StudyResults(
        plan=plan,
        flow=flow,
        table1=table1,
        table2=table2,
        kinetics=kinetics,
        survival=survival,
        versions=software_versions(),
        analysis_dataset=dataset,
        comparative=comparative,
    )
