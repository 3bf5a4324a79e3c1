"""The search of the response months aimed at the published 6- and 12-month cumulative rates."""

from __future__ import annotations

import numpy as np
import pytest

from poems_cohort.synth.kinetics_search import (
    BINS,
    CAP,
    H6,
    H12,
    STOP_FRACTION,
    aim_response_days,
    binned_rates,
    cumulative_rates,
    month_day,
    time_bin,
)
from poems_cohort.synth.km import DAYS_PER_MONTH, km_at, prints_as
from poems_cohort.synth.targets import Kinetics, default_targets


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


def test_binned_rates_match_the_rates_per_day():
    rng = np.random.default_rng(9)
    for _ in range(30):
        n = 80
        responds = rng.random(n) < 0.4
        # responses on monthly days (some after the first year), censorings on any day
        days = np.where(responds, month_day(rng.integers(1, 16, n)), rng.integers(0, 600, n))
        ev, tot = [0] * BINS, [0] * BINS
        for d, e in zip(days.tolist(), responds.tolist(), strict=True):
            tot[time_bin(d)] += 1
            ev[time_bin(d)] += e
        assert binned_rates(ev, tot) == pytest.approx(cumulative_rates(*_counts(days, responds)),
                                                      abs=1e-9)


def _rates_by_bin(n: int, events: dict[int, int], censored: dict[int, int]) -> tuple[float, float]:
    ev = [events.get(b, 0) for b in range(BINS)]
    tot = [ev[b] + censored.get(b, 0) for b in range(BINS)]
    tot[BINS - 1] += n - sum(tot)
    return binned_rates(ev, tot)


def test_mdex_crv_six_month_rate_needs_fifteen_early_censorings_within_the_cap():
    """Scope: an MDex CRV layout of the bundled cohort before the cap was raised (52 evaluable,
    the solved count; the published shortest time of 1 month; non-responders whose follow-up
    ends at months 2, 3 and 6, two at 12), at most 5 responses in months 7-9 and 5 in months
    10-12. 7.2 at 6 months with 16.1 at 12 needs at least 15 assessments stopped within the
    first year: more than a quarter of 52 (13, the generator's former cap, under which the rate
    was missed), within ``STOP_FRACTION`` (a third, 17). No conflict of the paper: its numbers
    allow any early censoring."""
    n, natural = 52, {2: 1, 3: 1, 6: 1, 12: 2}
    # four responses by 6 months give at least 4/52
    assert _rates_by_bin(n, {1: 1, 6: 3}, natural)[0] > 7.6
    # responses at 12 months: s6 and s9 stopped at months 6 and 9, a responses in months 7-9,
    # b in months 10-12 (each group on its first month: censorings between count alike)
    s6, s9, a, b = np.meshgrid(np.arange(15), np.arange(15), np.arange(6), np.arange(6),
                               indexing="ij")
    fewest = None
    for b2 in range(1, 7):
        for b3 in range(b2, 7):
            for s1, s2, s3 in ((p, q, r) for p in range(15) for q in range(15 - p)
                               for r in range(15 - p - q)):
                early = {1: s1, 2: natural[2] + s2, 3: natural[3] + s3}
                events = {1: 1}
                for m in (b2, b3):
                    events[m] = events.get(m, 0) + 1
                r6 = _rates_by_bin(n, events, {**natural, **early})[0]
                if not prints_as(r6, 7.2):
                    continue
                n7 = n - 3 - s1 - s2 - s3 - natural[2] - natural[3] - natural[6] - s6
                with np.errstate(divide="ignore", invalid="ignore"):
                    s12 = (1 - r6 / 100) * (1 - a / n7) * (1 - b / (n7 - a - s9))
                ok = np.abs(100 * (1 - s12) - 16.1) < 0.05 - 0.002
                if ok.any():
                    total = int((s1 + s2 + s3 + s6 + s9)[ok].min())
                    fewest = total if fewest is None else min(fewest, total)
    assert fewest == 15
    assert int(n / 4) < fewest <= int(STOP_FRACTION * n)


def _many_stops_problem() -> tuple[dict, np.ndarray, np.ndarray]:
    """One regimen of 52 evaluable, 20 CRV responders (median 17 months) whose printed rates
    7.2 and 16.1 need 15 or more early stops: the problem, its response days and last visits."""
    n = 52
    day = month_day
    crv = np.full(n, -1, np.int64)
    months = [1] + [13] * 8 + [17, 17] + [20 + 2 * k for k in range(8)] + [60]
    crv[:20] = day(np.array(months, dtype=float))
    last = np.full(n, int(day(54)), np.int64)
    last[20:24] = day(np.array([1, 3, 6, 12], dtype=float))   # follow-up ending in the first year
    follow = last + 10
    follow[:20] = day(62)
    kin = Kinetics(median=17.0, minimum=1.0, maximum=60.0, rate_6=7.2, rate_12=16.1)
    none = Kinetics(median=1.0, minimum=1.0, maximum=1.0, rate_6=0.0, rate_12=0.0)
    lo = np.where(crv >= 0, np.where(np.arange(n) < 9, 1.0, 17.0), np.nan)
    hi = np.where(crv >= 0, np.where(np.arange(n) < 9, 17.0, 60.0), np.nan)
    problem = dict(days={"crh": np.full(n, -1, np.int64), "crv": crv},
                   evaluable={"crh": np.zeros(n, bool), "crv": np.ones(n, bool)},
                   regimen=np.zeros(n, np.int64), names=["A"], last=last, limit=follow,
                   bounds={"crh": (np.full(n, np.nan), np.full(n, np.nan)), "crv": (lo, hi)},
                   exchange_class={x: np.zeros(n, np.int64) for x in ("crh", "crv")},
                   kinetics={("crv", "A"): kin, ("crv", "All"): kin, ("crh", "A"): none,
                             ("crh", "All"): none})
    return problem, crv, last


