"""Survival: PFS and OS by regimen and risk subgroup, follow-up, events and the curves to draw.

Rates at the landmark (3 years) come from the Kaplan–Meier estimate with log-log intervals;
regimens are compared with the log-rank test (all regimens together, and each against the
reference regimen).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from poems_cohort import stats
from poems_cohort.study._common import (
    ALL,
    as_float,
    columns_of,
    flag,
    groups_of,
    in_subgroup,
    kaplan_meier,
    median_of,
    one,
    outcome_of,
    percent,
    survival_at,
)
from poems_cohort.study.names import (
    BY_CRV,
    BY_REGIMEN,
    CRV_GROUPS,
    EVERYONE,
    SURVIVAL_ENDPOINTS,
    endpoint_label,
)
from poems_cohort.study.plan import AnalysisPlan
from poems_cohort.study.policy import LOGRANK, TestOutcome, not_testable

ENDPOINTS: tuple[tuple[str, str, str], ...] = SURVIVAL_ENDPOINTS

CURVE_COLUMNS = ["endpoint", "by", "subgroup", "group", "time", "n_risk", "n_event", "n_censor",
                 "value", "lower", "upper"]
AT_RISK_COLUMNS = ["endpoint", "by", "subgroup", "group", "time", "n_risk"]


@dataclass(frozen=True, slots=True)
class Survival:
    """Survival results at full precision (see ``docs/study.md`` for every column)."""

    by_regimen: pd.DataFrame
    tests: pd.DataFrame
    events: pd.DataFrame
    followup: pd.DataFrame
    curves: pd.DataFrame
    at_risk: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """PFS and OS by subgroup and regimen."""
        return self.by_regimen.copy()

    def test(self, endpoint: str, *, by: str = BY_REGIMEN, subgroup: str = EVERYONE
             ) -> TestOutcome:
        """The log-rank test of ``endpoint`` (``"PFS"``, ``"OS"``) across the regimens (or, with
        ``by="CRV"``, CRV responders against non-responders) in ``subgroup``."""
        return outcome_of(one(self.tests, "survival test",
                              endpoint=endpoint_label(endpoint, by), subgroup=subgroup))

    def estimate(self, endpoint: str, *, subgroup: str = EVERYONE, regimen: str = ALL
                 ) -> pd.Series:
        """The row of ``by_regimen``: N, events, median and landmark rate with their limits, and
        the log-rank p against the reference regimen."""
        return one(self.by_regimen, "survival estimate", endpoint=endpoint, subgroup=subgroup,
                   regimen=regimen)

    def curve(self, endpoint: str, group: str, *, by: str = BY_REGIMEN,
              subgroup: str = EVERYONE) -> pd.DataFrame:
        """The steps of one Kaplan–Meier curve (empty when the group has no patient)."""
        c = self.curves
        sel = ((c["endpoint"] == endpoint) & (c["by"] == by) & (c["subgroup"] == subgroup)
               & (c["group"] == group))
        return c[sel].reset_index(drop=True)


def logrank(frame: pd.DataFrame, time: str, event: str, group: pd.Series) -> TestOutcome:
    """The log-rank test across the groups present (not testable with fewer than two)."""
    if frame.empty or group.nunique() < 2:
        return not_testable("fewer than two groups hold patients")
    try:
        res = stats.logrank_test(frame[time].to_numpy(float), frame[event].to_numpy(int),
                                 group.to_numpy(object))
    except stats.NotTestableError as exc:  # valid data that cannot be compared: no events, ...
        return not_testable(str(exc))
    if not math.isfinite(float(res.p_value)):
        return not_testable("the log-rank statistic is not finite")
    return TestOutcome(LOGRANK, float(res.statistic), float(res.df), float(res.p_value))


def pairwise_vs_reference(frame: pd.DataFrame, time: str, event: str, plan: AnalysisPlan
                          ) -> dict[str, TestOutcome]:
    """Log-rank p-value of each regimen against the reference regimen."""
    out: dict[str, TestOutcome] = {r: not_testable("no patients in one of the two regimens")
                                   for r in plan.regimens if r != plan.reference}
    present = [r for r in plan.regimens if (frame["regimen"] == r).any()]
    if plan.reference not in present or len(present) < 2:
        return out
    sub = frame[frame["regimen"].isin(present)]
    pw = stats.pairwise_logrank(sub[time].to_numpy(float), sub[event].to_numpy(int),
                                sub["regimen"].to_numpy(object), reference=plan.reference)
    for rec in pw.to_dict("records"):
        pair = {rec["group1"], rec["group2"]}
        if plan.reference in pair:
            (other,) = pair - {plan.reference}
            if math.isfinite(float(rec["p_value"])):
                out[other] = TestOutcome(LOGRANK, float(rec["statistic"]), float(rec["df"]),
                                         float(rec["p_value"]))
            else:  # pairwise_logrank leaves a pair it cannot test as NaN
                out[other] = not_testable("the log-rank test of this pair cannot be computed "
                                          "(no events, or a singular variance)")
    return out


def at_risk_times(max_time: float, step: float) -> np.ndarray:
    """Tick times 0, step, 2·step, … covering ``max_time``."""
    top = step * max(1, math.ceil(max_time / step)) if max_time > 0 else step
    return np.arange(0.0, top + step / 2, step)


def curve_records(km: stats.KaplanMeier | None, endpoint: str, by: str, subgroup: str, group: str,
                  *, cumulative: bool = False) -> list[dict[str, object]]:
    """The steps of a Kaplan–Meier curve (or of 1 − KM when ``cumulative``) as records."""
    if km is None:
        return []
    tab = km.table
    recs = []
    for row in tab.itertuples(index=False):
        value, lower, upper = float(row.surv), float(row.lower), float(row.upper)
        if cumulative:
            value, lower, upper = 1.0 - value, 1.0 - upper, 1.0 - lower
        recs.append({"endpoint": endpoint, "by": by, "subgroup": subgroup, "group": group,
                     "time": float(row.time), "n_risk": int(row.n_risk),
                     "n_event": int(row.n_event), "n_censor": int(row.n_censor),
                     "value": value, "lower": lower, "upper": upper})
    return recs


def at_risk_records(times: pd.Series, ticks: np.ndarray, endpoint: str, by: str,
                    subgroup: str, group: str) -> list[dict[str, object]]:
    """Numbers at risk (time ≥ tick) at each tick."""
    t = times.to_numpy(float)
    return [{"endpoint": endpoint, "by": by, "subgroup": subgroup, "group": group,
             "time": float(x), "n_risk": int((t >= x).sum())} for x in ticks]


def compute_survival(ds: pd.DataFrame, plan: AnalysisPlan) -> Survival:
    """PFS and OS by subgroup and regimen, the log-rank tests, follow-up, events and curves."""
    rows: list[dict[str, object]] = []
    tests: list[dict[str, object]] = []
    curves: list[dict[str, object]] = []
    at_risk: list[dict[str, object]] = []
    landmark = plan.survival_landmark_months
    ds = columns_of(ds, plan, *(c for _, t, e in ENDPOINTS for c in (t, e)), "crv_evaluable",
                    "crv", "death", "progression", "secondary_malignancy",
                    "treatment_related_death", "followup_months", "os_months", "os_event")
    for endpoint, time, event in ENDPOINTS:
        for sg in plan.subgroups:
            sub = in_subgroup(ds, sg)
            overall = logrank(sub, time, event, sub["regimen"])
            tests.append({"endpoint": endpoint, "subgroup": sg.name, "test": overall.test,
                          "statistic": overall.statistic, "df": overall.df,
                          "p_value": overall.p_value})
            pairs = pairwise_vs_reference(sub, time, event, plan)
            ticks = at_risk_times(float(sub[time].max()) if len(sub) else 0.0,
                                  plan.risk_table_step_months)
            for name, part in groups_of(sub, plan):
                km = kaplan_meier(part[time], part[event], conf_level=plan.confidence_level)
                rate, lo, hi = survival_at(km, landmark)
                med, mlo, mhi = median_of(km)
                vs = pairs.get(name, not_testable()) if name not in (ALL, plan.reference) else None
                rows.append({"endpoint": endpoint, "subgroup": sg.name, "regimen": name,
                             "N": int(len(part)), "events": int(part[event].sum()),
                             "median": med, "median_low": mlo, "median_high": mhi,
                             "rate": percent(rate), "ci_low": percent(lo),
                             "ci_high": percent(hi),
                             "p_value": vs.p_value if vs else math.nan,
                             "test": vs.test if vs else None})
                if name != ALL:
                    curves += curve_records(km, endpoint, BY_REGIMEN, sg.name, name)
                    at_risk += at_risk_records(part[time], ticks, endpoint, BY_REGIMEN, sg.name,
                                               name)
    supp_tests, supp_curves, supp_risk = _by_crv(ds, plan)
    return Survival(
        by_regimen=pd.DataFrame(rows),
        tests=pd.DataFrame(tests + supp_tests),
        events=_events(ds, plan),
        followup=_followup(ds, plan),
        curves=pd.DataFrame(curves + supp_curves, columns=CURVE_COLUMNS),
        at_risk=pd.DataFrame(at_risk + supp_risk, columns=AT_RISK_COLUMNS),
    )


def _by_crv(ds: pd.DataFrame, plan: AnalysisPlan
            ) -> tuple[list[dict[str, object]], list[dict[str, object]], list[dict[str, object]]]:
    """PFS and OS by CRV status among the CRV-evaluable patients of the supplementary subgroup."""
    sg = plan.subgroup(plan.supplementary_subgroup)
    sub = in_subgroup(ds, sg)
    sub = sub[flag(sub["crv_evaluable"])]
    status = pd.Series(np.where(flag(sub["crv"]), *CRV_GROUPS), index=sub.index)
    tests, curves, at_risk = [], [], []
    for endpoint, time, event in ENDPOINTS:
        res = logrank(sub, time, event, status)
        tests.append({"endpoint": endpoint_label(endpoint, BY_CRV), "subgroup": sg.name, "test": res.test,
                      "statistic": res.statistic, "df": res.df, "p_value": res.p_value})
        ticks = at_risk_times(float(sub[time].max()) if len(sub) else 0.0,
                              plan.risk_table_step_months)
        for name in CRV_GROUPS:
            part = sub[status == name]
            km = kaplan_meier(part[time], part[event], conf_level=plan.confidence_level)
            curves += curve_records(km, endpoint, BY_CRV, sg.name, name)
            at_risk += at_risk_records(part[time], ticks, endpoint, BY_CRV, sg.name, name)
    return tests, curves, at_risk


def _events(ds: pd.DataFrame, plan: AnalysisPlan) -> pd.DataFrame:
    rows = []
    for name, part in groups_of(ds, plan):
        death = part["death"].astype(float)
        prog = part["progression"].astype(float)
        sm = part["secondary_malignancy"].astype("Float64")
        rows.append({
            "regimen": name,
            "patients": int(len(part)),
            "deaths": int(death.sum()),
            "treatment_related_deaths": int(part["treatment_related_death"].astype(float).sum()),
            "progressions_alive": int(((prog == 1) & (death == 0)).sum()),
            "secondary_malignancies": int(sm.fillna(0).sum()),
            "secondary_malignancy_known": int(sm.notna().sum()),
            "person_years": float(part["followup_months"].astype(float).sum()) / 12.0,
        })
    return pd.DataFrame(rows)


def _followup(ds: pd.DataFrame, plan: AnalysisPlan) -> pd.DataFrame:
    rows = []
    for name, part in groups_of(ds, plan):
        fu = part["followup_months"].astype(float).dropna().to_numpy()
        if len(part):
            rk = stats.reverse_km_followup(part["os_months"].to_numpy(float),
                                           part["os_event"].to_numpy(int),
                                           conf_level=plan.confidence_level)
            rk_est, rk_lo, rk_hi = (as_float(rk.estimate), as_float(rk.lower),
                                    as_float(rk.upper))
        else:
            rk_est = rk_lo = rk_hi = math.nan
        rows.append({"regimen": name, "N": int(fu.size),
                     "median": float(np.median(fu)) if fu.size else math.nan,
                     "min": float(fu.min()) if fu.size else math.nan,
                     "max": float(fu.max()) if fu.size else math.nan,
                     "reverse_km": rk_est, "reverse_km_low": rk_lo, "reverse_km_high": rk_hi})
    return pd.DataFrame(rows)
