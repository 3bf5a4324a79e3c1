"""Package data: the bundled synthetic cohort and the published numbers."""

from __future__ import annotations

from pathlib import Path


def bundled_cohort_path() -> Path:
    """The folder of the bundled synthetic cohort (``patients.csv`` and ``visits.csv``).

    This is the default input of ``poems-cohort run``.
    """
    return Path(__file__).resolve().parent / "synthetic"
