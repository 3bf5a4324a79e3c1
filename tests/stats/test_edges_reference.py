"""Statistics at the edges, against R (``tests/reference/edges.json``, made by
``tests/reference/make_reference_edges.R``; the data are in the JSON).

- Cox with x beta spanning more than 709 across strata: the finite fit, tightly.
- Cox with a monotone likelihood (a covariate orders every death): R's iterations are repeated
  step for step, so the log-likelihood, the likelihood-ratio and score tests, the number of
  iterations and the kind of warning are R's. The infinite coefficient itself is an artefact of
  where the iterations stop; it is compared at 1e-6 only (the same iterate, on a nearly flat
  likelihood).
- Cox with weight-0 rows under Efron ties equals R's fit without those rows (R refuses them).
- Log-rank tests R cannot compute (no events, a singular variance, one group at risk) raise
  ``NotTestableError``; events at time 0 are an ordinary test.
- Gray's test where a group runs out of subjects: R's values, no RuntimeWarning; where cmprsk
  reports its statistic -1 (singular variance): ``NotTestableError``.
- Weighted Kaplan–Meier reaching 0: the robust (infinitesimal-jackknife) SE of S is 0 there, as
  R's (no weight moves S from 0), the weighted Greenwood SE of −log S infinite; limits undefined.
- Text as times (R: "Time variable is not numeric"): a TypeError.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from poems_cohort import stats
from poems_cohort.stats import NonNumericError, NotTestableError, cox_ph, gray_test, logrank_test
from tests.reference_data import arr, load_json

EDGES = load_json("edges")
COX = EDGES["cox"]
COX_CASES = [(case, model, ties) for case in COX for model in COX[case]["models"]
             for ties in ("efron", "breslow")]


def _covariates(formula: str) -> tuple[list[str], str | None]:
    rhs = [t.strip() for t in formula.split("~")[1].split("+")]
    strata = [t[len("strata("):-1] for t in rhs if t.startswith("strata(")]
    return [t for t in rhs if not t.startswith("strata(")], (strata[0] if strata else None)


def _fit(case: str, model: str, ties: str):
    spec = COX[case]
    ref = spec["models"][model][ties]
    data = pd.DataFrame(spec.get("data_all", spec["data"]))  # zero-weight cases: every row
    covs, strata = _covariates(model)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = cox_ph(data, "time", "event", covs, ties=ties, weights=ref["weights"],
                     robust=ref["robust"], strata=strata)
    return fit, ref, caught


@pytest.mark.parametrize(("case", "model", "ties"), COX_CASES)
def test_cox_edge_matches_r(case: str, model: str, ties: str) -> None:
    fit, ref, caught = _fit(case, model, ties)
    assert list(fit.names) == ref["coef_names"]
    assert fit.n == ref["n"] and fit.n_events == ref["nevent"]
    np.testing.assert_allclose(fit.loglik_null, ref["loglik_null"], rtol=1e-12)
    np.testing.assert_allclose(fit.score_test.statistic, ref["score"]["stat"], rtol=1e-10)
    assert np.isfinite(fit.loglik) and np.isfinite(fit.likelihood_ratio_test.statistic)
    pol = ref["polished"]
    if pol is not None:  # a finite fit: converged to the maximum, as R's polished values
        assert fit.converged and not caught and fit.warnings == ()
        np.testing.assert_allclose(fit.coef, arr(pol["coef"]), rtol=1e-9)
        np.testing.assert_allclose(fit.coef, arr(ref["coef"]), rtol=1e-6)
        np.testing.assert_allclose(fit.se, arr(pol["se"]), rtol=1e-9)
        np.testing.assert_allclose(fit.loglik, pol["loglik_final"], rtol=1e-12)
        np.testing.assert_allclose(fit.likelihood_ratio_test.statistic, pol["lr_stat"],
                                   rtol=1e-9)
        if ref["robust"]:
            np.testing.assert_allclose(fit.robust_se, arr(pol["robust_se"]), rtol=1e-9)
        return
    # monotone likelihood: R's stopping point, R's log-likelihood and tests
    assert not fit.converged and len(caught) == 1 and fit.warnings == (str(caught[0].message),)
    if ref["warnings"][0].startswith("Loglik converged before variable"):
        assert fit.iterations == ref["iter"]
        which = ref["warnings"][0].split("variable")[1].split(";")[0].split(",")
        for j in (int(v) for v in which):
            assert f"{fit.names[j - 1]} (variable {j})" in fit.warnings[0]
        assert "loglik converged before variable" in fit.warnings[0]
    else:
        assert ref["warnings"][0] == "Ran out of iterations and did not converge"
        assert fit.iterations == ref["iter"] - 1  # R counts one past iter.max = 20
        assert "ran out of iterations (20)" in fit.warnings[0]
    # atol: a log-likelihood near its supremum 0 is a difference of terms of size ~10
    np.testing.assert_allclose(fit.loglik, ref["loglik_final"], rtol=1e-10,
                               atol=1e-13 * abs(ref["loglik_null"]))
    np.testing.assert_allclose(fit.likelihood_ratio_test.statistic, ref["lr"]["stat"],
                               rtol=1e-10)
    np.testing.assert_allclose(fit.likelihood_ratio_test.p_value, ref["lr"]["p"], rtol=1e-8)
    np.testing.assert_allclose(fit.coef, arr(ref["coef"]), rtol=1e-6, atol=1e-9)


def test_span_strata_overflowed_with_one_global_shift() -> None:
    """The data of the span case really span more than exp() can hold."""
    d = pd.DataFrame(COX["span_strata"]["data"])
    fit, _, _ = _fit("span_strata", "Surv(time, event) ~ x + strata(s)", "efron")
    eta = fit.coef[0] * d["x"]
    assert eta.max() - eta.min() > 1000


def test_zero_weights_equal_removing_the_rows() -> None:
    spec = COX["zero_weights"]
    data = pd.DataFrame(spec["data_all"])
    zero = data["w"] == 0
    dead = data[data["event"] == 1]
    # the case is the one that matters: weight-0 deaths tied with deaths of positive weight
    tied = dead.groupby("time")["w"].agg(lambda w: (w == 0).any() and (w > 0).any())
    assert tied.any() and (zero & (data["event"] == 1)).sum() >= 4
    for ties in ("efron", "breslow"):
        a = cox_ph(data, "time", "event", ["x", "g"], ties=ties, weights="w")
        b = cox_ph(data[~zero], "time", "event", ["x", "g"], ties=ties, weights="w")
        assert a.n == b.n == int((~zero).sum())
        np.testing.assert_array_equal(a.coef, b.coef)
        assert a.loglik == b.loglik
    with pytest.raises(ValueError, match="every weight is 0"):
        cox_ph(data, "time", "event", ["x"], weights=np.zeros(len(data)))


# ---------------------------------------------------------------- log-rank

def _logrank(case: str):
    d = EDGES["logrank"][case]["data"]
    return logrank_test(d["time"], d["event"], d["group"])


@pytest.mark.parametrize(("case", "reason"), [
    ("no_events", "no events"),                       # R: chi-square 0 on -1 df, p NA
    ("same_time", "variance matrix is singular"),     # R: error, system is exactly singular
    ("one_group_at_risk", "only one group has subjects at risk"),  # R: 0 df
])
def test_logrank_that_r_cannot_compute_is_not_testable(case: str, reason: str) -> None:
    ref = EDGES["logrank"][case]
    assert "error" in ref or ref["df"] < 1
    with pytest.raises(NotTestableError, match=reason):
        _logrank(case)
    d = ref["data"]
    pw = stats.pairwise_logrank(d["time"], d["event"], d["group"])
    assert len(pw) == 1 and pw[["statistic", "df", "p_value", "p_adjusted"]].isna().all(axis=None)


REGULAR_LOGRANK = sorted(k for k, v in EDGES["logrank"].items() if v.get("df", 0) >= 1)


@pytest.mark.parametrize("case", REGULAR_LOGRANK)
def test_logrank_edge_matches_r(case: str) -> None:
    """Events at time 0, a group of one, a group with every subject censored."""
    ref = EDGES["logrank"][case]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = _logrank(case)
    np.testing.assert_allclose(res.statistic, ref["chisq"], rtol=1e-12)
    np.testing.assert_allclose(res.p_value, ref["p"], rtol=1e-12)
    np.testing.assert_allclose(res.observed, arr(ref["obs"]), rtol=1e-14)
    np.testing.assert_allclose(res.expected, arr(ref["exp"]), rtol=1e-14)
    assert res.df == ref["df"]


# ---------------------------------------------------------------- Gray's test

@pytest.mark.parametrize("case", sorted(EDGES["gray"]))
def test_gray_edge_matches_cmprsk_without_warnings(case: str) -> None:
    ref = EDGES["gray"][case]
    d = ref["data"]
    for t in ref["tests"]:
        if t["stat"] == -1:  # cmprsk's mark of a singular variance
            with pytest.raises(NotTestableError, match="variance matrix is singular"):
                gray_test(d["time"], d["status"], d["group"], cause=t["cause"])
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            res = gray_test(d["time"], d["status"], d["group"], cause=t["cause"])
        np.testing.assert_allclose(res.statistic, t["stat"], rtol=1e-12)
        np.testing.assert_allclose(res.p_value, t["p"], rtol=1e-10)
        assert res.df == t["df"]


# ---------------------------------------------------------------- text where numbers belong

@pytest.mark.parametrize("case", sorted(EDGES["weighted_km"]))
@pytest.mark.parametrize("variant", ["robust", "greenwood"])
def test_weighted_km_reaching_zero_matches_r(case: str, variant: str) -> None:
    spec = EDGES["weighted_km"][case]
    ref = spec[variant]
    d = spec["data"]
    km = stats.kaplan_meier(arr(d["time"]), arr(d["event"]), weights=arr(d["w"]),
                            robust=variant == "robust")
    assert km.std_err_scale == ("log" if ref["logse"] else "surv")
    np.testing.assert_array_equal(km.time, arr(ref["time"]))
    assert km.surv[-1] == 0
    for name in ("n_risk", "surv", "std_err", "lower", "upper"):
        np.testing.assert_allclose(getattr(km, name), arr(ref[name]), rtol=1e-12, atol=1e-15,
                                   err_msg=f"{case} {variant} {name}")
    # the SE of S at the end: 0 for the jackknife; S x inf, undefined, for Greenwood's
    assert km.se_surv[-1] == 0 if variant == "robust" else np.isnan(km.se_surv[-1])


def test_text_times_are_refused_as_r_does() -> None:
    assert EDGES["km_text_times_error"] == "Time variable is not numeric"
    with pytest.raises(TypeError, match=r"time: expected numbers, got str '1' at position 0"):
        stats.kaplan_meier(["1", "2"], [1, 0])


D = pd.DataFrame({"t": [1.0, 2, 3, 4], "e": [1, 0, 1, 1], "x": [0.1, 0.5, 0.2, 0.9],
                  "s": ["1", "2", "3", "4"]})
KM = stats.kaplan_meier([1.0, 2, 3], [1, 0, 1])


@pytest.mark.parametrize(("call", "name"), [
    (lambda: stats.kaplan_meier(np.array(["1", "2"]), [1, 0]), "time"),
    (lambda: stats.kaplan_meier(pd.Series(["1", "2"], dtype="string"), [1, 0]), "time"),
    (lambda: stats.kaplan_meier([1, 2], ["1", "0"]), "event"),
    (lambda: stats.kaplan_meier([1, 2], [1, 0], weights=["1", "1"]), "weights"),
    (lambda: stats.kaplan_meier([1, 2], [1, b"0"]), "event"),
    (lambda: stats.kaplan_meier_by_group(["1", "2"], [1, 0], ["a", "b"]), "time"),
    (lambda: stats.logrank_test(["1", "2"], [1, 1], ["a", "b"]), "time"),
    (lambda: stats.logrank_test([1, 2, 3], [1, 1, 0], ["a", "b", "a"], rho="1"), "rho"),
    (lambda: stats.pairwise_logrank([1, 2], [1, "1"], ["a", "b"]), "event"),
    (lambda: stats.cumulative_incidence([1, 2], ["1", "0"]), "status"),
    (lambda: stats.gray_test(["1", "2", "3"], [1, 1, 0], ["a", "b", "a"]), "time"),
    (lambda: stats.reverse_km_followup(["1", "2"], [1, 0]), "time"),
    (lambda: cox_ph(D, "s", "e", ["x"]), "duration"),
    (lambda: cox_ph(D.assign(e=D["e"].astype(str)), "t", "e", ["x"]), "event"),
    (lambda: cox_ph(D, "t", "e", ["x"], weights=["1"] * 4), "weights"),
    (lambda: KM.at(["1"]), "times"),
    (lambda: KM.rmst("3"), "tau"),
    (lambda: KM.quantile(["0.5"]), "probs"),
    (lambda: stats.chi2_test([["1", 2], [3, 4]]), "table"),
    (lambda: stats.logrank.adjust_p(["0.1", "0.2"], "holm"), "p_values"),
    (lambda: stats.fisher_exact(pd.DataFrame([["1", 2], [3, 4]])), "table"),
])
def test_every_entry_point_refuses_text(call, name: str) -> None:
    with pytest.raises(NonNumericError, match=rf"^{name}\b.*expected (a number|numbers)"):
        call()
    assert issubclass(NonNumericError, TypeError) and issubclass(NonNumericError, ValueError)
