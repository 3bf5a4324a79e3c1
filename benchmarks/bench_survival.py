"""Kaplan–Meier (three groups, with confidence limits) plus the three-group log-rank test:
poems_cohort.stats against lifelines, in the same run, on simulated cohorts.

Cohorts: three groups of equal expected size, exponential event times (medians 30, 40 and 55
months) and exponential censoring times set so that about 40% are censored, rounded to 0.1 month.
Each size is timed as the best of a few repeats; the two libraries must agree (KM survival at
every distinct time, log-rank statistic) or the run fails.

    python benchmarks/bench_survival.py                # 1e4, 1e5, 1e6, 1e7
    python benchmarks/bench_survival.py --sizes 1e4 1e6
"""

from __future__ import annotations

import argparse

import numpy as np

from poems_cohort.stats import kaplan_meier_by_group, logrank_test
from timing import best_of  # benchmarks/timing.py, beside this script

MEDIANS = (30.0, 40.0, 55.0)
CENSORED_SHARE = 0.4
TARGET_SECONDS_1E7 = 1.5


def simulate(n: int, seed: int = 20240611) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 3, n)
    rate = np.log(2) / np.asarray(MEDIANS)[group]
    # P(C < T) = mu / (lambda + mu) = CENSORED_SHARE  ->  mu = lambda * share / (1 - share)
    censor_rate = rate * CENSORED_SHARE / (1 - CENSORED_SHARE)
    t_event = rng.exponential(1 / rate)
    t_censor = rng.exponential(1 / censor_rate)
    time_ = np.round(np.minimum(t_event, t_censor), 1)
    event = (t_event <= t_censor).astype(np.int64)
    return time_, event, group


def ours(time_: np.ndarray, event: np.ndarray, group: np.ndarray) -> tuple[list, float]:
    curves = list(kaplan_meier_by_group(time_, event, group).fits)
    test = logrank_test(time_, event, group)
    return curves, test.statistic


def theirs(time_: np.ndarray, event: np.ndarray, group: np.ndarray) -> tuple[list, float]:
    from lifelines import KaplanMeierFitter
    from lifelines.statistics import multivariate_logrank_test

    curves = []
    for g in range(3):
        mask = group == g
        curves.append(KaplanMeierFitter().fit(time_[mask], event[mask]))
    test = multivariate_logrank_test(time_, group, event)
    return curves, float(test.test_statistic)



def check_agreement(our: tuple[list, float], their: tuple[list, float], n: int) -> float:
    """Largest relative difference; raises if the libraries disagree."""
    worst = 0.0
    for km, kmf in zip(our[0], their[0], strict=True):
        sf = kmf.survival_function_.iloc[:, 0]
        theirs_at = sf.reindex(km.time).to_numpy()
        if np.isnan(theirs_at).any():
            raise AssertionError(f"n={n}: lifelines lacks some of our distinct times")
        diff = np.abs(km.surv - theirs_at) / np.maximum(np.abs(theirs_at), 1e-300)
        worst = max(worst, float(np.max(diff[theirs_at > 0], initial=0.0)))
    worst = max(worst, abs(our[1] - their[1]) / abs(their[1]))
    if worst > 1e-8:
        raise AssertionError(f"n={n}: results differ (max relative difference {worst:.3g})")
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=float, default=[1e4, 1e5, 1e6, 1e7])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"{'n':>10} {'ours s':>9} {'lifelines s':>12} {'ratio':>7} {'max rel diff':>13}")
    for size in args.sizes:
        n = int(size)
        data = simulate(n)
        repeats = args.repeats if n < 10_000_000 else max(1, min(args.repeats, 2))
        t_ours, r_ours = best_of(lambda d=data: ours(*d), repeats)
        t_theirs, r_theirs = best_of(lambda d=data: theirs(*d), repeats)
        diff = check_agreement(r_ours, r_theirs, n)
        print(f"{n:>10} {t_ours:>9.3f} {t_theirs:>12.3f} {t_theirs / t_ours:>6.1f}x {diff:>13.2e}",
              flush=True)
        if n >= 10_000_000 and t_ours > TARGET_SECONDS_1E7:
            print(f"  slower than the {TARGET_SECONDS_1E7} s target at n={n}")


if __name__ == "__main__":
    main()
