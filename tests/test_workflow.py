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
