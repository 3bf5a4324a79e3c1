"""Progression-free survival, overall survival and follow-up per patient.

Rules (docs/endpoints.md): times are months from ``treatment_start`` (days / ``days_per_month``).
Follow-up ends at death when a death date is given, else at the later of ``last_followup`` and
``progression_date``; it is capped at the data cutoff. OS: death on or before the cutoff is the
event, otherwise censored at the end of follow-up. PFS: the earlier of progression and death, on
or before the cutoff, is the event; a progression dated after death is ignored.

A time can never be negative: a treatment start after the data cutoff (or after the end of
follow-up) is refused with a ``ValueError`` naming the patients; eligibility excludes such
patients before derivation.
"""

from __future__ import annotations

import pandas as pd

from poems_cohort.clinical._frame import as_int01, dates, flags, months_between, texts
from poems_cohort.clinical.settings import EndpointSettings

TREATMENT_RELATED_CAUSE = "treatment-related"


def followup_end(patients: pd.DataFrame, settings: EndpointSettings) -> pd.Series:
    """The date follow-up ends per patient: death, else last contact; capped at the cutoff."""
    death = dates(patients, "death_date")
    # the later of the two dates, NaT only when both are missing (a row-wise maximum of a
    # two-column frame would copy both columns into a transposed 2-D block)
    last = dates(patients, "last_followup")
    progression = dates(patients, "progression_date")
    contact = last.where((last >= progression) | progression.isna(), progression)
    end = death.where(death.notna(), contact)
    return end.where(end.isna() | (end <= settings.cutoff), settings.cutoff).astype(
        "datetime64[ns]"
    )


def _refuse_negative(patients: pd.DataFrame, months: pd.Series, settings: EndpointSettings,
                     ) -> None:
    negative = (months < 0).to_numpy(dtype=bool)
    if not negative.any():
        return
    ids = patients["patient_id"] if "patient_id" in patients.columns else pd.Series(
        patients.index, index=patients.index)
    named = ", ".join(str(i) for i in ids[negative].head(10))
    more = f" and {int(negative.sum()) - 10} more" if negative.sum() > 10 else ""
    raise ValueError(
        f"negative time for patient(s) {named}{more}: treatment_start is after the data cutoff "
        f"{settings.cutoff.date().isoformat()} or after an event or follow-up date; exclude "
        "them first (apply_eligibility(cohort, cutoff=...))")


def followup_months(patients: pd.DataFrame, settings: EndpointSettings) -> pd.Series:
    """Months from treatment start to the end of follow-up (see ``followup_end``), float64.

    Raises ``ValueError`` when a time would be negative (treatment start after the cutoff).
    """
    start = dates(patients, "treatment_start")
    months = months_between(start, followup_end(patients, settings), settings.days_per_month)
    _refuse_negative(patients, months, settings)
    return months


def derive_survival(patients: pd.DataFrame, settings: EndpointSettings) -> pd.DataFrame:
    """PFS, OS and follow-up per patient (same index as ``patients``).

    Columns: ``pfs_months``, ``pfs_event``, ``os_months``, ``os_event``, ``followup_months``,
    ``person_years`` (float64 / Int64 0/1), ``progression``, ``death``,
    ``treatment_related_death`` (Int64 0/1: counted only on or before the cutoff) and
    ``secondary_malignancy`` (Int64 0/1/<NA>, as given). An event indicator is ``<NA>`` where its
    time is missing (no treatment start, or neither an event nor a follow-up date).

    Raises ``ValueError`` when a time would be negative (a treatment start after the data cutoff
    or after every follow-up date): such patients are excluded by eligibility.
    """
    start = dates(patients, "treatment_start")
    death = dates(patients, "death_date")
    progression = dates(patients, "progression_date")
    end = followup_end(patients, settings)
    per_month = settings.days_per_month

    died = death.notna() & (death <= settings.cutoff)
    progressed = (
        progression.notna()
        & (progression <= settings.cutoff)
        & (death.isna() | (progression <= death))
    )
    pfs_date = progression.where(progressed, death.where(died))
    pfs_happened = progressed | died
    os_date = death.where(died, end)
    pfs_end = pfs_date.where(pfs_happened, end)

    os_months = months_between(start, os_date, per_month)
    pfs_months = months_between(start, pfs_end, per_month)
    follow = months_between(start, end, per_month)
    for months in (follow, os_months, pfs_months):
        _refuse_negative(patients, months, settings)

    cause = texts(patients, "death_cause")
    treatment_related = died & (cause == TREATMENT_RELATED_CAUSE).fillna(False).astype(bool)
    return pd.DataFrame(
        {
            "pfs_months": pfs_months,
            "pfs_event": as_int01(pfs_happened.astype("boolean").mask(pfs_months.isna())),
            "os_months": os_months,
            "os_event": as_int01(died.astype("boolean").mask(os_months.isna())),
            "followup_months": follow,
            "person_years": follow / 12.0,
            "progression": as_int01(progressed),
            "death": as_int01(died),
            "treatment_related_death": as_int01(treatment_related),
            "secondary_malignancy": as_int01(flags(patients, "secondary_malignancy")),
        },
        index=patients.index,
    )
