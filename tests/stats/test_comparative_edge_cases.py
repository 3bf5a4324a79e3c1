"""Edge cases and input errors of the comparative-analysis statistics (propensity, IPTW, balance,
RMST comparison, proportion effects, Cox interaction, cmprsk variance), with values derived by hand.
"""

from __future__ import annotations

import math
import warnings

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
    cumulative_incidence,
    iptw_weights,
    kaplan_meier,
    multinomial_logit,
    risk_difference,
    rmst_comparison,
)
from poems_cohort.stats.cox import FitWithoutDataError

# ------------------------------------------------------------------------------ missing-data rule


def test_design_rule_by_hand() -> None:
    d = pd.DataFrame({
        "x": [1.0, np.nan, 3.0, 10.0],
        "full": [1.0, 2.0, 3.0, 4.0],
        "cat": pd.Categorical(["b", None, "a", "b"], categories=["b", "a", "unused"]),
        "flag": pd.array([True, None, False, True], dtype="boolean"),
    })
    des = covariate_design(d, continuous=["x", "full"], categorical=["cat", "flag"], prefix="ps_")
    assert des.columns == ("ps_x", "ps_x_missing", "ps_full", "ps_cat_a", "ps_cat_missing",
                           "ps_flag_True", "ps_flag_missing")
    assert des.medians == {"x": 3.0, "full": 2.5}
    np.testing.assert_array_equal(des.frame["ps_x"], [1, 3, 3, 10])
    np.testing.assert_array_equal(des.frame["ps_x_missing"], [0, 1, 0, 0])
    # the Categorical's order: "b" is the reference; an unused category adds nothing
    np.testing.assert_array_equal(des.frame["ps_cat_a"], [0, 0, 1, 0])
    np.testing.assert_array_equal(des.frame["ps_cat_missing"], [0, 1, 0, 0])
    np.testing.assert_array_equal(des.frame["ps_flag_True"], [1, 0, 0, 1])
    assert list(des.describe()["kind"]) == ["value", "missing", "value", "level", "missing",
                                            "level", "missing"]
    assert "ps_x" in repr(des) and des.to_frame().equals(des.frame)
    assert d["x"].isna().sum() == 1  # input untouched
    every = covariate_design(d, categorical=["cat"], all_levels=True)
    assert every.columns == ("cat_b", "cat_a", "cat_missing")
    np.testing.assert_array_equal(every.frame.sum(axis=1), 1.0)


def test_design_drops_unusable_covariates_and_refuses_bad_ones() -> None:
    d = pd.DataFrame({"gone": [np.nan] * 3, "same": [2.0] * 3, "one": ["a", "a", "a"],
                      "txt": ["1", "2", "3"], "bad": ["missing", "x", "x"],
                      "ok": [1.0, 2.0, 4.0]})
    des = covariate_design(d, continuous=["gone", "same", "ok"], categorical=["one"])
    assert des.columns == ("ok",)
    assert dict(des.dropped) == {"gone": "all values missing", "same": "a single value",
                                 "one": "a single value"}
    with pytest.raises(ValueError, match="'txt'.*numeric"):
        covariate_design(d, continuous=["txt"])
    with pytest.raises(ValueError, match="'bad'.*'missing'"):
        covariate_design(d, categorical=["bad"])
    with pytest.raises(ValueError, match=r"no column\(s\) \['nope'\]"):
        covariate_design(d, continuous=["nope"])
    with pytest.raises(ValueError, match="more than once"):
        covariate_design(d, continuous=["ok"], categorical=["ok"])


# ------------------------------------------------------------------------------ multinomial logit


def _toy(n: int = 300, seed: int = 3) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = pd.DataFrame({"a": rng.normal(size=n), "b": rng.integers(0, 2, n).astype(float)})
    eta = np.column_stack([np.zeros(n), 0.5 + x.a, -0.3 + 0.8 * x.b - 0.5 * x.a])
    p = np.exp(eta) / np.exp(eta).sum(axis=1, keepdims=True)
    arm = np.array([rng.choice(["P", "Q", "R"], p=pi) for pi in p])
    return x, arm


