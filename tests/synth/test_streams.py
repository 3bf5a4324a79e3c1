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
