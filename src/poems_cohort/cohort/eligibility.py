"""Eligibility (the Dispenzieri diagnostic criteria, the study's regimens, complete data) and the
patient flow.

Each criterion is three-valued: met, not met, or not evaluable (its fields are empty or the
column is absent). Groups combine with Kleene logic: a group of alternatives is met when one
alternative is met and not met only when every alternative is evaluable and not met.

* Mandatory: ``polyneuropathy`` and ``monoclonal_plasma_cell``.
* Major (at least one): ``castleman``, ``osteosclerosis``, VEGF ≥ ``vegf_threshold`` pg/ml
  (default 600, the upper limit of normal used by the study).
* Minor (at least one): organomegaly (hepatomegaly, splenomegaly or lymphadenopathy),
  extravascular volume overload (peripheral oedema, ascites or pleural effusion),
  ``endocrinopathy``, skin changes (``skin_changes`` or ``angioma``: angiomata are one of the
  skin changes of the criteria), ``papilledema``, ``thrombocytosis_or_polycythemia``.

A patient is excluded for the first reason that applies, in this order: regimen not in the
study's set; diagnostic criteria evaluable and not met; incomplete treatment or follow-up data
(no ``treatment_start``, or neither ``last_followup`` nor ``death_date``); treatment started after
the data cutoff (nothing of such a patient can be observed by the cutoff, and every time would be
negative). A patient whose diagnosis cannot be fully evaluated is included and counted as such in
the flow.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import pandas as pd

from poems_cohort.cohort.model import Cohort
from poems_cohort.cohort.validation import DEFAULT_CUTOFF
from poems_cohort.defaults import VEGF_UPPER_NORMAL

DEFAULT_VEGF_THRESHOLD = VEGF_UPPER_NORMAL
"""VEGF (pg/ml) at or above which the major criterion "VEGF elevation" is met."""

EXCLUSION_REASONS: tuple[str, ...] = (
    "regimen not in the study's set",
    "POEMS diagnostic criteria not met",
    "incomplete treatment or follow-up data",
    "treatment started after the data cutoff",
)
NOT_EVALUABLE = "diagnostic criteria not fully evaluable"
EXCLUDED_BY_REGIMEN = "excluded, regimen"
CRITERIA: tuple[str, ...] = ("mandatory", "major", "minor")


@dataclass(frozen=True)
class PatientFlow:
    """The patient flow: screened, excluded per reason, included per regimen.

    ``excluded`` always lists every reason of ``EXCLUSION_REASONS`` (zero counts included);
    ``included_by_regimen`` lists every regimen of the study's set; ``not_evaluable`` counts the
    included patients whose diagnosis or one of its criterion groups could not be evaluated;
    ``excluded_by_regimen`` counts the patients excluded because their regimen is not in the
    study's set, per regimen (in order of first appearance; missing regimen as ``"(none)"``).
    """

    screened: int
    excluded: Mapping[str, int]
    included: int
    included_by_regimen: Mapping[str, int]
    not_evaluable: Mapping[str, int]
    excluded_by_regimen: Mapping[str, int] = field(default_factory=dict)

    def __repr__(self) -> str:
        out = ", ".join(f"{k}={v}" for k, v in self.excluded.items() if v)
        per = ", ".join(f"{k}={v}" for k, v in self.included_by_regimen.items())
        return (f"PatientFlow(screened={self.screened}, excluded={sum(self.excluded.values())}"
                f"{' (' + out + ')' if out else ''}, included={self.included} ({per}), "
                f"{NOT_EVALUABLE}={self.not_evaluable[NOT_EVALUABLE]})")

    def to_frame(self) -> pd.DataFrame:
        """One row per count: columns ``stage`` (screened / excluded / included / flagged),
        ``detail`` and ``n``; the patients on a regimen outside the study's set are counted
        per regimen under the stage ``"excluded, regimen"``."""
        rows = [("screened", "all", self.screened)]
        rows += [("excluded", reason, n) for reason, n in self.excluded.items()]
        rows += [("included", "all", self.included)]
        rows += [("included", regimen, n) for regimen, n in self.included_by_regimen.items()]
        rows += [("flagged", what, n) for what, n in self.not_evaluable.items()]
        rows += [(EXCLUDED_BY_REGIMEN, regimen, n)
                 for regimen, n in self.excluded_by_regimen.items()]
        frame = pd.DataFrame(rows, columns=["stage", "detail", "n"])
        frame["n"] = frame["n"].astype("int64")
        return frame


@dataclass(frozen=True, eq=False)
class Eligibility:
    """The included cohort, the flow, and the per-patient decisions.

    ``decisions`` has one row per screened patient: ``patient_id``, ``regimen``, the three
    criterion groups and ``diagnosis`` (pandas ``boolean``; missing = not evaluable),
    ``excluded_reason`` (missing when included) and ``included``.
    """

    included: Cohort
    flow: PatientFlow
    decisions: pd.DataFrame

    def __repr__(self) -> str:
        return f"Eligibility(included={len(self.included)}, flow={self.flow!r})"


def _flag(frame: pd.DataFrame, name: str) -> pd.Series:
    return frame[name].astype("boolean")


def _any(parts: Iterable[pd.Series]) -> pd.Series:
    out: pd.Series | None = None
    for part in parts:
        out = part if out is None else (out | part)
    assert out is not None
    return out


def diagnostic_criteria(patients: pd.DataFrame, *,
                        vegf_threshold: float = DEFAULT_VEGF_THRESHOLD) -> pd.DataFrame:
    """The three criterion groups and the diagnosis per patient (``boolean``, NA = not evaluable)."""
    p = patients
    vegf = pd.array(p["vegf_pg_ml"] >= vegf_threshold, dtype="boolean")
    vegf[p["vegf_pg_ml"].isna().to_numpy()] = pd.NA
    mandatory = _flag(p, "polyneuropathy") & _flag(p, "monoclonal_plasma_cell")
    major = _any([_flag(p, "castleman"), _flag(p, "osteosclerosis"),
                  pd.Series(vegf, index=p.index)])
    minor = _any([
        _any([_flag(p, "hepatomegaly"), _flag(p, "splenomegaly"), _flag(p, "lymphadenopathy")]),
        _any([_flag(p, "peripheral_edema"), _flag(p, "ascites"), _flag(p, "pleural_effusion")]),
        _flag(p, "endocrinopathy"),
        _any([_flag(p, "skin_changes"), _flag(p, "angioma")]),
        _flag(p, "papilledema"),
        _flag(p, "thrombocytosis_or_polycythemia"),
    ])
    return pd.DataFrame({"mandatory": mandatory, "major": major, "minor": minor,
                         "diagnosis": mandatory & major & minor}, index=p.index)


def _cutoff_timestamp(cutoff: dt.date | str | pd.Timestamp) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(cutoff)
    except (TypeError, ValueError):
        stamp = pd.NaT
    if pd.isna(stamp) or isinstance(cutoff, bool):
        raise ValueError(f"cutoff must be a date, got {cutoff!r}")
    return stamp.normalize()


def _count_by_regimen(regimen: pd.Series) -> dict[str, int]:
    names = regimen.astype(object).where(regimen.notna(), "(none)")
    return {str(r): int((names == r).sum()) for r in dict.fromkeys(names)}


def apply_eligibility(cohort: Cohort, *, regimens: Iterable[str] = ("MDex", "ASCT", "LDex"),
                      vegf_threshold: float = DEFAULT_VEGF_THRESHOLD,
                      cutoff: dt.date | str | pd.Timestamp = DEFAULT_CUTOFF) -> Eligibility:
    """Apply the study's inclusion rules (see the module docstring) and count the patient flow.

    ``cutoff`` is the data cutoff of the analysis (default 2018-08-31, as ``load_cohort``): a
    patient whose treatment started after it is excluded.
    """
    wanted = tuple(dict.fromkeys(regimens))
    if not all(isinstance(r, str) and r.strip() for r in wanted):
        raise ValueError(f"regimens must be non-empty names, got {list(wanted)}")
    if vegf_threshold <= 0:
        raise ValueError(f"vegf_threshold must be positive, got {vegf_threshold}")
    limit = _cutoff_timestamp(cutoff)
    p = cohort.patients
    criteria = diagnostic_criteria(p, vegf_threshold=vegf_threshold)
    in_set = p["regimen"].isin(wanted).to_numpy()
    fails = (criteria["diagnosis"] == False).fillna(False).to_numpy(dtype=bool)  # noqa: E712
    complete = (p["treatment_start"].notna()
                & (p["last_followup"].notna() | p["death_date"].notna())).to_numpy()
    late = (p["treatment_start"] > limit).fillna(False).to_numpy(dtype=bool)
    reason = pd.Series(pd.NA, index=p.index, dtype=object)
    reason[late] = EXCLUSION_REASONS[3]
    reason[~complete] = EXCLUSION_REASONS[2]
    reason[fails] = EXCLUSION_REASONS[1]
    reason[~in_set] = EXCLUSION_REASONS[0]
    included = reason.isna().to_numpy()
    decisions = pd.concat([p[["patient_id", "regimen"]], criteria], axis=1)
    decisions["excluded_reason"] = reason
    decisions["included"] = included
    kept = decisions.loc[included]
    flow = PatientFlow(
        screened=len(p),
        excluded={r: int((reason == r).sum()) for r in EXCLUSION_REASONS},
        included=int(included.sum()),
        included_by_regimen={r: int((kept["regimen"] == r).sum()) for r in wanted},
        not_evaluable={
            NOT_EVALUABLE: int(kept["diagnosis"].isna().sum()),
            **{f"{group} criteria not evaluable": int(kept[group].isna().sum())
               for group in CRITERIA},
        },
        excluded_by_regimen=_count_by_regimen(p["regimen"][~in_set]),
    )
    return Eligibility(cohort.subset(kept["patient_id"]), flow,
                       decisions.reset_index(drop=True))
