"""Formatting only: tables (CSV, XLSX, DOCX), figures (matplotlib), report.html, results.json.

Nothing here computes a statistic; every number comes from ``StudyResults``.
"""

from poems_cohort.report.output import Outputs, build_outputs, write_outputs
from poems_cohort.report.pipeline import RunSummary, run_pipeline

__all__ = ["Outputs", "RunSummary", "build_outputs", "run_pipeline", "write_outputs"]
