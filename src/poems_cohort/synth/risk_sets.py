"""A missed log-rank p of a risk subgroup aimed at through its risk sets.

A log-rank test sees the layout only through its risk sets: at each event time of the
subgroup, how many patients of each regimen are at risk and how many have the event. A
censored patient moved across an event time of the subgroup changes one count by one. The
moves of :mod:`~poems_cohort.synth.survival_search` change one or two patients at a time, and
a p-value whose nearest printing risk sets lie several patients away, with the other tests of
the subgroup still printing, is out of their reach (docs/reproduction.md, "LDex against ASCT,
OS in low risk").

This step searches the risk sets themselves. The subgroup's censored patients lie in the
gaps between its event times; a move takes one of them to another gap. For each regimen every
vector of risk sets reachable by a few moves is enumerated, breadth first, with the fewest
moves giving it. The two-regimen tests of the subgroup share a regimen (Table 2 compares
each regimen with ASCT), so for each vector of the shared regimen the nearest vector of every
other regimen printing its test is found on its own; the count sets printing every test
(the missed one and its siblings) come out fewest moves first. A move keeps:

- its patient between the events up to 3 years of the patient's own regimen and subgroup:
  every 3-year rate of the subgroup stays (the pooled and the other endpoint's rates are
  checked when the set is laid out: a set losing any printed 3-year rate is not used);
- its patient on its side of the middle follow-up of its regimen and of the cohort: the
  medians stay;
- a progression before the last follow-up; no pinned or treatment-related patient moves.

A set is laid out patient by patient on the days of the target gaps nearest their own (at
most ``max_share`` patients to a day), and the person-years are given back on the
longest-followed patients free to move, beyond every event. The numbers the moved times also
enter (the other endpoint, the tests over all patients) are then restored by a phase holding
every printed number (:func:`~poems_cohort.synth.survival_search.run_phases`). An attempt is
kept only when it misses fewer numbers and does not make the curves odder.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain

import numpy as np
from scipy.special import erfc

from poems_cohort.synth.km import HORIZON_DAYS
from poems_cohort.synth.survival_search import (
    LATE_DEATH,
    REPAIR_MOVES,
    Aim,
    Frame,
    Layout,
    Phase,
    SearchResult,
    _State,
    endpoint_times,
    pfs_of,
    run_phases,
)

#: The most patients a count set may move (in practice the enumeration's cap below stops a
#: regimen with many movable patients and event times sooner: 2 or 3 moves of 20 patients
#: across 15 times), and how many of the count sets printing every p (fewest moves first) are
#: laid out and checked before giving up.
MAX_MOVES = 10
MAX_PLANS = 40
#: The most risk-set vectors enumerated for one regimen, and the most p-values computed at
#: once (count sets of the shared regimen by those of another, times event times).
MAX_COLUMN_STATES = 6000
CHUNK = 4_000_000
#: The holding phase after the layout: its moves (scaled like the other repairs) and attempts
#: (over the plans, each from its own child of the generator); the first attempt that misses
#: fewer numbers is kept.
HOLD_STEPS = 40000
HOLD_ATTEMPTS = 4
HOLD_MOVES = REPAIR_MOVES + (LATE_DEATH,)


@dataclass(frozen=True)
class Move:
    """A censored patient of regimen ``regimen`` moved from gap ``source`` to gap ``target``
    of the subgroup's event times (gap ``j`` holds the times from event time ``j - 1``,
    inclusive, up to event time ``j``), within the gaps ``reach`` it may take."""

    regimen: int
    source: int
    reach: tuple[int, int]
    target: int


@dataclass(frozen=True)
class RiskSetPlan:
    """A set of moves after which every two-regimen p of ``endpoint`` in ``subgroup`` prints:
    the moves, and the p-values before and after (by aim key)."""

    endpoint: str
    subgroup: str
    moves: tuple[Move, ...]
    before: dict[str, float]
    after: dict[str, float]

    def __repr__(self) -> str:
        shown = ", ".join(f"{k} {self.before[k]:.4f} -> {self.after[k]:.4f}" for k in self.after)
        return (f"RiskSetPlan({self.endpoint}, {self.subgroup}: {len(self.moves)} patients "
                f"moved; {shown})")


def two_regimen_p(n1: np.ndarray, n2: np.ndarray, d1: np.ndarray, d2: np.ndarray,
                  direction: int = 0) -> np.ndarray:
    """The two-sample log-rank p over the last axis, from the risk sets ``n1``, ``n2`` and
    events ``d1``, ``d2`` at each event time (R ``survdiff``, rho = 0), valued ``2 - p`` when
    the first sample's excess of events runs against ``direction`` (``Aim.direction``)."""
    nn, dd = n1 + n2, d1 + d2
    share = n1 / np.where(nn > 0, nn, 1.0)
    o_e = (d1 - dd * share).sum(axis=-1)
    w = np.where(nn > 1, dd * (nn - dd) / np.where(nn > 1, nn - 1, 1.0), 0.0)
    var = (w * share * (1.0 - share)).sum(axis=-1)
    chi = np.where(var > 0, o_e * o_e / np.where(var > 0, var, 1.0), np.nan)
    p = erfc(np.sqrt(chi / 2.0))
    return np.where(direction * o_e < 0, 2.0 - p, p)