def test_multinomial_fitted_probabilities_do_not_depend_on_the_baseline() -> None:
    x, arm = _toy()
    m1 = multinomial_logit(x, arm)
    m2 = multinomial_logit(x, arm, levels=["R", "P", "Q"])
    np.testing.assert_allclose(m2.probabilities()[["P", "Q", "R"]].to_numpy(), m1.fitted,
                               rtol=1e-9)
    np.testing.assert_allclose(m1.fitted.sum(axis=1), 1.0, rtol=1e-14)
    assert m1.loglik == pytest.approx(m2.loglik, rel=1e-12)
    # the score is 0 at the maximum: observed counts per arm equal the fitted sums
    counts = pd.Series(arm).value_counts().reindex(["P", "Q", "R"]).to_numpy()
    np.testing.assert_allclose(m1.fitted.sum(axis=0), counts, rtol=1e-9)
    np.testing.assert_allclose(m1.received(), m1.fitted[np.arange(len(arm)), m1.treatment])
    stat, df, p = m1.likelihood_ratio_test
    assert df == 4 and stat > 0 and 0 <= p <= 1
    assert list(m1.to_frame().columns) == ["level", "term", "coef", "se", "z", "p_value"]
    assert "reference 'P'" in repr(m1)


def test_intercept_only_model_gives_the_arm_proportions() -> None:
    arm = ["a"] * 3 + ["b"] * 5 + ["c"] * 2
    m = multinomial_logit(np.empty((10, 0)), arm)
    np.testing.assert_allclose(m.fitted[0], [0.3, 0.5, 0.2], rtol=1e-12)
    assert m.loglik == pytest.approx(m.loglik_null, rel=1e-14)


def test_separation_is_reported_not_hidden() -> None:
    x = pd.DataFrame({"a": [0.0, 1, 2, 3, 4, 5, 6, 7]})
    arm = ["u"] * 4 + ["v"] * 4
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        m = multinomial_logit(x, arm, max_iter=25)
    assert not m.converged and m.warnings
    assert any("separation" in str(v.message) for v in w)


def test_multinomial_input_errors() -> None:
    x, arm = _toy(30)
    with pytest.raises(ValueError, match="missing value in column 'a' at row position 2"):
        multinomial_logit(x.assign(a=np.where(np.arange(30) == 2, np.nan, x.a)), arm)
    with pytest.raises(ValueError, match="collinear"):
        multinomial_logit(x.assign(c=2 * x.a), arm)
    with pytest.raises(ValueError, match="collinear"):
        multinomial_logit(x.assign(c=1.0), arm)
    with pytest.raises(ValueError, match="at least 2 arms"):
        multinomial_logit(x, ["P"] * 30)
    with pytest.raises(ValueError, match="differ in length"):
        multinomial_logit(x, arm[:-1])
    with pytest.raises(ValueError, match="not numeric"):
        multinomial_logit(x.assign(s="u"), arm)
    with pytest.raises(ValueError, match="no observations in arm"):
        multinomial_logit(x, arm, levels=["P", "Q", "R", "S"])


# ------------------------------------------------------------------------------ IPTW


def test_weights_by_hand() -> None:
    probs = pd.DataFrame({"A": [0.5, 0.2, 0.25, 0.8], "B": [0.5, 0.8, 0.75, 0.2]})
    arm = ["A", "B", "B", "A"]
    w = iptw_weights(arm, probs)
    np.testing.assert_allclose(w.weights, [2, 1.25, 4 / 3, 1.25])
    s = w.summary().set_index("arm")
    assert s.loc["A", "ess"] == pytest.approx((2 + 1.25) ** 2 / (4 + 1.25 ** 2))
    ws = iptw_weights(arm, probs, stabilized=True)
    np.testing.assert_allclose(ws.weights, 0.5 * w.weights)
    wt = iptw_weights(arm, probs, truncate=(0, 50))
    med = float(np.median(w.weights))
    np.testing.assert_allclose(wt.weights, np.minimum(w.weights, med))
    assert wt.n_truncated == 2 and wt.truncation == (1.25, med)
    assert "truncated at percentiles 0/50" in repr(wt)
    np.testing.assert_allclose(iptw_weights(arm, probs.to_numpy(), levels=["A", "B"]).weights,
                               w.weights)


def test_weights_input_errors() -> None:
    probs = pd.DataFrame({"A": [0.5, 0.0], "B": [0.5, 1.0]})
    with pytest.raises(ValueError, match="row position 1 is 0.0"):
        iptw_weights(["A", "A"], probs)
    with pytest.raises(ValueError, match="truncate"):
        iptw_weights(["A", "B"], probs, truncate=(99, 1))
    with pytest.raises(ValueError, match=r"no column for arm\(s\) \['C'\]"):
        iptw_weights(["A", "B"], probs, levels=["A", "B", "C"])
    with pytest.raises(ValueError, match="levels: needed"):
        iptw_weights(["A", "B"], probs.to_numpy())
    with pytest.raises(ValueError, match="shape"):
        iptw_weights(["A", "B", "A"], probs)


# ------------------------------------------------------------------------------ balance


