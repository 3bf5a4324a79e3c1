"""The column-wise CSV writer (report/csv_arrow.py) writes the bytes ``to_csv`` writes, and
leaves to ``to_csv`` what it does not handle."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from poems_cohort.report import output
from poems_cohort.report.csv_arrow import column_text, csv_text, float_strings
from poems_cohort.report.output import csv_bytes, safe_csv

N = 12
NAN_PAYLOADS = np.array([0x7FF8000000000001, 0xFFF8000000000000] * (N // 2),
                        dtype=np.uint64).view(np.float64)

HANDLED = pd.DataFrame({
    "patient_id": [f"P-{i:03d}" for i in range(N)],
    "few": np.tile([0.0, 1.0, np.nan, -0.0], N // 4),
    "many": [0.1 + 0.2, 1e-05, 1.5e16, 1e16, 9999999999999998.0, 0.0001, -2.5, 1e-300,
             float("inf"), np.nan, 123456.789, 5e-324],
    "payloads": NAN_PAYLOADS,
    "count": np.arange(N, dtype=np.int64) * -7,
    "small": np.arange(N, dtype=np.uint8),
    "nullable": pd.array([1, None, -3, 2**62, 0, None] * 2, dtype="Int64"),
    "flag": [True, False] * (N // 2),
    "maybe": pd.array([True, None, False] * 4, dtype="boolean"),
    "text": ["a", None, "ünïcode ✓", "", float("nan"), "x y", "'=1", "tab\there",
             "semi;colon", "ASCT", "MDex", "LDex"],
    "str": pd.Series(["s", None] * (N // 2), dtype="str"),
    "arrow": pd.Series(["a", None, "b"] * 4, dtype="string[pyarrow]"),
    "python_string": pd.Series(["a", None, "b"] * 4, dtype="string[python]"),
    "blank": [None] * N,
    # categoricals (the t1_* yes/no columns: the integers 0 and 1, missing as code -1)
    "zero_one": pd.Categorical.from_codes(np.array([0, 1, -1] * 4, dtype=np.int8),
                                          categories=pd.Index([0, 1], dtype=np.int8)),
    "levels": pd.Categorical(["low", None, "high"] * 4, categories=["low", "high"]),
    "float_levels": pd.Categorical([0.5, np.nan, 1e-05] * 4),
})


def _to_csv(frame: pd.DataFrame, header: bool = True) -> bytes:
    return frame.to_csv(index=False, header=header, lineterminator="\n").encode("utf-8")


@pytest.mark.parametrize("header", [True, False])
def test_every_handled_kind_is_written_as_to_csv_writes_it(header):
    text = csv_text(HANDLED, header=header)
    assert text is not None  # the Arrow path, not the fallback
    assert text == _to_csv(HANDLED, header)
    assert b",-0.0," in text and b",1e-05," in text and b",1.5e+16," in text


def test_each_handled_column_on_its_own_beside_an_identifier():
    for name in HANDLED.columns[1:]:
        frame = HANDLED[["patient_id", name]]
        assert csv_text(frame, header=True) == _to_csv(frame), name


@pytest.mark.parametrize("column", [
    pd.to_datetime(["2001-02-03", None] * (N // 2)),           # dates: to_csv's format
    pd.to_timedelta([1, 2] * (N // 2), unit="D"),
    pd.Categorical(["a,b", "c"] * (N // 2)),                   # a category csv would quote
    ["a", 1] * (N // 2),                                        # objects of mixed kinds
    ["a,b", "c"] * (N // 2),                                    # csv would quote these …
    ['say "x"', "c"] * (N // 2),
    ["two\nlines", "c"] * (N // 2),
    ["carriage\rreturn", "c"] * (N // 2),                       # … Arrow refuses this one
    np.arange(N, dtype=np.float32),
    pd.array(np.arange(N, dtype=float), dtype="Float64"),
])
def test_what_only_to_csv_writes_is_left_to_it(column):
    frame = HANDLED[["patient_id"]].assign(other=column)
    assert csv_text(frame, header=True) is None


@pytest.mark.parametrize("frame", [HANDLED[["many"]], HANDLED.iloc[:0],
                                   HANDLED[["count", "count"]].set_axis(["a", "a"], axis=1),
                                   HANDLED[["count", "flag"]].set_axis([1, 2], axis=1)])
def test_one_column_no_rows_and_odd_headers_are_left_to_to_csv(frame):
    assert csv_text(frame, header=True) is None


def test_a_header_that_needs_quotes_is_quoted_as_to_csv_quotes_it():
    frame = HANDLED[["patient_id", "count"]].set_axis(["id, first", 'say "n"'], axis=1)
    assert csv_text(frame, header=True) == _to_csv(frame)


@pytest.mark.parametrize("chunk", [1, 5, 100_000])
@pytest.mark.parametrize("synthetic", [False, True])
def test_pieces_written_both_ways_join_into_the_cell_by_cell_csv(monkeypatch, chunk,
                                                                  synthetic):
    # one row holds a comma: its piece goes through to_csv, the others through Arrow
    frame = HANDLED.assign(text=[*HANDLED["text"][:7], "a,b", *HANDLED["text"][8:]],
                           risk=["=HYPERLINK()", "-x", "@y", "+1", "ok", "-2.5"] * 2)
    monkeypatch.setattr(output, "CSV_CHUNK_ROWS", chunk)
    calls: list[bool] = []
    real = output.csv_text

    def spy(part: pd.DataFrame, *, header: bool) -> bytes | None:
        text = real(part, header=header)
        calls.append(text is not None)
        return text

    monkeypatch.setattr(output, "csv_text", spy)
    reference = safe_csv(_to_csv(frame), synthetic=synthetic)
    assert csv_bytes(frame, synthetic=synthetic) == reference
    # one piece: to_csv writes it all; smaller pieces: only the one holding the comma
    assert calls == [False] if chunk == 100_000 else (any(calls) and not all(calls))


def test_integer_text_of_every_width_and_sign():
    values = np.array([np.iinfo(np.int64).min, -1, 0, 1, np.iinfo(np.int64).max])
    assert column_text(pd.Series(values)).to_pylist() == [str(v) for v in values]
    big = np.array([0, 2**64 - 1], dtype=np.uint64)
    assert column_text(pd.Series(big)).to_pylist() == ["0", str(2**64 - 1)]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=40),
       st.booleans())
def test_any_float_column_is_written_as_to_csv_writes_it(values, repeat):
    floats = np.array(values * (8 if repeat else 1), dtype=np.float64)  # few or many distinct
    frame = pd.DataFrame({"id": [str(i) for i in range(len(floats))], "x": floats})
    text = csv_text(frame, header=True)
    assert text is not None and text == _to_csv(frame)


def test_float_text_is_repr_inside_and_around_the_range_arrow_writes():
    rng = np.random.default_rng(3)
    scale = 10.0 ** rng.integers(-7, 18, 200_000)
    values = np.r_[rng.random(200_000) * scale * rng.choice([-1, 1], 200_000),
                   np.round(rng.random(50_000) * 1e6, 3), 1e-4, 9.999999999e8, 1e9,
                   999999999.5, 1e9 + 0.5, 0.5, -0.0, 0.0, 2.0**53, 1e16, 1e-5, 5e-324,
                   float("inf"), -float("inf"), float("nan"),
                   rng.integers(0, 2**63, 50_000, dtype=np.int64).view(np.float64)]
    assert float_strings(values).to_pylist() == list(map(repr, values.tolist()))
    assert values.astype(str).tolist() == list(map(repr, values.tolist()))  # what to_csv uses


def test_categorical_text_is_neutralised_like_any_text():
    """A category a spreadsheet would evaluate is written with its apostrophe, as the
    cell-by-cell path writes it, also when the neutralised text is another category."""
    for cats in (["=1+1", "ok"], ["=1", "'=1"]):
        frame = pd.DataFrame({"x": [1, 2, 3], "c": pd.Categorical([cats[0], cats[1], None],
                                                                  categories=cats)})
        assert csv_bytes(frame) == safe_csv(_to_csv(frame))
        assert b"'=1" in csv_bytes(frame)


def test_a_categorical_without_categories_is_written_blank():
    frame = pd.DataFrame({"x": [1, 2], "c": pd.Categorical([None, None])})
    assert csv_text(frame, header=True) == _to_csv(frame) == b"x,c\n1,\n2,\n"
