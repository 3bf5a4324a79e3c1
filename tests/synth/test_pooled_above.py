"""The layout whose pooled 3-year PFS lies above both risk subgroups (ASCT: 87.6 vs 83.7, 84.6)."""

from __future__ import annotations

import numpy as np

from poems_cohort.synth.km import km_at, prints_as
from poems_cohort.synth.pooled_above import applies, pooled_above_layout
from poems_cohort.synth.survival_times import _design_days
from poems_cohort.synth.targets import default_targets


def test_only_asct_pools_above_both_subgroups():
    assert [t.regimen for t in default_targets().regimens if applies(t)] == ["ASCT"]


def test_asct_layout_prints_all_six_rates_on_the_design_times():
    t = default_targets().regimen("ASCT")
    days = _design_days(t)
    layout = pooled_above_layout(t, days)
    assert layout is not None
    # the follow-up times are the design's: only who holds which time is chosen
    assert np.array_equal(np.sort(layout.days), np.sort(days))
    low = layout.low
    assert int(low.sum()) == t.risk["low"]
    pfs = np.where(layout.prog >= 0, np.minimum(layout.prog, layout.days), layout.days)
    pfs_event = (layout.prog >= 0) | layout.died
    for name, cell in (("all", np.ones(len(low), bool)), ("low", low), ("medium-high", ~low)):
        os_ = 100 * km_at(layout.days[cell], layout.died[cell])
        pfs_ = 100 * km_at(pfs[cell], pfs_event[cell])
        assert prints_as(os_, t.os_3y[name]), (name, os_)
        assert prints_as(pfs_, t.pfs_3y[name]), (name, pfs_)
    # independent recomputation of the pooled PFS with a plain product-limit loop
    s = 1.0
    for d in np.unique(pfs[pfs_event & (pfs <= 1095)]):
        s *= 1 - (pfs_event & (pfs == d)).sum() / (pfs >= d).sum()
    assert round(100 * s, 1) == 87.6
    # the treatment-related deaths are the two shortest times, medium-high risk
    assert layout.treatment_related.sum() == 2
    assert not low[layout.treatment_related].any()
    # low-risk events fall late, medium-high-risk progressions early
    low_events = pfs[low & pfs_event & (pfs <= 1095)]
    mh_prog = layout.prog[~low & (layout.prog >= 0)]
    assert np.median(low_events) > 2 * np.median(mh_prog)


def test_no_layout_when_the_subgroups_cannot_be_printed():
    t = default_targets().regimen("ASCT")
    days = _design_days(t)
    # everybody followed past 3 years and no room for censoring: nothing prints 87.6
    assert pooled_above_layout(t, np.full_like(days, 2000)) is None
