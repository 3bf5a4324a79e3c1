"""The test policy: which test gives the p-value of a table of counts.

- ``spss`` (the published analysis, SPSS's defaults): Pearson's chi-square without continuity
  correction, except Fisher's exact test for a 2x2 table with an expected count below 5.
- ``exact``: Fisher's exact test (any r x c) whenever an expected count is below 5, else Pearson's
  chi-square without correction.

Rows or columns that hold no patient are dropped first (SPSS leaves them out of the crosstab: a
regimen with nobody in a subgroup is not a group of the test); a table left with fewer than two rows
or two columns cannot be tested and gets a missing p-value. :func:`fisher_applies` is the rule,
defined once; the synthetic cohort's search (``synth.pvalues``) uses it too.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from poems_cohort import stats

PEARSON = "Pearson chi-square"
FISHER = "Fisher's exact"
LOGRANK = "log-rank"
NOT_TESTABLE = "not testable"


#: an expected count below this makes the chi-square approximation doubtful
SMALL_EXPECTED = 5.0


def fisher_applies(policy: str, shape: tuple[int, ...], min_expected: float) -> bool:
    """Whether ``policy`` uses Fisher's exact test (else Pearson's chi-square) for a table of
    ``shape`` (empty rows and columns already dropped) whose smallest expected count is
    ``min_expected``."""
    small = min_expected < SMALL_EXPECTED
    return small and (policy == "exact" or tuple(shape) == (2, 2))


def drop_empty(table: np.ndarray) -> np.ndarray:
    """The table without its empty rows and columns."""
    t = np.asarray(table, dtype=float)
    return t[t.sum(axis=1) > 0][:, t.sum(axis=0) > 0] if t.size else t


@dataclass(frozen=True, slots=True)
class TestOutcome:
    """The test used and its result (``statistic`` and ``df`` are NaN for Fisher's exact test)."""

    test: str
    statistic: float
    df: float
    p_value: float


def compare_counts(table: np.ndarray | list[list[int]], policy: str) -> TestOutcome:
    """The p-value of an r x c table of counts under ``policy`` (``"spss"`` or ``"exact"``)."""
    t = drop_empty(np.asarray(table, dtype=float))
    if t.ndim != 2 or t.shape[0] < 2 or t.shape[1] < 2:
        return TestOutcome(NOT_TESTABLE, math.nan, math.nan, math.nan)
    with warnings.catch_warnings():
        # The policy itself decides what a small expected count means, and the report names
        # the test used for every p-value: the generic warning would only repeat that.
        warnings.simplefilter("ignore", stats.SmallExpectedCountWarning)
        chi = stats.chi2_test(t.astype(np.int64), correction=False)
    smallest = float(np.min(np.asarray(chi.expected, dtype=float)))
    if fisher_applies(policy, t.shape, smallest):
        fe = stats.fisher_exact(t.astype(np.int64))
        return TestOutcome(FISHER, math.nan, math.nan, float(fe.p_value))
    return TestOutcome(PEARSON, float(chi.statistic), float(chi.df), float(chi.p_value))


def not_testable() -> TestOutcome:
    """The outcome of a comparison that has no data on one side."""
    return TestOutcome(NOT_TESTABLE, math.nan, math.nan, math.nan)
