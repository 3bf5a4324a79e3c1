"""Table 1: baseline characteristics by regimen, with the p-value across regimens.

Every characteristic is counted with its own denominator: patients whose value is missing are left
out of that row (Castleman disease is known only for the patients who had a biopsy). Two
descriptive counts the results text quotes (patients with an ONLS of 0, the share of lambda light
chains) are given beside the table, without a test.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from poems_cohort.study.plan import RISK_GROUPS, AnalysisPlan
from poems_cohort.study.policy import compare_counts

ALL = "All"


def _num(column: str, op: str, threshold: float) -> Callable[[pd.DataFrame], pd.Series]:
    def rule(frame: pd.DataFrame) -> pd.Series:
        x = pd.to_numeric(frame[column], errors="coerce").astype(float)
        hit = x > threshold if op == ">" else x < threshold
        return pd.Series(hit, index=frame.index, dtype="boolean").mask(x.isna())
    return rule


def _flag(column: str) -> Callable[[pd.DataFrame], pd.Series]:
    def rule(frame: pd.DataFrame) -> pd.Series:
        return frame[column].astype("boolean")
    return rule


def _num_equals(column: str, value: float) -> Callable[[pd.DataFrame], pd.Series]:
    def rule(frame: pd.DataFrame) -> pd.Series:
        x = pd.to_numeric(frame[column], errors="coerce").astype(float)
        return pd.Series(x == value, index=frame.index, dtype="boolean").mask(x.isna())
    return rule


def _equals(column: str, value: str) -> Callable[[pd.DataFrame], pd.Series]:
    def rule(frame: pd.DataFrame) -> pd.Series:
        s = frame[column]
        return pd.Series(s == value, index=frame.index, dtype="boolean").mask(s.isna())
    return rule


@dataclass(frozen=True, slots=True)
class Characteristic:
    """One row of Table 1: a stable key, the label shown and the rule giving yes/no/missing."""

    key: str
    label: str
    rule: Callable[[pd.DataFrame], pd.Series]


CHARACTERISTICS: tuple[Characteristic, ...] = (
    Characteristic("age_gt_50", "Age > 50 years", _num("age", ">", 50)),
    Characteristic("male", "Male", _equals("sex", "M")),
    Characteristic("onls_gt_4", "ONLS > 4", _num("onls", ">", 4)),
    Characteristic("hepatomegaly", "Hepatomegaly", _flag("hepatomegaly")),
    Characteristic("splenomegaly", "Splenomegaly", _flag("splenomegaly")),
    Characteristic("lymphadenopathy", "Lymphadenopathy", _flag("lymphadenopathy")),
    Characteristic("iga_heavy_chain", "IgA heavy chain", _equals("heavy_chain", "IgA")),
    Characteristic("spe_gt_5", "SPE > 5 g/l", _num("spe_g_l", ">", 5)),
    Characteristic("bmpc_gt_10", "BMPC > 10%", _num("bmpc_pct", ">", 10)),
    Characteristic("angioma", "Angioma", _flag("angioma")),
    Characteristic("peripheral_edema", "Peripheral edema", _flag("peripheral_edema")),
    Characteristic("ascites", "Ascites", _flag("ascites")),
    Characteristic("pleural_effusion", "Pleural effusion", _flag("pleural_effusion")),
    Characteristic("castleman", "Castleman disease (biopsied)", _flag("castleman")),
    Characteristic("papilledema", "Papilledema", _flag("papilledema")),
    Characteristic("osteosclerosis", "Osteosclerosis", _flag("osteosclerosis")),
    Characteristic("albumin_lt_30", "Albumin < 30 g/l", _num("albumin_g_l", "<", 30)),
    Characteristic("egfr_lt_30", "eGFR < 30 ml/min/1.73 m²", _num("egfr", "<", 30)),
    Characteristic("urine_protein_gt_1", "24-h urine protein > 1 g",
                   _num("urine_protein_g_24h", ">", 1)),
    Characteristic("vegf_gt_4000", "VEGF > 4000 pg/ml", _num("vegf_pg_ml", ">", 4000)),
    *(Characteristic(f"risk_{g}", f"{g.capitalize()} risk", _equals("risk_group", g))
      for g in RISK_GROUPS),
)

#: counts described in the text beside Table 1, not tested across regimens
DESCRIPTIVE: tuple[Characteristic, ...] = (
    Characteristic("onls_zero", "ONLS score 0", _num_equals("onls", 0)),
    Characteristic("lambda_light_chain", "Lambda light chain", _equals("light_chain", "lambda")),
)

CONTINUOUS: tuple[tuple[str, str], ...] = (("age", "Age, years"), ("onls", "ONLS score"))

#: the columns of the baseline frame that Table 1 reads
BASELINE_COLUMNS: tuple[str, ...] = (
    "regimen", "age", "sex", "onls", "hepatomegaly", "splenomegaly", "lymphadenopathy",
    "heavy_chain", "spe_g_l", "bmpc_pct", "angioma", "peripheral_edema", "ascites",
    "pleural_effusion", "castleman", "papilledema", "osteosclerosis", "albumin_g_l", "egfr",
    "urine_protein_g_24h", "vegf_pg_ml", "risk_group", "light_chain",
)

DESCRIPTIVE_COLUMNS: tuple[str, ...] = ("key", "characteristic", "regimen", "n", "N", "percent")


@dataclass(frozen=True, slots=True)
class Table1:
    """Table 1 at full precision.

    ``rows``: one record per characteristic and regimen (``"All"`` first): key, characteristic,
    regimen, n, N, percent, p_value, test. ``continuous``: characteristic, regimen, N, median,
    min, max. ``tests``: one record per characteristic (and the 3x3 risk-group table).
    ``descriptive``: the counts of :data:`DESCRIPTIVE` (key, characteristic, regimen, n, N,
    percent), ``N`` being the patients with a known value.
    """

    rows: pd.DataFrame
    continuous: pd.DataFrame
    tests: pd.DataFrame
    descriptive: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=list(DESCRIPTIVE_COLUMNS)))

    def to_frame(self) -> pd.DataFrame:
        """The rows of Table 1."""
        return self.rows.copy()


def compute_table1(baseline: pd.DataFrame, plan: AnalysisPlan) -> Table1:
    """Table 1 from the baseline frame (one row per included patient; ``BASELINE_COLUMNS``).

    A column absent from ``baseline`` counts as all missing.
    """
    frame = baseline.copy()
    for col in BASELINE_COLUMNS:
        if col not in frame.columns:
            frame[col] = pd.NA
    regimen = frame["regimen"].astype(object)
    groups = [(ALL, pd.Series(True, index=frame.index))] + [
        (r, regimen == r) for r in plan.regimens]
    rows: list[dict[str, object]] = []
    tests: list[dict[str, object]] = []
    for ch in CHARACTERISTICS:
        flag = ch.rule(frame)
        known = flag.notna()
        yes = flag.fillna(False).astype(bool)
        table = np.array([[int((yes & (regimen == r)).sum()),
                           int((known & ~yes & (regimen == r)).sum())] for r in plan.regimens])
        outcome = compare_counts(table, plan.test_policy)
        tests.append({"endpoint": ch.label, "subgroup": "all", "test": outcome.test,
                      "statistic": outcome.statistic, "df": outcome.df,
                      "p_value": outcome.p_value})
        for name, member in groups:
            n = int((yes & member).sum())
            big_n = int((known & member).sum())
            rows.append({"key": ch.key, "characteristic": ch.label, "regimen": name, "n": n,
                         "N": big_n, "percent": 100.0 * n / big_n if big_n else math.nan,
                         "p_value": outcome.p_value, "test": outcome.test})
    risk = frame["risk_group"]
    risk_table = np.array([[int(((risk == g) & (regimen == r)).sum()) for g in RISK_GROUPS]
                           for r in plan.regimens])
    outcome = compare_counts(risk_table, plan.test_policy)
    tests.append({"endpoint": "Risk group (low/medium/high)", "subgroup": "all",
                  "test": outcome.test, "statistic": outcome.statistic, "df": outcome.df,
                  "p_value": outcome.p_value})
    cont: list[dict[str, object]] = []
    for col, label in CONTINUOUS:
        x = pd.to_numeric(frame[col], errors="coerce").astype(float)
        for name, member in groups:
            v = x[member].dropna().to_numpy()
            cont.append({"characteristic": label, "regimen": name, "N": int(v.size),
                         "median": float(np.median(v)) if v.size else math.nan,
                         "min": float(v.min()) if v.size else math.nan,
                         "max": float(v.max()) if v.size else math.nan})
    described: list[dict[str, object]] = []
    for ch in DESCRIPTIVE:
        flag = ch.rule(frame)
        known = flag.notna()
        yes = flag.fillna(False).astype(bool)
        for name, member in groups:
            n = int((yes & member).sum())
            big_n = int((known & member).sum())
            described.append({"key": ch.key, "characteristic": ch.label, "regimen": name,
                              "n": n, "N": big_n,
                              "percent": 100.0 * n / big_n if big_n else math.nan})
    return Table1(rows=pd.DataFrame(rows), continuous=pd.DataFrame(cont),
                  tests=pd.DataFrame(tests),
                  descriptive=pd.DataFrame(described, columns=list(DESCRIPTIVE_COLUMNS)))
