"""The search of the response months aimed at the published 6- and 12-month cumulative rates."""

from __future__ import annotations

import numpy as np
import pytest

from poems_cohort.synth.kinetics_search import (
    CAP,
    H6,
    H12,
    aim_response_days,
    cumulative_rates,
    month_day,
)
from poems_cohort.synth.km import DAYS_PER_MONTH, km_at, prints_as
from poems_cohort.synth.targets import Kinetics


def _counts(days: np.ndarray, event: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = np.minimum(days, CAP)
    return (np.bincount(t[event], minlength=CAP + 1).astype(float),
            np.bincount(t, minlength=CAP + 1).astype(float))


def test_cumulative_rates_match_the_km_helper():
    rng = np.random.default_rng(5)
    for _ in range(30):
        days = rng.integers(0, 800, size=60)
        days[:5] = H6  # ties of responses and censorings on the landmark
        event = rng.random(60) < 0.4
        r6, r12 = cumulative_rates(*_counts(days, event))
        assert r6 == pytest.approx(100 * (1 - km_at(days, event, H6)), abs=1e-9)
        assert r12 == pytest.approx(100 * (1 - km_at(days, event, H12)), abs=1e-9)


def test_hand_case_without_censoring():
    # 10 patients, 2 respond at month 1, 1 at month 9, the rest followed 2 years
    days = np.array([month_day(1)] * 2 + [month_day(9)] + [730] * 7)
    event = np.array([True] * 3 + [False] * 7)
    assert cumulative_rates(*_counts(days, event)) == pytest.approx((20.0, 30.0))


def _problem(seed: int, n: int = 120):
    """One regimen of ``n`` evaluable patients (CRH and CRV), a third followed less than a year."""
    rng = np.random.default_rng(seed)
    follow = np.where(rng.random(n) < 0.3, rng.integers(20, 365, n), rng.integers(400, 3000, n))
    last = np.zeros(n, np.int64)
    sched = month_day(np.array([1, 2, 3, 6, 9, 12, *range(18, 121, 6)]))
    for i, f in enumerate(follow):
        before = sched[sched <= f]
        last[i] = before[-1] if len(before) else 0
    days, bounds = {}, {}
    for x, count in (("crh", 50), ("crv", 60)):
        who = np.argsort(-follow)[:count]
        d = np.full(n, -1, np.int64)
        d[who] = month_day(np.linspace(1, 30, count).round())
        days[x] = d
        lo = np.where(d >= 0, 1.0, np.nan)
        hi = np.where(d >= 0, 30.0, np.nan)
        bounds[x] = (lo, hi)
    # the targets are the rates of a hidden layout: three responses of the first year moved
    # earlier, below the median, so that the rates can be printed
    kinetics, targets = {}, {}
    for x in ("crh", "crv"):
        hidden = days[x].copy()
        movable = np.flatnonzero((hidden >= month_day(7)) & (hidden <= month_day(12)))
        hidden[rng.choice(movable, 3, replace=False)] = month_day(rng.integers(2, 6, 3))
        t = np.where(hidden >= 0, hidden, np.maximum(last, days["crv" if x == "crh" else "crh"]))
        r6, r12 = (round(100 * (1 - km_at(t, hidden >= 0, h)), 1) for h in (H6, H12))
        targets[x] = (r6, r12)
        # the pooled median as laid out, in whole months: the search must keep it
        median = float(np.round(np.median(days[x][days[x] >= 0] / DAYS_PER_MONTH)))
        kin = Kinetics(median=median, minimum=1.0, maximum=30.0, rate_6=r6, rate_12=r12)
        kinetics |= {(x, "A"): kin, (x, "All"): kin}
    return dict(days=days, evaluable={x: np.ones(n, bool) for x in ("crh", "crv")},
                regimen=np.zeros(n, np.int64), names=["A"], last=last, limit=follow,
                bounds=bounds, exchange_class={x: np.zeros(n, np.int64) for x in ("crh", "crv")},
                kinetics=kinetics), follow, targets


@pytest.mark.parametrize("seed", [1, 2])
def test_search_prints_reachable_rates_and_keeps_counts_and_limits(seed):
    problem, follow, targets = _problem(seed)
    aimed = aim_response_days(np.random.default_rng(seed), **problem)
    assert aimed.misses == ()
    for x in ("crh", "crv"):
        d, stop = aimed.days[x], aimed.stop[x]
        assert (d >= 0).sum() == (problem["days"][x] >= 0).sum()     # responders kept
        assert (d[d >= 0] <= follow[d >= 0]).all()                      # within follow-up
        assert (stop[d >= 0] < 0).all()                                 # responders assessed
        # the rates, recomputed from the days: non-responders censored at the last assessment
        other = aimed.days["crv" if x == "crh" else "crh"]
        t = np.where(d >= 0, d, np.where(stop >= 0, stop,
                                         np.maximum(problem["last"], other)))
        r6 = 100 * (1 - km_at(t, d >= 0, H6))
        r12 = 100 * (1 - km_at(t, d >= 0, H12))
        assert prints_as(r6, targets[x][0]) and prints_as(r12, targets[x][1]), (x, r6, r12)
        assert aimed.rates[x, "A"] == pytest.approx((r6, r12))
