"""Contingency tables and single proportions, equal to R.

* :func:`fisher_exact`: R ``fisher.test`` — exact two-sided p for any r x c table (the same set of
  tables as R's network algorithm), the conditional maximum-likelihood odds ratio and its confidence
  interval for a 2 x 2 table, or a seeded Monte Carlo p (R ``simulate.p.value = TRUE``).
* :func:`chi2_test`: R ``chisq.test`` (Pearson, with R's Yates correction for a 2 x 2 table).
* :func:`proportion_ci`: R ``prop.test(x, n)$conf.int`` (Wilson, with or without continuity
  correction) and ``binom.test(x, n)$conf.int`` (Clopper–Pearson).
* :func:`expected_counts`, :func:`smallest_expected`.

A table is a 2-D array-like or a DataFrame (a crosstab) of non-negative integer counts. The checks
here run once; the kernels in ``_fisher`` trust them.
"""

from __future__ import annotations

import math
import secrets
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import special as spc
from scipy import stats as sps

from poems_cohort.stats import _fisher
from poems_cohort.stats._common import reject_text

__all__ = [
    "DEFAULT_MAX_TABLES",
    "ChiSquareTableTest",
    "FisherResult",
    "ProportionInterval",
    "SmallExpectedCountWarning",
    "chi2_test",
    "expected_counts",
    "fisher_exact",
    "proportion_ci",
    "smallest_expected",
]

DEFAULT_MAX_TABLES = 50_000_000
"""Default bound on the partial tables the exact r x c enumeration may examine (about 5-10 s)."""


class SmallExpectedCountWarning(UserWarning):
    """Some expected counts are below 5: the chi-square approximation may be poor (R warns too)."""


# ------------------------------------------------------------------------------------------ inputs


@dataclass(frozen=True)
class _Table:
    counts: np.ndarray  # int64, 2-D
    rows: pd.Index
    cols: pd.Index


def _as_table(name: str, table: Any) -> _Table:
    """Checks a table of counts; the error names the bad cell by its row and column labels."""
    reject_text(name, table)
    if isinstance(table, pd.DataFrame):
        rows, cols = table.index, table.columns
        try:
            values = table.to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name}: expected numeric counts in every cell") from exc
    else:
        try:
            values = np.asarray(table, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name}: expected a 2-D table of counts, got {table!r:.80}") from exc
        if values.ndim != 2:
            raise ValueError(f"{name}: expected a 2-D table of counts, got shape {values.shape}")
        rows, cols = pd.RangeIndex(values.shape[0]), pd.RangeIndex(values.shape[1])
    if values.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D table of counts, got shape {values.shape}")
    r, c = values.shape
    if r < 2 or c < 2:
        raise ValueError(f"{name}: a table needs at least 2 rows and 2 columns, got {r} x {c}")
    checks = (
        (np.isnan(values), "is missing (NaN)"),
        (np.isinf(values), "is infinite"),
        (values < 0, "is negative; counts must be >= 0"),
        (values != np.round(values), "is not a whole number; counts must be integers"),
    )
    for bad, what in checks:
        with np.errstate(invalid="ignore"):
            hit = np.argwhere(bad)
        if hit.size:
            i, j = hit[0]
            more = f" ({len(hit)} cells in all)" if len(hit) > 1 else ""
            raise ValueError(f"{name}: the count at row {rows[i]!r}, column {cols[j]!r} "
                             f"({float(values[i, j]):g}) {what}{more}")
    counts = values.astype(np.int64)
    if counts.sum() == 0:
        raise ValueError(f"{name}: all counts are zero; there is nothing to test")
    return _Table(counts, rows, cols)


def _check_conf_level(conf_level: float) -> float:
    if not (isinstance(conf_level, int | float) and 0.0 < float(conf_level) < 1.0):
        raise ValueError(f"conf_level: expected a number strictly between 0 and 1, got {conf_level!r}")
    return float(conf_level)


# ------------------------------------------------------------------------------------------ expected


def expected_counts(table: Any) -> pd.DataFrame:
    """Expected counts under independence, ``row total * column total / n`` (R ``chisq.test()$expected``)."""
    t = _as_table("table", table)
    return pd.DataFrame(_expected(t.counts), index=t.rows, columns=t.cols)


def smallest_expected(table: Any) -> float:
    """The smallest expected count; below 5 the chi-square approximation is doubtful."""
    return float(_expected(_as_table("table", table).counts).min())


def _expected(counts: np.ndarray) -> np.ndarray:
    sr = counts.sum(axis=1).astype(np.float64)
    sc = counts.sum(axis=0).astype(np.float64)
    return np.outer(sr, sc) / float(counts.sum())


# ------------------------------------------------------------------------------------------ Fisher


