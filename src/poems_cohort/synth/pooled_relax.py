"""A continuous relaxation of the pooled count model: a start for the whole-number search.

The kinetics search lays out, for each regimen, how many responses and how many censorings fall
in each month of the first year (``synth.kinetics_search``: before month 1, months 1 to 12, after
the first year). A pooled rate depends on how the regimens' responses and censorings interleave.
Some rates need a layout far from the one the search starts from: the pooled 6-month CRV rate
of the paper (21.4 against regimen rates whose size-weighted mean is 22.6) asks every regimen to
censor early just before its own responses and after the others'. An annealing of single moves
does not walk there: each move breaks the regimen rates it must hold, in windows of 0.1 point.

Here the counts are real numbers. Each class of patients (the responders that may take the same
months, the non-responders with the same last assessment and the same months they may stop
after) spreads its size over its months; a regimen may stop at most its cap. The pooled rate at
the landmark is pushed towards its published side while every regimen rate, the other pooled
rate and the pooled median are held by quadratic penalties whose weight grows over the
iterations (Adam steps, each followed by the projection of every class back onto its size).
Rounding the result (largest remainders within each class) gives whole counts near a layout
with the structure needed, from which the whole-number search continues.

Only elementwise arithmetic, running sums, products and sorts are used: no BLAS, whose kernels
differ between processors, and no library optimiser, whose path changes between versions. Like
the generator's random draws (the Dirichlet start among them) it relies on the C maths library
for powers, logarithms and exponentials, which the bundled cohort's byte-for-byte regeneration
test checks.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

#: half-width of the window each held rate is kept in (percentage points; a rate printed with
#: one decimal prints within 0.05 of its value)
HOLD = 0.04
#: iterations of :func:`relax`, its first Adam step (falling geometrically to a hundredth) and
#: the weight of the penalties (rising geometrically from the first to the second value)
RELAX_ITERATIONS = 3000
RELAX_STEP = 0.3
PENALTY_START = 0.1
PENALTY_END = 1000.0
#: the landmarks, in months (a bin per month: the 6-month rate counts bins 0 to 6)
LANDMARKS = (6, 12)


class ArmCounts(Protocol):
    """What the model reads of one regimen (``synth.kinetics_search._Arm``)."""

    fixed_events: list[int]
    options: list[list[int]]
    natural: list[int]
    stop_options: list[list[int]]
    cap: int

    def counts(self) -> tuple[list[int], list[int]]: ...


@dataclass(frozen=True)
class CountModel:
    """The variables of the relaxation and the classes they belong to.

    Variable ``v`` counts responses (``kind`` 0) or censorings (1) of regimen ``arm[v]`` in bin
    ``bin[v]``. ``classes[k]`` holds the variables of one class, ``totals[k]`` its size and
    ``keys[k]`` which class it is: ``(arm, "responders", months)`` or ``(arm, "non-responders",
    (natural bin, months it may stop after))``; the last variable of a non-responder class is
    its censoring at the natural bin (no stop). ``stops[a]`` are regimen ``a``'s stop variables,
    at most ``caps[a]`` in all. ``fixed_events`` and ``fixed_censored`` (regimen x bin) are the
    counts no variable moves, among them every count of a ``frozen`` regimen."""

    arm: np.ndarray
    kind: np.ndarray
    bin: np.ndarray
    classes: tuple[np.ndarray, ...]
    totals: tuple[int, ...]
    keys: tuple[tuple[int, str, tuple], ...]
    stops: tuple[np.ndarray, ...]
    caps: tuple[int, ...]
    fixed_events: np.ndarray
    fixed_censored: np.ndarray


def build_count_model(arms: Sequence[ArmCounts], bins: int, frozen: frozenset[int] = frozenset()
                      ) -> CountModel:
    """The model of ``arms`` (one per regimen) over ``bins`` bins; the regimens of ``frozen`` keep
    their present counts."""
    arm: list[int] = []
    kind: list[int] = []
    where: list[int] = []
    classes: list[np.ndarray] = []
    totals: list[int] = []
    keys: list[tuple[int, str, tuple]] = []
    stops: list[list[int]] = [[] for _ in arms]
    fixed_events = np.zeros((len(arms), bins))
    fixed_censored = np.zeros((len(arms), bins))

    def add(a: int, k: int, b: int) -> int:
        arm.append(a)
        kind.append(k)
        where.append(b)
        return len(arm) - 1

    for a, counted in enumerate(arms):
        if a in frozen:
            events, total = counted.counts()
            fixed_events[a] = events
            fixed_censored[a] = np.array(total) - np.array(events)
            continue
        fixed_events[a] = counted.fixed_events
        sizes: dict[tuple[int, ...], int] = defaultdict(int)
        for opts in counted.options:
            sizes[tuple(opts)] += 1
        for months, size in sorted(sizes.items()):
            classes.append(np.array([add(a, 0, b) for b in months]))
            totals.append(size)
            keys.append((a, "responders", months))
        groups: dict[tuple[int, tuple[int, ...]], int] = defaultdict(int)
        for natural, opts in zip(counted.natural, counted.stop_options, strict=True):
            groups[natural, tuple(opts)] += 1
        for (natural, months), size in sorted(groups.items()):
            if not months:
                fixed_censored[a, natural] += size
                continue
            ids = [add(a, 1, m) for m in months]
            stops[a] += ids
            classes.append(np.array(ids + [add(a, 1, natural)]))
            totals.append(size)
            keys.append((a, "non-responders", (natural, months)))
    return CountModel(np.array(arm, np.int64), np.array(kind, np.int64),
                      np.array(where, np.int64), tuple(classes), tuple(totals), tuple(keys),
                      tuple(np.array(s, np.int64) for s in stops),
                      tuple(int(c.cap) for c in arms), fixed_events, fixed_censored)


def landmark_rates(events: np.ndarray, censored: np.ndarray
                   ) -> list[tuple[float, np.ndarray, np.ndarray]]:
    """1 − Kaplan–Meier in percent at each landmark from counts per bin (real numbers; responses
    before the censorings of their bin), with its derivatives by the responses and by the
    censorings of each bin, the number of patients ``n`` held: ``[(rate, d rate / d events,
    d rate / d censored), ...]``. The relaxation moves a class's patients between bins, never
    changing ``n``, so only these differences between bins count.

    With ``N_b = n − Σ_{b' < b} (e_b' + c_b')`` at risk in bin ``b`` and ``S = Π_{b ≤ T} (1 −
    e_b / N_b)``: ``d log S / d e_j = −1 / (N_j − e_j)`` (for ``j ≤ T``) ``− Σ_{j < b ≤ T} e_b /
    (N_b (N_b − e_b))``, and ``d log S / d c_j`` is that sum alone (a censoring lowers the later
    risk sets only)."""
    n = float(events.sum() + censored.sum())
    at_risk = n - np.concatenate(([0.0], np.cumsum(events + censored)[:-1]))
    out = []
    for t in LANDMARKS:
        e, r = events[:t + 1], at_risk[:t + 1]
        room = r - e  # at risk after the bin's responses
        # a bin nobody is at risk in (a regimen gone before the landmark) leaves S as it is
        s = float(np.prod(np.where(r > 0, 1.0 - e / np.where(r > 0, r, 1.0), 1.0)))
        # where every patient at risk responds (S = 0 from there) nothing moves S any more
        ok = room > 0
        later = np.zeros(len(events))
        later[:t + 1] = np.where(ok, e / (np.where(ok, r, 1.0) * np.where(ok, room, 1.0)), 0.0)
        after = np.concatenate((np.cumsum(later[::-1])[::-1][1:], [0.0]))  # Σ over b > j
        d_events = -after
        d_events[:t + 1] -= np.where(ok, 1.0 / np.where(ok, room, 1.0), 0.0)
        out.append((100.0 * (1.0 - s), -100.0 * s * d_events, 100.0 * s * after))
    return out


def random_start(model: CountModel, rng: np.random.Generator) -> np.ndarray:
    """Each class spread over its variables by a Dirichlet draw (concentration 0.5)."""
    x = np.zeros(len(model.arm))
    for ids, total in zip(model.classes, model.totals, strict=True):
        x[ids] = rng.dirichlet(np.full(len(ids), 0.5)) * total
    return x


def _onto_class(v: np.ndarray, total: float) -> np.ndarray:
    """The nearest point of ``{x ≥ 0, Σ x = total}`` to ``v`` (Euclidean projection)."""
    u = np.sort(v)[::-1]
    excess = np.cumsum(u) - total
    ranks = np.arange(1, len(v) + 1)
    keep = u - excess / ranks > 0
    rho = ranks[keep][-1]
    return np.maximum(v - excess[keep][-1] / rho, 0.0)


@dataclass(frozen=True)
class Relaxed:
    """The result of :func:`relax`: the counts (``x``, one per variable), the pooled rate aimed
    at and the sum of the squared violations left (0: every held rate within its window)."""

    x: np.ndarray
    rate: float
    violation: float


def median_limits(responders: int, month: int) -> tuple[int, int, int, int]:
    """The pooled median time to the response in bin ``month``, as limits on the responses
    counted up to a bin: at most ``limits[1]`` up to bin ``limits[0]`` (the bin before) and at
    least ``limits[3]`` up to bin ``limits[2]`` (``month``), so that the middle responder (or
    both middle ones) respond in that month."""
    middle = sorted({(responders - 1) // 2, responders // 2})
    return month - 1, middle[0], month, middle[-1] + 1


def relax(model: CountModel, wants: Sequence[tuple[float, float]], landmark: int,
          direction: float, pooled_hold: Sequence[tuple[int, float]],
          median: tuple[int, int, int, int], x0: np.ndarray,
          iterations: int = RELAX_ITERATIONS) -> Relaxed:
    """Move the counts ``x0`` so that the pooled rate at ``landmark`` goes in ``direction`` (-1:
    lower, 1: higher; the published value is not a stop: the further the better), while each
    regimen's rates at 6 and 12 months stay within ``HOLD`` of ``wants[a]``, each pooled rate of ``pooled_hold`` ((landmark, value) pairs) within ``HOLD``,
    the pooled median within its month (``median``: :func:`median_limits`) and each regimen's
    stops within its cap."""
    regimens, bins = model.fixed_events.shape
    at = LANDMARKS.index(landmark)
    response = model.kind == 0
    # each regimen's response and censoring variables (the same in every iteration)
    response_vars = [np.flatnonzero((model.arm == a) & response) for a in range(regimens)]
    censoring_vars = [np.flatnonzero((model.arm == a) & ~response) for a in range(regimens)]
    before_bin, most_before, by_bin, least_by = median

    def evaluate(x: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, float]:
        """The pooled rate aimed at, its gradient, the penalties' gradient and their sum."""
        events = model.fixed_events.copy()
        censored = model.fixed_censored.copy()
        for a in range(regimens):
            events[a] += np.bincount(model.bin[response_vars[a]], x[response_vars[a]], bins)
            censored[a] += np.bincount(model.bin[censoring_vars[a]], x[censoring_vars[a]],
                                       bins)
        grad_events = np.zeros((regimens, bins))
        grad_censored = np.zeros((regimens, bins))
        violation = 0.0

        def hold(rate: float, want: float, d_e: np.ndarray, d_c: np.ndarray,
                 rows: slice | int) -> None:
            nonlocal violation
            off = rate - min(max(rate, want - HOLD), want + HOLD)
            if off:
                violation += off * off
                grad_events[rows] += 2.0 * off * d_e
                grad_censored[rows] += 2.0 * off * d_c

        for a in range(regimens):
            for (rate, d_e, d_c), want in zip(landmark_rates(events[a], censored[a]),
                                              wants[a], strict=True):
                hold(rate, want, d_e, d_c, a)
        pooled = landmark_rates(events.sum(axis=0), censored.sum(axis=0))
        for month, want in pooled_hold:
            rate, d_e, d_c = pooled[LANDMARKS.index(month)]
            hold(rate, want, d_e, d_c, slice(None))
        responses = np.cumsum(events.sum(axis=0))
        for last, off in ((before_bin, max(responses[before_bin] - most_before, 0.0)),
                          (by_bin, min(responses[by_bin] - least_by, 0.0))):
            if off:
                violation += off * off
                grad_events[:, :last + 1] += 2.0 * off
        penalty = np.where(response, grad_events[model.arm, model.bin],
                           grad_censored[model.arm, model.bin])
        for a, ids in enumerate(model.stops):
            over = float(x[ids].sum()) - model.caps[a] if len(ids) else 0.0
            if over > 0:
                violation += over * over
                penalty[ids] += 2.0 * over
        rate, d_e, d_c = pooled[at]
        aim = -direction * np.where(response, d_e[model.bin], d_c[model.bin])
        return rate, aim, penalty, violation

    x = x0.copy()
    mean = np.zeros(len(x))
    square = np.zeros(len(x))
    step = RELAX_STEP
    step_fall = 0.01 ** (1.0 / iterations)
    weight = PENALTY_START
    weight_rise = (PENALTY_END / PENALTY_START) ** (1.0 / iterations)
    for _ in range(iterations):
        _, aim, penalty, _ = evaluate(x)
        grad = aim + weight * penalty
        mean = 0.9 * mean + 0.1 * grad
        square = 0.999 * square + 0.001 * grad * grad
        x = x - step * mean / (np.sqrt(square) + 1e-12)
        for ids, total in zip(model.classes, model.totals, strict=True):
            x[ids] = _onto_class(x[ids], total)
        step *= step_fall
        weight *= weight_rise
    rate, _, _, violation = evaluate(x)
    return Relaxed(x, rate, violation)


def round_counts(model: CountModel, x: np.ndarray) -> np.ndarray:
    """Whole counts from ``x``: in each class the floors, plus one for the largest remainders
    until the class has its size (ties: the first variable). A regimen whose stops then exceed
    its cap gives back the stops rounded up the most, to their classes' "no stop" variable."""
    whole = np.zeros(len(x), np.int64)
    no_stop = np.full(len(x), -1, np.int64)
    for ids, total, key in zip(model.classes, model.totals, model.keys, strict=True):
        v = x[ids]
        low = np.floor(v).astype(np.int64)
        order = np.argsort(-(v - low), kind="stable")
        low[order[:total - int(low.sum())]] += 1
        whole[ids] = low
        if key[1] == "non-responders":
            no_stop[ids[:-1]] = ids[-1]
    for a, ids in enumerate(model.stops):
        over = int(whole[ids].sum()) - model.caps[a]
        if over <= 0:
            continue
        # most rounded up first (x - whole smallest), then the first variable
        order = ids[np.argsort(x[ids] - whole[ids], kind="stable")]
        for v in order.tolist():
            take = min(over, int(whole[v]))
            whole[v] -= take
            whole[no_stop[v]] += take
            over -= take
            if not over:
                break
    return whole
