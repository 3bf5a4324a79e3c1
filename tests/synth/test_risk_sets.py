"""A missed subgroup p aimed at through its risk sets: the count kernel against the study's
log-rank test, the enumeration against brute force, and plans that print what they promise
while every 3-year rate and median stays."""

from __future__ import annotations

import math
from itertools import product

import numpy as np
import pytest

from poems_cohort import stats
from poems_cohort.synth import risk_sets
from poems_cohort.synth.km import DAYS_PER_MONTH, HORIZON_DAYS
from poems_cohort.synth.risk_sets import (
    _column_states,
    aim_risk_sets,
    lay_out,
    plan_risk_sets,
    two_regimen_p,
)
from poems_cohort.synth.survival_search import (
    Aim,
    Frame,
    Layout,
    SearchResult,
    _State,
    km_horizon,
    pfs_of,
)


def _counts(time, event, group, rows):
    n = np.array([[np.count_nonzero((group == g) & (time >= x)) for x in rows] for g in (0, 1)],
                 float)
    d = np.array([[np.count_nonzero((group == g) & event & (time == x)) for x in rows]
                  for g in (0, 1)], float)
    return n, d


@pytest.mark.parametrize("seed", range(6))
def test_two_regimen_p_from_counts_equals_the_study_test(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(8, 60))
    time = rng.integers(0, 30, size=n)  # few days: ties, events at day 0
    event = rng.random(n) < 0.5
    group = rng.integers(0, 2, size=n)
    group[:2] = [0, 1]
    event[:2] = True
    rows = np.unique(time[event])
    (n0, n1), (d0, d1) = _counts(time, event, group, rows)
    expected = stats.logrank_test(time, event, group).p_value
    assert two_regimen_p(n0, n1, d0, d1) == pytest.approx(expected, rel=1e-12)
    # the direction: group 0 has more events than expected, or fewer
    more = (d0 - (d0 + d1) * n0 / (n0 + n1)).sum() > 0
    assert two_regimen_p(n0, n1, d0, d1, 1 if more else -1) == pytest.approx(expected, rel=1e-12)
    assert two_regimen_p(n0, n1, d0, d1, -1 if more else 1) == pytest.approx(2.0 - expected,
                                                                             rel=1e-12)


def test_two_regimen_p_over_many_count_sets_at_once_and_nan_without_variance():
    rng = np.random.default_rng(3)
    n1 = rng.integers(1, 20, size=(4, 5, 6)).astype(float)
    n2 = rng.integers(1, 20, size=(4, 5, 6)).astype(float)
    d1 = np.minimum(n1[0, 0], rng.integers(0, 2, size=6))
    d2 = np.minimum(n2[0, 0], rng.integers(0, 2, size=6))
    d1[0] = 1
    many = two_regimen_p(n1, n2, d1, d2)
    assert many.shape == (4, 5)
    assert many[2, 3] == two_regimen_p(n1[2, 3], n2[2, 3], d1, d2)
    # one patient at risk at the only event: no variance, no test
    assert math.isnan(float(two_regimen_p(np.array([1.0]), np.array([0.0]), np.array([1.0]),
                                          np.array([0.0]))))


@pytest.mark.parametrize("decimals,within", [(3, None), (1, None), (1, (84.2, 85.3))])
def test_aim_prints_is_cost_zero_element_wise(decimals, within):
    aim = Aim("x", "p" if decimals == 3 else "rate", "os", (0, 1), "low",
              0.826 if decimals == 3 else 85.0, decimals, within)
    centre = aim.printed
    unit = 10.0 ** -decimals
    values = np.r_[centre + np.linspace(-3 * unit, 3 * unit, 601), np.nan,
                   centre + 0.48 * unit, centre - 0.48 * unit, centre + 0.4801 * unit]
    got = aim.prints(values)
    assert got.tolist() == [aim.cost(float(v)) == 0.0 for v in values]
    assert got.any() and not got.all()


def _apply(n0, moves):
    n = n0.copy()
    for m in moves:
        if m.target > m.source:
            n[m.source:m.target] += 1
        else:
            n[m.target:m.source] -= 1
    return n


