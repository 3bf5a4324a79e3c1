"""A twelve-patient cohort, in the canonical formats, whose results are worked out by hand.

Four patients per regimen. The analysis dataset is written directly (the clinical layer is tested
elsewhere); the baseline frame holds the Table 1 columns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

NA = pd.NA

# id, regimen, risk, crh_ev, crh, crh_m, crh_last, crv_ev, crv, crv_m, crv_last, rn_ev, rn,
# pfs_m, pfs_e, os_m, os_e, followup, progression, death, trd, smn
ROWS = [
    ("PID-A1", "ASCT", "low", 1, 1, 6, 6, 1, 1, 3, 3, 1, 1, 48, 0, 48, 0, 48, 0, 0, 0, 0),
    ("PID-A2", "ASCT", "low", 1, 1, 10, 10, 1, 0, np.nan, 40, 1, 1, 40, 1, 50, 0, 50, 1, 0, 0, 1),
    ("PID-A3", "ASCT", "medium", 1, 0, np.nan, 30, 1, 1, 8, 8, 1, 1, 60, 0, 60, 0, 60, 0, 0, 0, 0),
    ("PID-A4", "ASCT", "high", 1, 1, 4, 4, 0, 0, np.nan, np.nan, 1, 0, 20, 1, 30, 1, 30, 1, 1, 1,
     0),
    ("PID-M1", "MDex", "low", 1, 0, np.nan, 36, 1, 1, 12, 12, 1, 1, 24, 1, 70, 0, 70, 1, 0, 0, 0),
    ("PID-M2", "MDex", "medium", 1, 1, 20, 20, 1, 0, np.nan, 50, 1, 1, 72, 0, 72, 0, 72, 0, 0, 0,
     0),
    ("PID-M3", "MDex", "high", 0, 0, np.nan, np.nan, 1, 1, 5, 5, 1, 1, 12, 1, 18, 1, 18, 1, 1, 0,
     0),
    ("PID-M4", "MDex", "high", 1, 0, np.nan, 24, 1, 0, np.nan, 24, 0, 0, 10, 1, 40, 0, 40, 1, 0, 0,
     0),
    ("PID-L1", "LDex", "low", 1, 1, 3, 3, 1, 1, 2, 2, 1, 1, 30, 1, 44, 0, 44, 1, 0, 0, 0),
    ("PID-L2", "LDex", "medium", 1, 1, 5, 5, 1, 1, 6, 6, 1, 1, 42, 0, 42, 0, 42, 0, 0, 0, 0),
    ("PID-L3", "LDex", "medium", 1, 0, np.nan, 38, 1, 0, np.nan, 38, 1, 0, 15, 1, 38, 0, 38, 1, 0,
     0, 0),
    ("PID-L4", "LDex", "high", 1, 0, np.nan, 12, 1, 1, 9, 9, 1, 1, 9, 1, 25, 1, 25, 1, 1, 0, 0),
]

COLS = ["patient_id", "regimen", "risk_group", "crh_evaluable", "crh", "crh_months",
        "crh_last_months", "crv_evaluable", "crv", "crv_months", "crv_last_months", "rn_evaluable",
        "rn", "pfs_months", "pfs_event", "os_months", "os_event", "followup_months", "progression",
        "death", "treatment_related_death", "secondary_malignancy"]

# id, age, sex, onls, castleman (None = not biopsied), vegf, egfr, albumin
BASELINE = [
    ("PID-A1", 40, "M", 3, True, 5000, 90, 35),
    ("PID-A2", 55, "M", 5, None, 3000, 80, 28),
    ("PID-A3", 45, "F", 2, False, 4500, 25, 40),
    ("PID-A4", 60, "M", 6, None, 1200, 70, 33),
    ("PID-M1", 52, "F", 4, None, 4100, 60, 29),
    ("PID-M2", 48, "M", 7, True, 800, 95, 31),
    ("PID-M3", 66, "M", 8, None, 6000, 20, 25),
    ("PID-M4", 70, "F", 1, None, 3900, 50, 38),
    ("PID-L1", 35, "F", 2, False, 5200, 88, 36),
    ("PID-L2", 58, "M", 5, None, 4300, 77, 30),
    ("PID-L3", 51, "F", 3, None, 2500, 66, 27),
    ("PID-L4", 62, "M", 9, True, 9000, 15, 34),
]


def analysis_dataset() -> pd.DataFrame:
    """The analysis dataset of the twelve patients."""
    ds = pd.DataFrame(ROWS, columns=COLS)
    for c in ("crh_evaluable", "crv_evaluable", "rn_evaluable"):
        ds[c] = ds[c].astype(bool).astype("boolean")
    for c in ("crh", "crv", "rn"):
        ds[c] = ds[c].astype(int)
    ds["crh_crv_evaluable"] = (ds["crh_evaluable"] | ds["crv_evaluable"]).astype("boolean")
    ds["crh_crv"] = (ds["crh"] | ds["crv"]).astype(int)
    ds["crh_crv_months"] = ds[["crh_months", "crv_months"]].min(axis=1)
    ds["crh_crv_last_months"] = ds[["crh_last_months", "crv_last_months"]].max(axis=1)
    ds["rn_months"] = np.where(ds["rn"] == 1, 3.0, np.nan)
    ds["rn_last_months"] = 12.0
    ds["risk_points"] = ds["risk_group"].map({"low": 0, "medium": 1, "high": 2})
    ds["egfr"] = [b[6] for b in BASELINE]
    ds["secondary_malignancy"] = ds["secondary_malignancy"].astype("Int64")
    return ds


def baseline() -> pd.DataFrame:
    """The Table 1 columns of the twelve patients, with the derived risk group and eGFR."""
    b = pd.DataFrame(BASELINE, columns=["patient_id", "age", "sex", "onls", "castleman",
                                        "vegf_pg_ml", "egfr", "albumin_g_l"])
    b["castleman"] = pd.array(b["castleman"].tolist(), dtype="boolean")
    ds = analysis_dataset()
    b["regimen"] = ds["regimen"]
    b["risk_group"] = ds["risk_group"]
    for col in ("hepatomegaly", "splenomegaly", "lymphadenopathy", "angioma", "peripheral_edema",
                "ascites", "pleural_effusion", "papilledema", "osteosclerosis"):
        b[col] = pd.array([i % 2 == 0 for i in range(12)], dtype="boolean")
    b["heavy_chain"] = ["IgA", "IgG", "IgA", "IgA", "IgA", "none", "IgA", "IgG", "IgA", "IgA",
                        "IgG", "IgA"]
    b["spe_g_l"] = [6.0, 2.0, np.nan, 1.0, 0.5, 7.0, 3.0, 4.0, 5.5, 1.0, 2.0, 3.0]
    b["bmpc_pct"] = [2.0] * 11 + [12.0]
    b["urine_protein_g_24h"] = [0.2] * 12
    return b


def flow() -> pd.DataFrame:
    """A patient-flow frame as ``PatientFlow.to_frame()`` gives it."""
    return pd.DataFrame({"step": ["screened", "included"], "n": [12, 12]})
