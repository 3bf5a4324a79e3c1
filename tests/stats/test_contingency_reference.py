"""Contingency tables and proportions against R 4.2.2 (``tests/reference/contingency.json``).

R calls (``tests/reference/make_reference.R``)::

    fisher.test(x, workspace = 2e8)              # p, and for 2 x 2 the odds ratio and conf.int
    chisq.test(x, correct = FALSE)               # statistic, parameter, p.value, expected
    chisq.test(x, correct = TRUE)                # 2 x 2 only
    prop.test(x, n, correct = FALSE / TRUE)$conf.int, binom.test(x, n)$conf.int
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from poems_cohort.stats import (
    SmallExpectedCountWarning,
    chi2_test,
    expected_counts,
    fisher_exact,
    proportion_ci,
    smallest_expected,
)
from tests.reference_data import load_json

REF = load_json("contingency")
TABLES = REF["tables"]
NAMES = sorted(TABLES)


def _frame(t: dict) -> pd.DataFrame:
    return pd.DataFrame(t["counts"], index=t["rows"], columns=t["cols"])


@pytest.mark.parametrize("name", NAMES)
def test_fisher_p_equals_r(name):
    t = TABLES[name]
    res = fisher_exact(_frame(t))
    # R's FEXACT carries ~1e-12 relative rounding on these tables; full enumeration agrees with ours
    np.testing.assert_allclose(res.p_value, t["fisher"]["p"], rtol=1e-9, atol=0)
    assert res.method == "exact"
    assert res.shape == tuple(t["dim"]) and res.n == t["n"]


@pytest.mark.parametrize("name", [n for n in NAMES if TABLES[n]["dim"] == [2, 2]])
def test_fisher_2x2_odds_ratio_and_ci_equal_r(name):
    t = TABLES[name]
    res = fisher_exact(np.array(t["counts"]))
    lo, hi = t["fisher"]["conf_int_or"]
    # R finds these with uniroot (tolerance ~1e-4); the same root finder gives the same numbers
    np.testing.assert_allclose([res.statistic, res.lower, res.upper],
                               [t["fisher"]["estimate_or"], lo, hi], rtol=1e-10, atol=0)


@pytest.mark.parametrize("name", [n for n in NAMES if TABLES[n]["dim"] != [2, 2]])
def test_fisher_rxc_has_no_odds_ratio(name):
    res = fisher_exact(np.array(TABLES[name]["counts"]))
    assert np.isnan(res.statistic) and np.isnan(res.lower) and np.isnan(res.upper)


@pytest.mark.parametrize("name", NAMES)
def test_chi2_equals_r(name):
    t = TABLES[name]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = chi2_test(_frame(t))
    np.testing.assert_allclose(res.statistic, t["chisq"]["statistic"], rtol=1e-12)
    np.testing.assert_allclose(res.p_value, t["chisq"]["p"], rtol=1e-12)
    assert res.df == t["chisq"]["df"]
    np.testing.assert_allclose(res.expected.to_numpy(), np.array(t["expected"]), rtol=1e-14)
    assert list(res.expected.index) == t["rows"] and list(res.expected.columns) == t["cols"]
    n_small = sum(issubclass(w.category, SmallExpectedCountWarning) for w in caught)
    assert n_small == (1 if t["n_cells_expected_lt5"] > 0 else 0)


@pytest.mark.parametrize("name", [n for n in NAMES if TABLES[n]["chisq_yates"] is not None])
def test_chi2_yates_equals_r(name):
    t = TABLES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallExpectedCountWarning)
        res = chi2_test(np.array(t["counts"]), correction=True)
    np.testing.assert_allclose(res.statistic, t["chisq_yates"]["statistic"], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(res.p_value, t["chisq_yates"]["p"], rtol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_expected_helpers(name):
    t = TABLES[name]
    np.testing.assert_allclose(expected_counts(np.array(t["counts"])).to_numpy(),
                               np.array(t["expected"]), rtol=1e-14)
    np.testing.assert_allclose(smallest_expected(_frame(t)), t["min_expected"], rtol=1e-14)


METHODS = {"wilson": "wilson", "wilson-cc": "wilson_cc", "clopper-pearson": "clopper_pearson"}


@pytest.mark.parametrize("i", range(len(REF["proportions"])))
@pytest.mark.parametrize("method", sorted(METHODS))
def test_proportion_ci_equals_r(i, method):
    pr = REF["proportions"][i]
    ref = pr[METHODS[method]]
    res = proportion_ci(pr["x"], pr["n"], method=method)
    assert res.estimate == pytest.approx(pr["estimate"], rel=1e-15)
    np.testing.assert_allclose([res.lower, res.upper], [ref["lower"], ref["upper"]],
                               rtol=1e-12, atol=0)
    np.testing.assert_allclose(res.p_value, ref["p_vs_half"], rtol=1e-10)