def _middles(s: _State) -> dict[int, tuple[int, int]]:
    """The middle follow-up times (the two middle order statistics, equal for an odd count)
    of each regimen and (key ``-1``) of the cohort: the medians stay while no time crosses
    them."""
    out = {}
    for r, days in [(r, s.f[m]) for r, m in s.members.items()] + [(-1, s.f)]:
        srt = np.sort(days)
        out[r] = (int(srt[(len(srt) - 1) // 2]), int(srt[len(srt) // 2]))
    return out


def _allowed_days(s: _State, subgroup: str, times: np.ndarray, events: np.ndarray,
                  middles: dict[int, tuple[int, int]], i: int) -> tuple[int, int] | None:
    """The days patient ``i`` may be followed to (inclusive), or ``None`` when it may not
    move: between the events up to 3 years of its regimen in its subgroup on either side (its
    3-year rate stays), on its side of the ``middles`` of its regimen and of the cohort
    (:func:`_middles`: the medians stay), after its progression."""
    frame, f, p = s.frame, s.f, s.p
    r = int(frame.regimen[i])
    lo = max(20, int(p[i]) + 8 if p[i] >= 0 else 20)
    hi = int(f[s.members[r]].max())
    cell = s.cells[(r, subgroup)]
    own = np.unique(times[cell & events & (times <= HORIZON_DAYS)])
    below, above = own[own <= times[i]], own[own > times[i]]
    if len(below):
        lo = max(lo, int(below[-1]))
    if len(above):
        hi = min(hi, int(above[0]) - 1)
    for m_lo, m_hi in (middles[r], middles[-1]):
        if f[i] < m_lo:
            hi = min(hi, m_lo - 1)
        elif f[i] > m_hi:
            lo = max(lo, m_hi + 1)
        else:
            return None
    return (lo, hi) if lo <= hi else None


def _movable(s: _State, ep: str, subgroup: str, rows: np.ndarray
             ) -> list[tuple[int, int, tuple[int, int], tuple[int, int]]]:
    """The patients of ``subgroup`` a move may take, as ``(patient, source gap, reach, days)``:
    censored for ``ep`` (alive for OS; alive and free of progression for PFS, whose OS time
    moves with it), neither pinned nor treatment-related, with ``days`` they may be followed
    to (:func:`_allowed_days`) spanning more than one gap of ``rows``, the gaps from first to
    last in ``reach``."""
    frame = s.frame
    times, events = endpoint_times(ep, s.f, s.d, s.p)
    free = s.sub_mask[subgroup] & ~events & ~frame.fixed & ~frame.pinned
    middles = _middles(s)
    out = []
    for i in np.flatnonzero(free).tolist():
        days = _allowed_days(s, subgroup, times, events, middles, i)
        if days is None:
            continue
        first, last = (int(np.searchsorted(rows, x, side="right")) for x in days)
        if first < last:
            out.append((i, int(np.searchsorted(rows, times[i], side="right")), (first, last),
                        days))
    return out


def _rows(s: _State, ep: str, subgroup: str) -> np.ndarray:
    """The event times of ``ep`` in ``subgroup`` of the regimens its two-regimen p-values
    compare."""
    regs = sorted({r for a in s.aims if a.kind == "p" and a.endpoint == ep
                   and a.subgroup == subgroup and len(a.regimens) == 2 for r in a.regimens})
    times, events = endpoint_times(ep, s.f, s.d, s.p)
    return np.unique(times[s.sub_mask[subgroup] & events & np.isin(s.frame.regimen, regs)])


def _column_states(n0: np.ndarray, classes: dict[tuple[int, int, int], int], regimen: int,
                   max_moves: int, cap: int = MAX_COLUMN_STATES
                   ) -> list[tuple[np.ndarray, tuple[Move, ...]]]:
    """Every risk-set vector of one regimen reachable by at most ``max_moves`` moves, each
    with the fewest moves giving it (breadth first), up to the last number of moves whose
    vectors all fit in ``cap``. ``classes``: how many movable patients lie in each gap with
    each reach (``(source, first, last)`` gap)."""
    seen = {n0.tobytes()}
    states: list[tuple[np.ndarray, tuple[Move, ...]]] = [(n0, ())]
    layer: list[tuple[np.ndarray, tuple[Move, ...]]] = [(n0, ())]
    for _ in range(max_moves):
        nxt = []
        for n, moves in layer:
            for (a, lo, hi), size in classes.items():
                if sum(1 for m in moves if (m.source, *m.reach) == (a, lo, hi)) >= size:
                    continue
                for b in range(lo, hi + 1):
                    if b == a:
                        continue
                    nn = n.copy()
                    if b > a:
                        nn[a:b] += 1
                    else:
                        nn[b:a] -= 1
                    key = nn.tobytes()
                    if key in seen:
                        continue
                    seen.add(key)
                    nxt.append((nn, moves + (Move(regimen, a, (lo, hi), b),)))
        if len(states) + len(nxt) > cap:
            break
        states.extend(nxt)
        layer = nxt
    return states


def plan_risk_sets(s: _State, ep: str, subgroup: str, max_moves: int = MAX_MOVES,
                   limit: int = MAX_PLANS) -> list[RiskSetPlan]:
    """Up to ``limit`` count sets of the censored patients of ``subgroup`` (fewest moves
    first, at most ``max_moves``) under which every two-regimen p of ``ep`` in ``subgroup``
    prints. The tests must share a regimen (Table 2 compares each regimen with ASCT): the
    risk sets of each other regimen then enter one test only, and are chosen for each set of
    the shared regimen's on their own. Empty when they all print already or none is found."""
    frame = s.frame
    group = [a for a in s.aims if a.kind == "p" and a.endpoint == ep
             and a.subgroup == subgroup and len(a.regimens) == 2]
    shared = set.intersection(*(set(a.regimens) for a in group)) if group else set()
    if not shared or len({a.regimens for a in group}) < len(group):
        return []  # no regimen in every test, or one pair aimed at twice
    hub = frame.ref if frame.ref in shared else min(shared)
    times, events = endpoint_times(ep, s.f, s.d, s.p)
    regs = sorted({r for a in group for r in a.regimens})
    rows = _rows(s, ep, subgroup)
    if len(rows) == 0:
        return []
    n0 = {r: np.array([np.count_nonzero(s.cells[(r, subgroup)] & (times >= x)) for x in rows],
                      float) for r in regs}
    d = {r: np.array([np.count_nonzero(s.cells[(r, subgroup)] & events & (times == x))
                      for x in rows], float) for r in regs}
    before = {a.key: float(two_regimen_p(n0[a.regimens[0]], n0[a.regimens[1]],
                                         d[a.regimens[0]], d[a.regimens[1]], a.direction))
              for a in group}
    if all(a.cost(before[a.key]) == 0.0 for a in group):
        return []
    classes: dict[int, dict[tuple[int, int, int], int]] = {r: {} for r in regs}
    for i, source, reach, _ in _movable(s, ep, subgroup, rows):
        cls = classes.get(int(frame.regimen[i]))
        if cls is not None:
            cls[(source, *reach)] = cls.get((source, *reach), 0) + 1
    states = {r: _column_states(n0[r], classes[r], r, max_moves) for r in regs}
    hub_n = np.array([n for n, _ in states[hub]])
    hub_moves = np.array([len(m) for _, m in states[hub]])
    total = hub_moves.astype(float)
    pick: dict[int, np.ndarray] = {}
    for a in group:
        other = a.regimens[0] if a.regimens[1] == hub else a.regimens[1]
        o_n = np.array([n for n, _ in states[other]])
        o_moves = np.array([len(m) for _, m in states[other]], float)
        best = np.empty(len(hub_n), np.int64)
        least = np.empty(len(hub_n))
        step = max(1, CHUNK // (len(o_n) * len(rows)))
        for lo in range(0, len(hub_n), step):
            pair = {hub: hub_n[lo:lo + step, None, :], other: o_n[None, :, :]}
            p = two_regimen_p(pair[a.regimens[0]], pair[a.regimens[1]], d[a.regimens[0]],
                              d[a.regimens[1]], a.direction)
            cost = np.where(a.prints(p), o_moves[None, :], np.inf)
            best[lo:lo + step] = np.argmin(cost, axis=1)
            least[lo:lo + step] = cost.min(axis=1)
        pick[other] = best
        total += least
    order = np.lexsort((np.arange(len(total)), total))
    plans = []
    for h in order[:limit]:
        if not total[h] <= max_moves:
            break
        moves = states[hub][h][1] + tuple(m for r in sorted(pick)
                                          for m in states[r][int(pick[r][h])][1])
        after = {}
        for a in group:
            n_of = {r: (states[r][int(pick[r][h])][0] if r in pick else hub_n[h])
                    for r in a.regimens}
            after[a.key] = float(two_regimen_p(n_of[a.regimens[0]], n_of[a.regimens[1]],
                                               d[a.regimens[0]], d[a.regimens[1]],
                                               a.direction))
        plans.append(RiskSetPlan(ep, subgroup, moves, before, after))
    return plans


def lay_out(s: _State, plan: RiskSetPlan, max_share: int = 3) -> np.ndarray | None:
    """The follow-up times with ``plan`` laid out, or ``None`` when it cannot be. Move by
    move, each movable patient of the move's gap and reach is tried on the day of the target
    gap nearest its own (at most ``max_share`` patients to a day), and the one losing the
    fewest printed numbers (3-year rates first; then the least change of the objective, the
    shortest shift) is taken. The person-years are then given back
    (:func:`_give_back_person_years`). ``None`` too when a median or the person-years would
    no longer print."""
    rows = _rows(s, plan.endpoint, plan.subgroup)
    pool: dict[tuple[int, int, tuple[int, int]], list[tuple[int, int, int]]] = {}
    for i, source, reach, (lo, hi) in _movable(s, plan.endpoint, plan.subgroup, rows):
        pool.setdefault((int(s.frame.regimen[i]), source, reach), []).append((i, lo, hi))
    f = s.f.copy()
    share = dict(s.counts)
    edges = np.r_[0, rows, np.iinfo(np.int64).max]
    rate = np.array([a.kind == "rate" for a in s.aims])
    for m in plan.moves:
        best: tuple[tuple[float, ...], int, int] | None = None
        for i, lo, hi in pool.get((m.regimen, m.source, m.reach), []):
            opening = int(edges[m.target])
            last = min(hi, int(edges[m.target + 1]) - 1)
            # the gap's days from the patient's side; its opening event day (at risk there, as
            # the counts take it) only when no other day is free: a censoring on a death day
            # looks odd
            later = m.target > 0
            inside = range(max(lo, opening + 1 if later else opening), last + 1)
            days = chain(reversed(inside) if m.target < m.source else inside,
                         [opening] if later and lo <= opening <= last else [])
            day = next((x for x in days if share.get(x, 0) < max_share), None)
            if day is None:
                continue
            g = f.copy()
            g[i] = day
            found = s.propose(g, s.d, s.p, np.flatnonzero(g != s.f), ("pfs", "os"), "none")
            if found is None:
                continue
            delta, terms, odd = found
            lost = [j for j, (_, c) in terms.items() if c > 0 and s.costs[j] == 0]
            score = (float(rate[lost].sum()), float(len(lost)), delta,
                     float(abs(day - int(f[i]))))
            if best is None or score < best[0]:
                best = (score, i, day)
        if best is None:
            return None
        _, i, day = best
        pool[(m.regimen, m.source, m.reach)] = [
            x for x in pool[(m.regimen, m.source, m.reach)] if x[0] != i]
        share[int(f[i])] -= 1
        share[day] = share.get(day, 0) + 1
        f[i] = day
    if not _give_back_person_years(s, f, share, max_share):
        return None
    return f if all(s.follow_ok(f, r) for r in range(s.n_reg)) else None


def _give_back_person_years(s: _State, f: np.ndarray, share: dict[int, int],
                            max_share: int) -> bool:
    """Put the follow-up the moves added (or took) back, in place, on the longest-followed
    patients that are alive and free to move and stay, before and after, followed beyond
    every event of either endpoint, at least 8 days after their own progression and within
    their regimen's longest follow-up: as much as each can take, longest first (at most
    ``max_share`` patients to a day). ``False`` when they cannot take it all."""
    frame = s.frame
    extra = int(f.sum() - s.f.sum())
    pfs_t, pfs_e = pfs_of(s.f, s.d, s.p)
    last = int(max(s.f[s.d].max(initial=0), pfs_t[pfs_e].max(initial=0)))
    moved = f != s.f
    for i in np.argsort(-f, kind="stable").tolist():
        if extra == 0:
            break
        if s.d[i] or frame.fixed[i] or frame.pinned[i] or moved[i] or f[i] <= last:
            continue
        longest = int(s.f[s.members[int(frame.regimen[i])]].max())
        floor = max(last + 1, int(s.p[i]) + 8 if s.p[i] >= 0 else 0)
        if f[i] < floor:
            continue
        new = max(int(f[i]) - extra, floor) if extra > 0 else min(int(f[i]) - extra, longest)
        while new != f[i] and share.get(new, 0) >= max_share:
            new += 1 if extra > 0 else -1
        if new == f[i]:
            continue
        extra -= int(f[i]) - new
        share[int(f[i])] -= 1
        share[new] = share.get(new, 0) + 1
        f[i] = new
    return extra == 0


def aim_risk_sets(frame: Frame, result: SearchResult, aims: tuple[Aim, ...],
                  rng: np.random.Generator, steps: int = HOLD_STEPS,
                  attempts: int = HOLD_ATTEMPTS, realism: bool = True,
                  max_share: int = 3) -> SearchResult:
    """For each endpoint and risk subgroup with a missed two-regimen p (once per subgroup):
    the count sets of :func:`plan_risk_sets`, laid out (:func:`lay_out`) while every 3-year
    rate that prints still prints, then ``attempts`` holding phases of ``steps`` moves (every
    printed number held; round the plans laid out, each attempt from its own child of
    ``rng``). The first attempt that misses fewer aims and makes no curve odder replaces
    ``result``; else it is returned as it is. "Odder": the realism penalty of the curves
    (cliffs, late first events) summed over both endpoints, as in
    :func:`~poems_cohort.synth.survival_search.repair`. ``rng``'s state is not advanced (its
    seed sequence spawns the children)."""
    every = np.ones(len(aims), bool)
    tried: set[tuple[str, str]] = set()
    for a in aims:
        if not (a.kind == "p" and len(a.regimens) == 2 and a.subgroup != "all"
                and a.key in result.missed and (a.endpoint, a.subgroup) not in tried):
            continue
        tried.add((a.endpoint, a.subgroup))  # one search serves every test of the subgroup
        s = _State(frame, result.layout, aims, realism)
        odd = sum(s.odd.values())
        laid = []
        for plan in plan_risk_sets(s, a.endpoint, a.subgroup):
            f = lay_out(s, plan, max_share)
            if f is None:
                continue
            found = s.propose(f, s.d, s.p, np.flatnonzero(f != s.f), ("pfs", "os"), "none")
            if found is None:
                continue
            _, terms, new_odd = found
            unprinted = {s.aims[j].key for j, (_, c) in terms.items() if c > 0}
            rate_lost = any(s.aims[j].kind == "rate" and c > 0 and s.costs[j] == 0
                            for j, (_, c) in terms.items())
            odder = sum(new_odd.get(ep, s.odd[ep]) for ep in s.odd) > odd + 1e-12
            if rate_lost or odder or unprinted & set(plan.after):
                continue
            laid.append(f)
            if len(laid) == attempts:
                break
        if not laid:
            continue
        for k, child in enumerate(rng.spawn(attempts)):
            res = run_phases(frame, Layout(laid[k % len(laid)], s.d, s.p), aims, child,
                             [Phase(every, steps, "all", 0.8, (0.5, 0.02), HOLD_MOVES)],
                             realism, max_share)
            if (len(res.missed) < len(result.missed)
                    and sum(_State(frame, res.layout, aims, realism).odd.values())
                    <= odd + 1e-12):
                result = SearchResult(res.layout, res.objective, res.missed,
                                      result.steps + res.steps)
                break
    return result
