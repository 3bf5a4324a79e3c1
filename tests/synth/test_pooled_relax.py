"""The continuous relaxation of the pooled count model (``synth.pooled_relax``)."""

from __future__ import annotations

import numpy as np
import pytest

from poems_cohort.synth.kinetics_search import BINS, _Arm, binned_rates
from poems_cohort.synth.pooled_relax import (
    HOLD,
    _onto_class,
    build_count_model,
    landmark_rates,
    median_limits,
    random_start,
    relax,
    round_counts,
)


def arm_of(fixed_events: list[int], options: list[list[int]], natural: list[int],
           stop_options: list[list[int]], cap: int, bins: list[int], stop: list[int]) -> _Arm:
    """A regimen of the count model (``kinetics_search._Arm``) from the fields the relaxation
    reads; the patients are numbered in order."""
    return _Arm(regimen=0, fixed_events=fixed_events, movable=list(range(len(options))),
                options=options, bins=bins, nonresponders=list(range(len(natural))),
                natural=natural, stop_options=stop_options, stop=stop,
                stopped=sum(m >= 0 for m in stop), cap=cap, late_days=[], late_day={})


def _arm(seed: int) -> _Arm:
    """A regimen of 40: 2 fixed responses (months 1 and 14), 12 responders in two classes of
    months, 26 non-responders in two classes (followed beyond the year, or to month 9)."""
    fixed = [0] * BINS
    fixed[1] += 1
    fixed[BINS - 1] += 1
    options = [[1, 2, 3, 4]] * 6 + [[4, 5, 6, 7, 8, 9, 10, 11, 12, 13]] * 6
    rng = np.random.default_rng(seed)
    bins = [int(rng.choice(o)) for o in options]
    natural = [BINS - 1] * 20 + [9] * 6
    stop_options = [list(range(1, 12))] * 20 + [list(range(1, 9))] * 6
    stop = [-1] * 26
    return arm_of(fixed, options, natural, stop_options, 13, bins, stop)


def test_landmark_rates_are_the_binned_rates_and_their_derivatives():
    """The rates are ``binned_rates``; the derivatives give the change of a rate when patients
    move from one bin to another (a response, or a censoring; the number of patients stays),
    against central differences."""
    rng = np.random.default_rng(1)
    h = 1e-6
    for _ in range(20):
        events = rng.integers(0, 5, BINS).astype(float)
        censored = rng.integers(0, 5, BINS).astype(float)
        events[0] = 0
        got = landmark_rates(events, censored)
        want = binned_rates(events.astype(int).tolist(), (events + censored).astype(int).tolist())
        assert [g[0] for g in got] == pytest.approx(want, rel=1e-13)
        for which in (1, 2):  # moves of responses, of censorings
            for j, k in rng.integers(0, BINS, (10, 2)).tolist():
                counts = [events, censored]
                up = [c.copy() for c in counts]
                down = [c.copy() for c in counts]
                up[which - 1][k] += h
                up[which - 1][j] -= h
                down[which - 1][k] -= h
                down[which - 1][j] += h
                numeric = [(u[0] - d[0]) / (2 * h)
                           for u, d in zip(landmark_rates(*up), landmark_rates(*down),
                                           strict=True)]
                analytic = [g[which][k] - g[which][j] for g in got]
                assert analytic == pytest.approx(numeric, rel=1e-5, abs=1e-6)


def test_projection_onto_a_class():
    rng = np.random.default_rng(2)
    for _ in range(50):
        v = rng.normal(0, 3, rng.integers(1, 8))
        total = float(rng.integers(0, 10))
        x = _onto_class(v, total) if total > 0 else np.zeros_like(v)
        assert (x >= 0).all() and x.sum() == pytest.approx(total)
        if total > 0:
            # a point of the class is its own projection, and no point of the class is nearer
            assert _onto_class(x, total) == pytest.approx(x)
            for _ in range(20):
                y = rng.dirichlet(np.ones(len(v))) * total
                assert np.sum((v - x) ** 2) <= np.sum((v - y) ** 2) + 1e-9


