"""The comparative analyses of the study, computed together: propensity and weights, balance,
hazard ratios, RMST, competing risks of response, landmarks, Table 2 effect sizes; and the
columns they add to the analysis dataset."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from poems_cohort.study._common import join_on_patient
from poems_cohort.study.comparative import (
    BALANCE_COLUMNS,
    HazardRatios,
    Propensity,
    balance,
    compute_hazard_ratios,
    covariate_values,
    fit_propensity,
    propensity_design,
    rule_columns,
)
from poems_cohort.study.competing import (
    RESPONSES,
    CompetingResponse,
    competing_outcome,
    compute_competing,
)
from poems_cohort.study.effects import compute_effects
from poems_cohort.study.landmark import Landmark, compute_landmark
from poems_cohort.study.plan import AnalysisPlan


@dataclass(frozen=True, slots=True)
class Comparative:
    """Every comparative result at full precision (``docs/study.md``, "Comparative analyses")."""

    propensity: Propensity | None
    balance: pd.DataFrame
    survival: HazardRatios
    competing: CompetingResponse
    landmark: Landmark
    effects: pd.DataFrame
    dataset_columns: tuple[str, ...]

    def __repr__(self) -> str:
        hr = self.survival.hazard_ratios
        return (f"Comparative({len(hr)} hazard ratios, {len(self.survival.rmst)} RMST rows, "
                f"{len(self.balance)} balance rows, {len(self.effects)} Table 2 effects)")

    def to_frame(self) -> pd.DataFrame:
        """The hazard ratios."""
        return self.survival.hazard_ratios.copy()

    def hazard_ratio(self, endpoint: str, model: str, term: str, *, subgroup: str = "all"
                     ) -> pd.Series:
        """One hazard ratio row."""
        h = self.survival.hazard_ratios
        hit = h[(h["endpoint"] == endpoint) & (h["model"] == model) & (h["term"] == term)
                & (h["subgroup"] == subgroup)]
        if hit.empty:
            raise KeyError(f"no hazard ratio {endpoint} {model} {term} in {subgroup}")
        return hit.iloc[0]

    def to_dict(self) -> dict[str, Any]:
        """The ``results.json`` keys of the comparative analyses."""
        from poems_cohort.study.results import records

        s, c = self.survival, self.competing
        return {
            "hazard_ratios": records(s.hazard_ratios),
            "ph_tests": records(s.ph_tests),
            "rmst": records(s.rmst),
            "propensity": self.propensity.to_dict() if self.propensity is not None else None,
            "balance": records(self.balance),
            "weighted_tests": records(s.weighted_tests),
            "interaction_tests": records(s.interaction),
            "cumulative_incidence": records(c.incidence),
            "gray_tests": records(c.gray),
            "landmark": records(self.landmark.table),
            "table2_effects": records(self.effects),
            "incidence_curves": records(c.curves),
            "landmark_curves": records(self.landmark.curves),
            "weighted_curves": records(s.weighted_curves),
        }


def comparative_frame(rows: pd.DataFrame, base: pd.DataFrame) -> pd.DataFrame:
    """The analysis rows' identifier, regimen, risk group and eGFR, then the baseline columns
    ``base`` (``patient_id`` and the columns the covariate rules read), one row per analysis row
    with its index (``join_on_patient``)."""
    return join_on_patient(rows[["patient_id", "regimen", "risk_group", "egfr"]], base)


def compute_comparative(baseline: pd.DataFrame, ds: pd.DataFrame, table2_rows: pd.DataFrame,
                        plan: AnalysisPlan) -> tuple[Comparative, pd.DataFrame]:
    """The comparative analyses and the analysis dataset with their columns appended (``mv_*``,
    ``ps_*``, ``ps_<regimen>``, ``iptw_weight``, ``<r>_cr_months``, ``<r>_cr_status``)."""
    c = plan.comparative
    in_plan = ds["regimen"].isin(plan.regimens).fillna(False).to_numpy(dtype=bool)
    # every patient is in the plan's regimens after eligibility: no copy of the dataset then
    rows = ds if in_plan.all() else ds[in_plan]
    # the baseline columns the covariate rules read, not all of them (no copy of the baseline)
    read = rule_columns()
    base = baseline[["patient_id", *(x for x in baseline.columns if x in read
                                     and x not in ("patient_id", "regimen", "risk_group",
                                                   "egfr"))]]
    frame = comparative_frame(rows, base)
    mv_names = [f"mv_{n}" for n in c.covariates]
    mv = covariate_values(frame, c.covariates).set_axis(mv_names, axis=1)
    prop: Propensity | None
    try:
        prop = fit_propensity(frame, plan) if len(frame) else None
    except (ValueError, np.linalg.LinAlgError) as exc:
        prop = None
        note = str(exc)
    else:
        note = ""
    weights = (pd.Series(prop.weights, index=rows.index) if prop is not None
               else pd.Series(np.nan, index=rows.index))
    data = pd.concat([rows, mv], axis=1).assign(iptw_weight=weights)
    if prop is None:
        data = data.assign(iptw_weight=1.0)
    # the balance table is all that still reads the merged baseline columns: computed now
    bal = (balance(prop, frame, plan) if prop is not None
           else pd.DataFrame(columns=BALANCE_COLUMNS))
    # the design (one column per covariate level and patient) is read again only for the
    # analysis dataset's ps_* columns: it is let go while the models below are fitted and built
    # again from the same frame at the end (the same computation, so the same numbers)
    design_columns = list(prop.design.columns) if prop is not None else []
    if prop is not None:
        # a copy of no rows: a slice would be a view keeping the whole design's memory
        prop = replace(prop, design=prop.design.iloc[:0].copy())
    hrs = compute_hazard_ratios(data, plan, mv_names)
    del data
    if prop is None:
        hr = hrs.hazard_ratios
        iptw = hr["model"] == "iptw"
        hr.loc[iptw, ["hr", "ci_low", "ci_high", "p_value"]] = np.nan
        hr.loc[iptw, "note"] = f"no propensity model: {note or 'no patients'}"
        hrs = HazardRatios(hr, hrs.ph_tests[hrs.ph_tests["model"] != "iptw"], hrs.rmst,
                           hrs.weighted_tests.iloc[0:0], hrs.weighted_curves.iloc[0:0],
                           hrs.interaction)
    competing = compute_competing(rows, plan)
    landmark = compute_landmark(rows, plan)
    # the analysis dataset: existing columns, then the comparative ones
    extra = mv.reindex(ds.index)
    if prop is not None:
        prop = replace(prop, design=propensity_design(frame, prop, design_columns))
        extra = pd.concat([extra, prop.design.add_prefix("ps_").reindex(ds.index),
                           prop.probabilities.add_prefix("ps_").reindex(ds.index),
                           weights.rename("iptw_weight").reindex(ds.index)], axis=1)
    else:
        extra = extra.assign(iptw_weight=np.nan)
    del frame
    for _label, prefix in RESPONSES:
        extra = pd.concat([extra, competing_outcome(ds, prefix)], axis=1)
    clash = [col for col in extra.columns if col in ds.columns]
    if clash:
        raise ValueError(f"analysis dataset columns would be written twice: {clash}")
    out = pd.concat([ds, extra], axis=1)
    result = Comparative(propensity=prop, balance=bal, survival=hrs,
                         competing=competing, landmark=landmark,
                         effects=compute_effects(table2_rows, plan),
                         dataset_columns=tuple(extra.columns))
    return result, out
