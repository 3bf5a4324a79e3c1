"""Whether a pooled Kaplan–Meier rate at two landmarks can print beside its groups' rates.

The paper prints cumulative response rates (1 − Kaplan–Meier) at 6 and 12 months for each
regimen and for all patients pooled. A pooled Kaplan–Meier curve is not a weighted mean of its
groups' curves: when the groups are censored unequally the pooled curve can lie above every
size-weighted mean. :func:`pooled_rate_bound` decides, for every order of responses and
censorings at once, whether the pooled rates can print together with the groups' rates; when
it says ``excluded`` no data set can print them all (a proof, not a search).

The argument. Write ``f(n) = −log(1 − 1/n)``: a Kaplan–Meier curve is ``exp(−Σ f(n_e))`` over its
events ``e``, with ``n_e`` at risk (tied events taken one at a time, which gives the same
product). Let ``t1 < t2`` be the landmarks and ``m_g`` the patients of group ``g`` still at risk
just after ``t1``; ``M_g`` is the sum of the other groups' ``m``.

* Up to ``t1`` the other groups have at least ``M_g`` at risk, so a group-``g`` event at ``n``
  at risk adds at most ``f(n + M_g)`` to the pooled hazard. The group's events up to ``t1`` sit
  at distinct risk sets in ``(m_g, N_g]`` and add at most ``−log S_lo(t1)`` to its own hazard;
  the pooled hazard they add is at most the fractional knapsack over those risk sets taken from
  the top (``f(n + M) / f(n)`` grows with ``n``: ``f(x) = Σ x^−k / k`` is log-convex).
* After ``t1`` the other groups have at most ``M_g`` at risk, so an event adds at least
  ``f(n + M_g)``. The group's events in ``(t1, t2]`` add at least ``log S_lo(t1) − log S_hi(t2)``
  to its own hazard, at risk sets ``n_0 > n_1 > …`` at most ``m_g``, and every responder who has
  not yet responded is at risk: ``n_c ≥ R_g − K_g(t1) − c``. The least pooled hazard they add
  comes from a dynamic programme over those sequences (own hazards rounded up to ``delta``, which
  only lowers the bound).
* The pooled rates need pooled hazard of at least ``−log S_hi(t1)`` up to ``t1`` and at most
  ``log S_hi(t1) − log S_lo(t2)`` between the landmarks. Every ``(m_g)`` is tried; none passing
  both is the proof.

Ties between groups: however the events tied at one time are ordered (one at a time, which
gives the same product), the other groups' counts then lie between their ``m`` and their
numbers at risk at that time, so both inequalities hold; a censoring tied with an event is at
risk at it. Events at ``t1`` count before it (their own risk set is at least ``m_g + 1``),
events at ``t2`` between the landmarks. The floor of the late risk sets also uses
``K_g(t1) ≤ N_g − m_g``. Printed values are closed intervals (either rounding of a half), and a
bound within ``SLACK`` of its threshold passes: some data sets meet the bound exactly (the
tests hold one), where floating-point error alone would otherwise exclude them.

The argument reads the rates as 1 − Kaplan–Meier with every responder an event (as Figure 1b
draws them); a cumulative incidence with death as a competing risk is not covered.

``N_g`` (most patients ever at risk) and ``R_g`` (fewest responders) enter only as bounds, so a
proof at ``N_g`` and ``R_g`` holds for every smaller group and every larger responder count: the
study's proof uses every patient of the regimen as at risk.

The counts of events follow from the printed group rates: at most ``floor(N (rate + half) / 100)``
events before a landmark (each factor is at most ``1 − 1/(N − j)``), and at least
``ceil(R (rate − half) / 100)`` before ``t1`` (each factor is at least ``1 − 1/(R − j)``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pandas as pd

from poems_cohort.synth.published import load_published
from poems_cohort.synth.solver import Printed
from poems_cohort.synth.targets import load_solved_counts

#: the dynamic programme's grid for a group's own hazard (rounded up: a lower bound)
DELTA = 0.0005
#: pooled hazards within this of a threshold count as reaching it (floating-point slack)
SLACK = 1e-12


def _f(n: np.ndarray | float) -> np.ndarray:
    """The hazard one event adds at ``n`` at risk: ``−log(1 − 1/n)``."""
    return -np.log1p(-1.0 / np.asarray(n, dtype=float))


def _interval(printed: str) -> tuple[Fraction, Fraction]:
    """The percents printing as ``printed`` (closed interval: either rounding of a half)."""
    exact = Printed.parse(printed)
    scale = 2 * 10**exact.decimals
    return Fraction(2 * exact.scaled - 1, scale), Fraction(2 * exact.scaled + 1, scale)


def _check_cumulative(who: str, early: str, late: str | None) -> None:
    """Refuse printed cumulative rates (``early``, then ``late`` when given) that leave no one
    unresponded or that fall; ``who`` prefixes the message."""
    for printed in (early, late):
        if printed is not None and _interval(printed)[1] >= 100:
            raise ValueError(f"{who}a rate of {printed}% leaves no one unresponded")
    if late is not None and _interval(late)[1] < _interval(early)[0]:
        raise ValueError(f"{who}a cumulative rate cannot fall, from {early}% to {late}%")


@dataclass(frozen=True, slots=True)
class GroupRates:
    """One group's printed cumulative rates (percent) at the two landmarks, and its size bounds.

    ``at_risk_max``: the most patients the group can have at risk at time 0;
    ``responders_min``: the fewest patients of it known to respond at some time.
    """

    name: str
    at_risk_max: int
    responders_min: int
    early: str
    late: str

    def __post_init__(self) -> None:
        if not 0 <= self.responders_min <= self.at_risk_max:
            raise ValueError(f"{self.name}: responders {self.responders_min} must lie in "
                             f"0..{self.at_risk_max} (the patients at risk)")
        _check_cumulative(f"{self.name}: ", self.early, self.late)


@dataclass(frozen=True, slots=True)
class GroupBounds:
    """What the bound derives from one group's printed rates (:meth:`PooledRateBound.to_frame`)."""

    rates: GroupRates
    early_hazard_max: float      # −log S_lo(t1)
    late_hazard_min: float       # log S_lo(t1) − log S_hi(t2): own hazard in (t1, t2]
    late_hazard_max: float
    events_early_min: int
    events_early_max: int
    events_late_max: int         # events up to t2
    smallest_late_risk: int      # no single later event can sit below this many at risk

    @property
    def m_range(self) -> range:
        r = self.rates
        return range(max(0, r.responders_min - self.events_early_max),
                     r.at_risk_max - self.events_early_min + 1)


