"""Counting kernels behind the Kaplan–Meier estimator and the log-rank test.

Hash, then sort: the times are factorized (a hash table, O(n)), the per-subject quantities are
summed per distinct time with ``np.bincount`` (O(n)), and only the ``u`` distinct times are sorted
(O(u log u)). Everything after that works on arrays of length ``u`` (times ``k`` groups ``s``
strata), never on an ``n x u`` matrix. Inputs are trusted: the public functions check them first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class DistinctTimes:
    """The distinct times in increasing order and, for each subject, the rank of its time."""

    times: np.ndarray  # (u,) sorted distinct values
    codes: np.ndarray  # (n,) hash codes: position in ``uniques`` (not sorted)
    order: np.ndarray  # (u,) ``uniques[order]`` is sorted; reorder per-code sums with it

    @property
    def size(self) -> int:
        return len(self.times)


def distinct_times(time: np.ndarray) -> DistinctTimes:
    """Factorize ``time`` (``-0.0`` and ``0.0`` are one value) and sort the distinct values."""
    codes, uniques = pd.factorize(time, sort=False)
    uniques = np.asarray(uniques, dtype=np.float64)
    order = np.argsort(uniques, kind="stable")
    return DistinctTimes(times=uniques[order], codes=codes, order=order)


def sum_by_time(dt: DistinctTimes, values: np.ndarray | None) -> np.ndarray:
    """Sum ``values`` (or count subjects when ``None``) per distinct time, in time order."""
    sums = np.bincount(dt.codes, weights=values, minlength=dt.size)
    return sums[dt.order]


def counts_by_cell(cell: np.ndarray, n_cells: int, event: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Subjects and events per cell (unweighted) from a single integer ``bincount``: the event
    flag is folded into the key, so no float conversion of the n-length arrays is needed."""
    key = cell * 2
    key += event
    both = np.bincount(key, minlength=2 * n_cells).reshape(n_cells, 2)
    events = both[:, 1]
    return both[:, 0] + events, events


def reverse_cumsum(x: np.ndarray, axis: int = 0) -> np.ndarray:
    """``out[i] = x[i] + x[i+1] + ...`` along ``axis`` (the number still at risk)."""
    flipped = np.flip(x, axis=axis)
    return np.flip(np.cumsum(flipped, axis=axis), axis=axis)


@dataclass(frozen=True)
class KMCounts:
    """Per distinct time: at risk, events, censorings (weighted when weights are given)."""

    time: np.ndarray
    n_risk: np.ndarray
    n_event: np.ndarray
    n_censor: np.ndarray
    # sums of squared weights, only for the robust (infinitesimal jackknife) variance
    w2_event: np.ndarray | None = None
    w2_censor: np.ndarray | None = None


def km_counts(time: np.ndarray, event: np.ndarray, weights: np.ndarray | None = None,
              *, squared_weights: bool = False) -> KMCounts:
    """Counts per distinct time (all distinct times, censoring-only ones included)."""
    dt = distinct_times(time)
    ev = event.astype(np.float64) if weights is not None or squared_weights else None
    if weights is None:
        subjects, events = counts_by_cell(dt.codes, dt.size, event)
        total = subjects[dt.order].astype(np.float64)
        n_event = events[dt.order].astype(np.float64)
    else:
        total = sum_by_time(dt, weights)
        n_event = sum_by_time(dt, ev * weights)
    n_censor = total - n_event
    n_risk = reverse_cumsum(total)
    w2_event = w2_censor = None
    if squared_weights:
        assert ev is not None
        w2 = weights * weights if weights is not None else np.ones_like(ev)
        w2_total = sum_by_time(dt, w2)
        w2_event = sum_by_time(dt, w2 * ev)
        w2_censor = w2_total - w2_event
    if weights is None:
        # exact integers: keep them as such
        n_event = np.rint(n_event).astype(np.int64)
        n_censor = np.rint(n_censor).astype(np.int64)
        n_risk = np.rint(n_risk).astype(np.int64)
    return KMCounts(dt.times, n_risk, n_event, n_censor, w2_event, w2_censor)