def test_column_states_are_every_reachable_vector_with_its_fewest_moves():
    # four event times (five gaps); movable patients in gaps 1, 1, 3, 4 with their reaches
    patients = [(1, 0, 2), (1, 1, 3), (3, 2, 4), (4, 3, 4)]
    fixed_at_risk = np.array([9.0, 7.0, 6.0, 3.0])  # the others: deaths and unmovable
    n0 = fixed_at_risk + np.array([sum(1 for a, _, _ in patients if a > k) for k in range(4)])
    classes: dict[tuple[int, int, int], int] = {}
    for p in patients:
        classes[p] = classes.get(p, 0) + 1
    for cap in (1, 2, 4):
        states = _column_states(n0, classes, 0, cap)
        got = {n.tobytes(): len(moves) for n, moves in states}
        assert len(got) == len(states)  # each vector once
        for n, moves in states:  # each as its moves give it, within the reaches
            assert (_apply(n0, moves) == n).all()
            for (a, lo, hi), size in classes.items():
                used = [m for m in moves if (m.source, *m.reach) == (a, lo, hi)]
                assert len(used) <= size and all(lo <= m.target <= hi for m in used)
        # brute force: every placement of every patient within its reach
        best: dict[bytes, int] = {}
        for place in product(*[range(lo, hi + 1) for _, lo, hi in patients]):
            moved = sum(1 for b, (a, _, _) in zip(place, patients, strict=True) if b != a)
            if moved > cap:
                continue
            n = fixed_at_risk + np.array([sum(1 for b in place if b > k) for k in range(4)])
            key = n.tobytes()
            best[key] = min(best.get(key, moved), moved)
        assert got == best


def _problem(seed):
    """Three regimens (ASCT the second), OS only: censored low-risk patients spread
    between the deaths, the deaths of regimen 1 all after 3 years, so its patients move
    freely across the others' deaths."""
    rng = np.random.default_rng(seed)
    n_each = 60
    regimen = np.repeat([0, 1, 2], n_each)
    low = np.tile(np.arange(n_each) < 30, 3)
    follow = rng.integers(60, 3000, size=3 * n_each)
    died = np.zeros(3 * n_each, bool)
    for r in (0, 2):
        died[rng.choice(np.flatnonzero((regimen == r) & low), 6, replace=False)] = True
    late = np.flatnonzero((regimen == 1) & low & (follow > HORIZON_DAYS + 100))
    died[late[:3]] = True
    died[rng.choice(np.flatnonzero(~low), 20, replace=False)] = True
    prog = np.full(3 * n_each, -1)
    follow = follow + np.arange(3 * n_each) % 7  # few shared days
    # the longest-followed of each regimen alive beyond every death (the person-years go back
    # on them)
    for r in (0, 1, 2):
        last = np.flatnonzero((regimen == r) & ~low & ~died)[-2:]
        follow[last] = 4000 + 200 * r + 50 * np.arange(2)
    medians = {r: round(float(np.median(follow[regimen == r])) / DAYS_PER_MONTH)
               for r in (0, 1, 2)}
    medians = {r: m for r, m in medians.items()
               if abs(np.median(follow[regimen == r]) / DAYS_PER_MONTH - m) < 0.49}
    py = float(round(follow.sum() / DAYS_PER_MONTH / 12.0))
    frame = Frame(regimen, low, np.zeros(3 * n_each, bool), np.zeros(3 * n_each, bool), medians,
                  py if abs(follow.sum() / DAYS_PER_MONTH / 12.0 - py) < 0.49 else None, 1)
    return frame, Layout(follow, died, prog)


def _aims(frame, layout, printed):
    """The 3-year OS rates of every low-risk cell (as the layout prints them) and the two
    low-risk p-values against regimen 1 (``printed``)."""
    s = _State(frame, layout, (), realism=False)
    rates = []
    for r in (0, 1, 2):
        m = s.cells[(r, "low")]
        rates.append(Aim(f"os3y.{r}.low", "rate", "os", (r,), "low",
                         round(100 * km_horizon(layout.follow[m], layout.died[m]), 1), 1))
    return tuple(rates) + tuple(Aim(f"p.{r}", "p", "os", tuple(sorted((r, 1))), "low", p, 3)
                                for r, p in zip((0, 2), printed, strict=True))