@dataclass(frozen=True, repr=False)
class FisherResult:
    """Fisher's exact test of independence (two-sided), as R ``fisher.test``.

    ``statistic`` is the conditional maximum-likelihood odds ratio of a 2 x 2 table (``lower``,
    ``upper``: its ``conf_level`` interval, R's ``conf.int``), NaN for larger tables. ``method`` is
    ``"exact"`` or ``"monte-carlo"``; for Monte Carlo, ``std_err`` is the standard error of the p,
    ``n_simulations`` the number of simulated tables and ``seed`` the seed that reproduces them
    (NaN / ``None`` for the exact test).
    """

    p_value: float
    statistic: float
    lower: float
    upper: float
    conf_level: float
    method: str
    std_err: float
    n_simulations: int | None
    seed: int | None
    shape: tuple[int, int]
    n: int

    def to_frame(self) -> pd.DataFrame:
        """One row: ``p_value, odds_ratio, lower, upper, method, std_err, n_simulations, seed``."""
        return pd.DataFrame({
            "p_value": [self.p_value], "odds_ratio": [self.statistic], "lower": [self.lower],
            "upper": [self.upper], "method": [self.method], "std_err": [self.std_err],
            "n_simulations": pd.array([self.n_simulations], dtype="Int64"),
            "seed": pd.array([self.seed], dtype="Int64")},
            index=pd.Index(["fisher"], name="test"))

    def __repr__(self) -> str:
        r, c = self.shape
        head = f"Fisher's exact test, {r} x {c} table, n = {self.n}: p = {self.p_value:.6g}"
        if self.method == "monte-carlo":
            head += (f" (Monte Carlo, {self.n_simulations} tables, seed {self.seed}, "
                     f"SE {self.std_err:.3g})")
        if not math.isnan(self.statistic):
            head += (f"; odds ratio {self.statistic:.6g} ({100 * self.conf_level:g}% CI "
                     f"{self.lower:.6g} to {self.upper:.6g})")
        return head


def fisher_exact(table: Any, *, max_tables: int = DEFAULT_MAX_TABLES,
                 monte_carlo: int | None = None, seed: int | None = None,
                 conf_level: float = 0.95) -> FisherResult:
    """Fisher's exact test for a table of counts, two-sided, equal to R ``fisher.test``.

    The exact p sums the probabilities (given both margins) of the tables no more probable than the
    observed one, with R's tolerance: ``P <= P_obs (1 + 1e-7)`` for a 2 x 2 table, ``log P <= log
    P_obs + 3.45e-7`` for larger ones (R's network algorithm). Rows or columns of zeros do not
    change the set of tables; a table left with one non-zero row or column has p = 1, as in R.

    For a table larger than 2 x 2 the exact enumeration examines partial tables (see
    ``docs/statistics.md``); when it would examine more than ``max_tables`` it stops with a
    ``ValueError`` naming the table size (a clearly hopeless table is refused before the work, from
    the cost of a sample of first columns), and ``monte_carlo=B`` gives a Monte Carlo p instead:
    ``B`` tables drawn with the observed margins, ``p = (1 + #as extreme)/(B + 1)`` as R's
    ``simulate.p.value`` (rows and columns of zeros dropped first; R then needs two non-zero rows and
    columns). ``seed`` makes it reproducible; without one a seed is drawn and reported.
    """
    t = _as_table("table", table)
    conf_level = _check_conf_level(conf_level)
    if not isinstance(max_tables, int | np.integer) or max_tables < 1:
        raise ValueError(f"max_tables: expected a positive integer, got {max_tables!r}")
    counts = t.counts
    r, c = counts.shape
    n = int(counts.sum())
    odds = lower = upper = math.nan
    if (r, c) == (2, 2):
        tb = _fisher.two_by_two(counts, conf_level)
        odds, lower, upper = tb.odds_ratio, tb.lower, tb.upper
    if monte_carlo is not None:
        if isinstance(monte_carlo, bool) or not isinstance(monte_carlo, int | np.integer) \
                or monte_carlo < 1:
            raise ValueError(f"monte_carlo: expected a positive number of simulated tables, "
                             f"got {monte_carlo!r}")
        if seed is not None and (not isinstance(seed, int | np.integer) or seed < 0):
            raise ValueError(f"seed: expected a non-negative integer, got {seed!r}")
        reduced = counts[counts.sum(axis=1) > 0][:, counts.sum(axis=0) > 0]
        if reduced.shape[0] < 2 or reduced.shape[1] < 2:
            raise ValueError(f"table: a Monte Carlo p needs 2 or more non-zero row and column "
                             f"totals; this {r} x {c} table has {reduced.shape[0]} non-zero row(s) "
                             f"and {reduced.shape[1]} non-zero column(s)")
        used_seed = int(seed) if seed is not None else secrets.randbits(63)
        mc = _fisher.monte_carlo(reduced, int(monte_carlo), used_seed)
        return FisherResult(mc.p_value, odds, lower, upper, conf_level, "monte-carlo", mc.std_err,
                            mc.n_simulations, used_seed, (r, c), n)
    if (r, c) == (2, 2):
        p = tb.p_value
    else:
        try:
            p = _fisher.exact_log_p(counts, int(max_tables)).p_value
        except _fisher.TooManyTables as stop:
            where = (f"about {stop.examined:.2g} or more, estimated from a sample before starting"
                     if stop.estimated else f"stopped at column {stop.column + 1} of {max(r, c)}")
            raise ValueError(
                f"table: the exact p of this {r} x {c} table (n = {n}) needs more than "
                f"max_tables = {max_tables:,} partial tables ({where}); use monte_carlo=B for a "
                f"Monte Carlo p, or raise max_tables") from None
    return FisherResult(p, odds, lower, upper, conf_level, "exact", math.nan, None, None, (r, c), n)


