"""CRH/CRV counts derived from CRH and CRV: hand cases and the targets of the bundled cohort."""

from __future__ import annotations

from poems_cohort.synth.crh_crv import Cell, feasible
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


def test_targets_crh_crv_follow_from_crh_and_crv():
    for t in default_targets().regimens:
        for sg in ("low", "medium-high"):
            h, v, hv = (t.responses[(r, sg)] for r in ("crh", "crv", "crh_crv"))
            assert feasible(Cell(h.n, h.of), Cell(v.n, v.of), Cell(hv.n, hv.of))
            assert hv.of <= t.cell_size(sg)
