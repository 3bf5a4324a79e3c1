"""The validated cohort: frozen canonical frames (see docs/ARCHITECTURE.md)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from poems_cohort.cohort.columns import REGIMENS
from poems_cohort.cohort.engine import VisitTable
from poems_cohort.errors import Problem


@dataclass(frozen=True, eq=False)
class Cohort:
    """A validated cohort.

    ``patients`` has one row per patient and every column of the data dictionary in its order
    (absent optional columns are all-missing); ``visits`` is ``None`` or a ``VisitTable``, one
    row per assessment: ``len(cohort.visits)`` counts them and ``cohort.visits.to_frame()`` gives
    the pandas frame (a large CSV or Parquet table stays on disk in the engine's temporary folder
    until asked for). Frames carry a plain 0..n-1 index. They are shared, not copied: treat them
    as read-only
    and derive new frames instead of editing them in place. ``absent_columns`` names the
    patients-table columns that were not in the file (present in ``patients`` as all-missing):
    an absent ``crh_date`` means "not recorded", an empty one "not reached".
    """

    patients: pd.DataFrame
    visits: VisitTable | None
    warnings: tuple[Problem, ...]
    source: Path
    absent_columns: frozenset[str] = frozenset()

    def __repr__(self) -> str:
        visits = "none" if self.visits is None else str(len(self.visits))
        per = ", ".join(f"{k}={v}" for k, v in self.regimen_counts().items())
        return (f"Cohort(source={str(self.source)!r}, patients={len(self.patients)} ({per}), "
                f"visits={visits}, warnings={len(self.warnings)})")

    def __len__(self) -> int:
        return len(self.patients)

    def regimen_counts(self, *, only_present: bool = False) -> dict[str, int]:
        """Number of patients per regimen: ASCT, MDex, LDex (the published study's; zero
        included unless ``only_present``), then any other regimen in order of first
        appearance."""
        counts = self.patients["regimen"].value_counts()
        others = [r for r in dict.fromkeys(self.patients["regimen"].dropna()) if r not in REGIMENS]
        out = {r: int(counts.get(r, 0)) for r in (*REGIMENS, *others)}
        return {r: n for r, n in out.items() if n} if only_present else out

    def subset(self, patient_ids: Iterable[str]) -> Cohort:
        """A new cohort restricted to ``patient_ids`` (patients and their visits, order kept)."""
        wanted = set(patient_ids)
        kept = self.patients["patient_id"].isin(wanted).to_numpy(dtype=bool)
        if kept.all() and isinstance(self.patients.index, pd.RangeIndex) and (
                self.patients.index.start == 0 and self.patients.index.step == 1):
            # everyone kept: a new frame sharing the columns (pandas copies one on write)
            patients = self.patients.copy(deep=False)
        else:
            patients = self.patients.loc[kept].reset_index(drop=True)
        if self.visits is None or len(patients) == len(self.patients):
            visits = self.visits  # every patient kept: every visit too (no unknown patients)
        else:
            visits = self.visits.subset(wanted)
        return replace(self, patients=patients, visits=visits)
