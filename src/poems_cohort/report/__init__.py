"""Formatting only: tables (CSV, XLSX, DOCX), figures (matplotlib), report.html, results.json.

Nothing here computes a statistic; every number comes from ``StudyResults``. The whole run (read
→ study → render → write) is :func:`poems_cohort.workflow.run`.
"""

from poems_cohort.report.output import Outputs, build_outputs, write_outputs
from poems_cohort.report.pipeline import render, write

__all__ = ["Outputs", "build_outputs", "render", "write", "write_outputs"]
