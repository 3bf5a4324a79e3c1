"""One colour, line style, marker and hatch per group, the same in every figure, and the
rule that every label is drawn as literal text.

Colours are Okabe–Ito (eight, so up to eight arms never share a colour); the line style, marker
and hatch keep the groups apart in greyscale print and for colour-blind readers.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # matplotlib.typing exists from matplotlib 3.8; only the checker reads it
    from matplotlib.typing import LineStyleType

# Okabe & Ito (2008), in the order arms receive them: yellow last, it is the faintest on white
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000",
             "#F0E442")
# eight dash patterns that stay apart at 1.3 pt: solid, dashed, dash-dot, dotted, long dash,
# dash-dot-dot, sparse dots, long-short dash
LINESTYLES: tuple[LineStyleType, ...] = ("-", "--", "-.", ":", (0, (8, 2)),
                                         (0, (5, 1.5, 1, 1.5, 1, 1.5)), (0, (1, 3)),
                                         (0, (9, 2, 2, 2)))
HATCHES = ("", "////", "....", "xxxx", "\\\\\\\\", "++++", "||||", "----")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
FIXED_COLOURS = {"ASCT": 0, "MDex": 1, "LDex": 2}
GROUP_STYLE_OVERRIDES: dict[str, tuple[str, LineStyleType, str, str]] = {
    "CRV": ("#000000", "-", "", "o"),
    "No CRV": ("#D55E00", "--", "////", "s"),
}
#: a figure with more groups than this also marks each curve with its group's marker
MARKED_ABOVE = 4


@dataclass(frozen=True, slots=True)
class Style:
    """How one group is drawn."""

    colour: str
    linestyle: LineStyleType
    hatch: str
    marker: str


def styles(groups: Sequence[str]) -> dict[str, Style]:
    """A style per group, stable across figures (ASCT, MDex, LDex, CRV and No CRV keep theirs).

    Up to eight groups get eight different colours, line styles, hatches and markers; beyond
    eight they repeat.
    """
    out: dict[str, Style] = {g: Style(*GROUP_STYLE_OVERRIDES[g]) for g in groups
                             if g in GROUP_STYLE_OVERRIDES}
    rest = [g for g in groups if g not in out]
    used = {FIXED_COLOURS[g] for g in rest if g in FIXED_COLOURS}
    free = iter([i for i in range(len(OKABE_ITO)) if i not in used] * (1 + len(rest)))
    for g in rest:
        i = FIXED_COLOURS[g] if g in FIXED_COLOURS else next(free)
        out[g] = Style(OKABE_ITO[i % len(OKABE_ITO)], LINESTYLES[i % len(LINESTYLES)],
                       HATCHES[i % len(HATCHES)], MARKERS[i % len(MARKERS)])
    return out


_WHITESPACE = {"\t", "\n", "\r", "\v", "\f", "\x85", "\u2028", "\u2029"}


def literal(text: object) -> str:
    """``text`` as matplotlib must be given it to print exactly these characters.

    Dollar signs are escaped so that ``$x$`` is never read as mathtext (``a_b^c`` has no
    meaning outside mathtext); line and other whitespace control characters become a space
    and every other control or unassigned character becomes U+FFFD, so none reaches the
    renderer.
    """
    out = []
    for ch in str(text):
        if ch in _WHITESPACE:
            out.append(" ")
        elif unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn"):
            out.append("\ufffd")
        elif ch == "$":
            out.append("\\$")
        else:
            out.append(ch)
    return "".join(out)