def _derive(r: GroupRates) -> GroupBounds:
    e_lo, e_hi = _interval(r.early)
    l_lo, l_hi = _interval(r.late)
    s_lo_early, s_hi_early = 1 - e_hi / 100, 1 - e_lo / 100
    s_lo_late, s_hi_late = 1 - l_hi / 100, 1 - l_lo / 100
    late_max = math.log(s_hi_early) - math.log(s_lo_late)
    # the least n with f(n) <= late_max (1/n <= 1 - exp(-late_max)); above N none can be at risk
    smallest = r.at_risk_max + 1
    if late_max > 0:
        smallest = min(smallest, max(2, math.floor(-1.0 / math.expm1(-late_max)) - 1))
        while smallest <= r.at_risk_max and _f(smallest) > late_max:
            smallest += 1
    return GroupBounds(
        rates=r,
        early_hazard_max=-math.log(s_lo_early),
        late_hazard_min=math.log(s_lo_early) - math.log(s_hi_late),
        late_hazard_max=late_max,
        events_early_min=max(0, math.ceil(r.responders_min * e_lo / 100)),
        events_early_max=math.floor(r.at_risk_max * e_hi / 100),
        events_late_max=math.floor(r.at_risk_max * l_hi / 100),
        smallest_late_risk=smallest,
    )


def _early_bounds(g: GroupBounds, others: np.ndarray) -> dict[int, np.ndarray]:
    """Most pooled hazard group ``g``'s events up to ``t1`` can add, per ``m`` and others' ``M``.

    Fractional knapsack over the risk sets ``N, N − 1, … > m`` (largest ratio first), own hazard
    at most ``early_hazard_max``.
    """
    n_all = np.arange(g.rates.at_risk_max, 1, -1)  # an event with 1 at risk ends the curve
    f_all = _f(n_all)
    g_all = _f(n_all[:, None] + others[None, :])
    bounds: dict[int, np.ndarray] = {}
    for m in g.m_range:
        take = n_all > m
        fv, gv = f_all[take], g_all[take]
        if len(fv) == 0:
            bounds[m] = np.zeros(len(others))
            continue
        cf = np.cumsum(fv)
        cg = np.cumsum(gv, axis=0)
        i = int(np.searchsorted(cf, g.early_hazard_max))
        if i >= len(fv):
            bounds[m] = cg[-1]
        else:
            before_f = cf[i - 1] if i > 0 else 0.0
            before_g = cg[i - 1] if i > 0 else np.zeros(len(others))
            bounds[m] = before_g + gv[i] * (g.early_hazard_max - before_f) / fv[i]
    return bounds