def test_construct_prints_a_regimen_whose_rates_need_many_early_stops():
    """The rates of the layout above (7.2 and 16.1 with 52 evaluable, 20 responders, median 17)
    print only with 15 or more stops spread over the first year: the annealed moves alone do
    not find them (no move here), the enumeration of counts (``_construct``) does, keeping the
    responders, their median, minimum and maximum, and the cap."""
    problem, crv, last = _many_stops_problem()
    n = len(crv)
    # the first layout (no stop) misses both
    t0 = np.where(crv >= 0, crv, last)
    assert not prints_as(100 * (1 - km_at(t0, crv >= 0, H6)), 7.2)
    assert not prints_as(100 * (1 - km_at(t0, crv >= 0, H12)), 16.1)
    aimed = aim_response_days(np.random.default_rng(4), **problem, steps=0, pooled_steps=0)
    d, stop = aimed.days["crv"], aimed.stop["crv"]
    assert aimed.misses == (), aimed.rates
    assert (d >= 0).sum() == 20                                      # responders kept
    assert np.median(d[d >= 0] / DAYS_PER_MONTH) == pytest.approx(17, abs=0.05)
    assert d[d >= 0].min() == month_day(1) and d[d >= 0].max() == month_day(60)
    assert 15 <= (stop >= 0).sum() <= int(STOP_FRACTION * n)         # within the cap
    assert (stop[d >= 0] < 0).all()
    t = np.where(d >= 0, d, np.where(stop >= 0, stop, last))
    assert prints_as(100 * (1 - km_at(t, d >= 0, H6)), 7.2)
    assert prints_as(100 * (1 - km_at(t, d >= 0, H12)), 16.1)


def test_construct_gives_up_past_its_budget(monkeypatch):
    """The enumeration of counts is bounded: with a budget below the layouts it must try, the
    regimen of the test above keeps missing (the search ends, nothing half-made is kept)."""
    from poems_cohort.synth import kinetics_search

    calls = []
    real = kinetics_search._construct

    def counted(*args, **kwargs):
        calls.append(real(*args, **kwargs))
        return calls[-1]

    monkeypatch.setattr(kinetics_search, "_construct", counted)
    monkeypatch.setattr(kinetics_search, "CONSTRUCT_BUDGET", 5)
    problem, crv, _ = _many_stops_problem()
    aimed = aim_response_days(np.random.default_rng(4), **problem, steps=0, pooled_steps=0)
    assert calls and not any(calls)
    assert aimed.misses, aimed.rates
    d = aimed.days["crv"]
    assert (d >= 0).sum() == 20 and (aimed.stop["crv"] < 0).all()


def test_crv_exchange_classes_keep_who_dies_or_progresses_among_medium_high_risk_responders():
    """In medium-high risk a CRV response moves only between patients who neither die nor
    progress; each patient who dies or progresses there is a class of its own, so the CRV
    responders' deaths and progressions stay as drawn (the OS and PFS comparisons by CRV)."""
    import pandas as pd

    from poems_cohort.synth.visits import _exchange_classes

    day = pd.Timestamp("2015-01-01")
    frame = pd.DataFrame({
        "subgroup": ["medium-high"] * 6 + ["low"] * 4,
        "crh_ev": [1] * 10, "crv_ev": [1] * 10,
        "death_date": [day, day, None, None, None, None, day, day, None, None],
        "progression_date": [None, None, day, day, None, None, None, None, None, None],
    })
    classes = _exchange_classes(frame, np.zeros(10, np.int64))
    crv = classes["crv"]
    # medium-high: two deaths and two progressions alone, the two others together
    assert len(set(crv[:4].tolist())) == 4
    assert not set(crv[:4].tolist()) & set(crv[4:].tolist())
    assert crv[4] == crv[5]
    # low risk: the outcome does not matter, all four together, apart from medium-high
    assert len(set(crv[6:].tolist())) == 1 and crv[6] != crv[4]
    # CRH ignores the outcome: one class per subgroup here
    assert len(set(classes["crh"][:6].tolist())) == 1
    assert classes["crh"][0] != classes["crh"][6]


