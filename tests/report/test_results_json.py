"""``results.json`` is compact and stores curves at their step vertices, losing no step,
no number at risk at a step and no censored patient."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from poems_cohort.report.json_out import curve_vertices, results_json
from poems_cohort.workflow import run as run_pipeline
from tests.report.study_variants import km_frames

KEYS = ["endpoint", "by", "subgroup", "group"]


@pytest.fixture(scope="module")
def results():
    return run_pipeline(None, None).results


def test_results_json_is_one_compact_sorted_line(results):
    data = results_json(results, "text")
    assert data.endswith(b"\n") and data.count(b"\n") == 1
    doc = json.loads(data)
    again = json.dumps(doc, separators=(",", ":"), sort_keys=True, ensure_ascii=False,
                       allow_nan=False) + "\n"
    assert data == again.encode("utf-8")
    assert results_json(results, "text") == data


def _value_at(curve: pd.DataFrame, at: np.ndarray, start: float) -> np.ndarray:
    t = curve["time"].to_numpy(float)
    v = curve["value"].to_numpy(float)
    i = np.searchsorted(t, at, side="right") - 1
    return np.where(i >= 0, v[np.maximum(i, 0)], start)


def _check_lossless(full: pd.DataFrame, kept: pd.DataFrame) -> None:
    for key, part in full.groupby(KEYS, sort=False):
        mine = kept[(kept[KEYS] == pd.Series(key, index=KEYS)).all(axis=1)]
        probe = np.r_[part["time"].to_numpy(float), part["time"].to_numpy(float) + 1e-9]
        start = 0.0 if key[0] in ("CRH", "CRV") else 1.0
        np.testing.assert_array_equal(_value_at(mine, probe, start),
                                      _value_at(part, probe, start))
        assert mine["n_censor"].sum() == part["n_censor"].sum()
        assert mine["n_event"].sum() == part["n_event"].sum()
        assert mine["time"].iloc[-1] == part["time"].iloc[-1]  # the end of follow-up
        same = part.set_index("time").loc[mine["time"]]
        np.testing.assert_array_equal(same["n_risk"].to_numpy(), mine["n_risk"].to_numpy())
        np.testing.assert_array_equal(same["upper"].to_numpy(), mine["upper"].to_numpy())
        assert (mine["n_event"].iloc[:-1] > 0).all()


def test_bundled_curves_keep_every_step(results):
    for curves in (results.survival.curves, results.kinetics.curves):
        kept = curve_vertices(curves)
        assert len(kept) < len(curves)
        _check_lossless(curves, kept)
    doc = json.loads(results_json(results, "text"))
    assert len(doc["curves"]) == (len(curve_vertices(results.kinetics.curves))
                                  + len(curve_vertices(results.survival.curves)))


def _rows(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["group", "time", "n_risk", "n_event", "n_censor",
                                        "value"])
    frame.insert(0, "endpoint", "PFS")
    frame.insert(1, "by", "regimen")
    frame.insert(2, "subgroup", "all")
    frame["lower"] = frame["value"]
    frame["upper"] = frame["value"]
    return frame


def test_edge_cases_all_censored_group_of_one_event_at_zero_and_ties():
    curves = _rows([
        ("censored", 1.0, 3, 0, 1, 1.0), ("censored", 2.0, 2, 0, 2, 1.0),
        ("one", 5.0, 1, 1, 0, 0.0),
        ("zero", 0.0, 4, 1, 0, 0.75), ("zero", 1.0, 3, 0, 1, 0.75),
        ("zero", 3.0, 2, 2, 0, 0.0),  # tied events end the curve
        ("tail", 1.0, 3, 1, 1, 2 / 3), ("tail", 2.0, 1, 0, 1, 2 / 3),
    ])
    kept = curve_vertices(curves)
    by = {g: part for g, part in kept.groupby("group")}
    assert by["censored"][["time", "n_censor"]].values.tolist() == [[2.0, 3]]
    assert by["one"][["time", "n_event"]].values.tolist() == [[5.0, 1]]
    assert by["zero"][["time", "n_event", "n_censor"]].values.tolist() == [[0.0, 1, 0],
                                                                           [3.0, 2, 1]]
    assert by["tail"][["time", "n_censor"]].values.tolist() == [[1.0, 1], [2.0, 1]]
    _check_lossless(curves, kept)
    assert curve_vertices(curves.iloc[:0]).empty


def test_a_large_curve_keeps_one_row_per_event_time():
    curves, _ = km_frames(50_000, ["A", "B"], seed=7)
    kept = curve_vertices(curves)
    assert len(kept) == (curves["n_event"] > 0).sum() + 2 - (
        curves.groupby("group").tail(1)["n_event"] > 0).sum()
    _check_lossless(curves, kept)
