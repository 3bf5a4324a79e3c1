"""A seeded local search that places event and censoring times on the published survival numbers.

The first layout (``synth.survival_times``) gives each regimen its follow-up times, deaths and
progressions. This search then moves them, patient by patient, until every published 3-year
PFS and OS rate (per regimen: all, low and medium-high risk; and the whole cohort) and every
log-rank p-value of Table 2 and the text (each regimen against ASCT in every column, and the
three regimens for OS) print as published, while the numbers already fixed stay:

- each regimen's deaths, progressions in living patients and treatment-related deaths (moves
  keep the counts; the treatment-related deaths are never moved);
- the median follow-up per regimen and overall, and the person-years (a move that would change
  how they print is refused);
- the longest follow-up of the patients evaluable for CRH and for CRV (they carry the published
  longest time to a response), which is never moved;
- at most three patients share a follow-up to the day.

Moves: shift a follow-up time (death or censoring), shift a progression time, swap follow-up
times between two patients of a regimen, pass a death or a progression from one patient to
another of the same regimen (same status otherwise, so the counts hold); and, where asked
(``kinds``), exchange the whole records of a low- and a medium-high-risk patient of a regimen
(every number of the regimen as a whole and of the cohort stays, only the subgroups move), and
slide a time strictly between its nearest neighbours in its regimen and risk subgroup (no other
time of the subgroup is passed, so its curves keep their order of events and censorings). Simulated annealing
(Metropolis acceptance, geometric cooling) on an objective that sums, over the printed numbers,
how far ours lies outside the values that print as published, in units of the last printed
digit (``1 + log(1 + units)``, 0 when it prints), plus a penalty for curves a clinician would
find odd: a subgroup curve dropping more than ``CLIFF_POINTS`` within three months (anywhere)
while at least ``CLIFF_AT_RISK`` patients are at risk, or whose events before 3 years all come
after month 30. The search stops when the objective is 0 or after ``max_steps`` moves. An
optional polishing phase (``polish_steps``) then aims nearly every move at the numbers still
missed while refusing any move that loses a printed number or makes a curve odder.

A slide may also be taken across regimens (``ACROSS``): between the nearest times of the
patient's risk subgroup in every regimen compared with its own, so every number of a risk
subgroup stays and only the numbers pooling the subgroups move (the counterpart of the
exchange). :func:`repair` then makes independent attempts from the layout reached, each a
phase on a soft objective (no step where a number starts to print, so a printed p-value may be
given up on the way; the rates held) and a phase holding every printed number; an attempt
replaces the layout only when it misses fewer numbers.

A log-rank p printed near significance is aimed at in a direction (``Aim.direction``: the
regimen with the lower printed 3-year rate has the worse curve); a p-value whose difference runs
the other way never prints. A death may also be passed between regimens after 3 years
(``LATE_DEATH``): the paper prints only the total of deaths, and the log-rank p-values over the
whole follow-up depend on which regimen the late deaths fall in. Far from a printed p-value the
objective's log of the units flattens; a repair on the ``far`` scale (``Aim.cost``) measures
p-values linearly on their log scale so they pull all the way.

The kernels below (Kaplan–Meier at 3 years, the k-sample log-rank test) are hand-written numpy
for speed: the study's ``stats`` functions validate their input and build result records, which
costs more than the whole test here, and the search evaluates tens of thousands of layouts. They
compute the same statistics (``tests/synth/test_survival_search.py`` checks them against
``stats.logrank_test`` and ``stats.kaplan_meier``); the final cohort is always judged by the
study code.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from poems_cohort.synth.km import DAYS_PER_MONTH, HORIZON_DAYS

#: A curve's drop within any three months, in percentage points, above which it counts as a
#: cliff (only while at least ``CLIFF_AT_RISK`` patients of the curve are at risk).
CLIFF_POINTS = 12.0
CLIFF_AT_RISK = 12
#: A curve whose 3-year rate lies below 100 must have an event before this day.
EARLY_EVENT_DAYS = int(30 * DAYS_PER_MONTH)
WINDOW_DAYS = int(round(3 * DAYS_PER_MONTH))
#: Start and end temperature of the polishing phase (:func:`search`, ``polish_steps``).
POLISH_TEMPERATURE = (0.5, 0.02)
#: Share of the polishing phase's moves drawn for a missed aim (0.6 in the other phases).
POLISH_AIMED = 0.9
#: Weight of a unit of a p-value's distance on the ``far`` scale (``Aim.cost``): about 23 units
#: nearer on a far p-value outweigh a printed number's first unit lost (soft cost ``log 2``).
FAR_SCALE = 0.03
#: A value prints when within half a unit of the last digit of the printed one less this share
#: of a unit (``Aim.cost``: the rounding of halves is not trusted to the last bit); a value
#: aimed at an interval (``Aim.within``) may lie this far outside it.
PRINT_MARGIN = 0.02
WITHIN_SLACK = 1e-6


# --------------------------------------------------------------------------------------------
# Kernels


def km_horizon(time: np.ndarray, event: np.ndarray, horizon: int = HORIZON_DAYS) -> float:
    """Kaplan–Meier survival at ``horizon`` (events on or before it count)."""
    early = event & (time <= horizon)
    if not early.any():
        return 1.0
    t_ev = np.sort(time[early])
    # at risk at an event time: patients whose time is not before it
    srt = np.sort(time)
    uniq, counts = np.unique(t_ev, return_counts=True)
    at_risk = len(srt) - np.searchsorted(srt, uniq, side="left")
    return float(np.prod(1.0 - counts / at_risk))


def logrank_p(time: np.ndarray, event: np.ndarray, group: np.ndarray, k: int) -> float:
    """The p-value of the k-sample log-rank test (R ``survdiff``, rho = 0) for groups coded
    ``0 .. k-1`` (every code present); NaN when it cannot be computed."""
    order = np.argsort(time, kind="stable")
    t, e, g = time[order], event[order], group[order]
    n = len(t)
    starts = np.flatnonzero(np.r_[True, t[1:] != t[:-1]])
    d = np.add.reduceat(e.astype(np.int64), starts)
    keep = d > 0
    if not keep.any():
        return math.nan
    at_risk = (n - starts)[keep].astype(float)
    d = d[keep].astype(float)
    w = np.where(at_risk > 1, d * (at_risk - d) / np.maximum(at_risk - 1, 1), 0.0)
    if k == 2:
        g1 = g == 1
        before = np.r_[0, np.cumsum(g1)]
        risk1 = (before[-1] - before[starts])[keep]
        d1 = np.add.reduceat((e & g1).astype(np.int64), starts)[keep]
        share = risk1 / at_risk
        o_e = float((d1 - d * share).sum())
        var = float((w * share * (1.0 - share)).sum())
        if var <= 0:
            return math.nan
        return math.erfc(math.sqrt(o_e * o_e / var / 2.0))
    onehot = np.zeros((n, k))
    onehot[np.arange(n), g] = 1.0
    # patients of each group with a time at or after each distinct time
    behind = np.vstack([np.zeros((1, k)), np.cumsum(onehot, axis=0)])
    risk_k = (behind[-1] - behind[starts])[keep]
    d_k = np.add.reduceat(onehot * e[:, None], starts, axis=0)[keep]
    share = risk_k / at_risk[:, None]
    o_e = (d_k - d[:, None] * share).sum(axis=0)
    cov = np.diag((w[:, None] * share).sum(axis=0)) - (w[:, None] * share).T @ share
    x, v = o_e[:-1], cov[:-1, :-1]
    try:
        chi = float(x @ np.linalg.solve(v, x))
    except np.linalg.LinAlgError:
        return math.nan
    if k == 3:
        return math.exp(-max(chi, 0.0) / 2.0)
    from scipy.stats import chi2

    return float(chi2.sf(chi, k - 1))


def largest_drop(time: np.ndarray, event: np.ndarray, window: int = WINDOW_DAYS,
                 horizon: int = HORIZON_DAYS, min_at_risk: int = CLIFF_AT_RISK) -> float:
    """The largest fall of the Kaplan–Meier curve (points) within ``window`` days, up to
    ``horizon``, counting only event times with at least ``min_at_risk`` patients at risk."""
    early = event & (time <= horizon)
    if not early.any():
        return 0.0
    srt = np.sort(time)
    uniq, counts = np.unique(np.sort(time[early]), return_counts=True)
    at_risk = len(srt) - np.searchsorted(srt, uniq, side="left")
    surv = np.cumprod(1.0 - counts / at_risk)
    ok = at_risk >= min_at_risk
    if not ok.any():
        return 0.0
    # survival just before the window that ends at each event time
    first = np.searchsorted(uniq, uniq - window, side="right")
    start = np.where(first > 0, surv[np.maximum(first - 1, 0)], 1.0)
    return float(100.0 * np.max((start - surv)[ok]))


def first_event(time: np.ndarray, event: np.ndarray) -> int | None:
    """Day of the first event, ``None`` when there is none."""
    return int(time[event].min()) if event.any() else None


# --------------------------------------------------------------------------------------------
# Targets


@dataclass(frozen=True)
class Aim:
    """One printed number the search aims at.

    ``kind``: ``"rate"`` (3-year KM percent) or ``"p"`` (log-rank p). ``endpoint``: ``pfs`` or
    ``os``. ``regimens``: the regimen codes in the comparison (one for a rate; ``()`` for the
    whole cohort). ``subgroup``: ``all``, ``low`` or ``medium-high``. ``printed``: the value,
    ``decimals`` its printed decimals. ``key``: the published id (for reports).

    ``direction`` (a two-regimen p only): ``+1`` when the first regimen of ``regimens`` is to
    have more events than the log-rank test expects (the worse curve), ``-1`` fewer, ``0``
    either. A p-value whose difference runs the other way is valued ``2 - p``: it never
    prints, and the way back to the printed side passes ``p = 1`` (no difference).
    """

    key: str
    kind: str
    endpoint: str
    regimens: tuple[int, ...]
    subgroup: str
    printed: float
    decimals: int
    within: tuple[float, float] | None = None
    direction: int = 0

    def cost(self, value: float, soft: bool = False, far: bool = False) -> float:
        """0 when ``value`` prints as published (with a small margin for the rounding of
        halves), else ``1 + log(1 + units)`` for ``units`` of the last digit outside
        (``soft``: ``log(1 + units)``, with no step at the edge of what prints).

        ``far`` (a p-value; else as ``soft``): ``FAR_SCALE`` times the units outside, the
        distance taken on the log scale of p (a unit is the log of ``1 + unit / printed``).
        The logarithm of the units flattens far from the printed value, so a p-value far from
        it (or on the wrong side of ``p = 1``, see ``direction``) would barely pull the search;
        on this scale each unit nearer counts alike all the way.

        ``within``: for a printed value no layout can give, the closed interval of the values
        taken instead (the nearest reachable on either side), which then costs 0.
        """
        if math.isnan(value):
            return 50.0
        unit = 10.0 ** -self.decimals
        if far and self.kind == "p" and self.within is None and self.printed > 0:
            if self.cost(value) == 0.0:
                return 0.0
            log_unit = math.log1p(unit / self.printed)
            outside = abs(math.log(max(value, 1e-300) / self.printed)) - 0.5 * log_unit
            return FAR_SCALE * max(outside, 0.0) / log_unit
        if self.within is not None:
            lo, hi = self.within
            outside = max(lo - value, value - hi, 0.0) - WITHIN_SLACK
        else:
            outside = abs(value - self.printed) - self._half_width()
        if outside <= 0:
            return 0.0
        return (0.0 if soft or far else 1.0) + math.log1p(outside / unit)

    def _half_width(self) -> float:
        """How far from the printed value a value still prints: half a unit of the last
        digit, less ``PRINT_MARGIN`` of a unit for the rounding of halves."""
        unit = 10.0 ** -self.decimals
        return 0.5 * unit - PRINT_MARGIN * unit

    def prints(self, values: np.ndarray) -> np.ndarray:
        """Element-wise: whether each of ``values`` prints as published (:meth:`cost` 0);
        NaN never prints."""
        v = np.asarray(values, float)
        with np.errstate(invalid="ignore"):
            if self.within is not None:
                lo, hi = self.within
                return np.maximum(np.maximum(lo - v, v - hi), 0.0) - WITHIN_SLACK <= 0
            return np.abs(v - self.printed) - self._half_width() <= 0


@dataclass(frozen=True)
class Layout:
    """Per patient: ``follow`` (days to death or last follow-up), ``died``, ``prog`` (day of
    progression, -1 where none)."""

    follow: np.ndarray
    died: np.ndarray
    prog: np.ndarray


@dataclass(frozen=True)
class SearchResult:
    """The layout reached, its objective (0: every aim prints, no odd curve), the aims still
    missed and the moves made."""

    layout: Layout
    objective: float
    missed: tuple[str, ...]
    steps: int


def pfs_of(follow: np.ndarray, died: np.ndarray, prog: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray]:
    """PFS time and event: the progression when there is one, else death or last follow-up."""
    has = prog >= 0
    return np.where(has, np.minimum(prog, follow), follow), has | died


def endpoint_times(ep: str, follow: np.ndarray, died: np.ndarray, prog: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Time and event of endpoint ``ep``: ``os``, the follow-up and death; ``pfs``,
    :func:`pfs_of`."""
    return (follow, died) if ep == "os" else pfs_of(follow, died, prog)


