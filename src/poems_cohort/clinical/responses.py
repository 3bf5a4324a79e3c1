"""Response criteria: haematologic (CRH), VEGF (CRV), neurological (RN) and CRH/CRV.

Two sources, chosen per cohort: repeated assessments (the visits table) when the cohort has one,
otherwise the patient-level columns ``crh_date``, ``crv_date``, ``rn_date`` and
``crh_evaluable``, ``crv_evaluable``, ``rn_evaluable``. Baseline values are the patients table's
own columns. A response counts only at an assessment strictly after ``treatment_start`` and on
or before the data cutoff. A response whose source is absent altogether (no visits column for
its measurement, or a visits column without a single value; without visits, no ``R_date``
column) is not evaluable for any patient. The rules and edge cases are in docs/endpoints.md.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from poems_cohort.clinical._frame import as_int01, dates, flags, months_between, numbers, texts
from poems_cohort.clinical.settings import EndpointSettings
from poems_cohort.clinical.survival import followup_months
from poems_cohort.cohort.columns import RESPONSE_SOURCES
from poems_cohort.cohort.engine import VisitTable, first_response_dates

RESPONSES: tuple[str, ...] = ("crh", "crv", "rn")
"""The single responses; ``crh_crv`` is derived from ``crh`` and ``crv``."""

POSITIVE = "positive"
NEGATIVE = "negative"


def baseline_evaluable(patients: pd.DataFrame, settings: EndpointSettings) -> pd.DataFrame:
    """Evaluability from baseline values (``boolean``, never missing; same index as patients).

    ``crh``: baseline serum or urine immunofixation positive. ``crv``: baseline VEGF at or above
    ``vegf_normal_below``. ``rn``: baseline ONLS at or above ``onls_min_drop``. A missing
    baseline value makes the patient not evaluable for that response.
    """
    serum, urine = texts(patients, "serum_ife"), texts(patients, "urine_ife")
    vegf, onls = numbers(patients, "vegf_pg_ml"), numbers(patients, "onls")
    return pd.DataFrame(
        {
            "crh": (serum == POSITIVE).fillna(False) | (urine == POSITIVE).fillna(False),
            "crv": (vegf >= settings.vegf_normal_below).fillna(False),
            "rn": (onls >= settings.onls_min_drop).fillna(False),
        },
        index=patients.index,
    ).astype("boolean")


def _flc_normal(kappa: pd.Series, lam: pd.Series, settings: EndpointSettings) -> pd.Series:
    """True: ratio normal or FLC not measured; False: ratio abnormal; <NA>: one chain only."""
    low, high = settings.flc_ratio_normal
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = kappa / lam
    both = kappa.notna() & lam.notna()
    neither = kappa.isna() & lam.isna()
    normal = ((ratio >= low) & (ratio <= high)).astype("boolean")
    out = pd.Series(pd.NA, index=kappa.index, dtype="boolean")
    out[neither] = True
    defined = both & ratio.notna()
    out[defined] = normal[defined]
    return out


def assessment_responses(
    patients: pd.DataFrame, visits: pd.DataFrame, settings: EndpointSettings
) -> pd.DataFrame:
    """The response state at each usable assessment.

    Keeps the visits strictly after the patient's ``treatment_start`` and on or before the
    cutoff (visits of unknown patients are dropped), sorted by patient and date. Columns:
    ``patient_id``, ``visit_date``, ``months`` (from treatment start) and ``crh``, ``crv``,
    ``rn`` (``boolean``: True = criterion met, False = judged not met, ``<NA>`` = could not be
    judged at that assessment).
    """
    base = pd.DataFrame(
        {
            "patient_id": patients["patient_id"].to_numpy(),
            "_start": dates(patients, "treatment_start").to_numpy(),
            "_baseline_onls": numbers(patients, "onls").to_numpy(),
        }
    )
    v = visits.reset_index(drop=True).merge(base, on="patient_id", how="inner")
    visit_date = dates(v, "visit_date")
    keep = (visit_date > v["_start"]) & (visit_date <= settings.cutoff)
    v = v.loc[keep.to_numpy()].reset_index(drop=True)
    visit_date = dates(v, "visit_date")

    serum, urine = texts(v, "serum_ife"), texts(v, "urine_ife")
    any_positive = (serum == POSITIVE).fillna(False) | (urine == POSITIVE).fillna(False)
    both_negative = (serum == NEGATIVE).fillna(False) & (urine == NEGATIVE).fillna(False)
    flc = _flc_normal(numbers(v, "flc_kappa_mg_l"), numbers(v, "flc_lambda_mg_l"), settings)
    crh = pd.Series(pd.NA, index=v.index, dtype="boolean")
    crh[both_negative] = flc[both_negative]
    crh[any_positive] = False

    vegf = numbers(v, "vegf_pg_ml")
    crv = (vegf < settings.vegf_normal_below).astype("boolean").mask(vegf.isna())
    onls = numbers(v, "onls")
    target = v["_baseline_onls"].astype("float64") - settings.onls_min_drop
    rn = (onls <= target).astype("boolean").mask(onls.isna() | target.isna())

    out = pd.DataFrame(
        {
            "patient_id": v["patient_id"],
            "visit_date": visit_date,
            "months": months_between(v["_start"], visit_date, settings.days_per_month),
            "crh": crh,
            "crv": crv,
            "rn": rn,
        }
    )
    return out.sort_values(["patient_id", "visit_date"], kind="stable").reset_index(drop=True)


def _per_patient(ids: pd.Series, by_id: pd.Series) -> pd.Series:
    """A per-patient date (``by_id`` indexed by patient id) aligned on ``ids``; NaT where absent."""
    values = by_id.astype("datetime64[ns]").reindex(pd.Index(ids.to_numpy())).to_numpy()
    return pd.Series(values, index=ids.index, dtype="datetime64[ns]")


def response_dates(patients: pd.DataFrame, visits: pd.DataFrame,
                   settings: EndpointSettings) -> pd.DataFrame:
    """Per patient with a usable assessment (indexed by patient id): the first visit date each
    response criterion is met (``crh_first``, ...) and the last date it could be judged
    (``crh_last``, ...), from ``assessment_responses`` (pandas)."""
    states = assessment_responses(patients, visits, settings)
    columns = {}
    for name in RESPONSES:
        met = states.loc[states[name].fillna(False).astype(bool)]
        judged = states.loc[states[name].notna()]
        columns[f"{name}_first"] = met.groupby("patient_id")["visit_date"].min()
        columns[f"{name}_last"] = judged.groupby("patient_id")["visit_date"].max()
    index = pd.Index(states["patient_id"].unique())
    return pd.DataFrame({k: v.reindex(index) for k, v in columns.items()}, index=index)


def engine_response_dates(patients: pd.DataFrame, visits: VisitTable,
                          settings: EndpointSettings) -> pd.DataFrame:
    """``response_dates`` as one grouped query of the engine (``cohort.engine``), aligned on
    ``patients`` (its index, one row per patient, NaT where no visit): the visits are never
    materialised in pandas, and the result is placed by patient position."""
    return first_response_dates(
        visits, patients["patient_id"], dates(patients, "treatment_start"),
        numbers(patients, "onls"), cutoff=settings.cutoff,
        vegf_below=settings.vegf_normal_below, flc_normal=settings.flc_ratio_normal,
        onls_drop=settings.onls_min_drop)


def _from_visits(
    patients: pd.DataFrame, visits: pd.DataFrame | VisitTable, settings: EndpointSettings
) -> dict[str, tuple[pd.Series, pd.Series, pd.Series, pd.Series]]:
    """Per response: (evaluable, reached, months, last_months), aligned on patients' index.

    Visits held on disk by the engine are derived by its grouped query, others in pandas."""
    evaluable = baseline_evaluable(patients, settings)
    if isinstance(visits, VisitTable) and visits.on_disk:
        found = engine_response_dates(patients, visits, settings)
    else:  # indexed by patient id: aligned on the patients as the engine's result is
        frame = visits.to_frame() if isinstance(visits, VisitTable) else visits
        by_id = response_dates(patients, frame, settings)
        found = pd.DataFrame({c: _per_patient(patients["patient_id"], by_id[c])
                              for c in by_id.columns}, index=patients.index)
    start = dates(patients, "treatment_start")
    out = {}
    for name in RESPONSES:
        first = found[f"{name}_first"]
        last = found[f"{name}_last"]
        ev = evaluable[name].astype(bool)
        if name == "rn" and settings.rn_evaluable == "assessed":
            ev = ev & last.notna()  # ONLS recorded after treatment start
        reached = ev & first.notna()
        months = months_between(start, first, settings.days_per_month).where(reached)
        last_date = last.where(last.notna(), start)  # no judged assessment: 0 months
        last_months = months_between(start, last_date, settings.days_per_month)
        last_months = months.where(reached, last_months).where(ev)
        out[name] = (ev, reached, months, last_months)
    return out


def _from_patient_columns(
    patients: pd.DataFrame, settings: EndpointSettings
) -> dict[str, tuple[pd.Series, pd.Series, pd.Series, pd.Series]]:
    """Per response: (evaluable, reached, months, last_months) from ``*_date``/``*_evaluable``."""
    baseline = baseline_evaluable(patients, settings)
    start = dates(patients, "treatment_start")
    follow = followup_months(patients, settings)
    out = {}
    for name in RESPONSES:
        given = flags(patients, f"{name}_evaluable")
        ev = given.where(given.notna(), baseline[name]).astype(bool)
        when = dates(patients, f"{name}_date")
        reached = ev & when.notna() & (when > start) & (when <= settings.cutoff)
        months = months_between(start, when, settings.days_per_month).where(reached)
        last_months = months.where(reached, follow).where(ev)
        out[name] = (ev, reached, months, last_months)
    return out


def absent_sources(patients: pd.DataFrame, visits: pd.DataFrame | VisitTable | None,
                   ) -> dict[str, tuple[str, ...]]:
    """Per response (``crh``, ``crv``, ``rn``) whose source is absent, the missing columns.

    With a visits table, a response's measurement columns (``RESPONSE_SOURCES``) must be present
    and hold at least one value; without one, the patients table must have the ``R_date`` column
    (an empty ``R_date`` column means "not reached", an absent one "not recorded").
    """
    if visits is None:
        return {r: (f"{r}_date",) for r in RESPONSES if f"{r}_date" not in patients.columns}
    out: dict[str, tuple[str, ...]] = {}
    for name in RESPONSES:
        if isinstance(visits, VisitTable):
            missing = tuple(c for c in RESPONSE_SOURCES[name] if not visits.has_values(c))
        else:
            missing = tuple(c for c in RESPONSE_SOURCES[name]
                            if c not in visits.columns or not visits[c].notna().any())
        if missing:
            out[name] = missing
    return out


def derive_responses(
    patients: pd.DataFrame, visits: pd.DataFrame | VisitTable | None,
    settings: EndpointSettings
) -> pd.DataFrame:
    """CRH, CRV, RN and CRH/CRV per patient (same index as ``patients``).

    For each response ``R`` in ``crh, crv, rn, crh_crv``: ``R_evaluable`` (Int64 0/1),
    ``R`` (Int64 0/1, ``<NA>`` when not evaluable), ``R_months`` (float64, months from treatment
    start to the first assessment meeting the criterion; NaN when not reached) and
    ``R_last_months`` (float64: the response time for responders, else the months to the last
    assessment on or before the cutoff at which the response could be judged; NaN when not
    evaluable). Uses ``visits`` (a frame or a ``cohort.engine.VisitTable``) when it is not
    ``None``, else the patient-level columns. A
    response whose source is absent (``absent_sources``) is not evaluable for any patient.
    """
    parts = (
        _from_patient_columns(patients, settings)
        if visits is None
        else _from_visits(patients, visits, settings)
    )
    for name in absent_sources(patients, visits):
        _ev, reached, months, last_months = parts[name]
        never = pd.Series(False, index=patients.index, dtype=bool)
        parts[name] = (never, reached & never, months.where(never), last_months.where(never))
    crh_ev, crh_hit, crh_m, crh_last = parts["crh"]
    crv_ev, crv_hit, crv_m, crv_last = parts["crv"]
    reached = crh_hit | crv_hit
    if settings.crh_crv_evaluable == "both-or-responder":
        ev = (crh_ev & crv_ev) | reached
    else:  # "either"
        ev = crh_ev | crv_ev
    months = pd.concat([crh_m, crv_m], axis=1).min(axis=1).where(reached)
    lasts = pd.concat([crh_last.where(crh_ev), crv_last.where(crv_ev)], axis=1).min(axis=1)
    last_months = months.where(reached, lasts).where(ev)
    parts["crh_crv"] = (ev, reached, months, last_months)

    columns: dict[str, pd.Series] = {}
    for name in (*RESPONSES, "crh_crv"):
        ev, reached, months, last_months = parts[name]
        columns[f"{name}_evaluable"] = as_int01(ev)
        columns[name] = as_int01(reached.astype("boolean").where(ev, pd.NA))
        columns[f"{name}_months"] = months.astype("float64")
        columns[f"{name}_last_months"] = last_months.astype("float64")
    return pd.DataFrame(columns, index=patients.index)