def _p_values(frame, follow, died):
    out = []
    for r in (0, 2):
        m = frame.low & np.isin(frame.regimen, (r, 1))
        out.append(stats.logrank_test(follow[m], died[m], frame.regimen[m]).p_value)
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_plan_prints_what_it_promises_and_keeps_rates_and_medians(seed):
    frame, layout = _problem(seed)
    s0 = _State(frame, layout, (), realism=False)
    # the p-values three patients of regimen 1 away: where a plan must lead
    moved = layout.follow.copy()
    free = np.flatnonzero(s0.cells[(1, "low")] & ~layout.died)
    for i, shift in zip(free[:3], (-400, 500, 700), strict=True):
        moved[i] = min(max(60, moved[i] + shift), int(layout.follow[frame.regimen == 1].max()))
    target = [round(p, 3) for p in _p_values(frame, moved, layout.died)]
    aims = _aims(frame, layout, target)
    s = _State(frame, layout, aims, realism=False)
    plans = plan_risk_sets(s, "os", "low", max_moves=4)
    if all(a.cost(p) == 0 for a, p in zip(aims[3:], _p_values(frame, layout.follow,
                                                                layout.died), strict=True)):
        assert plans == []
        return
    assert plans, "a count set three patients away is within four moves"
    sizes = [len(p.moves) for p in plans]
    assert sizes == sorted(sizes) and sizes[0] <= 3
    laid = 0
    for plan in plans[:5]:
        assert all(a.prints(np.array(plan.after[a.key])) for a in aims[3:])
        assert repr(plan).startswith("RiskSetPlan(os, low:")
        f = lay_out(s, plan)
        if f is None:
            continue
        laid += 1
        # what the plan promised, by the study's own test
        got = _p_values(frame, f, layout.died)
        for a, p in zip(aims[3:], got, strict=True):
            assert p == pytest.approx(plan.after[a.key], rel=1e-9)
            assert a.cost(p) == 0
        after = _State(frame, Layout(f, layout.died, layout.prog), aims, realism=False)
        for j in range(3):  # every low-risk 3-year rate exactly as it was
            assert after.values[j] == pytest.approx(s.values[j], abs=1e-12)
        assert all(after.follow_ok(f, r) for r in (0, 1, 2))
        assert f.sum() == layout.follow.sum()  # the person-years given back
        assert (np.unique(f, return_counts=True)[1] <= 3).all() or (
            np.unique(layout.follow, return_counts=True)[1].max() > 3)
        # only censored patients moved, none across an event of its own cell up to 3 years
        # nor across its regimen's or the cohort's middle follow-up
        changed = np.flatnonzero(f != layout.follow)
        assert not layout.died[changed].any()
        for i in changed:
            cell = s.cells[(int(frame.regimen[i]), "low")] & layout.died
            own = layout.follow[cell & (layout.follow <= HORIZON_DAYS)]
            lo, hi = sorted((int(layout.follow[i]), int(f[i])))
            assert not ((own > lo) & (own <= hi)).any() or (
                # moved down onto the event's own day: still at risk there
                int(f[i]) in own and not ((own > lo) & (own < hi)).any())
            for days in (layout.follow[frame.regimen == frame.regimen[i]], layout.follow):
                med = np.median(days)
                assert (layout.follow[i] < med) == (f[i] < med)
    assert laid


def test_no_plan_without_a_shared_regimen_or_with_every_p_printing():
    frame, layout = _problem(0)
    printed = [round(p, 3) for p in _p_values(frame, layout.follow, layout.died)]
    aims = _aims(frame, layout, printed)
    assert plan_risk_sets(_State(frame, layout, aims, realism=False), "os", "low") == []
    # three pairs of three regimens: no regimen in every test
    apart = aims[:3] + tuple(Aim(f"p{pair}", "p", "os", pair, "low", 0.999, 3)
                             for pair in ((0, 1), (1, 2), (0, 2)))
    assert plan_risk_sets(_State(frame, layout, apart, realism=False), "os", "low") == []


def test_aim_risk_sets_keeps_a_better_layout_only_and_leaves_the_stream_alone(monkeypatch):
    frame, layout = _problem(1)
    moved = layout.follow.copy()
    free = np.flatnonzero((frame.regimen == 1) & frame.low & ~layout.died)
    moved[free[:2]] += 600
    target = [round(p, 3) for p in _p_values(frame, moved, layout.died)]
    aims = _aims(frame, layout, target)
    s = _State(frame, layout, aims, realism=True)
    missed = tuple(a.key for a, c in zip(aims, s.costs, strict=True) if c > 0)
    assert missed
    start = SearchResult(layout, s.total(), missed, 0)
    rng = np.random.default_rng(4)
    state = rng.bit_generator.state
    out = aim_risk_sets(frame, start, aims, rng, steps=300, attempts=2)
    assert rng.bit_generator.state == state
    assert out is start or len(out.missed) < len(start.missed)
    if out is not start:
        after = _State(frame, out.layout, aims, realism=True)
        assert sum(after.odd.values()) <= sum(s.odd.values()) + 1e-12
        assert all(after.follow_ok(out.layout.follow, r) for r in (0, 1, 2))
    # nothing missed in a subgroup: the same object back, and no plan made
    monkeypatch.setattr(risk_sets, "plan_risk_sets",
                        lambda *a, **k: pytest.fail("no plan is needed"))
    kept = SearchResult(layout, 0.0, ("os3y.0.low",), 0)
    assert aim_risk_sets(frame, kept, aims, rng) is kept


