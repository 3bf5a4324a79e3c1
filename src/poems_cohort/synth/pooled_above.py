"""A follow-up and event layout whose pooled 3-year PFS lies above both risk subgroups.

A pooled Kaplan–Meier estimate weighs each event by the whole regimen's risk set at that time,
a subgroup's estimate by the subgroup's own. When medium-high-risk events happen early, while
nearly every patient of the regimen is still at risk, each costs the pooled curve about
1 / (regimen size) but the subgroup curve 1 / (subgroup size); when low-risk events happen
late, after most low-risk patients have been censored (short follow-up: treated in the last
years before the cutoff), each costs the low-risk curve much more than the pooled one. The
pooled 3-year PFS can then exceed both subgroup values, as the paper prints for ASCT (87.6
overall, 83.7 low risk, 84.6 medium-high risk).

``pooled_above_layout`` builds such a layout deliberately. The regimen's follow-up times are
the design's (so the median follow-up and the person-years do not change); only who gets which
time is chosen, by rank of the sorted times:

- medium-high risk: the shortest times are the treatment-related deaths, the next few are
  censored early, a block of later times before 3 years ends in deaths from the disease (each
  after an early progression), and the rest of the medium-high-risk patients hold long
  follow-up; some of these progress early;
- low risk: every other time before 3 years (one of them ends in death) and a share of the
  long times spread evenly over them; some of the long-followed progress late, in the months
  before 3 years.

An explicit search over these few integers and month windows (``_PARAMETERS``) keeps the
layouts whose six 3-year rates (PFS and OS, all / low / medium-high) all print as published,
and takes the one nearest the printed values.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product
from typing import TypedDict

import numpy as np

from poems_cohort.synth.km import DAYS_PER_MONTH, HORIZON_DAYS, km_at, prints_as
from poems_cohort.synth.targets import RegimenTargets


def applies(t: RegimenTargets) -> bool:
    """Whether the regimen's published pooled 3-year PFS lies above both risk subgroups."""
    return t.pfs_3y["all"] > max(t.pfs_3y["low"], t.pfs_3y["medium-high"])


#: The searched values: medium-high-risk patients censored early, disease deaths before 3 years
#: (medium-high risk) and the block's distance from the last time before 3 years, early
#: progressions (medium-high risk) and their window in months, late progressions (low risk) and
#: theirs. Low-risk deaths before 3 years: one, at whichever rank prints the low-risk OS.
class _Parameters(TypedDict):
    mh_censored: range
    mh_deaths: tuple[int, ...]
    death_offset: range
    mh_progressions: range
    mh_window: tuple[tuple[float, float], ...]  # (start, end) in months
    low_progressions: range
    low_window: tuple[tuple[float, float], ...]


_PARAMETERS: _Parameters = {
    "mh_censored": range(0, 8),
    "mh_deaths": (4, 5, 6),
    "death_offset": range(0, 40),
    "mh_progressions": range(0, 12),
    "mh_window": tuple((a, b) for a in (0.5, 1.0, 2.0, 3.0) for b in range(3, 25) if b > a),
    "low_progressions": range(0, 7),
    "low_window": tuple((a, b) for a in np.arange(14.0, 36.0, 0.5) for b in (33.0, 34.0, 35.0,
                                                                             35.9) if b >= a),
}


@dataclass(frozen=True)
class Layout:
    """A layout by rank of the sorted follow-up times (``days``, ascending).

    ``low``: the ranks held by low-risk patients. ``died``: deaths before 3 years (at their
    follow-up time). ``prog``: day of a progression before 3 years, -1 where none.
    ``treatment_related``: the treatment-related deaths. ``rates``: the six 3-year rates
    reached, ``(endpoint, subgroup) -> percent`` with subgroups ``all``, ``low``,
    ``medium-high``.
    """

    days: np.ndarray
    low: np.ndarray
    died: np.ndarray
    prog: np.ndarray
    treatment_related: np.ndarray
    rates: dict[tuple[str, str], float]

    def distance(self, t: RegimenTargets) -> float:
        """Sum of the distances of the six rates to the printed ones (percentage points)."""
        return sum(abs(v - (t.pfs_3y if ep == "pfs" else t.os_3y)[sg])
                   for (ep, sg), v in self.rates.items())


def _spread(pool: np.ndarray, k: int) -> np.ndarray:
    """``k`` members of ``pool`` evenly spread over it (first and last included)."""
    if k <= 0:
        return pool[:0]
    return pool[np.round(np.linspace(0, len(pool) - 1, k)).astype(int)]


def _month_days(start: float, end: float, k: int) -> np.ndarray:
    return np.round(np.linspace(start, end, k) * DAYS_PER_MONTH).astype(np.int64)


