"""Display formatting: one number of decimals per kind of value, ``—`` for no patients (``NR``
only for a median not reached), running-text p-values and rates."""

from __future__ import annotations

import re

import pytest

from poems_cohort.report import format as fmt
from poems_cohort.report import tables
from poems_cohort.report.figures import draw_figure2, draw_supplementary_figure
from poems_cohort.report.narrative import narrative
from poems_cohort.study import AnalysisPlan, compute_study
from tests.study import cohort12

ONE_DECIMAL_RANGE = re.compile(r"^\d+\.\d \(\d+\.\d–\d+\.\d\)$")


def _results(plan: AnalysisPlan | None = None, drop: tuple[str, ...] = ()):
    ds = cohort12.analysis_dataset()
    base = cohort12.baseline()
    ds = ds[~ds["patient_id"].isin(drop)].reset_index(drop=True)
    base = base[~base["patient_id"].isin(drop)].reset_index(drop=True)
    return compute_study(base, ds, cohort12.flow(), plan or AnalysisPlan())


def test_months_always_have_one_decimal():
    assert fmt.months(48) == "48.0"
    assert fmt.median_range(48, 1.6, 143.9) == "48.0 (1.6–143.9)"
    assert fmt.median_ci(90, 42, float("nan")) == "90.0 (42.0–NR)"


def test_followup_and_kinetics_columns_use_one_decimal():
    res = _results()
    fu = tables.followup_table(res).frame
    cells = list(fu["Median follow-up, months (range)"])
    assert cells and all(ONE_DECIMAL_RANGE.match(c) for c in cells), cells
    assert all(re.match(r"^\d+\.\d$", c) for c in fu["Person-years"])
    kin = tables.kinetics_table(res).frame
    med = [c for c in kin["Median months to response (range)"] if c != fmt.MISSING]
    assert med and all(ONE_DECIMAL_RANGE.match(c) for c in med), med
    surv = tables.survival_table(res).frame
    col = next(c for c in surv.columns if c.startswith("Median months"))
    numbers = [x for c in surv[col] for x in re.findall(r"[\d.]+", c)]
    assert numbers and all(re.fullmatch(r"\d+\.\d", x) for x in numbers), numbers


def test_table1_rows_show_their_numbers_alike():
    assert fmt.whole_digits(3, 5.0, float("nan")) == 0
    assert fmt.whole_digits(3, 4.5) == 1
    frame = tables.table1(_results()).frame
    rows = frame[frame["Characteristic"].str.endswith("median (range)")]
    assert len(rows) == 2
    for _, rec in rows.iterrows():
        shown = [rec[c] for c in frame.columns if "(N=" in c]
        decimals = {len(x.split(".")[1]) if "." in x else 0
                    for s in shown for x in re.findall(r"[\d.]+", s)}
        assert len(decimals) == 1, shown


def test_a_regimen_without_patients_in_a_subgroup_shows_a_dash_not_nr():
    res = _results(drop=("PID-L1",))  # the only low-risk LDex patient
    surv = tables.survival_table(res).frame
    col = next(c for c in surv.columns if c.startswith("Median months"))
    ldex_low = surv[(surv["Regimen"] == "LDex") & (surv["Subgroup"] == "Low risk")]
    assert len(ldex_low) == 2 and set(ldex_low[col]) == {fmt.MISSING}
    assert "NR" not in " ".join(ldex_low.astype(str).to_numpy().ravel())
    # a median not reached is still NR
    asct_low = surv[(surv["Regimen"] == "ASCT") & (surv["Subgroup"] == "Low risk")
                    & (surv["Endpoint"] == "OS")]
    assert asct_low[col].iloc[0].startswith("NR")
    t2 = tables.table2(res).frame
    low_pct = next(c for c in t2.columns if c.startswith("Low risk") and "CI" in c)
    assert set(t2.loc[t2["Regimen"] == "LDex", low_pct]) == {fmt.MISSING}


def test_figures_draw_a_subgroup_where_a_regimen_has_no_patients():
    res = _results(drop=("PID-L1",))
    fig = draw_figure2(res)
    assert len(fig.axes) >= 12
    draw_supplementary_figure(res)


def test_narrative_p_values_and_missing_rates():
    assert fmt.p_text(0.0001) == "p < 0.001"
    assert fmt.pct_text(float("nan")) == "not estimable"
    assert fmt.pct_text(46.36) == "46.4%"
    text = narrative(_results(AnalysisPlan(survival_landmark_months=120)))
    assert "—%" not in text and "%%" not in text
    assert not re.search(r"<\d", text)
    assert "10-year PFS was not estimable" in text


@pytest.mark.parametrize("p,shown", [(0.0004, "p < 0.001"), (0.012, "p = 0.012")])
def test_p_text(p, shown):
    assert fmt.p_text(p) == shown


def test_landmarks_that_are_not_whole_years_are_named_in_months():
    assert fmt.landmark(36) == "3-year"
    assert fmt.landmark(6) == "6-month"
    assert fmt.landmark(18) == "18-month"
    res = _results(AnalysisPlan(survival_landmark_months=6))
    t2 = tables.table2(res).frame
    assert set(t2["Endpoint"]) >= {"PFS, 6-month rate (events/N)", "OS, 6-month rate (events/N)"}
    assert any(c.startswith("6-month rate") for c in tables.survival_table(res).frame.columns)
    assert "6-month PFS was" in narrative(res)
    assert "0.5-year" not in narrative(res)


def test_supplementary_caption_for_the_all_subgroup_reads_naturally():
    from poems_cohort.report.figures import supplementary_figure

    res = _results(AnalysisPlan(supplementary_subgroup="all"))
    caption = supplementary_figure(res).caption
    assert "among all CRV-evaluable patients" in caption
    assert "patients patients" not in caption


def test_narrative_counts_one_death_in_the_singular_and_names_untestable_p():
    # deaths: A4, M3 and L4; without A4 and the LDex patients only M3 died
    res = _results(drop=("PID-A4", "PID-L1", "PID-L2", "PID-L3", "PID-L4"))
    text = narrative(res)
    assert "7 patients were analysed" in text
    assert "1 patient died" in text
    assert "LDex not estimable, p not testable" in text
