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

Moves are annealed on an energy counting the pooled medians and the regimen and pooled rates
that do not print and the distance of the latter; the best layout seen (fewest pooled medians,
then regimen rates, then pooled rates not printing, then the smallest distance) is returned. The score is computed from per-day counts of events and censorings
at or before 12 months, updated for the one or two patients a move touches, so the search needs
only the survival step's dates, never a particular random stream.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from poems_cohort.synth.km import DAYS_PER_MONTH, prints_as
from poems_cohort.synth.targets import Kinetics

RESPONSES: tuple[str, str] = ("crh", "crv")
#: moves tried at most (the search ends sooner once every rate prints)
SEARCH_STEPS = 60_000
#: months after the first year a retimed response may move to (they do not change the rates)
LATE_MONTHS = 24
#: at most this fraction of a regimen's patients evaluable for a response have their
#: assessments of it stop early (lost to that follow-up while still seen for the others)
STOP_FRACTION = 0.25
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
        the counts and the rates current (and the pooled medians, unless ``retimed`` is false:
        the months only move between patients)."""
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
        return out

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
                      steps: int = SEARCH_STEPS) -> AimedDays:
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

    def propose(x: str, focus: np.ndarray
                ) -> tuple[dict[int, int], dict[int, int], bool] | None:
        """Make one move of ``x`` among the ``focus`` patients: the changes undoing it."""
        d = state.days[x]
        move = rng.random()
        undo: tuple[dict[int, int], dict[int, int], bool]
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
                undo = ({}, {p: int(stop[p])}, False)
                state.change(x, {}, {p: -1})
            else:
                if (stop[(regimen == r)] >= 0).sum() >= stop_cap[x, r]:
                    return None
                t, _ = state.time_of(x, p)
                days_before = STOP_DAYS[STOP_DAYS < min(t, CAP)]
                if not len(days_before):
                    return None
                undo = ({}, {p: -1}, False)
                state.change(x, {}, {p: int(days_before[rng.integers(len(days_before))])})
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
                undo = ({i: int(d[i])}, {}, True)
                state.change(x, {i: new_day})
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
                state.change(x, {i: -1, j: int(d[i])}, retimed=False)
                lo[x][j], hi[x][j] = lo[x][i], hi[x][i]
        return undo

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
                undos.append(made)
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
    state = _State(best_days, state.ev, regimen, names, state.last, kinetics)
    state.change("crh", {}, {p: int(v) for p, v in enumerate(best_stop["crh"]) if v >= 0})
    state.change("crv", {}, {p: int(v) for p, v in enumerate(best_stop["crv"]) if v >= 0})
    return AimedDays(days=_copy(state.days), stop=_copy(state.stop),
                     rates=state.all_group_rates(),
                     misses=tuple((x, g, m) for x, g, m, _ in state.misses()))


def _energy(score: tuple[int, int, int, float]) -> float:
    """The annealed quantity: a pooled median not printing outweighs everything, a regimen
    rate not printing weighs ``REGIMEN_MISS`` points, a pooled rate ``POOLED_MISS``, plus the
    distance of the rates not printing (percentage points)."""
    return 1000.0 * score[0] + REGIMEN_MISS * score[1] + POOLED_MISS * score[2] + score[3]


def _copy(arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: v.copy() for k, v in arrays.items()}
