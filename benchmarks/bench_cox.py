"""Time ``poems_cohort.stats.cox_ph`` (Efron) against lifelines ``CoxPHFitter`` on simulated data.

    python benchmarks/bench_cox.py [--sizes 1e4 1e5 1e6] [--repeat 3]

Three covariates, exponential times rounded to 0.01 (so there are ties), ~30% censoring. The two
fits alternate, ``--repeat`` times each, so that both see the same load; prints the best and the
median time of each, the ratios lifelines / ours of the best and of the medians, and checks that
the coefficients agree.
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


def timed(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def size(text: str) -> int:
    """A size such as ``100000`` or ``1e5``."""
    return int(float(text))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=size, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    from lifelines import CoxPHFitter  # only the benchmark uses lifelines

    covs = ["x1", "x2", "x3"]
    print(f"{'n':>9} {'ours best/median (s)':>21} {'lifelines best/median (s)':>26} "
          f"{'ratio best':>10} {'ratio median':>12} {'max rel coef diff':>18}")
    for n in args.sizes:
        d = simulate(n)
        t_ours, t_ll = [], []
        for _ in range(args.repeat):
            t, ours = timed(lambda d=d: cox_ph(d, "time", "event", covs))
            t_ours.append(t)
            t, ll = timed(lambda d=d: CoxPHFitter().fit(d, "time", "event", batch_mode=True))
            t_ll.append(t)
        ref = ll.params_[covs].to_numpy()
        diff = float(np.max(np.abs(ours.coef - ref) / np.abs(ref)))
        bo, mo, bl, ml = min(t_ours), np.median(t_ours), min(t_ll), np.median(t_ll)
        print(f"{n:>9} {f'{bo:.3f} / {mo:.3f}':>21} {f'{bl:.3f} / {ml:.3f}':>26} "
              f"{bl / bo:>10.2f} {ml / mo:>12.2f} {diff:>18.2e}")
        if diff > 1e-5:
            raise SystemExit(f"coefficients disagree at n={n}: ours {ours.coef}, lifelines {ref}")


if __name__ == "__main__":
    main()