def test_one_search_per_subgroup_however_many_of_its_tests_are_missed(monkeypatch):
    frame, layout = _problem(2)
    aims = _aims(frame, layout, [0.999, 0.999])  # both low-risk tests far from printing
    s = _State(frame, layout, aims, realism=True)
    missed = tuple(a.key for a, c in zip(aims, s.costs, strict=True) if c > 0)
    assert {"p.0", "p.2"} <= set(missed)
    calls = []
    monkeypatch.setattr(risk_sets, "plan_risk_sets",
                        lambda s, ep, sg, *a, **k: calls.append((ep, sg)) or [])
    start = SearchResult(layout, s.total(), missed, 0)
    assert aim_risk_sets(frame, start, aims, np.random.default_rng(0)) is start
    assert calls == [("os", "low")]


def test_person_years_go_back_past_every_event_and_after_a_progression():
    # patient 3's progression (day 4380) is the last event: it stays 8 days after it
    follow = np.array([1000, 500, 800, 4400, 4450, 900, 600, 700, 1200, 300])
    died = np.array([1, 0, 0, 0, 0, 1, 0, 0, 0, 0], bool)
    prog = np.full(10, -1)
    prog[3] = 4380
    frame = Frame(np.repeat([0, 1], 5), np.ones(10, bool), np.zeros(10, bool),
                  np.zeros(10, bool), {}, None, 0)
    s = _State(frame, Layout(follow, died, prog), (), realism=False)
    f = s.f.copy()
    f[1] += 81  # a move lengthened patient 1's follow-up by 81 days
    assert risk_sets._give_back_person_years(s, f, dict(s.counts), 3)
    assert f.sum() == follow.sum()
    assert (f[4], f[3]) == (4381, 4388)  # the longest first, down to the last event + 1
    # one day more than the two can give: refused
    g = s.f.copy()
    g[1] += 82
    assert not risk_sets._give_back_person_years(s, g, dict(s.counts), 3)
    # and a crowded day is passed over
    h = s.f.copy()
    h[1] += 69
    crowded = dict(s.counts)
    crowded[4381] = 3
    assert risk_sets._give_back_person_years(s, h, crowded, 3)
    assert h[4] == 4382 and h[3] == 4399


def test_a_pfs_plan_prints_by_the_study_test():
    frame, layout = _problem(1)
    rng = np.random.default_rng(8)
    prog = layout.prog.copy()
    alive = np.flatnonzero(~layout.died)
    who = rng.choice(alive, 25, replace=False)
    prog[who] = np.maximum(30, layout.follow[who] // 2)
    layout = Layout(layout.follow, layout.died, prog)
    t, e = pfs_of(layout.follow, layout.died, prog)
    moved_t = t.copy()
    free = np.flatnonzero((frame.regimen == 1) & frame.low & ~e)
    moved_t[free[:2]] = moved_t[free[:2]] + 500

    def pfs_p(time):
        out = []
        for r in (0, 2):
            m = frame.low & np.isin(frame.regimen, (r, 1))
            out.append(stats.logrank_test(time[m], e[m], frame.regimen[m]).p_value)
        return out

    target = pfs_p(moved_t)
    aims = tuple(Aim(f"pfs.{r}", "p", "pfs", tuple(sorted((r, 1))), "low", round(p, 3), 3)
                 for r, p in zip((0, 2), target, strict=True))
    s = _State(frame, layout, aims, realism=False)
    if all(a.cost(p) == 0 for a, p in zip(aims, pfs_p(t), strict=True)):
        pytest.skip("the start prints already")
    plans = plan_risk_sets(s, "pfs", "low", max_moves=4)
    assert plans
    for plan in plans[:3]:
        f = lay_out(s, plan)
        if f is None:
            continue
        new_t, new_e = pfs_of(f, layout.died, prog)
        assert (new_e == e).all()
        for a, p in zip(aims, pfs_p(new_t), strict=True):
            assert p == pytest.approx(plan.after[a.key], rel=1e-9) and a.cost(p) == 0
        # the plan moved low-risk patients censored for PFS (alive, no progression); the
        # person-years went back beyond every event
        changed = np.flatnonzero(f != layout.follow)
        last = max(int(t[e].max()), int(layout.follow[layout.died].max()))
        planned = changed[layout.follow[changed] <= last]
        assert len(planned) == len(plan.moves)
        assert (prog[planned] < 0).all() and not layout.died[planned].any()
        assert frame.low[planned].all() and (f[np.setdiff1d(changed, planned)] > last).all()
        assert f.sum() == layout.follow.sum()
        return
    pytest.fail("no PFS plan could be laid out")