# --------------------------------------------------------------------------------------------
# The search


@dataclass(frozen=True)
class Frame:
    """What the search needs to know about the patients (fixed during the search).

    ``regimen``: code per patient (0 .. R-1; ``ref`` is the code the pairwise tests compare
    with). ``low``: low-risk mask. ``fixed``: patients never moved (treatment-related deaths).
    ``pinned``: patients whose follow-up time is never changed (longest-followed evaluable).
    ``medians``: per regimen code and ``-1`` for the cohort, the printed median follow-up
    (months, integer precision). ``person_years``: printed total (``None``: not checked).
    """

    regimen: np.ndarray
    low: np.ndarray
    fixed: np.ndarray
    pinned: np.ndarray
    medians: dict[int, float]
    person_years: float | None
    ref: int


def _median_prints(days: np.ndarray, printed: float) -> bool:
    return abs(float(np.median(days)) / DAYS_PER_MONTH - printed) < 0.5 - 0.01


class _Endpoint:
    """Every aim of one endpoint computed in one pass over the sorted times.

    The patients fall into cells (regimen x risk subgroup). One sort gives, per distinct event
    time, the patients at risk and the events of each cell (a matrix); each population (a cell,
    a regimen, the cohort) and each comparison is then a weighted sum of its columns, so all
    3-year rates, log-rank tests and curve shapes of the endpoint cost a few array operations.
    """

    def __init__(self, cell: np.ndarray, n_cells: int, aims: list[tuple[int, Aim]],
                 cells_of: Callable[[tuple[int, ...], str], np.ndarray],
                 curve_cells: list[int]) -> None:
        self.cell = cell
        self.k = n_cells
        self.rate_ids = [i for i, a in aims if a.kind == "rate"]
        self.rate_w = np.array([cells_of(a.regimens, a.subgroup) for _, a in aims
                                if a.kind == "rate"], float).reshape(-1, n_cells).T
        two = [(i, a) for i, a in aims if a.kind == "p" and len(a.regimens) == 2]
        self.two_ids = [i for i, _ in two]
        self.two_dir = np.array([a.direction for _, a in two], float)
        self.two_a = np.array([cells_of((a.regimens[0],), a.subgroup) for _, a in two],
                              float).reshape(-1, n_cells).T
        self.two_b = np.array([cells_of((a.regimens[1],), a.subgroup) for _, a in two],
                              float).reshape(-1, n_cells).T
        many = [(i, a) for i, a in aims if a.kind == "p" and len(a.regimens) > 2]
        self.many = [(i, np.array([cells_of((r,), a.subgroup) for r in a.regimens], float).T)
                     for i, a in many]
        self.curve_cells = curve_cells

    def evaluate(self, t: np.ndarray, e: np.ndarray, realism: bool, early_too: bool = True,
                 tests: bool = True) -> tuple[dict[int, float], float | None]:
        """The value of every aim of the endpoint, and the realism penalty of its curves
        (without ``early_too`` the 3-year rates are not computed: they cannot have moved)."""
        order = np.argsort(t, kind="stable")
        ts, es, cs = t[order], e[order], self.cell[order]
        step = np.empty(len(ts), np.int64)
        step[0] = 0
        np.not_equal(ts[1:], ts[:-1], out=step[1:])
        idx = np.cumsum(step)
        size = int(idx[-1] + 1) * self.k
        cnt = np.bincount(idx * self.k + cs, minlength=size).reshape(-1, self.k)
        risk = cnt[::-1].cumsum(axis=0)[::-1]
        dk = np.bincount(idx[es] * self.k + cs[es], minlength=size).reshape(-1, self.k)
        has = dk.any(axis=1)
        times = np.empty(size // self.k, np.int64)
        times[idx] = ts
        risk, dk, tt = risk[has].astype(float), dk[has].astype(float), times[has]
        out: dict[int, float] = {}
        early = tt <= HORIZON_DAYS
        if self.rate_ids and early_too:
            nr = risk[early] @ self.rate_w
            dr = dk[early] @ self.rate_w
            fac = np.where(nr > 0, 1.0 - dr / np.where(nr > 0, nr, 1.0), 1.0)
            surv = 100.0 * np.prod(fac, axis=0)
            out.update(zip(self.rate_ids, surv.tolist(), strict=True))
        if self.two_ids and tests:
            na, nb = risk @ self.two_a, risk @ self.two_b
            da, db = dk @ self.two_a, dk @ self.two_b
            nn, dd = na + nb, da + db
            safe = np.where(nn > 0, nn, 1.0)
            share = na / safe
            o_e = (da - dd * share).sum(axis=0)
            w = np.where(nn > 1, dd * (nn - dd) / np.where(nn > 1, nn - 1, 1.0), 0.0)
            var = (w * share * (1.0 - share)).sum(axis=0)
            chi = np.where(var > 0, o_e * o_e / np.where(var > 0, var, 1.0), np.nan)
            wrong = (self.two_dir * o_e < 0).tolist()
            for i, c, w_ in zip(self.two_ids, chi.tolist(), wrong, strict=True):
                p_ = math.erfc(math.sqrt(c / 2.0)) if c == c else math.nan
                out[i] = 2.0 - p_ if w_ else p_
        for i, weights in self.many if tests else ():
            nk, dkk = risk @ weights, dk @ weights
            nn, dd = nk.sum(axis=1), dkk.sum(axis=1)
            keep = (dd > 0) & (nn > 0)
            nk, dkk, nn, dd = nk[keep], dkk[keep], nn[keep], dd[keep]
            share = nk / nn[:, None]
            o_e = (dkk - dd[:, None] * share).sum(axis=0)
            w = np.where(nn > 1, dd * (nn - dd) / np.where(nn > 1, nn - 1, 1.0), 0.0)
            cov = np.diag((w[:, None] * share).sum(axis=0)) - (w[:, None] * share).T @ share
            m = weights.shape[1]
            x, v = o_e[:-1], cov[:-1, :-1]
            if m == 3:  # the 2 x 2 system by hand (np.linalg costs more than the test)
                det = v[0, 0] * v[1, 1] - v[0, 1] * v[1, 0]
                if abs(det) < 1e-12:
                    out[i] = math.nan
                    continue
                chi2 = float((x[0] * (v[1, 1] * x[0] - v[0, 1] * x[1])
                              + x[1] * (v[0, 0] * x[1] - v[1, 0] * x[0])) / det)
            else:
                try:
                    chi2 = float(x @ np.linalg.solve(v, x))
                except np.linalg.LinAlgError:
                    out[i] = math.nan
                    continue
            out[i] = (math.exp(-chi2 / 2.0) if m == 3 else
                      math.erfc(math.sqrt(max(chi2, 0.0) / 2.0)) if m == 2 else
                      _chi2_sf(chi2, m - 1))
        odd = 0.0
        if realism and self.curve_cells:
            r_a, d_a = risk[:, self.curve_cells], dk[:, self.curve_cells]
            if len(tt):
                # cliffs anywhere on the curve while enough patients are at risk
                fac = np.where(r_a > 0, 1.0 - d_a / np.where(r_a > 0, r_a, 1.0), 1.0)
                surv = np.cumprod(fac, axis=0)
                first = np.searchsorted(tt, tt - WINDOW_DAYS, side="right")
                before = np.where((first > 0)[:, None], surv[np.maximum(first - 1, 0)], 1.0)
                drop = 100.0 * (before - surv)
                drop = np.where((r_a >= CLIFF_AT_RISK) & (d_a > 0), drop, 0.0)
                odd += float(np.maximum(drop.max(axis=0) - CLIFF_POINTS, 0.0).sum()) / 2.0
                d_e, t_e = d_a[early], tt[early]
                any_event = (d_e > 0).any(axis=0)
                soon = ((d_e > 0) & (t_e <= EARLY_EVENT_DAYS)[:, None]).any(axis=0)
                odd += 2.0 * float((any_event & ~soon).sum())
        return out, odd


def _chi2_sf(x: float, df: int) -> float:
    from scipy.stats import chi2

    return float(chi2.sf(x, df))


class _State:
    """The layout being searched and its cached terms."""

    def __init__(self, frame: Frame, layout: Layout, aims: tuple[Aim, ...],
                 realism: bool, soft: bool = False, far: bool = False) -> None:
        self.frame = frame
        self.f = layout.follow.astype(np.int64).copy()
        self.d = layout.died.astype(bool).copy()
        self.p = layout.prog.astype(np.int64).copy()
        self.aims = aims
        self.realism = realism
        self.n_reg = int(frame.regimen.max()) + 1
        self.members = {r: np.flatnonzero(frame.regimen == r) for r in range(self.n_reg)}
        self.sub_mask = {"all": np.ones(len(self.f), bool), "low": frame.low,
                         "medium-high": ~frame.low}
        self.cells = {(r, sg): (frame.regimen == r) & self.sub_mask[sg]
                      for r in range(self.n_reg) for sg in ("all", "low", "medium-high")}
        cell = frame.regimen * 2 + (~frame.low).astype(np.int64)
        k = 2 * self.n_reg

        def cells_of(regs: tuple[int, ...], subgroup: str) -> np.ndarray:
            w = np.zeros(k)
            for r in regs or tuple(range(self.n_reg)):
                if subgroup in ("all", "low"):
                    w[2 * r] = 1.0
                if subgroup in ("all", "medium-high"):
                    w[2 * r + 1] = 1.0
            return w

        self.endpoints = {ep: _Endpoint(cell, k, [(i, a) for i, a in enumerate(aims)
                                                  if a.endpoint == ep], cells_of,
                                        list(range(k)))
                          for ep in ("pfs", "os")}
        self.active = np.ones(len(aims), bool)
        self.tests = True
        self.soft = soft
        self.far = far
        self.values = np.full(len(aims), np.nan)
        self.costs = np.zeros(len(aims))
        self.odd = {"pfs": 0.0, "os": 0.0}
        for ep in ("pfs", "os"):
            vals, odd = self._evaluate(ep, self.f, self.d, self.p)
            for i, v in vals.items():
                self.values[i], self.costs[i] = v, aims[i].cost(v, self.soft, self.far)
            self.odd[ep] = odd or 0.0
        self.tie = np.unique(self.f, return_counts=True)
        self.counts: dict[int, int] = dict(zip(self.tie[0].tolist(), self.tie[1].tolist(),
                                               strict=True))

    def _evaluate(self, ep: str, f: np.ndarray, d: np.ndarray, p: np.ndarray,
                  changed: np.ndarray | None = None) -> tuple[dict[int, float], float | None]:
        t, e = endpoint_times(ep, f, d, p)
        early_too = True
        if changed is not None:
            # a 3-year rate and the curves up to 3 years see only times up to 3 years (and
            # whether a time lies beyond)
            t_old = endpoint_times(ep, self.f, self.d, self.p)[0]
            early_too = bool(np.any(np.minimum(t_old[changed], t[changed]) <= HORIZON_DAYS))
        return self.endpoints[ep].evaluate(t, e, self.realism, early_too, self.tests)

    # ---- constraints

    def follow_ok(self, f: np.ndarray, r: int) -> bool:
        med = self.frame.medians
        if r in med and not _median_prints(f[self.members[r]], med[r]):
            return False
        if -1 in med and not _median_prints(f, med[-1]):
            return False
        py = self.frame.person_years
        return py is None or abs(f.sum() / DAYS_PER_MONTH / 12.0 - py) < 0.5 - 0.01

    def with_follow(self, f: np.ndarray, i: int, new: int, r: int,
                    max_share: int) -> np.ndarray | None:
        """``f`` with patient ``i`` followed until day ``new`` (a copy), or ``None`` when that
        day already holds ``max_share`` patients or a printed median or the person-years of
        regimen ``r`` would no longer print."""
        if self.counts.get(new, 0) >= max_share:
            return None
        f = f.copy()
        f[i] = new
        return f if self.follow_ok(f, r) else None

    # ---- evaluation of a candidate

    def propose(self, f: np.ndarray, d: np.ndarray, p: np.ndarray, changed: np.ndarray,
                endpoints: tuple[str, ...], hold: str
                ) -> tuple[float, dict[int, tuple[float, float]], dict[str, float]] | None:
        """The change of the objective if the layout became ``f, d, p`` (a move touching
        ``endpoints``), with the new terms; ``None`` when the move would lose what ``hold``
        keeps: ``"rates"``, a rate that printed; ``"all"``, any aim that printed, or a curve
        made odder than it is (``"none"``: nothing held)."""
        new_terms: dict[int, tuple[float, float]] = {}
        new_odd: dict[str, float] = {}
        delta = 0.0
        for ep in endpoints:
            vals, odd = self._evaluate(ep, f, d, p, changed)
            for i, v in vals.items():
                if not self.active[i]:
                    continue
                c = self.aims[i].cost(v, self.soft, self.far)
                if (c > 0 and self.costs[i] == 0
                        and (hold in ("all", "active")
                             or (hold == "rates" and self.aims[i].kind == "rate"))):
                    return None
                new_terms[i] = (v, c)
                delta += c - self.costs[i]
            if odd is not None:
                if hold == "all" and odd > self.odd[ep] + 1e-12:
                    return None
                new_odd[ep] = odd
                delta += odd - self.odd[ep]
        return delta, new_terms, new_odd

    def accept(self, f: np.ndarray, d: np.ndarray, p: np.ndarray,
               new_terms: dict[int, tuple[float, float]], new_odd: dict[str, float]) -> None:
        for old in np.flatnonzero(self.f != f):
            self.counts[int(self.f[old])] -= 1
            self.counts[int(f[old])] = self.counts.get(int(f[old]), 0) + 1
        self.f, self.d, self.p = f, d, p
        for i, (v, c) in new_terms.items():
            self.values[i], self.costs[i] = v, c
        self.odd.update(new_odd)

    def total(self) -> float:
        return float(self.costs[self.active].sum() + sum(self.odd.values()))


#: The moves of :func:`_move` by number: shift a follow-up time, shift a progression, swap
#: follow-up times, pass a death on, pass a progression on (all within a regimen), and
#: exchange the whole records of a low- and a medium-high-risk patient of a regimen.
MOVES = (0, 1, 2, 3, 4)
EXCHANGE = 5
#: Slide a time (a progression, or a follow-up) anywhere strictly between the nearest other
#: times of its regimen and risk subgroup: no other time of the subgroup is passed, so the
#: subgroup's curves keep their order of events and censorings (a time tied with another may
#: leave the tie, and an event may cross 3 years when no other time lies between).
SLIDE = 6
#: Slide a time (a progression, or a follow-up) anywhere strictly between the nearest other
#: times of its risk subgroup in every regimen: no other time of the subgroup is passed in any
#: regimen compared with its own (the reference's, or for the reference every regimen's), so
#: every number of a risk subgroup stays (its curves and its tests against the reference keep
#: their order of events and censorings), while the numbers pooling the two
#: subgroups (a regimen's rates and its tests over all patients, the cohort's rates, the
#: three-regimen test) move. The counterpart of :data:`EXCHANGE`, which keeps those.
ACROSS = 7
#: Pass a death from one patient to another of any regimen, both followed beyond 3 years and
#: alike in having progressed or not: every 3-year rate, every follow-up time and the counts of
#: deaths and of progressions in living patients hold, while the deaths after 3 years change
#: regimen (the split of the deaths among the regimens is not printed).
LATE_DEATH = 8


def _neighbours(frame: Frame, r: int, across: bool) -> np.ndarray:
    """The patients whose order with a patient of regimen ``r`` a slide keeps: its regimen's;
    ``across``, also those of every regimen compared with it in a subgroup (the reference's;
    for the reference, every regimen)."""
    if not across:
        return frame.regimen == r
    if r == frame.ref:
        return np.ones(len(frame.regimen), bool)
    return (frame.regimen == r) | (frame.regimen == frame.ref)


def _pass_death(rng: np.random.Generator, pool: np.ndarray, others: np.ndarray,
                d: np.ndarray, p: np.ndarray) -> tuple[int, int] | None:
    """``(dead, living)``: two patients alike in having progressed or not (so the counts of
    deaths and of progressions in living patients hold when the death passes), one drawn from
    ``pool`` (dead or living, by a coin), the other from ``others``; ``None`` if there is none."""
    if rng.random() < 0.5:
        dead = pool[d[pool]]
        if not len(dead):
            return None
        i = int(rng.choice(dead))
        alive = others[~d[others] & ((p[others] >= 0) == (p[i] >= 0))]
        if not len(alive):
            return None
        return i, int(rng.choice(alive))
    alive = pool[~d[pool]]
    if not len(alive):
        return None
    j = int(rng.choice(alive))
    dead = others[d[others] & ((p[others] >= 0) == (p[j] >= 0))]
    if not len(dead):
        return None
    return int(rng.choice(dead)), j


def _move(s: _State, rng: np.random.Generator, frame: Frame, max_share: int,
          aimed: float = 0.6, kinds: tuple[int, ...] = MOVES,
          aimable: np.ndarray | None = None
          ) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                     tuple[str, ...]] | None:
    """A random move: ``(regimen, follow, died, prog, changed patients, endpoints)``, or
    ``None`` when the drawn move is not allowed. A share ``aimed`` of the moves serve a missed
    aim (among ``aimable``, default every active aim): a patient of its comparison and
    subgroup. ``kinds``: the moves drawn from (:data:`MOVES`, :data:`EXCHANGE`)."""
    missed = np.flatnonzero((s.costs > 0) & s.active
                            & (True if aimable is None else aimable))
    pool: np.ndarray | None = None
    if len(missed) and rng.random() < aimed:
        a = s.aims[int(rng.choice(missed))]
        r = int(rng.choice(a.regimens)) if a.regimens else int(rng.integers(0, s.n_reg))
        pool = np.flatnonzero(s.cells[(r, a.subgroup)] & ~frame.fixed)
        endpoint_bias = a.endpoint
    else:
        r = int(rng.integers(0, s.n_reg))
        endpoint_bias = None
    mem = s.members[r]
    mem = mem[~frame.fixed[mem]]
    if pool is None or len(pool) < 2:
        pool = mem
    if len(mem) < 2:
        return None
    if kinds == MOVES and endpoint_bias == "pfs":
        kinds = (0, 1, 1, 2, 3, 4, 4)
    kind = int(rng.choice(kinds))
    f, d, p = s.f, s.d, s.p
    endpoints: tuple[str, ...] = ("pfs", "os")
    if kind == 0:  # shift a follow-up time (a death or a censoring)
        i = int(rng.choice(pool))
        if frame.pinned[i]:
            return None
        scale = float(rng.choice([5.0, 20.0, 60.0, 200.0, 600.0]))
        new = int(f[i] + round(rng.normal(0.0, scale)))
        lo = max(20, int(p[i]) + 8 if p[i] >= 0 else 20)
        if new < lo or new > int(f[mem].max()) or new == f[i]:
            return None
        moved = s.with_follow(f, i, new, r, max_share)
        if moved is None:
            return None
        f = moved
        changed = np.array([i])
    elif kind == 1:  # shift a progression
        have = pool[p[pool] >= 0]
        if not len(have):
            return None
        i = int(rng.choice(have))
        if rng.random() < 0.3:
            new = int(rng.integers(15, max(16, int(f[i]) - 7)))
        else:
            new = int(p[i] + round(rng.normal(0.0, float(rng.choice([5.0, 20.0, 60.0,
                                                                      200.0])))))
        if new < 15 or new > f[i] - 8 or new == p[i]:
            return None
        p = p.copy()
        p[i] = new
        endpoints = ("pfs",)
        changed = np.array([i])
    elif kind == 2:  # swap follow-up times of two patients (deaths and progressions stay)
        i = int(rng.choice(pool))
        j = int(rng.choice(mem))
        if i == j or frame.pinned[i] or frame.pinned[j] or f[i] == f[j]:
            return None
        if (p[i] >= 0 and p[i] > f[j] - 8) or (p[j] >= 0 and p[j] > f[i] - 8):
            return None
        f = f.copy()
        f[i], f[j] = f[j], f[i]
        changed = np.array([i, j])
    elif kind in (3, LATE_DEATH):
        # pass a death on (same progression status: the counts hold), within the regimen or,
        # after 3 years, to any regimen
        if kind == 3:
            pair = _pass_death(rng, pool, mem, d, p)
        else:
            late = (f > HORIZON_DAYS) & ~frame.fixed
            pair = _pass_death(rng, pool[late[pool]], np.flatnonzero(late), d, p)
        if pair is None:
            return None
        d = d.copy()
        d[pair[0]], d[pair[1]] = False, True
        changed = np.array(pair)
        if kind == LATE_DEATH and p[pair[0]] >= 0:  # both progressed before: PFS stays
            endpoints = ("os",)
    elif kind == EXCHANGE:
        # exchange the records (follow-up, death, progression) of a low- and a medium-high-risk
        # patient of the regimen: the regimen's records as a whole stay the same, so does every
        # number of the regimen and of the cohort (rates, pooled tests, follow-up, ties)
        i = int(rng.choice(pool))
        other = mem[(frame.low[mem] != frame.low[i]) & ~frame.pinned[mem]]
        if frame.pinned[i] or not len(other):
            return None
        j = int(rng.choice(other))
        if f[i] == f[j] and d[i] == d[j] and p[i] == p[j]:
            return None
        f, d, p = f.copy(), d.copy(), p.copy()
        f[i], f[j] = f[j], f[i]
        d[i], d[j] = d[j], d[i]
        p[i], p[j] = p[j], p[i]
        changed = np.array([i, j])
    elif kind in (SLIDE, ACROSS):
        # anywhere strictly between the nearest other times of the patient's regimen (SLIDE)
        # or of every regimen (ACROSS) in its risk subgroup, below and above (of the follow-up
        # and, without a progression, of PFS)
        i = int(rng.choice(pool))
        cell = np.flatnonzero(_neighbours(frame, r, kind == ACROSS)
                              & (frame.low == frame.low[i]))
        cell = cell[cell != i]
        t_pfs, _ = pfs_of(f, d, p)
        progression = p[i] >= 0 and rng.random() < 0.7
        if progression:
            others = t_pfs[cell]
            lo = int(others[others < p[i]].max(initial=14)) + 1
            hi = min(int(others[others > p[i]].min(initial=10**6)) - 1, int(f[i]) - 8)
            if hi <= lo:
                return None
            p = p.copy()
            p[i] = int(rng.integers(lo, hi + 1))
            endpoints = ("pfs",)
        else:
            if frame.pinned[i]:
                return None
            lo, hi = (20 if p[i] < 0 else int(p[i]) + 8), int(f[mem].max())
            orders = ((f, f[i]),) + (((t_pfs, t_pfs[i]),) if p[i] < 0 else ())
            for times, t_i in orders:
                others = times[cell]
                lo = max(lo, int(others[others < t_i].max(initial=0)) + 1)
                hi = min(hi, int(others[others > t_i].min(initial=10**6)) - 1)
            if hi <= lo:
                return None
            new = int(rng.integers(lo, hi + 1))
            if new == f[i]:
                return None
            moved = s.with_follow(f, i, new, r, max_share)
            if moved is None:
                return None
            f = moved
        changed = np.array([i])
    else:  # pass a progression on (same vital status: the counts hold)
        if rng.random() < 0.5:
            have = pool[p[pool] >= 0]
            if not len(have):
                return None
            i = int(rng.choice(have))
            free = mem[(p[mem] < 0) & (d[mem] == d[i]) & (f[mem] > 30)]
            if not len(free):
                return None
            j = int(rng.choice(free))
        else:
            free = pool[(p[pool] < 0) & (f[pool] > 30)]
            if not len(free):
                return None
            j = int(rng.choice(free))
            have = mem[(p[mem] >= 0) & (d[mem] == d[j])]
            if not len(have):
                return None
            i = int(rng.choice(have))
        p = p.copy()
        p[j] = (int(rng.integers(15, int(f[j]) - 7)) if rng.random() < 0.5
                else min(int(p[i]), int(f[j]) - 8))
        p[i] = -1
        if p[j] < 15:
            return None
        endpoints = ("pfs",)
        changed = np.array([i, j])
    return r, f, d, p, changed, endpoints