def _interleaved(shifted: bool):
    """Two regimens of 40 CRV-evaluable patients whose rates print while the pooled ones do not.

    A: a response at month 1, six non-responders followed one month, nine responses at month
    2, twelve late responses (median 14, longest 30). B: a response at month 1, five at month
    2, four non-responders followed two months, five responses at month 3, twelve late. The
    published rates are those of this layout; ``shifted`` moves A's nine responses to month 3:
    A's own curve is the same (no censoring of A between), but they now come after B's
    censorings at month 2, so the pooled rates move by 0.7 point."""
    n = 80
    day = month_day
    regimen = np.repeat([0, 1], 40)
    crv = np.full(n, -1, np.int64)
    late = [14.0] * 6 + [16.0, 18.0, 20.0, 22.0, 24.0, 30.0]
    a_months = [1.0] + [3.0 if shifted else 2.0] * 9 + late
    b_months = [1.0] + [2.0] * 5 + [3.0] * 5 + late
    crv[:22] = day(np.array(a_months))
    crv[40:63] = day(np.array(b_months))
    last = np.full(n, int(day(48)), np.int64)
    last[22:28] = day(1)                     # A's non-responders followed one month
    last[63:67] = day(2)                     # four of B followed two months
    follow = last + 5
    return n, regimen, crv, follow, last


def _rates(crv: np.ndarray, stop: np.ndarray, last: np.ndarray, rows: np.ndarray
           ) -> tuple[float, float]:
    t = np.where(crv >= 0, crv, np.where(stop >= 0, stop, last))[rows]
    event = (crv >= 0)[rows]
    return 100 * (1 - km_at(t, event, H6)), 100 * (1 - km_at(t, event, H12))


def _interleaved_problem() -> tuple[dict, dict[str, tuple[float, ...]]]:
    """The arguments of ``aim_response_days`` for the shifted layout of :func:`_interleaved`
    with the unshifted layout's rates as the published ones (the regimen rates print, the
    pooled one does not), and those rates."""
    n, regimen, crv, follow, last = _interleaved(shifted=False)
    stop = np.full(n, -1, np.int64)
    everyone = np.arange(n)
    printed = {g: tuple(round(v, 1) for v in _rates(crv, stop, last, rows))
               for g, rows in (("A", everyone[:40]), ("B", everyone[40:]), ("All", everyone))}
    start = _interleaved(shifted=True)[2]
    pooled_start = _rates(start, stop, last, everyone)
    assert not prints_as(pooled_start[0], printed["All"][0])
    for g, rows in (("A", everyone[:40]), ("B", everyone[40:])):
        assert all(prints_as(v, p) for v, p in zip(_rates(start, stop, last, rows),
                                                   printed[g], strict=True))
    kin = {g: Kinetics(median=14.0, minimum=1.0, maximum=30.0, rate_6=r6, rate_12=r12)
           for g, (r6, r12) in printed.items()}
    none = Kinetics(median=1.0, minimum=1.0, maximum=1.0, rate_6=0.0, rate_12=0.0)
    lo = np.where(start >= 0, 1.0, np.nan)
    hi = np.where(start >= 0, 30.0, np.nan)
    problem = dict(days={"crh": np.full(n, -1, np.int64), "crv": start},
                   evaluable={"crh": np.zeros(n, bool), "crv": np.ones(n, bool)},
                   regimen=regimen, names=["A", "B"], last=last, limit=follow,
                   bounds={"crh": (np.full(n, np.nan), np.full(n, np.nan)), "crv": (lo, hi)},
                   exchange_class={x: np.zeros(n, np.int64) for x in ("crh", "crv")},
                   kinetics={**{("crv", g): k for g, k in kin.items()},
                             **{("crh", g): none for g in ("A", "B", "All")}})
    return problem, printed


def _check_interleaved_layout(problem: dict, aimed, printed: dict) -> None:
    """Every rate prints; each regimen keeps its responders, median, minimum and maximum, and
    its early stops stay within the cap; responses within follow-up."""
    regimen, follow, last = problem["regimen"], problem["limit"], problem["last"]
    start = problem["days"]["crv"]
    assert aimed.misses == (), aimed.rates
    d, s = aimed.days["crv"], aimed.stop["crv"]
    for r in (0, 1):
        rows = regimen == r
        months = d[rows & (d >= 0)] / DAYS_PER_MONTH
        assert len(months) == (start[rows] >= 0).sum()                # responders kept
        assert np.median(months) == pytest.approx(14, abs=0.05)
        assert months.min() == pytest.approx(1, abs=0.05)
        assert months.max() == pytest.approx(30, abs=0.05)
        assert (s[rows] >= 0).sum() <= int(STOP_FRACTION * 40)        # within the cap
    assert (d[d >= 0] <= follow[d >= 0]).all() and (s[d >= 0] < 0).all()
    everyone = np.arange(len(d))
    for g, rows in (("A", everyone[:40]), ("B", everyone[40:]), ("All", everyone)):
        got = _rates(d, s, last, rows)
        assert all(prints_as(v, p) for v, p in zip(got, printed[g], strict=True)), (g, got)