def km_counts_by_group(time: np.ndarray, event: np.ndarray, group: np.ndarray, n_groups: int,
                       weights: np.ndarray | None = None, *,
                       squared_weights: bool = False) -> list[KMCounts]:
    """:func:`km_counts` for every group at once: one factorization of the times and one
    ``bincount`` over (time, group) pairs; the same sums as fitting each group's subset."""
    k = n_groups
    dt = distinct_times(time)
    key = dt.codes * k
    key += group
    size = dt.size * k

    def by_pair(values: np.ndarray | None) -> np.ndarray:
        return np.bincount(key, weights=values, minlength=size).reshape(dt.size, k)[dt.order]

    if weights is None and not squared_weights:
        subjects, n_events = counts_by_cell(key, size, event)
        present = subjects.reshape(dt.size, k)[dt.order]
        total = present.astype(np.float64)
        events = n_events.reshape(dt.size, k)[dt.order].astype(np.float64)
    else:
        ev = event.astype(np.float64)
        present = np.bincount(key, minlength=size).reshape(dt.size, k)[dt.order]
        total = present.astype(np.float64) if weights is None else by_pair(weights)
        events = by_pair(ev if weights is None else ev * weights)
    if squared_weights:
        w2 = np.ones_like(ev) if weights is None else weights * weights
        w2_total = by_pair(w2)
        w2_events = by_pair(w2 * ev)
    out = []
    for j in range(k):
        rows = np.flatnonzero(present[:, j])
        n_event = events[rows, j]
        n_censor = total[rows, j] - n_event
        n_risk = reverse_cumsum(total[rows, j])
        if weights is None:
            n_event = np.rint(n_event).astype(np.int64)
            n_censor = np.rint(n_censor).astype(np.int64)
            n_risk = np.rint(n_risk).astype(np.int64)
        w2e = w2c = None
        if squared_weights:
            w2e = w2_events[rows, j]
            w2c = w2_total[rows, j] - w2e
        out.append(KMCounts(dt.times[rows], n_risk, n_event, n_censor, w2e, w2c))
    return out


def km_survival(n_risk: np.ndarray, n_event: np.ndarray) -> np.ndarray:
    """The product-limit estimate as a running product of ``(n - d) / n``."""
    n = n_risk.astype(np.float64)
    d = n_event.astype(np.float64)
    return np.cumprod((n - d) / n)


def greenwood_log_se(n_risk: np.ndarray, n_event: np.ndarray) -> np.ndarray:
    """SE of −log S: ``sqrt(cumsum(d / (n (n − d))))``; ``inf`` from the time S reaches 0."""
    n = n_risk.astype(np.float64)
    d = n_event.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(d > 0, d / (n * (n - d)), 0.0)
    return np.sqrt(np.cumsum(term))