@dataclass(frozen=True)
class Phase:
    """One phase of :func:`run_phases`: ``steps`` moves drawn from ``kinds`` (see
    :func:`_move`) with the aims of ``active`` (a mask over the aims) in the objective, a
    share ``aimed`` of them for a missed aim of ``aimable`` (default: the active ones), at a
    temperature falling geometrically over ``temperature``; ``hold`` as in
    :meth:`_State.propose` (``"active"``: any active aim that prints). With ``cap`` the
    phase ends instead when the search as a whole has made ``cap`` moves. ``soft``, ``far``:
    the scale of the costs (:meth:`Aim.cost`)."""

    active: np.ndarray
    steps: int
    hold: str
    aimed: float = 0.6
    temperature: tuple[float, float] = (0.5, 0.02)
    kinds: tuple[int, ...] = MOVES
    aimable: np.ndarray | None = None
    cap: int | None = None
    soft: bool = False
    far: bool = False


def run_phases(frame: Frame, layout: Layout, aims: tuple[Aim, ...], rng: np.random.Generator,
               phases: list[Phase], realism: bool = True, max_share: int = 3,
               progress: Callable[[int, float], None] | None = None) -> SearchResult:
    """Run ``phases`` in turn, each from the best layout of the one before (lowest objective
    over its active aims); a phase stops early when its objective reaches 0."""
    s = _State(frame, layout, aims, realism)
    step = 0
    rates = np.array([a.kind == "rate" for a in aims])
    for ph in phases:
        if (ph.soft, ph.far) != (s.soft, s.far):
            s = _State(frame, Layout(s.f, s.d, s.p), aims, realism, ph.soft, ph.far)
        s.active = ph.active
        s.tests = bool((ph.active & ~rates).any())
        best = (s.total(), s.f.copy(), s.d.copy(), s.p.copy())
        start = step
        budget = step + ph.steps if ph.cap is None else ph.cap
        t0, t1 = ph.temperature
        while step < budget and best[0] > 0:
            step += 1
            temp = t0 * (t1 / t0) ** ((step - start) / max(1, budget - start))
            move = _move(s, rng, frame, max_share, ph.aimed, ph.kinds, ph.aimable)
            if move is None:
                continue
            _, f, d, p, changed, endpoints = move
            found = s.propose(f, d, p, changed, endpoints, ph.hold)
            if found is None:
                continue
            delta, terms, odd = found
            if delta <= 0 or rng.random() < math.exp(-delta / temp):
                s.accept(f, d, p, terms, odd)
                tot = s.total()
                if tot < best[0] - 1e-12:
                    best = (tot, s.f.copy(), s.d.copy(), s.p.copy())
            if progress is not None and step % 1000 == 0:
                progress(step, best[0])
        s = _State(frame, Layout(best[1], best[2], best[3]), aims, realism)
    s.active = np.ones(len(aims), bool)
    missed = tuple(a.key for a, c in zip(aims, s.costs, strict=True) if c > 0)
    return SearchResult(Layout(s.f, s.d, s.p), s.total(), missed, step)