def test_balance_by_hand_and_degenerate_columns() -> None:
    cov = pd.DataFrame({"x": [1.0, 3.0, 2.0, 6.0, 5.0], "bin": [1.0, 0, 1, 1, 0],
                        "const": [7.0] * 5})
    arm = ["r", "r", "g", "g", "g"]
    w = np.array([1.0, 3.0, 1.0, 1.0, 2.0])
    tab = balance_table(cov, arm, w, reference="r").table.set_index("covariate")
    # x: unweighted means r 2, g 13/3; weighted r 10/4, g 18/4; variances r 2, g 13/3 (n-1)
    sd = math.sqrt((2 + 13 / 3) / 2)
    assert tab.loc["x", "smd_unweighted"] == pytest.approx((13 / 3 - 2) / sd, rel=1e-14)
    assert tab.loc["x", "smd_weighted"] == pytest.approx((18 / 4 - 10 / 4) / sd, rel=1e-14)
    # bin: proportions r 1/2, g 2/3; binary variance p(1 - p)
    sdb = math.sqrt((0.25 + 2 / 9) / 2)
    assert bool(tab.loc["bin", "binary"])
    assert tab.loc["bin", "smd_unweighted"] == pytest.approx((2 / 3 - 0.5) / sdb, rel=1e-14)
    assert tab.loc["bin", "smd_weighted"] == pytest.approx((2 / 4 - 1 / 4) / sdb, rel=1e-14)
    assert np.isnan(tab.loc["const", "smd_unweighted"])
    # declared binary: same numbers; a declared binary with other values is refused
    tab2 = balance_table(cov, arm, w, reference="r", binary=["bin"]).table
    assert tab2.equals(balance_table(cov, arm, w, reference="r").table)
    with pytest.raises(ValueError, match=r"values other than 0 and 1"):
        balance_table(cov, arm, w, binary=["x"])


def test_balance_group_of_one_and_errors() -> None:
    cov = pd.DataFrame({"x": [1.0, 3.0, 2.0]})
    tab = balance_table(cov, ["r", "r", "g"], [1, 1, 1], reference="r").table
    assert np.isnan(tab.loc[0, "smd_unweighted"])  # a variance needs two patients
    with pytest.raises(ValueError, match="all weights are 0 in arm 'g'"):
        balance_table(cov, ["r", "r", "g"], [1, 1, 0])
    with pytest.raises(ValueError, match="missing value"):
        balance_table(pd.DataFrame({"x": [1.0, np.nan, 2]}), ["r", "r", "g"], [1, 1, 1])
    with pytest.raises(ValueError, match="reference"):
        balance_table(cov, ["r", "r", "g"], [1, 1, 1], reference="z")
    with pytest.raises(ValueError, match="negative weight"):
        balance_table(cov, ["r", "r", "g"], [1, -1, 1])


# ------------------------------------------------------------------------------ RMST


def test_rmst_all_censored_group_and_group_of_one() -> None:
    time = [2.0, 4, 6, 8, 10, 3, 5]
    event = [1, 0, 1, 1, 0, 0, 0]
    group = ["a", "a", "a", "a", "a", "b", "b"]
    res = rmst_comparison(time, event, group, 5.0).table.set_index("group")
    # all censored: S = 1 up to tau, RMST = tau, SE 0; the difference's SE is the reference's
    assert res.loc["b", "rmst"] == 5.0 and res.loc["b", "se"] == 0.0
    ra = kaplan_meier(time[:5], event[:5]).rmst(5.0)
    assert res.loc["b", "diff"] == pytest.approx(5.0 - ra.estimate, rel=1e-14)
    assert res.loc["b", "diff_se"] == pytest.approx(ra.std_err, rel=1e-14)
    one = rmst_comparison([1.0, 2, 3, 4], [1, 1, 0, 1], ["x", "x", "x", "y"], 3.0,
                          reference="y").table.set_index("group")
    assert one.loc["y", "rmst"] == 3.0 and np.isnan(one.loc["y", "diff"])
    with pytest.raises(ValueError, match="reference"):
        rmst_comparison(time, event, group, 5.0, reference="z")
    with pytest.raises(ValueError, match="tau"):
        rmst_comparison(time, event, group, -1.0)


def test_rmst_event_at_time_zero() -> None:
    res = rmst_comparison([0.0, 2, 4, 4], [1, 1, 0, 0], ["a", "a", "b", "b"], 4.0)
    # a: S = 1/2 on [0, 2), 0 after: RMST = 1
    assert res.table.loc[0, "rmst"] == pytest.approx(1.0, rel=1e-15)


# ------------------------------------------------------------------------------ effects