def test_model_groups_patients_by_what_they_may_take_and_keeps_frozen_regimens():
    arms = [_arm(1), _arm(2)]
    model = build_count_model(arms, BINS)
    # per regimen: two responder classes of 6 and two non-responder classes of 20 and 6
    assert sorted(model.totals) == sorted([6, 6, 20, 6] * 2)
    for ids, key in zip(model.classes, model.keys, strict=True):
        a, kind, what = key
        assert (model.arm[ids] == a).all()
        if kind == "responders":
            assert (model.kind[ids] == 0).all() and model.bin[ids].tolist() == list(what)
        else:
            natural, months = what
            assert (model.kind[ids] == 1).all()
            assert model.bin[ids].tolist() == [*months, natural]
    assert [len(s) for s in model.stops] == [11 + 8] * 2  # a variable per class and month
    assert model.caps == (13, 13)
    assert model.fixed_events[0].tolist() == arms[0].fixed_events
    frozen = build_count_model(arms, BINS, frozenset({1}))
    assert (frozen.arm != 1).all() and len(frozen.stops[1]) == 0
    events, total = arms[1].counts()
    assert frozen.fixed_events[1].tolist() == events
    assert (frozen.fixed_events[1] + frozen.fixed_censored[1]).tolist() == total


def test_rounding_keeps_each_class_and_stays_within_one():
    """Caps not binding (see the next test for those that are)."""
    arms = [_arm(1), _arm(2)]
    for a in arms:
        a.cap = 1000
    model = build_count_model(arms, BINS)
    rng = np.random.default_rng(3)
    for _ in range(20):
        x = random_start(model, rng)
        whole = round_counts(model, x)
        for ids, total in zip(model.classes, model.totals, strict=True):
            assert whole[ids].sum() == total
        assert (np.abs(whole - x) < 1).all()
        assert (whole >= 0).all()


def test_median_limits_put_the_middle_responders_in_the_month():
    assert median_limits(152, 8) == (7, 75, 8, 77)   # the 76th and 77th of 152
    assert median_limits(151, 8) == (7, 75, 8, 76)   # the 76th of 151


def _pooled6(model, x) -> float:
    events = model.fixed_events.copy()
    censored = model.fixed_censored.copy()
    for v, (a, k, b) in enumerate(zip(model.arm, model.kind, model.bin, strict=True)):
        (events if k == 0 else censored)[a, b] += x[v]
    return landmark_rates(events.sum(0), censored.sum(0))[0][0]


def test_relaxation_moves_the_pooled_rate_holding_the_regimens_and_repeats_to_the_bit():
    """From the regimens' present counts, each regimen's rates held at their present values:
    the pooled 6-month rate moves the way asked (below, then above where it was), every held
    rate stays within ``HOLD``, the stops within the cap, the classes whole; the same start
    gives the same counts to the last bit."""
    arms = [_arm(1), _arm(2)]
    model = build_count_model(arms, BINS)
    wants = [binned_rates(*a.counts()) for a in arms]
    x0 = random_start(model, np.random.default_rng(4))
    events, total = (np.sum(c, axis=0) for c in zip(*(a.counts() for a in arms), strict=True))
    present = binned_rates(events.tolist(), total.tolist())[0]
    results = {}
    for direction in (-1.0, 1.0):
        r = relax(model, wants, 6, direction, [], (BINS - 1, 1000, 0, 0), x0, iterations=1500)
        results[direction] = r
        assert r.violation < 1e-4
        assert r.rate == pytest.approx(_pooled6(model, r.x))
        events = model.fixed_events.copy()
        censored = model.fixed_censored.copy()
        for v, (a, k, b) in enumerate(zip(model.arm, model.kind, model.bin, strict=True)):
            (events if k == 0 else censored)[a, b] += r.x[v]
        for a, want in enumerate(wants):
            got = [g[0] for g in landmark_rates(events[a], censored[a])]
            assert got == pytest.approx(want, abs=HOLD + 0.01)
        for a, ids in enumerate(model.stops):
            assert r.x[ids].sum() <= model.caps[a] + 0.01
        for ids, total in zip(model.classes, model.totals, strict=True):
            assert r.x[ids].sum() == pytest.approx(total)
    # the present layout holds the same rates: the relaxation goes below and above it
    assert results[-1.0].rate < present < results[1.0].rate
    again = relax(model, wants, 6, -1.0, [], (BINS - 1, 1000, 0, 0), x0, iterations=1500)
    assert again.x.tobytes() == results[-1.0].x.tobytes()


