"""Kaplan–Meier: hand-derived cases (exact fractions), edge cases, input checks, an independent
robust-variance oracle and the result objects."""

from __future__ import annotations

from fractions import Fraction as F

import numpy as np
import pytest
from scipy.stats import norm

from poems_cohort.stats import kaplan_meier
from poems_cohort.stats.survival import confidence_limits

TIME = [1, 2, 2, 3, 4, 4, 5]
EVENT = [1, 1, 0, 1, 0, 1, 0]
Z = norm.ppf(0.975)


def test_step_table_by_hand() -> None:
    km = kaplan_meier(TIME, EVENT)
    tb = km.table
    assert list(tb.columns) == ["time", "n_risk", "n_event", "n_censor", "surv", "std_err",
                                "se_surv", "lower", "upper"]
    np.testing.assert_array_equal(tb.time, [1, 2, 3, 4, 5])
    np.testing.assert_array_equal(tb.n_risk, [7, 6, 4, 3, 1])
    np.testing.assert_array_equal(tb.n_event, [1, 1, 1, 1, 0])
    np.testing.assert_array_equal(tb.n_censor, [0, 1, 0, 1, 1])
    # S = 6/7, 6/7*5/6, *3/4, *2/3, flat
    surv = [F(6, 7), F(5, 7), F(15, 28), F(5, 14), F(5, 14)]
    np.testing.assert_allclose(tb.surv, [float(s) for s in surv], rtol=1e-15)
    # Greenwood on the log scale: cumsum d / (n (n - d))
    terms = np.cumsum([F(1, 42), F(1, 30), F(1, 12), F(1, 6), F(0)])
    np.testing.assert_allclose(tb.std_err, [float(x) ** 0.5 for x in terms], rtol=1e-15)
    np.testing.assert_allclose(tb.se_surv, tb.surv * tb.std_err, rtol=1e-15)
    s, se = tb.surv.to_numpy(), tb.std_err.to_numpy()
    np.testing.assert_allclose(tb.lower, np.exp(-np.exp(np.log(-np.log(s)) - Z * se / np.log(s))),
                               rtol=1e-14)
    assert km.n == 7 and km.events == 4


def test_median_rmst_and_evaluation_by_hand() -> None:
    km = kaplan_meier(TIME, EVENT)
    assert km.median().estimate == 4.0  # first time S < 1/2 (S(4) = 5/14)
    res = km.rmst(4)
    # area: 1*1 + 1*6/7 + 1*5/7 + 1*15/28 = 87/28
    assert res.estimate == pytest.approx(87 / 28, rel=1e-15)
    # areas after t_i up to 4: 59/28, 35/28, 15/28, 0; hazard terms 1/42, 1/30, 1/12, 1/6
    var = F(59, 28) ** 2 / 42 + F(35, 28) ** 2 / 30 + F(15, 28) ** 2 / 12
    assert res.std_err == pytest.approx(float(var) ** 0.5, rel=1e-14)
    assert km(0) == 1.0 and km(0.999) == 1.0
    assert km(1) == pytest.approx(6 / 7, rel=1e-15)  # right-continuous
    assert km(2.5) == pytest.approx(5 / 7, rel=1e-15)
    assert km(100) == pytest.approx(5 / 14, rel=1e-15)  # carried forward past the last time
    np.testing.assert_allclose(km([0, 1, 4]), [1, 6 / 7, 5 / 14], rtol=1e-15)
    with pytest.raises(ValueError, match="t: negative time -1.0 at position 0"):
        km(-1)
    with pytest.raises(ValueError, match="tau"):
        km.rmst(-1)


def test_rmst_before_first_time_and_beyond_last() -> None:
    km = kaplan_meier(TIME, EVENT)
    early = km.rmst(0.5)
    assert early.estimate == 0.5 and early.std_err == 0.0
    late = km.rmst(10)  # S held at 5/14 from 5 to 10
    assert late.estimate == pytest.approx(87 / 28 + 6 * 5 / 14, rel=1e-15)


def test_at_counts_intervals_and_beyond_last_time() -> None:
    km = kaplan_meier(TIME, EVENT)
    at = km.at([10, 0.5, 2])  # sorted as R does
    np.testing.assert_array_equal(at.time, [0.5, 2, 10])
    np.testing.assert_array_equal(at.n_risk, [7, 6, 0])
    np.testing.assert_array_equal(at.n_event, [0, 2, 2])
    np.testing.assert_array_equal(at.n_censor, [0, 1, 2])
    np.testing.assert_allclose(at.surv, [1, 5 / 7, 5 / 14], rtol=1e-15)
    assert at.se_surv[0] == 0 and at.lower[0] == 1 and at.upper[0] == 1
    np.testing.assert_allclose(at.se_surv[1:], km.se_surv[[1, 4]], rtol=1e-15)
    with pytest.raises(ValueError, match="times: negative"):
        km.at([1, -2])


