"""Response dates aimed at the published 6- and 12-month cumulative response rates.

The text prints, per regimen and overall, 1 − Kaplan–Meier of the time to CRH and to CRV at 6 and
12 months (Figure 1b/1c); a patient evaluable for a response who never reaches it is censored at
the last assessment, which is the last scheduled visit within follow-up or the visit of another
response seen later. With the responders and their follow-up fixed, these rates depend on the
response months at or before 12 months and on who, among the evaluable patients, responds.

:func:`aim_response_days` starts from a layout of months giving each regimen's published median
and range (``synth.visits``) and improves it by a local search on two moves:

* **retime** a responder: a new month on the same side of the regimen's median (the carriers of
  the median, the minimum and the maximum keep theirs), on or before the last day the patient
  can respond (end of follow-up, and before a progression);
* **exchange** the response between a responder and a non-responder of the same regimen, risk
  subgroup and evaluability, who reach the same other responses (and, for CRV in the medium-high
  risk subgroup, progress and die alike), the non-responder taking the month: every response
  count of Table 2, CRH/CRV included, stays.

A third move **stops** the assessments of one response early for an evaluable non-responder
(lost to that follow-up while still seen for the others), for at most ``STOP_FRACTION`` of a
regimen's evaluable patients. Moves are annealed on an energy counting the medians and ranges
(pooled and per regimen) and the regimen and pooled rates that do not print and the distance of
the latter; the best layout seen (fewest medians, then regimen rates, then pooled rates not
printing, then the smallest distance) is kept. The score is computed from counts of events and
censorings per month of the first year, updated for the one or two patients a move touches, so
the search needs only the survival step's dates, never a particular random stream.

A regimen rate still missed after the annealing is often a narrow combination of counts that
single moves do not land in (MDex CRV: 7.2 at 6 months with 16.1 at 12 needs 15 stops spread
over the first year). :func:`_construct` enumerates the counts per month of that regimen's
responses and stops, puts a printing one on the patients, and, when it moves a pooled rate that
printed, :func:`_walk_pooled` walks the other regimens' layouts back to it with every other
printed number held; if that fails the regimen's layout is put back.

A pooled rate still missed with every regimen rate printing depends on how the regimens'
responses and censorings interleave: :func:`_construct_pooled` searches the counts per month of
the three regimens at once (each regimen's rates, the pooled median and the pooled rates that
print held), on a random stream of its own, so that the cohort is unchanged when it finds none.
Censorings only fall on scheduled assessment days, after that day's responses, so the counts
per month hold every order of responses and censorings across regimens: moving a response
within its month changes no rate.
"""

from __future__ import annotations

import itertools
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from poems_cohort.synth.km import DAYS_PER_MONTH, prints_as
from poems_cohort.synth.pooled_relax import (
    CountModel,
    build_count_model,
    median_limits,
    random_start,
    relax,
    round_counts,
)
from poems_cohort.synth.targets import Kinetics

RESPONSES: tuple[str, str] = ("crh", "crv")
#: moves tried at most (the search ends sooner once every rate prints)
SEARCH_STEPS = 60_000
#: months after the first year a retimed response may move to (they do not change the rates)
LATE_MONTHS = 24
#: at most this fraction of a regimen's patients evaluable for a response have their
#: assessments of it stop early (lost to that follow-up while still seen for the others): an
#: assumption, not a number of the paper; follow-up VEGF and immunofixation are often
#: incomplete in a retrospective cohort. A third is the least whole fraction printing MDex's
#: 6-month CRV rate (it needs 15 of 52; a quarter allowed 13: tests/synth/test_kinetics_search.py)
STOP_FRACTION = 1 / 3
#: the search anneals: a move raising the energy (:func:`_energy`) by ``e`` is kept with
#: probability exp(-e / T), T falling geometrically from the first to the second value over the
#: moves, so the search leaves local minima early and settles late; the best layout is kept
START_TEMPERATURE = 1.0
END_TEMPERATURE = 0.01
REGIMEN_MISS = 2.0
POOLED_MISS = 1.0
#: share of the steps making two moves before the score is taken (a stop and a retime, say,
#: whose rates move together)
DOUBLE = 0.3
#: share of the moves aimed at a rate that misses (its response, and its regimen)
FOCUS = 0.8
CONSTRUCT_TRIES = 200
#: most layouts of counts :func:`_construct` evaluates before it gives up (the bundled
#: cohort and seeds 1-2 need about 2,500; some survival dates made it enumerate for minutes)
CONSTRUCT_BUDGET = 200_000
#: steps of the walk that brings back pooled rates a new regimen layout moved
#: (:func:`_walk_pooled`), annealed from the first to the second temperature
POOLED_STEPS = 2000
WALK_START = 0.2
WALK_END = 0.005
#: steps of the count-level search of :func:`_construct_pooled` (annealed from
#: ``POOLED_START`` to ``POOLED_END``; on the bundled cohort's dates 200,000 found the pooled
#: CRH rate at 12 months from each of 12 random streams, about 3 s each, 100,000 from 9), and
#: how many of the count layouts it finds are put on the patients at most
POOLED_COUNT_STEPS = 200_000
POOLED_LAYOUTS = 30
POOLED_START = 2.0
POOLED_END = 0.002
#: a pooled rate further than this (percentage points) from the published one is not searched
#: for: the counts of the regimens move it by a few tenths at most (the pooled CRH rate at 6
#: months lies 4.9 points away and is proved out of reach: synth.pooled_bound,
#: docs/reproduction.md, inconsistency 12)
POOLED_REACH = 1.0
#: tries of :func:`_construct_pooled` (each a new annealing from the layout given) before a
#: pooled rate is left missed
POOLED_TRIES = 3
#: the non-responders followed longest beyond a regimen's longest time to the response that
#: stay assessed to the end of follow-up in :func:`_construct_pooled` (they keep the curve
#: level after the last response; the others followed beyond the first year may stop early)
KEEP_BEYOND = 3


#: the changes of one move (``days`` updates, ``stop`` updates, whether months were retimed)
Undo = tuple[dict[int, int], dict[int, int], bool]


def month_day(months: np.ndarray | float) -> np.ndarray:
    """The day of an assessment ``months`` after treatment start (never past that month)."""
    return np.floor(np.asarray(months, dtype=float) * DAYS_PER_MONTH).astype(np.int64)


H6, H12 = int(month_day(6)), int(month_day(12))
CAP = H12 + 1  # every time beyond the 12-month landmark counts alike
#: the scheduled assessments within the first year after which assessments may stop
STOP_DAYS = month_day(np.array([1, 2, 3, 6, 9]))


def cumulative_rates(events: np.ndarray, total: np.ndarray) -> tuple[float, float]:
    """1 − Kaplan–Meier in percent at 6 and 12 months from per-day counts (index = day, capped at
    ``CAP``): ``events`` responses, ``total`` responses and censorings. At a tie, responses come
    before censorings (the censored patient is still at risk), as in ``survival``."""
    at_risk = total.sum() - np.concatenate(([0], np.cumsum(total)[:-1]))
    factor = np.ones(len(events))
    hit = events > 0
    factor[hit] = 1.0 - events[hit] / at_risk[hit]
    s = np.cumprod(factor)
    return 100.0 * (1.0 - s[H6]), 100.0 * (1.0 - s[H12])


#: the days of the monthly assessments of the first year: every response of the first year falls
#: on one of them, so the rates need only how many times fall in each month (:func:`time_bin`)
MONTH_DAYS: tuple[int, ...] = tuple(int(d) for d in month_day(np.arange(1, 13)))
BINS = 14  # before month 1, months 1 to 12, after the first year


def time_bin(day: int) -> int:
    """The bin of a time: 0 before the first monthly day, ``m`` from month ``m``'s day to the
    next, 13 after 12 months. Responses fall on the monthly days, so a censoring in bin ``m``
    comes at or after its responses (still at risk, as at a tie) and before the next month's."""
    if day > H12:
        return BINS - 1
    return bisect_right(MONTH_DAYS, day)


def binned_rates(events: Sequence[int], total: Sequence[int]) -> tuple[float, float]:
    """:func:`cumulative_rates` from counts per :func:`time_bin` (responses only on monthly
    days): a dozen scalar steps instead of an array per day, for the search's inner loop."""
    at_risk = sum(total)
    s = s6 = 1.0
    for b in range(BINS - 1):
        if events[b]:
            s *= 1.0 - events[b] / at_risk
        if b == 6:
            s6 = s
        at_risk -= total[b]
    return 100.0 * (1.0 - s6), 100.0 * (1.0 - s)


