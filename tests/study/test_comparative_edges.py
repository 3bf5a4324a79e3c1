"""Edge cases of the comparative analyses on hand-built data: the competing-risk outcome of
response, the landmark population, the plan's comparative section, the separation rule, and a
cohort too small for some models (every model either gives a number or says why not)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from poems_cohort.errors import InputError
from poems_cohort.study import AnalysisPlan, compute_study, load_plan
from poems_cohort.study.comparative import fit_propensity
from poems_cohort.study.comparative_plan import ComparativePlan
from poems_cohort.study.competing import competing_outcome
from poems_cohort.study.landmark import compute_landmark, landmark_frame
from tests.study import cohort12


def _ds(**cols: list[object]) -> pd.DataFrame:
    return pd.DataFrame(cols)


def test_competing_outcome_orders_response_against_progression_or_death() -> None:
    ds = _ds(crh_evaluable=[1, 1, 1, 1, 1, 0, 1],
             crh=[1, 1, 0, 0, 1, pd.NA, 1],
             crh_months=[5.0, 9.0, np.nan, np.nan, 4.0, np.nan, 0.0],
             crh_last_months=[5.0, 9.0, 7.0, 3.0, 4.0, np.nan, 0.0],
             pfs_months=[20.0, 8.0, 12.0, 30.0, 4.0, 2.0, 10.0],
             pfs_event=[1, 1, 1, 0, 1, 1, 0])
    out = competing_outcome(ds, "crh")
    # response then progression: response; progression before response: competing at PFS time;
    # non-responder progressing: competing; non-responder without event: censored at the last
    # assessment; response and progression on the same day: the response counts; not evaluable:
    # missing; response at time 0: a response at 0
    assert out["crh_cr_status"].tolist()[:5] == [1, 2, 2, 0, 1]
    assert out["crh_cr_status"].isna().tolist() == [False] * 5 + [True, False]
    assert out["crh_cr_status"].iloc[6] == 1
    np.testing.assert_array_equal(out["crh_cr_months"].to_numpy(float),
                                  [5.0, 8.0, 12.0, 3.0, 4.0, np.nan, 0.0])


def test_landmark_population_and_groups() -> None:
    ds = _ds(crv_evaluable=[1, 1, 1, 1, 0],
             crv=[1, 1, 0, 1, 1],
             crv_months=[6.0, 7.0, np.nan, 2.0, 1.0],
             pfs_months=[10.0, 12.0, 9.0, 6.0, 20.0],
             pfs_event=[0, 1, 1, 1, 0],
             os_months=[10.0, 15.0, 9.0, 6.0, 20.0], os_event=[0, 1, 0, 1, 0])
    d = landmark_frame(ds, 6.0)
    # the patient progressing at 6 months is not progression-free after the landmark; the
    # non-evaluable one is out; CRV at exactly 6 counts as reached by the landmark, at 7 not
    assert d.index.tolist() == [0, 1, 2]
    assert d["crv_by_landmark"].tolist() == [1, 0, 0]
    assert d["pfs_from_landmark"].tolist() == [4.0, 6.0, 3.0]
    assert d["os_from_landmark"].tolist() == [4.0, 9.0, 3.0]


def test_comparative_section_of_a_plan_file(tmp_path) -> None:
    f = tmp_path / "plan.toml"
    f.write_text('[comparative]\ncovariates = ["age", "male"]\nstabilized = true\n'
                 'truncation = [1, 99]\ntau_months = 24\nlandmarks_months = [3]\n')
    c = load_plan(f).comparative
    assert c.covariates == ("age", "male") and c.stabilized and c.truncation == (1.0, 99.0)
    assert c.tau_months == 24.0 and c.landmarks_months == (3.0,)
    assert load_plan(f).to_dict()["comparative"]["tau_months"] == 24.0


def test_every_problem_of_the_comparative_section_is_named(tmp_path) -> None:
    with pytest.raises(InputError) as exc:
        AnalysisPlan(comparative=ComparativePlan(covariates=("age", "shoe_size"),
                                                 truncation=(99.0, 1.0), tau_months=-1.0,
                                                 landmarks_months=()))
    named = {p.column for p in exc.value.problems}
    assert named == {"comparative.covariates", "comparative.truncation",
                     "comparative.tau_months", "comparative.landmarks_months"}
    f = tmp_path / "plan.toml"
    f.write_text('[comparative]\ntau = 24\n')
    with pytest.raises(InputError) as exc:
        load_plan(f)
    assert "tau" in exc.value.problems[0].expected


def test_a_missing_indicator_that_predicts_an_arm_is_left_out() -> None:
    rng = np.random.default_rng(3)
    n = 60
    regimen = np.array(["ASCT", "MDex", "LDex"] * 20, dtype=object)
    papilledema = rng.integers(0, 2, n).astype(object)
    papilledema[(regimen == "LDex") & (np.arange(n) % 2 == 0)] = None
    frame = pd.DataFrame({"regimen": regimen, "age": rng.normal(50, 10, n),
                          "papilledema": pd.array(papilledema, dtype="boolean"),
                          "sex": np.where(rng.random(n) < 0.5, "M", "F")})
    plan = AnalysisPlan(comparative=ComparativePlan(
        propensity_covariates=("age", "male", "papilledema")))
    prop = fit_propensity(frame, plan)
    assert "papilledema_missing" not in prop.design.columns
    assert [c for c, _ in prop.dropped] == ["papilledema_missing"]
    assert prop.converged
    assert np.isfinite(prop.weights).all() and (prop.weights >= 1).all()


def test_a_twelve_patient_cohort_gives_numbers_or_reasons() -> None:
    res = compute_study(cohort12.baseline(), cohort12.analysis_dataset(), cohort12.flow(),
                        AnalysisPlan())
    hr = res.comparative.survival.hazard_ratios
    assert set(hr["model"]) == {"unadjusted", "risk-stratified", "multivariable", "iptw"}
    for _, row in hr.iterrows():
        assert math.isfinite(row["hr"]) or row["note"], row.to_dict()
    # the exported dataset keeps the existing columns first and one row per patient
    ds = res.analysis_dataset
    assert len(ds) == 12
    assert list(ds.columns[:len(cohort12.analysis_dataset().columns)]) == list(
        cohort12.analysis_dataset().columns)
    assert {"iptw_weight", "crh_cr_status", "crv_cr_months"} <= set(ds.columns)


def test_a_subgroup_without_the_reference_regimen_gives_no_hazard_ratio() -> None:
    from pathlib import Path

    from poems_cohort.study.comparative import compute_hazard_ratios

    ds = pd.read_csv(Path(__file__).parents[1] / "reference" / "comparative"
                     / "analysis_dataset.csv")
    ds = ds[~((ds["regimen"] == "ASCT") & (ds["risk_group"] == "low"))]
    mv = [c for c in ds.columns if c.startswith("mv_")]
    res = compute_hazard_ratios(ds, AnalysisPlan(), mv)
    low = res.hazard_ratios[res.hazard_ratios["subgroup"] == "low"]
    assert len(low) == 2 * 4 * 2 and low["hr"].isna().all()
    assert low["note"].str.contains("no ASCT patient").all()
    assert not res.rmst["subgroup"].eq("low").any()
    everyone = res.hazard_ratios[res.hazard_ratios["subgroup"] == "all"]
    assert np.isfinite(everyone["hr"]).all()


def test_a_type_error_in_the_section_is_reported_with_every_other_problem(tmp_path) -> None:
    f = tmp_path / "plan.toml"
    f.write_text('[comparative]\ntau_months = "long"\ncovariates = ["shoe"]\nstabilized = 1\n')
    with pytest.raises(InputError) as exc:
        load_plan(f)
    text = " ".join(p.expected for p in exc.value.problems)
    for part in ("comparative.tau_months: a number", "comparative.stabilized: true or false",
                 "comparative.covariates"):
        assert part in text, part


def test_a_diverging_adjustment_covariate_leaves_the_regimen_hazard_ratios_reported() -> None:
    """Every death is a man: the multivariable model's mv_male coefficient is infinite, the
    regimen coefficients are not; R's coxph reports them (as the bundled cohort's low-risk OS
    model did, compared with R in test_comparative_against_r), and so does the study."""
    import warnings

    from poems_cohort import stats
    from poems_cohort.study.comparative import MULTIVARIABLE, _fit_model

    rng = np.random.default_rng(5)
    n = 90
    male = (rng.random(n) < 0.6).astype(float)
    d = pd.DataFrame({
        "regimen": pd.Categorical(np.tile(["ASCT", "MDex", "LDex"], n // 3),
                                  categories=["ASCT", "MDex", "LDex"]),
        "t": rng.exponential(30.0, n).round(1) + 0.1,
        "e": ((rng.random(n) < 0.4) & (male == 1)).astype(int),
        "risk_group": "low", "mv_male": male, "mv_age": (rng.random(n) < 0.5).astype(float)})
    m = _fit_model(d, "t", "e", MULTIVARIABLE, ["mv_male", "mv_age"])
    assert m.usable and m.fit is not None and m.fit.infinite == ("mv_male",)
    assert "mv_male: coefficient may be infinite" in m.note
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        same = stats.cox_ph(d, "t", "e", ["regimen", "mv_male", "mv_age"], ties="efron")
    np.testing.assert_array_equal(m.fit.exp_coef, same.exp_coef)
    zph = m.fit.proportional_hazards_test("km", drop_infinite=True).to_frame()
    assert list(zph.index) == ["regimen", "mv_age", "GLOBAL"]
    # a regimen's own coefficient diverging (an arm without events) gives no hazard ratio
    d2 = d.assign(e=np.where(d["regimen"] == "LDex", 0, (rng.random(n) < 0.4).astype(int)))
    m2 = _fit_model(d2, "t", "e", MULTIVARIABLE, ["mv_age"])
    assert not m2.usable and "an arm without events" in m2.note


def test_a_regimen_never_at_risk_at_an_event_gives_no_hazard_ratio() -> None:
    """Every ASCT patient (the reference) censored before the first event: R's coxph gives one
    regimen coefficient as NA and the other compares MDex with LDex, not with ASCT as its label
    would say. The study reports neither; an adjustment covariate without information is left
    out with a note, the regimen hazard ratios kept."""
    from poems_cohort.study.comparative import MULTIVARIABLE, UNADJUSTED, _fit_model

    rng = np.random.default_rng(11)
    n = 60
    regimen = np.repeat(["ASCT", "MDex", "LDex"], n // 3)
    t = rng.exponential(30.0, n).round(1) + 2.0
    e = (rng.random(n) < 0.6).astype(int)
    t[regimen == "ASCT"], e[regimen == "ASCT"] = 1.0, 0
    d = pd.DataFrame({"regimen": pd.Categorical(regimen, categories=["ASCT", "MDex", "LDex"]),
                      "t": t, "e": e, "risk_group": "low",
                      "mv_age": (rng.random(n) < 0.5).astype(float)})
    m = _fit_model(d, "t", "e", UNADJUSTED, [])
    assert not m.usable and m.fit is None
    assert "no information on regimenLDex" in m.note and "at risk at any event" in m.note
    # mv_early is 1 only for patients censored before the first event: no information on it
    d2 = d.assign(regimen=pd.Categorical(rng.choice(["ASCT", "MDex", "LDex"], n),
                                         categories=["ASCT", "MDex", "LDex"]),
                  mv_early=(d["t"] == 1.0).astype(float))
    m2 = _fit_model(d2, "t", "e", MULTIVARIABLE, ["mv_age", "mv_early"])
    assert m2.usable and m2.fit is not None and m2.fit.singular == ("mv_early",)
    assert "no information in this subgroup, left out: mv_early" in m2.note
    assert np.isfinite(m2.fit.exp_coef[:2]).all()


def test_a_regimen_never_at_risk_in_a_fit_that_runs_out_gives_no_hazard_ratio() -> None:
    """The LDex patient is censored before the first event and every death is a man or not
    (mv_male diverges): the fit runs out of iterations, R marks no NA and keeps regimenLDex at
    0. That 0 is no estimate: the study reports no hazard ratio (it reported HR 1, CI 0 to
    infinity, before)."""
    from poems_cohort.study.comparative import MULTIVARIABLE, _fit_model

    d = pd.DataFrame({
        "regimen": pd.Categorical(["ASCT", "ASCT", "ASCT", "MDex", "LDex"],
                                  categories=["ASCT", "MDex", "LDex"]),
        "t": [63.28, 38.47, 24.34, 64.69, 17.45], "e": [0, 1, 0, 1, 0],
        "risk_group": "low", "mv_male": [1.0, 0.0, 1.0, 1.0, 1.0]})
    m = _fit_model(d, "t", "e", MULTIVARIABLE, ["mv_male"])
    assert not m.usable and m.fit is None
    assert "no information on regimenLDex" in m.note


def test_landmark_fit_without_an_event_in_a_group_gives_no_hazard_ratio() -> None:
    """No death after the landmark among CRV responders: the Cox fit diverges (monotone
    likelihood) and the study gives no HR, CI or Wald p, where R prints the diverged estimate
    (a deliberate difference, docs/statistics.md "Landmark analysis"); the log-rank p stays.
    PFS has events in both groups and is estimated."""
    n = 12
    responder = np.arange(n) < 6
    ds = _ds(crv_evaluable=[1] * n, crv=responder.astype(int).tolist(),
             crv_months=[3.0 if r else np.nan for r in responder],
             pfs_months=[20.0, 25.0, 30.0, 12.0, 40.0, 18.0, 10.0, 14.0, 22.0, 9.0, 30.0, 16.0],
             pfs_event=[0, 1, 0, 1, 0, 1, 1, 1, 0, 1, 1, 0],
             os_months=[20.0, 30.0, 30.0, 20.0, 40.0, 24.0, 12.0, 18.0, 26.0, 15.0, 34.0, 20.0],
             os_event=[0] * 6 + [1, 0, 1, 1, 0, 1], risk_group=["low", "medium"] * 6)
    plan = AnalysisPlan(comparative=ComparativePlan(landmarks_months=(6.0,)))
    table = compute_landmark(ds, plan).table
    table = table[table["subgroup"] == "all"].set_index(["endpoint", "group"])
    os_crv = table.loc[("OS", "CRV")]
    assert os_crv["n"] == 6 and os_crv["events"] == 0
    assert table.loc[("OS", "No CRV")]["events"] == 4
    assert np.isnan(os_crv[["hr", "ci_low", "ci_high", "p_value"]].to_numpy(float)).all()
    assert 0 < os_crv["logrank_p"] < 1
    pfs_crv = table.loc[("PFS", "CRV")]
    assert pfs_crv["events"] == 3 and 0 < pfs_crv["hr"] < 1 and 0 < pfs_crv["p_value"] < 1
