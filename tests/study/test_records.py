"""``records`` (the rows of results.json) converts column by column; its records are those of
:func:`plain` applied to every value of ``to_dict("records")``, whatever the column's kind."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from poems_cohort.study.results import plain, records


def _reference(frame: pd.DataFrame) -> list[dict]:
    return [{str(k): plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


FRAME = pd.DataFrame({
    "text": pd.Series(["a", None, "a", "b"], dtype="str"),
    "objects": [1, 1.0, True, None],  # equal values of different kinds stay apart
    "zeros": pd.Series([0.0, -0.0, np.nan, np.inf], dtype=object),
    "x": [0.0, -0.0, np.nan, -np.inf],
    "n": [1, 2, 3, 4],
    "big": np.array([2**62, 0, -1, 5], dtype=np.int64),
    "small": np.array([1.5, 2, 3, 4], dtype=np.float32),
    "ok": [True, False, True, False],
    "flag": pd.array([True, None, False, True], dtype="boolean"),
    "count": pd.array([1, None, 3, 4], dtype="Int64"),
    "day": pd.to_datetime(["2001-02-03", None, "2001-02-03", "2019-01-01"]),
    "empty": [None] * 4,
})


@pytest.mark.parametrize("columns", [list(FRAME.columns), ["x"], ["text", "day"]])
def test_records_are_plain_values_row_by_row(columns):
    frame = FRAME[columns]
    got = records(frame)
    want = _reference(frame)
    assert got == want
    # equal is not enough: 1, 1.0 and True are equal, as are 0.0 and -0.0
    for g, w in zip(got, want, strict=True):
        for key in w:
            assert type(g[key]) is type(w[key]), key
            if isinstance(w[key], float):
                assert math.copysign(1, g[key]) == math.copysign(1, w[key]), key


def test_records_of_an_empty_frame():
    assert records(FRAME.iloc[:0]) == []


def test_infinite_values_are_written_as_inf_strings_and_nan_as_null():
    """JSON has no infinity: an odds ratio of a table with a zero cell (R's fisher.test gives
    Inf) must not become null, which results.json reserves for missing."""
    got = records(FRAME[["x", "zeros"]])
    assert [r["x"] for r in got] == [0.0, -0.0, None, "-Inf"]
    assert [r["zeros"] for r in got] == [0.0, -0.0, None, "Inf"]
    assert plain(float("inf")) == "Inf" and plain(np.float64("-inf")) == "-Inf"
    assert plain(float("nan")) is None
