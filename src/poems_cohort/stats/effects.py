"""Effect sizes for a rate in one group against a reference group (2 x 2 tables): the risk
difference with Newcombe's hybrid-score interval, the conditional maximum-likelihood odds ratio with
its exact interval (R ``fisher.test``), and Holm-adjusted p-values over the comparisons.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from poems_cohort.stats._common import frame_repr
from poems_cohort.stats.contingency import fisher_exact, proportion_ci
from poems_cohort.stats.logrank import ADJUSTMENTS, adjust_p

__all__ = ["ProportionComparison", "RiskDifference", "compare_proportions", "risk_difference"]


@dataclass(frozen=True, repr=False)
class RiskDifference:
    """``x1/n1 − x0/n0`` with Newcombe's hybrid-score interval (method 10 of Newcombe 1998)."""

    x1: int
    n1: int
    x0: int
    n0: int
    estimate: float
    lower: float
    upper: float
    conf_level: float

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({k: [getattr(self, k)] for k in (
            "x1", "n1", "x0", "n0", "estimate", "lower", "upper", "conf_level")})

    def __repr__(self) -> str:
        return (f"risk difference {self.x1}/{self.n1} − {self.x0}/{self.n0} = {self.estimate:.6g} "
                f"({100 * self.conf_level:g}% CI {self.lower:.6g} to {self.upper:.6g}, Newcombe)")


def risk_difference(x1: int, n1: int, x0: int, n0: int, *,
                    conf_level: float = 0.95) -> RiskDifference:
    """``p1 − p0`` with Newcombe's hybrid-score interval.

    With ``(l_i, u_i)`` the Wilson score interval of ``p_i`` (R ``prop.test(x, n, correct =
    FALSE)$conf.int``): ``lower = d − sqrt((p1 − l1)² + (u0 − p0)²)``, ``upper = d + sqrt((u1 −
    p1)² + (p0 − l0)²)``. Defined for every table, including 0 or all events and groups of one.
    """
    a = proportion_ci(x1, n1, method="wilson", conf_level=conf_level)
    b = proportion_ci(x0, n0, method="wilson", conf_level=conf_level)
    d = a.estimate - b.estimate
    lower = d - math.hypot(a.estimate - a.lower, b.upper - b.estimate)
    upper = d + math.hypot(a.upper - a.estimate, b.estimate - b.lower)
    return RiskDifference(int(x1), int(n1), int(x0), int(n0), d, lower, upper, float(conf_level))


COLUMNS = ("group", "reference", "x", "n", "x_reference", "n_reference", "proportion",
           "proportion_reference", "risk_difference", "rd_lower", "rd_upper", "odds_ratio",
           "or_lower", "or_upper", "p_value", "p_adjusted")


@dataclass(frozen=True, repr=False, eq=False)
class ProportionComparison:
    """Each group against the reference: :attr:`table` with ``group, reference, x, n,
    x_reference, n_reference, proportion, proportion_reference, risk_difference, rd_lower,
    rd_upper, odds_ratio, or_lower, or_upper, p_value, p_adjusted``."""

    table: pd.DataFrame
    reference: Any
    conf_level: float
    adjust: str | None

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def __repr__(self) -> str:
        return frame_repr(f"Proportions against {self.reference!r} ({100 * self.conf_level:g}% "
                          f"CIs; risk difference Newcombe, odds ratio exact conditional; "
                          f"p Fisher, adjusted {self.adjust})", self.table)


def _count(name: str, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int | np.integer):
        if isinstance(v, float | np.floating) and float(v).is_integer():
            return int(v)
        raise ValueError(f"{name}: expected a whole number, got {v!r}")
    return int(v)


def compare_proportions(events: Sequence[int], totals: Sequence[int], groups: Sequence[Any], *,
                        reference: Any = None, conf_level: float = 0.95,
                        adjust: str | None = "holm") -> ProportionComparison:
    """Each group's rate ``events/totals`` against ``reference`` (default: the first group).

    Per group: the risk difference (group − reference) with Newcombe's hybrid-score interval
    (:func:`risk_difference`); the odds ratio of the table ``[[x, n − x], [x_ref, n_ref − x_ref]]``
    as R ``fisher.test`` gives it — the conditional maximum-likelihood estimate and its exact
    interval (0 or ∞ at the edges of the support) — and Fisher's two-sided p; ``p_adjusted`` is
    ``p.adjust(p, adjust)`` over the comparisons made (``"holm"``, ``"bonferroni"`` or ``None``).
    """
    if adjust not in ADJUSTMENTS:
        raise ValueError(f"adjust: {adjust!r} is not one of {list(ADJUSTMENTS)}")
    groups = list(groups)
    if not (len(events) == len(totals) == len(groups)):
        raise ValueError(f"inputs differ in length: events={len(events)}, totals={len(totals)}, "
                         f"groups={len(groups)}")
    if len(groups) < 2:
        raise ValueError("groups: at least 2 groups are needed")
    if len(set(groups)) != len(groups):
        raise ValueError(f"groups: repeated labels in {groups}")
    if reference is None:
        reference = groups[0]
    if reference not in groups:
        raise ValueError(f"reference: {reference!r} is not one of the groups {groups}")
    xs = [_count(f"events[{g!r}]", v) for g, v in zip(groups, events, strict=True)]
    ns = [_count(f"totals[{g!r}]", v) for g, v in zip(groups, totals, strict=True)]
    for g, x, n in zip(groups, xs, ns, strict=True):
        if n < 1:
            raise ValueError(f"totals[{g!r}]: expected at least 1, got {n}")
        if not 0 <= x <= n:
            raise ValueError(f"events[{g!r}]: expected a count from 0 to {n}, got {x}")
    r = groups.index(reference)
    x0, n0 = xs[r], ns[r]
    rows = []
    for g, x, n in zip(groups, xs, ns, strict=True):
        if g == reference:
            continue
        rd = risk_difference(x, n, x0, n0, conf_level=conf_level)
        f = fisher_exact([[x, n - x], [x0, n0 - x0]], conf_level=conf_level)
        rows.append((g, reference, x, n, x0, n0, x / n, x0 / n0, rd.estimate, rd.lower, rd.upper,
                     f.statistic, f.lower, f.upper, f.p_value))
    table = pd.DataFrame(rows, columns=list(COLUMNS[:-1]))
    table["p_adjusted"] = adjust_p(table["p_value"].to_numpy(), adjust)
    return ProportionComparison(table=table, reference=reference, conf_level=float(conf_level),
                                adjust=adjust)
