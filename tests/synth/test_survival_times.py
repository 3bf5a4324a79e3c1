"""Helpers of ``synth.survival_times``: the check that a draw's log-rank p-values fall on the
published side of 0.05."""

from __future__ import annotations

import numpy as np

from poems_cohort.synth import survival_times
from poems_cohort.synth.published import load_published


def _published_sides() -> list[bool]:
    """Whether each p that ``_logrank_sides_hold`` tests is published below 0.05, in its order."""
    published = load_published()
    ids = [f"table2.{endpoint}.{column}.{other}.p" for endpoint in ("pfs", "os")
           for column in ("all", "low", "medium_high") for other in ("MDex", "LDex")]
    return [published[i].numeric < 0.05 for i in ids + ["text.os.p"]]


def _cohort() -> tuple[np.ndarray, ...]:
    regimen = np.repeat(["ASCT", "MDex", "LDex"], 4)
    sub = np.tile(["low", "low", "medium-high", "medium-high"], 3)
    follow = np.arange(1, 13) * 100
    return regimen, sub, follow, np.zeros(12, bool), np.full(12, -1)


def test_a_test_that_cannot_be_computed_does_not_hold(monkeypatch) -> None:
    """Whichever p cannot be computed (NaN), published significant or not, the last (the text's
    three-regimen OS p) among them, the draw does not hold."""
    sides = _published_sides()
    assert not all(sides) and any(sides) and not sides[-1]
    for which in range(len(sides)):
        calls: list[int] = []

        def fake_p(time, event, group, which=which, calls=calls) -> float:
            k = len(calls)
            calls.append(k)
            if k == which:
                return float("nan")
            return 0.01 if sides[k] else 0.5

        monkeypatch.setattr(survival_times, "_logrank_p", fake_p)
        assert not survival_times._logrank_sides_hold(*_cohort()), which
        assert len(calls) == which + 1  # it stops at the first that does not hold


def test_every_p_on_its_published_side_holds_and_one_off_side_does_not(monkeypatch) -> None:
    sides = _published_sides()
    for flip in [None, *range(len(sides))]:
        calls: list[int] = []

        def fake_p(time, event, group, flip=flip, calls=calls) -> float:
            k = len(calls)
            calls.append(k)
            return 0.01 if sides[k] != (k == flip) else 0.5

        monkeypatch.setattr(survival_times, "_logrank_p", fake_p)
        assert survival_times._logrank_sides_hold(*_cohort()) == (flip is None), flip
        if flip is None:
            assert len(calls) == len(sides)  # every p was tested


def test_the_real_p_of_a_draw_without_events_is_nan() -> None:
    regimen, _, follow, died, _ = _cohort()
    assert np.isnan(survival_times._logrank_p(follow, died, regimen))
