"""Many small, degenerate data sets through every statistics entry point (seeded, so each run is
the same): heavy ties, time 0, all censored, all events, groups of one, zero weights.

Nothing may escape but the documented refusals (``ValueError``, of which ``NotTestableError``),
and numpy must never warn (a RuntimeWarning is a 0/0 or an overflow somewhere: a number that
may be silently wrong). The only warnings allowed are the Cox model's own about an infinite
coefficient.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from poems_cohort import stats

SEEDS = [*range(300), 318, 395, 894]


def _data(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 13))
    shape = seed % 5
    time = rng.integers(0, 4 if shape == 0 else 9, n).astype(float)  # heavy ties, time 0
    event = (rng.random(n) < [0.6, 0.0, 1.0, 0.3, 0.9][shape]).astype(int)
    k = int(rng.integers(1, 4))
    group = rng.choice(list("abc")[:k], n)
    group[0] = "a"
    weight = rng.choice([0.0, 0.5, 1.0, 2.0], n) if seed % 3 == 0 else np.ones(n)
    weight[0] = 1.0
    status = np.where(event == 1, rng.integers(1, 3, n), 0)
    s = rng.choice(["u", "v"], n)
    x = rng.normal(size=n).round(2)
    if seed % 7 == 0:  # covariate levels far apart between strata: x beta spans far past 709
        x = x * 50 + np.where(s == "u", 800.0, -800.0)
    return pd.DataFrame({"time": time, "event": event, "group": group, "weight": weight,
                         "status": status, "x": x, "s": s})


def _quietly(fn):
    """Run ``fn`` with every warning an error; documented refusals return None."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            return fn()
        except np.linalg.LinAlgError:  # a ValueError too, but never a documented refusal
            raise
        except ValueError:
            return None


@pytest.mark.parametrize("seed", SEEDS)
def test_survival_entry_points_never_warn_or_crash(seed: int) -> None:
    d = _data(seed)
    t, e, g, w = d["time"], d["event"], d["group"], d["weight"]
    km = _quietly(lambda: stats.kaplan_meier(t, e, weights=w))
    if km is not None:
        for conf_type in ("log-log", "log", "plain"):
            _quietly(lambda ct=conf_type: stats.kaplan_meier(t, e, conf_type=ct).median())
        _quietly(lambda: km.at([0.0, 1.5, 100.0]))
        _quietly(lambda: km.quantile())
        _quietly(lambda: km.rmst(5.0))
    _quietly(lambda: stats.kaplan_meier_by_group(t, e, g))
    _quietly(lambda: stats.reverse_km_followup(t, e))
    _quietly(lambda: stats.logrank_test(t, e, g))
    _quietly(lambda: stats.logrank_test(t, e, g, rho=1, strata=d["s"]))
    pw = _quietly(lambda: stats.pairwise_logrank(t, e, g, adjust="holm"))
    if pw is not None:
        ok = pw["p_value"].notna()
        assert (pw.loc[ok, "df"] >= 1).all()  # a pair is tested or NaN, never df < 1
    _quietly(lambda: stats.cumulative_incidence(t, d["status"], group=g))
    for cause in (1, 2):
        _quietly(lambda c=cause: stats.gray_test(t, d["status"], g, cause=c))


@pytest.mark.parametrize("seed", SEEDS)
def test_cox_never_crashes_and_warns_only_about_infinite_coefficients(seed: int) -> None:
    d = _data(seed)
    for ties in ("efron", "breslow"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                fit = stats.cox_ph(d, "time", "event", ["x"], ties=ties, weights="weight",
                                   strata="s" if seed % 2 else None, robust=seed % 4 == 1)
            except np.linalg.LinAlgError:
                raise
            except ValueError:
                continue
        for w in caught:
            assert issubclass(w.category, RuntimeWarning) and str(w.message).startswith(
                "Cox model"), str(w.message)
        assert np.isfinite(fit.loglik) and np.isfinite(fit.loglik_null)
        assert fit.loglik >= fit.loglik_null - 1e-9 * abs(fit.loglik_null)
        assert np.isfinite(fit.likelihood_ratio_test.statistic)
        assert fit.converged == (len(caught) == 0)