def test_flat_half_gives_midpoint_median_and_quantile() -> None:
    km = kaplan_meier([1, 2, 3, 4], [1, 1, 0, 1])  # S = 3/4, 1/2, 1/2, 0
    assert km.median().estimate == 3.0  # (2 + 4) / 2
    q = km.quantile([0.25, 0.5, 1.0])
    # 1 - S is exactly 1/4 on [1, 2) too: midpoint (1 + 2) / 2
    np.testing.assert_allclose(q.estimate, [1.5, 3.0, 4.0], rtol=1e-15)


def test_half_at_end_of_curve_print_and_quantile_differ() -> None:
    km = kaplan_meier([1, 2, 3, 4], [1, 1, 0, 0])  # S = 3/4, 1/2, 1/2, 1/2
    assert km.median().estimate == 2.0  # print: first time S <= 1/2
    assert km.quantile(0.5).estimate[0] == 3.0  # quantile(): midpoint with the last time


def test_events_at_time_zero() -> None:
    km = kaplan_meier([0, 0, 1, 2], [1, 0, 1, 1])
    np.testing.assert_array_equal(km.time, [0, 1, 2])
    np.testing.assert_allclose(km.surv, [3 / 4, 3 / 8, 0], rtol=1e-15)
    assert km(0) == 0.75
    curve = km.curve
    np.testing.assert_array_equal(curve.time[:2], [0, 0])
    np.testing.assert_array_equal(curve.surv[:2], [1, 0.75])
    # S reaches 0: the log-scale SE is infinite and the limits undefined, as in R
    assert np.isinf(km.std_err[-1]) and np.isnan(km.se_surv[-1])
    assert np.isnan(km.lower[-1]) and np.isnan(km.upper[-1])
    assert km.median().estimate == 1.0


def test_all_censored() -> None:
    for ct, lim in (("log-log", np.nan), ("log", 1.0), ("plain", 1.0)):
        km = kaplan_meier([2, 4, 6], [0, 0, 0], conf_type=ct)
        np.testing.assert_array_equal(km.surv, [1, 1, 1])
        np.testing.assert_array_equal(km.std_err, [0, 0, 0])
        np.testing.assert_array_equal(km.lower, [lim] * 3)
        med = km.median()
        assert np.isnan(med.estimate) and np.isnan(med.lower) and np.isnan(med.upper)
    assert "not reached" in repr(km.median())


def test_group_of_one() -> None:
    km = kaplan_meier([5], [1])
    np.testing.assert_array_equal(km.surv, [0.0])
    assert km.median().estimate == 5.0
    one_censored = kaplan_meier([5], [0])
    np.testing.assert_array_equal(one_censored.surv, [1.0])
    assert np.isnan(one_censored.median().estimate)


def test_integer_weights_equal_replication() -> None:
    t = np.array([1, 2, 3, 4, 5.5])
    e = np.array([1, 0, 1, 1, 0])
    w = np.array([2, 1, 3, 1, 2])
    weighted = kaplan_meier(t, e, weights=w)
    replicated = kaplan_meier(np.repeat(t, w), np.repeat(e, w))
    assert not weighted.robust  # integer weights: R's default is not robust
    for col in ("time", "n_risk", "n_event", "n_censor", "surv", "std_err", "lower", "upper"):
        np.testing.assert_allclose(getattr(weighted, col), getattr(replicated, col), rtol=1e-14)


def test_zero_weights_are_dropped() -> None:
    a = kaplan_meier([1, 2, 3, 9], [1, 0, 1, 1], weights=[1.5, 1, 2, 0])
    b = kaplan_meier([1, 2, 3], [1, 0, 1], weights=[1.5, 1, 2])
    np.testing.assert_array_equal(a.time, b.time)
    np.testing.assert_allclose(a.std_err, b.std_err, rtol=1e-15)


