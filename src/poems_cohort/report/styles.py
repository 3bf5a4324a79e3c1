"""One colour, line style, marker and hatch per group, the same in every figure.

Colours are Okabe–Ito; the line style and hatch keep the groups apart in greyscale print.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
             "#000000")
LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1)), (0, (1, 1)))
HATCHES = ("", "////", "....", "xxxx", "\\\\\\\\", "++++")
MARKERS = ("o", "s", "^", "D", "v", "P")
FIXED_COLOURS = {"ASCT": 0, "MDex": 1, "LDex": 2}
GROUP_STYLE_OVERRIDES = {"CRV": ("#000000", "-", "", "o"), "No CRV": ("#D55E00", "--", "////", "s")}


@dataclass(frozen=True, slots=True)
class Style:
    """How one group is drawn."""

    colour: str
    linestyle: object
    hatch: str
    marker: str


def styles(groups: Sequence[str]) -> dict[str, Style]:
    """A style per group, stable across figures (ASCT, MDex, LDex, CRV and No CRV keep theirs)."""
    out: dict[str, Style] = {g: Style(*GROUP_STYLE_OVERRIDES[g]) for g in groups
                             if g in GROUP_STYLE_OVERRIDES}
    rest = [g for g in groups if g not in out]
    used = {FIXED_COLOURS[g] for g in rest if g in FIXED_COLOURS}
    free = (i for i in range(len(OKABE_ITO)) if i not in used)
    for g in rest:
        i = FIXED_COLOURS[g] if g in FIXED_COLOURS else next(free)
        out[g] = Style(OKABE_ITO[i % len(OKABE_ITO)], LINESTYLES[i % len(LINESTYLES)],
                       HATCHES[i % len(HATCHES)], MARKERS[i % len(MARKERS)])
    return out