def test_construct_pooled_interleaves_the_regimens_to_print_a_pooled_rate():
    """Every regimen rate prints and the pooled one does not: only the order of the two
    regimens' responses and censorings moves it. The search over the three regimens' counts
    (``_construct_pooled``, reached with no annealing step) finds an order printing it, keeping
    each regimen's responders, median, minimum, maximum and rates, the pooled median and the
    cap on early stops; without it the pooled rate stays missed."""
    problem, printed = _interleaved_problem()
    without = aim_response_days(np.random.default_rng(3), **problem, steps=0, pooled_steps=0,
                                count_steps=0)
    assert ("crv", "All", 6) in without.misses
    aimed = aim_response_days(np.random.default_rng(3), **problem, steps=0, pooled_steps=0)
    _check_interleaved_layout(problem, aimed, printed)


@pytest.mark.parametrize(("seed", "cap_fraction"), [(3, STOP_FRACTION), (4, STOP_FRACTION),
                                                   (15, 0.1), (20, 0.1)])
def test_relaxed_starts_print_a_pooled_rate_beyond_the_reach_of_the_count_search(
        monkeypatch, seed, cap_fraction):
    """A pooled rate missed by more than ``POOLED_REACH`` (here made 0.1 point: the interleaved
    case misses by 0.7) is searched from relaxed starts (``_construct_pooled_relaxed``), without
    the count search: it prints, with every rate, responder, median, range and cap kept. Every
    layout put on the patients has each regimen's rates printing and its stops within the cap
    (also with a cap of 4 the rounding would exceed, and the non-responders' last visits spread
    over months 7.5 to 11.5), the one kept its pooled rates within ``AIM_WITHIN`` of the
    published ones. Beyond ``RELAXED_REACH`` it is not searched."""
    from poems_cohort.synth import kinetics_search

    def not_called(*args, **kwargs):
        raise AssertionError("the count search runs only within POOLED_REACH")

    problem, printed = _interleaved_problem()
    if cap_fraction != STOP_FRACTION:
        last = problem["last"].copy()
        last[28:40] = month_day(np.array([48.0] * 4 + [11.5, 11.5, 10.5, 10.5, 9.5, 9.5, 8.5,
                                                       8.5]))
        last[67:80] = month_day(np.array([48.0] * 4 + [11.5, 11.5, 10.5, 10.5, 9.5, 9.5, 8.5,
                                                       8.5, 7.5]))
        problem = {**problem, "last": last, "limit": last + 5}
        monkeypatch.setattr(kinetics_search, "STOP_FRACTION", cap_fraction)
    cap = int(cap_fraction * 40)
    put = []
    original_put = kinetics_search._put_arms

    def recording_put(state, x, arms, before, month):
        put.append([(binned_rates(*a.counts()), a.stopped) for a in arms])
        return original_put(state, x, arms, before, month)

    monkeypatch.setattr(kinetics_search, "POOLED_REACH", 0.1)
    monkeypatch.setattr(kinetics_search, "_construct_pooled", not_called)
    monkeypatch.setattr(kinetics_search, "_put_arms", recording_put)
    aimed = aim_response_days(np.random.default_rng(seed), **problem, steps=0, pooled_steps=0)
    assert put
    for layout in put:
        for (rates, stopped), group in zip(layout, ("A", "B"), strict=True):
            assert all(prints_as(v, p) for v, p in zip(rates, printed[group], strict=True))
            assert stopped <= cap
    if cap_fraction == STOP_FRACTION:
        _check_interleaved_layout(problem, aimed, printed)
    assert aimed.misses == ()
    s, regimen = aimed.stop["crv"], problem["regimen"]
    assert all((s[regimen == r] >= 0).sum() <= cap for r in (0, 1))
    assert kinetics_search.AIM_WITHIN == 0.04
    for got, want in zip(aimed.rates["crv", "All"], printed["All"], strict=True):
        assert abs(got - want) <= 0.04 + 1e-12
    monkeypatch.setattr(kinetics_search, "RELAXED_REACH", 0.5)
    beyond = aim_response_days(np.random.default_rng(seed), **problem, steps=0, pooled_steps=0)
    assert ("crv", "All", 6) in beyond.misses


def test_a_layout_beyond_a_cap_is_never_put_on_the_patients(monkeypatch):
    """``_Pooled.put`` refuses, without trying it, a layout where a regimen stops more patients
    than its cap; within the cap it puts it (once: a layout tried is not tried again)."""
    from poems_cohort.synth import kinetics_search
    from poems_cohort.synth.kinetics_search import _arm, _Pooled, _State

    problem, _ = _interleaved_problem()
    n = len(problem["regimen"])
    state = _State({x: problem["days"][x] for x in ("crh", "crv")}, problem["evaluable"],
                   problem["regimen"], problem["names"], problem["last"], problem["kinetics"])
    arms = [_arm(state, "crv", r, np.full(n, 48.0), np.full(n, int(month_day(30))), cap=1)
            for r in (0, 1)]
    calls = []
    monkeypatch.setattr(kinetics_search, "_put_arms", lambda *a: calls.append(a) or False)
    pool = _Pooled(state, "crv", arms)
    stoppable = [j for j, o in enumerate(arms[0].stop_options) if o][:2]
    for j in stoppable:
        pool.make(0, ("stop", j, arms[0].stop_options[j][0]))
    assert arms[0].stopped == 2 > arms[0].cap
    tried: set[tuple] = set()
    assert pool.put(state, "crv", set(), 6, tried) is None and not calls and not tried
    pool.make(0, ("stop", stoppable[0], -1))
    assert pool.put(state, "crv", set(), 6, tried) is None and len(calls) == 1
    assert pool.put(state, "crv", set(), 6, tried) is None and len(calls) == 1


