"""POEMS rules: eGFR (CKD-EPI 2009), the Wang risk score, response criteria, PFS/OS derivation.

The analysis dataset (``derive_analysis_dataset``) is the contract with the study layer; see
docs/ARCHITECTURE.md and docs/endpoints.md.
"""

from poems_cohort.clinical.egfr import ckd_epi_2009, resolve_egfr
from poems_cohort.clinical.risk import WANG_RISK_SCORE, RiskFactor, RiskScoreDefinition, risk_score
from poems_cohort.clinical.settings import EndpointSettings

__all__ = [
    "WANG_RISK_SCORE",
    "EndpointSettings",
    "RiskFactor",
    "RiskScoreDefinition",
    "ckd_epi_2009",
    "resolve_egfr",
    "risk_score",
]
