"""Effect sizes of Table 2: for each response rate, each regimen against the reference — the
risk difference with Newcombe's hybrid-score interval, the conditional (exact) odds ratio with its
exact interval, Fisher's p and the Holm-adjusted p over the regimens compared."""

from __future__ import annotations

import pandas as pd

from poems_cohort import stats
from poems_cohort.study.names import RESPONSE_ENDPOINTS
from poems_cohort.study.plan import AnalysisPlan

EFFECT_COLUMNS = ["endpoint", "subgroup", "regimen", "risk_difference", "rd_ci_low",
                  "rd_ci_high", "odds_ratio", "or_ci_low", "or_ci_high", "p_value", "p_holm"]


def compute_effects(table2_rows: pd.DataFrame, plan: AnalysisPlan) -> pd.DataFrame:
    """From Table 2's counts (``n`` responders of ``N`` evaluable per endpoint, subgroup and
    regimen): one row per response, subgroup and regimen other than the reference."""
    out: list[dict[str, object]] = []
    counts_of: dict[tuple[str, str, str], tuple[int, int]] = {
        (str(r["endpoint"]), str(r["subgroup"]), str(r["regimen"])): (int(r["n"]), int(r["N"]))
        for r in table2_rows[["endpoint", "subgroup", "regimen", "n", "N"]].to_dict("records")}
    for label, _r, _e in RESPONSE_ENDPOINTS:
        for sg in plan.subgroups:
            counts = {r: counts_of[(label, sg.name, r)] for r in plan.regimens
                      if (label, sg.name, r) in counts_of}
            groups = [r for r in [plan.reference, *plan.regimens]
                      if r in counts and counts[r][1] > 0]
            groups = list(dict.fromkeys(groups))
            if plan.reference not in groups or len(groups) < 2:
                continue
            cmp = stats.compare_proportions([counts[g][0] for g in groups],
                                            [counts[g][1] for g in groups], groups,
                                            reference=plan.reference,
                                            conf_level=plan.confidence_level,
                                            adjust="holm").table
            for _, row in cmp.iterrows():
                out.append({"endpoint": label, "subgroup": sg.name,
                            "regimen": str(row["group"]),
                            "risk_difference": float(row["risk_difference"]),
                            "rd_ci_low": float(row["rd_lower"]),
                            "rd_ci_high": float(row["rd_upper"]),
                            "odds_ratio": float(row["odds_ratio"]),
                            "or_ci_low": float(row["or_lower"]),
                            "or_ci_high": float(row["or_upper"]),
                            "p_value": float(row["p_value"]),
                            "p_holm": float(row["p_adjusted"])})
    return pd.DataFrame(out, columns=EFFECT_COLUMNS)
