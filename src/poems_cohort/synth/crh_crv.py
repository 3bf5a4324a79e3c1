"""CRH/CRV counts that follow from the CRH and CRV counts.

CRH/CRV means either response: a patient is evaluable when evaluable for CRH or for CRV, and
responds when reaching CRH or CRV. Its evaluable count per cell therefore lies between the
larger of the CRH and CRV evaluable counts and their sum (at most the cell size), and its
responders between the larger responder count and the sum. The solved CRH/CRV counts of
Table 2 ignore that link (four cells have fewer CRH/CRV evaluable patients than CRH or CRV
evaluable ones), so the generator solves CRH/CRV again inside these bounds: every regimen and
subgroup rate must print as published (or, where no count can, come nearest), then as many pairwise p-values (regimen vs ASCT, the
study's SPSS rule) as possible print as published, then the p-values come as near as they can,
then the cells stay nearest the solver's counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from itertools import product

from poems_cohort.synth.pvalues import p_value
from poems_cohort.synth.solver import Printed

COLUMNS: tuple[str, ...] = ("low", "medium_high", "all")


@dataclass(frozen=True, slots=True)
class Cell:
    """``n`` responders of ``N`` evaluable patients."""

    n: int
    N: int


def feasible(h: Cell, v: Cell, hv: Cell) -> bool:
    """Whether CRH ``h``, CRV ``v`` and CRH/CRV ``hv`` fit one set of patients.

    With ``E`` patients evaluable for both and ``B`` responding to both, ``B <= E`` and the
    responders to one response only must fit: CRH-only responders beyond the CRH-only
    evaluable patients, and likewise for CRV, sit among the ``E - B`` remaining patients.
    """
    both_ev = h.N + v.N - hv.N
    both = h.n + v.n - hv.n
    if not (0 <= both_ev <= min(h.N, v.N) and 0 <= both <= min(h.n, v.n, both_ev)):
        return False
    extra_h = max(0, h.n - both - (h.N - both_ev))
    extra_v = max(0, v.n - both - (v.N - both_ev))
    return both + extra_h + extra_v <= both_ev


def _rate_status(printed: Printed, cell: Cell) -> int:
    if printed.admits_percent(cell.n, cell.N):
        return 0
    gap = abs(100 * cell.n / cell.N - printed.value)
    return 1 if gap <= min(1.0, 100 / cell.N) + 1e-9 else 2


def _p_status(printed: Printed, p: float) -> int:
    if printed.admits_p(p):
        return 0
    same_side = (p < 0.05) == (printed.value < 0.05)
    return 1 if same_side and printed.distance(p) <= 0.01 + 1e-9 else 2


def _options(h: Cell, v: Cell, size: int, rate: Printed) -> list[Cell]:
    """The feasible cells whose rate prints as ``rate`` or is close to it (else the nearest)."""
    cells = [Cell(n, big_n) for big_n in range(max(h.N, v.N), min(h.N + v.N, size) + 1)
             for n in range(max(h.n, v.n), min(h.n + v.n, big_n) + 1)
             if feasible(h, v, Cell(n, big_n))]
    near = [c for c in cells if _rate_status(rate, c) < 2]
    if near or not cells:
        return near
    gap = min(abs(100 * c.n / c.N - rate.value) for c in cells)
    return [c for c in cells if abs(100 * c.n / c.N - rate.value) <= gap + 1e-9]


@lru_cache(maxsize=65536)
def _pair_p(a: Cell, ref: Cell) -> float:
    return p_value("spss", (a.n, ref.n), (a.N, ref.N))


def solve_crh_crv(crh: Mapping[str, Mapping[str, Cell]], crv: Mapping[str, Mapping[str, Cell]],
                  sizes: Mapping[str, Mapping[str, int]],
                  rates: Mapping[str, Mapping[str, str]],
                  p_values: Mapping[str, Mapping[str, str]],
                  preferred: Mapping[str, Mapping[str, Cell]],
                  reference: str = "ASCT") -> dict[str, dict[str, Cell]]:
    """CRH/CRV cells per regimen (``low``, ``medium_high``, ``all``) consistent with CRH and CRV.

    ``crh``/``crv``: the solved cells; ``sizes[regimen][subgroup]``: patients per cell;
    ``rates``/``p_values``: the printed CRH/CRV rates and p-values vs ``reference`` per column;
    ``preferred``: the solver's CRH/CRV cells (the last tie-break). The choice minimises, in
    order: rates neither printing as published nor within the reproduction tolerance (one
    patient, at most 1 point), p-values likewise (same side of 0.05, within 0.01), rates and
    p-values not printing as published, the distance of the p-values to the printed ones, and
    the distance of the counts to ``preferred``.
    """
    per_regimen: dict[str, list[tuple[tuple[int, int], dict[str, Cell]]]] = {}
    for reg in crh:
        printed = {c: Printed.parse(rates[reg][c]) for c in COLUMNS}
        opts = {sg: _options(crh[reg][sg], crv[reg][sg], sizes[reg][sg], printed[sg])
                for sg in ("low", "medium_high")}
        combos = []
        for lo, mh in product(opts["low"], opts["medium_high"]):
            cells = {"low": lo, "medium_high": mh, "all": Cell(lo.n + mh.n, lo.N + mh.N)}
            status = [_rate_status(printed[c], cells[c]) for c in COLUMNS]
            combos.append(((sum(s == 2 for s in status), sum(s > 0 for s in status)), cells))
        if not combos:
            raise ValueError(f"no CRH/CRV counts for {reg} fit its CRH and CRV counts")
        per_regimen[reg] = combos

    def drift(reg: str, cells: Mapping[str, Cell]) -> int:
        return sum(abs(cells[sg].N - preferred[reg][sg].N) + abs(cells[sg].n - preferred[reg][sg].n)
                   for sg in ("low", "medium_high"))

    def score(reg: str, rate_key: tuple[int, int], cells: Mapping[str, Cell],
              ref: Mapping[str, Cell]) -> tuple[int, int, int, int, float, int]:
        misses, inexact, gap = 0, 0, 0.0
        for col in COLUMNS:
            text = p_values.get(reg, {}).get(col)
            if not text:
                continue
            target = Printed.parse(text)
            p = _pair_p(cells[col], ref[col])
            status = _p_status(target, p)
            misses += status == 2
            inexact += status > 0
            gap += target.distance(p)
        return (rate_key[0], misses, rate_key[1], inexact, round(gap, 9), drift(reg, cells))

    best: tuple | None = None
    best_cells: dict[str, dict[str, Cell]] = {}
    others = [r for r in per_regimen if r != reference]
    for ref_key, ref in per_regimen[reference]:
        total = [ref_key[0], 0, ref_key[1], 0, 0.0, drift(reference, ref)]
        chosen = {reference: dict(ref)}
        for reg in others:
            s, cells = min(((score(reg, k, c, ref), c) for k, c in per_regimen[reg]),
                           key=lambda sc: (sc[0], tuple((c.n, c.N) for c in sc[1].values())))
            total = [a + b for a, b in zip(total, s, strict=True)]
            chosen[reg] = dict(cells)
        key = (total[0], total[1], total[2], total[3], round(total[4], 9), total[5])
        if best is None or key < best:
            best, best_cells = key, chosen
    return best_cells
