"""The analysis dataset: one row per patient with the risk group, responses and survival.

This frame is the contract with the study layer (docs/ARCHITECTURE.md); its columns and their
order are ``ANALYSIS_COLUMNS``.
"""

from __future__ import annotations

from typing import Protocol

import pandas as pd

from poems_cohort.clinical._frame import texts
from poems_cohort.clinical.egfr import resolve_egfr
from poems_cohort.clinical.responses import derive_responses
from poems_cohort.clinical.risk import risk_score
from poems_cohort.clinical.settings import EndpointSettings
from poems_cohort.clinical.survival import derive_survival
from poems_cohort.cohort.engine import VisitTable

ANALYSIS_COLUMNS: tuple[str, ...] = (
    "patient_id", "regimen", "risk_points", "risk_group",
    "crh_evaluable", "crh", "crh_months",
    "crv_evaluable", "crv", "crv_months",
    "rn_evaluable", "rn", "rn_months",
    "crh_crv_evaluable", "crh_crv", "crh_crv_months",
    "pfs_months", "pfs_event", "os_months", "os_event", "followup_months",
    "crh_last_months", "crv_last_months", "rn_last_months", "crh_crv_last_months",
    "progression", "death", "treatment_related_death", "secondary_malignancy", "egfr",
    "risk_reason",
)  # fmt: skip


class CohortFrames(Protocol):
    """Anything with canonical ``patients`` and ``visits`` frames (e.g. ``cohort.Cohort``)."""

    @property
    def patients(self) -> pd.DataFrame: ...

    @property
    def visits(self) -> pd.DataFrame | VisitTable | None: ...


def analysis_frame(
    patients: pd.DataFrame,
    visits: pd.DataFrame | VisitTable | None,
    settings: EndpointSettings | None = None,
) -> pd.DataFrame:
    """The analysis dataset from the canonical frames (see ``derive_analysis_dataset``)."""
    settings = EndpointSettings() if settings is None else settings
    egfr = resolve_egfr(patients, race_factor=settings.egfr_race_factor)
    risk = risk_score(patients.assign(egfr=egfr), settings.risk_score)
    responses = derive_responses(patients, visits, settings)
    survival = derive_survival(patients, settings)
    pieces = [
        pd.DataFrame(
            {
                "patient_id": patients["patient_id"].astype("object"),
                "regimen": texts(patients, "regimen"),
            }
        ),
        risk,
        responses,
        survival,
        egfr.to_frame(),
    ]
    if not all(p.index.equals(patients.index) for p in pieces):
        frame = pd.concat(pieces, axis=1)
        frame = frame.loc[:, list(ANALYSIS_COLUMNS)].reset_index(drop=True)
        return frame.astype({c: FLAG_DTYPE for c in frame.columns if _is_flag(frame[c])})
    # the columns taken as they are, in ANALYSIS_COLUMNS order, one block each: selecting them
    # from a concatenated frame (.loc) would copy every column (2.6 GB at 10⁷ patients)
    # (Series, not arrays: an object array given alone would be read as strings)
    rows = pd.RangeIndex(len(patients))
    column = {c: p[c] for p in pieces for c in p.columns}
    del pieces, risk, responses, survival
    out = {}
    for c in ANALYSIS_COLUMNS:
        s = column.pop(c).set_axis(rows)
        out[c] = s.astype(FLAG_DTYPE) if _is_flag(s) else s
    return pd.DataFrame(out, index=rows, copy=False)


#: the 0/1 flags' type: nullable 8-bit integers (2 bytes per patient with the mask, against 9
#: for ``Int64``); the same values, the same text in every output
FLAG_DTYPE = "Int8"


def _is_flag(s: pd.Series) -> bool:
    """A nullable integer column holding only 0, 1 or missing (``clinical._frame.flag_int``'s
    ``Int64``). Any other integer column keeps its type: pandas would wrap a value outside
    -128..127 into ``Int8`` without a word (200 becomes -56)."""
    if not isinstance(s.dtype, pd.Int64Dtype):
        return False
    low, high = s.min(), s.max()
    return bool(pd.isna(low) or (low >= 0 and high <= 1))


def derive_analysis_dataset(
    cohort: CohortFrames, settings: EndpointSettings | None = None
) -> pd.DataFrame:
    """One row per patient of ``cohort`` (in its order), columns ``ANALYSIS_COLUMNS``.

    0/1 columns are nullable ``Int8`` (``FLAG_DTYPE``); months, points and eGFR are ``float64``; ``patient_id``,
    ``regimen``, ``risk_group`` and ``risk_reason`` (why a risk factor is missing and whether the
    group was still decided; missing when every factor is known) are text (``object``, missing
    ``<NA>``). Responses come from
    ``cohort.visits`` when it is not ``None``, else from the patient-level response columns.
    Columns named in ``cohort.absent_columns`` (when it has that attribute, as ``Cohort`` does)
    were not in the user's file and count as absent, not as empty.
    """
    absent = [c for c in getattr(cohort, "absent_columns", ()) if c in cohort.patients.columns]
    return analysis_frame(cohort.patients.drop(columns=absent), cohort.visits, settings)