def test_count_moves_are_distinct_and_never_add_a_stop_beyond_the_cap():
    """``_count_moves``: one move per distinct change of a regimen's counts; at its cap no move
    adds a stop (moving or lifting one stays allowed)."""
    from poems_cohort.synth.kinetics_search import _arm, _count_moves, _State

    problem, _ = _interleaved_problem()
    n = len(problem["regimen"])
    state = _State({x: problem["days"][x] for x in ("crh", "crv")}, problem["evaluable"],
                   problem["regimen"], problem["names"], problem["last"], problem["kinetics"])
    arm = _arm(state, "crv", 0, np.full(n, 48.0), np.full(n, int(month_day(30))), cap=2)
    free = _count_moves(arm)
    assert any(m[0] == "stop" and m[2] >= 0 for m in free)
    effects = set()
    for kind, j, v in free:
        if kind == "bin":
            effect = (kind, arm.bins[j], v)
        else:
            effect = (kind, arm.stop[j], arm.natural[j], v)
        assert effect not in effects
        effects.add(effect)
    stoppable = [j for j, o in enumerate(arm.stop_options) if o][:2]
    for j in stoppable:
        arm.stop[j] = arm.stop_options[j][0]
    arm.stopped = 2
    full = _count_moves(arm)
    stops = [m for m in full if m[0] == "stop"]
    assert stops and all(m[2] < 0 or arm.stop[m[1]] >= 0 for m in stops)
    assert any(m[2] < 0 for m in stops) and any(m[2] >= 0 for m in stops)  # lift and move


def test_relaxed_counts_are_put_on_the_patients_class_by_class():
    """``_apply_counts``: after rounding, every class of every regimen holds the whole counts
    per bin (responders) and per stop month or none (non-responders), and a patient whose bin
    keeps a count keeps it."""
    from collections import Counter

    from poems_cohort.synth.kinetics_search import _apply_counts, _arm, _State
    from poems_cohort.synth.pooled_relax import build_count_model, random_start, round_counts

    problem, _ = _interleaved_problem()
    n = len(problem["regimen"])
    state = _State({x: problem["days"][x] for x in ("crh", "crv")}, problem["evaluable"],
                   problem["regimen"], problem["names"], problem["last"], problem["kinetics"])
    limit_month = np.full(n, 48.0)
    beyond = np.full(n, int(month_day(30)))
    rng = np.random.default_rng(5)
    for _ in range(10):
        arms = [_arm(state, "crv", r, limit_month, beyond, cap=13) for r in (0, 1)]
        before = [(list(a.bins), list(a.stop)) for a in arms]
        model = build_count_model(arms, BINS)
        whole = round_counts(model, random_start(model, rng))
        _apply_counts(arms, model, whole)
        for ids, (a, kind, what) in zip(model.classes, model.keys, strict=True):
            arm = arms[a]
            if kind == "responders":
                members = [j for j, o in enumerate(arm.options) if tuple(o) == what]
                now, then = arm.bins, before[a][0]
                want = {int(model.bin[v]): int(whole[v]) for v in ids}
            else:
                members = [j for j, (nat, o) in enumerate(zip(arm.natural, arm.stop_options,
                                                              strict=True))
                           if (nat, tuple(o)) == what]
                now, then = arm.stop, before[a][1]
                want = {int(model.bin[v]): int(whole[v]) for v in ids[:-1]}
                want[-1] = int(whole[ids[-1]])
            got = Counter(now[j] for j in members)
            assert {b: c for b, c in got.items() if c} == {b: c for b, c in want.items() if c}
            could_keep = sum(min(c, want.get(b, 0))
                             for b, c in Counter(then[j] for j in members).items())
            assert sum(now[j] == then[j] for j in members) == could_keep
        for a in arms:
            assert a.stopped == sum(m >= 0 for m in a.stop)


def _count_window(rate: float, n: int) -> tuple[float, float]:
    """The values of n × (1 − KM) at which 1 − KM prints as ``rate`` percent of ``n``."""
    lo, hi = rate - 0.05 + 0.002, rate + 0.05 - 0.002
    return lo * n / 100, hi * n / 100


