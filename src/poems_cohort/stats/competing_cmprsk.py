"""Cumulative incidence at fixed times with the variance of R ``cmprsk``: ``timepoints(cuminc(time,
status, group), times)``.

``competing.cumulative_incidence`` gives the Aalen–Johansen estimate with the
infinitesimal-jackknife SE of R ``survival``; ``cmprsk`` reports the same estimate with another
variance estimator (Gray's delta-method recursion in its Fortran routine ``cinc``), close to the
jackknife one but not equal. Reports that quote ``cuminc`` need that variance, so it is computed
here, vectorised over the distinct times (our own kernel: no Python library implements it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.special import ndtri

from poems_cohort.stats._common import as_float_array, as_groups, frame_repr
from poems_cohort.stats.competing import _check_common

__all__ = ["CumulativeIncidencePoints", "cuminc_timepoints"]

COLUMNS = ("group", "cause", "time", "estimate", "variance", "std_err", "lower", "upper")


def _cinc(time: np.ndarray, status: np.ndarray, cause: int) -> tuple[np.ndarray, np.ndarray,
                                                                     np.ndarray, float]:
    """Estimate and variance of the cumulative incidence of ``cause`` at each distinct time (as
    cmprsk ``cinc``), and the largest time. The variance changes only at times with an event of
    ``cause``; in between it is carried forward."""
    ut, inv = np.unique(time, return_inverse=True)
    n_at = np.bincount(inv, minlength=len(ut))
    rs = (len(time) - np.concatenate(([0], np.cumsum(n_at)[:-1]))).astype(float)
    d1 = np.bincount(inv, weights=(status == cause).astype(float), minlength=len(ut))
    d2 = np.bincount(inv, weights=((status > 0) & (status != cause)).astype(float),
                     minlength=len(ut))
    nd = d1 + d2
    ratio = (rs - nd) / rs
    fkn = np.cumprod(ratio)  # event-free KM just after each time
    fk = np.concatenate(([1.0], fkn[:-1]))  # ... and just before
    f = np.cumsum(fk * d1 / rs)
    with np.errstate(divide="ignore", invalid="ignore"):
        t3 = np.where(fkn > 0, 1.0 / fkn, 0.0)

        def contribution(nd_c: np.ndarray) -> np.ndarray:
            # fk² · (1 − (d − 1)/(rs − 1)) · d / rs², the binomial-type variance of the jump
            t5 = np.where(nd_c > 1, 1.0 - (nd_c - 1.0) / (rs - 1.0), 1.0)
            return np.where(nd_c > 0, fk * fk * t5 * nd_c / (rs * rs), 0.0)

        t6_other = np.where(fkn > 0, contribution(d2), 0.0)
        t4_other = f * t3
        t6_cause = contribution(d1)
        t4_cause = 1.0 + t3 * f
    v1 = np.cumsum(t4_other ** 2 * t6_other + t4_cause ** 2 * t6_cause)
    v2 = np.cumsum(t3 * t4_other * t6_other + t3 * t4_cause * t6_cause)
    v3 = np.cumsum(t3 * t3 * t6_other + t3 * t3 * t6_cause)
    var_at = v1 + f * f * v3 - 2 * f * v2
    # carried forward from the last time with an event of this cause (0 before the first)
    last = np.maximum.accumulate(np.where(d1 > 0, np.arange(len(ut)), -1))
    var = np.where(last >= 0, var_at[np.maximum(last, 0)], 0.0)
    return ut, f, var, float(ut[-1])


@dataclass(frozen=True, repr=False, eq=False)
class CumulativeIncidencePoints:
    """Cumulative incidence of each cause at fixed times, per group, as ``cmprsk::timepoints``.

    :attr:`table`: ``group, cause, time, estimate, variance, std_err, lower, upper``; estimate and
    variance are NaN past a group's largest time (as cmprsk). Limits: ``conf_type`` ``"log-log"``
    (``F^exp(±z·se/(F log F))``, undefined at F = 0) or ``"plain"`` (``F ± z·se`` clipped to
    [0, 1]); cmprsk itself gives no limits.
    """

    table: pd.DataFrame
    conf_level: float
    conf_type: str

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def __repr__(self) -> str:
        return frame_repr(f"Cumulative incidence at fixed times (cmprsk variance, "
                          f"{100 * self.conf_level:g}% {self.conf_type} CI)", self.table)


def cuminc_timepoints(time: Any, status: Any, times: Any, *, group: Any = None,
                      conf_level: float = 0.95,
                      conf_type: Literal["log-log", "plain"] = "log-log"
                      ) -> CumulativeIncidencePoints:
    """Cumulative incidence of every cause (status 1, 2, ...; 0 = censored) at ``times``, with
    the variance of ``cmprsk::timepoints(cuminc(time, status, group, cencode = 0), times)$var``.

    Causes are the codes with at least one event. ``group`` gives one estimate per group (levels
    as R's factor order); ``None`` means one group, labelled ``None``. Times are sorted and
    de-duplicated as cmprsk does.
    """
    if conf_type not in ("log-log", "plain"):
        raise ValueError(f"conf_type: expected 'log-log' or 'plain', got {conf_type!r}")
    if not (isinstance(conf_level, int | float) and 0 < float(conf_level) < 1):
        raise ValueError(f"conf_level: {conf_level!r}; expected a number strictly between 0 and 1")
    z = float(ndtri(1 - (1 - float(conf_level)) / 2))
    t, s, _ = _check_common(time, status)  # the checks of cumulative_incidence
    tt = np.unique(as_float_array("times", np.atleast_1d(np.asarray(times, dtype=float))))
    if (tt < 0).any():
        raise ValueError(f"times: negative time {tt[0]!r}")
    if group is None:
        codes, levels = np.zeros(len(t), dtype=np.int64), (None,)
    else:
        codes, levels = as_groups("group", group)
    if not (len(t) == len(s) == len(codes)):
        raise ValueError(f"inputs differ in length: time={len(t)}, status={len(s)}, "
                         f"group={len(codes)}")
    if len(t) == 0:
        raise ValueError("no observations: the inputs are empty")
    causes = sorted(int(c) for c in np.unique(s[s > 0]))
    if not causes:
        raise ValueError("status: no events (all 0 = censored); nothing to estimate")
    parts = []
    for gi, lv in enumerate(levels):
        sel = codes == gi
        if not sel.any():
            raise ValueError(f"group: level {lv!r} has no observations")
        for c in causes:
            ut, f, var, tmax = _cinc(t[sel], s[sel], c)
            idx = np.searchsorted(ut, tt, side="right") - 1
            inside = tt <= tmax
            est = np.where(idx >= 0, f[np.maximum(idx, 0)], 0.0)
            v = np.where(idx >= 0, var[np.maximum(idx, 0)], 0.0)
            est = np.where(inside, est, np.nan)
            v = np.where(inside, v, np.nan)
            parts.append(pd.DataFrame({"group": [lv] * len(tt), "cause": c, "time": tt,
                                       "estimate": est, "variance": v}))
    table = pd.concat(parts, ignore_index=True)
    est = table["estimate"].to_numpy()
    se = np.sqrt(np.maximum(table["variance"].to_numpy(), 0.0))
    se[np.isnan(est)] = np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        if conf_type == "plain":
            lower, upper = np.clip(est - z * se, 0, 1), np.clip(est + z * se, 0, 1)
        else:
            ok = (est > 0) & (est < 1)
            a = np.where(ok, z * se / (est * np.log(np.where(ok, est, 0.5))), np.nan)
            lower = np.where(ok, est ** np.exp(-a), np.nan)
            upper = np.where(ok, est ** np.exp(a), np.nan)
    table["std_err"] = se
    table["lower"] = lower
    table["upper"] = upper
    return CumulativeIncidencePoints(table=table[list(COLUMNS)], conf_level=float(conf_level),
                                     conf_type=conf_type)
