"""Input checks, hand-derived chi-square and proportion cases, and the result objects."""

from __future__ import annotations

import math
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

FUNCS = [fisher_exact, chi2_test, expected_counts, smallest_expected]


@pytest.mark.parametrize("func", FUNCS)
@pytest.mark.parametrize(("table", "message"), [
    ([[1, -2], [3, 4]], r"row 0, column 1 \(-2\) is negative"),
    ([[1, 2.5], [3, 4]], r"row 0, column 1 \(2.5\) is not a whole number"),
    ([[1, 2], [np.nan, 4]], r"row 1, column 0 .* missing"),
    ([[1, 2], [3, np.inf]], r"row 1, column 1 .* infinite"),
    ([[1, 2, 3]], r"at least 2 rows and 2 columns, got 1 x 3"),
    ([[1], [2]], r"at least 2 rows and 2 columns, got 2 x 1"),
    (np.zeros((0, 0)), r"at least 2 rows and 2 columns, got 0 x 0"),
    (np.zeros((2, 0)), r"got 2 x 0"),
    ([[0, 0], [0, 0]], r"all counts are zero"),
    ([1, 2, 3], r"2-D table"),
    ("abc", r"table"),
])
def test_bad_tables_are_refused(func, table, message):
    with pytest.raises(ValueError, match=message):
        func(table)


def test_dataframe_labels_name_the_bad_cell():
    df = pd.DataFrame([[3, 1], [2, -1]], index=["MDex", "ASCT"], columns=["yes", "no"])
    with pytest.raises(ValueError, match=r"row 'ASCT', column 'no'"):
        fisher_exact(df)
    df = pd.DataFrame({"yes": [3, None], "no": [1, 2]}, index=["MDex", "ASCT"])
    with pytest.raises(ValueError, match=r"row 'ASCT', column 'yes'.*missing"):
        chi2_test(df)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"monte_carlo": 0}, "monte_carlo"), ({"monte_carlo": 2.5}, "monte_carlo"),
    ({"monte_carlo": 10, "seed": -1}, "seed"), ({"max_tables": 0}, "max_tables"),
    ({"conf_level": 1.0}, "conf_level"), ({"conf_level": 0}, "conf_level"),
])
def test_bad_fisher_options(kwargs, message):
    with pytest.raises(ValueError, match=message):
        fisher_exact([[3, 1], [1, 3]], **kwargs)


def test_chi2_hand_derived():
    # E = 15 in every cell; X2 = 4 * 5^2 / 15 = 20/3; Yates subtracts 0.5: 4 * 4.5^2 / 15 = 5.4
    res = chi2_test([[10, 20], [20, 10]])
    assert res.statistic == pytest.approx(20 / 3, rel=1e-14)
    assert res.p_value == pytest.approx(math.erfc(math.sqrt(20 / 3 / 2)), rel=1e-13)
    assert res.df == 1 and res.correction == 0
    yates = chi2_test([[10, 20], [20, 10]], correction=True)
    assert yates.statistic == pytest.approx(5.4, rel=1e-14) and yates.correction == 0.5
    # R applies Yates to 2 x 2 tables only
    assert chi2_test([[10, 20, 5], [20, 10, 5]], correction=True).correction == 0


def test_chi2_yates_uses_min_half_and_abs_difference():
    # |O - E| = 5/21 < 0.5 in every cell: the correction removes the whole difference
    with pytest.warns(SmallExpectedCountWarning):
        res = chi2_test([[5, 5], [5, 6]], correction=True)
    assert res.statistic == 0.0 and res.p_value == 1.0


def test_chi2_zero_row_gives_nan_like_r():
    with pytest.warns(SmallExpectedCountWarning, match="below 5"):
        res = chi2_test([[3, 1], [0, 0], [2, 4]])
    assert math.isnan(res.statistic) and math.isnan(res.p_value) and res.df == 2


