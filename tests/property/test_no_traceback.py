"""Property-based: whatever the bytes, cells or TOML, only ``InputError`` escapes.

Readers (CSV bytes, workbooks built with openpyxl, Parquet), validation and the plan and
mapping readers are fed generated inputs; each call must return or raise ``InputError``. The
runs are deterministic (``derandomize=True``) and bounded (``max_examples``), so CI is stable.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from poems_cohort.cohort import Cohort, load_cohort
from poems_cohort.cohort.readers import read_mapping
from poems_cohort.errors import InputError
from poems_cohort.study.plan import AnalysisPlan, load_plan

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "ten-patients"
BOUNDED = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

with (EXAMPLE / "patients.csv").open(newline="", encoding="utf-8") as handle:
    _ROWS = list(csv.reader(handle))
HEADER, BODY = _ROWS[0], _ROWS[1:4]

TRICKY_VALUES = (
    "", " ", "NA", "nan", "inf", "-0", "1e300", "1e-300", "1e-400", "4_820", "4,820", "٤٢",
    "４２", "2013-02-30", "٢٠١٣-٠٣-١٢", "0000-01-01", "9999-12-31", "2013-03-12T00:00",
    "P01", "p01", "Ｐ０１", "P0\u200b1", "P\x001", "a\nb", "\"", "=1+1", "$x$", "ASCT", "ldex",
    "yes", "maybe", "12", "13", "-1", "4.5", "\ufeff", "\r", "λ", "\U0001F600",
)
TRICKY = st.sampled_from(TRICKY_VALUES)
CELL = st.one_of(TRICKY, st.text(max_size=12))


def _only_input_errors(call) -> None:
    try:
        result = call()
    except InputError as exc:
        assert exc.problems, "an InputError names at least one problem"
        for problem in exc.problems:
            str(problem)  # every problem prints
        return
    assert isinstance(result, Cohort | AnalysisPlan | tuple)


def _csv_text(rows: list[list[str]], header: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, *rows])
    return out.getvalue()


@st.composite
def edited_rows(draw: st.DrawFn) -> list[list[str]]:
    rows = [list(r) for r in BODY]
    for _ in range(draw(st.integers(1, 6))):
        r = draw(st.integers(0, len(rows) - 1))
        c = draw(st.integers(0, len(HEADER) - 1))
        rows[r][c] = draw(CELL)
    return rows


@BOUNDED
@given(rows=edited_rows())
def test_csv_cells(rows):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "patients.csv"
        path.write_text(_csv_text(rows, HEADER), encoding="utf-8")
        _only_input_errors(lambda: load_cohort(path))


@pytest.mark.parametrize("column", HEADER)
def test_every_tricky_value_in_every_column(column, tmp_path):
    """Not random: each tricky value once in ``column`` (one row each), the rest valid."""
    at = HEADER.index(column)
    rows = []
    for i, value in enumerate(TRICKY_VALUES):
        row = list(BODY[i % len(BODY)])
        row[0] = f"T{i:03d}"
        row[at] = value
        rows.append(row)
    path = tmp_path / "patients.csv"
    path.write_text(_csv_text(rows, HEADER), encoding="utf-8")
    _only_input_errors(lambda: load_cohort(path))


@BOUNDED
@given(data=st.binary(max_size=400), cut=st.integers(0, 2000))
def test_csv_bytes(data, cut):
    base = _csv_text(BODY, HEADER).encode()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "patients.csv"
        path.write_bytes(base[:cut] + data + base[cut:])
        _only_input_errors(lambda: load_cohort(path))
        path.write_bytes(data)
        _only_input_errors(lambda: load_cohort(path))


@BOUNDED
@given(header=st.lists(st.one_of(st.sampled_from(HEADER), st.text(max_size=8)), max_size=12),
       rows=st.lists(st.lists(CELL, max_size=14), max_size=4))
def test_csv_any_shape(header, rows):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "patients.csv"
        path.write_text(_csv_text(rows, header), encoding="utf-8")
        _only_input_errors(lambda: load_cohort(path))


EXCEL_VALUE = st.one_of(
    st.none(), CELL.map(lambda s: ILLEGAL_CHARACTERS_RE.sub("", s)),
    st.floats(allow_nan=False, allow_infinity=False), st.integers(-10**15, 10**15),
    st.booleans(), st.dates(dt.date(1800, 1, 1), dt.date(2200, 1, 1)),
    st.sampled_from(["=1/0", "=A1", "=DATE(2017,1,1)", "=NA()"]),
)


@BOUNDED
@given(cells=st.lists(st.tuples(st.integers(0, 2), st.integers(0, len(HEADER) - 1),
                                EXCEL_VALUE), min_size=1, max_size=6),
       merge=st.booleans(), sheet=st.sampled_from(["patients", "Patients", "data"]),
       visits=st.booleans())
def test_workbooks(cells, merge, sheet, visits):
    book = Workbook()
    ws = book.active
    ws.title = sheet
    ws.append(HEADER)
    for row in BODY:
        ws.append(row)
    for r, c, value in cells:
        ws.cell(row=r + 2, column=c + 1, value=value)
    if merge:
        ws.merge_cells("B3:C4")
    if visits:
        extra = book.create_sheet("visits")
        extra.append(["patient_id", "visit_date", "vegf_pg_ml"])
        extra.append(["P01", cells[0][2] if not isinstance(cells[0][2], bool) else None, 1])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cohort.xlsx"
        book.save(path)
        _only_input_errors(lambda: load_cohort(path))
        folder = Path(tmp) / "folder"
        folder.mkdir()
        (folder / "patients.xlsx").write_bytes(path.read_bytes())
        _only_input_errors(lambda: load_cohort(folder))


PARQUET_COLUMN = st.sampled_from(["text", "float", "int", "bool", "date", "list", "decimal",
                                  "null", "bytes", "timestamp"])


def _parquet_values(kind: str, draw: st.DrawFn, n: int) -> list[object]:
    if kind == "text":
        return [draw(CELL) for _ in range(n)]
    if kind == "float":
        return [draw(st.floats()) for _ in range(n)]
    if kind == "int":
        return [draw(st.integers(-2**63, 2**63 - 1)) for _ in range(n)]
    if kind == "bool":
        return [draw(st.booleans()) for _ in range(n)]
    if kind == "date":
        return [draw(st.dates()) for _ in range(n)]
    if kind == "timestamp":
        return [pd.Timestamp(draw(st.datetimes(dt.datetime(1700, 1, 1),
                                               dt.datetime(2260, 1, 1)))) for _ in range(n)]
    if kind == "list":
        return [draw(st.lists(st.text(max_size=3), max_size=2)) for _ in range(n)]
    if kind == "decimal":
        return [draw(st.decimals(-10**6, 10**6, places=3, allow_nan=False)) for _ in range(n)]
    if kind == "bytes":
        return [draw(st.binary(max_size=4)) for _ in range(n)]
    return [None] * n


@BOUNDED
@given(data=st.data())
def test_parquet(data):
    frame = pd.DataFrame(BODY, columns=HEADER)
    for name in data.draw(st.lists(st.sampled_from(HEADER), max_size=4, unique=True)):
        kind = data.draw(PARQUET_COLUMN)
        frame[name] = pd.Series(_parquet_values(kind, data.draw, len(frame)), dtype=object)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "patients.parquet"
        try:
            frame.to_parquet(path, index=False)
        except Exception:  # a mixture pyarrow cannot store is not an input we can get
            return
        _only_input_errors(lambda: load_cohort(path))


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | decimal.Decimal):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string (\uXXXX escapes)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    return str(value)


TOML_SCALAR = st.one_of(
    st.integers(-10**30, 10**30), st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(), CELL, st.sampled_from(["inf", "nan", "1979-05-27", "all", "low"]),
)
TOML_VALUE = st.recursive(TOML_SCALAR, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(["all", "low", "high", "x"]),
                                                 inner, max_size=3)), max_leaves=10)
PLAN_KEYS = ["regimens", "reference", "subgroups", "figure_subgroups",
             "response_landmarks_months", "survival_landmark_months", "cutoff", "test_policy",
             "confidence_level", "proportion_ci", "risk_table_step_months",
             "supplementary_subgroup", "unknown"]


@BOUNDED
@given(values=st.dictionaries(st.sampled_from(PLAN_KEYS), TOML_VALUE, max_size=5),
       raw=st.one_of(st.none(), st.text(max_size=60)), bom=st.booleans())
def test_plan_and_mapping_files(values, raw, bom):
    text = raw if raw is not None else "".join(
        f"{json.dumps(k)} = {_toml_value(v)}\n" for k, v in values.items())
    data = ("\ufeff" if bom else "") + text
    with tempfile.TemporaryDirectory() as tmp:
        plan = Path(tmp) / "plan.toml"
        plan.write_text(data, encoding="utf-8", errors="surrogatepass")
        _only_input_errors(lambda: load_plan(plan))
        mapping = Path(tmp) / "map.toml"
        mapping.write_bytes(plan.read_bytes())
        _only_input_errors(lambda: read_mapping(mapping))
        _only_input_errors(lambda: load_cohort(EXAMPLE, mapping=mapping))


@pytest.mark.parametrize("depth", [10, 300, 5_000, 50_000])
def test_deep_toml(depth, tmp_path):
    plan = tmp_path / "plan.toml"
    plan.write_text("regimens = " + "[" * depth + "]" * depth + "\n", encoding="utf-8")
    _only_input_errors(lambda: load_plan(plan))


NATIVE = st.one_of(
    st.none(), st.just(float("nan")), st.just(pd.NaT), st.just(pd.NA), st.floats(),
    st.integers(-10**400, 10**400), st.booleans(), st.binary(max_size=3),
    st.decimals(allow_nan=True, allow_infinity=True), st.just(decimal.Decimal("sNaN")),
    st.dates(), st.datetimes(timezones=st.sampled_from([None, dt.UTC])),
    st.timedeltas(), st.complex_numbers(), st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2), st.text(max_size=6),
    st.sampled_from([np.float64("nan"), np.int64(7), np.datetime64("NaT"),
                     np.datetime64("2013-03-12"), np.array([1.0]), np.array([])]),
)


@BOUNDED
@given(data=st.data())
def test_validation_of_native_values(data):
    """What a library user (or SPSS/Parquet) may hand to validation: any Python value."""
    from poems_cohort.cohort import validate_cohort
    from poems_cohort.cohort.readers import RawCohort, RawTable

    frame = pd.DataFrame(BODY, columns=HEADER, index=[2, 3, 4], dtype=object)
    for name in data.draw(st.lists(st.sampled_from(HEADER), min_size=1, max_size=4,
                                   unique=True)):
        frame[name] = pd.Series([data.draw(NATIVE) for _ in range(3)], index=frame.index,
                                dtype=object)
    raw = RawCohort(Path("memory"), RawTable("memory", frame, {h: h for h in HEADER}), None)
    _only_input_errors(lambda: validate_cohort(raw))


NATIVE_VALUES = (
    None, float("nan"), pd.NaT, pd.NA, float("inf"), 10**400, -(10**400), 2**70, True,
    b"x", decimal.Decimal("NaN"), decimal.Decimal("sNaN"), decimal.Decimal("Infinity"),
    decimal.Decimal("1e400"), decimal.Decimal("7.25"), dt.date(1, 1, 1),
    dt.datetime(2013, 1, 1, tzinfo=dt.UTC), dt.datetime(9999, 1, 1),
    dt.timedelta(1), dt.time(1), 1 + 2j, [1], {"a": 1}, np.float64("nan"), np.int64(7),
    np.datetime64("NaT"), np.datetime64("2013-03-12"), np.datetime64("2500-01-01"),
    np.array([1.0]), np.array([]), pd.Timestamp("2013-01-01", tz="Europe/Paris"),
    pd.Timedelta(1),
)


@pytest.mark.parametrize("column", HEADER)
def test_every_native_value_in_every_column(column):
    """Not random: each native value once in ``column`` (one row each), the rest valid."""
    from poems_cohort.cohort import validate_cohort
    from poems_cohort.cohort.readers import RawCohort, RawTable

    rows = [list(BODY[i % len(BODY)]) for i in range(len(NATIVE_VALUES))]
    frame = pd.DataFrame(rows, columns=HEADER, index=range(2, len(rows) + 2), dtype=object)
    frame["patient_id"] = [f"T{i:03d}" for i in range(len(rows))]
    frame[column] = pd.Series(list(NATIVE_VALUES), index=frame.index, dtype=object)
    raw = RawCohort(Path("memory"), RawTable("memory", frame, {h: h for h in HEADER}), None)
    _only_input_errors(lambda: validate_cohort(raw))