def test_pooled_crv_six_month_rate_needs_the_pooled_curve_three_patients_below_its_regimens():
    """Scope: the published 6-month CRV rates (21.4 pooled; 7.2, 23.8, 29.7 per regimen) and
    the solved CRV-evaluable counts (52, 136, 88; the unique solution), any layout of
    responses and censorings. Not a proof that 21.4 is out of reach: what it asks of a layout.

    1 − KM at a landmark is at least the responses by then over the evaluable (equal without
    censoring before them), so each printed rate bounds the responses by 6 months: 59 of 276
    pooled, 3 + 32 + 26 = 61 for the regimens. n × (1 − KM) is the responses plus an excess
    that only censoring creates; the regimens' rates hold at least 62.1 "patients" and the
    pooled at most 59.2, so the pooled curve must lie 2.9 patients (1.05 points) below the
    size-weighted mean of its regimens' curves. Without censoring before 6 months the two are
    equal; below needs each regimen's early censorings to come before its own responses and
    after the others' (its own future responses a larger share of its patients at risk than of
    all), as the hand case at the end shows."""
    targets = default_targets()
    sizes = {t.regimen: sum(c.of for (x, _), c in t.responses.items() if x == "crv")
             for t in targets.regimens}
    assert sizes == {"MDex": 52, "ASCT": 136, "LDex": 88}
    rates = {t.regimen: t.crv_kinetics.rate_6 for t in targets.regimens}
    pooled_lo, pooled_hi = _count_window(targets.crv_kinetics.rate_6, sum(sizes.values()))
    # the most responses by 6 months whose plain proportion does not exceed the printed rate
    most = {r: max(k for k in range(n + 1) if 100 * k / n < rates[r] + 0.05 - 0.002)
            for r, n in sizes.items()}
    assert most == {"MDex": 3, "ASCT": 32, "LDex": 26}
    assert max(k for k in range(277) if k < pooled_hi) == 59
    regimens_lo = sum(_count_window(rates[r], n)[0] for r, n in sizes.items())
    assert regimens_lo == pytest.approx(62.116, abs=0.001)
    assert pooled_hi == pytest.approx(59.196, abs=0.001)
    # the gap the layout must open, in patients and in points of the pooled rate
    assert regimens_lo - pooled_hi > 2.9
    assert 100 * regimens_lo / 276 - targets.crv_kinetics.rate_6 > 1.05
    # the pooled CRH rate at 12 months asks the same of its layout, 2.2 patients
    crh = {t.regimen: sum(c.of for (x, _), c in t.responses.items() if x == "crh")
           for t in targets.regimens}
    crh_lo = sum(_count_window(t.crh_kinetics.rate_12, crh[t.regimen])[0]
                 for t in targets.regimens)
    crh_hi = _count_window(targets.crh_kinetics.rate_12, sum(crh.values()))[1]
    assert crh == {"MDex": 69, "ASCT": 155, "LDex": 99}
    assert crh_lo - crh_hi == pytest.approx(2.213, abs=0.001)
    # MDex: 3 responses by 6 months print 7.2% of 52 only with censorings before them, at
    # least 11 (a before the first response, b before the second, c before the third), 14 when
    # the first response comes first (the published shortest time, 1 month, is the first visit)
    def mdex(a: int, b: int, c: int) -> float:
        n, s = 52 - a, 1.0
        for gap in (b, c, None):
            s *= (n - 1) / n
            n -= 1 + (gap or 0)
        return 100 * (1 - s)
    fewest = [min(a + b + c for a in range(first) for b in range(20) for c in range(20 - b)
                  if prints_as(mdex(a, b, c), rates["MDex"])) for first in (20, 1)]
    assert fewest == [11, 14]
    # the size-weighted mean of the regimens' printed rates, against the pooled
    mean = sum(rates[r] * n for r, n in sizes.items()) / sum(sizes.values())
    assert mean == pytest.approx(22.55, abs=0.005)
    # a regimen's censoring raises its own rate by its future responses over its patients at
    # risk and the pooled rate by all regimens' future responses over all at risk: a hand case
    # of two regimens where censoring one just before its own late responses puts the pooled
    # rate below the mean, and censoring it early, before the other's responses, above
    def pooled_against_mean(censor_month: int) -> float:
        # regimen A: 50 patients, 10 censored at censor_month, 5 responses at month 5;
        # regimen B: 50 patients, 10 responses at month 2
        t_a = np.array([month_day(censor_month)] * 10 + [month_day(5)] * 5 + [730] * 35)
        e_a = np.array([False] * 10 + [True] * 5 + [False] * 35)
        t_b = np.array([month_day(2)] * 10 + [730] * 40)
        e_b = np.array([True] * 10 + [False] * 40)
        f_a, f_b = (1 - km_at(t, e, H6) for t, e in ((t_a, e_a), (t_b, e_b)))
        f = 1 - km_at(np.concatenate([t_a, t_b]), np.concatenate([e_a, e_b]), H6)
        return 100 * (f - (f_a + f_b) / 2)
    # A: 5 responses of the 40 still at risk, 12.5 either way, B: 20; pooled 1 - 90/100 * 75/80 = 15.625 when A's
    # censorings follow B's responses, 1 - 80/90 * 75/80 = 16.67 when they precede them
    assert pooled_against_mean(4) == pytest.approx(15.625 - 16.25)
    assert pooled_against_mean(1) == pytest.approx(100 * 15 / 90 - 16.25)


