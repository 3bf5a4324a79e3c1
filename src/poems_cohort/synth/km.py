"""Day-based Kaplan–Meier helpers shared by the generator's searches.

All times are whole days from treatment start; months are days / 30.4375 as in the endpoint
rules, and an event on or before day ``HORIZON_DAYS`` counts in a 3-year rate.
"""

from __future__ import annotations

import math

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
    if len(first) + len(second) > size:
        raise ValueError("more times than patients")
    n1, n2 = len(first), len(second)
    lo = np.full((n1 + 1, n2 + 1), np.inf)
    hi = np.full((n1 + 1, n2 + 1), -np.inf)
    lo[0, 0] = hi[0, 0] = 0.0
    for i in range(n1 + 1):
        for j in range(n2 + 1):
            if i == j == 0:
                continue
            at_risk = size - (i + j - 1)
            for pi, pj, event in ((i - 1, j, first[i - 1] if i else None),
                                  (i, j - 1, second[j - 1] if j else None)):
                if event is None:
                    continue
                # the last patient at risk having the event takes the curve to 0
                step = (0.0 if not event else -math.inf if at_risk == 1
                        else math.log1p(-1.0 / at_risk))
                lo[i, j] = min(lo[i, j], lo[pi, pj] + step)
                hi[i, j] = max(hi[i, j], hi[pi, pj] + step)
    return math.exp(lo[n1, n2]), math.exp(hi[n1, n2])
