"""``poems-cohort run --mapping`` for a cohort with its own column names and regimen spellings,
and ``--cutoff``, which overrides the plan's cutoff."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
from typer.testing import CliRunner

from poems_cohort.cli import app
from poems_cohort.workflow import run as run_pipeline


def _own_names(cohort_dir, folder):
    """The example cohort with a user's column names and regimen spellings."""
    folder.mkdir()
    patients = pd.read_csv(cohort_dir / "patients.csv", dtype=str, keep_default_na=False)
    patients["regimen"] = patients["regimen"].replace({"ASCT": "Autologous transplant"})
    patients = patients.rename(columns={"regimen": "Tx", "onls": "Neuro Score"})
    patients.to_csv(folder / "patients.csv", index=False)
    (folder / "visits.csv").write_bytes((cohort_dir / "visits.csv").read_bytes())
    mapping = folder.parent / "map.toml"
    mapping.write_text('[columns]\nTx = "regimen"\n"Neuro Score" = "onls"\n\n'
                       '[regimens]\n"Autologous transplant" = "ASCT"\n', encoding="utf-8")
    return folder, mapping


def test_mapping_file_reads_a_cohort_with_its_own_names(tmp_path, cohort_dir):
    folder, mapping = _own_names(cohort_dir, tmp_path / "mine")
    out = tmp_path / "out"
    without = CliRunner().invoke(app, ["run", str(folder), "--out", str(out), "--quiet"])
    assert without.exit_code == 2, without.output
    assert not out.exists()
    result = CliRunner().invoke(app, ["run", str(folder), "--out", str(out), "--quiet",
                                      "--mapping", str(mapping)])
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "results.json").read_text())
    asct = [r for r in doc["events"] if r["regimen"] == "ASCT"]
    assert asct[0]["patients"] == 4


def _included(summary) -> int:
    return len(summary.results.analysis_dataset)


def test_cutoff_overrides_the_plan_and_excludes_later_treatment(tmp_path, cohort_dir):
    plan = tmp_path / "plan.toml"
    plan.write_text("cutoff = 2018-08-31\n")
    default = run_pipeline(cohort_dir, None, plan=plan)
    assert _included(default) == 10
    early = run_pipeline(cohort_dir, None, plan=plan, cutoff=dt.date(2017, 1, 1))
    assert early.results.plan.cutoff == dt.date(2017, 1, 1)
    # P09 started LDex on 2017-03-15, after the cutoff: not included
    assert _included(early) == 9
    assert "ZQXW-P09" not in set(early.results.analysis_dataset["patient_id"])
    doc = json.loads(early.outputs.files["results.json"])
    assert doc["plan"]["cutoff"] == "2017-01-01"
    assert "2017-01-01" in early.outputs.files["report.html"].decode("utf-8")


def test_bad_cutoff_option_exits_2(tmp_path, cohort_dir):
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(cohort_dir), "--out", str(out),
                                      "--cutoff", "31/08/2018"])
    assert result.exit_code == 2, result.output
    assert "YYYY-MM-DD" in result.output and "Traceback" not in result.output
    assert not out.exists()