def ij_se_brute_force(t: np.ndarray, e: np.ndarray, w: np.ndarray) -> np.ndarray:
    """IJ SE of S from its definition, with an n x u matrix (fine for a handful of subjects)."""
    times = np.unique(t)
    at_risk = (t[:, None] >= times[None, :]).astype(float)
    dn = ((t[:, None] == times[None, :]) & (e[:, None] == 1)).astype(float)
    n = (w[:, None] * at_risk).sum(0)
    d = (w[:, None] * dn).sum(0)
    s = np.cumprod(1 - d / n)
    with np.errstate(divide="ignore", invalid="ignore"):
        inc = np.where(d > 0, (dn - at_risk * d / n) / (n - d), 0.0)
    influence = -s[None, :] * np.cumsum(inc, axis=1)
    return np.sqrt(((w[:, None] * influence) ** 2).sum(0))


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_robust_se_equals_brute_force_influence(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 40
    t = rng.integers(1, 12, n).astype(float)  # many ties
    e = (rng.random(n) < 0.6).astype(int)
    w = rng.uniform(0.3, 3.0, n)
    km = kaplan_meier(t, e, weights=w)
    assert km.robust and km.std_err_scale == "surv"
    keep = km.surv > 0
    np.testing.assert_allclose(km.std_err[keep], ij_se_brute_force(t, e, w)[keep], rtol=1e-12)
    unit = kaplan_meier(t, e, robust=True)
    np.testing.assert_allclose(unit.std_err[unit.surv > 0],
                               ij_se_brute_force(t, e, np.ones(n))[unit.surv > 0], rtol=1e-12)


def test_confidence_limit_transforms() -> None:
    s = np.array([1.0, 0.8, 0.0])
    se = np.array([0.0, 0.1, np.inf])
    lo, up = confidence_limits(s, se, log_scale=True, conf_type="log", z=Z)
    assert lo[0] == 1 and up[0] == 1 and up[1] == min(1.0, np.exp(np.log(0.8) + Z * 0.1))
    assert np.isnan(lo[2]) and np.isnan(up[2])
    lo, up = confidence_limits(s, se, log_scale=True, conf_type="plain", z=Z)
    assert lo[1] == pytest.approx(0.8 - Z * 0.08, rel=1e-15) and up[0] == 1.0
    lo, up = confidence_limits(s, se, log_scale=True, conf_type="log-log", z=Z)
    assert np.isnan(lo[0]) and np.isnan(lo[2]) and 0 < lo[1] < 0.8 < up[1] < 1


def test_repr_and_frames() -> None:
    km = kaplan_meier(TIME, EVENT, conf_type="log", conf_level=0.9)
    text = repr(km)
    assert "n=7, events=4" in text and "log 90% CI" in text and "median 4" in text
    assert list(km.at([1]).columns) == ["time", "n_risk", "n_event", "n_censor", "surv",
                                        "se_surv", "lower", "upper"]
    assert list(km.curve.to_frame().columns) == ["time", "surv", "lower", "upper"]
    assert list(km.median().to_frame().columns) == ["estimate", "lower", "upper"]
    assert list(km.rmst(3).to_frame().columns) == ["tau", "estimate", "std_err"]
    with pytest.raises(ValueError):
        km.surv[0] = 0.5  # results are read-only
    with pytest.raises(AttributeError):
        km.n = 3  # type: ignore[misc]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"time": [1, 2], "event": [1]}, "differ in length"),
    ({"time": [1, -2], "event": [1, 0]}, "time: negative time"),
    ({"time": [1, 2], "event": [1, 3]}, "event: value"),
    ({"time": [1, np.nan], "event": [1, 0]}, "time: 1 missing"),
    ({"time": [1, 2], "event": [1, np.nan]}, "event: 1 missing"),
    ({"time": [], "event": []}, "no observations"),
    ({"time": [1, 2], "event": [1, 0], "weights": [1, -1]}, "weights: negative"),
    ({"time": [1, 2], "event": [1, 0], "weights": [0, 0]}, "all weights are 0"),
    ({"time": [1, 2], "event": [1, 0], "conf_type": "logit"}, "conf_type"),
    ({"time": [1, 2], "event": [1, 0], "conf_level": 95}, "conf_level"),
])
def test_bad_input_is_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        kaplan_meier(**kwargs)


def test_quantile_refuses_bad_probabilities() -> None:
    with pytest.raises(ValueError, match="probs"):
        kaplan_meier(TIME, EVENT).quantile([0.5, 1.5])


def test_by_group_checks_and_access() -> None:
    import pandas as pd

    from poems_cohort.stats import kaplan_meier_by_group

    fits = kaplan_meier_by_group(TIME, EVENT, [2, 1, 1, 2, 2, 1, 9])  # 9: a group of one
    assert fits.groups == (1, 2, 9) and len(fits) == 3
    np.testing.assert_array_equal(fits[9].surv, [1.0])  # its one subject is censored at 5
    # group 1: times 2 (event), 2 (censored), 4 (event) -> S = 2/3 at 2, 0 at 4
    np.testing.assert_array_equal(fits[1].time, [2, 4])
    np.testing.assert_allclose(fits[1].surv, [2 / 3, 0], rtol=1e-15)
    with pytest.raises(KeyError, match="no group 3"):
        fits[3]
    with pytest.raises(ValueError, match=r"no observations in level\(s\) \['C'\]"):
        kaplan_meier_by_group([1, 2], [1, 0], pd.Categorical(["A", "B"], categories=["A", "B", "C"]))
    with pytest.raises(ValueError, match="group: missing value at position 1"):
        kaplan_meier_by_group([1, 2], [1, 0], ["A", None])
    with pytest.raises(ValueError, match="differ in length"):
        kaplan_meier_by_group([1, 2], [1, 0], ["A"])
    assert "3 groups" in repr(fits)
