"""Counts behind printed percentages: every (responders, denominator) that reproduces a table.

A percentage printed with ``d`` decimals is reproduced by ``n`` of ``N`` when ``100 n / N`` rounds
(half up, as SPSS prints) to it; all checks are done in integers. A p-value printed with 3 decimals
is reproduced when the test's unrounded p rounds to it (``0.000`` means below 0.0005, ``< 0.001``
below 0.001).

Two searches, both exhaustive within their denominator ranges:

* :func:`solve_percent_row`: one row of a k-group table (Table 1): a percent per group, the
  percent of the pooled column and the p-value of the k x 2 test.
* :func:`solve_response_endpoint`: one endpoint of Table 2: per regimen a rate in the low-risk
  and the medium-high-risk subgroup and overall (subgroups add up to the regimen), pairwise p-values
  against the reference regimen in each column, the pooled rate over regimens and an optional
  k-group p-value.

Both return every solution; :func:`choose_row` and :func:`choose_endpoint` pick one by the
documented rule (docs/reproduction.md). When nothing fits, the ``diagnose_*`` functions relax one
constraint at a time and say which printed value has to give, and what it would have to be.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import product
from typing import Generic, TypeVar

from poems_cohort.synth.pvalues import p_value

_PRINTED = re.compile(r"^(?P<rel><\s*)?(?P<int>\d+)(?:\.(?P<dec>\d+))?$")


# --------------------------------------------------------------------------------------------
# Printed values


@dataclass(frozen=True, slots=True)
class Printed:
    """A printed number as an exact integer: ``scaled / 10**decimals``, possibly an upper bound."""

    text: str
    scaled: int
    decimals: int
    upper_bound: bool = False

    @classmethod
    def parse(cls, text: str | float, decimals: int | None = None) -> Printed:
        """``"49.7"`` → 497 / 10; a float needs ``decimals`` (``49.7, 1``)."""
        if not isinstance(text, str):
            if decimals is None:
                raise ValueError(f"a float printed value needs its decimals: {text!r}")
            text = f"{text:.{decimals}f}"
        m = _PRINTED.match(text.strip())
        if m is None:
            raise ValueError(f"cannot read {text!r} as a printed number")
        dec = m.group("dec") or ""
        if decimals is not None and len(dec) != decimals:
            raise ValueError(f"{text!r} is printed with {len(dec)} decimals, not {decimals}")
        return cls(text.strip(), int(m.group("int") + dec), len(dec), bool(m.group("rel")))

    @property
    def value(self) -> float:
        return self.scaled / 10**self.decimals

    def admits_fraction(self, num: int, den: int, scale: int = 1) -> bool:
        """Whether ``scale * num / den`` prints as this value (exact, half rounds up)."""
        if den <= 0:
            return False
        x2 = 2 * scale * num * 10**self.decimals  # 2 * value * 10**d * den
        if self.upper_bound:
            return x2 < 2 * self.scaled * den
        return (2 * self.scaled - 1) * den <= x2 < (2 * self.scaled + 1) * den

    def admits_percent(self, n: int, N: int) -> bool:
        return self.admits_fraction(n, N, scale=100)

    def admits_p(self, p: float) -> bool:
        """Whether an unrounded p prints as this value (a tiny tolerance absorbs float noise)."""
        unit = 10.0 ** (-self.decimals)
        eps = 1e-12
        if self.upper_bound:
            return p < self.value - eps
        return self.value - unit / 2 - eps <= p < self.value + unit / 2 - eps

    def distance(self, x: float) -> float:
        return 0.0 if (self.upper_bound and x < self.value) else abs(x - self.value)


def _printed(x: str | Printed | None) -> Printed | None:
    return x if isinstance(x, Printed) or x is None else Printed.parse(x)


def counts_for_percent(percent: str | float, decimals: int | None, n_range: Iterable[int]
                       ) -> list[tuple[int, int]]:
    """Every ``(n, N)`` with ``N`` in ``n_range`` and ``100 n / N`` printing as ``percent``.

    >>> counts_for_percent("37.5", 1, range(1, 17))
    [(3, 8), (6, 16)]
    """
    target = Printed.parse(percent, decimals)
    out = []
    for N in n_range:
        if N <= 0:
            continue
        lo = max(0, (2 * target.scaled - 1) * N // (200 * 10**target.decimals) - 1)
        for n in range(lo, N + 1):
            if target.admits_percent(n, N):
                out.append((n, N))
            elif 100 * n * 10**target.decimals > (target.scaled + 1) * N:
                break
    return out


def nearest_percents(percent: str, N: int, k: int = 2) -> list[tuple[int, int, float]]:
    """The ``k`` counts ``n`` of ``N`` whose percentages lie nearest to ``percent``."""
    target = Printed.parse(percent).value
    ranked = sorted(range(N + 1), key=lambda n: abs(100 * n / N - target))[:k]
    return [(n, N, round(100 * n / N, 4)) for n in sorted(ranked)]


# --------------------------------------------------------------------------------------------
# Table 1: one row of percents per group, the pooled percent and a k x 2 p-value


@dataclass(frozen=True, slots=True)
class RowSolution:
    """Counts for one row: ``n[i]`` of ``N[i]`` per group; the pooled ``sum(n)`` of ``sum(N)``."""

    n: tuple[int, ...]
    N: tuple[int, ...]
    p: float | None
    missing: int
    missing_groups: int = 0

    @property
    def n_all(self) -> int:
        return sum(self.n)

    @property
    def N_all(self) -> int:
        return sum(self.N)


def solve_percent_row(percents: Sequence[str | None], sizes_max: Sequence[int],
                      all_percent: str | None = None, p_value_printed: str | None = None,
                      test: str = "pearson", decimals: int | None = None,
                      sizes_min: Sequence[int] | None = None) -> list[RowSolution]:
    """Every set of counts reproducing one table row.

    ``percents[i]`` is group i's printed percent (``None``: unconstrained, any count);
    group i's denominator runs over ``sizes_min[i]..sizes_max[i]`` (default: exactly
    ``sizes_max``). ``all_percent`` constrains the pooled column and ``p_value_printed`` the
    k x 2 ``test`` (see :func:`poems_cohort.synth.pvalues.p_value`).
    """
    if len(percents) != len(sizes_max):
        raise ValueError("one percent per group")
    sizes_min = sizes_max if sizes_min is None else sizes_min
    per_group: list[list[tuple[int, int]]] = []
    for pct, lo, hi in zip(percents, sizes_min, sizes_max, strict=True):
        if pct is None:
            per_group.append([(n, N) for N in range(lo, hi + 1) for n in range(N + 1)])
        else:
            per_group.append(counts_for_percent(pct, decimals, range(lo, hi + 1)))
    pooled = _printed(all_percent)
    target_p = _printed(p_value_printed)
    solutions = []
    for combo in product(*per_group):
        n = tuple(c[0] for c in combo)
        N = tuple(c[1] for c in combo)
        if pooled is not None and not pooled.admits_percent(sum(n), sum(N)):
            continue
        p = None
        if target_p is not None:
            p = p_value(test, n, N)
            if not target_p.admits_p(p):
                continue
        solutions.append(RowSolution(n, N, p, sum(sizes_max) - sum(N),
                                     sum(1 for a, b in zip(N, sizes_max, strict=True) if a < b)))
    return solutions


def choose_row(solutions: Sequence[RowSolution], p_value_printed: str | None = None
               ) -> RowSolution:
    """The documented choice: fewest missing values, then fewest groups with missing values,
    then the unrounded p nearest the printed one, then the smallest counts (for determinism)."""
    if not solutions:
        raise ValueError("no solution to choose from")
    target = _printed(p_value_printed)

    def key(s: RowSolution) -> tuple:
        gap = target.distance(s.p) if (target is not None and s.p is not None) else 0.0
        return (s.missing, s.missing_groups, gap, s.N, s.n)

    return min(solutions, key=key)


#: the kind of solution a relaxation keeps: a Table 1 row's or a Table 2 endpoint's
_Solution = TypeVar("_Solution", bound="RowSolution | EndpointSolution")


@dataclass(frozen=True)
class Relaxation(Generic[_Solution]):
    """What dropping one printed constraint makes possible, and the value it would take."""

    dropped: str
    printed: str | None
    achieved: str
    solution: _Solution


def diagnose_row(percents: Sequence[str | None], sizes_max: Sequence[int],
                 all_percent: str | None, p_value_printed: str | None, test: str = "pearson",
                 sizes_min: Sequence[int] | None = None, labels: Sequence[str] | None = None
                 ) -> list[Relaxation[RowSolution]]:
    """For a row with no solution: drop each printed value in turn and report the feasible ones.

    The solution kept for a dropped value is the one chosen by :func:`choose_row`; ``achieved``
    is what that value would then print as.
    """
    labels = list(labels) if labels is not None else [f"group{i}" for i in range(len(percents))]
    out: list[Relaxation[RowSolution]] = []
    for i, pct in enumerate(percents):
        if pct is None:
            continue
        relaxed = list(percents)
        relaxed[i] = None
        sols = solve_percent_row(relaxed, sizes_max, all_percent, p_value_printed, test,
                                 sizes_min=sizes_min)
        if sols:
            best = choose_row(sols, p_value_printed)
            out.append(Relaxation(labels[i], pct, f"{100 * best.n[i] / best.N[i]:.1f}", best))
    if all_percent is not None:
        sols = solve_percent_row(percents, sizes_max, None, p_value_printed, test,
                                 sizes_min=sizes_min)
        if sols:
            best = choose_row(sols, p_value_printed)
            out.append(Relaxation("All", all_percent,
                                  f"{100 * best.n_all / best.N_all:.1f}", best))
    if p_value_printed is not None:
        sols = solve_percent_row(percents, sizes_max, all_percent, None, test,
                                 sizes_min=sizes_min)
        if sols:
            target = _printed(p_value_printed)
            assert target is not None
            with_p = [RowSolution(s.n, s.N, p_value(test, s.n, s.N), s.missing, s.missing_groups)
                      for s in sols]
            best = min(with_p, key=lambda s: (target.distance(s.p or 0.0), s.missing))
            out.append(Relaxation("p", p_value_printed, f"{best.p:.3f}", best))
    return out


def solve_partition(percents: Sequence[str], size: int) -> list[tuple[int, ...]]:
    """Counts per category that print as ``percents`` of ``size`` and add up to ``size``."""
    options = [[n for n, _ in counts_for_percent(p, None, [size])] for p in percents]
    return [c for c in product(*options) if sum(c) == size]


# --------------------------------------------------------------------------------------------
# Table 2: response rates per regimen and risk subgroup


SUBGROUPS = ("low", "medium_high")
COLUMNS = ("all", "low", "medium_high")


@dataclass(frozen=True, slots=True)
class Cell:
    n: int
    N: int

    @property
    def percent(self) -> float:
        return 100 * self.n / self.N


@dataclass(frozen=True)
class EndpointSolution:
    """Responders and evaluable patients per regimen and subgroup, with the reproduced p-values.

    ``cells[regimen]["low" | "medium_high" | "all"]``; ``all`` is the sum of the subgroups.
    ``p[(regimen, column)]`` maps each test name to its unrounded p (pairwise vs the reference);
    ``tests[(regimen, column)]`` lists the tests whose p prints as published.
    """

    cells: Mapping[str, Mapping[str, Cell]]
    p: Mapping[tuple[str, str], Mapping[str, float]] = field(default_factory=dict)
    tests: Mapping[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    p_groups: float | None = None

    @property
    def evaluable(self) -> int:
        return sum(c["all"].N for c in self.cells.values())

    @property
    def spss_matches(self) -> int:
        return sum(1 for t in self.tests.values() if "spss" in t)


PAIR_TESTS = ("pearson", "yates", "fisher", "spss")
# per (regimen, column): each test's unrounded p, and the tests whose p prints as published
_PairP = dict[tuple[str, str], dict[str, float]]
_PairTests = dict[tuple[str, str], tuple[str, ...]]


def _cell_options(rate: Printed | None, size: int, min_fraction: float) -> list[Cell]:
    lo = max(1, math.ceil(min_fraction * size))
    if rate is None:
        return [Cell(n, N) for N in range(lo, size + 1) for n in range(N + 1)]
    return [Cell(n, N) for n, N in counts_for_percent(rate.text, None, range(lo, size + 1))]


def _regimen_options(rates: Mapping[str, str | None], sizes: Mapping[str, int],
                     min_fraction: float, ignore: frozenset[str], regimen: str
                     ) -> list[dict[str, Cell]]:
    parsed = {c: (None if f"rate:{regimen}:{c}" in ignore else _printed(rates.get(c)))
              for c in COLUMNS}
    low = _cell_options(parsed["low"], sizes["low"], min_fraction)
    high = _cell_options(parsed["medium_high"], sizes["medium_high"], min_fraction)
    out = []
    for a, b in product(low, high):
        total = Cell(a.n + b.n, a.N + b.N)
        if parsed["all"] is not None and not parsed["all"].admits_percent(total.n, total.N):
            continue
        out.append({"low": a, "medium_high": b, "all": total})
    return out


def solve_response_endpoint(
    rates: Mapping[str, Mapping[str, str | None]],
    p_values: Mapping[str, Mapping[str, str | None]],
    sizes: Mapping[str, Mapping[str, int]],
    reference: str = "ASCT",
    overall: str | None = None,
    p_groups: str | None = None,
    p_groups_test: str = "pearson",
    min_fraction: float = 0.5,
    ignore: Iterable[str] = (),
    limit: int = 200_000,
) -> list[EndpointSolution]:
    """Every assignment of responders/evaluable patients reproducing one Table 2 endpoint.

    ``rates[regimen][column]`` (columns ``all``, ``low``, ``medium_high``) are the printed rates;
    ``p_values[regimen][column]`` the printed p of ``regimen`` vs ``reference`` (any of
    ``pearson``, ``yates``, ``fisher`` or the SPSS rule may have produced it); ``sizes[regimen]``
    gives the subgroup sizes, the largest possible evaluable counts (the smallest is
    ``min_fraction`` of them). ``overall`` is the pooled rate over all regimens, ``p_groups`` a
    k-group p (``p_groups_test`` on the regimens' overall cells). ``ignore`` drops constraints by
    name: ``rate:<regimen>:<column>``, ``p:<regimen>:<column>``, ``overall``, ``p_groups``.
    """
    ignore = frozenset(ignore)
    regimens = list(rates)
    if reference not in regimens:
        raise ValueError(f"reference {reference!r} is not among the regimens {regimens}")
    options = {r: _regimen_options(rates[r], sizes[r], min_fraction, ignore, r) for r in regimens}
    others = [r for r in regimens if r != reference]
    targets = {(r, c): _printed(p_values.get(r, {}).get(c)) for r in others for c in COLUMNS
               if f"p:{r}:{c}" not in ignore and p_values.get(r, {}).get(c)}
    pooled = None if "overall" in ignore else _printed(overall)
    groups_target = None if "p_groups" in ignore else _printed(p_groups)

    pair_cache: dict[tuple[Cell, Cell, str], tuple[dict[str, float], tuple[str, ...]]] = {}

    def pair(ref: Cell, other: Cell, target: Printed) -> tuple[dict[str, float], tuple[str, ...]]:
        key = (ref, other, target.text)
        if key not in pair_cache:
            ps = {t: p_value(t, (other.n, ref.n), (other.N, ref.N)) for t in PAIR_TESTS}
            pair_cache[key] = (ps, tuple(t for t, v in ps.items() if target.admits_p(v)))
        return pair_cache[key]

    solutions: list[EndpointSolution] = []
    for ref in options[reference]:
        compatible: dict[str, list[tuple[dict[str, Cell], _PairP, _PairTests]]] = {}
        for r in others:
            keep = []
            for opt in options[r]:
                ps: _PairP = {}
                ok: _PairTests = {}
                for c in COLUMNS:
                    target = targets.get((r, c))
                    if target is None:
                        continue
                    values, tests = pair(ref[c], opt[c], target)
                    if not tests:
                        break
                    ps[(r, c)], ok[(r, c)] = values, tests
                else:
                    keep.append((opt, ps, ok))
            compatible[r] = keep
        for combo in product(*(compatible[r] for r in others)):
            cells = {reference: ref, **{r: c[0] for r, c in zip(others, combo, strict=True)}}
            n_tot = sum(cells[r]["all"].n for r in regimens)
            N_tot = sum(cells[r]["all"].N for r in regimens)
            if pooled is not None and not pooled.admits_percent(n_tot, N_tot):
                continue
            pg = None
            if groups_target is not None:
                pg = p_value(p_groups_test, [cells[r]["all"].n for r in regimens],
                             [cells[r]["all"].N for r in regimens])
                if not groups_target.admits_p(pg):
                    continue
            all_p: _PairP = {}
            all_tests: _PairTests = {}
            for _, p_of, tests_of in combo:
                all_p.update(p_of)
                all_tests.update(tests_of)
            solutions.append(EndpointSolution(cells, all_p, all_tests, pg))
            if len(solutions) >= limit:
                return solutions
    return solutions


def choose_endpoint(solutions: Sequence[EndpointSolution],
                    p_values: Mapping[str, Mapping[str, str | None]]) -> EndpointSolution:
    """The documented choice: most p-values reproduced by the SPSS rule, then the most evaluable
    patients, then the smallest total distance of the reproducing p's to the printed ones."""
    if not solutions:
        raise ValueError("no solution to choose from")

    def gap(s: EndpointSolution) -> float:
        total = 0.0
        for key, tests in s.tests.items():
            target = _printed(p_values[key[0]][key[1]])
            assert target is not None
            total += min(target.distance(s.p[key][t]) for t in tests)
        return total

    def order(s: EndpointSolution) -> tuple:
        cells = tuple((c.n, c.N) for r in sorted(s.cells) for c in s.cells[r].values())
        return (-s.spss_matches, -s.evaluable, gap(s), cells)

    return min(solutions, key=order)


def endpoint_constraints(rates: Mapping[str, Mapping[str, str | None]],
                         p_values: Mapping[str, Mapping[str, str | None]],
                         overall: str | None, p_groups: str | None) -> list[str]:
    """Names of every printed constraint of an endpoint (for ``ignore`` and diagnosis)."""
    names = [f"rate:{r}:{c}" for r in rates for c in COLUMNS if rates[r].get(c)]
    names += [f"p:{r}:{c}" for r in p_values for c in COLUMNS if p_values[r].get(c)]
    if overall:
        names.append("overall")
    if p_groups:
        names.append("p_groups")
    return names


def diagnose_endpoint(rates: Mapping[str, Mapping[str, str | None]],
                      p_values: Mapping[str, Mapping[str, str | None]],
                      sizes: Mapping[str, Mapping[str, int]], *, reference: str = "ASCT",
                      overall: str | None = None, p_groups: str | None = None,
                      p_groups_test: str = "pearson", min_fraction: float = 0.5,
                      subgroup_rates: bool = False) -> list[Relaxation[EndpointSolution]]:
    """For an endpoint with no solution: the printed values whose removal alone makes it feasible,
    each with the value it takes in the chosen solution (the nearest achievable).

    Dropping a subgroup rate lets that cell take any count, a much larger search; it is tried
    only with ``subgroup_rates=True``.
    """
    out: list[Relaxation[EndpointSolution]] = []
    for name in endpoint_constraints(rates, p_values, overall, p_groups):
        if name.startswith("rate:") and not name.endswith(":all") and not subgroup_rates:
            continue
        sols = solve_response_endpoint(rates, p_values, sizes, reference, overall, p_groups,
                                       p_groups_test, min_fraction, ignore=[name],
                                       limit=20_000)
        if not sols:
            continue
        kind, *where = name.split(":")
        if kind == "p":
            r, c = where
            target = _printed(p_values[r][c])
            assert target is not None

            def closest(s: EndpointSolution, r: str = r, c: str = c,
                        target: Printed = target) -> tuple[float, float]:
                ps = _pair_ps(s, reference, r, c)
                return min(target.distance(v) for v in ps.values()), -s.evaluable

            best = min(sols, key=closest)
            ps = _pair_ps(best, reference, r, c)
            test = min(ps, key=lambda t: target.distance(ps[t]))
            out.append(Relaxation(name, target.text, f"{ps[test]:.3f} ({test})", best))
            continue
        best = choose_endpoint(sols, p_values)
        if kind == "rate":
            r, c = where
            achieved = f"{best.cells[r][c].percent:.1f}"
            printed = rates[r][c]
        elif kind == "overall":
            n = sum(best.cells[r]["all"].n for r in best.cells)
            N = sum(best.cells[r]["all"].N for r in best.cells)
            achieved, printed = f"{100 * n / N:.1f}", overall
        else:
            cells = [best.cells[r]["all"] for r in best.cells]
            p = p_value(p_groups_test, [c.n for c in cells], [c.N for c in cells])
            achieved, printed = f"{p:.3f}", p_groups
        out.append(Relaxation(name, printed, achieved, best))
    return out


def _pair_ps(s: EndpointSolution, reference: str, r: str, c: str) -> dict[str, float]:
    ref, other = s.cells[reference][c], s.cells[r][c]
    return {t: p_value(t, (other.n, ref.n), (other.N, ref.N)) for t in PAIR_TESTS}
