"""Treatment, progression, death and follow-up dates that give the published survival.

Each regimen's observed follow-up times (months to death or to last follow-up) come from a fixed
quantile design whose median is the published median follow-up and whose total is close to the
published person-years. Which of those times end in death before 3 years is then chosen per
regimen and risk subgroup by a seeded search until the Kaplan–Meier 3-year OS prints as
published; progressions before 3 years are chosen the same way for PFS. Later deaths and
progressions complete the published totals. All times are whole days; months are days / 30.4375
as in the endpoint rules.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from poems_cohort.synth.assign import choose_exact
from poems_cohort.synth.targets import RegimenTargets, Targets

DAYS_PER_MONTH = 30.4375
CUTOFF = pd.Timestamp("2018-08-31")
FIRST_START = pd.Timestamp("2000-01-01")
LAST_START = pd.Timestamp("2017-10-31")
HORIZON_DAYS = int(36 * DAYS_PER_MONTH)  # events on or before this day count in the 3-year rate

#: Observed follow-up (months) at quantiles of each regimen: (quantile, months). The median
#: knot is the published median follow-up; the others were set so that the cohort's median
#: follow-up and person-years come close to the published ones.
FOLLOWUP_DESIGN: dict[str, tuple[tuple[float, float], ...]] = {
    "MDex": ((0, 1.0), (0.05, 12), (0.25, 40), (0.5, None), (0.8, 98), (0.95, 150), (1, 222)),
    "ASCT": ((0, 0.8), (0.04, 11), (0.2, 20), (0.47, 44), (0.5, None), (0.85, 54), (0.97, 90),
             (1, 150)),
    "LDex": ((0, 1.5), (0.05, 11), (0.2, 18), (0.5, None), (0.75, 45.5), (0.9, 50), (0.98, 62),
             (1, 110)),
}  # type: ignore[dict-item]

#: Earliest treatment start per regimen (lenalidomide came later than the other two).
ERA_START = {"MDex": pd.Timestamp("2000-01-01"), "ASCT": pd.Timestamp("2002-01-01"),
             "LDex": pd.Timestamp("2009-01-01")}


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


def _followup_days(rng: np.random.Generator, t: RegimenTargets) -> np.ndarray:
    """Observed follow-up in whole days, the design's quantiles in a random order."""
    design = FOLLOWUP_DESIGN[t.regimen]
    qs = np.array([q for q, _ in design])
    vs = np.array([t.median_followup if v is None else v for _, v in design], dtype=float)
    months = np.interp((np.arange(t.size) + 0.5) / t.size, qs, vs)
    days = np.round(months * DAYS_PER_MONTH).astype(np.int64)
    return days[rng.permutation(t.size)]


@dataclass(frozen=True)
class _Search:
    """The outcome of a search for events: the event mask, their times and the rate reached."""

    event: np.ndarray
    days: np.ndarray
    percent: float


def search_events(rng: np.random.Generator, days: np.ndarray, fixed: np.ndarray,
                  candidates: np.ndarray, weights: np.ndarray, printed: float,
                  draw_times: bool, tries: int = 300) -> _Search:
    """Add events among ``candidates`` until 3-year KM survival prints as ``printed``.

    ``days`` are the event or censoring times, ``fixed`` the events already decided. With
    ``draw_times`` each added event gets a new time before its own censoring time and the
    horizon (a progression); otherwise the event happens at ``days`` (a death). The number of
    added events is first bracketed by bisection, then neighbouring numbers are tried with
    ``tries`` random draws each; the closest result is kept if none prints as published.
    """
    cand = np.flatnonzero(candidates)
    w = weights[cand]

    def draw(k: int) -> _Search:
        ev = fixed.copy()
        times = days.copy()
        pick = cand[choose_exact(rng, k, w)]
        ev[pick] = True
        if draw_times:
            hi = np.minimum(days[pick] - 1, HORIZON_DAYS)
            times[pick] = rng.integers(15, np.maximum(hi, 16))
        return _Search(ev, times, 100.0 * km_at(times, ev))

    lo_k, hi_k = 0, len(cand)
    while hi_k - lo_k > 1:
        mid = (lo_k + hi_k) // 2
        if draw(mid).percent > printed:
            lo_k = mid
        else:
            hi_k = mid
    best: _Search | None = None
    for k in sorted(range(max(0, lo_k - 2), min(len(cand), hi_k + 2) + 1),
                    key=lambda k: abs(k - hi_k)):
        for _ in range(tries):
            s = draw(k)
            if best is None or abs(s.percent - printed) < abs(best.percent - printed):
                best = s
            if prints_as(s.percent, printed):
                return s
    assert best is not None
    return best