def test_chi2_warning_wording_and_silence_when_large():
    with pytest.warns(SmallExpectedCountWarning, match=r"2 of 4 expected counts are below 5"):
        chi2_test([[0, 8], [6, 4]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        chi2_test([[50, 40], [30, 60]])


def test_one_observation_table():
    with pytest.warns(SmallExpectedCountWarning):
        res = chi2_test([[1, 0], [0, 0]])
    assert math.isnan(res.statistic)
    assert fisher_exact([[1, 0], [0, 0]]).p_value == 1.0
    assert smallest_expected([[1, 0], [0, 0]]) == 0.0


def test_expected_counts_keeps_labels():
    df = pd.DataFrame([[38, 54, 48], [41, 111, 55]], index=["age>50", "age<=50"],
                      columns=["MDex", "ASCT", "LDex"])
    e = expected_counts(df)
    assert list(e.index) == ["age>50", "age<=50"] and list(e.columns) == ["MDex", "ASCT", "LDex"]
    assert e.loc["age>50", "MDex"] == pytest.approx(140 * 79 / 347, rel=1e-15)
    np.testing.assert_allclose(e.to_numpy().sum(axis=0), df.to_numpy().sum(axis=0), rtol=1e-14)


# -- proportions -----------------------------------------------------------------------------------------


def test_proportion_hand_derived():
    # Clopper-Pearson at x = 0: upper = 1 - (alpha/2)^(1/n); Wilson at x = 0: z^2/n / (1 + z^2/n)
    z = 1.959963984540054
    cp = proportion_ci(0, 10, method="clopper-pearson")
    assert (cp.lower, cp.upper) == (0.0, pytest.approx(1 - 0.025 ** (1 / 10), rel=1e-13))
    w = proportion_ci(0, 10)
    assert (w.lower, w.upper) == (0.0, pytest.approx(z * z / 10 / (1 + z * z / 10), rel=1e-14))
    # x = n/2: R's correction min(0.5, |x - n/2|) is 0, so wilson-cc equals wilson
    a, b = proportion_ci(10, 20), proportion_ci(10, 20, method="wilson-cc")
    assert (a.lower, a.upper) == (b.lower, b.upper)
    assert a.p_value == 1.0 and a.estimate == 0.5


def test_proportion_result_object():
    res = proportion_ci(7, 20, method="clopper-pearson", conf_level=0.9)
    frame = res.to_frame()
    assert list(frame.columns) == ["x", "n", "estimate", "lower", "upper", "method", "conf_level",
                                   "p0", "p_value"]
    assert frame.loc[0, "upper"] == res.upper
    assert "7/20" in repr(res) and "90% CI" in repr(res)
    assert proportion_ci(7, 20, conf_level=0.9).upper < proportion_ci(7, 20).upper


@pytest.mark.parametrize(("args", "kwargs", "message"), [
    ((5, 4), {}, r"x: expected a count from 0 to n = 4"), ((-1, 4), {}, "x: "),
    ((1, 0), {}, "n: expected at least 1"), ((1.5, 4), {}, "x: expected a whole number"),
    ((True, 4), {}, "x: expected a whole number"), ((1, 4), {"method": "wald"}, "method"),
    ((1, 4), {"conf_level": 95}, "conf_level"), ((1, 4), {"p0": 1.0}, "p0"),
])
def test_bad_proportion_inputs(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        proportion_ci(*args, **kwargs)


# -- result objects ------------------------------------------------------------------------------------


def test_fisher_result_is_frozen_and_readable():
    res = fisher_exact(pd.DataFrame([[12, 5], [3, 10]]))
    with pytest.raises(AttributeError):
        res.p_value = 0.5
    frame = res.to_frame()
    assert list(frame.columns) == ["p_value", "odds_ratio", "lower", "upper", "method", "std_err",
                                   "n_simulations", "seed"]
    assert frame.iloc[0]["p_value"] == res.p_value
    assert "2 x 2 table, n = 30" in repr(res) and "odds ratio" in repr(res)
    mc = fisher_exact([[12, 5, 3], [3, 10, 8]], monte_carlo=200, seed=5)
    assert "Monte Carlo, 200 tables, seed 5" in repr(mc)
    assert mc.to_frame().iloc[0]["seed"] == 5
    assert fisher_exact([[12, 5, 3], [3, 10, 8]]).to_frame()["seed"].isna().all()


def test_chi2_result_repr_and_frame():
    res = chi2_test([[10, 20], [20, 10]], correction=True)
    assert "Yates correction 0.5" in repr(res) and "df = 1" in repr(res)
    assert res.to_frame().loc["chi2", "min_expected"] == 15.0
