"""The study: the analysis plan and the computation of the patient flow, Table 1, Table 2,
response kinetics and survival. Everything is computed at full precision; ``report`` formats."""

from poems_cohort.study.kinetics import Kinetics, compute_kinetics
from poems_cohort.study.plan import AnalysisPlan, Subgroup, load_plan
from poems_cohort.study.policy import TestOutcome, compare_counts
from poems_cohort.study.results import StudyResults
from poems_cohort.study.run import baseline_frame, compute_study, software_versions
from poems_cohort.study.survival import Survival, compute_survival
from poems_cohort.study.table1 import Table1, compute_table1
from poems_cohort.study.table2 import Table2, compute_table2

__all__ = [
    "AnalysisPlan",
    "Kinetics",
    "StudyResults",
    "Subgroup",
    "Survival",
    "Table1",
    "Table2",
    "TestOutcome",
    "compare_counts",
    "baseline_frame",
    "compute_kinetics",
    "compute_study",
    "compute_survival",
    "compute_table1",
    "compute_table2",
    "load_plan",
    "software_versions",
]
