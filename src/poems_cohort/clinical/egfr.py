"""Estimated glomerular filtration rate: CKD-EPI 2009 from serum creatinine, sex and age.

eGFR (ml/min/1.73 m²) = 141 × min(Scr/κ, 1)^α × max(Scr/κ, 1)^−1.209 × 0.993^age
× 1.018 (if female) × race factor, with Scr in mg/dl, κ = 0.7 (F) / 0.9 (M) and α = −0.329 (F) /
−0.411 (M) (Levey et al., Ann Intern Med 2009). The race factor is a setting
(``EndpointSettings.egfr_race_factor``, default 1.0: the term is omitted, see docs/endpoints.md).
A given eGFR always wins over the computed one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CKD_EPI_2009_CONSTANT = 141.0
CKD_EPI_2009_AGE_BASE = 0.993
CKD_EPI_2009_HIGH_EXPONENT = -1.209
CKD_EPI_2009_KAPPA = {"F": 0.7, "M": 0.9}
CKD_EPI_2009_ALPHA = {"F": -0.329, "M": -0.411}
CKD_EPI_2009_FEMALE_FACTOR = 1.018


def ckd_epi_2009(
    creatinine_mg_dl: pd.Series, sex: pd.Series, age: pd.Series, *, race_factor: float = 1.0
) -> pd.Series:
    """CKD-EPI 2009 eGFR (float64, ml/min/1.73 m²); NaN where an input is missing or sex unknown.

    ``creatinine_mg_dl`` must be positive where given (a non-positive value gives NaN).
    """
    scr = pd.to_numeric(creatinine_mg_dl, errors="coerce").astype("float64")
    years = pd.to_numeric(age, errors="coerce").astype("float64")
    sex_text = sex.astype("object").where(sex.notna(), None)
    kappa = sex_text.map(CKD_EPI_2009_KAPPA).astype("float64")
    alpha = sex_text.map(CKD_EPI_2009_ALPHA).astype("float64")
    female = np.where(sex_text == "F", CKD_EPI_2009_FEMALE_FACTOR, 1.0)
    ratio = scr.where(scr > 0) / kappa
    value = (
        CKD_EPI_2009_CONSTANT
        * np.minimum(ratio, 1.0) ** alpha
        * np.maximum(ratio, 1.0) ** CKD_EPI_2009_HIGH_EXPONENT
        * CKD_EPI_2009_AGE_BASE ** years
        * female
        * race_factor
    )
    return pd.Series(value, index=creatinine_mg_dl.index, dtype="float64", name="egfr")


def resolve_egfr(patients: pd.DataFrame, *, race_factor: float = 1.0) -> pd.Series:
    """The eGFR of each patient: the given ``egfr`` where present, else CKD-EPI 2009.

    Reads ``egfr``, ``creatinine_mg_dl``, ``sex`` and ``age``; a column absent from ``patients``
    counts as all missing.
    """
    def column(name: str) -> pd.Series:
        if name in patients.columns:
            return patients[name]
        return pd.Series(np.nan, index=patients.index, dtype="float64")

    given = pd.to_numeric(column("egfr"), errors="coerce").astype("float64")
    sex = patients["sex"] if "sex" in patients.columns else pd.Series(
        pd.NA, index=patients.index, dtype="object")
    computed = ckd_epi_2009(column("creatinine_mg_dl"), sex, column("age"),
                            race_factor=race_factor)
    return given.where(given.notna(), computed).rename("egfr")