def test_risk_difference_edges() -> None:
    rd = risk_difference(0, 5, 0, 5)
    assert rd.estimate == 0 and rd.lower < 0 < rd.upper
    full = risk_difference(5, 5, 0, 5)
    assert full.estimate == 1 and 0 < full.lower < 1 and full.upper == pytest.approx(1.0)
    assert "Newcombe" in repr(full)
    with pytest.raises(ValueError, match="n: expected at least 1"):
        risk_difference(0, 0, 1, 2)


def test_compare_proportions_errors_and_holm_order() -> None:
    res = compare_proportions([10, 2, 9], [20, 20, 20], ["r", "g", "h"], reference="r")
    t = res.table.set_index("group")
    assert list(t.index) == ["g", "h"]
    p = t["p_value"].to_numpy()
    np.testing.assert_allclose(t["p_adjusted"], np.minimum(1, np.maximum.accumulate(
        np.sort(p)[::-1][::-1] * [2, 1]))[np.argsort(np.argsort(p))], rtol=1e-15)
    assert compare_proportions([1, 2], [3, 4], ["a", "b"], adjust=None).table.eval(
        "p_adjusted == p_value").all()
    with pytest.raises(ValueError, match=r"events\['g'\]: expected a count from 0 to 20"):
        compare_proportions([1, 21], [20, 20], ["r", "g"])
    with pytest.raises(ValueError, match="whole number"):
        compare_proportions([1, 2.5], [20, 20], ["r", "g"])
    with pytest.raises(ValueError, match="repeated"):
        compare_proportions([1, 2], [20, 20], ["r", "r"])
    with pytest.raises(ValueError, match="adjust"):
        compare_proportions([1, 2], [20, 20], ["r", "g"], adjust="fdr")


# ------------------------------------------------------------------------------ Cox interaction


def test_interaction_with_an_arm_absent_from_a_subgroup() -> None:
    rng = np.random.default_rng(11)
    n = 120
    d = pd.DataFrame({"arm": rng.choice(["A", "B", "C"], n), "sub": rng.choice(["lo", "hi"], n),
                      "t": rng.exponential(10, n).round(1) + 0.1, "e": rng.integers(0, 2, n)})
    d.loc[d["arm"] == "C", "sub"] = "hi"  # C only in "hi": its product term is not estimable
    res = cox_interaction_test(d, "t", "e", "arm", "sub")
    assert res.df == 1 and res.dropped_terms == ("armC:sublo",)
    assert res.interaction_terms == ("armB:sublo",)
    full = cox_ph(d.assign(armB=(d.arm == "B") * 1.0, armC=(d.arm == "C") * 1.0,
                           sublo=(d["sub"] == "lo") * 1.0,
                           ab=((d.arm == "B") & (d["sub"] == "lo")) * 1.0),
                  "t", "e", ["armB", "armC", "sublo", "ab"])
    assert res.loglik_full == pytest.approx(full.loglik, rel=1e-12)
    assert res.statistic == pytest.approx(2 * (full.loglik - res.reduced.loglik), rel=1e-12)
    assert "not estimable" in repr(res) and res.to_frame().loc[0, "df"] == 1


def test_interaction_fits_are_returned_without_their_data() -> None:
    # the two fits keep their coefficients and tests, not their sorted copies of the data; the
    # values are those of cox_ph on the float dummies (the test builds them as booleans)
    rng = np.random.default_rng(5)
    n = 400
    d = pd.DataFrame({"arm": rng.choice(["A", "B", "C"], n), "sub": rng.choice(["lo", "hi"], n),
                      "t": rng.exponential(10, n).round(1) + 0.1, "e": rng.integers(0, 2, n),
                      "age": rng.normal(60, 8, n)})
    res = cox_interaction_test(d, "t", "e", "arm", "sub", covariates=["age"])
    dummies = d.assign(armB=(d.arm == "B") * 1.0, armC=(d.arm == "C") * 1.0,
                       sublo=(d["sub"] == "lo") * 1.0,
                       p1=((d.arm == "B") & (d["sub"] == "lo")) * 1.0,
                       p2=((d.arm == "C") & (d["sub"] == "lo")) * 1.0)
    reduced = cox_ph(dummies, "t", "e", ["armB", "armC", "sublo", "age"])
    full = cox_ph(dummies, "t", "e", ["armB", "armC", "sublo", "age", "p1", "p2"])
    assert res.interaction_terms == ("armB:sublo", "armC:sublo") and res.df == 2
    assert res.reduced.names == ("armB", "armC", "sublo", "age")
    assert res.full.names == ("armB", "armC", "sublo", "age", "armB:sublo", "armC:sublo")
    assert res.loglik_reduced == reduced.loglik and res.loglik_full == full.loglik
    np.testing.assert_array_equal(res.reduced.coef, reduced.coef)
    np.testing.assert_array_equal(res.full.coef, full.coef)
    np.testing.assert_array_equal(res.full.var, full.var)
    for fit in (res.reduced, res.full):
        assert fit._data is None
        held = [v for v in vars(fit).values() if isinstance(v, np.ndarray)]
        assert held and max(v.size for v in held) <= len(fit.coef) ** 2
        assert "Cox model" in repr(fit) and len(fit.to_frame()) == len(fit.coef)
        with pytest.raises(FitWithoutDataError, match="without its data"):
            fit.proportional_hazards_test()
    assert "chisq=" in repr(res) and res.to_frame().loc[0, "n"] == n


