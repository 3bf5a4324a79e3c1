"""Number formatting: the only place where results are rounded.

One number of decimals per kind of value, so a column never mixes ``48`` with ``90.0``: months
and percentages one decimal, p-values three. ``—`` means there is nothing to show (no patients,
or a rate the data cannot give); ``NR`` is kept for a median that was not reached.
"""

from __future__ import annotations

import math

DASH = "–"
MISSING = "—"
NOT_REACHED = "NR"
NOT_ESTIMABLE = "not estimable"


def _bad(x: object) -> bool:
    if x is None:
        return True
    try:
        return math.isnan(float(x))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return True


def num(x: object, digits: int = 1) -> str:
    """A number with ``digits`` decimals (whole numbers without decimals when ``digits`` is 0)."""
    if _bad(x):
        return MISSING
    return f"{float(x):.{digits}f}"  # type: ignore[arg-type]


def months(x: object) -> str:
    """A time in months, always with one decimal (``48.0``, not ``48``)."""
    return num(x, 1)


def landmark(months_: float) -> str:
    """A landmark time as a label: ``3-year`` for whole years, else ``6-month``."""
    if months_ % 12 == 0:
        return f"{months_ / 12:g}-year"
    return f"{months_:g}-month"


def whole_digits(*values: object) -> int:
    """0 when every known value is a whole number (e.g. scores), else 1: the decimals to show
    a set of values that belong together (one row of Table 1) alike."""
    known = [float(v) for v in values if not _bad(v)]  # type: ignore[arg-type]
    return 0 if all(v == round(v) for v in known) else 1


def pct(x: object, digits: int = 1) -> str:
    """A percent value (already ×100) with one decimal."""
    return num(x, digits)


def p_value(p: object) -> str:
    """A p-value as journals print it: three decimals, ``<0.001`` below."""
    if _bad(p):
        return MISSING
    v = float(p)  # type: ignore[arg-type]
    return "<0.001" if v < 0.001 else f"{v:.3f}"


def p_text(p: object, label: str = "p") -> str:
    """``p = 0.012`` or ``p < 0.001`` for running text (``label not testable`` if missing)."""
    shown = p_value(p)
    if shown == MISSING:
        return f"{label} not testable"
    return f"{label} < {shown[1:]}" if shown.startswith("<") else f"{label} = {shown}"


def n_of(n: object, big_n: object) -> str:
    """``n/N``."""
    if _bad(n) or _bad(big_n):
        return MISSING
    return f"{int(n)}/{int(big_n)}"  # type: ignore[call-overload]


def n_pct(n: object, big_n: object, percent: object) -> str:
    """``n/N (p%)``."""
    if _bad(big_n) or int(big_n) == 0:  # type: ignore[call-overload]
        return MISSING
    return f"{n_of(n, big_n)} ({pct(percent)}%)"


def rate_ci(value: object, low: object, high: object) -> str:
    """``rate (low–high)``."""
    if _bad(value):
        return MISSING
    if _bad(low) and _bad(high):
        return pct(value)
    return f"{pct(value)} ({pct(low)}{DASH}{pct(high)})"


def pct_text(x: object) -> str:
    """A percent for running text: ``46.4%``, or ``not estimable`` when missing."""
    return NOT_ESTIMABLE if _bad(x) else f"{pct(x)}%"


def median_range(median: object, low: object, high: object, digits: int = 1) -> str:
    """``median (min–max)``, every number with ``digits`` decimals (one: months)."""
    if _bad(median):
        return MISSING
    return f"{num(median, digits)} ({num(low, digits)}{DASH}{num(high, digits)})"


def median_ci(median: object, low: object, high: object, n: object = None) -> str:
    """A median time in months with its CI; ``NR`` where not reached, and a plain ``NR`` when
    neither the median nor its bounds are (not ``NR (NR–NR)``); ``—`` when there is no
    patient (``n`` is 0)."""
    if n is not None and not _bad(n) and int(n) == 0:  # type: ignore[call-overload]
        return MISSING
    if _bad(median) and _bad(low) and _bad(high):
        return NOT_REACHED

    def part(x: object) -> str:
        return NOT_REACHED if _bad(x) else months(x)
    return f"{part(median)} ({part(low)}{DASH}{part(high)})"
