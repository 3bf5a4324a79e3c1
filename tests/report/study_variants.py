"""Study results the bundled cohort cannot give: any arm labels (2 to 8 arms, names with
mathtext or control characters) and Kaplan–Meier inputs of up to a million patients, built
directly so the figures can be drawn at those sizes."""

from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np
import pandas as pd

from poems_cohort.stats import kaplan_meier
from poems_cohort.study import StudyResults


def _plan_with(plan: object, regimens: tuple[str, ...]) -> object:
    # the plan validates regimen names against the paper's; the figures take any label
    out = copy.copy(plan)
    object.__setattr__(out, "regimens", regimens)
    return out


def with_arms(results: StudyResults, names: list[str]) -> StudyResults:
    """``results`` with arms called ``names``: arm k takes the rows of the bundled regimen
    k mod 3, its curve values scaled by 1 − 0.06·(k div 3) so that copies differ."""
    src = list(results.plan.regimens)
    source = {name: src[k % len(src)] for k, name in enumerate(names)}
    shrink = {name: 1 - 0.06 * (k // len(src)) for k, name in enumerate(names)}

    def expand(frame: pd.DataFrame, col: str, rows: pd.Series | None = None,
               scale: bool = False) -> pd.DataFrame:
        rows = pd.Series(True, index=frame.index) if rows is None else rows
        mine = frame[rows & frame[col].isin(src)]
        parts = []
        for name in names:
            part = mine[mine[col] == source[name]].copy()
            part[col] = name
            if scale and "value" in part:
                part["value"] = part["value"] * shrink[name]
            parts.append(part)
        return pd.concat([*parts, frame[~(rows & frame[col].isin(src))]], ignore_index=True)

    s, k = results.survival, results.kinetics
    by_regimen = s.curves["by"] == "regimen"
    flow = results.flow
    included = flow["stage"] == "included"
    return replace(
        results, plan=_plan_with(results.plan, tuple(names)),
        flow=expand(flow, "detail", included),
        table1=replace(results.table1, rows=expand(results.table1.rows, "regimen")),
        table2=replace(results.table2, rows=expand(results.table2.rows, "regimen")),
        kinetics=replace(k, curves=expand(k.curves, "group", scale=True),
                         at_risk=expand(k.at_risk, "group")),
        survival=replace(s, curves=expand(s.curves, "group", by_regimen, scale=True),
                         at_risk=expand(s.at_risk, "group", s.at_risk["by"] == "regimen")))


def km_frames(n: int, groups: list[str], *, seed: int = 1, step: float = 12.0,
              endpoint: str = "PFS", by: str = "regimen", subgroup: str = "all"
              ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Curves and numbers at risk (the study's columns) of ``n`` patients in ``groups``:
    exponential event times (medians 40 to 100 months), uniform censoring over 0–150
    months, times to 1e-4 month so nearly every patient has a time of their own."""
    rng = np.random.default_rng(seed)
    g = rng.integers(0, len(groups), n)
    median = np.linspace(40, 100, len(groups))[g]
    event_t = rng.exponential(median / np.log(2))
    cens_t = rng.uniform(0, 150, n)
    time = np.round(np.minimum(event_t, cens_t), 4)
    event = (event_t <= cens_t).astype(int)
    curves, risk = [], []
    ticks = np.arange(0.0, 150 + step, step)
    for i, name in enumerate(groups):
        t, e = time[g == i], event[g == i]
        tab = kaplan_meier(t, e).table
        curves.append(pd.DataFrame({
            "endpoint": endpoint, "by": by, "subgroup": subgroup, "group": name,
            "time": tab["time"].to_numpy(float), "n_risk": tab["n_risk"].to_numpy(int),
            "n_event": tab["n_event"].to_numpy(int), "n_censor": tab["n_censor"].to_numpy(int),
            "value": tab["surv"].to_numpy(float), "lower": tab["lower"].to_numpy(float),
            "upper": tab["upper"].to_numpy(float)}))
        st = np.sort(t)
        risk.append(pd.DataFrame({
            "endpoint": endpoint, "by": by, "subgroup": subgroup, "group": name,
            "time": ticks, "n_risk": len(st) - np.searchsorted(st, ticks, side="left")}))
    return pd.concat(curves, ignore_index=True), pd.concat(risk, ignore_index=True)


def with_patients(results: StudyResults, n: int, *, seed: int = 1) -> StudyResults:
    """``results`` whose Figure 2 curves (every PFS/OS panel by regimen) are those of ``n``
    patients (one simulated cohort, shown in each panel)."""
    groups = list(results.plan.regimens)
    s = results.survival
    base_c, base_r = km_frames(n, groups, seed=seed)
    curves, risk = [], []
    for endpoint in ("PFS", "OS"):
        for sg in s.curves["subgroup"].unique():
            curves.append(base_c.assign(endpoint=endpoint, subgroup=sg))
            risk.append(base_r.assign(endpoint=endpoint, subgroup=sg))
    keep_c, keep_r = s.curves[s.curves["by"] != "regimen"], s.at_risk[s.at_risk["by"] != "regimen"]
    return replace(results, survival=replace(
        s, curves=pd.concat([*curves, keep_c], ignore_index=True),
        at_risk=pd.concat([*risk, keep_r], ignore_index=True)))
