"""The bound on a pooled Kaplan–Meier rate at two landmarks (synth.pooled_bound), and its proof
that the paper's pooled 6-month CRH 19.2 cannot print beside the regimens' rates and 26.1.

A proof is only as good as its soundness: besides the study's verdict these tests check each
step against brute force on small cases, and that the bound never excludes rates that a data
set actually has.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from poems_cohort import stats
from poems_cohort.synth import pooled_bound as pb
from poems_cohort.synth.pooled_bound import GroupRates, pooled_rate_bound, six_month_crh_bound


def _pct(x: float) -> str:
    return f"{100.0 * x:.1f}"


# ---- the facts the argument rests on


@pytest.mark.parametrize("others", [0, 1, 5, 40, 150, 400])
def test_pooled_share_of_an_event_grows_with_its_risk_set(others):
    # f(n + M) / f(n) increasing in n: what makes the largest risk sets the best use of a group's
    # early hazard (f(x) = sum x^-k / k is log-convex)
    n = np.arange(2, 600)
    ratio = pb._f(n + others) / pb._f(n)
    if others == 0:
        np.testing.assert_allclose(ratio, 1.0)
    else:
        assert np.all(np.diff(ratio) > 0)


def test_interval_of_a_printed_rate_is_closed_and_exact():
    lo, hi = pb._interval("19.2")
    assert (float(lo), float(hi)) == (19.15, 19.25)
    assert pb._interval("5")[1] - pb._interval("5")[0] == 1


def test_event_counts_follow_from_the_printed_rates():
    d = pb._derive(GroupRates("A", 155, 77, "13.8", "27.9"))
    # at most 21 events by 6 months: (155 - 21) / 155 = 86.45 % still prints 13.8 at the largest
    # risk sets, 22 would give 85.8; at least 11: with every non-responder gone, 77 at risk, 10
    # responses give 13.0
    assert (d.events_early_max, d.events_early_min, d.events_late_max) == (21, 11, 43)
    assert (155 - 21) / 155 >= 1 - 0.1385 > (155 - 22) / 155
    assert (77 - 10) / 77 > 1 - 0.1375 >= (77 - 11) / 77
    # one event between the landmarks adds -log(1 - 1/n): 6 at risk is the least that stays
    # within the 12-month rate
    assert pb._f(7) <= d.late_hazard_max < pb._f(6)
    assert d.smallest_late_risk == 7


# ---- each step against brute force


def _subsets_max(n_max: int, m: int, others: int, budget: float) -> float:
    items = range(m + 1, n_max + 1)
    best = 0.0
    for k in range(len(items) + 1):
        for chosen in itertools.combinations(items, k):
            own = sum(pb._f(n) for n in chosen)
            if own <= budget:
                best = max(best, sum(float(pb._f(n + others)) for n in chosen))
    return best


@pytest.mark.parametrize("early", ["10.0", "25.0", "40.0"])
def test_early_bound_is_never_below_the_best_subset(early):
    g = pb._derive(GroupRates("A", 10, 5, early, "60.0"))
    others = np.array([0, 3, 12])
    bounds = pb._early_bounds(g, others)
    for m in g.m_range:
        for j, o in enumerate(others):
            exact = _subsets_max(10, m, int(o), g.early_hazard_max)
            assert bounds[m][j] >= exact - 1e-12
            assert bounds[m][j] <= exact + float(pb._f(m + 1 + o))  # at most one item's share above


def _sequences_min(g: pb.GroupBounds, m: int, others: int, delta: float) -> float:
    """Least pooled hazard over every decreasing sequence of risk sets the late bound allows."""
    r = g.rates
    floor = max(r.responders_min - g.events_early_max, r.responders_min - r.at_risk_max + m)
    most = g.events_late_max - g.events_early_min
    need = math.ceil(g.late_hazard_min / delta - 1e-9)
    best = math.inf
    values = range(g.smallest_late_risk, m + 1)
    for k in range(1, most + 1):
        for chosen in itertools.combinations(sorted(values, reverse=True), k):
            if any(n < floor - c for c, n in enumerate(chosen)):
                continue
            if sum(math.ceil(float(pb._f(n)) / delta) for n in chosen) >= need:
                best = min(best, sum(float(pb._f(n + others)) for n in chosen))
    return best


@pytest.mark.parametrize(("responders", "early", "late"), [
    (8, "10.0", "30.0"), (4, "15.0", "50.0"), (6, "30.0", "60.0"), (11, "0.0", "15.0"),
    (11, "10.0", "30.0")])
def test_late_bound_is_the_least_over_every_sequence(responders, early, late):
    g = pb._derive(GroupRates("A", 14, responders, early, late))
    finite = 0
    for m in g.m_range:
        for others in (0, 4, 20):
            bound = pb._late_bound(g, m, others, 0.001)
            assert bound == pytest.approx(_sequences_min(g, m, others, 0.001), rel=1e-12, abs=0.0)
            finite += math.isfinite(bound)
    if (responders, early) == (11, "10.0"):
        # a group that cannot print its own 6-month rate: with 11 still to respond at risk one
        # response gives at most 1/11 = 9.1 %, two at least 1 - 9/11 = 18.2 %
        assert finite == 0
        assert g.events_early_min > g.events_early_max
    else:
        assert finite > 0


def test_late_bound_is_infinite_when_no_event_fits_below_the_risk_set():
    g = pb._derive(GroupRates("A", 69, 26, "5.9", "9.5"))
    # one event adds between 0.0379 and 0.0399 to MDex's hazard: only 26 at risk does that
    assert g.smallest_late_risk == 26
    assert pb._late_bound(g, 25, 100, pb.DELTA) == math.inf
    assert pb._late_bound(g, 26, 100, pb.DELTA) == pytest.approx(float(pb._f(126)))


# ---- the bound never excludes rates a data set has


def _cohort(rng: np.random.Generator) -> tuple[list[tuple[np.ndarray, np.ndarray]], list[int]]:
    groups, responders = [], []
    for _ in range(3):
        n = int(rng.integers(6, 30))
        respond = rng.random(n) < rng.uniform(0.2, 0.9)
        # responses from month 0 (events at time zero) on, many tied on whole months
        times = rng.integers(0, 20, n).astype(float)
        # non-responders: censored early in some groups, late in others, some exactly at 6 or 12
        early = rng.random(n) < rng.uniform(0.0, 0.9)
        cens = np.where(early, rng.integers(0, 8, n), rng.integers(6, 40, n)).astype(float)
        cens[rng.random(n) < 0.1] = 6.0
        cens[rng.random(n) < 0.1] = 12.0
        times = np.where(respond, times, cens)
        groups.append((times, respond))
        responders.append(int(respond.sum()))
    return groups, responders


def _rate(time: np.ndarray, event: np.ndarray, at: float) -> float:
    return 1.0 - float(stats.kaplan_meier(time, event)(at))


def test_the_bound_never_excludes_rates_a_data_set_has():
    rng = np.random.default_rng(20261206)
    tried = 0
    for _ in range(150):
        groups, responders = _cohort(rng)
        rates = [(_rate(t, e, 6), _rate(t, e, 12)) for t, e in groups]
        if any(late >= 0.9995 for _, late in rates):
            continue
        all_t = np.concatenate([t for t, _ in groups])
        all_e = np.concatenate([e for _, e in groups])
        spec = [GroupRates(f"g{i}", len(t), r, _pct(a), _pct(b))
                for i, ((t, _), r, (a, b)) in enumerate(zip(groups, responders, rates, strict=True))]
        bound = pooled_rate_bound(spec, _pct(_rate(all_t, all_e, 6)), _pct(_rate(all_t, all_e, 12)))
        assert not bound.excluded, (spec, bound)
        tried += 1
    assert tried > 100


def test_unequal_censoring_lifts_the_pooled_rate_and_the_bound_allows_it():
    # A: 5 of 10 respond at month 1, the other 5 leave at month 2; B: 8 of 10 leave at month 0.5,
    # 1 of the 2 left responds at month 3. Each group 50 % at 6 months, pooled 1 - 7/12 * 1/2:
    # 70.8 %, far above the size-weighted mean, because B's response comes when A has left
    a_t = np.array([1.0] * 5 + [2.0] * 5)
    a_e = np.array([True] * 5 + [False] * 5)
    b_t = np.array([0.5] * 8 + [3.0, 20.0])
    b_e = np.array([False] * 8 + [True, False])
    pooled_t, pooled_e = np.concatenate([a_t, b_t]), np.concatenate([a_e, b_e])
    assert _rate(a_t, a_e, 6) == 0.5 and _rate(b_t, b_e, 6) == 0.5
    assert _rate(pooled_t, pooled_e, 6) == pytest.approx(1 - 7 / 24)
    spec = [GroupRates("A", 10, 5, "50.0", "50.0"), GroupRates("B", 10, 1, "50.0", "50.0")]
    assert not pooled_rate_bound(spec, "70.8", "70.8").excluded
    assert pooled_rate_bound(spec, "80.0", None).excluded


def test_a_pooled_rate_above_what_the_groups_hold_is_excluded():
    spec = [GroupRates("A", 40, 20, "10.0", "20.0"), GroupRates("B", 40, 20, "10.0", "20.0")]
    # the early hazard of both groups together, -2 log 0.9 = 19 %, is more than any pooling gives
    assert pooled_rate_bound(spec, "25.0", None).excluded
    assert not pooled_rate_bound(spec, "10.0", "20.0").excluded  # two identical groups


def test_bad_groups_are_refused():
    with pytest.raises(ValueError, match="responders 12 must lie in 0..10"):
        GroupRates("A", 10, 12, "10.0", "20.0")
    with pytest.raises(ValueError, match="leaves no one"):
        GroupRates("A", 10, 5, "10.0", "100.0")
    with pytest.raises(ValueError, match="cannot fall, from 30.0% to 20.0%"):
        GroupRates("A", 10, 5, "30.0", "20.0")
    with pytest.raises(ValueError, match="A: a rate of 100.0% leaves no one"):  # was a math
        GroupRates("A", 10, 5, "100.0", "99.9")                           # domain error


def test_a_group_whose_rate_stays_has_no_room_for_a_later_event():
    # 0.0 at both landmarks: one event between them would add at least f(9) with 9 at risk
    g = pb._derive(GroupRates("B", 9, 2, "0.0", "0.0"))
    assert g.smallest_late_risk == 10
    assert pb._late_bound(g, 9, 5, pb.DELTA) == 0.0          # none is needed either


# ---- the study


@pytest.fixture(scope="module")
def bound_at_regimen_sizes():
    return six_month_crh_bound()


def test_pooled_six_month_crh_cannot_print_beside_the_regimens(bound_at_regimen_sizes):
    b = bound_at_regimen_sizes
    assert b.excluded
    assert b.layouts > 0                      # the 6-month rates alone would allow it ...
    layout, needed = b.closest                # ... the pooled 12-month 26.1 does not
    assert needed > b.late_allowed
    assert b.late_allowed == pytest.approx(math.log(1 - 0.1915) - math.log(1 - 0.2615))
    frame = b.to_frame()
    assert frame["group"].tolist() == ["ASCT", "MDex", "LDex"]
    assert frame["at_risk_max"].tolist() == [165, 79, 103]
    assert frame["responders_min"].tolist() == [77, 26, 47]
    assert "excluded" in repr(b)


def test_without_the_pooled_twelve_month_rate_nothing_is_excluded(bound_at_regimen_sizes):
    groups = bound_at_regimen_sizes.groups
    assert not pooled_rate_bound(groups, "19.2", None).excluded


def test_the_proof_holds_with_the_solved_evaluable_counts_too():
    b = six_month_crh_bound(at_risk="evaluable")
    assert b.excluded
    assert b.to_frame()["at_risk_max"].tolist() == [155, 69, 99]


def test_read_as_proportions_the_pooled_rate_is_the_size_weighted_mean():
    # a pooled proportion weighs the regimens' proportions by their evaluable patients: with the
    # solved 155 / 69 / 99 (or every patient, 165 / 79 / 103) it stays near 14.4, far from 19.2,
    # which would need about 880 LDex patients beside 165 ASCT and 79 MDex
    rates = {"ASCT": 13.8, "MDex": 5.9, "LDex": 21.4}
    for sizes in ({"ASCT": 155, "MDex": 69, "LDex": 99}, {"ASCT": 165, "MDex": 79, "LDex": 103}):
        total = sum(sizes.values())
        lo = sum((rates[r] - 0.05) * n for r, n in sizes.items()) / total
        hi = sum((rates[r] + 0.05) * n for r, n in sizes.items()) / total
        assert 14.1 < lo < hi < 14.6
    ldex = (19.2 * 244 - 13.8 * 165 - 5.9 * 79) / (21.4 - 19.2)
    assert 880 < ldex < 885
    # no count of the solved evaluable patients prints a regimen's 6-month rate as a
    # proportion: they are Kaplan-Meier rates (Figure 1b), as the bound reads them
    evaluable = {"ASCT": 155, "MDex": 69, "LDex": 99}
    assert not any(abs(100 * k / n - rates[r]) <= 0.05
                   for r, n in evaluable.items() for k in range(n + 1))


def test_a_data_set_meeting_the_bound_exactly_is_not_excluded():
    # found by an adversarial search: the pooled curve is exactly 69/80 and 299/400 (13.75 and
    # 25.25 %, both halves) and the late bound equals what 25.2 allows up to 1e-16; the slack
    # for floating-point error is what keeps it
    a_t = [0.0, 5.27, 6.0, 12.0, 12.0, 16.9, 18.3, 6.0, 6.0, 6.001, 12.53, 19.0, 19.0, 20.5, 21.3]
    a_e = [True] * 7 + [False] * 8
    b_t = [17.1, 22.2, 0.80, 3.0, 3.30, 12.001, 13.0, 20.0, 20.5]
    b_e = [True] * 2 + [False] * 7
    t = np.array(a_t + b_t)
    e = np.array(a_e + b_e)
    assert _rate(t, e, 6) == pytest.approx(11 / 80) and _rate(t, e, 12) == pytest.approx(101 / 400)
    spec = [GroupRates("A", 15, 7, _pct(_rate(np.array(a_t), np.array(a_e), 6)),
                       _pct(_rate(np.array(a_t), np.array(a_e), 12))),
            GroupRates("B", 9, 2, "0.0", "0.0")]
    assert [(g.early, g.late) for g in spec] == [("20.0", "37.8"), ("0.0", "0.0")]
    bound = pooled_rate_bound(spec, "13.8", "25.2")
    assert not bound.excluded
    assert bound.closest is not None
    layout, needed = bound.closest
    assert layout == (9, 6) and 0.0 <= needed - bound.late_allowed < 1e-12


def test_a_group_that_cannot_print_its_own_rate_excludes_everything():
    # 10 patients, all responders: the first response at 10 at risk gives 10.0 %, two 20.0 %
    spec = [GroupRates("A", 10, 10, "15.0", "30.0"), GroupRates("B", 10, 5, "10.0", "20.0")]
    bound = pooled_rate_bound(spec, "12.0", "25.0")
    assert bound.excluded and bound.layouts == 0


def test_bad_pooled_rates_are_refused():
    spec = [GroupRates("A", 10, 5, "10.0", "20.0")]
    with pytest.raises(ValueError, match="leaves no one"):
        pooled_rate_bound(spec, "10.0", "100.0")
    with pytest.raises(ValueError, match="cannot fall"):
        pooled_rate_bound(spec, "20.0", "10.0")