def test_pooled_count_model_stops_after_any_monthly_visit_before_the_last_assessment():
    """In ``_construct_pooled`` a non-responder may stop after any monthly visit of the first
    year before its last assessment (months 4, 5, 7, ... too: responses are seen at every
    monthly visit), except in a month holding a response after the month's day (here the median
    carrier at 8.5 months: a stop at month 8 would come before it, which the counts per month
    cannot hold) and for the ``KEEP_BEYOND`` followed longest beyond the longest response."""
    from dataclasses import replace

    from poems_cohort.synth.kinetics_search import (
        KEEP_BEYOND,
        MONTH_DAYS,
        _arm,
        _propose,
        _put_arms,
        _State,
    )

    assert KEEP_BEYOND == 3
    day = month_day
    n = 10
    crv = np.full(n, -1, np.int64)
    crv[:5] = [int(day(1)), int(day(2)), int(day(8.5)), int(day(14)), int(day(30))]
    assert int(day(8.5)) not in MONTH_DAYS and time_bin(int(day(8.5))) == 8
    last = np.array([int(day(m)) for m in (60, 60, 60, 60, 60, 6, 48, 48, 40, 60)], np.int64)
    kin = Kinetics(median=8.5, minimum=1.0, maximum=30.0, rate_6=20.0, rate_12=30.0)
    none = Kinetics(median=1.0, minimum=1.0, maximum=1.0, rate_6=0.0, rate_12=0.0)
    state = _State({"crh": np.full(n, -1, np.int64), "crv": crv},
                   {"crh": np.zeros(n, bool), "crv": np.ones(n, bool)}, np.zeros(n, np.int64),
                   ["A"], last, {("crv", "A"): kin, ("crv", "All"): kin,
                                 ("crh", "A"): none, ("crh", "All"): none})
    # a stop on a monthly day is kept, one between monthly days (month 3.3) is lifted
    state.change("crv", {}, {8: int(day(3)), 5: 100})
    arm = _arm(state, "crv", 0, np.full(n, 60.0), np.full(n, int(day(30))), cap=3)
    options = dict(zip(arm.nonresponders, arm.stop_options, strict=True))
    assert options[5] == [1, 2, 3, 4, 5]                   # before its last visit at month 6
    assert options[8] == [1, 2, 3, 4, 5, 6, 7, 9, 10, 11]  # not month 8
    assert options[6] == options[7] == options[9] == []    # followed longest: stay assessed
    assert dict(zip(arm.nonresponders, arm.stop, strict=True)) == {5: -1, 6: -1, 7: -1, 8: 3,
                                                                    9: -1}
    assert arm.stopped == 1 and arm.cap == 3
    events, total = arm.counts()
    assert events[1] == events[2] == events[8] == 1 and events[BINS - 1] == 2
    assert total[3] == 1 and total[6] == 1 and total[BINS - 1] == 2 + 3

    # moves: a stop is never added beyond the cap, and a regimen without non-responders has no
    # stop move
    full = _arm(state, "crv", 0, np.full(n, 60.0), np.full(n, int(day(30))), cap=1)
    assert full.stopped == full.cap == 1
    grid = [(r1, r2) for r1 in np.linspace(0, 0.999, 40) for r2 in np.linspace(0, 0.999, 40)]
    moves = [_propose(full, 0.9, r1, r2) for r1, r2 in grid]
    stops = [m for m in moves if m is not None and m[0] == "stop"]
    assert stops and all(m[2] < 0 or full.stop[full.nonresponders.index(8)] >= 0
                          and m[1] == full.nonresponders.index(8) for m in stops)
    assert {m[2] for m in stops if m[1] == full.nonresponders.index(8)} >= {-1, 1, 11}
    for move in (_propose(arm, 0.9, r1, r2) for r1, r2 in grid):
        assert move is None or move[2] in [-1, *arm.stop_options[move[1]]]
    everyone = replace(arm, nonresponders=[], natural=[], stop_options=[], stop=[], stopped=0)
    assert all(_propose(everyone, 0.9, r1, r2) is None for r1, r2 in grid)

    # a layout of counts put on the patients: each stop on its month's visit day, and the
    # patients' curve is the one the counts give
    arm.stop[arm.nonresponders.index(5)] = 4
    arm.stop[arm.nonresponders.index(8)] = 7
    arm.stopped = 2
    r6, r12 = binned_rates(*arm.counts())
    aimed = Kinetics(median=8.5, minimum=1.0, maximum=30.0, rate_6=round(r6, 1),
                     rate_12=round(r12, 1))
    state.kinetics = {**state.kinetics, ("crv", "A"): aimed, ("crv", "All"): aimed}
    assert _put_arms(state, "crv", [arm], set(), 6)
    assert state.stop["crv"][5] == MONTH_DAYS[3] and state.stop["crv"][8] == MONTH_DAYS[6]
    assert (state.stop["crv"][[0, 1, 2, 3, 4, 6, 7, 9]] == -1).all()
    assert state.rates["crv", 0] == pytest.approx((r6, r12), abs=1e-12)
    t = np.where(crv >= 0, crv, np.where(state.stop["crv"] >= 0, state.stop["crv"], last))
    assert r6 == pytest.approx(100 * (1 - km_at(t, crv >= 0, H6)), abs=1e-9)
    assert r12 == pytest.approx(100 * (1 - km_at(t, crv >= 0, H12)), abs=1e-9)