def survival_dates(targets: Targets, baseline: pd.DataFrame, rng: np.random.Generator
                   ) -> pd.DataFrame:
    """Dates and outcomes per patient (same index as ``baseline``).

    Columns: ``treatment_start``, ``progression_date``, ``death_date``, ``last_followup``
    (``datetime64``, NaT where none), ``death_cause``, ``secondary_malignancy`` and the internal
    ``followup_days`` (days from treatment start to death or last follow-up).
    """
    n = len(baseline)
    follow = np.zeros(n, np.int64)
    died = np.zeros(n, bool)
    prog = np.full(n, -1, np.int64)  # days to progression, -1 = none
    cause = np.full(n, "", dtype=object)
    tight = n <= 5000
    for t in targets.regimens:
        rows = np.flatnonzero(baseline["regimen"].to_numpy() == t.regimen)
        days = _followup_days(rng, t)
        follow[rows] = days
        # the shortest times after ASCT are the treatment-related deaths
        trm = np.zeros(len(rows), bool)
        trm[np.argsort(days, kind="stable")[: t.treatment_related_deaths]] = True
        sub = baseline["subgroup"].to_numpy()[rows]
        for sg in ("low", "medium-high"):
            cell = sub == sg
            d = days[cell]
            early = d <= HORIZON_DAYS
            weights = np.where(trm[cell], np.inf, np.where(d < 320, 6.0, 1.0))
            res = search_events(rng, d, np.zeros(len(d), bool), early, weights, t.os_3y[sg],
                                draw_times=False, tries=2000 if tight else 3)
            died[rows[cell]] = res.event
        # later deaths up to the regimen's total
        alive_late = ~died[rows] & (days > HORIZON_DAYS + 15)
        k_late = min(int(alive_late.sum()), max(0, t.deaths - int(died[rows].sum())))
        late = np.zeros(len(rows), bool)
        late[np.flatnonzero(alive_late)[choose_exact(rng, k_late, days[alive_late] / 365.0)]] = True
        died[rows[late]] = True
        cause[rows[trm & died[rows]]] = "treatment-related"
        # deaths from the disease often follow a recorded progression
        dead = np.flatnonzero(died[rows] & ~trm)
        with_prog = dead[rng.random(len(dead)) < 0.6]
        for i in with_prog:
            dd = days[i]
            if dd <= HORIZON_DAYS:
                prog[rows[i]] = int(rng.integers(max(10, dd // 3), max(11, dd - 20)))
            elif dd > HORIZON_DAYS + 30:
                prog[rows[i]] = int(rng.integers(HORIZON_DAYS + 15, dd - 10))
        cause[rows[with_prog]] = "disease"
        rest = np.flatnonzero(died[rows] & (cause[rows] == ""))
        cause[rows[rest]] = rng.choice(["disease", "other", "unknown"], size=len(rest),
                                       p=[0.45, 0.35, 0.2])
        # PFS: progressions before 3 years among patients not dead before 3 years
        for sg in ("low", "medium-high"):
            cell = sub == sg
            r = rows[cell]
            early_dead = died[r] & (follow[r] <= HORIZON_DAYS)
            pfs_days = np.where(prog[r] >= 0, np.minimum(prog[r], follow[r]), follow[r])
            cand = ~early_dead & (prog[r] < 0) & (follow[r] > 60)
            res = search_events(rng, pfs_days, early_dead | ((prog[r] >= 0)
                                                              & (prog[r] <= HORIZON_DAYS)),
                                cand, np.ones(len(r)), t.pfs_3y[sg], draw_times=True,
                                tries=2000 if tight else 3)
            new = res.event & cand
            prog[r[new]] = res.days[new]
        # later progressions in living patients up to the regimen's total
        alive = ~died[rows]
        have = int((alive & (prog[rows] >= 0)).sum())
        pool = alive & (prog[rows] < 0) & (days > HORIZON_DAYS + 60)
        k = min(int(pool.sum()), max(0, t.progressions_alive - have))
        pick = np.flatnonzero(pool)[choose_exact(rng, k, np.ones(int(pool.sum())))]
        prog[rows[pick]] = rng.integers(HORIZON_DAYS + 15, days[pick] - 30)
    return _to_dates(targets, baseline, rng, follow, died, prog, cause)


def _to_dates(targets: Targets, baseline: pd.DataFrame, rng: np.random.Generator,
              follow: np.ndarray, died: np.ndarray, prog: np.ndarray, cause: np.ndarray
              ) -> pd.DataFrame:
    n = len(baseline)
    regimen = baseline["regimen"].to_numpy()
    era = np.array([(ERA_START[r] - FIRST_START).days for r in regimen])
    span_end = (CUTOFF - FIRST_START).days
    last_start = (LAST_START - FIRST_START).days
    lag = rng.integers(0, 46, size=n)  # last contact shortly before the cutoff
    start = span_end - lag - follow  # followed up to the cutoff
    # deaths and short follow-up (lost to follow-up): start anywhere in the regimen's era
    free = died | (start > last_start)
    hi = np.minimum(last_start, span_end - follow)
    lo = np.minimum(era, hi)
    drawn = lo + np.floor(rng.random(n) * (hi - lo + 1)).astype(np.int64)
    start = np.where(free, drawn, start)
    start = np.maximum(start, 0)
    base = np.datetime64(FIRST_START.date(), "D")
    start_d = base + start.astype("timedelta64[D]")
    end_d = start_d + follow.astype("timedelta64[D]")
    nat = np.datetime64("NaT", "D")
    out = pd.DataFrame(index=baseline.index)
    out["treatment_start"] = pd.to_datetime(start_d)
    out["progression_date"] = pd.to_datetime(
        np.where(prog >= 0, start_d + np.maximum(prog, 0).astype("timedelta64[D]"), nat))
    out["death_date"] = pd.to_datetime(np.where(died, end_d, nat))
    out["last_followup"] = pd.to_datetime(end_d)
    out["death_cause"] = np.where(died, cause, "")
    secondary = np.zeros(n, bool)
    for t in targets.regimens:
        pool = (regimen == t.regimen) & ~died & (follow > 60 * DAYS_PER_MONTH)
        k = min(int(pool.sum()), t.secondary_malignancies)
        secondary[np.flatnonzero(pool)[choose_exact(rng, k, np.ones(int(pool.sum())))]] = True
    out["secondary_malignancy"] = np.where(secondary, "yes", "no")
    out["followup_days"] = follow
    return out
