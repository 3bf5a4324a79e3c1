"""Time the propensity pipeline (``multinomial_logit`` → ``iptw_weights`` → ``balance_table``) and
the multinomial fit alone against a generic optimiser on the same likelihood.

    python benchmarks/bench_propensity.py [--sizes 1e3 1e4 1e5 1e6] [--repeat 3]

Three arms, eight covariates (four normal, four 0/1), assignment from a known multinomial model.
The baseline is ``scipy.optimize.minimize(method="L-BFGS-B")`` with the analytic gradient of the
same log-likelihood (no Hessian), timed in the same run, alternating with ours. Prints the best
time of each, the ratio baseline / ours, and the largest difference in fitted probabilities; fails
if it exceeds 1e-5 (the baseline's own accuracy).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from poems_cohort.stats import balance_table, iptw_weights, multinomial_logit


def simulate(n: int, seed: int = 2019) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.column_stack([rng.normal(size=(n, 4)), rng.integers(0, 2, (n, 4))]).astype(float)
    b = rng.normal(scale=0.4, size=(2, 8))
    eta = np.column_stack([np.zeros(n), 0.2 + x @ b[0], -0.3 + x @ b[1]])
    p = np.exp(eta - eta.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    u = rng.random(n)[:, None]
    arm = np.array(["A", "B", "C"])[(u > np.cumsum(p, axis=1)).sum(axis=1)]
    return pd.DataFrame(x, columns=[f"x{j}" for j in range(8)]), arm


def baseline_fit(x: np.ndarray, codes: np.ndarray, k: int) -> np.ndarray:
    """Fitted probabilities by L-BFGS-B on the negative log-likelihood with its gradient."""
    n = len(codes)
    z = np.column_stack([np.ones(n), x])
    p = z.shape[1]
    y = np.zeros((n, k))
    y[np.arange(n), codes] = 1

    def probs(beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        eta = np.column_stack([np.zeros(n), z @ beta.reshape(k - 1, p).T])
        eta -= eta.max(axis=1, keepdims=True)
        lp = eta - np.log(np.exp(eta).sum(axis=1, keepdims=True))
        return np.exp(lp), lp

    def fg(beta: np.ndarray) -> tuple[float, np.ndarray]:
        pr, lp = probs(beta)
        return -float(lp[np.arange(n), codes].sum()), -((y[:, 1:] - pr[:, 1:]).T @ z).ravel()

    res = minimize(fg, np.zeros((k - 1) * p), jac=True, method="L-BFGS-B",
                   options={"maxiter": 10_000, "ftol": 1e-15, "gtol": 1e-9})
    return probs(res.x)[0]


def timed(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def size(text: str) -> int:
    return int(float(text))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=size, nargs="+", default=[1_000, 10_000, 100_000, 1_000_000])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(f"{'n':>9} {'fit (s)':>9} {'L-BFGS-B (s)':>13} {'ratio':>7} {'pipeline (s)':>13} "
          f"{'max |dp|':>10}")
    worst = 0.0
    for n in args.sizes:
        x, arm = simulate(n)
        codes = pd.Categorical(arm, ["A", "B", "C"]).codes.astype(int)
        t_fit, t_base, t_pipe = [], [], []
        for _ in range(args.repeat):
            t, m = timed(lambda x=x, arm=arm: multinomial_logit(x, arm))
            t_fit.append(t)
            t, pb = timed(lambda x=x, codes=codes: baseline_fit(x.to_numpy(), codes, 3))
            t_base.append(t)

            def pipeline(x: pd.DataFrame = x, arm: np.ndarray = arm) -> object:
                w = iptw_weights(arm, multinomial_logit(x, arm), truncate=(1, 99))
                return balance_table(x, arm, w.weights)

            t, _ = timed(pipeline)
            t_pipe.append(t)
        diff = float(np.max(np.abs(m.fitted - pb)))
        worst = max(worst, diff)
        print(f"{n:>9} {min(t_fit):>9.3f} {min(t_base):>13.3f} {min(t_base) / min(t_fit):>6.1f}x "
              f"{min(t_pipe):>13.3f} {diff:>10.2e}")
    if worst > 1e-5:
        raise SystemExit(f"fitted probabilities disagree by {worst:.3g}")


if __name__ == "__main__":
    main()
