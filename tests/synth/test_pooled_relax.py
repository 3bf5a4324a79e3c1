"""The continuous relaxation of the pooled count model (``synth.pooled_relax``)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

from poems_cohort.synth.kinetics_search import BINS, binned_rates
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


@dataclass
class FakeArm:
    """What the model reads of a regimen (the fields of ``kinetics_search._Arm``)."""

    fixed_events: list[int]
    options: list[list[int]]
    natural: list[int]
    stop_options: list[list[int]]
    cap: int
    bins: list[int] = field(default_factory=list)
    stop: list[int] = field(default_factory=list)

    def counts(self) -> tuple[list[int], list[int]]:
        events = list(self.fixed_events)
        for b in self.bins:
            events[b] += 1
        total = list(events)
        for natural, month in zip(self.natural, self.stop, strict=True):
            total[month if month >= 0 else natural] += 1
        return events, total


def _arm(seed: int) -> FakeArm:
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
    return FakeArm(fixed, options, natural, stop_options, 13, bins, stop)


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
    model = build_count_model([_arm(1), _arm(2)], BINS)
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