#: Moves of a repair attempt (:func:`repair`): those of the aimed search and the slide across
#: regimens.
REPAIR_MOVES = MOVES + (EXCHANGE, EXCHANGE, SLIDE, ACROSS)
#: Temperatures of a repair attempt's two phases: the first on the soft objective (no step at
#: the edge of what prints, so a printed p-value may be given up on the way), the second on the
#: objective, every printed number held.
REPAIR_TEMPERATURES = ((0.03, 0.002), (0.5, 0.02))


def repair(frame: Frame, result: SearchResult, aims: tuple[Aim, ...], rng: np.random.Generator,
           attempts: int, soft_steps: int, hold_steps: int, realism: bool = True,
           max_share: int = 3, kinds: tuple[int, ...] = REPAIR_MOVES, far: bool = False,
           temperatures: tuple[tuple[float, float], tuple[float, float]] = REPAIR_TEMPERATURES
           ) -> SearchResult:
    """Independent attempts to print more of ``aims`` from the layout ``result`` reached: each
    lets the printed p-values go on the soft objective for ``soft_steps`` moves (the 3-year
    rates held), then polishes with every printed number held for ``hold_steps``. Each attempt
    draws from its own child of ``rng`` (``rng`` itself is not advanced, so what the caller draws
    after is the same with or without a repair). The attempt with the fewest missed aims, then
    the lowest objective, replaces ``result`` only when it misses fewer aims and makes no
    curve odder (``realism``: cliffs, late first events); else ``result`` is returned as it is
    (the same object). ``kinds``: the moves of both phases; ``far``: the soft phase measures
    p-values on the far scale (:meth:`Aim.cost`); ``temperatures``: of the two phases."""
    if not result.missed:
        return result
    every = np.ones(len(aims), bool)
    best = result

    def shape(layout: Layout) -> float:
        return sum(_State(frame, layout, aims, realism).odd.values())

    odd = shape(result.layout)
    soft_t, hold_t = temperatures
    for child in rng.spawn(attempts):
        res = run_phases(frame, result.layout, aims, child,
                         [Phase(every, soft_steps, "rates", 0.8, soft_t, kinds, soft=True,
                                far=far),
                          Phase(every, hold_steps, "all", POLISH_AIMED, hold_t, kinds)],
                         realism, max_share)
        # the soft phase may make a curve odder (it is in the objective, not held): such an
        # attempt is not kept
        if ((len(res.missed), res.objective) < (len(best.missed), best.objective)
                and shape(res.layout) <= odd + 1e-12):
            best = SearchResult(res.layout, res.objective, res.missed, result.steps + res.steps)
    # a layout that prints no more numbers is not worth the change: everything drawn on the
    # dates after (the response visits) stays as it was
    return best if len(best.missed) < len(result.missed) else result


