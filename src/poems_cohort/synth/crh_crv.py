"""CRH/CRV counts that follow from the CRH and CRV counts.

CRH/CRV means either response. Who is evaluable has two readings
(``EndpointSettings.crh_crv_evaluable``):

``"both-or-responder"`` (the default, the paper's)
    evaluable for both CRH and CRV, or a responder to either. With ``E`` patients evaluable for
    both, ``r_a`` CRH responders among those evaluable for CRH only and ``r_b`` CRV responders
    among those evaluable for CRV only, CRH/CRV has ``E + r_a + r_b`` evaluable patients and
    ``u + r_a + r_b`` responders, ``u`` the responders to either among the ``E``
    (:func:`layout`). The solver's CRH/CRV counts of Table 2 fit this reading in all six regimen
    × risk cells.
``"either"``
    evaluable for CRH or for CRV: the evaluable count lies between the larger of the CRH and CRV
    evaluable counts and their sum (at most the cell size), the responders between the larger
    responder count and the sum (:func:`feasible`). The solver's counts break that in four
    cells.

:func:`solve_crh_crv` picks CRH/CRV cells that fit the reading: every regimen and subgroup rate
must print as published (or, where no count can, come nearest), then as many pairwise p-values
(regimen vs ASCT, the study's SPSS rule) as possible print as published, then the p-values come
as near as they can, then the cells stay nearest the solver's counts.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
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


@dataclass(frozen=True, slots=True)
class Layout:
    """How CRH/CRV arises in one cell under ``"both-or-responder"``.

    ``both_ev``: evaluable for both CRH and CRV; ``crh_only_responders``: CRH responders among
    the patients evaluable for CRH only; ``crv_only_responders``: likewise for CRV;
    ``overlap``: patients evaluable for both who reach both.
    """

    both_ev: int
    crh_only_responders: int
    crv_only_responders: int
    overlap: int


def _layouts(h: Cell, v: Cell, size: int) -> Iterator[tuple[Cell, Layout]]:
    """Every CRH/CRV cell reachable under ``"both-or-responder"``, with a layout giving it."""
    for both_ev in range(min(h.N, v.N), max(0, h.N + v.N - size) - 1, -1):
        a, b = h.N - both_ev, v.N - both_ev
        for r_a in range(min(a, h.n) + 1):
            x = h.n - r_a
            if x > both_ev:
                continue
            for r_b in range(min(b, v.n) + 1):
                y = v.n - r_b
                if y > both_ev:
                    continue
                for u in range(max(x, y), min(both_ev, x + y) + 1):
                    yield (Cell(u + r_a + r_b, both_ev + r_a + r_b),
                           Layout(both_ev, r_a, r_b, x + y - u))


@lru_cache(maxsize=4096)
def reachable(h: Cell, v: Cell, size: int) -> dict[Cell, Layout]:
    """CRH/CRV cells reachable under ``"both-or-responder"`` → the layout with the most patients
    evaluable for both (then the fewest responders evaluable for one only)."""
    out: dict[Cell, Layout] = {}
    for cell, lay in _layouts(h, v, size):
        out.setdefault(cell, lay)
    return out


def _exact_layout(h: Cell, v: Cell, hv: Cell, size: int) -> Layout | None:
    """A layout giving exactly ``hv`` (the most patients evaluable for both), or ``None``.

    Linear in the cell size: for each count ``E`` evaluable for both, ``s = hv.N - E`` single
    responders and ``u = hv.n - s`` responders among the ``E`` are fixed, and every remaining
    condition bounds the CRH single responders ``r_a`` from one side.
    """
    for both_ev in range(min(h.N, v.N), max(0, h.N + v.N - size) - 1, -1):
        a, b = h.N - both_ev, v.N - both_ev
        single = hv.N - both_ev
        u = hv.n - single
        if single < 0 or u < 0 or u > both_ev or u > h.n + v.n - single:
            continue
        # r_a + r_b = single; r_a <= min(a, h.n); r_b <= min(b, v.n);
        # x = h.n - r_a <= min(E, u); y = v.n - r_b <= min(E, u)
        lo = max(0, single - min(b, v.n), h.n - min(both_ev, u))
        hi = min(a, h.n, single, single - (v.n - min(both_ev, u)))
        if lo <= hi:
            r_a = lo
            r_b = single - r_a
            x, y = h.n - r_a, v.n - r_b
            return Layout(both_ev, r_a, r_b, x + y - u)
    return None


def layout(h: Cell, v: Cell, hv: Cell, size: int) -> Layout:
    """The layout giving CRH/CRV ``hv`` from CRH ``h`` and CRV ``v`` in a cell of ``size``
    patients under ``"both-or-responder"``; when none does (scaled cohorts round each count on
    its own), the one giving the nearest reachable cell."""
    for dist in range(0, 2 * size + 1):
        for d_big in range(-dist, dist + 1):
            for d_n in {dist - abs(d_big), abs(d_big) - dist}:
                big_n, n = hv.N + d_big, hv.n + d_n
                if 0 <= n <= big_n <= size:
                    found = _exact_layout(h, v, Cell(n, big_n), size)
                    if found is not None:
                        return found
    both = min(h.N, v.N)
    return Layout(both, 0, 0, max(0, min(h.n, v.n, h.n + v.n - both)))


def _close(printed: Printed, x: float, relative: float = 0.0) -> bool:
    """Within the reproduction's ``close``: at most 2 units of the last printed digit apart at
    the printed precision, or (``relative`` > 0) within that fraction of the printed value."""
    unit = 10.0 ** (-printed.decimals)
    shown = printed.scaled  # half rounds up, as printed
    ours = int(x / unit + 0.5 + 1e-9)
    return abs(ours - shown) <= 2 or (relative > 0 and abs(x - printed.value)
                                      <= relative * printed.value + 1e-12)


def _rate_status(printed: Printed, cell: Cell) -> int:
    if printed.admits_percent(cell.n, cell.N):
        return 0
    return 1 if _close(printed, 100 * cell.n / cell.N) else 2


def _p_status(printed: Printed, p: float) -> int:
    if printed.admits_p(p):
        return 0
    return 1 if _close(printed, p, relative=0.10) else 2


def _options(h: Cell, v: Cell, size: int, rate: Printed, reading: str) -> list[Cell]:
    """The feasible cells whose rate prints as ``rate`` or is close to it (else the nearest)."""
    if reading == "both-or-responder":
        cells = sorted(reachable(h, v, size), key=lambda c: (c.N, c.n))
    else:
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
                  reference: str = "ASCT",
                  reading: str = "both-or-responder") -> dict[str, dict[str, Cell]]:
    """CRH/CRV cells per regimen (``low``, ``medium_high``, ``all``) consistent with CRH and CRV.

    ``crh``/``crv``: the solved cells; ``sizes[regimen][subgroup]``: patients per cell;
    ``rates``/``p_values``: the printed CRH/CRV rates and p-values vs ``reference`` per column;
    ``preferred``: the solver's CRH/CRV cells (the last tie-break); ``reading``: who is
    evaluable for CRH/CRV (``"both-or-responder"`` or ``"either"``). The choice minimises, in
    order: rates neither printing as published nor within the reproduction's ``close`` (2 units
    of the last printed digit), p-values likewise (or within 10%), rates and
    p-values not printing as published, the distance of the p-values to the printed ones, and
    the distance of the counts to ``preferred``.
    """
    per_regimen: dict[str, list[tuple[tuple[int, int], dict[str, Cell]]]] = {}
    for reg in crh:
        printed = {c: Printed.parse(rates[reg][c]) for c in COLUMNS}
        opts = {sg: _options(crh[reg][sg], crv[reg][sg], sizes[reg][sg], printed[sg], reading)
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
