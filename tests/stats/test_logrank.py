"""Log-rank: hand-derived cases, edge cases, input checks and a large-n regression."""

from __future__ import annotations

import subprocess
import sys
from fractions import Fraction as F

import numpy as np
import pandas as pd
import pytest

from poems_cohort.stats import NotTestableError, logrank_test, pairwise_logrank
from poems_cohort.stats.logrank import adjust_p

# A: events at 1 and 3; B: event at 2, censored at 4.
TIME = [1, 3, 2, 4]
EVENT = [1, 1, 1, 0]
GROUP = ["A", "A", "B", "B"]


def test_two_groups_by_hand() -> None:
    # t=1: n=4 (A 2), E_A=1/2, V=1*3/3*(2*2)/16=1/4; t=2: n=3 (A 1), E_A=1/3, V=1*2/2*(1*2)/9=2/9;
    # t=3: n=2 (A 1), E_A=1/2, V=1/4. O_A=2, E_A=4/3, V=13/18, chi-square=(2/3)^2/(13/18)=8/13.
    res = logrank_test(TIME, EVENT, GROUP)
    assert res.groups == ("A", "B")
    np.testing.assert_allclose(res.observed, [2, 1], rtol=0, atol=1e-15)
    np.testing.assert_allclose(res.expected, [float(F(4, 3)), float(F(5, 3))], rtol=1e-15)
    np.testing.assert_allclose(res.variance, [[13 / 18, -13 / 18], [-13 / 18, 13 / 18]],
                               rtol=1e-15)
    assert res.statistic == pytest.approx(8 / 13, rel=1e-14)
    assert res.df == 1
    from scipy.stats import chi2
    assert res.p_value == pytest.approx(chi2.sf(8 / 13, 1), rel=1e-14)
    np.testing.assert_array_equal(res.n, [2, 2])


def test_peto_peto_rho1_by_hand() -> None:
    # weights S(t-) of the pooled KM: 1, 3/4, 1/2. O_A = 1 + 1/2, E_A = 1/2 + 3/4*1/3 + 1/2*1/2
    # = 1, V = 1/4 + (3/4)^2*2/9 + (1/2)^2*1/4 = 7/16; chi-square = (1/2)^2 / (7/16) = 4/7.
    res = logrank_test(TIME, EVENT, GROUP, rho=1)
    np.testing.assert_allclose(res.observed, [1.5, 0.75], rtol=1e-15)
    np.testing.assert_allclose(res.expected[0], 1.0, rtol=1e-15)
    np.testing.assert_allclose(res.variance[0, 0], 7 / 16, rtol=1e-15)
    assert res.statistic == pytest.approx(4 / 7, rel=1e-14)


def test_stratified_is_the_sum_over_strata() -> None:
    t = [1, 3, 2, 4, 5, 6, 7, 8]
    e = [1, 1, 1, 0, 1, 0, 1, 1]
    g = ["A", "A", "B", "B", "A", "B", "B", "A"]
    s = [0, 0, 0, 0, 1, 1, 1, 1]
    res = logrank_test(t, e, g, strata=s)
    parts = [logrank_test(t[i:i + 4], e[i:i + 4], g[i:i + 4]) for i in (0, 4)]
    np.testing.assert_allclose(res.expected, parts[0].expected + parts[1].expected, rtol=1e-15)
    np.testing.assert_allclose(res.variance, parts[0].variance + parts[1].variance, rtol=1e-15)
    diff = res.observed[0] - res.expected[0]
    assert res.statistic == pytest.approx(diff**2 / res.variance[0, 0], rel=1e-14)


def test_ties_of_events_and_censorings_keep_censored_at_risk() -> None:
    # at t=2 one event (A) and one censoring (B): both at risk, n=4 (2 A, 2 B) -> E_A = 1/2.
    res = logrank_test([2, 2, 5, 5], [1, 0, 0, 0], ["A", "B", "A", "B"])
    np.testing.assert_allclose(res.expected, [0.5, 0.5], rtol=1e-15)
    np.testing.assert_allclose(res.variance[0, 0], 1 * 3 / 3 * 4 / 16, rtol=1e-15)


def test_all_censored_group_and_group_of_one_and_time_zero() -> None:
    t = [0, 1, 2, 3, 4, 5, 6]
    e = [1, 1, 0, 1, 0, 0, 1]
    g = ["A", "A", "C", "A", "C", "B", "A"]  # C all censored, B a single subject
    res = logrank_test(t, e, g)
    assert res.groups == ("A", "B", "C")
    np.testing.assert_allclose(res.observed, [4, 0, 0], atol=1e-15)
    # event at 0: n=7 (A 4, B 1, C 2): E = 4/7, 1/7, 2/7
    # t=1: n=6 (A 3, B 1, C 2): 3/6, 1/6, 2/6; t=3: n=4 (A 2, B 1, C 1): 2/4, 1/4, 1/4;
    # t=6: n=1 (A 1): 1, 0, 0
    e_b = 1 / 7 + 1 / 6 + 1 / 4
    e_c = 2 / 7 + 2 / 6 + 1 / 4
    np.testing.assert_allclose(res.expected, [4 - e_b - e_c, e_b, e_c], rtol=1e-14)
    assert res.df == 2


def test_no_expected_in_other_groups_is_not_testable() -> None:
    # B's only subject leaves before the first event: nothing expected in B -> R's df 0.
    with pytest.raises(NotTestableError, match="only one group has subjects at risk"):
        logrank_test([1, 2, 3], [0, 1, 1], ["B", "A", "A"])


