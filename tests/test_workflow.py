"""The workflow module wires read → eligibility → endpoints → study once; ``derive``, ``run`` and
``run_study`` honour the plan's data cutoff and VEGF threshold at every step."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from poems_cohort import workflow
from poems_cohort.cli import app
from poems_cohort.clinical import EndpointSettings, derive_analysis_dataset
from poems_cohort.cohort import apply_eligibility, load_cohort
from poems_cohort.defaults import PAPER_CUTOFF, VEGF_UPPER_NORMAL
from poems_cohort.errors import InputError
from poems_cohort.study import AnalysisPlan

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "ten-patients"


def _by_hand(cutoff: dt.date, vegf: float) -> tuple[pd.DataFrame, object]:
    """The analysis dataset and flow assembled from the layers directly."""
    cohort = load_cohort(EXAMPLE, cutoff=cutoff)
    elig = apply_eligibility(cohort, cutoff=cutoff, vegf_threshold=vegf)
    ds = derive_analysis_dataset(elig.included,
                                 EndpointSettings(cutoff=cutoff, vegf_normal_below=vegf))
    return ds, elig.flow


def test_the_constants_are_the_defaults_of_every_layer():
    plan = AnalysisPlan()
    assert plan.cutoff == PAPER_CUTOFF == dt.date(2018, 8, 31)
    assert plan.vegf_normal_below == VEGF_UPPER_NORMAL == 600.0
    settings = plan.endpoint_settings()
    assert settings == EndpointSettings()
    assert settings.cutoff == pd.Timestamp(PAPER_CUTOFF)


def test_derive_honours_the_plans_vegf_threshold_in_eligibility_and_responses():
    plan = AnalysisPlan(vegf_normal_below=13000.0)
    derived = workflow.derive(EXAMPLE, plan=plan)
    ds, flow = _by_hand(PAPER_CUTOFF, 13000.0)
    pd.testing.assert_frame_equal(derived.dataset, ds, check_exact=True)
    assert derived.eligibility.flow == flow
    default = workflow.derive(EXAMPLE)
    # P05's only major criterion is VEGF 12 400 pg/ml: not evaluable under 13 000
    assert (derived.eligibility.flow.not_evaluable != default.eligibility.flow.not_evaluable)
    assert not derived.dataset["crv_evaluable"].equals(default.dataset["crv_evaluable"])


def test_cutoff_override_beats_the_plans_cutoff():
    plan = AnalysisPlan(cutoff=dt.date(2016, 1, 1))
    derived = workflow.derive(EXAMPLE, plan=plan, cutoff=dt.date(2015, 6, 30))
    assert derived.plan.cutoff == dt.date(2015, 6, 30)
    ds, _ = _by_hand(dt.date(2015, 6, 30), VEGF_UPPER_NORMAL)
    pd.testing.assert_frame_equal(derived.dataset, ds, check_exact=True)


def test_derive_command_reads_the_plan(tmp_path):
    plan = tmp_path / "plan.toml"
    plan.write_text('cutoff = 2016-01-01\nvegf_normal_below = 5000\n', encoding="utf-8")
    out = tmp_path / "analysis.parquet"
    result = CliRunner().invoke(app, ["derive", str(EXAMPLE), "--out", str(out),
                                      "--plan", str(plan)])
    assert result.exit_code == 0, result.output
    assert "data cutoff 2016-01-01" in result.stdout
    ds, _ = _by_hand(dt.date(2016, 1, 1), 5000.0)
    written = pd.read_parquet(out)
    assert written["patient_id"].tolist() == ds["patient_id"].tolist()
    assert written["crv"].astype("boolean").tolist() == ds["crv"].astype("boolean").tolist()


def test_compute_and_run_study_give_the_same_study():
    computed = workflow.compute(EXAMPLE, plan=AnalysisPlan(cutoff=dt.date(2017, 6, 1)))
    direct = workflow.run_study(load_cohort(EXAMPLE, cutoff=dt.date(2017, 6, 1)),
                                AnalysisPlan(cutoff=dt.date(2017, 6, 1)))
    pd.testing.assert_frame_equal(computed.results.table2.rows, direct.table2.rows)
    pd.testing.assert_frame_equal(computed.results.flow, direct.flow)
    assert not computed.synthetic
    names = [name for name, _ in computed.timings]
    assert names == ["read the analysis plan", "read and validate the cohort",
                     "apply eligibility", "derive endpoints", "compute the study"]


def test_a_cohort_with_nobody_included_is_an_input_error_before_any_output(tmp_path):
    with pytest.raises(InputError, match="none was included"):
        workflow.run(EXAMPLE, tmp_path / "out", cutoff=dt.date(2000, 1, 1))
    assert not (tmp_path / "out").exists()


def test_validate_refuses_what_derive_and_run_refuse_a_cutoff_before_every_treatment():
    messages = []
    for call in (workflow.validate, workflow.derive):
        with pytest.raises(InputError, match="none was included") as info:
            call(EXAMPLE, cutoff=dt.date(2000, 1, 1))
        messages.append(str(info.value))
    assert messages[0] == messages[1] and "treatment started after the data cutoff" in messages[0]
    result = CliRunner().invoke(app, ["validate", str(EXAMPLE), "--cutoff", "2000-01-01"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    # the plan's own cutoff is fine; a centre's cohort checked before its plan exists is too
    assert len(workflow.validate(EXAMPLE)) > 0
    assert len(workflow.validate(ANY_PLAN / "cohort")) > 0


def test_secondary_malignancy_is_optional_and_shown_as_not_recorded(tmp_path):
    from poems_cohort.report.tables import followup_table

    folder = tmp_path / "cohort"
    folder.mkdir()
    patients = pd.read_csv(EXAMPLE / "patients.csv", dtype=str, keep_default_na=False)
    patients.drop(columns=["secondary_malignancy"]).to_csv(folder / "patients.csv", index=False)
    (folder / "visits.csv").write_bytes((EXAMPLE / "visits.csv").read_bytes())
    results = workflow.compute(folder).results
    shown = followup_table(results).frame
    assert set(shown["Secondary malignancies"]) == {"not recorded"}
    recorded = followup_table(workflow.compute(EXAMPLE).results).frame
    assert "not recorded" not in set(recorded["Secondary malignancies"])


ANY_PLAN = Path(__file__).resolve().parent / "reference" / "study" / "any_plan"


def test_study_columns_are_read_typed_by_the_plan_and_checked(tmp_path):
    cohort = workflow.validate(ANY_PLAN / "cohort", plan=ANY_PLAN / "plan.toml")
    assert not cohort.warnings  # ecog, centre, prior_radiation are study columns, not ignored
    assert cohort.patients["ecog"].dtype == "float64"
    assert str(cohort.patients["prior_radiation"].dtype) == "boolean"
    assert cohort.patients["centre"].dropna().isin(["North", "South", "East"]).all()
    without = load_cohort(ANY_PLAN / "cohort")
    assert "ecog" not in without.patients.columns
    assert {w.column for w in without.warnings} == {"ecog", "centre", "prior_radiation"}
    # a bad value in a study column is an input error naming row, column and value
    folder = tmp_path / "cohort"
    folder.mkdir()
    patients = pd.read_csv(ANY_PLAN / "cohort" / "patients.csv", dtype=str,
                           keep_default_na=False)
    patients.loc[2, "ecog"] = "two"
    patients.loc[5, "prior_radiation"] = "maybe"
    patients.to_csv(folder / "patients.csv", index=False)
    (folder / "visits.csv").write_bytes((ANY_PLAN / "cohort" / "visits.csv").read_bytes())
    with pytest.raises(InputError) as caught:
        workflow.validate(folder, plan=ANY_PLAN / "plan.toml")
    found = {(p.row, p.column, p.value) for p in caught.value.problems}
    assert found == {(4, "ecog", "two"), (7, "prior_radiation", "maybe")}


def test_validate_command_lists_a_centres_regimens(tmp_path):
    result = CliRunner().invoke(app, ["validate", str(ANY_PLAN / "cohort"),
                                      "--plan", str(ANY_PLAN / "plan.toml")])
    assert result.exit_code == 0, result.output
    assert "Auto-HCT 138" in result.stdout and "Radiotherapy 37" in result.stdout
    assert "ASCT 0" not in result.stdout and "0 warning(s)" in result.stdout


def test_required_columns_are_only_those_the_plan_needs(tmp_path):
    folder = tmp_path / "cohort"
    folder.mkdir()
    patients = pd.read_csv(ANY_PLAN / "cohort" / "patients.csv", dtype=str,
                           keep_default_na=False)
    dropped = ["heavy_chain", "light_chain", "spe_g_l", "bmpc_pct", "urine_protein_g_24h"]
    patients.drop(columns=dropped).to_csv(folder / "patients.csv", index=False)
    (folder / "visits.csv").write_bytes((ANY_PLAN / "cohort" / "visits.csv").read_bytes())
    plan = load_plan_for_test()
    assert set(dropped) <= set(plan.optional_columns())
    assert "albumin_g_l" not in plan.optional_columns()  # a row of this plan's Table 1
    results = workflow.compute(folder, plan=plan).results
    assert len(results.analysis_dataset) == 310
    with pytest.raises(InputError) as caught:  # the published Table 1 shows them
        workflow.validate(folder)
    assert {p.column for p in caught.value.problems if p.severity == "error"} == set(dropped)


def load_plan_for_test():
    from poems_cohort.study import load_plan

    return load_plan(ANY_PLAN / "plan.toml")


# --- regimen names that only look alike, and unprintable names ---------------------------------

def _with_regimen(tmp_path, value: str):
    import shutil

    from tests.report.conftest import EXAMPLE

    folder = tmp_path / "cohort"
    shutil.copytree(EXAMPLE, folder)
    p = pd.read_csv(folder / "patients.csv", dtype=str, keep_default_na=False)
    p.loc[0, "regimen"] = value
    p.to_csv(folder / "patients.csv", index=False)
    return folder, p.loc[0, "patient_id"]


@pytest.mark.parametrize("value", ["ＡＳＣＴ", "A SCT", "As-ct"])
def test_a_regimen_that_only_looks_like_a_planned_one_is_refused(tmp_path, value):
    folder, _ = _with_regimen(tmp_path, value)
    for call in (lambda: workflow.validate(folder), lambda: workflow.derive(folder)):
        with pytest.raises(InputError) as info:
            call()
        [problem] = info.value.problems
        assert problem.value == value and "'ASCT'" in problem.expected


@pytest.mark.parametrize("value", ["AS\u200bCT", "ASCT\x1b[31m", "LD\tex"])
def test_a_regimen_with_invisible_or_control_characters_is_refused_at_its_row(tmp_path, value):
    folder, _ = _with_regimen(tmp_path, value)
    with pytest.raises(InputError) as info:
        workflow.validate(folder)
    [problem] = [p for p in info.value.problems if p.severity == "error"]
    assert problem.column == "regimen" and problem.row == 2
    assert "printable" in problem.expected
