"""POEMS rules: eGFR (CKD-EPI 2009), the Wang risk score, response criteria, PFS/OS derivation.

The analysis dataset (``derive_analysis_dataset``) is the contract with the study layer; see
docs/ARCHITECTURE.md and docs/endpoints.md.
"""

from poems_cohort.clinical.dataset import (
    ANALYSIS_COLUMNS,
    analysis_frame,
    derive_analysis_dataset,
)
from poems_cohort.clinical.egfr import ckd_epi_2009, resolve_egfr
from poems_cohort.clinical.responses import (
    RESPONSES,
    absent_sources,
    assessment_responses,
    baseline_evaluable,
    derive_responses,
)
from poems_cohort.clinical.risk import WANG_RISK_SCORE, RiskFactor, RiskScoreDefinition, risk_score
from poems_cohort.clinical.settings import EndpointSettings
from poems_cohort.clinical.survival import derive_survival, followup_end, followup_months

__all__ = [
    "ANALYSIS_COLUMNS",
    "RESPONSES",
    "WANG_RISK_SCORE",
    "EndpointSettings",
    "RiskFactor",
    "RiskScoreDefinition",
    "absent_sources",
    "analysis_frame",
    "assessment_responses",
    "baseline_evaluable",
    "ckd_epi_2009",
    "derive_analysis_dataset",
    "derive_responses",
    "derive_survival",
    "followup_end",
    "followup_months",
    "resolve_egfr",
    "risk_score",
]
