"""CRH/CRV counts derived from CRH and CRV: hand cases and the targets of the bundled cohort."""

from __future__ import annotations

from poems_cohort.synth.crh_crv import Cell, Layout, feasible, layout, reachable
from poems_cohort.synth.targets import default_targets


def test_feasible_hand_cases():
    # 4 evaluable for CRH, 3 for CRV, 5 for either: 2 evaluable for both
    h, v = Cell(2, 4), Cell(2, 3)
    assert feasible(h, v, Cell(3, 5))  # one responds to both
    assert feasible(h, v, Cell(4, 5))  # nobody responds to both
    assert not feasible(h, v, Cell(1, 5))  # fewer either-responders than CRH responders
    assert not feasible(h, v, Cell(3, 3))  # fewer either-evaluable than CRH evaluable
    assert not feasible(h, v, Cell(3, 8))  # more either-evaluable than the two together
    # CRH responders 4 of 4 and CRV 3 of 3 with 2 evaluable for both: both respond to both
    assert feasible(Cell(4, 4), Cell(3, 3), Cell(5, 5))
    assert not feasible(Cell(4, 4), Cell(3, 3), Cell(4, 5))


def test_both_or_responder_hand_cases():
    # CRH 1 of 2 evaluable, CRV 1 of 2, 3 patients: CRH/CRV evaluable = both + single responders
    h, v = Cell(1, 2), Cell(1, 2)
    cells = reachable(h, v, 3)
    # two evaluable for both (1 or 2 responders); or one evaluable for both (a responder to
    # both: 1/1) with a single responder (2/2), or two single responders around a
    # non-responding one (2/3)
    assert set(cells) == {Cell(1, 2), Cell(2, 2), Cell(1, 1), Cell(2, 3)}
    assert cells[Cell(2, 2)] == Layout(2, 0, 0, 0)        # the most patients evaluable for both
    assert cells[Cell(2, 3)] == Layout(1, 1, 1, 0)
    lay = layout(h, v, Cell(1, 1), 3)
    assert lay.both_ev == 1 and lay.overlap == 1
    # every cell's layout gives it back
    for cell, lay in reachable(Cell(3, 7), Cell(4, 6), 9).items():
        n_ev = lay.both_ev + lay.crh_only_responders + lay.crv_only_responders
        x, y = 3 - lay.crh_only_responders, 4 - lay.crv_only_responders
        assert cell == Cell(x + y - lay.overlap + lay.crh_only_responders
                            + lay.crv_only_responders, n_ev)


def test_targets_crh_crv_follow_from_crh_and_crv():
    """Under "both-or-responder" the solver's CRH/CRV counts of Table 2 fit CRH and CRV in all
    six cells, and the targets are those counts."""
    solver = {"MDex": {"low": (10, 13), "medium-high": (25, 47)},
              "ASCT": {"low": (49, 70), "medium-high": (64, 80)},
              "LDex": {"low": (14, 25), "medium-high": (47, 67)}}
    for t in default_targets().regimens:
        for sg in ("low", "medium-high"):
            h, v, hv = (t.responses[(r, sg)] for r in ("crh", "crv", "crh_crv"))
            assert (hv.n, hv.of) == solver[t.regimen][sg]
            assert Cell(hv.n, hv.of) in reachable(Cell(h.n, h.of), Cell(v.n, v.of),
                                                  t.cell_size(sg))


def test_the_direct_layout_agrees_with_the_enumeration():
    """``layout`` (linear) finds a layout exactly for the cells ``reachable`` (exhaustive) lists,
    and each gives its cell back."""
    from poems_cohort.synth.crh_crv import _exact_layout

    for h, v, size in ((Cell(3, 7), Cell(4, 6), 9), (Cell(7, 16), Cell(7, 12), 18),
                       (Cell(0, 3), Cell(2, 2), 5), (Cell(5, 5), Cell(0, 4), 6)):
        cells = reachable(h, v, size)
        for big_n in range(size + 1):
            for n in range(big_n + 1):
                lay = _exact_layout(h, v, Cell(n, big_n), size)
                assert (lay is not None) == (Cell(n, big_n) in cells), (h, v, n, big_n)
                if lay is not None:
                    single = lay.crh_only_responders + lay.crv_only_responders
                    x, y = h.n - lay.crh_only_responders, v.n - lay.crv_only_responders
                    assert lay.both_ev + single == big_n
                    assert x + y - lay.overlap + single == n
                    assert lay.both_ev == cells[Cell(n, big_n)].both_ev


def test_layout_of_a_large_scaled_cell_is_quick_and_near():
    lay = layout(Cell(2800, 6900), Cell(4100, 6600), Cell(4900, 7000), 7300)
    assert lay.both_ev + lay.crh_only_responders + lay.crv_only_responders == 7000
