"""The cohort layer: reading, the data dictionary, validation, eligibility and the patient flow.

``load_cohort`` reads a cohort (CSV, Excel, SPSS, Parquet or a folder), maps column names and
validates everything in one pass, returning a frozen ``Cohort`` or raising ``InputError``.
"""

from poems_cohort.cohort.columns import COLUMNS, VISIT_COLUMNS, Column
from poems_cohort.cohort.eligibility import (
    DEFAULT_VEGF_THRESHOLD,
    EXCLUSION_REASONS,
    Eligibility,
    PatientFlow,
    apply_eligibility,
    diagnostic_criteria,
)
from poems_cohort.cohort.engine import VisitTable
from poems_cohort.cohort.model import Cohort
from poems_cohort.cohort.readers import (
    ColumnMapping,
    RawCohort,
    input_conflict,
    read_cohort,
    read_mapping,
)
from poems_cohort.cohort.validation import DEFAULT_CUTOFF, load_cohort, validate_cohort

__all__ = [
    "COLUMNS",
    "DEFAULT_CUTOFF",
    "DEFAULT_VEGF_THRESHOLD",
    "EXCLUSION_REASONS",
    "VISIT_COLUMNS",
    "Cohort",
    "Column",
    "ColumnMapping",
    "Eligibility",
    "PatientFlow",
    "RawCohort",
    "VisitTable",
    "apply_eligibility",
    "diagnostic_criteria",
    "input_conflict",
    "load_cohort",
    "read_cohort",
    "read_mapping",
    "validate_cohort",
]
