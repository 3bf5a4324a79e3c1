"""Response kinetics: time to CRH and to CRV.

Among responders: the median time to response and its range. Among evaluable patients: the
cumulative response rate at the landmarks, 1 − Kaplan–Meier of the time to response, where a
patient who never responded is censored at the last assessment usable for that response.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from poems_cohort.study._common import (
    ALL,
    columns_of,
    flag,
    groups_of,
    kaplan_meier,
    percent,
    survival_at,
)
from poems_cohort.study.names import BY_REGIMEN, EVERYONE
from poems_cohort.study.plan import AnalysisPlan
from poems_cohort.study.survival import (
    AT_RISK_COLUMNS,
    CURVE_COLUMNS,
    at_risk_records,
    at_risk_times,
    curve_records,
)

#: response label, response column, evaluability column, time column, censoring time column
KINETICS: tuple[tuple[str, str, str, str, str], ...] = (
    ("CRH", "crh", "crh_evaluable", "crh_months", "crh_last_months"),
    ("CRV", "crv", "crv_evaluable", "crv_months", "crv_last_months"),
)


@dataclass(frozen=True, slots=True)
class Kinetics:
    """``medians``: response, regimen, responders, evaluable, median, min, max (months).
    ``cumulative``: response, regimen, month, rate, ci_low, ci_high (percent).
    ``curves`` / ``at_risk``: the cumulative response curves of Figures 1b and 1c."""

    medians: pd.DataFrame
    cumulative: pd.DataFrame
    curves: pd.DataFrame
    at_risk: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """Medians joined with the cumulative rates (one column per landmark)."""
        wide = self.cumulative.pivot_table(index=["response", "regimen"], columns="month",
                                           values="rate", sort=False)
        wide.columns = [f"rate_{m:g}m" for m in wide.columns]
        return self.medians.merge(wide.reset_index(), on=["response", "regimen"], how="left")


def response_time_frame(part: pd.DataFrame, resp: str, evaluable: str, when: str, last: str
                        ) -> pd.DataFrame:
    """Time to response (or to the last usable assessment) and the response indicator."""
    ev = part[flag(part[evaluable])]
    hit = flag(ev[resp])
    time = np.where(hit, ev[when].astype(float), ev[last].astype(float))
    frame = pd.DataFrame({"time": time, "event": hit.astype(int).to_numpy()})
    return frame[np.isfinite(frame["time"])]


def compute_kinetics(ds: pd.DataFrame, plan: AnalysisPlan) -> Kinetics:
    """Medians, cumulative rates and curves of time to CRH and to CRV, overall and by regimen."""
    medians, cumulative, curves, at_risk = [], [], [], []
    ds = columns_of(ds, plan, *(c for k in KINETICS for c in k[1:]))
    for label, resp, evaluable, when, last in KINETICS:
        whole = response_time_frame(ds, resp, evaluable, when, last)
        ticks = at_risk_times(float(whole["time"].max()) if len(whole) else 0.0,
                              plan.risk_table_step_months)
        for name, part in groups_of(ds, plan):
            ev = part[flag(part[evaluable])]
            times = ev.loc[flag(ev[resp]), when].astype(float).dropna().to_numpy()
            medians.append({"response": label, "regimen": name,
                            "responders": int(times.size), "evaluable": int(len(ev)),
                            "median": float(np.median(times)) if times.size else math.nan,
                            "min": float(times.min()) if times.size else math.nan,
                            "max": float(times.max()) if times.size else math.nan})
            tf = response_time_frame(part, resp, evaluable, when, last)
            km = kaplan_meier(tf["time"], tf["event"], conf_level=plan.confidence_level)
            for month in plan.response_landmarks_months:
                s, lo, hi = survival_at(km, month)
                cumulative.append({"response": label, "regimen": name, "month": month,
                                   "rate": percent(1.0 - s), "ci_low": percent(1.0 - hi),
                                   "ci_high": percent(1.0 - lo)})
            if name != ALL:
                curves += curve_records(km, label, BY_REGIMEN, EVERYONE, name, cumulative=True)
                at_risk += at_risk_records(tf["time"], ticks, label, BY_REGIMEN, EVERYONE, name)
    return Kinetics(medians=pd.DataFrame(medians), cumulative=pd.DataFrame(cumulative),
                    curves=pd.DataFrame(curves, columns=CURVE_COLUMNS),
                    at_risk=pd.DataFrame(at_risk, columns=AT_RISK_COLUMNS))
