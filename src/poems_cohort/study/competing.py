"""Time to response as a competing-risks outcome: CRH and CRV cumulative incidence by regimen
(Aalen–Johansen), death or progression before response competing; Gray's test; incidences at
the plan's months with cmprsk's variance.

Among the patients evaluable for the response:

- a response at or before progression/death: status 1 at the response time;
- progression or death (the PFS event) strictly before any response: status 2 at the PFS time;
- otherwise censored (status 0) at the last assessment usable for the response.

These are the analysis dataset's ``<r>_cr_months`` / ``<r>_cr_status`` columns.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from poems_cohort import stats
from poems_cohort.study._common import flag
from poems_cohort.study.plan import AnalysisPlan
from poems_cohort.study.survival import at_risk_times

#: response label, prefix of the analysis dataset's columns
RESPONSES: tuple[tuple[str, str], ...] = (("CRH", "crh"), ("CRV", "crv"))

INCIDENCE_COLUMNS = ["response", "regimen", "month", "estimate", "std_err", "ci_low", "ci_high"]
GRAY_COLUMNS = ["response", "statistic", "df", "p_value"]
CI_CURVE_COLUMNS = ["response", "group", "time", "n_risk", "value", "lower", "upper"]
CI_AT_RISK_COLUMNS = ["response", "group", "time", "n_risk"]


def competing_outcome(ds: pd.DataFrame, prefix: str) -> pd.DataFrame:
    """``<prefix>_cr_months`` and ``<prefix>_cr_status`` (0 censored, 1 response, 2 progression
    or death before response) per row of ``ds``; missing for patients not evaluable."""
    ev = flag(ds[f"{prefix}_evaluable"])
    hit = flag(ds[prefix]) & ev
    r_time = ds[f"{prefix}_months"].astype(float)
    last = ds[f"{prefix}_last_months"].astype(float)
    pfs_t = ds["pfs_months"].astype(float)
    pfs_e = flag(ds["pfs_event"])
    competing_first = pfs_e & (~hit | (pfs_t < r_time))
    months = np.where(competing_first, pfs_t, np.where(hit, r_time, last))
    status = np.where(competing_first, 2, np.where(hit, 1, 0)).astype(float)
    months = np.where(ev, months, np.nan)
    status = np.where(ev & np.isfinite(months), status, np.nan)
    months = np.where(np.isfinite(status), months, np.nan)
    missing = np.isnan(status)
    # a nullable integer column built from its values and mask (not one Python value per row)
    codes = pd.arrays.IntegerArray(np.where(missing, 0, status).astype(np.int64), missing)
    return pd.DataFrame({f"{prefix}_cr_months": months, f"{prefix}_cr_status": codes},
                        index=ds.index)


@dataclass(frozen=True, slots=True)
class CompetingResponse:
    """``incidence``: response, regimen, month, estimate, std_err, ci_low, ci_high (proportions,
    cmprsk variance, log-log limits); ``gray``: Gray's test per response; ``curves`` /
    ``at_risk``: the Aalen–Johansen steps to draw."""

    incidence: pd.DataFrame
    gray: pd.DataFrame
    curves: pd.DataFrame
    at_risk: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        return self.incidence.copy()


def compute_competing(ds: pd.DataFrame, plan: AnalysisPlan) -> CompetingResponse:
    """Cumulative incidence of CRH and CRV by regimen, with Gray's test."""
    inc, gray, curves, at_risk = [], [], [], []
    months = list(plan.comparative.incidence_months)
    for label, prefix in RESPONSES:
        out = competing_outcome(ds, prefix)
        keep = out[f"{prefix}_cr_status"].notna().to_numpy()
        time = out[f"{prefix}_cr_months"].to_numpy(float)[keep]
        status = out[f"{prefix}_cr_status"].to_numpy(dtype=float, na_value=np.nan)[keep]
        status = status.astype(int)
        group = ds["regimen"].to_numpy(dtype=object)[keep]
        present = [r for r in plan.regimens if (group == r).any()]
        if not present or not (status == 1).any():
            continue
        sel = np.isin(group, present)
        time, status, group = time[sel], status[sel], group[sel]
        cat = pd.Categorical(group, categories=present)
        tp = stats.cuminc_timepoints(time, status, months, group=cat,
                                     conf_level=plan.confidence_level).table
        tp = tp[tp["cause"] == 1]
        for _, row in tp.iterrows():
            inc.append({"response": label, "regimen": str(row["group"]),
                        "month": float(row["time"]), "estimate": float(row["estimate"]),
                        "std_err": float(row["std_err"]), "ci_low": float(row["lower"]),
                        "ci_high": float(row["upper"])})
        if len(present) > 1:
            try:
                with warnings.catch_warnings():  # a group without patients left at some time
                    warnings.simplefilter("ignore", RuntimeWarning)
                    g = stats.gray_test(time, status, cat, cause=1)
            except stats.NotTestableError:  # e.g. a singular variance: reported as missing
                gray.append({"response": label, "statistic": math.nan, "df": math.nan,
                             "p_value": math.nan})
            else:
                gray.append({"response": label, "statistic": g.statistic, "df": g.df,
                             "p_value": g.p_value})
        ticks = at_risk_times(float(time.max()) if len(time) else 0.0,
                              plan.risk_table_step_months)
        for r in present:
            m = group == r
            fit = stats.cumulative_incidence(time[m], status[m])
            tab = fit.table
            tab = tab[tab["cause"] == 1]
            curves.append(pd.DataFrame({
                "response": label, "group": r,
                "time": np.r_[0.0, tab["time"].to_numpy(float)],
                "n_risk": np.r_[int(m.sum()), tab["n_risk"].to_numpy(float)],
                "value": np.r_[0.0, tab["estimate"].to_numpy(float)],
                "lower": np.r_[0.0, tab["lower"].to_numpy(float)],
                "upper": np.r_[0.0, tab["upper"].to_numpy(float)]}))
            t_r = time[m]
            at_risk.append(pd.DataFrame({"response": label, "group": r, "time": ticks,
                                         "n_risk": [int((t_r >= x).sum()) for x in ticks]}))
    return CompetingResponse(
        incidence=pd.DataFrame(inc, columns=INCIDENCE_COLUMNS),
        gray=pd.DataFrame(gray, columns=GRAY_COLUMNS),
        curves=(pd.concat(curves, ignore_index=True)[CI_CURVE_COLUMNS] if curves
                else pd.DataFrame(columns=CI_CURVE_COLUMNS)),
        at_risk=(pd.concat(at_risk, ignore_index=True)[CI_AT_RISK_COLUMNS] if at_risk
                 else pd.DataFrame(columns=CI_AT_RISK_COLUMNS)))