def nelson_aalen(n_risk: np.ndarray, n_event: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative hazard ``cumsum(d/n)`` and its SE ``sqrt(cumsum(d/n²))``."""
    n = n_risk.astype(np.float64)
    d = n_event.astype(np.float64)
    return np.cumsum(d / n), np.sqrt(np.cumsum(d / (n * n)))


def ij_survival_se(counts: KMCounts, surv: np.ndarray) -> np.ndarray:
    """Infinitesimal-jackknife SE of S with each subject its own cluster, in O(u).

    The influence of subject ``i`` (time ``T_i``, event ``δ_i``) on S(t) is ``−S(t) c_i(t)`` with
    ``c_i(t) = −H(t)`` while ``t < T_i`` and ``c_i(t) = δ_i/(n(T_i) − d(T_i)) − H(T_i)`` from
    ``T_i`` on, where ``H(t) = Σ_{s≤t} d/(n (n − d))``. So ``Σ_i w_i² c_i(t)²`` is
    ``H(t)² × (squared weight still at risk after t)`` plus a running sum over the times up to t.
    """
    n = counts.n_risk.astype(np.float64)
    d = counts.n_event.astype(np.float64)
    w2e = counts.w2_event
    w2c = counts.w2_censor
    assert w2e is not None and w2c is not None
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(d > 0, 1.0 / (n - d), 0.0)
        hazard_term = np.where(d > 0, d / (n * (n - d)), 0.0)
    h = np.cumsum(hazard_term)
    w2_after = reverse_cumsum(w2e + w2c) - (w2e + w2c)  # still at risk strictly after t
    with np.errstate(invalid="ignore"):
        at_t = w2e * (a - h) ** 2 + w2c * h**2
        var = h**2 * w2_after + np.cumsum(at_t)
        se = surv * np.sqrt(var)
    # once S reaches 0 (n = d: everyone at risk has the event) the closed form is 0 x inf, but no
    # weight moves S from 0 (the last factor 1 - d/n stays 0), so every influence is 0: SE 0, as R
    se[surv == 0] = 0.0
    return se


@dataclass(frozen=True)
class LogRankSums:
    """Weighted observed, expected and variance sums of the k-sample log-rank test."""

    observed: np.ndarray  # (k,)
    expected: np.ndarray  # (k,)
    variance: np.ndarray  # (k, k)
    n_per_group: np.ndarray  # (k,)


def _segment_starts(stratum_of_row: np.ndarray) -> np.ndarray:
    """First row of each run of equal stratum codes (rows are sorted by stratum)."""
    if len(stratum_of_row) == 0:
        return np.zeros(0, dtype=np.intp)
    change = np.flatnonzero(np.diff(stratum_of_row)) + 1
    return np.r_[0, change]


def logrank_sums(time: np.ndarray, event: np.ndarray, group: np.ndarray, n_groups: int,
                 strata: np.ndarray | None = None, rho: float = 0.0) -> LogRankSums:
    """The sums of R ``survdiff.fit`` without an n x u matrix.

    Rows are the distinct (stratum, time) pairs in order; for each the events and the number at
    risk per group come from ``bincount`` and a reverse cumulative sum within the stratum. With
    ``rho`` the weight at a time is the pooled Kaplan–Meier S(t−) of its stratum to the power rho.
    """
    k = n_groups
    dt = distinct_times(time)
    if strata is None:
        m = dt.size
        key = dt.codes * k
        key += group
        stratum_of_row = np.zeros(m, dtype=np.int64)
        row_order = dt.order
    else:
        pair = strata.astype(np.int64) * dt.size + dt.codes
        pair_codes, pair_uniques = pd.factorize(pair, sort=False)
        pair_uniques = np.asarray(pair_uniques, dtype=np.int64)
        m = len(pair_uniques)
        rank = np.empty(dt.size, dtype=np.int64)
        rank[dt.order] = np.arange(dt.size)
        s_of = pair_uniques // dt.size
        t_rank = rank[pair_uniques % dt.size]
        row_order = np.lexsort((t_rank, s_of))
        stratum_of_row = s_of[row_order]
        key = pair_codes.astype(np.int64) * k + group
    subjects, n_events = counts_by_cell(key, m * k, event)
    events = n_events.reshape(m, k)[row_order].astype(np.float64)
    totals = subjects.reshape(m, k)[row_order].astype(np.float64)
    n_per_group = totals.sum(axis=0)

    starts = _segment_starts(stratum_of_row)
    ends = np.r_[starts[1:], m]
    at_risk = reverse_cumsum(totals, axis=0)
    if len(starts) > 1:
        # restart the reverse cumulative sum in every stratum
        after = np.vstack([at_risk[ends[:-1]], np.zeros((1, k))])
        at_risk -= np.repeat(after, ends - starts, axis=0)

    d = events.sum(axis=1)
    n = at_risk.sum(axis=1)
    if rho != 0:
        s_minus = np.empty(m)
        for a, b in zip(starts, ends, strict=True):
            step = (n[a:b] - d[a:b]) / n[a:b]
            s_minus[a] = 1.0
            s_minus[a + 1:b] = np.cumprod(step[:-1])
        wt = s_minus**rho
    else:
        wt = np.ones(m)

    rows = d > 0
    d, n, wt, at_risk, events = d[rows], n[rows], wt[rows], at_risk[rows], events[rows]
    observed = (wt[:, None] * events).sum(axis=0)
    share = at_risk / n[:, None]
    expected = ((wt * d)[:, None] * share).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(n > 1, wt * wt * d * (n - d) / (n - 1), 0.0)
    variance = np.diag((c[:, None] * share).sum(axis=0)) - (c[:, None] * share).T @ share
    return LogRankSums(observed, expected, variance, n_per_group)