def test_rounding_by_hand_and_within_the_caps():
    """Largest remainders, ties to the first variable; then a regimen whose stops exceed its
    cap gives back those rounded up the most, to the class's "no stop" variable."""
    arm = arm_of([0] * BINS, [[1, 2, 3]] * 3, [BINS - 1] * 4, [[1, 2]] * 4, 2, [1, 1, 1],
                 [-1] * 4)
    model = build_count_model([arm], BINS)
    responders, stops = model.classes
    assert model.keys[1] == (0, "non-responders", (BINS - 1, (1, 2)))
    x = np.zeros(len(model.arm))
    x[responders] = [0.6, 1.7, 0.7]      # floors 0, 1, 0: the two largest remainders (0.7, 0.7)
    x[stops] = [1.4, 1.3, 1.3]           # 1.4 + 1.3 stops, 1.3 assessed to the end: cap 2
    whole = round_counts(model, x)
    assert whole[responders].tolist() == [0, 2, 1]
    # per class: floors 1, 1, 1 and one more for the first largest remainder (0.4): 2, 1, 1, so
    # 3 stops for a cap of 2; the stop rounded up the most (month 1, 2 for 1.4) gives one back
    assert whole[stops].tolist() == [1, 1, 2]
    assert whole[model.stops[0]].sum() == 2
    rng = np.random.default_rng(6)
    tight = build_count_model([_arm(1), _arm(2)], BINS)
    for _ in range(50):
        got = round_counts(tight, random_start(tight, rng) * 1.0)
        for a, ids in enumerate(tight.stops):
            assert got[ids].sum() <= tight.caps[a]
        for ids, total in zip(tight.classes, tight.totals, strict=True):
            assert got[ids].sum() == total and (got[ids] >= 0).all()


def test_landmark_rates_of_empty_and_exhausted_bins_are_finite():
    """A regimen whose patients are all gone before the landmark (empty bins), or one whose every
    patient at risk responds (S reaches 0): the rates are binned_rates', every derivative
    finite, and a relaxation with such a regimen stays finite."""
    fixed = [0] * BINS
    fixed[1] = fixed[2] = fixed[3] = 1
    gone = arm_of(fixed, [], [4] * 7, [[1, 2, 3]] * 7, 3, [], [-1] * 7)
    events, total = gone.counts()
    e = np.array(events, float)
    c = np.array(total, float) - e
    got = landmark_rates(e, c)
    assert [g[0] for g in got] == pytest.approx(binned_rates(events, total), rel=1e-13)
    assert all(np.isfinite(g[1]).all() and np.isfinite(g[2]).all() for g in got)
    every = np.zeros(BINS)
    every[2] = 5.0
    got = landmark_rates(every, np.zeros(BINS))
    assert [g[0] for g in got] == pytest.approx([100.0, 100.0])
    assert all(np.isfinite(g[1]).all() and np.isfinite(g[2]).all() for g in got)
    arms = [_arm(1), gone]
    model = build_count_model(arms, BINS)
    wants = [binned_rates(*a.counts()) for a in arms]
    r = relax(model, wants, 6, -1.0, [], (BINS - 1, 1000, 0, 0),
              random_start(model, np.random.default_rng(0)), iterations=300)
    assert np.isfinite(r.x).all() and np.isfinite(r.violation) and np.isfinite(r.rate)


def test_relaxation_holds_the_pooled_median_in_its_month():
    """With the median held (``median_limits``), the responses counted up to the month before
    stay at most the lower middle and those up to the month at least the upper middle plus one,
    even where the unheld relaxation puts them elsewhere."""
    arms = [_arm(1), _arm(2)]
    model = build_count_model(arms, BINS)
    wants = [binned_rates(*a.counts()) for a in arms]
    responders = sum(sum(a.counts()[0]) for a in arms)
    x0 = random_start(model, np.random.default_rng(7))

    def cumulative(x: np.ndarray) -> np.ndarray:
        events = model.fixed_events.sum(0).copy()
        for v in np.flatnonzero(model.kind == 0):
            events[model.bin[v]] += x[v]
        return np.cumsum(events)

    # 28 responders: the 14th and 15th must respond in month 4 (the only month the two classes
    # of movable responders, months 1-4 and 4-13, allow)
    assert responders == 28 and median_limits(responders, 4) == (3, 13, 4, 15)
    limits = median_limits(responders, 4)
    held = relax(model, wants, 6, -1.0, [], limits, x0, iterations=1500)
    c = cumulative(held.x)
    assert held.violation < 1e-3
    assert c[limits[0]] <= limits[1] + 0.05 and c[limits[2]] >= limits[3] - 0.05
    free = relax(model, wants, 6, -1.0, [], (BINS - 1, responders, 0, 0), x0, iterations=1500)
    c = cumulative(free.x)
    assert not (c[limits[0]] <= limits[1] + 0.05 and c[limits[2]] >= limits[3] - 0.05)
