"""Computing kernels of Fisher's exact test; the checks live in ``contingency``.

Everything here trusts its input: a 2-D ``int64`` array of non-negative counts with a positive total.

* ``two_by_two``: R's 2 x 2 branch of ``fisher.test`` — the two-sided p (tables whose conditional
  probability is at most ``P_obs * (1 + 1e-7)``), the conditional maximum-likelihood odds ratio and its
  confidence interval, found with the same Brent root finder and tolerance as R's ``uniroot`` so that
  the numbers agree with R's to ~1e-12 rather than to ``uniroot``'s tolerance (~1e-4).
* ``exact_log_p``: the exact two-sided p of an r x c table (R's network algorithm ``FEXACT`` gives the
  same number), by a column-by-column enumeration of partial tables with whole subtrees accepted or
  rejected from bounds, and the last free cell of every table summed in closed form.
* ``monte_carlo``: R's ``simulate.p.value``: tables with the observed margins drawn by Patefield's
  algorithm.

The r x c algorithm
-------------------
A table is built column by column. The probability of a table with margins ``R``, ``C`` (total ``N``)
is ``exp(K + path)``, ``K = sum log R_i! + sum log C_j! - log N!`` and ``path = -sum log x_ij!``.
A *partial table* fixes the first columns; what remains is a table with margins ``R'`` (the remaining
row sums) and the remaining column sums ``C'``. For a partial table with path so far ``past``:

* if ``past + U(R', C') <= t`` every completion is at least as improbable as the observed table and
  the whole subtree adds ``exp(K + past) * N'! / (prod R'_i! prod C'_j!)`` (the sum of
  ``exp(-sum log x!)`` over all completions, in closed form);
* if ``past + L(R', C') > t`` no completion counts;
* otherwise the partial table is extended by one more column.

``U`` is an upper bound on the longest completion: the Lagrangian dual bound with multipliers
``-log E_ij`` (``E`` the expected counts of the remaining table), i.e. the Poisson-mode bound
``N' log N' - sum R' log R' - sum C' log C' + sum_ij max_x (x log E_ij - log x!)``. ``L`` is a lower
bound on the shortest completion: each remaining column (row) filled greedily into the largest row
(column) sums, the most concentrated and so least probable allocation of that column alone (the larger
of the column-wise and row-wise bounds is used). When two columns remain, cells are fixed one row at a
time. With three rows left (rows ``a0``, ``a1``, ``a2``), the longest completion after row ``a0``
puts ``y`` into the column, ``F(y)``, is concave in ``y``; the values of ``y`` that leave a table
more probable than the observed one form an interval ``[A, B]`` (found by bisection), every table with
``y`` outside it counts, and their total is a tail of ``y``'s marginal (hypergeometric) distribution.
Each ``y`` in ``[A, B]`` leaves a 2 x 2 block, handled exactly: its conditional distribution is
hypergeometric, the tables at or below the threshold are its two tails, found by bisection and summed
term by term. All sums are kept in log space.

The threshold is ``t = path_obs + 3.45254e-7`` (the tolerance in log probability of R's ``FEXACT``,
equal to a relative ``1 + 3.45e-7`` on the probability). Rows are the smaller dimension, rows and
columns are sorted ascending (the two largest columns are handled in closed form), and zero rows or
columns are dropped (they do not change the set of tables).

The cost is measured in *partial tables examined* (a 2 x 2 block whose tails are summed counts
``STRADDLE_COST``); ``max_tables`` bounds it. Before starting, when the first column can take many
values, the subtrees of a fixed-seed sample of ``PILOT_SIZE`` first columns are enumerated and their
cost scaled up; a table whose estimate exceeds ``PILOT_MARGIN * max_tables`` is refused at once.
Otherwise the count is exact and checked before each batch. The work is done in batches of at most
``BATCH`` partial tables, so memory stays bounded.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import special as spc
from scipy import stats as sps

FEXACT_TOL = 3.45254e-7  # R's FEXACT: tolerance on the log probability of a table
REL_ERR_2X2 = 1e-7  # R's fisher.test, 2 x 2 branch: relErr
BATCH = 1 << 18  # partial tables processed at once
_TAIL_TOL = 1e-14  # relative truncation of a hypergeometric tail sum
_TAIL_SLICE = 1 << 16  # tail sums computed together
STRADDLE_COST = 8  # a 2 x 2 block cut by the threshold, counted in partial tables (its two tails)
PILOT_SIZE = 2048  # first columns sampled to estimate the cost before starting
PILOT_MIN_FIRST = 1 << 13  # no estimate when the first column has fewer values than this
PILOT_MARGIN = 2.0  # refuse before starting when the estimate exceeds this times max_tables
_EPS = np.finfo(float).eps


class TooManyTables(Exception):  # noqa: N818  (internal signal, never escapes the package)
    """The exact enumeration would examine more than ``max_tables`` partial tables."""

    def __init__(self, examined: int, column: int, *, estimated: bool = False) -> None:
        super().__init__(examined, column)
        self.examined = examined
        self.column = column
        self.estimated = estimated


def log_factorials(n: int) -> np.ndarray:
    """``log k!`` for k = 0..n (``gammaln``: accurate to a few ulps, no accumulated error)."""
    return spc.gammaln(np.arange(n + 1, dtype=np.float64) + 1.0)


def _logsumexp(values: list[np.ndarray]) -> float:
    if not values:
        return -math.inf
    v = np.concatenate(values)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return -math.inf
    m = float(v.max())
    return m + math.log(float(np.sum(np.exp(v - m))))


# ---------------------------------------------------------------------------------------------- 2 x 2


def zeroin(f: object, lower: float, upper: float, f_lower: float, f_upper: float,
           tol: float = _EPS ** 0.25, maxiter: int = 1000) -> float:
    """Brent's root finder as in R's ``uniroot`` (Forsythe, Malcolm & Moler's ``zeroin``).

    Same steps, tolerance (``tol/2 + 2 eps |b|``) and stopping rule as R, so the root equals R's to
    rounding. ``f_lower`` and ``f_upper`` must have opposite signs (or one be zero).
    """
    a, b, fa, fb = lower, upper, f_lower, f_upper
    c, fc = a, fa
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    for _ in range(maxiter + 1):
        prev_step = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2.0 * _EPS * abs(b) + tol / 2.0
        new_step = (c - b) / 2.0
        if abs(new_step) <= tol_act or fb == 0.0:
            return b
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:
                q = fa / fc
                t1 = fb / fc
                t2 = fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0.0:
                q = -q
            else:
                p = -p
            if p < (0.75 * cb * q - abs(tol_act * q) / 2.0) and p < abs(prev_step * q / 2.0):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0.0 else -tol_act
        a, fa = b, fb
        b += new_step
        fb = f(b)  # type: ignore[operator]
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    return b


@dataclass(frozen=True)
class TwoByTwo:
    p_value: float
    odds_ratio: float
    lower: float
    upper: float


def two_by_two(table: np.ndarray, conf_level: float) -> TwoByTwo:
    """R's ``fisher.test`` for a 2 x 2 table: p, conditional MLE odds ratio and its CI."""
    m = int(table[:, 0].sum())
    n = int(table[:, 1].sum())
    k = int(table[0, :].sum())
    x = int(table[0, 0])
    lo = max(0, k - n)
    hi = min(k, m)
    support = np.arange(lo, hi + 1, dtype=np.float64)
    lf = log_factorials(m + n)
    s = support.astype(np.int64)
    # log dhyper(support, m, n, k)
    logdc = (lf[m] - lf[s] - lf[m - s] + lf[n] - lf[k - s] - lf[n - k + s]
             - (lf[m + n] - lf[k] - lf[m + n - k]))

    def dnhyper(ncp: float) -> np.ndarray:
        d = logdc + math.log(ncp) * support
        d = np.exp(d - d.max())
        return d / d.sum()

    def mnhyper(ncp: float) -> float:
        if ncp == 0:
            return float(lo)
        if ncp == math.inf:
            return float(hi)
        return float(np.sum(support * dnhyper(ncp)))

    def pnhyper(q: int, ncp: float, upper_tail: bool = False) -> float:
        if ncp == 1:
            if upper_tail:
                return float(sps.hypergeom.sf(x - 1, m + n, m, k))
            return float(sps.hypergeom.cdf(x, m + n, m, k))
        if ncp == 0:
            return float(q <= lo) if upper_tail else float(q >= lo)
        if ncp == math.inf:
            return float(q <= hi) if upper_tail else float(q >= hi)
        d = dnhyper(ncp)
        return float(np.sum(d[support >= q] if upper_tail else d[support <= q]))

    d1 = dnhyper(1.0)
    p_value = float(np.sum(d1[d1 <= d1[x - lo] * (1.0 + REL_ERR_2X2)]))
    p_value = min(1.0, p_value)  # R: the sum of a normalised density can exceed 1 by rounding

    def uniroot(f: object, lower: float, upper: float) -> float:
        return zeroin(f, lower, upper, f(lower), f(upper))  # type: ignore[operator]

    def mle() -> float:
        if x == lo:
            return 0.0
        if x == hi:
            return math.inf
        mu = mnhyper(1.0)
        if mu > x:
            return uniroot(lambda t: mnhyper(t) - x, 0.0, 1.0)
        if mu < x:
            return 1.0 / uniroot(lambda t: mnhyper(1.0 / t) - x, _EPS, 1.0)
        return 1.0

    def ncp_upper(alpha: float) -> float:
        if x == hi:
            return math.inf
        p = pnhyper(x, 1.0)
        if p < alpha:
            return uniroot(lambda t: pnhyper(x, t) - alpha, 0.0, 1.0)
        if p > alpha:
            return 1.0 / uniroot(lambda t: pnhyper(x, 1.0 / t) - alpha, _EPS, 1.0)
        return 1.0

    def ncp_lower(alpha: float) -> float:
        if x == lo:
            return 0.0
        p = pnhyper(x, 1.0, upper_tail=True)
        if p > alpha:
            return uniroot(lambda t: pnhyper(x, t, upper_tail=True) - alpha, 0.0, 1.0)
        if p < alpha:
            return 1.0 / uniroot(lambda t: pnhyper(x, 1.0 / t, upper_tail=True) - alpha, _EPS, 1.0)
        return 1.0

    alpha = (1.0 - conf_level) / 2.0
    return TwoByTwo(p_value, mle(), ncp_lower(alpha), ncp_upper(alpha))


# ---------------------------------------------------------------------------------------------- r x c


def _xlogx(v: np.ndarray) -> np.ndarray:
    v = v.astype(np.float64)
    return np.where(v > 0, v * np.log(np.where(v > 0, v, 1.0)), 0.0)


def _upper_bound(rows: np.ndarray, cols: np.ndarray, lf: np.ndarray) -> np.ndarray:
    """Upper bound on ``max -sum log x!`` over tables with margins ``rows`` (F, r), ``cols`` (F, c)."""
    n = rows.sum(axis=1).astype(np.float64)
    e = rows[:, :, None] * cols[:, None, :] / n[:, None, None]
    pos = e > 0
    loge = np.log(np.where(pos, e, 1.0))
    fl = np.floor(e).astype(np.int64)
    term = np.where(pos, fl * loge - lf[fl], 0.0).sum(axis=(1, 2))
    u = term - _xlogx(rows).sum(axis=1) - _xlogx(cols).sum(axis=1) + _xlogx(n)
    return u + 1e-9 * (1.0 + np.abs(u))  # slack: a bound must stay a bound after rounding


def _greedy_min(caps: np.ndarray, amounts: np.ndarray, lf: np.ndarray) -> np.ndarray:
    """``sum_j min -sum_i log x_ij!`` with column j's amount put into the largest caps first."""
    caps = -np.sort(-caps, axis=1)
    before = np.cumsum(caps, axis=1) - caps
    total = np.zeros(caps.shape[0])
    for j in range(amounts.shape[1]):
        x = np.clip(amounts[:, j:j + 1] - before, 0, caps)
        total -= lf[x].sum(axis=1)
    return total


def _lower_bound(rows: np.ndarray, cols: np.ndarray, lf: np.ndarray) -> np.ndarray:
    """Lower bound on ``min -sum log x!`` over tables with margins ``rows``, ``cols``."""
    lb = np.maximum(_greedy_min(rows, cols, lf), _greedy_min(cols, rows, lf))
    return lb - 1e-9 * (1.0 + np.abs(lb))


def _log_total(rows: np.ndarray, cols: np.ndarray, lf: np.ndarray) -> np.ndarray:
    """``log sum exp(-sum log x!)`` over all tables with these margins: ``log N!/(prod R! prod C!)``."""
    return lf[rows.sum(axis=1)] - lf[rows].sum(axis=1) - lf[cols].sum(axis=1)


class _Enumeration:
    """Depth-first over batches of partial tables; one instance per table."""

    def __init__(self, cols: np.ndarray, threshold: float, lf: np.ndarray, max_tables: int) -> None:
        self.cols = cols
        self.t = threshold
        self.lf = lf
        self.max_tables = max_tables
        self.examined = 0
        self.stage = 0
        self.masses: list[np.ndarray] = []
        self._open: list[tuple[np.ndarray, ...]] = []  # 2 x 2 blocks that straddle the threshold
        self._open_size = 0

    def _count(self, k: int) -> None:
        self.examined += k
        if self.examined > self.max_tables:
            raise TooManyTables(self.examined, self.stage)

    def _expand(self, lo: np.ndarray, hi: np.ndarray):  # noqa: ANN202
        """Yield ``(slice of parents, parent index, value)`` batches of at most ~BATCH children."""
        counts = hi - lo + 1
        self._count(int(counts.sum()))
        cum = np.cumsum(counts)
        start = 0
        while start < counts.size:
            base = cum[start] - counts[start]
            stop = int(np.searchsorted(cum, base + BATCH, side="right"))
            stop = max(stop, start + 1)
            sl = slice(start, stop)
            c = counts[sl]
            parent = np.repeat(np.arange(c.size), c)
            first = np.cumsum(c) - c
            x = lo[sl][parent] + (np.arange(parent.size) - first[parent])
            yield sl, parent, x
            start = stop

    def _prune(self, rows: np.ndarray, cols: np.ndarray, past: np.ndarray) -> np.ndarray:
        """Accept or reject whole subtrees; returns the mask of partial tables to extend."""
        lf = self.lf
        accept = past + _upper_bound(rows, cols, lf) <= self.t
        if accept.any():
            self.masses.append(past[accept] + _log_total(rows[accept], cols[accept], lf))
        keep = ~accept
        if keep.any():
            idx = np.flatnonzero(keep)
            lb = _lower_bound(rows[idx], cols[idx], lf)
            keep[idx[past[idx] + lb > self.t]] = False
        return keep

    def run(self, rows: np.ndarray) -> None:
        self._run_from(rows[None, :].copy(), np.zeros(1), 0)

    def _run_from(self, frontier_r: np.ndarray, frontier_p: np.ndarray, first: int) -> None:
        """Partial tables with columns ``0 .. first-1`` fixed, extended to the end."""
        c = self.cols.size
        for j in range(first, c - 2):
            self.stage = j
            out: list[tuple[np.ndarray, np.ndarray]] = []
            m = np.full(frontier_r.shape[0], self.cols[j], dtype=np.int64)
            self._column_cell(frontier_r, frontier_p, m, 0, j, out)
            if not out:
                return
            frontier_r = np.concatenate([o[0] for o in out])
            frontier_p = np.concatenate([o[1] for o in out])
        self.stage = c - 2
        m = np.full(frontier_r.shape[0], self.cols[-2], dtype=np.int64)
        self._last_two_cell(frontier_r, frontier_p, m, 0)
        self._flush()

    def pilot(self, rows: np.ndarray) -> None:
        """Refuse a hopeless table before the work: the subtrees of a uniform sample of first
        columns are enumerated and their cost scaled to all first columns.

        Raises ``TooManyTables`` (``estimated=True``) when the estimate exceeds ``PILOT_MARGIN``
        times ``max_tables``; otherwise the enumeration runs and counts exactly. The sample is drawn
        with a fixed seed, so the decision is reproducible.
        """
        c0 = int(self.cols[0])
        if self.cols.size < 3:
            return
        caps = np.minimum(rows, c0)
        box = float(np.prod(caps[:-1].astype(np.float64) + 1.0))
        if box <= PILOT_MIN_FIRST:
            return  # the first column is cheap, and the count before each later stage is exact
        rng = np.random.default_rng(0)
        draws = rng.integers(0, caps[:-1] + 1, size=(4 * PILOT_SIZE, rows.size - 1))
        last = c0 - draws.sum(axis=1)
        ok = (last >= 0) & (last <= rows[-1])
        n_ok = int(np.count_nonzero(ok))
        if n_ok < PILOT_SIZE // 4:
            return  # too few to estimate from; the exact count decides
        first = np.concatenate([draws[ok], last[ok, None]], axis=1)[:PILOT_SIZE]
        k = first.shape[0]
        n_first = box * n_ok / draws.shape[0]  # first columns, estimated
        if n_first > PILOT_MARGIN * self.max_tables:
            raise TooManyTables(int(n_first), 0, estimated=True)
        budget = PILOT_MARGIN * self.max_tables * k / n_first
        sub = _Enumeration(self.cols, self.t, self.lf, max(k, int(budget)))
        r = rows[None, :] - first
        p = -self.lf[first].sum(axis=1)
        sub._count(k)
        rest = self.cols[1:]
        keep = sub._prune(r, np.broadcast_to(rest, (k, rest.size)), p)
        try:
            if keep.any():
                sub._run_from(r[keep], p[keep], 1)
        except TooManyTables:
            raise TooManyTables(int(sub.examined * n_first / k), 0, estimated=True) from None

    # -- columns 0 .. c-3: a whole column, cell by cell, then bounds -------------------------------
    def _column_cell(self, r: np.ndarray, p: np.ndarray, m: np.ndarray, i: int, j: int,
                     out: list[tuple[np.ndarray, np.ndarray]]) -> None:
        lf = self.lf
        if i == r.shape[1] - 1:
            r = r.copy()
            r[:, i] -= m
            p = p - lf[m]
            rest = self.cols[j + 1:]
            keep = self._prune(r, np.broadcast_to(rest, (r.shape[0], rest.size)), p)
            if keep.any():
                out.append((r[keep], p[keep]))
            return
        lo = np.maximum(0, m - r[:, i + 1:].sum(axis=1))
        hi = np.minimum(r[:, i], m)
        for sl, parent, x in self._expand(lo, hi):
            r2 = r[sl][parent]
            r2[:, i] -= x
            self._column_cell(r2, p[sl][parent] - lf[x], m[sl][parent] - x, i + 1, j, out)

    # -- the last two columns: one row at a time, the final 2 x 2 block in closed form -------------
    def _last_two_cell(self, r: np.ndarray, p: np.ndarray, m: np.ndarray, i: int) -> None:
        lf = self.lf
        nr = r.shape[1]
        if i == nr - 2:
            self._two_by_two(r[:, -2], r[:, -1], m, p)
            return
        if i == nr - 3:
            self._three_rows(r[:, i], r[:, i + 1], r[:, i + 2], m, p)
            return
        lo = np.maximum(0, m - r[:, i + 1:].sum(axis=1))
        hi = np.minimum(r[:, i], m)
        for sl, parent, x in self._expand(lo, hi):
            r2 = r[sl][parent]
            p2 = p[sl][parent] - lf[x] - lf[r2[:, i] - x]
            m2 = m[sl][parent] - x
            if i < nr - 3:  # a proper r' x 2 subtable remains: bound it
                rest = r2[:, i + 1:]
                keep = self._prune(rest, np.stack([m2, rest.sum(axis=1) - m2], axis=1), p2)
                r2, p2, m2 = r2[keep], p2[keep], m2[keep]
            self._last_two_cell(r2, p2, m2, i + 1)

    def _block_max(self, y: np.ndarray, a0: np.ndarray, a1: np.ndarray, a2: np.ndarray,
                   m: np.ndarray) -> np.ndarray:
        """``F(y)``: the longest completion once row ``a0`` puts ``y`` into the column: the
        row's own term plus the mode of the 2 x 2 block that remains (rows ``a1``, ``a2``)."""
        lf = self.lf
        mb = m - y
        mode = (a1 + 1) * (mb + 1) // (a1 + a2 + 2)
        return -(lf[y] + lf[a0 - y]) + self._logh(mode, a1, a2, mb, lf)

    def _three_rows(self, a0: np.ndarray, a1: np.ndarray, a2: np.ndarray, m: np.ndarray,
                    past: np.ndarray) -> None:
        """Three rows left in the last two columns (the column takes ``m`` of them).

        ``F(y)``, the longest completion after row ``a0`` puts ``y`` into the column, is concave in
        ``y`` (a concave term plus the sup-convolution of two concave ones), so the values of ``y``
        that leave a more probable table than the observed one form an interval ``[A, B]`` around
        the maximiser: found by bisection. Every table with ``y`` outside it counts, and their total
        is a tail of ``y``'s marginal distribution (hypergeometric: ``a0`` against ``a1 + a2``),
        summed in closed form; only the 2 x 2 blocks with ``y`` in ``[A, B]`` are examined.
        """
        lf = self.lf
        a12 = a1 + a2
        lo = np.maximum(0, m - a12)
        hi = np.minimum(a0, m)
        tt = self.t - past

        def f(y: np.ndarray, s: np.ndarray | slice = slice(None)) -> np.ndarray:
            return self._block_max(y, a0[s], a1[s], a2[s], m[s])

        # maximiser: the first y whose right neighbour is not larger (F is concave)
        left, right = lo.copy(), hi.copy()
        act = np.flatnonzero(right > left)
        while act.size:
            mid = (left[act] + right[act]) // 2
            up = f(mid + 1, act) > f(mid, act)
            left[act[up]] = mid[up] + 1
            right[act[~up]] = mid[~up]
            act = act[right[act] > left[act]]
        top = left
        self._count(2 * a0.size)
        inside = f(top) > tt
        # nodes whose every table counts (a looser bound may have let them through)
        acc = ~inside
        if acc.any():
            self.masses.append(past[acc] + lf[a0[acc] + a12[acc]] - lf[a0[acc]] - lf[a1[acc]]
                               - lf[a2[acc]] - lf[m[acc]] - lf[a0[acc] + a12[acc] - m[acc]])
        idx = np.flatnonzero(inside)
        if not idx.size:
            return
        a0, a1, a2, a12, m, lo, hi, top, tt, past = (
            v[idx] for v in (a0, a1, a2, a12, m, lo, hi, top, tt, past))
        # A: the smallest y in [lo, top] with F(y) > tt (F non-decreasing there)
        bad, good = lo - 1, top.copy()
        act = np.flatnonzero(good - bad > 1)
        while act.size:
            mid = (good[act] + bad[act]) // 2
            ok = f(mid, act) > tt[act]
            good[act[ok]] = mid[ok]
            bad[act[~ok]] = mid[~ok]
            act = act[good[act] - bad[act] > 1]
        lo_in = good
        # B: the largest y in [top, hi] with F(y) > tt
        good, bad = top.copy(), hi + 1
        act = np.flatnonzero(bad - good > 1)
        while act.size:
            mid = (good[act] + bad[act]) // 2
            ok = f(mid, act) > tt[act]
            good[act[ok]] = mid[ok]
            bad[act[~ok]] = mid[~ok]
            act = act[bad[act] - good[act] > 1]
        hi_in = good
        # the tails y < A and y > B: y's marginal, times the total of the 2 x 2 block
        const = past + lf[a12] - lf[a1] - lf[a2]
        sl, sr = lo_in > lo, hi_in < hi
        if sl.any() or sr.any():
            x = np.concatenate([lo_in[sl] - 1, hi_in[sr] + 1])
            aa, bb, mm, cc = (np.concatenate([v[sl], v[sr]]) for v in (a0, a12, m, const))
            down = np.concatenate([np.ones(int(sl.sum()), bool), np.zeros(int(sr.sum()), bool)])
            self.masses.append(cc + self._logh(x, aa, bb, mm, lf)
                               + _log_tail_factor(x, aa, bb, mm, left=down))
        # y in [A, B]: one 2 x 2 block each
        self._count((STRADDLE_COST - 2) * int((hi_in - lo_in + 1).sum()))
        for sl, parent, y in self._expand(lo_in, hi_in):
            aa0 = a0[sl][parent]
            self._two_by_two(a1[sl][parent], a2[sl][parent], m[sl][parent] - y,
                             past[sl][parent] - lf[y] - lf[aa0 - y])

    @staticmethod
    def _logh(x: np.ndarray, a: np.ndarray, b: np.ndarray, m: np.ndarray,
              lf: np.ndarray) -> np.ndarray:
        return -(lf[x] + lf[a - x] + lf[m - x] + lf[b - m + x])

    def _two_by_two(self, a: np.ndarray, b: np.ndarray, m: np.ndarray, past: np.ndarray) -> None:
        """2 x 2 blocks with rows ``a``, ``b`` and first column ``m``: accept, reject or queue."""
        lf = self.lf
        self._count(a.size)
        n = a + b
        lo = np.maximum(0, m - b)
        hi = np.minimum(a, m)
        mode = (a + 1) * (m + 1) // (n + 2)
        tt = self.t - past
        log_total = lf[n] - lf[a] - lf[b] - lf[m] - lf[n - m]
        accept = self._logh(mode, a, b, m, lf) <= tt
        if accept.any():
            self.masses.append(past[accept] + log_total[accept])
        left_in = self._logh(lo, a, b, m, lf) <= tt
        right_in = self._logh(hi, a, b, m, lf) <= tt
        idx = np.flatnonzero(~accept & (left_in | right_in))
        if idx.size:
            self._open.append((a[idx], b[idx], m[idx], lo[idx], hi[idx], mode[idx], tt[idx],
                               past[idx], left_in[idx], right_in[idx]))
            self._open_size += idx.size
            if self._open_size >= BATCH:
                self._flush()

    def _flush(self) -> None:
        """Sum the tails of the queued 2 x 2 blocks: bisection for the cut, then the hypergeometric
        distribution function (the log probabilities are non-decreasing up to the mode, then
        non-increasing)."""
        if not self._open:
            return
        a, b, m, lo, hi, mode, tt, past, left_in, right_in = (
            np.concatenate(v) for v in zip(*self._open, strict=True))
        self._open, self._open_size = [], 0
        lf = self.lf
        def accepted(x: np.ndarray) -> np.ndarray:
            return self._logh(x, a, b, m, lf) <= tt

        x_left = _bisect(lo.copy(), mode.copy(), left_in, accepted)    # largest in [lo, mode)
        x_right = _bisect(hi.copy(), mode.copy(), right_in, accepted)  # smallest in (mode, hi]
        n_left, n_right = int(left_in.sum()), int(right_in.sum())
        if n_left + n_right:
            side = np.concatenate([np.zeros(n_left, bool), np.ones(n_right, bool)])
            x = np.concatenate([x_left[left_in], x_right[right_in]])
            aa, bb, mm, pp = (np.concatenate([v[left_in], v[right_in]]) for v in (a, b, m, past))
            self.masses.append(pp + self._logh(x, aa, bb, mm, lf)
                               + _log_tail_factor(x, aa, bb, mm, left=~side))


def _bisect(good: np.ndarray, bad: np.ndarray, inside: np.ndarray,
            accepted: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Per block where ``inside``: the accepted end of the boundary between ``good`` (accepted)
    and ``bad`` (not accepted), found by bisection; ``good`` may lie on either side of ``bad``,
    and acceptance is monotone between them."""
    active = inside & (np.abs(bad - good) > 1)
    while active.any():
        mid = (good + bad) // 2
        ok = accepted(mid)
        good = np.where(active & ok, mid, good)
        bad = np.where(active & ~ok, mid, bad)
        active = inside & (np.abs(bad - good) > 1)
    return good


def _log_tail_factor(x0: np.ndarray, a: np.ndarray, b: np.ndarray, m: np.ndarray, *,
                     left: bool | np.ndarray) -> np.ndarray:
    """``log(sum_{x in tail} h(x) / h(x0))`` for 2 x 2 blocks (rows ``a``, ``b``, column ``m``),
    the tail running from ``x0`` down (``left``) or up; ``h(x) = 1/(x!(a-x)!(m-x)!(b-m+x)!)``.

    Summed term by term with the ratio of neighbours, a ratio of two quadratics in the step whose
    numerator and denominator are updated by differences (the numerator reaches exactly 0 at the end
    of the support; the ratio is clipped there). Every few terms a sum stops once the rest, bounded
    by a geometric series because the ratios shrink outwards (log-concavity), is below
    ``_TAIL_TOL`` of it. Done in slices that stay in the processor's cache. This is several times
    faster than Boost's hypergeometric distribution function (``scipy.stats.hypergeom.cdf``) on
    these tails and as accurate.
    """
    left = np.broadcast_to(np.asarray(left, dtype=bool), x0.shape)
    out = np.empty(x0.size)
    for start in range(0, x0.size, _TAIL_SLICE):
        sl = slice(start, start + _TAIL_SLICE)
        out[sl] = _log_tail_slice(x0[sl], a[sl], b[sl], m[sl], left[sl])
    return out


def _log_tail_slice(x0: np.ndarray, a: np.ndarray, b: np.ndarray, m: np.ndarray,
                    left: np.ndarray) -> np.ndarray:
    out = np.empty(x0.size)
    pos = np.arange(x0.size)
    x, aa, bb, mm = (v.astype(np.float64) for v in (x0, a, b, m))
    # down: h(x - 1) / h(x) = x (b - m + x) / ((a - x + 1)(m - x + 1))
    # up:   h(x + 1) / h(x) = (a - x)(m - x) / ((x + 1)(b - m + x + 1))
    n1 = np.where(left, x, aa - x)
    n2 = np.where(left, bb - mm + x, mm - x)
    d1 = np.where(left, aa - x + 1.0, x + 1.0)
    d2 = np.where(left, mm - x + 1.0, bb - mm + x + 1.0)
    num, dnum = n1 * n2, n1 + n2 - 1.0  # next step: num -= dnum, dnum -= 2
    den, dden = d1 * d2, d1 + d2 + 1.0  # next step: den += dden, dden += 2
    term = np.ones(x0.size)
    tot = np.ones(x0.size)
    ratio = np.empty(x0.size)
    while True:
        for _ in range(4):
            np.divide(num, den, out=ratio)
            np.maximum(ratio, 0.0, out=ratio)
            term *= ratio
            tot += term
            num -= dnum
            dnum -= 2.0
            den += dden
            dden += 2.0
        done = term * ratio < _TAIL_TOL * tot * (1.0 - ratio)
        n_done = int(np.count_nonzero(done))
        if n_done == done.size:
            out[pos] = np.log(tot)
            return out
        if n_done * 4 >= done.size:  # compact now and then: finished sums stop changing anyway
            out[pos[done]] = np.log(tot[done])
            keep = ~done
            pos, num, dnum, den, dden, term, tot, ratio = (  # type: ignore[assignment]
                v[keep] for v in (pos, num, dnum, den, dden, term, tot, ratio))


@dataclass(frozen=True)
class ExactRxC:
    p_value: float
    log_p: float
    examined: int


def exact_log_p(table: np.ndarray, max_tables: int) -> ExactRxC:
    """Exact two-sided p of an r x c table (same set of tables as R's FEXACT)."""
    t = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    if t.shape[0] > t.shape[1]:
        t = t.T
    if t.shape[0] < 2:
        return ExactRxC(1.0, 0.0, 0)
    t = t[np.argsort(t.sum(axis=1), kind="stable")]
    t = t[:, np.argsort(t.sum(axis=0), kind="stable")]
    rows = t.sum(axis=1).astype(np.int64)
    cols = t.sum(axis=0).astype(np.int64)
    n = int(rows.sum())
    lf = log_factorials(n)
    obs = -float(lf[t].sum())
    k = float(lf[rows].sum() + lf[cols].sum() - lf[n])
    enum = _Enumeration(cols, obs + FEXACT_TOL, lf, max_tables)
    enum.pilot(rows)
    enum.run(rows)
    log_p = _logsumexp(enum.masses) + k
    return ExactRxC(min(1.0, math.exp(log_p)), min(0.0, log_p), enum.examined)


# ---------------------------------------------------------------------------------------------- Monte Carlo


@dataclass(frozen=True)
class MonteCarlo:
    p_value: float
    std_err: float
    n_simulations: int
    n_as_extreme: int


def monte_carlo(table: np.ndarray, n_simulations: int, seed: int) -> MonteCarlo:
    """R's ``simulate.p.value``: ``(1 + #{sim: P(sim) <= P(obs)}) / (B + 1)``.

    Tables are drawn with the observed margins by Patefield's algorithm (``scipy.stats.random_table``).
    As R, a simulated table counts when its statistic ``-sum log x!`` is at most the observed one
    divided by ``1 + 64 eps``. ``std_err`` is the binomial standard error ``sqrt(p (1 - p) / B)``.
    """
    rows = table.sum(axis=1)
    cols = table.sum(axis=0)
    lf = log_factorials(int(rows.sum()))
    stat = -float(lf[table].sum())
    limit = stat / (1.0 + 64.0 * _EPS)
    dist = sps.random_table(rows, cols, seed=np.random.default_rng(seed))
    hits = 0
    done = 0
    chunk = max(1, BATCH // table.size)
    while done < n_simulations:
        size = min(chunk, n_simulations - done)
        sims = dist.rvs(size=size, method="patefield").astype(np.int64)
        hits += int(np.count_nonzero(-lf[sims].sum(axis=(1, 2)) <= limit))
        done += size
    p = (1 + hits) / (n_simulations + 1)
    return MonteCarlo(p, math.sqrt(p * (1.0 - p) / n_simulations), n_simulations, hits)
