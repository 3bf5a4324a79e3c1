"""The choice of the survival and visits streams (``synth.streams``), with a stand-in score."""

from __future__ import annotations

from poems_cohort.synth import streams
from poems_cohort.synth.generator import DEFAULT_SEED, STREAMS


def test_search_keeps_the_fewest_misses_then_the_most_exact(monkeypatch):
    table = {(0, 0): (30, 320), (1, 0): (28, 318), (2, 0): (28, 321), (2, 1): (28, 325),
             (2, 2): (27, 300)}
    calls = []

    def fake(seed, pair):
        calls.append((seed, pair))
        return table.get(pair, (99, 0))

    monkeypatch.setattr(streams, "score", fake)
    best = streams.search(7, 3)
    assert best == ((2, 2), (27, 300))
    # survival streams first (visits stream 0), then visits streams with the best survival one
    assert [p for _, p in calls] == [(0, 0), (1, 0), (2, 0), (2, 1), (2, 2)]
    assert {s for s, _ in calls} == {7}


def test_the_default_seed_has_its_recorded_streams():
    assert STREAMS[DEFAULT_SEED] == (3, 7)


def test_start_stream_zero_is_the_stream_itself_and_k_a_child_that_leaves_it_alone():
    import numpy as np
    import pytest

    from poems_cohort.synth.survival_times import start_stream

    rng = np.random.default_rng([DEFAULT_SEED, 1, 3])
    assert start_stream(rng, 0) is rng
    untouched = np.random.default_rng([DEFAULT_SEED, 1, 3]).random(4)
    draws = {k: start_stream(rng, k).random(4) for k in (1, 2, 3)}
    np.testing.assert_array_equal(rng.random(4), untouched)   # the parent is not advanced
    again = start_stream(np.random.default_rng([DEFAULT_SEED, 1, 3]), 2).random(4)
    np.testing.assert_array_equal(again, draws[2])            # deterministic
    assert len({tuple(d) for d in draws.values()} | {tuple(untouched)}) == 4   # all distinct
    other = start_stream(np.random.default_rng([DEFAULT_SEED, 1, 4]), 2).random(4)
    assert not np.array_equal(other, draws[2])                # a child of its own stream
    with pytest.raises(ValueError, match="start"):
        start_stream(rng, -1)
