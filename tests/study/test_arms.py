"""Two to eight arms: every table, figure, the narrative and results.json are made for any number
of regimens the plan compares (tried on the frozen synthetic test cohort relabelled)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from poems_cohort import workflow
from poems_cohort.study import AnalysisPlan

SOURCE = Path(__file__).resolve().parents[1] / "reference" / "study" / "cohort"


@pytest.mark.parametrize("arms", [2, 8])
def test_every_output_is_made_for_any_number_of_arms(tmp_path, arms):
    names = [f"Arm {chr(65 + i)}" for i in range(arms)]
    patients = pd.read_csv(SOURCE / "patients.csv", dtype=str, keep_default_na=False).head(160)
    patients["regimen"] = [names[i % arms] for i in range(len(patients))]
    patients.to_csv(tmp_path / "patients.csv", index=False)
    visits = pd.read_csv(SOURCE / "visits.csv", dtype=str, keep_default_na=False)
    visits[visits["patient_id"].isin(patients["patient_id"])].to_csv(tmp_path / "visits.csv",
                                                                      index=False)
    plan = AnalysisPlan(regimens=tuple(names), reference=names[-1])
    summary = workflow.run(tmp_path, None, plan=plan)
    files = summary.outputs.files
    for name in ("figures/figure1.png", "figures/figure2.png", "report.html", "results.json"):
        assert name in files
    data = json.loads(files["results.json"])
    assert {r["regimen"] for r in data["table2"]} == {"All", *names}
    assert {r["regimen"] for r in data["survival"]} == {"All", *names}
    across = summary.results.survival.test("OS")
    assert across.df == arms - 1
    table1 = files["tables/table1.csv"].decode("utf-8").splitlines()[0]
    for name in names:
        assert f"{name} (N=" in table1
    html = files["report.html"].decode("utf-8")
    assert all(name in html for name in names)
