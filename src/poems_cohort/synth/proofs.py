"""Whether a printed p-value can come from the study's test policy on counts the paper allows.

The study's policy (``spss``, see :mod:`poems_cohort.study.policy`) is Pearson's chi-square
without correction, or Fisher's exact test for a 2 x 2 table with an expected count below 5;
tables larger than 2 x 2 always get Pearson. A printed p the solver reproduces only by another
test is not a proof by itself: other counts printing the same percentages might give it under
the policy. The searches here look at *every* admissible count set:

* :func:`search_row`: a Table 1 row, each regimen's count printing its percent with a
  denominator in the solver's range (optionally the pooled percent too);
* :func:`search_pair`: one pairwise p of Table 2 (a regimen against the reference in one column),
  both regimens' counts printing their low-risk, medium-high-risk and overall rates within the
  solver's evaluable range, the third regimen able to make the pooled rate print.

Each returns a :class:`PolicySearch`: how many count sets were admissible, those on which the
policy's p prints as published (none: the printed p cannot come from the policy, a proof), the
policy's nearest p, and which other tests (Pearson, Yates, Fisher) print the published p on which
counts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from poems_cohort import stats
from poems_cohort.synth.pvalues import p_value
from poems_cohort.synth.solver import Printed, _regimen_options, solve_percent_row

POLICY = "spss"
#: tests tried besides the policy: for 2 x 2 tables, and for larger ones
PAIR_TESTS: tuple[str, ...] = ("pearson", "yates", "fisher")
ROW_TESTS: tuple[str, ...] = ("pearson", "fisher")


@dataclass(frozen=True, slots=True)
class Tested:
    """One admissible count set: ``(n, N)`` per group and the p of every test tried."""

    counts: tuple[tuple[int, int], ...]
    p: Mapping[str, float]

    def __repr__(self) -> str:
        cells = ", ".join(f"{n}/{big_n}" for n, big_n in self.counts)
        ps = ", ".join(f"{t} {v:.4f}" for t, v in self.p.items())
        return f"Tested({cells}: {ps})"


@dataclass(frozen=True)
class PolicySearch:
    """The outcome of a search: ``reproduced`` empty means the policy cannot give ``printed``."""

    printed: str
    candidates: int
    reproduced: tuple[Tested, ...]
    nearest: Tested | None
    by_other_tests: Mapping[str, tuple[Tested, ...]]

    @property
    def proven(self) -> bool:
        """Whether no admissible counts give the printed p under the policy."""
        return self.candidates > 0 and not self.reproduced

    def __repr__(self) -> str:
        others = {t: len(v) for t, v in self.by_other_tests.items() if v}
        return (f"PolicySearch(printed {self.printed}: {self.candidates} count sets, "
                f"{len(self.reproduced)} reproduced by the policy, nearest {self.nearest!r}, "
                f"other tests {others})")


def _row_p(test: str, counts: Sequence[tuple[int, int]]) -> float:
    n = [a for a, _ in counts]
    big_n = [b for _, b in counts]
    if test == "fisher" and len(counts) > 2:
        table = np.array([[a, b - a] for a, b in counts], dtype=np.int64)
        return float(stats.fisher_exact(table).p_value)
    return p_value(test, n, big_n)


def _summarise(printed: str, tested: list[Tested], tests: Sequence[str]) -> PolicySearch:
    target = Printed.parse(printed)
    reproduced = tuple(t for t in tested if target.admits_p(t.p[POLICY]))
    nearest = min(tested, key=lambda t: (target.distance(t.p[POLICY]), t.counts), default=None)
    others = {name: tuple(t for t in tested if target.admits_p(t.p[name])) for name in tests}
    return PolicySearch(printed, len(tested), reproduced, nearest, others)


def search_row(percents: Sequence[str], sizes_max: Sequence[int], sizes_min: Sequence[int],
               p_printed: str, all_percent: str | None = None) -> PolicySearch:
    """Every count set of a k-group row printing ``percents`` (and ``all_percent`` when given)
    with denominators in ``sizes_min..sizes_max``; the k x 2 policy p (Pearson) of each."""
    solutions = solve_percent_row(list(percents), list(sizes_max), all_percent, None,
                                  sizes_min=list(sizes_min))
    tested = []
    for s in solutions:
        counts = tuple(zip(s.n, s.N, strict=True))
        ps = {t: _row_p(t, counts) for t in ROW_TESTS}
        ps[POLICY] = _row_p(POLICY, counts)
        tested.append(Tested(counts, ps))
    return _summarise(p_printed, tested, ROW_TESTS)


def search_pair(rates: Mapping[str, Mapping[str, str | None]],
                sizes: Mapping[str, Mapping[str, int]], regimen: str, column: str,
                p_printed: str, *, reference: str = "ASCT", overall: str | None = None,
                min_fraction: float = 0.3) -> PolicySearch:
    """Every pair of count sets of ``regimen`` and ``reference`` whose three rates print as
    ``rates`` (evaluable from ``min_fraction`` to all of each risk subgroup), kept when some count
    set of the remaining regimens makes the pooled rate print as ``overall``; the 2 x 2 p of
    ``column`` (``all``, ``low``, ``medium_high``), ``regimen`` against ``reference``."""
    options = {r: _regimen_options(rates[r], sizes[r], min_fraction, frozenset(), r)
               for r in rates}
    rest = [r for r in rates if r not in (regimen, reference)]
    pooled_rest: set[tuple[int, int]] = {(0, 0)}
    for r in rest:
        pooled_rest = {(a + o["all"].n, b + o["all"].N) for a, b in pooled_rest
                       for o in options[r]}
    target_all = Printed.parse(overall) if overall else None
    tested: dict[tuple[tuple[int, int], ...], Tested] = {}
    for ref in options[reference]:
        for other in options[regimen]:
            if target_all is not None:
                n0 = ref["all"].n + other["all"].n
                big0 = ref["all"].N + other["all"].N
                if not any(target_all.admits_percent(n0 + a, big0 + b) for a, b in pooled_rest):
                    continue
            x, y = other[column], ref[column]
            counts = ((x.n, x.N), (y.n, y.N))
            if counts not in tested:
                ps = {t: p_value(t, (x.n, y.n), (x.N, y.N)) for t in (*PAIR_TESTS, POLICY)}
                tested[counts] = Tested(counts, ps)
    return _summarise(p_printed, list(tested.values()), PAIR_TESTS)
