"""Landmark analysis of response → survival: at each landmark L (months), among the
CRV-evaluable patients still alive and progression-free after L (PFS time > L), CRV reached by L
against not; PFS and OS counted from L. This avoids the guarantee-time (immortal-time) bias of
comparing responders with non-responders from treatment start.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from poems_cohort import stats
from poems_cohort.study._common import columns_of, flag, in_subgroup
from poems_cohort.study.names import CRV_GROUPS, SURVIVAL_ENDPOINTS
from poems_cohort.study.plan import AnalysisPlan

LANDMARK_COLUMNS = ["endpoint", "subgroup", "landmark_months", "group", "n", "events", "hr",
                    "ci_low", "ci_high", "p_value", "logrank_p"]
LANDMARK_CURVE_COLUMNS = ["endpoint", "subgroup", "landmark_months", "group", "time", "n_risk",
                          "value", "lower", "upper"]


def landmark_frame(ds: pd.DataFrame, landmark: float) -> pd.DataFrame:
    """The patients of the landmark analysis at ``landmark``: CRV-evaluable, PFS time beyond the
    landmark; ``crv_by_landmark`` (1 = CRV at or before it) and the times from the landmark
    ``pfs_from_landmark`` and ``os_from_landmark``."""
    ev = flag(ds["crv_evaluable"])
    alive_pf = ds["pfs_months"].astype(float) > landmark
    d = ds[ev & alive_pf.fillna(False).to_numpy(dtype=bool)]
    reached = flag(d["crv"]) & (d["crv_months"].astype(float) <= landmark).fillna(False)
    return d.assign(crv_by_landmark=reached.astype(int),
                    pfs_from_landmark=d["pfs_months"].astype(float) - landmark,
                    os_from_landmark=d["os_months"].astype(float) - landmark)


@dataclass(frozen=True, slots=True)
class Landmark:
    """``table``: per endpoint, subgroup, landmark and group (CRV / No CRV): n, events, the Cox
    HR of CRV vs no CRV (on the CRV row), its Wald p and the log-rank p; ``curves``: KM from the
    landmark."""

    table: pd.DataFrame
    curves: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()


def compute_landmark(ds: pd.DataFrame, plan: AnalysisPlan) -> Landmark:
    rows: list[dict[str, object]] = []
    curves: list[pd.DataFrame] = []
    names = ["all"] + ([plan.supplementary_subgroup] if plan.supplementary_subgroup != "all"
                       else [])
    ds = columns_of(ds, plan, "crv_evaluable", "crv", "crv_months", "pfs_months", "os_months",
                    *(e for _, _, e in SURVIVAL_ENDPOINTS))
    for sg_name in names:
        sg = plan.subgroup(sg_name)
        part = in_subgroup(ds, sg)
        for lm in plan.comparative.landmarks_months:
            d = landmark_frame(part, lm)
            grp = d["crv_by_landmark"].to_numpy(int)
            for label, _t, e in SURVIVAL_ENDPOINTS:
                t = f"{label.lower()}_from_landmark"
                time = d[t].to_numpy(float)
                event = d[e].to_numpy(int)
                hr = lo = hi = p = lr_p = math.nan
                if len(np.unique(grp)) == 2 and event.sum() > 0:
                    try:
                        lr_p = stats.logrank_test(time, event, grp).p_value
                    except stats.NotTestableError:  # e.g. one death at the one time: missing
                        lr_p = math.nan
                    try:
                        with warnings.catch_warnings():
                            warnings.simplefilter("ignore")
                            fit = stats.cox_ph(pd.DataFrame({"t": time, "e": event, "crv": grp}),
                                               "t", "e", ["crv"])
                    except (ValueError, np.linalg.LinAlgError):
                        fit = None
                    if fit is not None and fit.converged:
                        hr, lo, hi, p = (float(fit.exp_coef[0]), float(fit.lower[0]),
                                         float(fit.upper[0]), float(fit.p_value[0]))
                for code, group in ((1, CRV_GROUPS[0]), (0, CRV_GROUPS[1])):
                    m = grp == code
                    rows.append({"endpoint": label, "subgroup": sg_name, "landmark_months": lm,
                                 "group": group, "n": int(m.sum()),
                                 "events": int(event[m].sum()),
                                 "hr": hr if code == 1 else math.nan,
                                 "ci_low": lo if code == 1 else math.nan,
                                 "ci_high": hi if code == 1 else math.nan,
                                 "p_value": p, "logrank_p": lr_p})
                    if m.any():
                        km = stats.kaplan_meier(time[m], event[m],
                                                conf_level=plan.confidence_level,
                                                conf_type="log-log")
                        tab = km.table
                        curves.append(pd.DataFrame({
                            "endpoint": label, "subgroup": sg_name, "landmark_months": lm,
                            "group": group, "time": np.r_[0.0, tab["time"]],
                            "n_risk": np.r_[int(m.sum()), tab["n_risk"]],
                            "value": np.r_[1.0, tab["surv"]], "lower": np.r_[1.0, tab["lower"]],
                            "upper": np.r_[1.0, tab["upper"]]}))
    return Landmark(table=pd.DataFrame(rows, columns=LANDMARK_COLUMNS),
                    curves=(pd.concat(curves, ignore_index=True)[LANDMARK_CURVE_COLUMNS]
                            if curves else pd.DataFrame(columns=LANDMARK_CURVE_COLUMNS)))
