"""The whole ``run`` command on valid but degenerate cohorts: exit 0, and every comparison that
cannot be computed is marked "not testable" (never a traceback).

The cohorts are the ten-patient example with its dates moved (each patient's dates shift with
the treatment start, so every visit keeps its place in the course), then made degenerate:
everybody dying on the same day, everybody censored, everybody dying on the day treatment
starts, a regimen with one patient, a regimen left without patients by eligibility.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from poems_cohort.cli import app

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "ten-patients"
DATES = ("treatment_start", "progression_date", "death_date", "last_followup")
START = pd.Timestamp("2014-01-06")


def _write(folder: Path, *, death_after_days: int | None = None, censored: bool = False,
           regimens: list[str] | None = None, late_ldex: bool = False) -> Path:
    p = pd.read_csv(EXAMPLE / "patients.csv", dtype=str, keep_default_na=False)
    v = pd.read_csv(EXAMPLE / "visits.csv", dtype=str, keep_default_na=False)
    for i, row in p.iterrows():  # every patient starts on START, all dates move with it
        delta = START - pd.Timestamp(row["treatment_start"])
        for c in DATES:
            if row[c]:
                p.at[i, c] = (pd.Timestamp(row[c]) + delta).strftime("%Y-%m-%d")
        own = v["patient_id"] == row["patient_id"]
        v.loc[own, "visit_date"] = [(pd.Timestamp(d) + delta).strftime("%Y-%m-%d")
                                    for d in v.loc[own, "visit_date"]]
    if regimens is not None:
        p["regimen"] = regimens
    if late_ldex:  # one more patient, on LDex, who started six years later (after the cutoff)
        late = p.iloc[[0]].copy()
        late_visits = v[v["patient_id"] == late.iloc[0]["patient_id"]].copy()
        late["patient_id"] = late_visits["patient_id"] = "LATE-1"
        late["regimen"] = "LDex"
        shift = pd.Timedelta(days=365 * 6)
        for c in DATES:
            late[c] = [(pd.Timestamp(d) + shift).strftime("%Y-%m-%d") if d else d
                       for d in late[c]]
        late_visits["visit_date"] = [(pd.Timestamp(d) + shift).strftime("%Y-%m-%d")
                                     for d in late_visits["visit_date"]]
        p, v = pd.concat([p, late], ignore_index=True), pd.concat([v, late_visits])
    if censored:
        p["death_date"] = p["death_cause"] = p["progression_date"] = ""
    if death_after_days is not None:
        day = START + pd.Timedelta(days=death_after_days)
        p["death_date"] = p["last_followup"] = day.strftime("%Y-%m-%d")
        p["progression_date"] = ""
        p["death_cause"] = "disease"
        v = v[pd.to_datetime(v["visit_date"]) <= day]
    folder.mkdir(parents=True)
    p.to_csv(folder / "patients.csv", index=False)
    v.to_csv(folder / "visits.csv", index=False)
    return folder


ALL_SURVIVAL = {(e, s) for e in ("PFS", "OS") for s in ("all", "low", "medium-high", "high")} | {
    ("PFS by CRV", "medium-high"), ("OS by CRV", "medium-high")}

#: cohort -> (how it is built, the survival tests that must be "not testable")
CASES = {
    # the log-rank variance is singular: every patient has the same time and an event
    "same_day": ({"death_after_days": 400}, ALL_SURVIVAL),
    "all_censored": ({"censored": True}, ALL_SURVIVAL),
    "events_at_time_0": ({"death_after_days": 0}, ALL_SURVIVAL),
    # LDex has one patient (a low-risk one, whose group has no death): OS in "low" has no event
    "group_of_one": ({"regimens": ["ASCT"] * 4 + ["MDex"] * 5 + ["LDex"]}, {("OS", "low")}),
    # LDex's only patient started treatment after the data cutoff: the arm is empty after
    # eligibility (a plan regimen that no patient received at all is an input error instead)
    "empty_group": ({"regimens": ["ASCT"] * 5 + ["MDex"] * 5, "late_ldex": True},
                    {("OS", "low")}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_run_on_a_degenerate_cohort_marks_not_testable(case: str, tmp_path: Path) -> None:
    how, expected = CASES[case]
    cohort = _write(tmp_path / "cohort", **how)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(cohort), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    tests = pd.read_csv(out / "tables" / "tests.csv", dtype=str, keep_default_na=False)
    surv = tests[tests["Table"] == "Survival"]
    marked = {(r.Endpoint, r.Subgroup) for r in surv.itertuples() if r.Test == "not testable"}
    assert marked == expected
    assert (surv.loc[surv["Test"] == "not testable", "p"] == "—").all()
    assert (out / "report.html").is_file() and (out / "results.json").is_file()


@pytest.mark.parametrize(("time", "event", "group", "reason"), [
    ([5.0, 5, 5, 5], [0, 0, 0, 0], ["A", "B", "A", "B"], "no events"),
    ([13.0, 13, 13, 13], [1, 1, 1, 1], ["A", "B", "A", "B"], "variance matrix is singular"),
    ([0.0, 0, 0, 0], [1, 1, 1, 1], ["A", "B", "A", "B"], "variance matrix is singular"),
    ([1.0, 2, 3], [0, 1, 1], ["B", "A", "A"], "only one group has subjects at risk"),
    ([1.0, 2, 3], [1, 1, 1], ["A", "A", "A"], "fewer than two groups"),
])
def test_log_rank_outcome_says_why_it_is_not_testable(time, event, group, reason) -> None:
    from poems_cohort.study.survival import logrank

    frame = pd.DataFrame({"t": time, "e": event})
    out = logrank(frame, "t", "e", pd.Series(group))
    assert out.test == "not testable" and reason in out.reason
    assert pd.isna(out.p_value) and pd.isna(out.statistic)
