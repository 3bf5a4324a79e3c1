"""Day-based Kaplan–Meier helpers shared by the generator's searches.

All times are whole days from treatment start; months are days / 30.4375 as in the endpoint
rules, and an event on or before day ``HORIZON_DAYS`` counts in a 3-year rate.
"""

from __future__ import annotations

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
