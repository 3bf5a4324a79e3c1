"""The comparative section of the analysis plan (``[comparative]`` in a plan file): adjusted
hazard ratios, propensity weights, RMST, competing risks of response and landmark analyses.

The covariates are named from a fixed catalogue (``COVARIATES``) of baseline variables, each
either continuous or binary, so that a plan file names them as a reader of Table 1 would.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from poems_cohort.errors import Problem

#: covariates a plan can name: name → (kind, label). Continuous ones enter the propensity model
#: as values (missing: median + indicator); binary ones as 0/1 (missing: a level of its own).
COVARIATES: dict[str, tuple[str, str]] = {
    "age": ("continuous", "Age, years"),
    "onls": ("continuous", "ONLS score"),
    "log_vegf": ("continuous", "VEGF, log pg/ml"),
    "albumin": ("continuous", "Albumin, g/l"),
    "egfr": ("continuous", "eGFR, ml/min/1.73 m²"),
    "spe": ("continuous", "SPE, g/l"),
    "bmpc": ("continuous", "BMPC, %"),
    "urine_protein": ("continuous", "24-h urine protein, g"),
    "male": ("binary", "Male"),
    "age_over_50": ("binary", "Age > 50 years"),
    "pulmonary_hypertension": ("binary", "Pulmonary hypertension"),
    "pleural_effusion": ("binary", "Pleural effusion"),
    "egfr_below_30": ("binary", "eGFR < 30 ml/min/1.73 m²"),
    "onls_over_4": ("binary", "ONLS > 4"),
    "hepatomegaly": ("binary", "Hepatomegaly"),
    "splenomegaly": ("binary", "Splenomegaly"),
    "lymphadenopathy": ("binary", "Lymphadenopathy"),
    "iga_heavy_chain": ("binary", "IgA heavy chain"),
    "spe_over_5": ("binary", "SPE > 5 g/l"),
    "bmpc_over_10": ("binary", "BMPC > 10%"),
    "angioma": ("binary", "Angioma"),
    "peripheral_edema": ("binary", "Peripheral edema"),
    "ascites": ("binary", "Ascites"),
    "castleman": ("binary", "Castleman disease"),
    "papilledema": ("binary", "Papilledema"),
    "osteosclerosis": ("binary", "Osteosclerosis"),
    "albumin_below_30": ("binary", "Albumin < 30 g/l"),
    "urine_protein_over_1": ("binary", "24-h urine protein > 1 g"),
    "vegf_over_4000": ("binary", "VEGF > 4000 pg/ml"),
}

#: the multivariable model's default covariates: the four risk factors and sex
DEFAULT_MV_COVARIATES: tuple[str, ...] = (
    "age_over_50", "pulmonary_hypertension", "pleural_effusion", "egfr_below_30", "male")

#: the propensity model's named covariates (always used when given by default)
DEFAULT_PS_COVARIATES: tuple[str, ...] = (
    "age", "male", "onls", "pulmonary_hypertension", "pleural_effusion", "egfr_below_30",
    "log_vegf", "albumin")

#: Table 1 characteristics added to the default propensity model when less than
#: ``propensity_max_missing`` of their values are missing (those that repeat a named covariate
#: on a cut scale — age, ONLS, albumin, VEGF, eGFR, sex — are not added twice)
TABLE1_CANDIDATES: tuple[str, ...] = (
    "hepatomegaly", "splenomegaly", "lymphadenopathy", "iga_heavy_chain", "spe_over_5",
    "bmpc_over_10", "angioma", "peripheral_edema", "ascites", "castleman", "papilledema",
    "osteosclerosis", "urine_protein_over_1")


@dataclass(frozen=True, slots=True)
class ComparativePlan:
    """What the comparative analyses use (``docs/study.md``, "Comparative analyses").

    - ``covariates``: the multivariable Cox model's covariates (complete cases).
    - ``propensity_covariates``: the propensity model's covariates; empty means the default rule
      (``DEFAULT_PS_COVARIATES`` and every Table 1 characteristic of ``TABLE1_CANDIDATES`` with
      less than ``propensity_max_missing`` missing).
    - ``stabilized``: stabilised IPTW weights (multiplied by the arm's share).
    - ``truncation``: ``[lo, hi]`` percentiles the weights are truncated at, or empty for none.
    - ``tau_months``: the RMST horizon.
    - ``landmarks_months``: landmarks of the response → survival analysis.
    - ``incidence_months``: times of the cumulative incidences of response.
    """

    covariates: tuple[str, ...] = DEFAULT_MV_COVARIATES
    propensity_covariates: tuple[str, ...] = ()
    propensity_max_missing: float = 0.10
    stabilized: bool = False
    truncation: tuple[float, ...] = ()
    tau_months: float = 36.0
    landmarks_months: tuple[float, ...] = (6.0, 12.0)
    incidence_months: tuple[float, ...] = (6.0, 12.0)

    def to_dict(self) -> dict[str, Any]:
        return {"covariates": list(self.covariates),
                "propensity_covariates": list(self.propensity_covariates),
                "propensity_max_missing": self.propensity_max_missing,
                "stabilized": self.stabilized, "truncation": list(self.truncation),
                "tau_months": self.tau_months, "landmarks_months": list(self.landmarks_months),
                "incidence_months": list(self.incidence_months)}


_KEYS = ("covariates", "propensity_covariates", "propensity_max_missing", "stabilized",
         "truncation", "tau_months", "landmarks_months", "incidence_months")


def _finite(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def check_comparative(c: ComparativePlan, src: str) -> list[Problem]:
    """Every problem of the section, each naming its key (``comparative.<key>``) and value."""
    out: list[Problem] = []

    def bad(key: str, value: object, expected: str) -> None:
        out.append(Problem(src, None, f"comparative.{key}", value, expected))

    known = sorted(COVARIATES)
    for key in ("covariates", "propensity_covariates"):
        names = list(getattr(c, key))
        unknown = [n for n in names if n not in COVARIATES]
        if unknown or len(set(names)) != len(names):
            bad(key, names, f"distinct covariate names among {known}")
    if not c.covariates:
        bad("covariates", [], "at least one covariate")
    if not (_finite(c.propensity_max_missing) and 0 <= c.propensity_max_missing <= 1):
        bad("propensity_max_missing", c.propensity_max_missing, "a fraction between 0 and 1")
    if not isinstance(c.stabilized, bool):
        bad("stabilized", c.stabilized, "true or false")
    t = list(c.truncation)
    if t and not (len(t) == 2 and all(_finite(v) for v in t) and 0 <= t[0] < t[1] <= 100):
        bad("truncation", t, "[] or two percentiles [lo, hi] with 0 <= lo < hi <= 100, "
            "e.g. [1, 99]")
    if not (_finite(c.tau_months) and c.tau_months > 0):
        bad("tau_months", c.tau_months, "a positive number of months (e.g. 36)")
    for key in ("landmarks_months", "incidence_months"):
        v = list(getattr(c, key))
        if not v or not all(_finite(x) and x > 0 for x in v) or len(set(v)) != len(v):
            bad(key, v, "at least one time in months, each positive and given once")
    return out


def convert_comparative(value: Any) -> ComparativePlan:
    """The ``[comparative]`` table of a plan file as a ``ComparativePlan``. A value of the wrong
    type is a ``ValueError`` naming every bad key at once, with the problems of the other keys'
    values (their ranges, checked by :func:`check_comparative`)."""
    if not isinstance(value, dict):
        raise TypeError("a table of comparative settings")
    messages: list[str] = []
    unknown = [k for k in value if k not in _KEYS]
    if unknown:
        messages.append(f"known comparative keys, one of {list(_KEYS)} (unknown: {unknown})")
    kw: dict[str, Any] = {}
    for key, v in value.items():
        if key in unknown:
            continue
        if key in ("covariates", "propensity_covariates"):
            if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                messages.append(f"comparative.{key}: a list of covariate names")
                continue
            kw[key] = tuple(v)
        elif key in ("truncation", "landmarks_months", "incidence_months"):
            if not isinstance(v, list) or not all(
                    isinstance(x, int | float) and not isinstance(x, bool) for x in v):
                messages.append(f"comparative.{key}: a list of numbers")
                continue
            kw[key] = tuple(float(x) for x in v)
        elif key == "stabilized":
            if not isinstance(v, bool):
                messages.append("comparative.stabilized: true or false")
                continue
            kw[key] = v
        else:
            if isinstance(v, bool) or not isinstance(v, int | float):
                messages.append(f"comparative.{key}: a number")
                continue
            kw[key] = float(v)
    plan = ComparativePlan(**kw)
    if messages:
        messages += [f"{p.column}: {p.expected}" for p in check_comparative(plan, "")]
        raise ValueError("; ".join(messages))
    return plan
