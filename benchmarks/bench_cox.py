"""Time ``poems_cohort.stats.cox_ph`` (Efron) against lifelines ``CoxPHFitter`` on simulated data.

    python benchmarks/bench_cox.py [--sizes 10000 100000 1000000] [--repeat 1]

Three covariates, exponential times rounded to 0.01 (so there are ties), ~30% censoring. Prints the
best time of each and the ratio lifelines / ours, and checks that the coefficients agree.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from poems_cohort.stats import cox_ph


def simulate(n: int, seed: int = 2019) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    rate = np.exp(x @ np.array([0.5, -0.3, 0.1]))
    t_event = rng.exponential(1 / rate)
    t_cens = rng.exponential(2.0, n)
    return pd.DataFrame({"time": np.round(np.minimum(t_event, t_cens), 2) + 0.01,
                         "event": (t_event <= t_cens).astype(int),
                         "x1": x[:, 0], "x2": x[:, 1], "x3": x[:, 2]})


def best_of(fn, repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    from lifelines import CoxPHFitter  # only the benchmark uses lifelines

    covs = ["x1", "x2", "x3"]
    print(f"{'n':>9} {'ours (s)':>9} {'lifelines (s)':>14} {'ratio':>7} {'max rel coef diff':>18}")
    for n in args.sizes:
        d = simulate(n)
        t_ours, ours = best_of(lambda d=d: cox_ph(d, "time", "event", covs), args.repeat)
        t_ll, ll = best_of(lambda d=d: CoxPHFitter().fit(d, "time", "event", batch_mode=True),
                           args.repeat)
        ref = ll.params_[covs].to_numpy()
        diff = float(np.max(np.abs(ours.coef - ref) / np.abs(ref)))
        print(f"{n:>9} {t_ours:>9.3f} {t_ll:>14.3f} {t_ll / t_ours:>7.2f} {diff:>18.2e}")
        if diff > 1e-5:
            raise SystemExit(f"coefficients disagree at n={n}: ours {ours.coef}, lifelines {ref}")


if __name__ == "__main__":
    main()