# ------------------------------------------------------------------------------------------ chi-square


@dataclass(frozen=True, repr=False)
class ChiSquareTableTest:
    """Pearson's chi-square test of independence, as R ``chisq.test``.

    ``correction`` is the Yates correction applied (0 without; for a 2 x 2 table with
    ``correction=True`` R uses ``min(0.5, |O - E|)``). ``expected`` holds the expected counts.
    ``statistic`` and ``p_value`` are NaN when a row or column total is zero (as in R: 0/0).
    """

    statistic: float
    df: int
    p_value: float
    correction: float
    expected: pd.DataFrame = field(compare=False)
    n: int

    def to_frame(self) -> pd.DataFrame:
        """One row: ``statistic, df, p_value, correction, min_expected``."""
        return pd.DataFrame({"statistic": [self.statistic], "df": [self.df],
                             "p_value": [self.p_value], "correction": [self.correction],
                             "min_expected": [float(self.expected.to_numpy().min())]},
                            index=pd.Index(["chi2"], name="test"))

    def __repr__(self) -> str:
        yates = f", Yates correction {self.correction:g}" if self.correction else ""
        r, c = self.expected.shape
        return (f"Pearson's chi-square test, {r} x {c} table, n = {self.n}{yates}: "
                f"X2 = {self.statistic:.6g}, df = {self.df}, p = {self.p_value:.6g}")


def chi2_test(table: Any, *, correction: bool = False) -> ChiSquareTableTest:
    """Pearson's chi-square test of independence, equal to R ``chisq.test(x, correct=...)``.

    ``correction=True`` applies Yates' continuity correction to a 2 x 2 table only (as R), with R's
    ``YATES = min(0.5, |O - E|)``. Warns (:class:`SmallExpectedCountWarning`) when an expected
    count is below 5, like R.
    """
    t = _as_table("table", table)
    counts = t.counts.astype(np.float64)
    e = _expected(t.counts)
    r, c = counts.shape
    yates = 0.0
    if correction and (r, c) == (2, 2):
        yates = float(min(0.5, np.abs(counts - e).min()))
    with np.errstate(invalid="ignore", divide="ignore"):
        stat = float(np.sum((np.abs(counts - e) - yates) ** 2 / e))
    df = (r - 1) * (c - 1)
    p = float(sps.chi2.sf(stat, df)) if not math.isnan(stat) else math.nan
    small = e < 5
    if small.any():
        warnings.warn(
            f"chi-square approximation may be incorrect: {int(small.sum())} of {e.size} expected "
            f"counts are below 5 (smallest {e.min():.3g}); Fisher's exact test does not rely on it",
            SmallExpectedCountWarning, stacklevel=2)
    return ChiSquareTableTest(stat, df, p, yates, pd.DataFrame(e, index=t.rows, columns=t.cols),
                              int(t.counts.sum()))


# ------------------------------------------------------------------------------------------ proportions


ProportionMethod = Literal["wilson", "wilson-cc", "clopper-pearson"]


@dataclass(frozen=True, repr=False)
class ProportionInterval:
    """A proportion ``x/n`` with its confidence interval and the two-sided test of ``p = p0``.

    ``wilson`` / ``wilson-cc``: R ``prop.test(x, n, p0, correct = FALSE / TRUE)`` (score interval,
    chi-square test); ``clopper-pearson``: R ``binom.test(x, n, p0)`` (exact interval and test).
    """

    x: int
    n: int
    estimate: float
    lower: float
    upper: float
    method: str
    conf_level: float
    p0: float
    p_value: float

    def to_frame(self) -> pd.DataFrame:
        """One row: ``x, n, estimate, lower, upper, method, conf_level, p0, p_value``."""
        return pd.DataFrame({k: [getattr(self, k)] for k in (
            "x", "n", "estimate", "lower", "upper", "method", "conf_level", "p0", "p_value")})

    def __repr__(self) -> str:
        return (f"{self.x}/{self.n} = {self.estimate:.6g} ({100 * self.conf_level:g}% CI "
                f"{self.lower:.6g} to {self.upper:.6g}, {self.method}; p = {self.p_value:.6g} "
                f"for p0 = {self.p0:g})")


