"""Fisher's exact test against an independent oracle and hand-derived cases.

The oracle enumerates every table with the observed margins (plain recursion, ``math.lgamma``,
``math.fsum``) and sums the probabilities of those no more probable than the observed table, with
R's tolerances. It shares no code with the network enumeration it checks.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from poems_cohort.stats import _fisher, fisher_exact

SEEDS = [3, 7, 11, 19, 23, 42, 57, 71, 88, 101, 137, 2024]


def _tables(rows: list[int], cols: list[int]):
    """Every table (list of columns) with these margins."""
    if len(cols) == 1:
        yield [list(rows)]
        return

    def columns(rem: list[int], total: int, i: int):
        if i == len(rem) - 1:
            if total <= rem[i]:
                yield [total]
            return
        for x in range(min(rem[i], total) + 1):
            for tail in columns(rem, total - x, i + 1):
                yield [x, *tail]

    for col in columns(rows, cols[0], 0):
        rest = [r - x for r, x in zip(rows, col, strict=True)]
        for others in _tables(rest, cols[1:]):
            yield [col, *others]


def oracle_p(table: np.ndarray) -> float:
    rows = [int(v) for v in table.sum(axis=1)]
    cols = [int(v) for v in table.sum(axis=0)]
    n = sum(rows)
    k = sum(math.lgamma(v + 1) for v in rows + cols) - math.lgamma(n + 1)

    def logp(cells) -> float:
        return k - sum(math.lgamma(x + 1) for col in cells for x in col)

    obs = logp(table.T.tolist())
    if table.shape == (2, 2):  # R: P <= P_obs * (1 + 1e-7), on the normalised probabilities
        keep = lambda lp: math.exp(lp) <= math.exp(obs) * (1 + 1e-7)  # noqa: E731
    else:  # R's FEXACT: log P <= log P_obs + 3.45254e-7
        keep = lambda lp: lp <= obs + 3.45254e-7  # noqa: E731
    probs = [math.exp(lp) for lp in map(logp, _tables(rows, cols))]
    assert math.isclose(math.fsum(probs), 1.0, rel_tol=1e-12)
    return min(1.0, math.fsum(p for p in probs if keep(math.log(p))))


def _random_table(rng: np.random.Generator) -> np.ndarray:
    r, c = rng.integers(2, 5, size=2)
    n = int(rng.integers(4, {4: 40, 6: 36, 8: 24, 9: 20, 12: 16, 16: 12}.get(r * c, 40)))
    probs = rng.dirichlet(np.full(r * c, 0.7))
    return rng.multinomial(n, probs).reshape(r, c)


@pytest.mark.parametrize("seed", SEEDS)
def test_exact_p_equals_full_enumeration(seed):
    rng = np.random.default_rng(seed)
    for _ in range(4):
        table = _random_table(rng)
        if table.sum() == 0:
            continue
        got = fisher_exact(table).p_value
        want = oracle_p(table)
        assert got == pytest.approx(want, rel=1e-10, abs=1e-15), table


@pytest.mark.parametrize("seed", SEEDS[:6])
def test_transpose_and_permutation_do_not_change_p(seed):
    rng = np.random.default_rng(seed)
    table = rng.integers(0, 12, size=(3, 4))
    p = fisher_exact(table).p_value
    assert fisher_exact(table.T).p_value == pytest.approx(p, rel=1e-12)
    perm = table[rng.permutation(3)][:, rng.permutation(4)]
    assert fisher_exact(perm).p_value == pytest.approx(p, rel=1e-12)


def test_larger_tables_against_enumeration():
    # large enough that subtrees are accepted and rejected whole, small enough to enumerate
    for table in ([[9, 3, 1], [2, 7, 4], [1, 2, 8]], [[5, 1, 0, 4], [0, 6, 3, 1], [2, 2, 6, 0]],
                  [[12, 3], [4, 9], [6, 6], [1, 10]], [[20, 11, 9], [8, 15, 17]]):
        t = np.array(table)
        assert fisher_exact(t).p_value == pytest.approx(oracle_p(t), rel=1e-10)


# -- hand-derived ----------------------------------------------------------------------------------


def test_2x2_hand_derived():
    # margins 3/3, 3/3: P(x) = C(3,x) C(3,3-x) / 20 = 1, 9, 9, 1 over 20; x = 3 is the least likely
    res = fisher_exact([[3, 0], [0, 3]])
    assert res.p_value == pytest.approx(float(Fraction(2, 20)), rel=1e-14)
    assert res.statistic == math.inf and res.upper == math.inf
    res = fisher_exact([[2, 1], [1, 2]])  # x = 2: 9/20 is the most likely, every table counts
    assert res.p_value == 1.0
    # conditional MLE: weights (1, 9w, 9w^2, w^3) and E[X] = 2 give w^3 - 9w - 2 = 0
    root = max(np.roots([1.0, 0.0, -9.0, -2.0]).real)
    assert res.statistic == pytest.approx(root, rel=1e-4)  # R's uniroot tolerance
    assert res.lower < 1 < res.upper


def test_2x3_hand_derived():
    # rows (2, 2), columns (2, 1, 1): first rows (2,0,0), (1,1,0), (1,0,1), (0,1,1) have weights
    # 1/2, 1, 1, 1/2 (total 3); the observed (2,0,0) and (0,1,1) make p = 1/3
    assert fisher_exact([[2, 0, 0], [0, 1, 1]]).p_value == pytest.approx(1 / 3, rel=1e-14)


def test_permutation_matrix_is_p_one():
    # all margins 1: the 6 tables are the permutation matrices, equally likely
    assert fisher_exact(np.eye(3, dtype=int)).p_value == pytest.approx(1.0, rel=1e-14)


# -- edge cases --------------------------------------------------------------------------------------


def test_zero_row_or_column_is_dropped_like_r():
    full = fisher_exact([[3, 1], [0, 0], [2, 4]]).p_value
    assert full == pytest.approx(fisher_exact([[3, 1], [2, 4]]).p_value, rel=1e-12)
    assert fisher_exact([[3, 0, 1], [2, 0, 4], [1, 0, 5]]).p_value == pytest.approx(
        oracle_p(np.array([[3, 1], [2, 4], [1, 5]])), rel=1e-10)


@pytest.mark.parametrize("table", [[[5, 0], [0, 0]], [[1, 0], [0, 0]], [[0, 0, 0], [0, 7, 0]],
                                   [[4, 0, 0], [3, 0, 0], [9, 0, 0]]])
def test_all_counts_in_one_row_or_column_gives_p_one(table):
    res = fisher_exact(table)
    assert res.p_value == 1.0
    if np.shape(table) == (2, 2):  # R: x at the lower end of a one-point support -> OR 0, CI (0, Inf)
        assert (res.statistic, res.lower, res.upper) == (0.0, 0.0, math.inf)


def test_p_never_exceeds_one():
    assert fisher_exact([[5, 5], [5, 6]]).p_value == 1.0
    assert fisher_exact([[10, 10, 10], [10, 10, 10]]).p_value <= 1.0


def test_underflowing_tail_is_kept_in_log_space():
    t = np.array([[400, 0, 0], [0, 400, 0], [0, 0, 400]])
    assert fisher_exact(t).p_value == 0.0  # below the smallest double, as in R
    # the 3! permutations of the diagonal are the only tables this unlikely: 6 / multinomial
    logp = 3 * math.lgamma(401) - math.lgamma(1201)
    got = _fisher.exact_log_p(t, 10**6).log_p
    assert got == pytest.approx(math.log(6) + logp, rel=1e-12)


# -- the exact limit and Monte Carlo -------------------------------------------------------------------


def test_exact_limit_names_the_table():
    t = np.array([[3400, 3300, 3350], [3300, 3400, 3250], [3350, 3300, 3400]])
    with pytest.raises(ValueError, match=r"3 x 3 table \(n = 30050\).*max_tables.*monte_carlo"):
        fisher_exact(t, max_tables=1_000_000)


def test_hopeless_table_is_refused_before_the_work():
    # n = 9800 with an association: the cost estimated from a sample of first columns is far above
    # the limit, so the refusal comes before the enumeration (the exact count is never reached)
    t = np.array([[1250, 1050, 1000], [1000, 1150, 1050], [1000, 1050, 1250]])
    with pytest.raises(_fisher.TooManyTables) as stop:
        _fisher.exact_log_p(t, 50_000_000)
    assert stop.value.estimated and stop.value.column == 0
    with pytest.raises(ValueError, match=r"3 x 3 table \(n = 9800\).*estimated from a sample"
                                         r".*monte_carlo=B"):
        fisher_exact(t)


def test_three_row_intervals_against_enumeration():
    # three rows left in the last two columns: tables outside the interval of the first row's
    # value are summed as marginal tails; the p must not depend on which row that is
    rng = np.random.default_rng(5)
    for _ in range(6):
        t = rng.integers(0, 9, size=(3, 3))
        t[rng.integers(3), rng.integers(3)] += 12
        want = oracle_p(t)
        for perm in ([0, 1, 2], [2, 0, 1], [1, 2, 0]):
            assert fisher_exact(t[perm]).p_value == pytest.approx(want, rel=1e-10), t


def test_monte_carlo_is_reproducible_and_close_to_exact():
    t = np.array([[12, 7, 3], [5, 14, 6], [2, 6, 15]])
    a = fisher_exact(t, monte_carlo=4000, seed=20190101)
    b = fisher_exact(t, monte_carlo=4000, seed=20190101)
    assert a == b
    assert a.method == "monte-carlo" and a.n_simulations == 4000 and a.seed == 20190101
    exact = fisher_exact(t).p_value
    assert abs(a.p_value - exact) < 4 * a.std_err + 1 / 4001
    assert a.std_err == pytest.approx(math.sqrt(a.p_value * (1 - a.p_value) / 4000), rel=1e-14)
    hits = round(a.p_value * 4001) - 1
    assert a.p_value == pytest.approx((1 + hits) / 4001, rel=1e-14)


def test_monte_carlo_counts_ties_like_r():
    # every table with margins (1,1)x(1,1) has probability 1/2: all simulated tables count
    res = fisher_exact([[1, 0, 0], [0, 1, 0], [0, 0, 1]], monte_carlo=50, seed=1)
    assert res.p_value == 1.0


def test_monte_carlo_without_seed_reports_one():
    res = fisher_exact([[3, 1, 2], [1, 4, 0]], monte_carlo=100)
    assert isinstance(res.seed, int)
    again = fisher_exact([[3, 1, 2], [1, 4, 0]], monte_carlo=100, seed=res.seed)
    assert again.p_value == res.p_value


def test_monte_carlo_needs_two_non_zero_margins_like_r():
    with pytest.raises(ValueError, match="non-zero"):
        fisher_exact([[4, 0, 0], [3, 0, 0]], monte_carlo=100, seed=1)


def test_zeroin_matches_a_known_root():
    f = lambda x: x * x - 2  # noqa: E731
    root = _fisher.zeroin(f, 0.0, 2.0, f(0.0), f(2.0), tol=1e-12)
    assert root == pytest.approx(math.sqrt(2), abs=1e-11)
