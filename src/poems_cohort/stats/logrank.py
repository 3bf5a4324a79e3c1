"""Log-rank tests equal to R ``survival::survdiff``: k-sample, stratified, G-rho (Peto–Peto at
rho = 1) and pairwise with Holm or Bonferroni adjustment.

The statistic is computed in float64 from sums over the distinct times; there is no integer
product that can overflow at large n (``scipy.stats.logrank`` does overflow beyond a few hundred
thousand subjects and is not used).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import chi2

from poems_cohort.stats import _km_kernel as kernel
from poems_cohort.stats._common import (
    NotTestableError,
    as_binary_status,
    as_group_codes,
    as_number,
    as_times,
    check_same_length,
    frame_repr,
    reject_text,
)

ADJUSTMENTS = (None, "holm", "bonferroni")
PAIRWISE_COLUMNS = ("group1", "group2", "statistic", "df", "p_value", "p_adjusted")


@dataclass(frozen=True, repr=False, eq=False)
class LogRankResult:
    """A k-sample log-rank (G-rho) test.

    ``observed`` and ``expected`` are per group (summed over strata; weighted by S(t−)^rho),
    ``variance`` is the k x k matrix of (O − E). ``statistic`` is the chi-square on ``df`` =
    (groups with expected > 0) − 1 degrees of freedom, computed without the first of those groups,
    as R does. A test that cannot be computed is never a result: ``logrank_test`` raises
    ``NotTestableError`` (see there).
    """

    statistic: float
    df: int
    p_value: float
    groups: tuple[Any, ...]
    n: np.ndarray
    observed: np.ndarray
    expected: np.ndarray
    variance: np.ndarray
    rho: float
    stratified: bool

    def to_frame(self) -> pd.DataFrame:
        """One row per group: ``group, n, observed, expected, variance`` (diagonal of V)."""
        return pd.DataFrame({"group": list(self.groups), "n": self.n, "observed": self.observed,
                             "expected": self.expected, "variance": np.diag(self.variance)})

    def __repr__(self) -> str:
        kind = "stratified log-rank" if self.stratified else "log-rank"
        title = (f"{kind} test (rho={self.rho:g}): chi-square {self.statistic:.6g} on {self.df} "
                 f"df, p = {self.p_value:.4g}")
        return frame_repr(title, self.to_frame())


def _check_rho(rho: Any) -> float:
    r = as_number("rho", rho)
    if not np.isfinite(r):
        raise ValueError(f"rho: {rho!r}; expected a finite number")
    return r


@dataclass(frozen=True)
class _Prepared:
    time: np.ndarray
    event: np.ndarray
    group: np.ndarray
    levels: tuple[Any, ...]
    strata: np.ndarray | None


def _prepare(time: Any, event: Any, group: Any, strata: Any) -> _Prepared:
    t = as_times("time", time)
    e = as_binary_status("event", event)
    g, levels = as_group_codes("group", group)
    if strata is None:
        check_same_length(time=t, event=e, group=g)
        s = None
    else:
        s, _ = as_group_codes("strata", strata)
        check_same_length(time=t, event=e, group=g, strata=s)
    counts = np.bincount(g, minlength=len(levels))
    if (counts == 0).any():
        empty = [levels[i] for i in np.flatnonzero(counts == 0)]
        raise ValueError(f"group: no observations in level(s) {empty}")
    if len(levels) < 2:
        raise ValueError(f"group: a log-rank test needs at least 2 groups, got {list(levels)}")
    return _Prepared(t, e, g, levels, s)


def _test(p: _Prepared, codes: np.ndarray, levels: tuple[Any, ...], rho: float,
          mask: np.ndarray | None = None) -> LogRankResult:
    t, e, s = p.time, p.event, p.strata
    if mask is not None:
        t, e = t[mask], e[mask]
        s = None if s is None else s[mask]
    if not e.any():
        raise NotTestableError("log-rank: no events; the groups cannot be compared")
    sums = kernel.logrank_sums(t, e, codes, len(levels), s, rho)
    keep = sums.expected > 0
    df = int(keep.sum()) - 1
    if df < 1:
        raise NotTestableError(
            "log-rank: at every event time only one group has subjects at risk; the groups "
            "cannot be compared")
    idx = np.flatnonzero(keep)[1:]
    diff = (sums.observed - sums.expected)[idx]
    vv = sums.variance[np.ix_(idx, idx)]
    # R's survdiff calls solve(), which stops when V is singular (reciprocal condition number
    # below the machine epsilon): the data cannot separate the groups (e.g. every subject has
    # its event at one time). Same rule here, and the answer is "not testable".
    try:
        if not np.any(np.diag(vv) > 0) or np.linalg.cond(vv, 1) > 1 / np.finfo(float).eps:
            raise np.linalg.LinAlgError
        statistic = float(np.sum(np.linalg.solve(vv, diff) * diff))
    except np.linalg.LinAlgError as exc:
        raise NotTestableError("log-rank: the variance matrix is singular; the groups cannot "
                               "be compared") from exc
    p_value = float(chi2.sf(statistic, df))
    return LogRankResult(statistic=statistic, df=df, p_value=p_value, groups=levels,
                         n=sums.n_per_group.astype(np.int64), observed=sums.observed,
                         expected=sums.expected, variance=sums.variance, rho=rho,
                         stratified=s is not None)


def logrank_test(time: Any, event: Any, group: Any, *, strata: Any = None,
                 rho: float = 0) -> LogRankResult:
    """k-sample log-rank test, equal to R ``survdiff(Surv(time, event) ~ group [+ strata(s)],
    rho = rho)``.

    Groups are in R's factor order (a Categorical's categories, else the sorted values). With
    ``strata`` the observed, expected and variance sums are accumulated within each stratum and
    added. ``rho = 1`` weights each event time by the pooled Kaplan–Meier S(t−) of its stratum
    (Peto–Peto). Missing group or stratum values are errors: drop those rows first.

    Raises ``NotTestableError`` (a ``ValueError``) with the reason when no test can be computed:
    no events (R: chi-square 0 on −1 df, p = NA), every group but one with nothing expected
    (R: 0 df), or a singular variance matrix (e.g. every subject has its event at the same
    time). Non-numeric times or events are a ``TypeError``.
    """
    r = _check_rho(rho)
    p = _prepare(time, event, group, strata)
    return _test(p, p.group, p.levels, r)


def adjust_p(p_values: Any, method: str | None) -> np.ndarray:
    """R ``p.adjust`` for ``"holm"`` and ``"bonferroni"`` (``None``: unchanged). NaN stays NaN
    and does not count towards the number of tests."""
    if method not in ADJUSTMENTS:
        raise ValueError(f"adjust: {method!r} is not one of {list(ADJUSTMENTS)}")
    reject_text("p_values", p_values)
    p = np.asarray(p_values, dtype=np.float64)
    out = p.copy()
    ok = ~np.isnan(p)
    m = int(ok.sum())
    if method is None or m == 0:
        return out
    q = p[ok]
    if method == "bonferroni":
        out[ok] = np.minimum(1.0, m * q)
        return out
    order = np.argsort(q, kind="stable")
    adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * q[order]))
    res = np.empty(m)
    res[order] = adj
    out[ok] = res
    return out


def pairwise_logrank(time: Any, event: Any, group: Any, *, reference: Any = None,
                     adjust: str | None = None, strata: Any = None,
                     rho: float = 0) -> pd.DataFrame:
    """Log-rank test for each pair of groups (each on the two groups' subjects only).

    Pairs follow the level order (``group1`` before ``group2``); with ``reference`` only the pairs
    ``(reference, other)``. ``p_adjusted`` is Holm- or Bonferroni-adjusted over the pairs tested,
    or equal to ``p_value`` when ``adjust`` is ``None``. Columns: ``group1, group2, statistic, df,
    p_value, p_adjusted``. A pair that cannot be tested (where ``logrank_test`` would raise
    ``NotTestableError``) has NaN ``statistic``, ``df``, ``p_value`` and ``p_adjusted`` and does
    not count towards the adjustment.
    """
    if adjust not in ADJUSTMENTS:
        raise ValueError(f"adjust: {adjust!r} is not one of {list(ADJUSTMENTS)}")
    r = _check_rho(rho)
    p = _prepare(time, event, group, strata)
    k = len(p.levels)
    if reference is None:
        pairs = list(combinations(range(k), 2))
    else:
        if reference not in p.levels:
            raise ValueError(f"reference: {reference!r} is not one of the groups {list(p.levels)}")
        ref = p.levels.index(reference)
        pairs = [(ref, j) for j in range(k) if j != ref]
    rows = []
    for i, j in pairs:
        mask = (p.group == i) | (p.group == j)
        codes = (p.group[mask] == j).astype(np.int64)
        try:
            res = _test(p, codes, (p.levels[i], p.levels[j]), r, mask)
        except NotTestableError:
            rows.append((p.levels[i], p.levels[j], np.nan, np.nan, np.nan))
            continue
        rows.append((p.levels[i], p.levels[j], res.statistic, res.df, res.p_value))
    out = pd.DataFrame(rows, columns=list(PAIRWISE_COLUMNS[:-1]))
    out["p_adjusted"] = adjust_p(out["p_value"].to_numpy(), adjust)
    return out
