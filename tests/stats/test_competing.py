"""Competing risks against R (s3 in ``tests/reference``), a brute-force oracle and hand-derived cases.

R calls (survival 3.5-3, cmprsk 2.2-11), per group subset ``d`` (or all rows):
    fit <- survfit(Surv(time, factor(status, levels = 0:2)) ~ 1, data = d)   # Aalen-Johansen
    summary(fit, times = c(12, 24, 36, 48), extend = TRUE)
    cmprsk::cuminc(time, status, group, cencode = 0)$Tests
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from poems_cohort.stats.competing import cumulative_incidence, gray_test
from tests.reference_data import arr, load_csv, load_json

STATES = (("(s0)", 0), ("1", 1), ("2", 2))


def _s3() -> tuple[pd.DataFrame, dict]:
    return load_csv("s3"), load_json("s3")["competing_risks"]


@pytest.mark.parametrize("g", ["A", "B", "all"])
def test_aalen_johansen_matches_r(g: str) -> None:
    d, cr = _s3()
    ref = cr["aj"]["groups"][g]
    dd = d if g == "all" else d[d["group"] == g]
    fit = cumulative_incidence(dd["time"], dd["status"])
    tab = fit.table
    np.testing.assert_array_equal(tab.loc[tab.cause == 0, "time"], arr(ref["table"]["time"]))
    np.testing.assert_array_equal(tab.loc[tab.cause == 0, "n_risk"], arr(ref["table"]["n_risk"]))
    np.testing.assert_array_equal(tab.loc[tab.cause == 0, "n_censor"],
                                  arr(ref["table"]["n_censor"]))
    at = fit.at(ref["at_times"]["time"])
    np.testing.assert_array_equal(at.loc[at.cause == 0, "n_risk"], arr(ref["at_times"]["n_risk"]))
    for state, cause in STATES:
        rows = tab[tab.cause == cause]
        if cause:
            np.testing.assert_array_equal(rows["n_event"], arr(ref["table"]["n_event"][state]))
        np.testing.assert_allclose(rows["estimate"], arr(ref["table"]["pstate"][state]),
                                   rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(rows["std_err"], arr(ref["table"]["std_err"][state]),
                                   rtol=1e-10, atol=1e-15)
        r = at[at.cause == cause]
        for col, key in (("estimate", "pstate"), ("std_err", "std_err"), ("lower", "lower"),
                         ("upper", "upper")):
            np.testing.assert_allclose(r[col], arr(ref["at_times"][key][state]), rtol=1e-10)


def test_grouped_fit_equals_separate_fits_and_cmprsk_estimates() -> None:
    d, cr = _s3()
    fit = cumulative_incidence(d["time"], d["status"], group=d["group"])
    assert fit.groups == ("A", "B") and fit.causes == (1, 2)
    times = cr["fixed_times"]
    at = fit.at(times)
    assert list(at.columns) == ["group", "time", "cause", "estimate", "std_err", "lower", "upper",
                                "n_risk"]
    for g in ("A", "B"):
        for cause in ("1", "2"):
            ref = cr["cmprsk"]["groups"][g][cause]
            est = at[(at.group == g) & (at.cause == int(cause))]["estimate"].to_numpy()
            ok = ~np.isnan(arr(ref["est"]))  # cmprsk gives NA past a group's last time
            np.testing.assert_allclose(est[ok], arr(ref["est"])[ok], rtol=1e-12)


@pytest.mark.parametrize("cause", ["1", "2"])
def test_gray_matches_cmprsk(cause: str) -> None:
    d, cr = _s3()
    res = gray_test(d["time"], d["status"], d["group"], cause=int(cause))
    ref = cr["gray"][cause]
    np.testing.assert_allclose(res.statistic, ref["stat"], rtol=1e-10)
    np.testing.assert_allclose(res.p_value, ref["p"], rtol=1e-9)
    assert res.df == ref["df"] == 1


def _brute_force_ij(time: np.ndarray, status: np.ndarray, k: int) -> tuple[np.ndarray, ...]:
    """Independent oracle: per-subject influence recursion, O(n T), straight from the formula."""
    ut = np.unique(time)
    n = len(time)
    s_prev, f = 1.0, np.zeros(k)
    ifs = np.zeros(n)
    iff = np.zeros((n, k))
    est, se = [], []
    for t in ut:
        at_risk = time >= t
        nr = at_risk.sum()
        dk = np.array([np.sum((time == t) & (status == c)) for c in range(1, k + 1)], float)
        dall = dk.sum()
        dn = np.array([((time == t) & (status == c)).astype(float) for c in range(1, k + 1)]).T
        y = at_risk.astype(float)
        new_ifs = ifs * (1 - dall / nr) - s_prev * (dn.sum(axis=1) - y * dall / nr) / nr
        iff = iff + ifs[:, None] * dk / nr + s_prev * (dn - y[:, None] * dk / nr) / nr
        f = f + s_prev * dk / nr
        s_prev = s_prev * (1 - dall / nr)
        ifs = new_ifs
        est.append(np.concatenate(([s_prev], f)))
        se.append(np.sqrt(np.concatenate(([np.sum(ifs ** 2)], np.sum(iff ** 2, axis=0)))))
    return ut, np.array(est), np.array(se)


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_ij_standard_error_equals_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 60
    time = rng.integers(0, 15, n).astype(float)  # heavy ties and events at time zero
    status = rng.integers(0, 4, n)
    fit = cumulative_incidence(time, status)
    ut, est, se = _brute_force_ij(time, status, 3)
    tab = fit.table
    for c in range(4):
        rows = tab[tab.cause == c]
        np.testing.assert_array_equal(rows["time"], ut)
        np.testing.assert_allclose(rows["estimate"], est[:, c], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(rows["std_err"], se[:, c], rtol=1e-9, atol=1e-14)


def test_hand_derived_small_case() -> None:
    # times 1,2,2,3,4 ; status 1,2,0,1,0.
    # t=1: n=5, cause 1: F1 = 1/5, S = 4/5
    # t=2: n=4, cause 2 (the censoring at 2 stays at risk): F2 = 4/5 * 1/4 = 1/5, S = 3/5
    # t=3: n=2, cause 1: F1 = 1/5 + 3/5 * 1/2 = 1/2, S = 3/10
    fit = cumulative_incidence([1, 2, 2, 3, 4], [1, 2, 0, 1, 0])
    at = fit.at([0.5, 1, 2.5, 3, 10]).pivot(index="time", columns="cause", values="estimate")
    np.testing.assert_allclose(at.loc[0.5].to_numpy(), [1, 0, 0])
    np.testing.assert_allclose(at.loc[1].to_numpy(), [4 / 5, 1 / 5, 0])
    np.testing.assert_allclose(at.loc[2.5].to_numpy(), [3 / 5, 1 / 5, 1 / 5])
    np.testing.assert_allclose(at.loc[3].to_numpy(), [3 / 10, 1 / 2, 1 / 5], rtol=1e-15)
    np.testing.assert_allclose(at.loc[10].to_numpy(), [3 / 10, 1 / 2, 1 / 5], rtol=1e-15)
    # SE at t=1: one event among 5 -> binomial sqrt(p(1-p)/n) for both S and F1
    r = fit.at([1.0])
    se = np.sqrt(0.8 * 0.2 / 5)
    np.testing.assert_allclose(r["std_err"].to_numpy(), [se, se, 0.0], rtol=1e-14)
    assert fit.at([10.0])["n_risk"].iloc[0] == 0 and fit.at([4.0])["n_risk"].iloc[0] == 1


def test_event_at_time_zero_and_curve_reaching_zero() -> None:
    fit = cumulative_incidence([0, 0, 1, 2], [1, 2, 1, 1])
    at = fit.at([0, 2])
    np.testing.assert_allclose(at["estimate"], [0.5, 0.25, 0.25, 0.0, 0.75, 0.25])
    zero = at[(at.time == 2) & (at.cause == 0)]
    assert zero["std_err"].iloc[0] == 0.0 and np.isnan(zero["lower"].iloc[0])
    # the s0 standard error equals the Greenwood SE of the any-event Kaplan-Meier at t=0
    np.testing.assert_allclose(at["std_err"].iloc[0], 0.5 * np.sqrt(2 / (4 * 2)), rtol=1e-15)


def test_group_of_one_and_all_censored_cause() -> None:
    fit = cumulative_incidence([1, 2, 3, 4], [1, 0, 1, 2], group=["a", "a", "a", "b"])
    at = fit.at([5])
    b = at[at.group == "b"]
    np.testing.assert_allclose(b["estimate"], [0, 0, 1])
    np.testing.assert_allclose(b["std_err"], [0, 0, 0])
    # a cause with no events in a group has a zero curve with SE 0
    a = at[at.group == "a"]
    np.testing.assert_allclose(a.loc[a.cause == 2, ["estimate", "std_err"]].to_numpy(), [[0, 0]])


def test_gray_two_identical_groups_gives_zero_statistic() -> None:
    t = np.array([1, 2, 3, 4, 5, 6.0])
    s = np.array([1, 2, 0, 1, 2, 0])
    res = gray_test(np.concatenate((t, t)), np.concatenate((s, s)), ["x"] * 6 + ["y"] * 6)
    assert abs(res.statistic) < 1e-25 and res.df == 1
    np.testing.assert_allclose(res.p_value, 1.0)
    assert list(res.to_frame().columns) == ["cause", "statistic", "df", "p_value"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"time": [1, 2], "status": [1]}, "differ in length"),
        ({"time": [1, -2], "status": [1, 0]}, "negative time"),
        ({"time": [1, np.nan], "status": [1, 0]}, "missing"),
        ({"time": [1, 2], "status": [1, -1]}, "status"),
        ({"time": [1, 2], "status": [1, 1.5]}, "status"),
        ({"time": [1, 2], "status": [0, 0]}, "no events"),
        ({"time": [1, 2], "status": [1, 0],
          "group": pd.Categorical(["a", "a"], categories=["a", "b"])}, "no observations"),
        ({"time": [1, 2], "status": [1, 0], "group": ["a", None]}, "missing"),
    ],
)
def test_cumulative_incidence_rejects_bad_input(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        cumulative_incidence(**kwargs)


def test_gray_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="two groups"):
        gray_test([1, 2], [1, 0], ["a", "a"])
    with pytest.raises(ValueError, match="no events with status 2"):
        gray_test([1, 2], [1, 0], ["a", "b"], cause=2)
    with pytest.raises(ValueError, match="differ in length"):
        gray_test([1, 2, 3], [1, 0], ["a", "b"])
    with pytest.raises(ValueError, match="negative"):
        cumulative_incidence([1, 2], [1, 0]).at([-1])
