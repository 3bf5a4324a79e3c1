"""The layout whose pooled 3-year PFS lies below the mix of its subgroups (LDex: 64.9 vs 59.0,
67.7)."""

from __future__ import annotations

import numpy as np
import pytest

from poems_cohort.synth.km import HORIZON_DAYS
from poems_cohort.synth.pooled_layout import applies, pooled_layout
from poems_cohort.synth.survival_search import largest_drop
from poems_cohort.synth.survival_times import _design_days, _rate_aims
from poems_cohort.synth.targets import default_targets


def _product_limit(time: np.ndarray, event: np.ndarray) -> float:
    """3-year survival by a plain product-limit loop (independent of the search's kernels)."""
    s = 1.0
    for d in np.unique(time[event & (time <= HORIZON_DAYS)]):
        s *= 1 - (event & (time == d)).sum() / (time >= d).sum()
    return 100 * s


@pytest.fixture(scope="module")
def ldex():
    t = default_targets().regimen("LDex")
    days = _design_days(t)
    return t, days, pooled_layout(t, days, _rate_aims(t))


def test_mdex_and_ldex_pool_below_the_mix_of_their_subgroups():
    assert [t.regimen for t in default_targets().regimens if applies(t)] == ["MDex", "LDex"]


def test_ldex_layout_prints_all_six_rates_on_the_design_times(ldex):
    t, days, layout = ldex
    assert layout is not None
    assert np.array_equal(layout.days, np.sort(days))  # only who holds which time is chosen
    low = layout.low
    assert int(low.sum()) == t.risk["low"]
    pfs = np.where(layout.prog >= 0, np.minimum(layout.prog, layout.days), layout.days)
    pfs_event = (layout.prog >= 0) | layout.died
    for name, cell in (("all", np.ones(len(low), bool)), ("low", low), ("medium-high", ~low)):
        assert round(_product_limit(pfs[cell], pfs_event[cell]), 1) == t.pfs_3y[name], name
        os_ = round(_product_limit(layout.days[cell], layout.died[cell]), 1)
        assert os_ == t.os_3y[name], name
        assert layout.rates[("pfs", name)] == pytest.approx(
            _product_limit(pfs[cell], pfs_event[cell]), abs=1e-9)
    # the pooled value lies below the size-weighted mix of the subgroups
    mix = (low.mean() * layout.rates[("pfs", "low")]
           + (~low).mean() * layout.rates[("pfs", "medium-high")])
    assert layout.rates[("pfs", "all")] < mix - 0.3


def test_ldex_layout_keeps_the_counts_and_has_no_odd_curve(ldex):
    t, _, layout = ldex
    assert layout is not None
    # deaths only up to 3 years here, within the regimen's total; no treatment-related death
    assert not layout.died[layout.days > HORIZON_DAYS].any()
    assert int(layout.died.sum()) <= t.deaths
    assert not layout.treatment_related.any()
    has = layout.prog >= 0
    assert int((has & ~layout.died).sum()) <= t.progressions_alive
    assert (layout.prog[has] < layout.days[has]).all()
    assert (layout.prog[has] <= HORIZON_DAYS).all()
    pfs = np.where(has, np.minimum(layout.prog, layout.days), layout.days)
    event = has | layout.died
    for cell in (layout.low, ~layout.low):
        assert largest_drop(pfs[cell], event[cell]) <= 12.0
        assert largest_drop(layout.days[cell], layout.died[cell]) <= 12.0


def test_no_layout_without_a_seed_or_with_treatment_related_deaths():
    targets = default_targets()
    mdex = targets.regimen("MDex")
    assert pooled_layout(mdex, _design_days(mdex), _rate_aims(mdex)) is None
    asct = targets.regimen("ASCT")
    assert pooled_layout(asct, _design_days(asct), _rate_aims(asct)) is None


def test_the_generator_lays_out_below_the_mix_only_when_asked(ldex, monkeypatch):
    from poems_cohort.synth import survival_times

    t, _, layout = ldex
    assert survival_times._constructed_layout(t) is None  # off: drawn subgroup by subgroup
    monkeypatch.setattr(survival_times, "CONSTRUCT_BELOW", True)
    built = survival_times._constructed_layout(t)
    assert built is not None and layout is not None
    # the same layout for every call (a fixed seed of its own, no draw from the cohort's stream)
    assert np.array_equal(built.low, layout.low) and np.array_equal(built.prog, layout.prog)
    assert survival_times._constructed_layout(default_targets().regimen("MDex")) is None


def test_mdex_low_risk_pfs_leaves_one_product_of_risk_sets():
    """docs/reproduction.md: 87.8 from 18 patients is 16/17 · 14/15 and nothing else, so the
    low-risk events of MDex come before the third low-risk censoring."""
    from poems_cohort.synth.km import km_values

    assert km_values(18, 0.8775, 0.8785) == [round(16 / 17 * 14 / 15, 10)]
    # two events at the first time (risk set 18) or after one censoring (17) do not print it
    assert not 0.8775 <= 16 / 18 < 0.8785 and not 0.8775 <= 15 / 17 < 0.8785
