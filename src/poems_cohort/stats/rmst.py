"""Restricted mean survival time per group and the difference against a reference group, from the
Kaplan–Meier RMST of ``survival.py`` (R ``print(survfit(...), rmean = tau)``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from poems_cohort.stats._common import frame_repr
from poems_cohort.stats.survival import check_conf, kaplan_meier_by_group

__all__ = ["RmstComparison", "rmst_comparison"]

COLUMNS = ("group", "n", "events", "tau", "rmst", "se", "diff", "diff_se", "diff_lower",
           "diff_upper", "p_value")


@dataclass(frozen=True, repr=False, eq=False)
class RmstComparison:
    """RMST up to ``tau`` per group and the difference of each group minus the reference.

    :attr:`table`: one row per group (level order) with ``group, n, events, tau, rmst, se, diff,
    diff_se, diff_lower, diff_upper, p_value``; the difference columns are NaN on the reference row.
    """

    table: pd.DataFrame
    tau: float
    reference: Any
    conf_level: float

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def __repr__(self) -> str:
        return frame_repr(f"RMST up to {self.tau:g} against {self.reference!r} "
                          f"({100 * self.conf_level:g}% CI)", self.table)


def rmst_comparison(time: Any, event: Any, group: Any, tau: float, *, reference: Any = None,
                    conf_level: float = 0.95) -> RmstComparison:
    """RMST on [0, tau] per group (``summary(survfit(Surv(time, event) ~ group), rmean =
    tau)$table[, c("rmean", "se(rmean)")]``) and, for each other group, the difference against
    ``reference`` (default: the first level) with the interval ``diff ± z·sqrt(se_g² + se_ref²)``
    and the two-sided z-test p (the groups are independent samples).

    Past a group's last time its curve is held flat up to ``tau``, as R does; a group whose last
    observation is well before ``tau`` gets an RMST that rests on that extrapolation.
    """
    z = check_conf(conf_level, "plain")
    fits = kaplan_meier_by_group(time, event, group)
    if reference is None:
        reference = fits.groups[0]
    if reference not in fits.groups:
        raise ValueError(f"reference: {reference!r} is not one of the groups {list(fits.groups)}")
    rm = {label: fit.rmst(tau) for label, fit in fits}
    r0 = rm[reference]
    rows = []
    for label, fit in fits:
        r = rm[label]
        if label == reference:
            diff = dse = lo = hi = p = float("nan")
        else:
            diff = r.estimate - r0.estimate
            dse = float(np.hypot(r.std_err, r0.std_err))
            lo, hi = diff - z * dse, diff + z * dse
            p = float(2 * sps.norm.sf(abs(diff / dse))) if dse > 0 else float("nan")
        rows.append((label, fit.n, fit.events, r.tau, r.estimate, r.std_err, diff, dse, lo, hi, p))
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    return RmstComparison(table=table, tau=float(r0.tau), reference=reference,
                          conf_level=float(conf_level))
