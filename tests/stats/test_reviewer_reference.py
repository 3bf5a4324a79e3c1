"""Propensity scores, IPTW, balance, RMST differences, proportion effects, Cox interaction and IPTW
Cox, and cmprsk's cumulative-incidence variance against R (``tests/reference/reviewer.*``, made by
``make_reference_reviewer.R``; R 4.2.2, survival 3.5-3, cmprsk 2.2-11, nnet).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from poems_cohort.stats import (
    balance_table,
    compare_proportions,
    covariate_design,
    cox_interaction_test,
    cox_ph,
    cuminc_timepoints,
    iptw_weights,
    multinomial_logit,
    risk_difference,
    rmst_comparison,
)
from poems_cohort.stats.logrank import adjust_p
from tests.reference_data import arr, load_csv, load_json

LEVELS = ["A", "B", "C"]


@pytest.fixture(scope="module")
def ref() -> dict:
    return load_json("reviewer")


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return load_csv("reviewer")


@pytest.fixture(scope="module")
def design(data: pd.DataFrame, ref: dict) -> pd.DataFrame:
    d = covariate_design(data, continuous=["age", "albumin"], categorical=["sex", "ph", "grade"])
    return d.frame[ref["design"]["columns"]]


# ------------------------------------------------------------------------------ missing-data rule

def test_design_columns_and_values_match_r(data: pd.DataFrame, ref: dict) -> None:
    d = covariate_design(data, continuous=["age", "albumin"], categorical=["sex", "ph", "grade"],
                         prefix="ps_")
    assert sorted(d.columns) == sorted("ps_" + c for c in ref["design"]["columns"])
    got = d.frame[["ps_" + c for c in ref["design"]["columns"]]].to_numpy()
    np.testing.assert_array_equal(got, np.array(ref["design"]["matrix"], dtype=float))
    assert d.medians == pytest.approx(ref["design"]["medians"], rel=1e-15)
    assert d.dropped == ()
    # the data file is not changed by the rule
    assert data["age"].isna().sum() > 0


# ------------------------------------------------------------------------------ multinomial logit

def test_multinomial_matches_polished_r_fit(design: pd.DataFrame, data: pd.DataFrame,
                                            ref: dict) -> None:
    m = multinomial_logit(design, data["arm"])
    pol = ref["multinom"]["polished"]
    assert m.levels == tuple(LEVELS) and m.converged
    assert m.terms == ("(Intercept)", *design.columns)
    np.testing.assert_allclose(m.coef, np.array(pol["coef"]), rtol=1e-8)
    np.testing.assert_allclose(m.se, np.array(pol["se"]), rtol=1e-8)
    np.testing.assert_allclose(m.fitted, np.array(pol["fitted"]), rtol=1e-8)
    assert m.loglik == pytest.approx(pol["loglik"], rel=1e-12)


def test_multinomial_matches_nnet(design: pd.DataFrame, data: pd.DataFrame, ref: dict) -> None:
    m = multinomial_logit(design, data["arm"])
    nn = ref["multinom"]["nnet"]
    assert nn["converged"]
    np.testing.assert_allclose(m.fitted, np.array(nn["fitted"]), rtol=1e-6)
    np.testing.assert_allclose(m.coef, np.array(nn["coef"]), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(m.se, np.array(nn["se"]), rtol=1e-5)
    assert m.loglik == pytest.approx(nn["loglik"], rel=1e-10)


def test_two_arm_multinomial_equals_glm(design: pd.DataFrame, data: pd.DataFrame,
                                        ref: dict) -> None:
    sel = data["arm"].isin(["A", "B"]).to_numpy()
    m = multinomial_logit(design[sel], data["arm"][sel])
    g = ref["multinom"]["glm_two_arm"]
    np.testing.assert_allclose(m.coef[0], arr(g["coef"]), rtol=1e-8)
    np.testing.assert_allclose(m.se[0], arr(g["se"]), rtol=1e-8)
    np.testing.assert_allclose(m.fitted[:, 1], arr(g["fitted"]), rtol=1e-8)
    assert m.loglik == pytest.approx(g["loglik"], rel=1e-12)


# ------------------------------------------------------------------------------ IPTW

def _probs(ref: dict) -> pd.DataFrame:
    return pd.DataFrame(np.array(ref["multinom"]["polished"]["fitted"]), columns=LEVELS)


@pytest.mark.parametrize("key, kw", [
    ("ate", {}), ("stabilized", {"stabilized": True}),
    ("ate_truncated_1_99", {"truncate": (1, 99)}),
    ("stabilized_truncated_5_95", {"stabilized": True, "truncate": (5, 95)}),
])
def test_weights_match_r(data: pd.DataFrame, ref: dict, key: str, kw: dict) -> None:
    w = iptw_weights(data["arm"], _probs(ref), **kw)
    np.testing.assert_allclose(w.weights, arr(ref["iptw"][key]), rtol=1e-12)


@pytest.mark.parametrize("key, kw", [
    ("summary_ate", {}), ("summary_stabilized", {"stabilized": True}),
    ("summary_ate_truncated_1_99", {"truncate": (1, 99)})])
def test_weight_summary_matches_r(data: pd.DataFrame, ref: dict, key: str, kw: dict) -> None:
    s = iptw_weights(data["arm"], _probs(ref), **kw).summary().set_index("arm")
    for arm in LEVELS:
        r = ref["iptw"][key][arm]
        assert s.loc[arm, "n"] == r["n"]
        for col in ("sum", "min", "max", "mean", "ess"):
            assert s.loc[arm, col] == pytest.approx(r[col], rel=1e-12), (arm, col)


def test_weights_from_our_fit_match_r_to_propensity_precision(design: pd.DataFrame,
                                                              data: pd.DataFrame,
                                                              ref: dict) -> None:
    w = iptw_weights(data["arm"], multinomial_logit(design, data["arm"]))
    np.testing.assert_allclose(w.weights, arr(ref["iptw"]["ate"]), rtol=1e-8)


# ------------------------------------------------------------------------------ balance

@pytest.mark.parametrize("key, weights, reference", [
    ("ate", "ate", "A"), ("stabilized", "stabilized", "A"), ("ref_c", "ate", "C")])
def test_balance_matches_r(design: pd.DataFrame, data: pd.DataFrame, ref: dict, key: str,
                           weights: str, reference: str) -> None:
    b = balance_table(design, data["arm"], arr(ref["iptw"][weights]), reference=reference)
    tab = b.table.set_index(["group", "covariate"])
    expected = ref["balance"][key]
    assert sorted(expected) == sorted(set(LEVELS) - {reference})
    for g, rows in expected.items():
        for cov, r in rows.items():
            row = tab.loc[(g, cov)]
            assert bool(row["binary"]) == r["binary"]
            for ours, theirs in (("mean_group", "mean_arm"), ("mean_reference", "mean_ref"),
                                 ("weighted_mean_group", "wmean_arm"),
                                 ("weighted_mean_reference", "wmean_ref"),
                                 ("sd_pooled", "sd_pooled"), ("smd_unweighted", "smd_unweighted"),
                                 ("smd_weighted", "smd_weighted")):
                assert row[ours] == pytest.approx(r[theirs], rel=1e-10, abs=1e-14), (g, cov, ours)


# ------------------------------------------------------------------------------ RMST

@pytest.mark.parametrize("key", ["tau36", "tau24_ref_b", "tau200"])
def test_rmst_comparison_matches_r(data: pd.DataFrame, ref: dict, key: str) -> None:
    r = ref["rmst"][key]
    res = rmst_comparison(data["time"], data["event"], data["arm"], r["tau"],
                          reference=r["reference"])
    tab = res.table.set_index("group")
    for g, v in r["groups"].items():
        assert tab.loc[g, "rmst"] == pytest.approx(v["rmst"], rel=1e-10)
        assert tab.loc[g, "se"] == pytest.approx(v["se"], rel=1e-10)
        for col in ("diff", "diff_se", "diff_lower", "diff_upper", "p_value"):
            if v[col] is None:
                assert np.isnan(tab.loc[g, col])
            else:
                assert tab.loc[g, col] == pytest.approx(v[col], rel=1e-9), (g, col)


# ------------------------------------------------------------------------------ effect sizes

def test_risk_difference_and_exact_odds_ratio_match_r(ref: dict) -> None:
    for c in ref["effects"]["cases"]:
        rd = risk_difference(c["x1"], c["n1"], c["x0"], c["n0"], conf_level=c["conf_level"])
        assert rd.estimate == pytest.approx(c["rd"], rel=1e-12, abs=1e-15)
        assert rd.lower == pytest.approx(c["rd_lower"], rel=1e-10)
        assert rd.upper == pytest.approx(c["rd_upper"], rel=1e-10)
        t = compare_proportions([c["x1"], c["x0"]], [c["n1"], c["n0"]], ["g", "r"],
                                reference="r", conf_level=c["conf_level"]).table.iloc[0]
        for ours, theirs in (("odds_ratio", "or"), ("or_lower", "or_lower"),
                             ("or_upper", "or_upper"), ("p_value", "p")):
            assert t[ours] == pytest.approx(c[theirs], rel=1e-9, abs=1e-300), (c, ours)
        assert t["risk_difference"] == pytest.approx(c["rd"], abs=1e-15)


def test_effects_by_arm_with_holm_match_r(data: pd.DataFrame, ref: dict) -> None:
    x = data.groupby("arm")["response"].sum().reindex(LEVELS)
    n = data.groupby("arm")["response"].size().reindex(LEVELS)
    res = compare_proportions(x.tolist(), n.tolist(), LEVELS, reference="A")
    tab = res.table.set_index("group")
    for g, r in ref["effects"]["by_arm"].items():
        assert tab.loc[g, "x"] == r["x1"] and tab.loc[g, "n_reference"] == r["n0"]
        for ours, theirs in (("risk_difference", "rd"), ("rd_lower", "rd_lower"),
                             ("rd_upper", "rd_upper"), ("odds_ratio", "or"),
                             ("or_lower", "or_lower"), ("or_upper", "or_upper"),
                             ("p_value", "p"), ("p_adjusted", "p_holm")):
            assert tab.loc[g, ours] == pytest.approx(r[theirs], rel=1e-9), (g, ours)


def test_holm_matches_p_adjust(ref: dict) -> None:
    for case in ref["effects"]["holm"]:
        np.testing.assert_allclose(adjust_p(arr(case["p"]), "holm"), arr(case["holm"]),
                                   rtol=1e-15)


# ------------------------------------------------------------------------------ Cox

@pytest.mark.parametrize("key", ["plain", "adjusted", "stratified", "grade"])
def test_interaction_lr_matches_anova(data: pd.DataFrame, design: pd.DataFrame, ref: dict,
                                      key: str) -> None:
    d = data.assign(subf=pd.Categorical(data["subgroup"], ["low", "high"]),
                    age_f=design["age"])
    kw: dict = {}
    if key == "adjusted":
        kw["covariates"] = ["age_f"]
    if key == "stratified":
        kw["strata"] = "sex"
    if key == "grade":
        res = cox_interaction_test(d[d["grade"].notna()], "time", "event", "arm", "grade")
    else:
        res = cox_interaction_test(d, "time", "event", "arm", "subf", **kw)
    r = ref["cox"]["interaction"][key]
    assert res.df == r["df"]
    assert res.loglik_reduced == pytest.approx(r["loglik_reduced"], rel=1e-10)
    assert res.loglik_full == pytest.approx(r["loglik_full"], rel=1e-10)
    assert res.statistic == pytest.approx(r["chisq"], rel=1e-8)
    assert res.p_value == pytest.approx(r["p"], rel=1e-8)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_iptw_cox_robust_score_and_zph_match_r(data: pd.DataFrame, ref: dict, ties: str) -> None:
    r = ref["cox"][f"iptw_{ties}"]
    d = data.assign(w=arr(ref["iptw"]["ate"]))
    fit = cox_ph(d, "time", "event", ["arm"], weights="w", robust=True, ties=ties)
    assert fit.names == tuple(n.replace("armf", "arm") for n in r["names"])
    np.testing.assert_allclose(fit.coef, arr(r["coef"]), rtol=1e-8)
    np.testing.assert_allclose(fit.robust_se, arr(r["robust_se"]), rtol=1e-8)
    np.testing.assert_allclose(fit.se, arr(r["se"]), rtol=1e-8)
    np.testing.assert_allclose(fit.exp_coef, arr(r["hr"]), rtol=1e-8)
    np.testing.assert_allclose(fit.lower, arr(r["lower"]), rtol=1e-8)
    np.testing.assert_allclose(fit.upper, arr(r["upper"]), rtol=1e-8)
    np.testing.assert_allclose(fit.p_value, arr(r["p"]), rtol=1e-8)
    np.testing.assert_allclose([fit.loglik_null, fit.loglik], arr(r["loglik"]), rtol=1e-12)
    # the robust score test (the weighted analogue of the log-rank test) and the robust Wald p
    assert fit.robust_score_test.statistic == pytest.approx(r["robust_score"]["stat"], rel=1e-8)
    assert fit.robust_score_test.p_value == pytest.approx(r["robust_score"]["p"], rel=1e-8)
    assert fit.wald_test.p_value == pytest.approx(r["wald"]["p"], rel=1e-8)
    # cox.zph of the weighted fit, per term and global
    for transform in ("km", "identity"):
        z = fit.proportional_hazards_test(transform).to_frame()
        ref_z = r[f"zph_{transform}"]
        np.testing.assert_allclose(z["statistic"], arr(ref_z["chisq"]), rtol=1e-8)
        np.testing.assert_allclose(z["p_value"], arr(ref_z["p"]), rtol=1e-8)
        np.testing.assert_array_equal(z["df"], arr(ref_z["df"]))


# ------------------------------------------------------------------------------ cmprsk

def test_cuminc_timepoints_match_cmprsk(data: pd.DataFrame, ref: dict) -> None:
    times = ref["cmprsk"]["times"]
    tab = cuminc_timepoints(data["time"], data["cr_status"], times, group=data["arm"]).table
    assert len(tab) == 3 * 2 * len(times)
    for key, v in ref["cmprsk"]["groups"].items():
        g, cause = key.split()
        rows = tab[(tab["group"] == g) & (tab["cause"] == int(cause))]
        np.testing.assert_array_equal(rows["time"], times)
        for ours, theirs in (("estimate", "est"), ("variance", "var"), ("lower", "lower"),
                             ("upper", "upper")):
            np.testing.assert_allclose(rows[ours], arr(v[theirs]), rtol=1e-10, atol=1e-15,
                                       err_msg=f"{key} {ours}")
    # past the largest time both cmprsk and we give NA
    assert tab.loc[tab["time"] == 200, "estimate"].isna().all()


def test_cuminc_timepoints_ungrouped_and_every_step(data: pd.DataFrame, ref: dict) -> None:
    times = ref["cmprsk"]["times"]
    tab = cuminc_timepoints(data["time"], data["cr_status"], times).table
    for key, v in ref["cmprsk"]["all"].items():
        rows = tab[tab["cause"] == int(key.split()[1])]
        np.testing.assert_allclose(rows["estimate"], arr(v["est"]), rtol=1e-10, atol=1e-15)
        np.testing.assert_allclose(rows["variance"], arr(v["var"]), rtol=1e-10, atol=1e-15)
    # every corner of cmprsk's step output for group A, cause 1 (the value after each jump)
    st = ref["cmprsk"]["steps_A_1"]
    a = data[data["arm"] == "A"]
    t = np.unique(arr(st["time"]))
    got = cuminc_timepoints(a["time"], a["cr_status"], t).table
    got = got[got["cause"] == 1].set_index("time")
    step_t, step_v, step_e = arr(st["time"]), arr(st["var"]), arr(st["est"])
    for tt in t:
        last = np.flatnonzero(step_t == tt)[-1]
        assert got.loc[tt, "estimate"] == pytest.approx(step_e[last], rel=1e-12, abs=1e-15)
        assert got.loc[tt, "variance"] == pytest.approx(step_v[last], rel=1e-10, abs=1e-15)