def _late_bound(g: GroupBounds, m: int, others: int, delta: float) -> float:
    """Least pooled hazard group ``g``'s events in ``(t1, t2]`` can add (``inf``: none can fit).

    Exact minimum over decreasing risk sets ``n_0 > n_1 > …`` in ``[smallest_late_risk, m]``
    with ``n_c ≥ R − K(t1) − c``, at most ``events_late_max − events_early_min`` of them, whose
    own hazards (each rounded up to a multiple of ``delta``) reach ``late_hazard_min``.
    """
    r = g.rates
    most = g.events_late_max - g.events_early_min
    floor = max(r.responders_min - g.events_early_max, r.responders_min - r.at_risk_max + m)
    need = max(0, math.ceil(g.late_hazard_min / delta - 1e-9))
    if need == 0:
        return 0.0
    if most <= 0:
        return math.inf
    # best[c, b]: least pooled hazard with c events chosen and own hazard b * delta (b = need: enough)
    best = np.full((most + 1, need + 1), np.inf)
    best[0, 0] = 0.0
    for n in range(m, g.smallest_late_risk - 1, -1):
        first = max(0, floor - n)          # events already chosen: responders left need n >= floor - c
        if first > most - 1:
            continue
        step = math.ceil(float(_f(n)) / delta)
        cost = float(_f(n + others))
        src = best[first:most]
        moved = np.full_like(src, np.inf)
        if step <= need:
            moved[:, step:] = src[:, :need + 1 - step]
            moved[:, need] = np.minimum(moved[:, need], src[:, need + 1 - step:].min(axis=1))
        else:
            moved[:, need] = src.min(axis=1)
        np.minimum(best[first + 1:], moved + cost, out=best[first + 1:])
    return float(best[:, need].min())


@dataclass(frozen=True)
class PooledRateBound:
    """The outcome of :func:`pooled_rate_bound`; ``excluded`` is the proof.

    ``early_needed``: pooled hazard the pooled early rate needs up to ``t1``; ``late_allowed``:
    pooled hazard the pooled late rate allows between the landmarks (``inf`` without one).
    ``layouts``: combinations of at-risk counts after ``t1`` whose early bound reaches
    ``early_needed``; ``feasible``: those whose late bound stays within ``late_allowed`` too.
    ``closest``: the layout with the smallest late bound among ``layouts`` and that bound.
    """

    groups: tuple[GroupRates, ...]
    pooled_early: str
    pooled_late: str | None
    early_needed: float
    late_allowed: float
    layouts: int
    feasible: int
    closest: tuple[tuple[int, ...], float] | None
    derived: tuple[GroupBounds, ...]

    @property
    def excluded(self) -> bool:
        """No order of responses and censorings prints every rate given."""
        return self.feasible == 0

    def __repr__(self) -> str:
        verdict = "excluded" if self.excluded else f"not excluded ({self.feasible} layouts)"
        names = "/".join(g.name for g in self.groups)
        close = ""
        if self.closest is not None:
            layout, bound = self.closest
            close = (f", closest layout {'/'.join(map(str, layout))} needs "
                     f"{bound:.4f} > {self.late_allowed:.4f}" if self.excluded else "")
        late = f", late {self.pooled_late}" if self.pooled_late is not None else ""
        return (f"PooledRateBound(pooled early {self.pooled_early}{late} over {names}: "
                f"{verdict}; {self.layouts} layouts reach the early rate{close})")

    def to_frame(self) -> pd.DataFrame:
        """One row per group: its inputs and the bounds derived from them."""
        return pd.DataFrame([{
            "group": d.rates.name, "at_risk_max": d.rates.at_risk_max,
            "responders_min": d.rates.responders_min, "early": d.rates.early,
            "late": d.rates.late, "events_early_min": d.events_early_min,
            "events_early_max": d.events_early_max, "events_late_max": d.events_late_max,
            "at_risk_after_t1_min": d.m_range.start, "at_risk_after_t1_max": d.m_range.stop - 1,
            "smallest_late_risk": d.smallest_late_risk,
        } for d in self.derived])


