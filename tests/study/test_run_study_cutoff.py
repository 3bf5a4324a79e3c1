"""``run_study`` applies the plan's cutoff to eligibility: treatment after it is not included."""

import datetime as dt
from pathlib import Path

import pytest

from poems_cohort.cohort import load_cohort
from poems_cohort.errors import InputError
from poems_cohort.study import AnalysisPlan
from poems_cohort.workflow import run_study

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "ten-patients"


def test_patients_treated_after_the_plan_cutoff_are_not_analysed():
    cutoff = dt.date(2017, 1, 1)
    cohort = load_cohort(EXAMPLE, cutoff=cutoff)
    res = run_study(cohort, AnalysisPlan(cutoff=cutoff))
    ids = set(res.analysis_dataset["patient_id"])
    assert "P09" not in ids  # LDex from 2017-03-15
    assert len(ids) == 9
    assert len(run_study(cohort, AnalysisPlan()).analysis_dataset) == 10


def test_no_patient_left_is_an_input_error_naming_the_exclusions():
    cutoff = dt.date(2000, 1, 1)
    with pytest.raises(InputError) as exc:
        run_study(load_cohort(EXAMPLE, cutoff=cutoff), AnalysisPlan(cutoff=cutoff))
    assert "treatment started after the data cutoff: 10" in exc.value.problems[0].expected
