"""Cox models with a column the events carry no information on, against R survival 3.5-3.

R's ``coxph`` factors the information of its scaled covariates with a tolerance
(``toler.chol``); a column whose pivot falls below it takes no part in the Newton steps and is
reported as NA, and the tests count one degree of freedom fewer. References:
``tests/reference/cox_singular`` (``make_cox_singular_reference.R``): every patient of the
reference arm censored before the first event (Efron and Breslow), the same with a continuous
covariate ordering the deaths (a monotone likelihood: R runs out of iterations) and an
interaction cell never at risk at an event.

A deliberate difference: R keeps a zero variance for an NA coefficient (``se`` 0); ours is NaN
(no variance is estimated for it).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from poems_cohort.stats import cox_interaction_test
from poems_cohort.stats.cox import cox_ph

HERE = Path(__file__).resolve().parents[1] / "reference" / "cox_singular"
REF = json.loads((HERE / "cox_singular.json").read_text())


def _fit(csv: str, covariates: list[str], ties: str):
    d = pd.read_csv(HERE / csv)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = cox_ph(d, "time", "event", covariates, ties=ties)  # type: ignore[arg-type]
    return fit, [str(w.message) for w in caught]


def _na(values: list[float | None]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_reference_arm_never_at_risk_at_an_event(ties):
    ref = REF[f"reference_arm_{ties}"]
    fit, messages = _fit("zero_info_reference_arm.csv", ["group"], ties)
    assert list(fit.names) == ref["names"]
    np.testing.assert_allclose(fit.coef, _na(ref["coef"]), rtol=1e-6)  # R's stopping rule
    assert fit.singular == ("groupC",)
    assert np.isnan(fit.se[1]) and np.isnan(fit.exp_coef[1]) and np.isnan(fit.p_value[1])
    np.testing.assert_allclose([fit.loglik_null, fit.loglik], ref["loglik"], rtol=1e-9)
    for ours, theirs in ((fit.likelihood_ratio_test, ref["lr"]), (fit.score_test, ref["score"])):
        np.testing.assert_allclose([ours.statistic, ours.p_value], [theirs[0], theirs[2]],
                                   rtol=1e-7)
        assert ours.df == theirs[1] == 1
    np.testing.assert_allclose(fit.wald_test.statistic, ref["wald"], rtol=1e-6)
    np.testing.assert_allclose(fit.se[0], ref["se"][0], rtol=1e-6)
    assert any("X matrix deemed to be singular" in m and "groupC" in m for m in messages)
    # the identified contrast, C against B, is the one coefficient left
    assert fit.converged


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_monotone_likelihood_with_a_column_never_at_risk(ties):
    """R runs out of iterations with the log-likelihood at its supremum 0: the log-likelihood
    and the LR and score tests are R's (the coefficients along the flat direction are not, in
    R either: only the contrast C - B and x are determined)."""
    ref = REF[f"monotone_{ties}"]
    fit, _ = _fit("zero_info_monotone.csv", ["group", "x"], ties)
    assert not fit.converged
    assert fit.loglik <= 0.0
    np.testing.assert_allclose(fit.loglik_null, ref["loglik"][0], rtol=1e-12)
    np.testing.assert_allclose(fit.loglik, ref["loglik"][1], rtol=1e-3)  # ~ -2e-9, rounding
    np.testing.assert_allclose(fit.likelihood_ratio_test.statistic, ref["lr"][0], rtol=1e-8)
    np.testing.assert_allclose(fit.score_test.statistic, ref["score"][0], rtol=1e-12)
    assert fit.likelihood_ratio_test.df == fit.score_test.df == 3
    np.testing.assert_allclose(fit.coef[0] - fit.coef[1], ref["coef"][0] - ref["coef"][1],
                               rtol=1e-6)
    np.testing.assert_allclose(fit.coef[2], ref["coef"][2], rtol=1e-6)


def test_interaction_cell_never_at_risk_is_not_estimable():
    """R: the product's coefficient NA, the anova statistic 0 on 0 df. Ours: the product is not
    estimable, and with no other product the test is refused, as for an empty cell."""
    d = pd.read_csv(HERE / "zero_info_interaction.csv")
    with warnings.catch_warnings(), pytest.raises(ValueError,
                                                  match=r"no estimable interaction.*armB:modlo"):
        warnings.simplefilter("ignore")
        cox_interaction_test(d, "time", "event", "arm", "mod")
    assert REF["interaction_anova"] == {"chisq": 0, "df": 0}
    d["armB_modlo"] = ((d["arm"] == "B") & (d["mod"] == "lo")).astype(float)
    ref = REF["interaction_full"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = cox_ph(d, "time", "event", ["arm", "mod", "armB_modlo"])
    np.testing.assert_allclose(full.coef, _na(ref["coef"]), rtol=1e-6)
    np.testing.assert_allclose(full.likelihood_ratio_test.statistic, ref["lr"][0], rtol=1e-8)
    assert full.likelihood_ratio_test.df == ref["lr"][1] == 2
    np.testing.assert_allclose(full.score_test.statistic, ref["score"][0], rtol=1e-8)
    np.testing.assert_allclose(full.wald_test.statistic, ref["wald"], rtol=1e-6)


def test_interaction_degrees_of_freedom_leave_out_a_product_without_information():
    """Two modifier levels crossed with three arms: one product cell is never at risk at an
    event, the other is estimable; the test has 1 df and names the other as not estimable."""
    rng = np.random.default_rng(3)
    n = 240
    arm = rng.choice(["A", "B", "C"], n)
    mod = rng.choice(["hi", "lo"], n)
    time = rng.exponential(10.0, n).round(2) + 1.0
    event = (rng.random(n) < 0.7).astype(int)
    cell = (arm == "C") & (mod == "lo")
    time[cell], event[cell] = 0.5, 0  # all censored before the first event
    d = pd.DataFrame({"time": time, "event": event, "arm": arm, "mod": mod})
    assert d.loc[~cell, "time"].min() > 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = cox_interaction_test(d, "time", "event", "arm", "mod")
    assert res.interaction_terms == ("armB:modlo",)
    assert "armC:modlo" in res.dropped_terms
    assert res.df == 1
    assert res.statistic >= 0.0


def test_columns_without_information_stay_at_zero_when_the_iterations_run_out():
    """A level (f = b) and a 0/1 column (b) the events carry no information on, in a stratified
    fit on a monotone likelihood: R runs out of iterations, marks no NA and reports both as 0.
    Their information here is rounding noise (R's is exactly 0: it leaves a 0/1 column
    uncentred), which the fit's shrinking information would let past the tolerance: a column
    singular at beta = 0 stays so."""
    ref = REF["ran_out"]
    d = pd.read_csv(HERE / "zero_info_ran_out.csv")
    d["f"] = pd.Categorical(d["f"], categories=["a", "b", "c"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = cox_ph(d, "t", "e", ["x", "f", "b"], strata="s")
    assert not fit.converged and fit.singular == ()
    assert fit.coef[1] == 0.0 and fit.coef[3] == 0.0
    assert ref["coef"][1] == 0 and ref["coef"][3] == 0
    np.testing.assert_allclose(fit.coef[[0, 2]], np.array(ref["coef"])[[0, 2]], rtol=1e-6)
    np.testing.assert_allclose(fit.loglik_null, ref["loglik"][0], rtol=1e-12)
    np.testing.assert_allclose(fit.likelihood_ratio_test.statistic, ref["lr"][0], rtol=1e-8)
    assert fit.likelihood_ratio_test.df == ref["lr"][1] == 4
