"""Number formatting: the only place where results are rounded."""

from __future__ import annotations

import math

DASH = "–"
MISSING = "—"


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
    """A time in months: whole when whole, else one decimal."""
    if _bad(x):
        return MISSING
    v = float(x)  # type: ignore[arg-type]
    return f"{v:.0f}" if v == round(v) else f"{v:.1f}"


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


def median_range(median: object, low: object, high: object) -> str:
    """``median (min–max)``."""
    if _bad(median):
        return MISSING
    return f"{months(median)} ({months(low)}{DASH}{months(high)})"


def median_ci(median: object, low: object, high: object) -> str:
    """A median survival time with its CI; ``NR`` where not reached."""
    def part(x: object) -> str:
        return "NR" if _bad(x) else months(x)
    return f"{part(median)} ({part(low)}{DASH}{part(high)})"
