"""Median follow-up by reverse Kaplan–Meier against R and by hand.

R: ``summary(survfit(Surv(time, 1 - event) ~ 1, conf.type = ct))$table`` (default ct ``"log"``).
"""

from __future__ import annotations

import numpy as np
import pytest

from poems_cohort.stats import reverse_km_followup
from tests.reference_data import DATASETS, arr, load_csv, load_json


@pytest.mark.parametrize("ds", DATASETS)
def test_reverse_km_followup_matches_r(ds: str) -> None:
    spec = load_json(ds)["spec"]
    df = load_csv(ds)
    for group, r in load_json(ds)["followup"]["groups"].items():
        d = df if group == "all" else df[df[spec["group"]].astype(str) == group]
        for ct in ("log", "log-log"):
            res = reverse_km_followup(d[spec["time"]], d[spec["event"]], conf_type=ct)
            rr = r["reverse_km"][ct]
            np.testing.assert_allclose([res.estimate, res.lower, res.upper],
                                       arr([rr["median"], rr["lower"], rr["upper"]]),
                                       rtol=1e-12, equal_nan=True, err_msg=f"{ds}/{group}/{ct}")
        assert reverse_km_followup(d[spec["time"]], d[spec["event"]]).conf_type == "log"


def test_reverse_km_by_hand() -> None:
    # censored (alive) at 2, 4, 6, 8; deaths at 1, 3. Reverse KM: "events" at 2, 4, 6, 8 with
    # 5, 3, 2, 1 at risk (deaths at 1 and 3 leave the risk set): S = 4/5, 8/15, 4/15, 0.
    res = reverse_km_followup([1, 2, 3, 4, 6, 8], [1, 0, 1, 0, 0, 0])
    assert res.estimate == 6.0  # first time the reverse curve is below 1/2


def test_everyone_died_gives_not_reached() -> None:
    res = reverse_km_followup([1, 2, 3], [1, 1, 1])
    assert np.isnan(res.estimate) and np.isnan(res.lower) and np.isnan(res.upper)
    assert "not reached" in repr(res)


def test_bad_event_is_refused() -> None:
    with pytest.raises(ValueError, match=r"event: value .*2\.0.* at position 1"):
        reverse_km_followup([1, 2], [0, 2])