def test_interaction_errors() -> None:
    d = pd.DataFrame({"arm": ["A", "B"] * 5, "sub": ["x"] * 10, "t": np.arange(1.0, 11),
                      "e": [1] * 10})
    with pytest.raises(ValueError, match="sub: needs at least 2 levels"):
        cox_interaction_test(d, "t", "e", "arm", "sub")
    with pytest.raises(ValueError, match="modifier: no column"):
        cox_interaction_test(d, "t", "e", "arm", "nope")
    with pytest.raises(ValueError, match="must differ"):
        cox_interaction_test(d, "t", "e", "arm", "arm")


# ------------------------------------------------------------------------------ cmprsk variance


def test_cmprsk_variance_single_cause_is_greenwood_like_by_hand() -> None:
    # one subject at risk per step, no competing events: F jumps by S(t-)/n; the variance at the
    # first event is fk² · 1 · 1/rs² · (1 + 0)² = 1/16 with 4 at risk
    tab = cuminc_timepoints([1.0, 2, 3, 4], [1, 0, 2, 0], [0.5, 1, 2.5, 4, 5]).table
    c1 = tab[tab.cause == 1]
    np.testing.assert_allclose(c1["estimate"].to_numpy()[:4], [0, 0.25, 0.25, 0.25])
    np.testing.assert_allclose(c1["variance"].to_numpy()[:4], [0, 1 / 16, 1 / 16, 1 / 16])
    assert c1["estimate"].isna().to_numpy()[-1]  # past the largest time
    c2 = tab[tab.cause == 2]
    np.testing.assert_allclose(c2["estimate"].to_numpy()[:4], [0, 0, 0, 0.375])
    with pytest.raises(ValueError, match="no events"):
        cuminc_timepoints([1.0, 2], [0, 0], [1])
    with pytest.raises(ValueError, match="status"):
        cuminc_timepoints([1.0, 2], [0, 1.5], [1])
    with pytest.raises(ValueError, match="conf_type"):
        cuminc_timepoints([1.0, 2], [0, 1], [1], conf_type="log")


def test_cmprsk_estimates_equal_aalen_johansen() -> None:
    rng = np.random.default_rng(5)
    t = rng.integers(0, 30, 200).astype(float)
    s = rng.integers(0, 3, 200)
    g = rng.choice(["a", "b"], 200)
    times = [0.0, 5, 10, 20]
    ours = cuminc_timepoints(t, s, times, group=g).table
    aj = cumulative_incidence(t, s, group=g).at(times)
    for (grp, cause), rows in ours.groupby(["group", "cause"]):
        ref = aj[(aj.group == grp) & (aj.cause == cause)]
        np.testing.assert_allclose(rows["estimate"], ref["estimate"], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("seed", range(6))
def test_interaction_rank_from_distinct_rows_equals_the_rank_of_all_rows(seed):
    """The interaction test decides each product term's estimability from the distinct
    (treatment, modifier) rows weighted by their counts: the same rank as
    ``np.linalg.matrix_rank`` of the whole n-row design, full rank or not (empty cells)."""
    from poems_cohort.stats.cox_tests import _rank

    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 400))
    t = rng.integers(0, 3, n)
    m = rng.integers(0, 3, n)
    m[t == 2] = 0                      # an empty cell or more: rank-deficient products
    design = np.column_stack([np.ones(n), t == 1, t == 2, m == 1, m == 2,
                              (t == 1) & (m == 1), (t == 2) & (m == 1),
                              (t == 1) & (m == 2), (t == 2) & (m == 2)]).astype(float)
    rows, count = np.unique(design, axis=0, return_counts=True)
    for k in range(1, design.shape[1] + 1):
        assert _rank(rows[:, :k], count, n) == np.linalg.matrix_rank(design[:, :k])