def proportion_ci(x: int, n: int, *, method: ProportionMethod = "wilson",
                  conf_level: float = 0.95, p0: float = 0.5) -> ProportionInterval:
    """Confidence interval for a proportion, equal to R.

    ``"wilson"`` = ``prop.test(x, n, correct = FALSE)$conf.int``; ``"wilson-cc"`` = the same with
    ``correct = TRUE``, whose continuity correction is, as in R, ``min(0.5, |x - n p0|)`` (so it
    depends on ``p0``); ``"clopper-pearson"`` = ``binom.test(x, n)$conf.int``. ``p_value`` is the
    matching two-sided test of ``p = p0``.
    """
    for name, v in (("x", x), ("n", n)):
        if isinstance(v, bool) or not isinstance(v, int | np.integer):
            raise ValueError(f"{name}: expected a whole number of patients, got {v!r}")
    x, n = int(x), int(n)
    if n < 1:
        raise ValueError(f"n: expected at least 1, got {n}")
    if not 0 <= x <= n:
        raise ValueError(f"x: expected a count from 0 to n = {n}, got {x}")
    conf_level = _check_conf_level(conf_level)
    if not (isinstance(p0, int | float) and 0.0 < float(p0) < 1.0):
        raise ValueError(f"p0: expected a probability strictly between 0 and 1, got {p0!r}")
    p0 = float(p0)
    est = x / n
    if method in ("wilson", "wilson-cc"):
        lower, upper, p = _wilson(x, n, conf_level, p0, method == "wilson-cc")
    elif method == "clopper-pearson":
        lower, upper, p = _clopper_pearson(x, n, conf_level, p0)
    else:
        raise ValueError(f"method: expected 'wilson', 'wilson-cc' or 'clopper-pearson', "
                         f"got {method!r}")
    return ProportionInterval(x, n, est, lower, upper, method, conf_level, p0, p)


def _wilson(x: int, n: int, conf_level: float, p0: float, correct: bool
            ) -> tuple[float, float, float]:
    """R ``prop.test`` with one proportion (two-sided)."""
    est = x / n
    yates = min(0.5, abs(x - n * p0)) if correct else 0.0
    z = float(spc.ndtri((1.0 + conf_level) / 2.0))
    z22n = z * z / (2.0 * n)
    pc = est + yates / n
    upper = 1.0 if pc >= 1 else (pc + z22n + z * math.sqrt(pc * (1 - pc) / n + z22n / (2 * n))) \
        / (1 + 2 * z22n)
    pc = est - yates / n
    lower = 0.0 if pc <= 0 else (pc + z22n - z * math.sqrt(pc * (1 - pc) / n + z22n / (2 * n))) \
        / (1 + 2 * z22n)
    obs = np.array([x, n - x], dtype=np.float64)
    e = np.array([n * p0, n * (1 - p0)])
    stat = float(np.sum((np.abs(obs - e) - yates) ** 2 / e))
    return max(lower, 0.0), min(upper, 1.0), float(sps.chi2.sf(stat, 1))


def _clopper_pearson(x: int, n: int, conf_level: float, p0: float) -> tuple[float, float, float]:
    """R ``binom.test`` (two-sided): exact interval from beta quantiles, p from the binomial."""
    alpha = (1.0 - conf_level) / 2.0
    lower = 0.0 if x == 0 else float(spc.betaincinv(x, n - x + 1, alpha))
    upper = 1.0 if x == n else float(spc.betaincinv(x + 1, n - x, 1.0 - alpha))
    d = sps.binom.pmf(x, n, p0)
    m = n * p0
    if x == m:
        p = 1.0
    elif x < m:
        i = np.arange(math.ceil(m), n + 1)
        y = int(np.sum(sps.binom.pmf(i, n, p0) <= d * (1 + 1e-7)))
        p = float(sps.binom.cdf(x, n, p0) + sps.binom.sf(n - y, n, p0))
    else:
        i = np.arange(0, math.floor(m) + 1)
        y = int(np.sum(sps.binom.pmf(i, n, p0) <= d * (1 + 1e-7)))
        p = float(sps.binom.cdf(y - 1, n, p0) + sps.binom.sf(x - 1, n, p0))
    return lower, upper, min(1.0, p)
