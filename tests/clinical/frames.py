"""Tiny hand-built cohorts in the canonical dtypes of docs/ARCHITECTURE.md."""

from __future__ import annotations

import numpy as np
import pandas as pd

DATE_COLUMNS = ("treatment_start", "progression_date", "death_date", "last_followup",
                "crh_date", "crv_date", "rn_date")
NUMBER_COLUMNS = ("age", "onls", "egfr", "creatinine_mg_dl", "vegf_pg_ml", "flc_kappa_mg_l",
                  "flc_lambda_mg_l")
FLAG_COLUMNS = ("pulmonary_hypertension", "pleural_effusion", "secondary_malignancy",
                "crh_evaluable", "crv_evaluable", "rn_evaluable")
TEXT_COLUMNS = ("sex", "regimen", "serum_ife", "urine_ife", "death_cause")

PATIENT_DEFAULTS = {
    "sex": "M", "regimen": "ASCT", "age": 40.0, "onls": 4.0, "egfr": 90.0,
    "pulmonary_hypertension": False, "pleural_effusion": False, "serum_ife": "positive",
    "urine_ife": "negative", "vegf_pg_ml": 3000.0, "treatment_start": "2010-01-01",
    "last_followup": "2012-01-01",
}  # fmt: skip

VISIT_NUMBERS = ("flc_kappa_mg_l", "flc_lambda_mg_l", "vegf_pg_ml", "onls")


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    for name in DATE_COLUMNS + ("visit_date",):
        if name in frame:
            frame[name] = pd.to_datetime(frame[name]).astype("datetime64[ns]")
    for name in NUMBER_COLUMNS:
        if name in frame:
            frame[name] = frame[name].astype("float64")
    for name in FLAG_COLUMNS:
        if name in frame:
            frame[name] = frame[name].astype("boolean")
    for name in TEXT_COLUMNS + ("patient_id",):
        if name in frame:
            column = frame[name].astype("object")
            frame[name] = column.where(column.notna(), pd.NA)
    return frame


def patients(*rows: dict) -> pd.DataFrame:
    """Patients P1, P2, ... with sensible defaults; every canonical column present."""
    records = []
    for i, row in enumerate(rows, start=1):
        record = {name: pd.NA for name in DATE_COLUMNS + NUMBER_COLUMNS + FLAG_COLUMNS
                  + TEXT_COLUMNS}
        record.update(PATIENT_DEFAULTS)
        record["patient_id"] = f"P{i}"
        record.update(row)
        records.append(record)
    frame = pd.DataFrame(records)
    for name in NUMBER_COLUMNS:
        frame[name] = frame[name].astype("object").where(frame[name].notna(), np.nan)
    return _typed(frame)


def visits(*rows: dict) -> pd.DataFrame:
    """Visits with every canonical visit column present."""
    records = []
    for row in rows:
        record = {"serum_ife": pd.NA, "urine_ife": pd.NA, **{n: np.nan for n in VISIT_NUMBERS}}
        record.update(row)
        records.append(record)
    if not records:
        frame = pd.DataFrame({"patient_id": [], "visit_date": [], "serum_ife": [],
                              "urine_ife": [], **{n: [] for n in VISIT_NUMBERS}})
    else:
        frame = pd.DataFrame(records)
    for name in VISIT_NUMBERS:
        frame[name] = frame[name].astype("object").where(frame[name].notna(), np.nan)
    return _typed(frame)[["patient_id", "visit_date", "serum_ife", "urine_ife",
                          "flc_kappa_mg_l", "flc_lambda_mg_l", "vegf_pg_ml", "onls"]]
