"""The p-values a published k x 2 table may have been given, computed from counts.

SPSS (used by the study) prints, for a 2 x 2 table, Pearson's chi-square, the continuity-corrected
(Yates) chi-square and Fisher's exact test; for larger tables Pearson only. Its usual reading
(and the paper's "chi-square test, or Fisher's exact test when appropriate") is: Pearson, unless an
expected count is below 5, then Fisher (two-sided). These functions take responders ``n`` and group
sizes ``N`` per group and are exact about degenerate tables: a table with an empty margin has no
association, p = 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from scipy.stats import chi2 as _chi2
from scipy.stats import fisher_exact

from poems_cohort.study.policy import fisher_applies

TESTS = ("pearson", "yates", "fisher", "spss")


def _margins(n: Sequence[int], N: Sequence[int]) -> tuple[int, int, int]:
    if len(n) != len(N) or len(n) < 2:
        raise ValueError(f"need at least two groups with one n per N, got n={n}, N={N}")
    for a, b in zip(n, N, strict=True):
        if not 0 <= a <= b:
            raise ValueError(f"responders must lie in 0..N, got {a} of {b}")
    total = sum(N)
    return sum(n), total - sum(n), total


@lru_cache(maxsize=200_000)
def pearson_p(n: tuple[int, ...], N: tuple[int, ...], correction: bool = False) -> float:
    """Pearson chi-square p of the k x 2 table (responders, non-responders) per group.

    ``correction=True`` applies Yates' continuity correction (2 x 2 only, as SPSS and
    ``scipy.stats.chi2_contingency`` do).
    """
    yes, no, total = _margins(n, N)
    if yes == 0 or no == 0 or any(b == 0 for b in N):
        return 1.0
    stat = 0.0
    for a, b in zip(n, N, strict=True):
        for observed, col in ((a, yes), (b - a, no)):
            expected = b * col / total
            diff = abs(observed - expected)
            if correction and len(n) == 2:
                diff = max(0.0, diff - 0.5)
            stat += diff * diff / expected
    return float(_chi2.sf(stat, len(n) - 1))


@lru_cache(maxsize=200_000)
def fisher_p(n: tuple[int, int], N: tuple[int, int]) -> float:
    """Two-sided Fisher exact p of a 2 x 2 table (the same p as R's ``fisher.test``)."""
    _margins(n, N)
    if len(n) != 2:
        raise ValueError("Fisher's exact test is computed here for 2 x 2 tables only")
    table = [[n[0], N[0] - n[0]], [n[1], N[1] - n[1]]]
    return float(fisher_exact(table, alternative="two-sided")[1])


def min_expected(n: Sequence[int], N: Sequence[int]) -> float:
    """The smallest expected cell count of the k x 2 table."""
    yes, no, total = _margins(n, N)
    return min(b * col / total for b in N for col in (yes, no)) if total else 0.0


def p_value(test: str, n: Sequence[int], N: Sequence[int]) -> float:
    """The p of ``test`` (one of :data:`TESTS`) for responders ``n`` out of ``N`` per group.

    ``"spss"`` is the study's rule (:func:`poems_cohort.study.policy.fisher_applies`): a group
    of nobody is left out (as SPSS leaves an empty row out of the crosstab), then Pearson, or
    Fisher for a 2 x 2 table with an expected count below 5.
    """
    n, N = tuple(int(x) for x in n), tuple(int(x) for x in N)
    if test == "pearson":
        return pearson_p(n, N)
    if test == "yates":
        return pearson_p(n, N, correction=True)
    if test == "fisher":
        return fisher_p(n, N)
    if test == "spss":
        _margins(n, N)
        kept = [(a, b) for a, b in zip(n, N, strict=True) if b > 0]
        if len(kept) < 2:
            return 1.0  # one group left: no association to test
        n, N = tuple(a for a, _ in kept), tuple(b for _, b in kept)
        if fisher_applies("spss", (len(n), 2), min_expected(n, N)):
            return fisher_p(n, N)
        return pearson_p(n, N)
    raise ValueError(f"unknown test {test!r}; expected one of {TESTS}")
