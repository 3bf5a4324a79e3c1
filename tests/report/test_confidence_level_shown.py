"""Tables name the plan's confidence level in their headers, not a fixed 95%."""

from poems_cohort.report import tables
from poems_cohort.study import AnalysisPlan, compute_study
from tests.study import cohort12


def _headers(level: float) -> list[str]:
    res = compute_study(cohort12.baseline(), cohort12.analysis_dataset(), cohort12.flow(),
                        AnalysisPlan(confidence_level=level))
    shown = [tables.table2(res), tables.kinetics_table(res), tables.survival_table(res),
             tables.followup_table(res), tables.supplementary_table(res)]
    return [str(c) for t in shown if t is not None for c in t.frame.columns]


def test_headers_follow_the_plan_level():
    heads = _headers(0.90)
    assert not [h for h in heads if "95%" in h]
    ci = [h for h in heads if "90% CI" in h]
    for expected in ("% (90% CI)", "Median months (90% CI)", "-year rate, % (90% CI)",
                     "-month rate, % (90% CI)", "Reverse Kaplan–Meier median (90% CI)"):
        assert any(expected in h for h in ci), expected


def test_default_headers_say_95_percent():
    assert any("% (95% CI)" in h for h in _headers(0.95))
