"""Day-based Kaplan–Meier helpers shared by the generator's searches.

All times are whole days from treatment start; months are days / 30.4375 as in the endpoint
rules, and an event on or before day ``HORIZON_DAYS`` counts in a 3-year rate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import product

import numpy as np

DAYS_PER_MONTH = 30.4375
HORIZON_DAYS = int(36 * DAYS_PER_MONTH)  # events on or before this day count in the 3-year rate


def km_at(days: np.ndarray, event: np.ndarray, horizon: int = HORIZON_DAYS) -> float:
    """Kaplan–Meier survival just after ``horizon`` (events before censorings at ties)."""
    order = np.lexsort((~event.astype(bool), days))
    d, e = days[order], event[order].astype(bool)
    at_risk = len(d) - np.arange(len(d))
    keep = e & (d <= horizon)
    return float(np.prod(1.0 - 1.0 / at_risk[keep]))


def prints_as(percent: float, printed: float, decimals: int = 1) -> bool:
    """Whether ``percent`` is printed as ``printed`` when rounded to ``decimals``.

    Values within 0.002 of a rounding boundary do not count, so that the answer holds whichever
    way a report rounds halves.
    """
    half = 0.5 * 10.0**-decimals
    return printed - half + 0.002 <= percent < printed + half - 0.002


def km_values(n: int, lo: float, hi: float, first: bool = False) -> list[float]:
    """Every Kaplan–Meier survival in ``[lo, hi)`` that ``n`` patients can give, at any time.

    A Kaplan–Meier estimate is a product of factors ``1 - d / m`` over its event times, with
    ``m`` patients at risk and ``d`` of them having the event; between two event times any
    number of patients may be censored, so the risk set of the next event time is any
    ``m' <= m - d``. The search walks every such sequence whose product stays at or above
    ``lo`` (the product only falls), which is exhaustive: the returned list holds every
    reachable value of the interval (rounded to 10 digits), whatever the event and censoring
    times. Used to prove that a printed rate cannot come from a subgroup of ``n`` patients.
    With ``first`` the walk stops at the first value found (enough to show one exists).
    """
    found: set[float] = set()
    seen: set[tuple[int, float]] = set()
    stack = [(n, 1.0)]
    while stack:
        m_left, prod = stack.pop()
        if lo <= prod < hi:
            found.add(round(prod, 10))
            if first:
                break
        for m in range(m_left, 0, -1):
            for d in range(1, m + 1):
                q = prod * (1.0 - d / m)
                if q < lo:
                    break
                key = (m - d, round(q, 12))
                if key not in seen:
                    seen.add(key)
                    stack.append(key)
    return sorted(found)


def pooled_range(first: tuple[bool, ...], second: tuple[bool, ...], size: int
                 ) -> tuple[float, float]:
    """The lowest and highest Kaplan–Meier survival of two subgroups pooled, over every order
    of their times that keeps each subgroup's own order.

    ``first`` and ``second`` are the two subgroups' times up to the horizon in their order, an
    event ``True`` and a censoring ``False`` (times after the horizon are left out: they are at
    risk throughout); ``size`` is the patients of both. Each subgroup's own curve is fixed by
    its order, the pooled one by how the two orders interleave: the patients at risk at the
    pooled curve's k-th time are ``size - k``, whatever subgroup it comes from, so a walk over
    the grid of (times of the first, times of the second) passed gives the extremes exactly
    (distinct times; a tie of an event with a censoring counts the event first, as an order
    that passes the censoring later). Used to show which pooled rates no layout keeping both
    subgroups' orders can print (docs/reproduction.md, "Results on the bundled cohort").
    """
    return interleaved_range((first, second), size)


def interleaved_range(orders: Sequence[Sequence[bool]], size: int) -> tuple[float, float]:
    """:func:`pooled_range` for any number of groups: the lowest and highest Kaplan–Meier
    survival of the groups pooled over every interleaving of their ``orders`` (each group's
    times up to the horizon in its order, ``True`` an event), ``size`` patients in all.

    The walk visits the grid of times passed in each group (the product of the orders'
    lengths plus one: about 10^5 points for the three regimens of the published cohort), each
    point from the points one time behind it in one group. Used for the cohort's 3-year rates,
    which pool the regimens: with each regimen's order of events and censorings held (so every
    regimen's own curve), no layout prints a cohort rate outside the range.
    """
    orders = [tuple(bool(x) for x in o) for o in orders]
    if sum(len(o) for o in orders) > size:
        raise ValueError("more times than patients")
    shape = tuple(len(o) + 1 for o in orders)
    lo = np.full(shape, np.inf)
    hi = np.full(shape, -np.inf)
    origin = (0,) * len(orders)
    lo[origin] = hi[origin] = 0.0
    for point in product(*(range(n) for n in shape)):
        if point == origin:
            continue
        at_risk = size - (sum(point) - 1)
        for g, k in enumerate(point):
            if not k:
                continue
            before = point[:g] + (k - 1,) + point[g + 1:]
            # the last patient at risk having the event takes the curve to 0
            step = (0.0 if not orders[g][k - 1] else -math.inf if at_risk == 1
                    else math.log1p(-1.0 / at_risk))
            lo[point] = min(lo[point], lo[before] + step)
            hi[point] = max(hi[point], hi[before] + step)
    end = tuple(n - 1 for n in shape)
    return math.exp(lo[end]), math.exp(hi[end])


def order_up_to(days: np.ndarray, event: np.ndarray, horizon: int = HORIZON_DAYS
                ) -> tuple[bool, ...]:
    """A group's times up to ``horizon`` in their order (an event ``True``, before a censoring
    on the same day), as :func:`interleaved_range` takes them."""
    days = np.asarray(days)
    event = np.asarray(event, bool)
    keep = days <= horizon
    order = np.lexsort((~event[keep], days[keep]))
    return tuple(bool(x) for x in event[keep][order])
