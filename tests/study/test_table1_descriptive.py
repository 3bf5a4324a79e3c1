"""The descriptive counts beside Table 1: patients with an ONLS of 0, lambda light chains."""

import math

import pandas as pd

from poems_cohort.study import AnalysisPlan
from poems_cohort.study.table1 import DESCRIPTIVE_COLUMNS, compute_table1


def _baseline() -> pd.DataFrame:
    # ONLS 0 in M1 and A2 (A3 unknown); lambda in 4 of the 5 patients with a known chain
    return pd.DataFrame({
        "regimen": ["MDex", "MDex", "ASCT", "ASCT", "ASCT", "LDex"],
        "onls": [0.0, 3.0, 5.0, 0.0, None, 0.5],
        "light_chain": ["lambda", "lambda", "kappa", "lambda", None, "lambda"],
        "risk_group": ["low"] * 6,
    })


def _cell(frame: pd.DataFrame, key: str, regimen: str) -> tuple[int, int, float]:
    sel = frame[(frame["key"] == key) & (frame["regimen"] == regimen)]
    assert len(sel) == 1
    r = sel.iloc[0]
    return int(r["n"]), int(r["N"]), float(r["percent"])


def test_onls_zero_counts_only_exact_zeros_among_known_scores():
    d = compute_table1(_baseline(), AnalysisPlan()).descriptive
    assert list(d.columns) == list(DESCRIPTIVE_COLUMNS)
    assert _cell(d, "onls_zero", "All") == (2, 5, 40.0)
    assert _cell(d, "onls_zero", "ASCT") == (1, 2, 50.0)
    assert _cell(d, "onls_zero", "LDex") == (0, 1, 0.0)   # 0.5 is not 0


def test_lambda_share_among_known_light_chains():
    d = compute_table1(_baseline(), AnalysisPlan()).descriptive
    assert _cell(d, "lambda_light_chain", "All") == (4, 5, 80.0)
    assert _cell(d, "lambda_light_chain", "MDex") == (2, 2, 100.0)
    assert _cell(d, "lambda_light_chain", "ASCT")[:2] == (1, 2)


def test_absent_column_gives_no_denominator():
    frame = _baseline().drop(columns=["light_chain"])
    n, big_n, pct = _cell(compute_table1(frame, AnalysisPlan()).descriptive,
                          "lambda_light_chain", "All")
    assert (n, big_n) == (0, 0) and math.isnan(pct)


def test_descriptive_counts_are_not_table1_rows():
    t1 = compute_table1(_baseline(), AnalysisPlan())
    assert not set(t1.rows["key"]) & {"onls_zero", "lambda_light_chain"}