def _decimals(value: float) -> int:
    return 0 if float(value).is_integer() else 1


#: responses a layout moves beyond the first year are spread over this many months from the
#: first month their side of the median allows, not heaped on one day (a heap of 18 LDex CRV
#: responses at 13 months made a step of 20 points in the curve)
LATE_SPREAD = 12


def _late_month(low: float, top: float, rank: int) -> float:
    """The month of the ``rank``-th response a layout moves beyond the first year: from the
    first month its side of the median allows (``low``, at least 13) to ``top`` (its side and
    its limit), at most ``LATE_SPREAD`` months, in turn; ``inf`` when no month fits."""
    first = max(13.0, float(np.ceil(low)))
    if first > top:
        return float("inf")
    span = int(min(float(np.floor(top)), first + LATE_SPREAD - 1) - first) + 1
    return first + rank % span


@dataclass(frozen=True, slots=True)
class AimedDays:
    """Days to CRH and CRV per patient (-1: no response), the day after which a non-responder is
    no longer assessed for the response (``stop``; -1: assessed to the end of follow-up), and
    the rates they give: ``rates[(resp,
    group)] = (6-month, 12-month)`` in percent, ``group`` a regimen or ``"All"``; ``misses``:
    the rates not printing as published."""

    days: Mapping[str, np.ndarray]
    stop: Mapping[str, np.ndarray]
    rates: Mapping[tuple[str, str], tuple[float, float]]
    misses: tuple[tuple[str, str, int], ...]

    def __repr__(self) -> str:
        return f"AimedDays(misses={list(self.misses)})"