def search(frame: Frame, layout: Layout, aims: tuple[Aim, ...], rng: np.random.Generator,
           max_steps: int = 40000, realism: bool = True, max_share: int = 3,
           temperature: tuple[float, float] = (0.5, 0.02),
           progress: Callable[[int, float], None] | None = None,
           polish_steps: int = 0,
           kinds: tuple[int, ...] = MOVES) -> SearchResult:
    """Move event and censoring times until every aim prints (objective 0) or ``max_steps``.

    Two phases: the 3-year rates (and the shape of the curves) first, with at most a quarter of
    the moves; then every aim, a rate that prints being held (a move that would lose it is
    refused). With ``polish_steps``, a third phase of that many moves, nearly all drawn for
    the aims still missed, holds every aim that prints (rates and p-values alike) and the shape
    of the curves (a move making a curve odder is refused), so it can only add printed numbers
    to what the second phase reached. Deterministic for a given ``rng`` state (no clock is
    read). ``max_share``: the most patients that may share a follow-up time to the day (a move
    adding to a larger crowd is refused; an initial crowd is not broken up here).

    ``kinds``: the moves drawn from (:func:`_move`; e.g. ``MOVES + (EXCHANGE, SLIDE)``).
    """
    rates = np.array([a.kind == "rate" for a in aims])
    every = np.ones(len(aims), bool)
    phases = [Phase(rates, 0, "rates", 0.6, temperature, kinds, cap=max_steps // 4),
              Phase(every, 0, "rates", 0.6, temperature, kinds, cap=max_steps)]
    if polish_steps > 0:
        phases.append(Phase(every, 0, "all", POLISH_AIMED, POLISH_TEMPERATURE, kinds,
                            cap=max_steps + polish_steps))
    return run_phases(frame, layout, aims, rng, phases, realism, max_share, progress)


__all__ = ["ACROSS", "EXCHANGE", "LATE_DEATH", "MOVES", "SLIDE", "Aim", "Frame", "Layout", "Phase", "SearchResult",
           "endpoint_times", "first_event", "km_horizon", "largest_drop", "logrank_p", "pfs_of",
           "repair",
           "run_phases", "search"]
