"""Timings of Fisher's exact test against the targets, with a baseline timed in the same run.

Run: ``python benchmarks/bench_contingency.py`` (about a minute on two cores).

Baselines: a brute-force enumeration of every table with the observed margins (numpy, vectorised)
where that is feasible, and ``scipy.stats.fisher_exact`` for a 2 x 2 table. R's time for the 3 x 3
table of n = 2,000 (8 s, ``fisher.test(x, workspace = 2e8)``) is quoted, not measured.
"""

from __future__ import annotations

import time

import numpy as np
from scipy import special as spc
from scipy import stats as sps

from poems_cohort.stats import _fisher, fisher_exact
from timing import best_of  # benchmarks/timing.py, beside this script


def brute_force_p(table: np.ndarray) -> float:
    """Every table of a 2 x 3 or 3 x 3 shape, vectorised; FEXACT's tolerance."""
    rows, cols = table.sum(axis=1), table.sum(axis=0)
    n = int(rows.sum())
    lf = spc.gammaln(np.arange(n + 1) + 1.0)
    k = lf[rows].sum() + lf[cols].sum() - lf[n]
    obs = -lf[table].sum()
    r, c = table.shape
    if (r, c) == (2, 3):
        x0, x1 = np.meshgrid(np.arange(cols[0] + 1), np.arange(cols[1] + 1), indexing="ij")
        x2 = rows[0] - x0 - x1
        ok = (x2 >= 0) & (x2 <= cols[2])
        x0, x1, x2 = x0[ok], x1[ok], x2[ok]
        path = -(lf[x0] + lf[x1] + lf[x2] + lf[cols[0] - x0] + lf[cols[1] - x1] + lf[cols[2] - x2])
    elif (r, c) == (3, 3):
        g = np.arange(n + 1)
        a, b, d, e = np.meshgrid(g[:cols[0] + 1], g[:cols[0] + 1], g[:cols[1] + 1],
                                 g[:cols[1] + 1], indexing="ij", sparse=True)
        x02 = rows[0] - a - d
        x12 = rows[1] - b - e
        x20 = cols[0] - a - b
        x21 = cols[1] - d - e
        x22 = cols[2] - x02 - x12
        ok = (x02 >= 0) & (x12 >= 0) & (x20 >= 0) & (x21 >= 0) & (x22 >= 0)
        cells = [np.broadcast_to(v, ok.shape)[ok] for v in (a, b, d, e, x02, x12, x20, x21, x22)]
        path = -sum(lf[v] for v in cells)
    else:
        raise ValueError("brute force only for 2 x 3 and 3 x 3")
    sel = path <= obs + _fisher.FEXACT_TOL
    return float(np.exp(path[sel] + k).sum())


def report(label: str, seconds: float, target: float | None, baseline: str | None = None,
           base_seconds: float | None = None) -> None:
    line = f"{label:<44s} {seconds * 1e3:9.1f} ms"
    if target is not None:
        line += f"  target {target * 1e3:7.0f} ms ({'met' if seconds <= target else 'MISSED'})"
    if baseline is not None and base_seconds is not None:
        line += f"  {baseline}: {base_seconds * 1e3:9.1f} ms (x{base_seconds / seconds:.1f})"
    print(line)


def main() -> None:
    print(f"numpy {np.__version__}; times are the best of 3\n")

    # 2 x 2: ours computes p, the conditional MLE odds ratio and its CI (three root searches);
    # scipy computes p and the sample odds ratio
    for t in (np.array([[120, 80], [95, 105]]), np.array([[5200, 4800], [4700, 5300]])):
        ours, res = best_of(lambda t=t: fisher_exact(t))
        base, sp = best_of(lambda t=t: sps.fisher_exact(t))
        assert abs(res.p_value / sp.pvalue - 1) < 1e-9
        report(f"2x2 n={t.sum()} (p, OR, CI)", ours, None, "scipy.fisher_exact", base)

    # 2 x 3, n = 10,000: target 0.1 s; brute force enumerates all ~11 million tables
    t = np.array([[1500, 1800, 1700], [1600, 1650, 1750]])
    ours, res = best_of(lambda: fisher_exact(t))
    base, bp = best_of(lambda: brute_force_p(t), 1)
    assert abs(res.p_value / bp - 1) < 1e-9, (res.p_value, bp)
    report("2x3 n=10000 exact", ours, 0.1, "brute force", base)

    # 3 x 3, small enough to enumerate: the ratio to brute force
    t = np.array([[22, 17, 11], [15, 20, 16], [12, 14, 23]])
    ours, res = best_of(lambda: fisher_exact(t))
    base, bp = best_of(lambda: brute_force_p(t), 1)
    assert abs(res.p_value / bp - 1) < 1e-9, (res.p_value, bp)
    report(f"3x3 n={t.sum()} exact", ours, None, "brute force", base)

    # 3 x 3, n = 2,000: target 1 s (R: 8 s); a moderate, a strong and a stronger association (the
    # smaller p, the more tables are more probable than the observed one, the more work)
    for t in (np.array([[200, 230, 240], [210, 250, 190], [220, 215, 245]]),
              np.array([[240, 200, 230], [210, 250, 190], [180, 215, 285]]),
              np.array([[250, 195, 225], [205, 255, 190], [175, 210, 295]])):
        ours, res = best_of(lambda t=t: fisher_exact(t), 2)
        report(f"3x3 n={t.sum()} exact (p={res.p_value:.2g})", ours, 1.0, "R fisher.test (quoted)",
               8.0)

    # 3 x 3, n ~ 10,000 with an association: where the exact computation stops; Monte Carlo p
    t = np.array([[1250, 1050, 1000], [1000, 1150, 1050], [1000, 1050, 1250]])
    t0 = time.perf_counter()
    try:
        fisher_exact(t)
        print(f"3x3 n={t.sum()}: exact finished")
    except ValueError as exc:
        report(f"3x3 n={t.sum()} exact: refused after", time.perf_counter() - t0, None)
        print(f"    {exc}")
    mc, res = best_of(lambda: fisher_exact(t, monte_carlo=10_000, seed=1), 1)
    report(f"3x3 n={t.sum()} Monte Carlo B=10000 (p={res.p_value:.3g})", mc, None)


if __name__ == "__main__":
    main()