def pooled_rate_bound(groups: Sequence[GroupRates], pooled_early: str,
                      pooled_late: str | None, *, delta: float = DELTA) -> PooledRateBound:
    """Whether the pooled rates can print beside every group's early and late rates.

    ``excluded`` in the result means no data set of the given groups (responses and censorings
    at any times, ties included) prints them all; otherwise some combination of at-risk counts
    passes both bounds, which does not show that one exists. See the module's docstring.
    """
    _check_cumulative("pooled: ", pooled_early, pooled_late)
    derived = tuple(_derive(g) for g in groups)
    p_lo = _interval(pooled_early)[0]
    early_needed = -math.log(1 - p_lo / 100)
    if pooled_late is None:
        late_allowed = math.inf
    else:
        l_hi = _interval(pooled_late)[1]
        late_allowed = math.log(1 - p_lo / 100) - math.log(1 - l_hi / 100)
    ranges = [np.array(d.m_range) for d in derived]
    if any(len(r) == 0 for r in ranges):  # a group that cannot print its own rates
        return PooledRateBound(
            groups=tuple(groups), pooled_early=pooled_early, pooled_late=pooled_late,
            early_needed=early_needed, late_allowed=late_allowed, layouts=0, feasible=0,
            closest=None, derived=derived)
    total_lo = sum(int(r[0]) for r in ranges)
    total_hi = sum(int(r[-1]) for r in ranges)
    early: list[dict[int, np.ndarray]] = []
    offsets: list[int] = []
    for d, r in zip(derived, ranges, strict=True):
        others = np.arange(total_lo - r[0], total_hi - r[-1] + 1)
        offsets.append(int(others[0]))
        early.append(_early_bounds(d, others))
    late_cache: dict[tuple[int, int, int], float] = {}

    def late(i: int, m: int, others: int) -> float:
        key = (i, m, others)
        if key not in late_cache:
            late_cache[key] = _late_bound(derived[i], m, others, delta)
        return late_cache[key]

    layouts = feasible = 0
    closest: tuple[tuple[int, ...], float] | None = None
    grids = np.meshgrid(*ranges, indexing="ij")
    total = np.sum(grids, axis=0)
    reach = np.zeros(total.shape)
    for i, grid in enumerate(grids):
        others = total - grid
        table = np.stack([early[i][int(m)] for m in ranges[i]])  # (len(range), len(others))
        reach = reach + table[grid - ranges[i][0], others - offsets[i]]
    for idx in zip(*np.nonzero(reach >= early_needed - SLACK), strict=True):
        layout = tuple(int(r[j]) for r, j in zip(ranges, idx, strict=True))
        layouts += 1
        if math.isinf(late_allowed):
            feasible += 1
            continue
        s = sum(layout)
        bound = 0.0
        best = closest[1] if closest is not None else math.inf
        for i, m in enumerate(layout):
            bound += late(i, m, s - m)
            if bound >= best and bound > late_allowed + SLACK:
                break
        else:
            if bound < best:
                closest = (layout, bound)
        if bound <= late_allowed + SLACK:
            feasible += 1
    return PooledRateBound(
        groups=tuple(groups), pooled_early=pooled_early, pooled_late=pooled_late,
        early_needed=early_needed, late_allowed=late_allowed, layouts=layouts,
        feasible=feasible, closest=closest, derived=derived)


REGIMENS = ("ASCT", "MDex", "LDex")


def six_month_crh_bound(*, at_risk: str = "regimen") -> PooledRateBound:
    """The bound on the paper's pooled 6-month CRH rate (19.2, with 26.1 at 12 months).

    Groups are the regimens with the text's 6- and 12-month CRH rates (Results, Treatment
    response); responders are the solved CRH counts (77 / 26 / 47, the one count set printing
    every Table 2 CRH number but the MDex p-value). ``at_risk="regimen"`` lets every patient of
    the regimen (Table 1's header, 165 / 79 / 103) be at risk, which covers every count of
    evaluable patients; ``"evaluable"`` uses the solved evaluable counts (155 / 69 / 99).
    """
    if at_risk not in ("regimen", "evaluable"):
        raise ValueError(f"at_risk must be 'regimen' or 'evaluable', not {at_risk!r}")
    study = load_published()
    crh = load_solved_counts()["table2"]["crh"]["counts"]
    groups = [GroupRates(
        name=reg,
        at_risk_max=(int(study[f"table1.header.n.{reg}"].printed) if at_risk == "regimen"
                     else int(crh[reg]["all"]["N"])),
        responders_min=int(crh[reg]["all"]["n"]),
        early=study[f"text.crh_6m.{reg}"].printed, late=study[f"text.crh_12m.{reg}"].printed,
    ) for reg in REGIMENS]
    return pooled_rate_bound(groups, study["text.crh_6m.All"].printed,
                             study["text.crh_12m.All"].printed)