class _State:
    """The mutable state of one search (private to :func:`aim_response_days`)."""

    def __init__(self, days: dict[str, np.ndarray], evaluable: dict[str, np.ndarray],
                 regimen: np.ndarray, names: Sequence[str], last: np.ndarray,
                 kinetics: Mapping[tuple[str, str], Kinetics]) -> None:
        self.days = {k: v.copy() for k, v in days.items()}
        self.stop = {k: np.full(len(v), -1, np.int64) for k, v in days.items()}
        self.ev = evaluable
        self.regimen = regimen
        self.names = list(names)
        self.last = last
        self.kinetics = kinetics
        self.events = {(x, r): [0] * BINS for x in RESPONSES for r in range(len(names))}
        self.total = {(x, r): [0] * BINS for x in RESPONSES for r in range(len(names))}
        self.all_events = {x: [0] * BINS for x in RESPONSES}
        self.all_total = {x: [0] * BINS for x in RESPONSES}
        for x in RESPONSES:
            for p in np.flatnonzero(evaluable[x]).tolist():
                self._count(x, p, +1)
        self.rates = {(x, r): binned_rates(self.events[x, r], self.total[x, r])
                      for x in RESPONSES for r in range(len(names))}
        self.pooled = {x: self.all_rates(x) for x in RESPONSES}
        # the response days in order, for the pooled medians
        self.ordered = {x: sorted(self.days[x][self.days[x] >= 0].tolist()) for x in RESPONSES}
        # each regimen's median and range (the month bounds keep them; checked all the same)
        self.regimen_misses = {(x, r): self._regimen_misses(x, r)
                               for x in RESPONSES for r in range(len(names))}
        self.median_misses = self._median_misses()

    @staticmethod
    def other(x: str) -> str:
        return "crv" if x == "crh" else "crh"

    def time_of(self, x: str, p: int) -> tuple[int, bool]:
        """The time of ``p`` in the curve of ``x``: the response, else the last assessment of
        ``x`` (the last visit, or the visit of the other response seen later, unless the
        assessments of ``x`` stopped before)."""
        d = int(self.days[x][p])
        if d >= 0:
            return d, True
        if self.stop[x][p] >= 0:
            return int(self.stop[x][p]), False
        return max(int(self.last[p]), int(self.days[self.other(x)][p])), False

    def _count(self, x: str, p: int, sign: int) -> None:
        t, e = self.time_of(x, p)
        t = time_bin(t)
        key = (x, int(self.regimen[p]))
        self.total[key][t] += sign
        self.all_total[x][t] += sign
        if e:
            self.events[key][t] += sign
            self.all_events[x][t] += sign

    def change(self, x: str, updates: Mapping[int, int], stops: Mapping[int, int] | None = None,
               retimed: bool = True) -> None:
        """Set ``days[x][p] = d`` for each ``p: d`` (and ``stop[x][p]`` for ``stops``), keeping
        the counts and the rates current (and the medians and ranges, unless ``retimed`` is
        false: the months only move between patients of one regimen)."""
        stops = stops or {}
        patients = sorted({*updates, *stops})
        touched = [(y, p) for p in patients for y in RESPONSES if self.ev[y][p]]
        for y, p in touched:
            self._count(y, p, -1)
        ordered = self.ordered[x]
        for p, d in updates.items():
            old = int(self.days[x][p])
            if old >= 0:
                ordered.pop(bisect_left(ordered, old))
            if d >= 0:
                insort(ordered, d)
            self.days[x][p] = d
        for p, d in stops.items():
            self.stop[x][p] = d
        for y, p in touched:
            self._count(y, p, +1)
        for y, r in {(y, int(self.regimen[p])) for y, p in touched}:
            self.rates[y, r] = binned_rates(self.events[y, r], self.total[y, r])
        for y in {y for y, _ in touched}:
            self.pooled[y] = self.all_rates(y)
        if updates and retimed:
            for r in {int(self.regimen[p]) for p in updates}:
                self.regimen_misses[x, r] = self._regimen_misses(x, r)
            self.median_misses = self._median_misses()

    def all_rates(self, x: str) -> tuple[float, float]:
        return binned_rates(self.all_events[x], self.all_total[x])

    def _median_misses(self) -> int:
        out = 0
        for x in RESPONSES:
            k = self.kinetics[x, "All"]
            days = self.ordered[x]
            m = len(days)
            if not m:
                continue
            middle = days[m // 2] / DAYS_PER_MONTH if m % 2 else (
                days[m // 2 - 1] / DAYS_PER_MONTH + days[m // 2] / DAYS_PER_MONTH) / 2
            if not prints_as(middle, k.median, _decimals(k.median)):
                out += 1
        return out + sum(self.regimen_misses.values())

    def _regimen_misses(self, x: str, r: int) -> int:
        """How many of the median, shortest and longest time to ``x`` in regimen ``r`` do not
        print as published."""
        k = self.kinetics[x, self.names[r]]
        months = self.days[x][(self.regimen == r) & (self.days[x] >= 0)] / DAYS_PER_MONTH
        if not len(months):
            return 0
        return sum(not prints_as(got, want, _decimals(want))
                   for got, want in ((float(np.median(months)), k.median),
                                     (float(months.min()), k.minimum),
                                     (float(months.max()), k.maximum)))

    def all_group_rates(self) -> dict[tuple[str, str], tuple[float, float]]:
        out = {}
        for x in RESPONSES:
            for r, name in enumerate(self.names):
                out[x, name] = self.rates[x, r]
            out[x, "All"] = self.pooled[x]
        return out

    def misses(self) -> list[tuple[str, str, int, float]]:
        """Every rate not printing as published: response, group, month and the distance."""
        out = []
        for (x, group), rates in self.all_group_rates().items():
            k = self.kinetics[x, group]
            for month, got, want in zip((6, 12), rates, (k.rate_6, k.rate_12), strict=True):
                if not prints_as(got, want):
                    out.append((x, group, month, abs(got - want)))
        return out

    def score(self, misses: list[tuple[str, str, int, float]] | None = None
              ) -> tuple[int, int, int, float]:
        """Pooled medians not printing, then regimen rates, then pooled rates, then the
        distance of the rates not printing (``misses``, when computed already)."""
        misses = self.misses() if misses is None else misses
        pooled = sum(m[1] == "All" for m in misses)
        return (self.median_misses, len(misses) - pooled, pooled,
                round(sum(m[3] for m in misses), 9))


def aim_response_days(rng: np.random.Generator, days: Mapping[str, np.ndarray],
                      evaluable: Mapping[str, np.ndarray], regimen: np.ndarray,
                      names: Sequence[str], last: np.ndarray, limit: np.ndarray,
                      bounds: Mapping[str, tuple[np.ndarray, np.ndarray]],
                      exchange_class: Mapping[str, np.ndarray],
                      kinetics: Mapping[tuple[str, str], Kinetics],
                      steps: int = SEARCH_STEPS, pooled_steps: int = POOLED_STEPS,
                      count_steps: int = POOLED_COUNT_STEPS) -> AimedDays:
    """Improve the response days ``days[resp]`` (-1: none; ``resp`` in ``crh``, ``crv``) of a
    cohort towards the published 6- and 12-month rates.

    ``evaluable[resp]``: evaluable patients; ``regimen``: the index in ``names`` of each
    patient's regimen; ``last``: day of the last scheduled assessment within follow-up;
    ``limit``: the last day each patient can respond on; ``bounds[resp]``: the lowest and
    highest month each responder may take (equal for the carriers of the median, minimum and
    maximum; the bounds move with the response in an exchange); ``exchange_class[resp]``:
    patients of equal class may exchange the response (it holds regimen, risk subgroup,
    evaluability and the outcome classes that must stay; the other response's status is
    checked at each move); ``kinetics[(resp, group)]``: the published numbers per regimen name
    and ``"All"``.
    """
    state = _State({x: np.asarray(days[x], np.int64) for x in RESPONSES},
                   {x: np.asarray(evaluable[x], bool) for x in RESPONSES}, regimen, names,
                   np.asarray(last, np.int64), kinetics)
    lo = {x: bounds[x][0].astype(float).copy() for x in RESPONSES}
    hi = {x: bounds[x][1].astype(float).copy() for x in RESPONSES}
    limit_month = np.floor(limit / DAYS_PER_MONTH)
    # the whole month whose assessment day falls within the limit
    limit_month = np.where(month_day(limit_month + 1) <= limit, limit_month + 1, limit_month)
    stop_cap = {(x, r): int(STOP_FRACTION * (state.ev[x] & (regimen == r)).sum())
                for x in RESPONSES for r in range(len(names))}
    # non-responders followed beyond the longest response keep the curve level at its end:
    # they do not stop being assessed, nor take a response in an exchange unless it is the
    # longest (the carrier of the longest then stays at risk beyond it)
    beyond = {x: np.array([int(month_day(kinetics[x, names[r]].maximum)) for r in regimen])
              for x in RESPONSES}

    def propose(x: str, focus: np.ndarray) -> tuple[Undo, Undo] | None:
        """Make one move of ``x`` among the ``focus`` patients: the changes undoing it and the
        changes making it (to make it again after undoing it)."""
        d = state.days[x]
        move = rng.random()
        undo: Undo
        forward: Undo
        if move < 0.2:
            # the assessments of x stop early for an evaluable non-responder, or resume
            stop = state.stop[x]
            cand = np.flatnonzero(state.ev[x] & (d < 0) & focus
                                  & (np.maximum(state.last, state.days[state.other(x)])
                                     < beyond[x]))
            if not len(cand):
                return None
            p = int(cand[rng.integers(len(cand))])
            r = int(regimen[p])
            if stop[p] >= 0:
                undo, forward = ({}, {p: int(stop[p])}, False), ({}, {p: -1}, False)
            else:
                if (stop[(regimen == r)] >= 0).sum() >= stop_cap[x, r]:
                    return None
                t, _ = state.time_of(x, p)
                days_before = STOP_DAYS[STOP_DAYS < min(t, CAP)]
                if not len(days_before):
                    return None
                undo = ({}, {p: -1}, False)
                forward = ({}, {p: int(days_before[rng.integers(len(days_before))])}, False)
        else:
            responders = np.flatnonzero((d >= 0) & focus)
            if not len(responders):
                return None
            i = int(responders[rng.integers(len(responders))])
            if move < 0.6:
                # retime i within its bounds and its limit; months after the first year change
                # no rate, so only moves to or from the first year are tried
                top = min(hi[x][i], limit_month[i])
                low = lo[x][i]
                if top <= low or low > 13:
                    return None
                month = float(rng.integers(int(low), int(min(top, 13.0)) + 1))
                if month == 13 and top > 13:
                    month = float(rng.integers(13, int(min(top, LATE_MONTHS)) + 1))
                new_day = int(month_day(month))
                if new_day == int(d[i]):
                    return None
                undo, forward = ({i: int(d[i])}, {}, True), ({i: new_day}, {}, True)
            else:
                # exchange the response of i with a non-responder of its class
                y = state.other(x)
                mates = np.flatnonzero((exchange_class[x] == exchange_class[x][i]) & (d < 0)
                                       & (state.stop[x] < 0)
                                       & ((state.last < beyond[x]) | (d[i] >= beyond[x]))
                                       & ((state.days[y] >= 0) == (state.days[y][i] >= 0))
                                       & (limit >= d[i]))
                if not len(mates):
                    return None
                j = int(mates[rng.integers(len(mates))])
                undo = ({i: int(d[i]), j: -1}, {}, False)
                forward = ({i: -1, j: int(d[i])}, {}, False)
                lo[x][j], hi[x][j] = lo[x][i], hi[x][i]
        state.change(x, *forward[:2], retimed=forward[2])
        return undo, forward

    def all_moves(x: str, focus: np.ndarray) -> list[tuple[Undo, Undo]]:
        """One move per distinct change of the counts: (undo, forward), not applied."""
        d = state.days[x]
        out: list[tuple[Undo, Undo]] = []
        seen: set = set()
        stop = state.stop[x]
        cand = np.flatnonzero(state.ev[x] & (d < 0) & focus
                              & (np.maximum(state.last, state.days[state.other(x)]) < beyond[x]))
        n_stopped = {r: int((stop[regimen == r] >= 0).sum()) for r in range(len(names))}
        for p in cand.tolist():
            r = int(regimen[p])
            t, _ = state.time_of(x, p)
            if stop[p] >= 0:
                nat = max(int(state.last[p]), int(state.days[state.other(x)][p]))
                key = ("resume", r, time_bin(t), time_bin(nat))
                if key not in seen:
                    seen.add(key)
                    out.append((({}, {p: int(stop[p])}, False), ({}, {p: -1}, False)))
                for s_day in STOP_DAYS[STOP_DAYS < min(nat, CAP)].tolist():
                    key = ("restop", r, time_bin(t), int(s_day))
                    if s_day != stop[p] and key not in seen:
                        seen.add(key)
                        out.append((({}, {p: int(stop[p])}, False), ({}, {p: int(s_day)}, False)))
            elif n_stopped[r] < stop_cap[x, r]:
                for s_day in STOP_DAYS[STOP_DAYS < min(t, CAP)].tolist():
                    key = ("stop", r, time_bin(t), int(s_day))
                    if key not in seen:
                        seen.add(key)
                        out.append((({}, {p: -1}, False), ({}, {p: int(s_day)}, False)))
        for i in np.flatnonzero((d >= 0) & focus).tolist():
            top = min(hi[x][i], limit_month[i])
            low = lo[x][i]
            if top <= low or low > 13:
                continue
            for month in range(int(low), int(min(top, 13.0)) + 1):
                new_day = int(month_day(month))
                key = ("retime", int(regimen[i]), time_bin(int(d[i])), month)
                if new_day == int(d[i]) or key in seen:
                    continue
                seen.add(key)
                out.append((({i: int(d[i])}, {}, True), ({i: new_day}, {}, True)))
        return out

    current = state.score()
    best, best_days, best_stop = current, _copy(state.days), _copy(state.stop)
    missing = state.misses()
    for step in range(steps):
        if best[:3] == (0, 0, 0):
            break
        temperature = START_TEMPERATURE * (END_TEMPERATURE / START_TEMPERATURE) ** (step / steps)
        # most moves go where a rate misses: its response, and its regimen unless pooled
        if missing and rng.random() < FOCUS:
            x, group, _, _ = missing[int(rng.integers(len(missing)))]
            focus = (regimen == names.index(group)) if group != "All" else np.ones(len(regimen), bool)
        else:
            x = RESPONSES[int(rng.integers(2))]
            focus = np.ones(len(regimen), bool)
        undos = []
        for _ in range(2 if rng.random() < DOUBLE else 1):
            made = propose(x, focus)
            if made is not None:
                undos.append(made[0])
        if not undos:
            continue
        now_missing = state.misses()
        score = state.score(now_missing)
        rise = _energy(score) - _energy(current)
        if rise <= 0 or rng.random() < np.exp(-rise / temperature):
            current, missing = score, now_missing
            if score < best:
                best, best_days, best_stop = score, _copy(state.days), _copy(state.stop)
        else:
            for updates, stops, retimed in reversed(undos):
                state.change(x, updates, stops, retimed=retimed)
    state = _restored(best_days, best_stop, state.ev, regimen, names, state.last, kinetics)
    if state.median_misses == 0:
        for x, group in sorted({m[:2] for m in state.misses() if m[1] != "All"}):
            r = names.index(group)
            printed = _printed(state)
            kept = _copy(state.days), _copy(state.stop)
            if not _construct(state, x, r, limit_month, beyond[x], stop_cap[x, r], rng):
                continue
            # the new layout may move the pooled rates: walk them back, else undo it
            for y in sorted({m[0] for m in printed - _printed(state) if m[1] == "All"}):
                _walk_pooled(state, rng, propose, all_moves, regimen, len(names), y,
                             printed, pooled_steps)
            if not printed | {(x, group, 6), (x, group, 12)} <= _printed(state):
                _reset(state, *kept)
        # a pooled rate still missed with every regimen rate printing: lay out the three
        # regimens at once
        # (on a stream of its own, so that a layout not found leaves the cohort as it was)
        if count_steps and not any(m[1] != "All" for m in state.misses()):
            pooled_rng, relaxed_rng = rng.spawn(2)
            for x, _, month, gap in sorted(m for m in state.misses() if m[1] == "All"):
                if gap <= POOLED_REACH and _construct_pooled(
                        state, x, month, limit_month, beyond[x], stop_cap, pooled_rng,
                        count_steps):
                    continue
                # further, or not found: from relaxed starts (a stream of their own, so that
                # the other pooled searches draw what they drew before)
                if gap <= RELAXED_REACH and (x, "All", month) not in _printed(state):
                    _construct_pooled_relaxed(state, x, month, limit_month, beyond[x],
                                              stop_cap, relaxed_rng)
    return AimedDays(days=_copy(state.days), stop=_copy(state.stop),
                     rates=state.all_group_rates(),
                     misses=tuple((x, g, m) for x, g, m, _ in state.misses()))


def _restored(days: Mapping[str, np.ndarray], stop: Mapping[str, np.ndarray],
              evaluable: Mapping[str, np.ndarray], regimen: np.ndarray, names: Sequence[str],
              last: np.ndarray, kinetics: Mapping[tuple[str, str], Kinetics]) -> _State:
    state = _State(_copy(days), dict(evaluable), regimen, names, last, kinetics)
    for x in RESPONSES:
        state.change(x, {}, {p: int(v) for p, v in enumerate(stop[x]) if v >= 0})
    return state


def _printed(state: _State) -> set[tuple[str, str, int]]:
    """The rates printing as published (response, group, month)."""
    every = {(x, g, m) for x, g in state.kinetics for m in (6, 12)}
    return every - {m[:3] for m in state.misses()}


def _reset(state: _State, days: Mapping[str, np.ndarray], stop: Mapping[str, np.ndarray]
           ) -> None:
    """Bring ``state`` back to ``days`` and ``stop``."""
    for x in RESPONSES:
        state.change(x, {int(p): int(v) for p in np.flatnonzero(days[x] != state.days[x])
                         for v in [days[x][p]]},
                     {int(p): int(v) for p in np.flatnonzero(stop[x] != state.stop[x])
                      for v in [stop[x][p]]})


def _walk_pooled(state: _State, rng: np.random.Generator,
                 propose: Callable[[str, np.ndarray], tuple[Undo, Undo] | None],
                 all_moves: Callable[[str, np.ndarray], list[tuple[Undo, Undo]]],
                 regimen: np.ndarray, n_regimens: int, x_aim: str,
                 printed: set[tuple[str, str, int]], steps: int) -> None:
    """Move the layout towards the pooled rates of ``x_aim`` (6 and 12 months) with every
    other rate printing now still printing, and the medians, until those of them in
    ``printed`` (the rates printing before a new regimen layout) print again.

    With the regimen rates fixed, the pooled rates still move with the timing of the
    regimens' responses and censorings against one another (each regimen weighs by its
    patients at risk at each month). A step makes one move in one regimen (:func:`propose`)
    and, when a rate printing no longer does, the best of every distinct second move in that
    regimen (:func:`all_moves`); it is annealed on how many of the rates to bring back miss,
    then on the distance of the two, and the best layout seen is kept.
    """
    pair = {(x_aim, "All", 6), (x_aim, "All", 12)}
    allowed = {m[:3] for m in state.misses()} | pair
    needed = pair & printed

    def score() -> tuple[int, float] | None:
        # None when a median or a rate printing at the start no longer prints; else the
        # needed rates missing, then the distance of the pair
        misses = state.misses()
        now = {m[:3] for m in misses}
        if state.median_misses or not now <= allowed:
            return None
        return len(now & needed), sum(m[3] for m in misses if m[:3] in pair)

    def undo(x: str, undos: list[Undo]) -> None:
        for updates, stops, retimed in reversed(undos):
            state.change(x, updates, stops, retimed=retimed)

    current = score()
    if current is None:
        return
    best = (current, _copy(state.days), _copy(state.stop))
    for step in range(steps):
        if current[0] == 0:
            break
        x = x_aim if rng.random() < 0.75 else RESPONSES[int(rng.integers(2))]
        focus = regimen == int(rng.integers(n_regimens))
        first = propose(x, focus)
        if first is None:
            continue
        got = score()
        undos = [first[0]]
        if got is None:
            repair: tuple[tuple[int, float], Undo, Undo] | None = None
            for undo_it, make_it in all_moves(x, focus):
                state.change(x, *make_it[:2], retimed=make_it[2])
                fixed = score()
                if fixed is not None and (repair is None or fixed < repair[0]):
                    repair = (fixed, make_it, undo_it)
                undo(x, [undo_it])
            if repair is not None:
                state.change(x, *repair[1][:2], retimed=repair[1][2])
                got = repair[0]
                undos.append(repair[2])
        temperature = WALK_START * (WALK_END / WALK_START) ** (step / steps)
        if got is None or got[0] > current[0] or (
                got[1] > current[1]
                and rng.random() >= np.exp(-(got[1] - current[1]) / temperature)):
            undo(x, undos)
            continue
        current = got
        if got < best[0]:
            best = (got, _copy(state.days), _copy(state.stop))
    _reset(state, best[1], best[2])


class _OverBudget(Exception):
    """More layouts than ``CONSTRUCT_BUDGET`` evaluated by :func:`_construct`."""


def _construct(state: _State, x: str, r: int, limit_month: np.ndarray, beyond: np.ndarray,
               cap: int, rng: np.random.Generator) -> bool:
    """Lay out anew the months of the responses ``x`` in regimen ``r`` and the early stops of
    its non-responders so that both its rates print, no other regimen rate and no pooled
    median stopping printing: whether done (the pooled rates may move; the caller walks them
    back or undoes the layout).

    The annealed moves change a regimen's 12-month rate by whole steps (about 0.3 point for a
    stop, 2 for a response in a regimen of 50) against a window of 0.1 point, so the layouts
    printing both landmarks are narrow combinations of counts (for MDex CRV: three responses
    by 6 months, 12 stops at month 3, two at month 6 and one at month 9, say). They are
    enumerated: only the order of responses and censorings counts, so the responses group by
    months 1, 2, 3, 4-6, 7-9, 10-12 and later (the carriers of the minimum, the median and the
    maximum keep theirs; the others stay on their side of the median and within their
    limit), and the stops by the days of ``STOP_DAYS`` (at most ``cap``, among the
    non-responders followed beyond the first year but not beyond the longest response; the
    others are censored at their last assessment). Each layout of counts printing both rates
    is put on the patients (:func:`_make`) until one keeps the rest, at most
    ``CONSTRUCT_TRIES``.
    """
    k = state.kinetics[x, state.names[r]]
    in_r = state.regimen == r
    d = state.days[x]
    resp = np.flatnonzero(in_r & state.ev[x] & (d >= 0))
    # the bins each responder may take, from its place in the sorted months: the carriers of
    # the minimum, the median and the maximum keep theirs; the others move on their side of the
    # median, within their limit (bin 13: a month after the first year)
    resp = resp[np.argsort(d[resp], kind="stable")]
    count = len(resp)
    mids = {count // 2} if count % 2 else {count // 2 - 1, count // 2}
    sides = {n: (float(k.minimum), float(np.floor(k.median))) if n < min(mids)
             else (float(np.ceil(k.median)), float(k.maximum)) for n in range(count)}
    choices: list[list[int]] = []
    for n, i in enumerate(resp.tolist()):
        b_now = time_bin(int(d[i]))
        if n in mids or n in (0, count - 1):
            choices.append([b_now])
            continue
        low, top = sides[n][0], min(sides[n][1], float(limit_month[i]))
        opts = list(range(max(int(np.ceil(low)), 1), int(min(top, 12.0)) + 1))
        if top >= 13:
            opts.append(BINS - 1)
        choices.append(opts if b_now in opts else [b_now])
    lo = np.full(len(d), np.nan)
    hi = np.full(len(d), np.nan)
    for n, i in enumerate(resp.tolist()):
        lo[i], hi[i] = sides[n]
    nonresp = np.flatnonzero(in_r & state.ev[x] & (d < 0))
    natural = [max(int(state.last[j]), int(state.days[state.other(x)][j])) for j in nonresp]
    free = [n for n, (j, t) in enumerate(zip(nonresp.tolist(), natural, strict=True))
            if t > H12 and t < beyond[j]]
    # the others are censored at their last assessment (their early stops are lifted)
    fixed_censor = [0] * BINS
    for n, t in enumerate(natural):
        if n not in free:
            fixed_censor[time_bin(t)] += 1
    stop_bins = [time_bin(int(s)) for s in STOP_DAYS]
    room = cap
    before = {m[:3] for m in state.misses()}
    targets = {(x, state.names[r], 6), (x, state.names[r], 12)}

    evaluated = 0

    def rates(events: list[int], stops: list[int]) -> tuple[float, float]:
        nonlocal evaluated
        evaluated += 1
        if evaluated > CONSTRUCT_BUDGET:
            raise _OverBudget
        total = [events[b] + fixed_censor[b] for b in range(BINS)]
        for b, c in zip(stop_bins, stops, strict=True):
            total[b] += c
        total[BINS - 1] += len(free) - sum(stops)
        return binned_rates(events, total)

    # only the order of responses against censorings counts: a response in a month precedes
    # the stops of that month, so the months group as 1, 2, 3, 4-6, 7-9, 10-12 (each put on its
    # last month, or on its first free one) and later
    groups = ((1,), (2,), (3,), (4, 5, 6), (7, 8, 9), (10, 11, 12), (BINS - 1,))
    fixed_events = [0] * BINS
    movable = []
    for c, i in zip(choices, resp.tolist(), strict=True):
        if len(c) == 1:
            fixed_events[c[0]] += 1
        else:
            movable.append((c, i))
    reach = [[g for g, months in enumerate(groups) if any(b in c for b in months)]
             for c, _ in movable]

    def assign(counts: tuple[int, ...]) -> list[int] | None:
        """A bin per movable responder giving ``counts`` per group (fewest choices first)."""
        need = list(counts)
        out = [-1] * len(movable)
        for n in sorted(range(len(movable)), key=lambda n: len(reach[n])):
            for g in reach[n]:
                if need[g] > 0:
                    c = movable[n][0]
                    out[n] = next(b for b in reversed(groups[g]) if b in c)
                    need[g] -= 1
                    break
        return out if not any(need) and -1 not in out else None

    n_move = len(movable)
    first = [s for s in itertools.product(range(room + 1), repeat=3) if sum(s) <= min(room, len(free))]
    def search() -> bool:
        found = 0
        for early in itertools.product(range(n_move + 1), repeat=4):
            if sum(early) > n_move:
                continue
            events = list(fixed_events)
            for g, c in enumerate(early):
                events[groups[g][-1]] += c
            later = list(events)
            later[BINS - 1] += n_move - sum(early)
            for s123 in first:
                r6, _ = rates(later, [*s123, 0, 0])
                if not prints_as(r6, k.rate_6):
                    continue
                left = n_move - sum(early)
                for e7, e10 in itertools.product(range(left + 1), repeat=2):
                    if e7 + e10 > left:
                        continue
                    ev = list(events)
                    ev[9] += e7
                    ev[12] += e10
                    ev[BINS - 1] += left - e7 - e10
                    for s6, s9 in itertools.product(range(room + 1 - sum(s123)), repeat=2):
                        stops = [*s123, s6, s9]
                        if sum(stops) > min(room, len(free)):
                            continue
                        r6, r12 = rates(ev, stops)
                        if not (prints_as(r6, k.rate_6) and prints_as(r12, k.rate_12)):
                            continue
                        counts = (*early, e7, e10, left - e7 - e10)
                        bins = assign(counts)
                        if bins is None:
                            continue
                        found += 1
                        if _make(state, x, np.array([i for _, i in movable], np.int64), bins,
                                 nonresp, free, stops, before, targets, lo, hi, limit_month, rng):
                            return True
                        if found >= CONSTRUCT_TRIES:
                            return False
        return False

    try:
        return search()
    except _OverBudget:  # a bound on the enumeration: give up as when nothing prints
        return False


def _make(state: _State, x: str, resp: np.ndarray, bins: list[int], nonresp: np.ndarray,
          free: list[int], stops: list[int], before: set[tuple[str, str, int]],
          targets: set[tuple[str, str, int]], lo: np.ndarray, hi: np.ndarray,
          limit_month: np.ndarray, rng: np.random.Generator) -> bool:
    """Put the layout of :func:`_construct` on the patients (``bins`` per responder of ``resp``,
    ``stops`` per day of ``STOP_DAYS`` among the ``free`` non-responders, drawn at random);
    keep it if the ``targets`` print, the pooled medians too, and no regimen rate printing
    ``before`` misses; else undo it."""
    d = state.days[x]
    updates: dict[int, int] = {}
    late = 0
    for i, b in zip(resp.tolist(), bins, strict=True):
        if b == BINS - 1:
            if time_bin(int(d[i])) == BINS - 1:
                continue
            month = _late_month(lo[i], min(hi[i], limit_month[i]), late)
            if not np.isfinite(month):
                return False
            late += 1
            updates[i] = int(month_day(month))
        elif time_bin(int(d[i])) != b:
            updates[i] = int(month_day(b))
    candidates = [int(nonresp[n]) for n in free]
    order = rng.permutation(len(candidates))
    new_stop = {int(j): -1 for j in nonresp}
    pos = 0
    for s_day, c in zip(STOP_DAYS.tolist(), stops, strict=True):
        for _ in range(c):
            new_stop[candidates[int(order[pos])]] = int(s_day)
            pos += 1
    stop_updates = {j: v for j, v in new_stop.items() if int(state.stop[x][j]) != v}
    undo_days = {i: int(d[i]) for i in updates}
    undo_stop = {j: int(state.stop[x][j]) for j in stop_updates}
    state.change(x, updates, stop_updates)
    now = {m[:3] for m in state.misses()}
    regimens = {m for m in now if m[1] != "All"}
    if state.median_misses == 0 and not now & targets and regimens <= before:
        return True
    state.change(x, undo_days, undo_stop)
    return False


def _energy(score: tuple[int, int, int, float]) -> float:
    """The annealed quantity: a pooled median not printing outweighs everything, a regimen
    rate not printing weighs ``REGIMEN_MISS`` points, a pooled rate ``POOLED_MISS``, plus the
    distance of the rates not printing (percentage points)."""
    return 1000.0 * score[0] + REGIMEN_MISS * score[1] + POOLED_MISS * score[2] + score[3]


def _copy(arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: v.copy() for k, v in arrays.items()}




#: the monthly assessments of the first year after which :func:`_construct_pooled` may stop the
#: assessments of a response (the patient still seen for the others): responses are seen at a
#: visit in any month of the first year, and the visits step makes the visit a stop falls on
#: when the schedule has none; a stop falls on the visit's day, after its responses. The earlier
#: steps stop only after the scheduled ``STOP_DAYS``; the pooled rates need the regimens'
#: censorings between one another's responses (MDex's before its month-6 responses, say),
#: which those days rarely allow.
POOLED_STOP_MONTHS: tuple[int, ...] = tuple(range(1, 12))
#: the share of the stop moves of :func:`_construct_pooled` that lift a stop
LIFT = 0.3


@dataclass(slots=True)
class _Arm:
    """One regimen in :func:`_construct_pooled`: the counts of its responses per
    :func:`time_bin` that no move changes, its responders that may move (patients, the bins
    each may take, the bin each has) and its non-responders: the bin each is censored in when
    assessed to its last visit (``natural``), the months of ``POOLED_STOP_MONTHS`` after which
    its assessments may stop (``stop_options``: before that last visit; none for the
    ``KEEP_BEYOND`` followed longest), and the month each stops after (``stop``, -1: none), at
    most ``cap`` of them (``stopped`` now)."""

    regimen: int
    fixed_events: list[int]
    movable: list[int]
    options: list[list[int]]
    bins: list[int]
    nonresponders: list[int]
    natural: list[int]
    stop_options: list[list[int]]
    stop: list[int]
    stopped: int
    cap: int
    #: the day of each responder after the first year that does not move, and the day each
    #: movable responder takes there
    late_days: list[int]
    late_day: dict[int, int]

    def days_after_first_year(self) -> list[int]:
        return self.late_days + [self.late_day[i] for i, b in zip(self.movable, self.bins,
                                                                  strict=True) if b == BINS - 1]

    def counts(self) -> tuple[list[int], list[int]]:
        """Responses and responses plus censorings per bin."""
        events = list(self.fixed_events)
        for b in self.bins:
            events[b] += 1
        total = list(events)
        for natural, month in zip(self.natural, self.stop, strict=True):
            total[month if month >= 0 else natural] += 1
        return events, total


def _arm(state: _State, x: str, r: int, limit_month: np.ndarray, beyond: np.ndarray,
         cap: int) -> _Arm:
    """The count model of regimen ``r`` for response ``x`` (as in :func:`_construct`: the
    carriers of the minimum, the median and the maximum keep their months, the other
    responders move on their side of the median within their limit); a non-responder may stop
    after a monthly visit before its last assessment, but for the ``KEEP_BEYOND`` followed
    longest beyond the longest response (a stop it has is lifted, as is one on another day)."""
    k = state.kinetics[x, state.names[r]]
    d = state.days[x]
    in_r = state.regimen == r
    resp = np.flatnonzero(in_r & state.ev[x] & (d >= 0))
    resp = resp[np.argsort(d[resp], kind="stable")]
    count = len(resp)
    mids = {count // 2} if count % 2 else {count // 2 - 1, count // 2}
    fixed_events = [0] * BINS
    movable: list[int] = []
    options: list[list[int]] = []
    bins: list[int] = []
    late_days: list[int] = []
    late_day: dict[int, int] = {}
    moved_late = 0
    for n, i in enumerate(resp.tolist()):
        now = time_bin(int(d[i]))
        side = ((float(k.minimum), float(np.floor(k.median))) if n < min(mids, default=0)
                else (float(np.ceil(k.median)), float(k.maximum)))
        top = min(side[1], float(limit_month[i]))
        opts = list(range(max(int(np.ceil(side[0])), 1), int(min(top, 12.0)) + 1))
        if top >= 13 and max(13.0, np.ceil(side[0])) <= top:
            opts.append(BINS - 1)
        if n in mids or n in (0, count - 1) or now not in opts or len(opts) < 2:
            fixed_events[now] += 1
            if now == BINS - 1:
                late_days.append(int(d[i]))
            continue
        if now == BINS - 1:
            late_day[i] = int(d[i])
        elif BINS - 1 in opts:  # the day it takes if moved beyond the first year
            late_day[i] = int(month_day(_late_month(side[0], top, moved_late)))
            moved_late += 1
        movable.append(i)
        options.append(opts)
        bins.append(now)
    nonresp = np.flatnonzero(in_r & state.ev[x] & (d < 0)).tolist()
    last = {j: max(int(state.last[j]), int(state.days[state.other(x)][j])) for j in nonresp}
    # the non-responders followed longest beyond the longest response stay assessed: they keep
    # the curve level at its end
    level = set(sorted((j for j, t in last.items() if t >= beyond[j]),
                       key=lambda j: -last[j])[:KEEP_BEYOND])
    # a stop in a month whose response of any regimen falls after the month's day (a median of
    # 8.5 months, say) would come before it: the counts per month would not hold the order
    off_day = {time_bin(t) for t in state.days[x][state.ev[x] & (d >= 0)].tolist()
               if t <= H12 and t not in MONTH_DAYS}
    stop_options = [[] if j in level else
                    [m for m in POOLED_STOP_MONTHS
                     if MONTH_DAYS[m - 1] < last[j] and m not in off_day]
                    for j in nonresp]
    stop = []
    for j, opts in zip(nonresp, stop_options, strict=True):
        s_day = int(state.stop[x][j])
        month = time_bin(s_day) if s_day >= 0 else -1
        stop.append(month if month in opts and MONTH_DAYS[month - 1] == s_day else -1)
    stopped = sum(m >= 0 for m in stop)
    return _Arm(r, fixed_events, movable, options, bins, nonresp,
                [time_bin(last[j]) for j in nonresp], stop_options, stop, stopped,
                cap, late_days, late_day)


def _propose(a: _Arm, r0: float, r1: float, r2: float) -> tuple[str, int, int] | None:
    """A move of :func:`_anneal_pooled` in regimen ``a`` from three uniform numbers: a movable
    responder to another bin it may take (``("bin", responder, bin)``), or a non-responder's
    stop added, moved or lifted (``("stop", non-responder, month)``, -1 lifting it), never
    beyond the cap; ``None`` when the draw makes no move."""
    if a.movable and r0 < 0.5:
        j = int(r1 * len(a.movable))
        b = a.options[j][int(r2 * len(a.options[j]))]
        return None if b == a.bins[j] else ("bin", j, b)
    if not a.nonresponders:
        return None
    j = int(r1 * len(a.nonresponders))
    opts = a.stop_options[j]
    if not opts:
        return None
    v = -1 if r2 < LIFT else opts[min(int((r2 - LIFT) / (1.0 - LIFT) * len(opts)),
                                      len(opts) - 1)]
    if v == a.stop[j] or (v >= 0 > a.stop[j] and a.stopped >= a.cap):
        return None
    return ("stop", j, v)


def _gap(got: float, want: float) -> float:
    """0 when ``got`` prints as ``want``, else the distance to it (percentage points)."""
    return 0.0 if prints_as(got, want) else abs(got - want)


def _construct_pooled(state: _State, x: str, month: int, limit_month: np.ndarray,
                      beyond: np.ndarray, stop_cap: Mapping[tuple[str, int], int],
                      rng: np.random.Generator, steps: int = POOLED_COUNT_STEPS,
                      tries: int = POOLED_TRIES) -> bool:
    """:func:`_anneal_pooled` up to ``tries`` times, annealed, the last one cold (a descent
    from the layout given, where a step raising the energy is undone: it finds what a few
    moves that each help reach): whether the pooled rate of ``x`` at ``month`` prints (else
    nothing changed)."""
    return any(_anneal_pooled(state, x, month, limit_month, beyond, stop_cap, rng, steps,
                              POOLED_END if t == tries - 1 else POOLED_START)
               for t in range(tries))


class _Pooled:
    """The counts per bin of the regimens of a pooled search (one :class:`_Arm` each) and of the
    pooled curve, kept in step by :meth:`make`; the rates and the median they print."""

    def __init__(self, state: _State, x: str, arms: Sequence[_Arm]) -> None:
        self.arms = list(arms)
        self.wants = [state.kinetics[x, state.names[a.regimen]] for a in arms]
        self.pooled_k = state.kinetics[x, "All"]
        self.counted = [a.counts() for a in arms]
        self.events = [sum(c[0][b] for c in self.counted) for b in range(BINS)]
        self.total = [sum(c[1][b] for c in self.counted) for b in range(BINS)]
        self.responders = sum(self.events)
        self.middle = sorted({(self.responders - 1) // 2, self.responders // 2})

    def arm_energy(self, n: int) -> float:
        """``REGIMEN_MISS`` plus the distance of each rate of regimen ``n`` not printing."""
        r6, r12 = binned_rates(*self.counted[n])
        return sum(REGIMEN_MISS + g for g in (_gap(r6, self.wants[n].rate_6),
                                               _gap(r12, self.wants[n].rate_12)) if g)

    def median_prints(self) -> bool:
        """Whether the pooled median time prints, from the bins of the middle responders (a
        response of the first year is on its month's day, a later one on its own)."""
        found: list[int] = []
        seen = 0
        for b in range(BINS):
            seen += self.events[b]
            while len(found) < len(self.middle) and self.middle[len(found)] < seen:
                found.append(b)
        days = [MONTH_DAYS[b - 1] for b in found if b < BINS - 1]
        if len(days) < len(found):
            late = sorted(d for a in self.arms for d in a.days_after_first_year())
            early = self.responders - len(late)
            days += [late[m - early] for m, b in zip(self.middle, found, strict=True)
                     if b == BINS - 1]
        value = float(np.mean(days)) / DAYS_PER_MONTH
        return prints_as(value, self.pooled_k.median, _decimals(self.pooled_k.median))

    def pooled_energy(self, need: Sequence[tuple[int, float]], within: bool = False) -> float:
        """``POOLED_MISS`` plus the distance of each pooled rate of ``need`` not printing, and
        ``REGIMEN_MISS`` when the pooled median does not print; ``within``: each rate of
        ``need`` counts its distance from ``AIM_WITHIN`` of the published value instead (0
        inside, so that a layout found is not at an edge of the rounding)."""
        rates = dict(zip((6, 12), binned_rates(self.events, self.total), strict=True))
        if within:
            rate_energy = sum(max(0.0, abs(rates[m] - w) - AIM_WITHIN) for m, w in need)
        else:
            rate_energy = sum(POOLED_MISS + g for m, w in need for g in [_gap(rates[m], w)] if g)
        return rate_energy + (0.0 if self.median_prints() else REGIMEN_MISS)

    def distance(self, n: int, events: Sequence[int], total: Sequence[int]) -> int:
        """How many responses and censorings of the first year regimen ``n`` has in other bins
        than in ``events`` and ``total`` (counts per bin)."""
        now_events, now_total = self.counted[n]
        return sum(abs(now_events[b] - events[b])
                   + abs((now_total[b] - now_events[b]) - (total[b] - events[b]))
                   for b in range(BINS - 1))

    def _shift(self, n: int, b: int, event: bool, sign: int) -> None:
        """Add (``sign`` 1) or remove (-1) a response (``event``) or a censoring in bin ``b``
        of regimen ``n``."""
        self.counted[n][1][b] += sign
        self.total[b] += sign
        if event:
            self.counted[n][0][b] += sign
            self.events[b] += sign

    def make(self, n: int, move: tuple[str, int, int]) -> tuple[str, int, int]:
        """Make ``move`` in regimen ``n``: ("bin", responder, bin) or ("stop", non-responder,
        month) (the month its assessments stop after, -1: none); the move undoing it."""
        a = self.arms[n]
        kind, u, v = move
        if kind == "bin":
            old = a.bins[u]
            a.bins[u] = v
            self._shift(n, old, True, -1)
            self._shift(n, v, True, 1)
            return ("bin", u, old)
        old = a.stop[u]
        self._shift(n, old if old >= 0 else a.natural[u], False, -1)
        self._shift(n, v if v >= 0 else a.natural[u], False, 1)
        a.stop[u] = v
        a.stopped += (v >= 0) - (old >= 0)
        return ("stop", u, old)

    def put(self, state: _State, x: str, before: set[tuple[str, str, int]], month: int,
            tried: set[tuple]) -> bool | None:
        """Put the present layout on the patients (:func:`_put_arms`) unless it was tried or
        a regimen stops more than its cap: True when kept, False when it was the
        ``POOLED_LAYOUTS``-th tried (give up), else None."""
        key = tuple((tuple(a.bins), tuple(a.stop)) for a in self.arms)
        if key in tried or any(a.stopped > a.cap for a in self.arms):
            return None
        tried.add(key)
        if _put_arms(state, x, self.arms, before, month):
            return True
        return False if len(tried) >= POOLED_LAYOUTS else None


def _needed(state: _State, x: str, month: int, before: set[tuple[str, str, int]]
            ) -> list[tuple[int, float]]:
    """The pooled rates of ``x`` a pooled search must print: the one at ``month`` and those
    printing now."""
    pooled_k = state.kinetics[x, "All"]
    return [(m, w) for m, w in ((6, pooled_k.rate_6), (12, pooled_k.rate_12))
            if (x, "All", m) in before or m == month]


def _anneal_pooled(state: _State, x: str, month: int, limit_month: np.ndarray,
                   beyond: np.ndarray, stop_cap: Mapping[tuple[str, int], int],
                   rng: np.random.Generator, steps: int, start: float) -> bool:
    """Lay out the responses ``x`` and the early stops of all regimens at once so that the
    pooled rate at ``month`` prints, every regimen rate of ``x`` and every rate and median
    printing now still printing: whether done (else nothing changed).

    The pooled rate weighs each regimen by its patients at risk at each month: with each
    regimen's rates held, it falls when a regimen's responses come after its own early
    censorings and before those of the others. Only the order of responses and censorings
    counts, so the layout is searched on counts per month (:class:`_Arm`, one per regimen): a
    step makes one or two moves in one regimen (a responder to another month it may take, a
    stop added, lifted or moved to another scheduled day), annealed from ``start`` to
    ``POOLED_END`` on an energy counting each regimen rate of ``x`` not printing
    (``REGIMEN_MISS`` plus its distance), the pooled rates to print (``POOLED_MISS`` plus the
    distance) and the pooled median (``REGIMEN_MISS``). Each count layout of energy 0 is put
    on the patients (:func:`_put_arms`) and kept if the whole state agrees, at most
    ``POOLED_LAYOUTS`` of them.
    """
    arms = [_arm(state, x, r, limit_month, beyond, stop_cap[x, r])
            for r in range(len(state.names))]
    before = _printed(state)
    need = _needed(state, x, month, before)
    pool = _Pooled(state, x, arms)

    # the random numbers of the steps, drawn at once (a step uses one row): the regimen, one
    # or two moves of three numbers each, the acceptance
    draws = rng.random((steps, 9))

    own = [pool.arm_energy(n) for n in range(len(arms))]
    current = sum(own) + pool.pooled_energy(need)
    tried: set[tuple] = set()
    cooling = (POOLED_END / start) ** (1.0 / steps)
    temperature = start
    for step in range(steps):
        if current == 0.0 and (done := pool.put(state, x, before, month, tried)) is not None:
            return done
        temperature *= cooling
        row = draws[step]
        n = int(row[0] * len(arms))
        undo = []
        for k in range(2 if row[1] < DOUBLE else 1):
            move = _propose(arms[n], *row[2 + 3 * k:5 + 3 * k])
            if move is not None:
                undo.append(pool.make(n, move))
        if not undo:
            continue
        kept = own[n]
        own[n] = pool.arm_energy(n)
        got = sum(own) + pool.pooled_energy(need)
        if got <= current or row[8] < np.exp(-(got - current) / temperature):
            current = got
        else:
            for back in reversed(undo):
                pool.make(n, back)
            own[n] = kept
    return False


#: a pooled rate missed by more than ``POOLED_REACH`` but at most this far (percentage points)
#: is searched from relaxed starts (:func:`_construct_pooled_relaxed`; the pooled CRV rate at 6
#: months of the bundled cohort lies 1.2 points away; the pooled CRH rate at 6 months, 4.9
#: away, is not searched: relaxed starts reach about 15 for 19.2, 14.7 to 15.7 from twelve,
#: and synth.pooled_bound proves 19.2 out of reach)
RELAXED_REACH = 2.0
#: relaxed starts tried at most (each about 2 s on the bundled cohort, about half of them
#: leading to a layout that prints)
RELAXED_TRIES = 12
#: the squared violations of the held rates a relaxed start may keep (0: all within their
#: windows)
RELAXED_VIOLATION = 1e-3
#: steps of :func:`_fit_arm` (annealed from the first temperature to the second) and the weight
#: of each response or censoring a bin holds more or fewer than in the regimen's rounded counts
#: (a patient moved counts twice: out of one bin, into another; a rate point not printing
#: weighs 10)
FIT_STEPS = 60_000
FIT_START = 3.0
FIT_END = 0.01
FIT_NEAR = 0.1
#: a regimen not fitted in this many relaxed tries keeps its present counts in the later ones
FIT_FAILURES = 2
#: steps of :func:`_descend_pooled`, annealed from the first temperature to ``POOLED_END``;
#: the pooled rates it holds or aims at are brought within ``AIM_WITHIN`` of the published
#: values (they print within 0.05)
DESCENT_STEPS = 20_000
DESCENT_START = 0.05
AIM_WITHIN = 0.04


def _apply_counts(arms: Sequence[_Arm], model: CountModel, whole: np.ndarray) -> None:
    """Put the whole counts of :func:`~poems_cohort.synth.pooled_relax.round_counts` on the
    patients of ``arms``: in each class, the patients whose bin (or stop) keeps a count keep it,
    the others take the counts left, in the order of the bins."""
    for ids, key in zip(model.classes, model.keys, strict=True):
        a = arms[key[0]]
        left: dict[int, int] = {}
        if key[1] == "responders":
            for v in ids.tolist():
                left[int(model.bin[v])] = int(whole[v])
            members = [j for j, opts in enumerate(a.options) if tuple(opts) == key[2]]
            now = a.bins
        else:
            for v in ids[:-1].tolist():
                left[int(model.bin[v])] = int(whole[v])
            left[-1] = int(whole[ids[-1]])
            members = [j for j, (natural, opts) in enumerate(zip(a.natural, a.stop_options,
                                                                 strict=True))
                       if (natural, tuple(opts)) == key[2]]
            now = a.stop
        moving = []
        for j in members:
            if left.get(now[j], 0) > 0:
                left[now[j]] -= 1
            else:
                moving.append(j)
        rest = [b for b in sorted(left) for _ in range(left[b])]
        for j, b in zip(moving, rest, strict=True):
            now[j] = b
    for a in arms:
        a.stopped = sum(m >= 0 for m in a.stop)


def _fit_arm(pool: _Pooled, n: int, rng: np.random.Generator, steps: int = FIT_STEPS) -> bool:
    """Anneal regimen ``n`` of ``pool`` until both its rates print, staying near its counts
    (``FIT_NEAR`` per response or censoring a bin holds more or fewer): whether done."""
    events, total = (list(c) for c in pool.counted[n])
    a = pool.arms[n]

    def energy() -> float:
        return 10.0 * pool.arm_energy(n) + FIT_NEAR * pool.distance(n, events, total)

    if pool.arm_energy(n) == 0.0:
        return True
    current = energy()
    cooling = (FIT_END / FIT_START) ** (1.0 / steps)
    temperature = FIT_START
    for _ in range(steps):
        temperature *= cooling
        move = _propose(a, rng.random(), rng.random(), rng.random())
        if move is None:
            continue
        back = pool.make(n, move)
        got = energy()
        if got <= current or rng.random() < np.exp(-(got - current) / temperature):
            current = got
            if pool.arm_energy(n) == 0.0:
                return True
        else:
            pool.make(n, back)
    return False


def _count_moves(a: _Arm) -> list[tuple[str, int, int]]:
    """One move of regimen ``a`` per distinct change of its counts (a response from one bin to
    another, a censoring from one bin to another with or without a stop), within its cap."""
    seen: set[tuple] = set()
    out = []
    for j, (b_now, opts) in enumerate(zip(a.bins, a.options, strict=True)):
        for b in opts:
            if b != b_now and ("bin", b_now, b) not in seen:
                seen.add(("bin", b_now, b))
                out.append(("bin", j, b))
    for j, opts in enumerate(a.stop_options):
        now = a.stop[j]
        for v in [-1, *opts]:
            if v == now or (v >= 0 > now and a.stopped >= a.cap):
                continue
            key = ("stop", now if now >= 0 else a.natural[j], v if v >= 0 else a.natural[j],
                   now >= 0, v >= 0)
            if key not in seen:
                seen.add(key)
                out.append(("stop", j, v))
    return out


def _descend_pooled(state: _State, x: str, month: int, pool: _Pooled,
                    before: set[tuple[str, str, int]], need: Sequence[tuple[int, float]],
                    rng: np.random.Generator, steps: int = DESCENT_STEPS) -> bool:
    """From a layout whose regimen rates all print, anneal the pooled rate of ``x`` at ``month``
    to print with the pooled rates of ``need`` and the pooled median, every regimen rate
    printing at every step: a move that breaks its regimen's rates is made with the one further
    move of that regimen (:func:`_count_moves`) that mends them and leaves the lowest pooled
    energy, or not at all. Each layout of energy 0 is put on the patients (:func:`_put_arms`),
    at most ``POOLED_LAYOUTS`` of them: whether one was kept (else nothing changed)."""
    arms = pool.arms
    current = pool.pooled_energy(need, within=True)
    cooling = (POOLED_END / DESCENT_START) ** (1.0 / steps)
    temperature = DESCENT_START
    tried: set[tuple] = set()
    for _ in range(steps):
        if current == 0.0 and (done := pool.put(state, x, before, month, tried)) is not None:
            return done
        temperature *= cooling
        n = int(rng.random() * len(arms))
        move = _propose(arms[n], rng.random(), rng.random(), rng.random())
        if move is None:
            continue
        undo = [pool.make(n, move)]
        if pool.arm_energy(n):
            best: tuple[float, tuple[str, int, int]] | None = None
            for mend in _count_moves(arms[n]):
                back = pool.make(n, mend)
                if not pool.arm_energy(n):
                    e = pool.pooled_energy(need, within=True)
                    if best is None or e < best[0]:
                        best = (e, mend)
                pool.make(n, back)
            if best is None:
                pool.make(n, undo[0])
                continue
            undo.append(pool.make(n, best[1]))
        got = pool.pooled_energy(need, within=True)
        if got <= current or rng.random() < np.exp(-(got - current) / temperature):
            current = got
        else:
            for back in reversed(undo):
                pool.make(n, back)
    return False


def _construct_pooled_relaxed(state: _State, x: str, month: int, limit_month: np.ndarray,
                              beyond: np.ndarray, stop_cap: Mapping[tuple[str, int], int],
                              rng: np.random.Generator, tries: int = RELAXED_TRIES) -> bool:
    """Lay out the pooled rate of ``x`` at ``month`` from relaxed starts: whether it prints
    (else nothing changed).

    Each try relaxes the count model of the three regimens from a random start
    (``synth.pooled_relax``: the pooled rate pushed in the direction of the published one,
    every regimen rate, the other pooled rate printing and the pooled median held), rounds it
    to whole counts within the caps and puts them on the patients' months and stops
    (:func:`_apply_counts`), fits each regimen back to printing its rates near those counts
    (:func:`_fit_arm`) and descends to the pooled rate with every regimen rate printing
    (:func:`_descend_pooled`). A regimen not fitted in ``FIT_FAILURES`` tries (its rates print
    only in narrow combinations of counts, MDex's CRV say) keeps its present counts in the
    later ones."""
    before = _printed(state)
    need = _needed(state, x, month, before)
    pooled_k = state.kinetics[x, "All"]
    aimed = dict(zip((6, 12), (pooled_k.rate_6, pooled_k.rate_12), strict=True))[month]
    now = dict(zip((6, 12), state.pooled[x], strict=True))[month]
    direction = -1.0 if aimed < now else 1.0
    names = state.names
    wants = [(state.kinetics[x, g].rate_6, state.kinetics[x, g].rate_12) for g in names]
    held = [(m, w) for m, w in need if m != month]
    responders = int((state.ev[x] & (state.days[x] >= 0)).sum())
    median = (median_limits(responders, int(pooled_k.median))
              if float(pooled_k.median).is_integer() and pooled_k.median < BINS - 1
              else (BINS - 1, responders, 0, 0))
    failures = [0] * len(names)
    for _ in range(tries):
        arms = [_arm(state, x, r, limit_month, beyond, stop_cap[x, r]) for r in range(len(names))]
        frozen = frozenset(n for n, f in enumerate(failures) if f >= FIT_FAILURES)
        model = build_count_model(arms, BINS, frozen)
        relaxed = relax(model, wants, month, direction, held, median, random_start(model, rng))
        if not relaxed.violation <= RELAXED_VIOLATION:  # NaN too
            continue
        _apply_counts(arms, model, round_counts(model, relaxed.x))
        pool = _Pooled(state, x, arms)
        misfit = [n for n in range(len(arms)) if not _fit_arm(pool, n, rng)]
        for n in misfit:
            failures[n] += 1
        if misfit:
            continue
        if _descend_pooled(state, x, month, pool, before, need, rng):
            return True
    return False


def _put_arms(state: _State, x: str, arms: Sequence[_Arm], before: set[tuple[str, str, int]],
              month: int) -> bool:
    """Put the count layouts of ``arms`` on the patients; keep them if the pooled rate of ``x``
    at ``month`` prints, with the medians and every rate of ``before``; else undo them."""
    d = state.days[x]
    updates: dict[int, int] = {}
    stop_updates: dict[int, int] = {}
    for a in arms:
        for i, b in zip(a.movable, a.bins, strict=True):
            if b == BINS - 1:
                if time_bin(int(d[i])) == BINS - 1:
                    continue
                updates[i] = a.late_day[i]
            elif time_bin(int(d[i])) != b:
                updates[i] = int(month_day(b))
        for j, m in zip(a.nonresponders, a.stop, strict=True):
            s_day = MONTH_DAYS[m - 1] if m >= 0 else -1
            if int(state.stop[x][j]) != s_day:
                stop_updates[j] = s_day
    undo_days = {i: int(d[i]) for i in updates}
    undo_stop = {j: int(state.stop[x][j]) for j in stop_updates}
    state.change(x, updates, stop_updates)
    if state.median_misses == 0 and before | {(x, "All", month)} <= _printed(state):
        return True
    state.change(x, undo_days, undo_stop)
    return False
