"""The methods paragraph states the readings of evaluability the plan used."""

from __future__ import annotations

import dataclasses

from poems_cohort import workflow
from poems_cohort.report.comparative import comparative_methods
from poems_cohort.study import AnalysisPlan
from tests.report.conftest import EXAMPLE


def test_the_methods_name_the_plans_readings_of_evaluability():
    default = comparative_methods(workflow.compute(EXAMPLE).results)
    assert "CRH/CRV, either, evaluable for both, or a responder to either." in default
    assert "at least 1 and an ONLS was scored after treatment start;" in default
    plan = dataclasses.replace(AnalysisPlan(), crh_crv_evaluable="either", rn_evaluable="baseline")
    other = comparative_methods(workflow.compute(EXAMPLE, plan=plan).results)
    assert "CRH/CRV, either, evaluable for either." in other
    assert "baseline ONLS was at least 1;" in other