def test_a_stop_after_an_unscheduled_month_makes_that_visit_complete_and_the_last():
    """The visits step makes the visit a response's assessments stop after when the schedule has
    none that day (month 4): complete for that response, nothing of it measured after, so the
    analysis censors the patient there, as the kinetics layout counted."""
    import pandas as pd

    from poems_cohort.synth.visits import SCHEDULE_MONTHS, _measurements

    assert 4 not in SCHEDULE_MONTHS
    start = pd.Timestamp("2012-03-01")
    frame = pd.DataFrame({
        "treatment_start": [start, start], "progression_date": [pd.NaT, pd.NaT],
        "crh_ev": [1, 1], "crv_ev": [1, 1], "rn_ev": [0, 0],
        "serum_ife": ["positive", "positive"], "urine_ife": ["positive", "negative"],
        "flc_kappa_mg_l": [12.0, 15.0], "flc_lambda_mg_l": [80.0, 95.0],
        "vegf_pg_ml": [3200.0, 2500.0], "onls": [3, 2],
    })
    four = int(month_day(4))
    resp = {x: np.full(2, -1, np.int64) for x in ("crh", "crv", "rn")}
    stop = {"crh": np.array([four, -1]), "crv": np.array([-1, four])}
    follow = np.array([800, 800])
    visits = _measurements(frame, resp, stop, follow, np.random.default_rng(1))
    visits["day"] = (visits["visit_date"] - start).dt.days
    for row, measured in ((0, ["serum_ife", "urine_ife", "flc_kappa_mg_l", "flc_lambda_mg_l"]),
                          (1, ["vegf_pg_ml"])):
        mine = visits[visits["row"] == row].set_index("day")
        assert four in mine.index                                  # the unscheduled visit
        assert mine.loc[four, measured].notna().all()              # complete
        assert mine.loc[mine.index > four, measured].isna().all().all()  # nothing after
        assert list(mine.index[mine.index > four]) == [int(month_day(m))
                                                       for m in (6, 9, 12, 18, 24)]
    # without the stops the schedule has no visit at month 4
    none = {x: np.full(2, -1, np.int64) for x in ("crh", "crv")}
    plain = _measurements(frame, resp, none, follow, np.random.default_rng(1))
    assert four not in set((plain["visit_date"] - start).dt.days)


def test_responses_moved_beyond_the_first_year_are_spread_not_heaped():
    """A response a layout moves beyond the first year takes, in turn, the months from the first
    its side of the median allows (13 at least) over ``LATE_SPREAD`` months, within its limit:
    the responders of a regimen that may move there get consecutive months, not one day."""
    from poems_cohort.synth.kinetics_search import LATE_SPREAD, _arm, _late_month, _State

    assert LATE_SPREAD == 12
    assert [_late_month(8.0, 140.0, r) for r in range(14)] == [*range(13, 25), 13, 14]
    assert [_late_month(14.2, 16.0, r) for r in range(4)] == [15, 16, 15, 16]
    assert _late_month(20.0, 18.0, 0) == float("inf")
    day = month_day
    n = 13
    crv = np.full(n, -1, np.int64)
    # median 8 (the 7th of 13), minimum 1, maximum 40: five movable above the median
    months = [1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 11, 12, 40]
    crv[:] = [int(day(m)) for m in months]
    kin = Kinetics(median=8.0, minimum=1.0, maximum=40.0, rate_6=40.0, rate_12=90.0)
    none = Kinetics(median=1.0, minimum=1.0, maximum=1.0, rate_6=0.0, rate_12=0.0)
    state = _State({"crh": np.full(n, -1, np.int64), "crv": crv},
                   {"crh": np.zeros(n, bool), "crv": np.ones(n, bool)}, np.zeros(n, np.int64),
                   ["A"], np.full(n, int(day(60)), np.int64),
                   {("crv", "A"): kin, ("crv", "All"): kin, ("crh", "A"): none,
                    ("crh", "All"): none})
    limit = np.full(n, 60.0)
    limit[10] = 14.0  # this one can respond up to month 14 only
    arm = _arm(state, "crv", 0, limit, np.full(n, int(day(40))), cap=0)
    upper = [i for i in arm.movable if i > 6]
    assert upper == [7, 8, 9, 10, 11]
    assert [arm.late_day[i] for i in upper] == [int(day(m)) for m in (13, 14, 15, 14, 17)]