def test_group_order_follows_categorical_and_sorted_values() -> None:
    cat = pd.Categorical(GROUP, categories=["B", "A"])
    res = logrank_test(TIME, EVENT, cat)
    assert res.groups == ("B", "A")
    assert res.statistic == pytest.approx(8 / 13, rel=1e-14)
    assert logrank_test(TIME, EVENT, [2, 2, 1, 1]).groups == (1, 2)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"time": [1, 2, 3], "event": [1, 0, 1, 1], "group": ["A", "B", "A", "B"]},
     "differ in length"),
    ({"time": [1, -2, 3, 4], "event": [1, 0, 1, 1], "group": ["A", "B", "A", "B"]},
     "time: negative time"),
    ({"time": [1, 2, 3, 4], "event": [1, 0, 2, 1], "group": ["A", "B", "A", "B"]},
     "event: value"),
    ({"time": [1, np.nan, 3, 4], "event": [1, 0, 1, 1], "group": ["A", "B", "A", "B"]},
     "time: 1 missing"),
    ({"time": [1, 2, 3, 4], "event": [1, 0, 1, 1], "group": ["A", None, "A", "B"]},
     "group: missing value at position 1"),
    ({"time": [1, 2, 3, 4], "event": [1, 0, 1, 1], "group": ["A", "A", "A", "A"]},
     "at least 2 groups"),
    ({"time": [1, 2, 3, 4], "event": [1, 0, 1, 1],
      "group": pd.Categorical(["A", "B", "A", "B"], categories=["A", "B", "C"])},
     r"no observations in level\(s\) \['C'\]"),
    ({"time": [], "event": [], "group": []}, "no observations"),
])
def test_bad_input_is_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        logrank_test(**kwargs)


def test_bad_options_are_refused() -> None:
    with pytest.raises(ValueError, match="rho"):
        logrank_test(TIME, EVENT, GROUP, rho=float("nan"))
    with pytest.raises(ValueError, match="adjust"):
        pairwise_logrank(TIME, EVENT, GROUP, adjust="fdr")
    with pytest.raises(ValueError, match="reference: 'Z'"):
        pairwise_logrank(TIME, EVENT, GROUP, reference="Z")
    with pytest.raises(ValueError, match="strata: missing"):
        logrank_test(TIME, EVENT, GROUP, strata=[1, None, 1, 1])


def test_adjust_p_by_hand() -> None:
    p = [0.01, 0.04, 0.03]
    np.testing.assert_allclose(adjust_p(p, "holm"), [0.03, 0.06, 0.06], rtol=1e-15)
    np.testing.assert_allclose(adjust_p(p, "bonferroni"), [0.03, 0.12, 0.09], rtol=1e-15)
    np.testing.assert_allclose(adjust_p([0.2, np.nan, 0.9], "holm"), [0.4, np.nan, 0.9], rtol=1e-15)
    np.testing.assert_array_equal(adjust_p(p, None), p)


def test_pairwise_of_two_groups_is_the_k_sample_test() -> None:
    out = pairwise_logrank(TIME, EVENT, GROUP, adjust="holm")
    assert len(out) == 1
    assert out.statistic[0] == pytest.approx(8 / 13, rel=1e-14)
    assert out.p_adjusted[0] == out.p_value[0]


def straightforward_logrank(time: np.ndarray, event: np.ndarray, group: np.ndarray) -> float:
    """Two-group log-rank from first principles: sort, then one pass over the distinct times in
    float64, counting who is at risk by position in the sorted data."""
    order = np.argsort(time, kind="stable")
    t, e, g = time[order], event[order].astype(float), group[order]
    n_total = float(len(t))
    n1_total = float((g == 1).sum())
    starts = np.flatnonzero(np.r_[True, t[1:] != t[:-1]])
    ends = np.r_[starts[1:], len(t)]
    g1_before = np.r_[0.0, np.cumsum(g == 1)]
    o_minus_e = 0.0
    var = 0.0
    for a, b in zip(starts, ends, strict=True):
        d = e[a:b].sum()
        if d == 0:
            continue
        n = n_total - a
        n1 = n1_total - g1_before[a]
        d1 = e[a:b][g[a:b] == 1].sum()
        o_minus_e += d1 - d * n1 / n
        if n > 1:
            var += d * (n1 / n) * (1 - n1 / n) * (n - d) / (n - 1)
    return o_minus_e**2 / var


def test_large_n_statistic_has_no_integer_overflow() -> None:
    # scipy.stats.logrank overflows an integer product at this size; ours must not.
    rng = np.random.default_rng(20240611)
    n = 1_000_000
    group = rng.integers(0, 2, n)
    time = np.round(rng.exponential(np.where(group == 1, 30.0, 33.0)), 1)
    event = (rng.random(n) < 0.6).astype(np.int64)
    ours = logrank_test(time, event, group)
    expected = straightforward_logrank(time, event, group)
    assert ours.statistic == pytest.approx(expected, rel=1e-9)
    assert ours.statistic > 100  # a real difference at this n, not a degenerate value


def test_import_does_not_pull_heavy_packages() -> None:
    code = ("import sys, poems_cohort.stats; "
            "bad = [m for m in ('lifelines', 'statsmodels', 'matplotlib') if m in sys.modules]; "
            "print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