def pooled_above_layout(t: RegimenTargets, days: np.ndarray) -> Layout | None:
    """The layout nearest the published rates among those printing all six, or ``None``.

    ``days``: the regimen's follow-up times (any order). The regimen's low-risk count is
    ``t.risk["low"]``, the rest are medium-high risk.
    """
    days = np.sort(np.asarray(days, np.int64))
    n = len(days)
    n_low = t.risk["low"]
    n_mh = n - n_low
    trm = t.treatment_related_deaths
    short = np.flatnonzero(days <= HORIZON_DAYS)
    long_ = np.flatnonzero(days > HORIZON_DAYS)
    p = _PARAMETERS
    best: Layout | None = None
    for censored, deaths, offset in product(p["mh_censored"], p["mh_deaths"],
                                            p["death_offset"]):
        first_death = len(short) - offset - deaths
        if first_death < trm + censored:
            continue
        mh_short = np.concatenate([short[: trm + censored], short[first_death:
                                                                  first_death + deaths]])
        low_short = np.setdiff1d(short, mh_short)
        n_low_long = n_low - len(low_short)
        if n_low_long < 0 or n_mh - len(mh_short) < 0:
            continue
        low = np.zeros(n, bool)
        low[low_short] = True
        low[_spread(long_, n_low_long)] = True
        died = np.zeros(n, bool)
        died[mh_short[:trm]] = True
        died[mh_short[trm + censored:]] = True
        mh = ~low
        if not prints_as(100 * km_at(days[mh], died[mh]), t.os_3y["medium-high"]):
            continue
        for a in np.flatnonzero(low & (days <= HORIZON_DAYS)):
            dead = died.copy()
            dead[a] = True
            os_low = 100 * km_at(days[low], dead[low])
            os_all = 100 * km_at(days, dead)
            if not (prints_as(os_low, t.os_3y["low"]) and prints_as(os_all, t.os_3y["all"])):
                continue
            layout = _best_progressions(t, days, low, dead, mh_short[trm + censored:],
                                        mh_short[:trm])
            if layout is not None and (best is None
                                       or layout.distance(t) < best.distance(t) - 1e-12):
                best = layout
    return best


def _best_progressions(t: RegimenTargets, days: np.ndarray, low: np.ndarray, died: np.ndarray,
                       mh_disease_deaths: np.ndarray, treatment_related: np.ndarray
                       ) -> Layout | None:
    """Early medium-high-risk and late low-risk progressions printing every PFS rate."""
    n = len(days)
    mh = ~low
    p = _PARAMETERS
    mh_long_alive = np.flatnonzero(mh & ~died & (days > HORIZON_DAYS))
    low_long_alive = np.flatnonzero(low & ~died & (days > HORIZON_DAYS))
    mh_options: list[np.ndarray] = []
    for k, (start, end) in product(p["mh_progressions"], p["mh_window"]):
        who = np.concatenate([mh_disease_deaths, _spread(mh_long_alive, k)])
        when = _month_days(start, end, len(who))
        if np.any(when > days[who] - 15):
            continue
        prog = np.full(n, -1, np.int64)
        prog[who] = when
        pfs, event = _pfs(days, died, prog)
        if prints_as(100 * km_at(pfs[mh], event[mh]), t.pfs_3y["medium-high"]):
            mh_options.append(prog)
    low_options: list[np.ndarray] = []
    for k, (start, end) in product(p["low_progressions"], p["low_window"]):
        if k > len(low_long_alive) or (k == 0 and (start, end) != p["low_window"][0]):
            continue
        who = _spread(low_long_alive, k)
        prog = np.full(n, -1, np.int64)
        prog[who] = _month_days(start, end, k)
        pfs, event = _pfs(days, died, prog)
        if prints_as(100 * km_at(pfs[low], event[low]), t.pfs_3y["low"]):
            low_options.append(prog)
    best: Layout | None = None
    for mh_prog, low_prog in product(mh_options, low_options):
        prog = np.maximum(mh_prog, low_prog)
        pfs, event = _pfs(days, died, prog)
        pfs_all = 100 * km_at(pfs, event)
        if not prints_as(pfs_all, t.pfs_3y["all"]):
            continue
        rates = {
            ("pfs", "all"): pfs_all,
            ("pfs", "low"): 100 * km_at(pfs[low], event[low]),
            ("pfs", "medium-high"): 100 * km_at(pfs[mh], event[mh]),
            ("os", "all"): 100 * km_at(days, died),
            ("os", "low"): 100 * km_at(days[low], died[low]),
            ("os", "medium-high"): 100 * km_at(days[mh], died[mh]),
        }
        trm = np.zeros(n, bool)
        trm[treatment_related] = True
        layout = Layout(days=days, low=low, died=died, prog=prog, treatment_related=trm,
                        rates=rates)
        if best is None or layout.distance(t) < best.distance(t) - 1e-12:
            best = layout
    return best


def _pfs(days: np.ndarray, died: np.ndarray, prog: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.where(prog >= 0, np.minimum(prog, days), days), (prog >= 0) | died
