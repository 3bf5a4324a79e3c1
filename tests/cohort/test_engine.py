"""The engine path (DuckDB) gives the pandas path's problems, visits and derived dataset.

Every case writes the same visits file and reads it twice: ``POEMS_COHORT_ENGINE=never`` (the
pandas path) and ``always`` (the engine), then compares the problems (byte for byte, in order),
the validated visits and the analysis dataset.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from poems_cohort.clinical.dataset import derive_analysis_dataset
from poems_cohort.clinical.responses import engine_response_dates, response_dates
from poems_cohort.clinical.settings import EndpointSettings
from poems_cohort.cohort import load_cohort, read_cohort
from poems_cohort.cohort.engine import ENGINE_ENV, VisitTable
from poems_cohort.cohort.readers import _read_raw
from poems_cohort.errors import InputError

EXAMPLE = Path(__file__).parents[2] / "examples" / "ten-patients"
GOOD = (EXAMPLE / "visits.csv").read_text()
HEADER = GOOD.splitlines()[0]


def _load(folder: Path, mode: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(ENGINE_ENV, mode)
    try:
        cohort = load_cohort(folder)
    except InputError as exc:
        return None, [str(p) for p in exc.problems]
    return cohort, [str(p) for p in cohort.warnings]


def _folder(tmp_path: Path, visits: str | None = None, parquet: pa.Table | None = None) -> Path:
    folder = tmp_path / "cohort"
    folder.mkdir()
    shutil.copy(EXAMPLE / "patients.csv", folder / "patients.csv")
    if parquet is not None:
        pq.write_table(parquet, folder / "visits.parquet")
    else:
        (folder / "visits.csv").write_bytes((visits or GOOD).encode())
    return folder


def _both(folder: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Both paths on ``folder``: equal problems, visits and datasets; the problems."""
    monkeypatch.setenv(ENGINE_ENV, "always")
    raw = read_cohort(folder)
    assert raw.visits is not None and raw.visits.engine is not None  # the engine read it
    pandas_cohort, pandas_problems = _load(folder, "never", monkeypatch)
    engine_cohort, engine_problems = _load(folder, "always", monkeypatch)
    assert engine_problems == pandas_problems
    assert (engine_cohort is None) == (pandas_cohort is None)
    if engine_cohort is not None and pandas_cohort is not None:
        assert engine_cohort.visits is not None and engine_cohort.visits.on_disk
        assert pandas_cohort.visits is not None and not pandas_cohort.visits.on_disk
        pd.testing.assert_frame_equal(engine_cohort.visits.to_frame(),
                                      pandas_cohort.visits.to_frame())
        pd.testing.assert_frame_equal(derive_analysis_dataset(engine_cohort),
                                      derive_analysis_dataset(pandas_cohort))
    return engine_problems


def _with(*lines: str, header: str = HEADER) -> str:
    body = GOOD.splitlines()[1:]
    return "\n".join([header, *body, *lines]) + "\n"


def test_good_file_same_cohort(tmp_path, monkeypatch):
    assert _both(_folder(tmp_path), monkeypatch) == []


CASES = {
    "bad numbers": _with("P01,2014-06-01,negative,negative,12.0,30,4 820,2",
                         "P01,2014-07-01,negative,negative,12 mg,30,420,2",
                         "P01,2014-08-01,negative,negative,12.0,30,inf,2",
                         "P01,2014-09-01,negative,negative,1e1,4_0,420,2"),
    "odd but valid numbers": _with("P01,2014-06-01,negative,negative, 12.50 ,+30,4.2e2,NA",
                                   "P01,2014-07-01,negative,negative,.5,30.,NaN,n/a"),
    "non-ASCII digits": _with("P01,2014-06-01,negative,negative,١٢,30,٤٢٠,2",
                              "P01,2014-07-01,negative,negative,１２,30,420,2"),
    "bad dates": _with("P01,2014-02-30,negative,negative,12.0,30,420,2",
                       "P01,01/06/2014,negative,negative,12.0,30,420,2",
                       "P01,1899-06-01,negative,negative,12.0,30,420,2",
                       "P01,2014-06-02 00:00,negative,negative,12.0,30,420,2",
                       "P01,２０１４-06-03,negative,negative,12.0,30,420,2"),
    "formula-like and odd categories": _with("P01,2014-06-01,=SUM(A1),NEG,12.0,30,420,2",
                                             "P01,2014-07-01,+,-,12.0,30,420,2",
                                             "P01,2014-08-01,equivocal,Negative ,12.0,30,420,2"),
    "unknown patients and odd identifiers": _with("P99,2014-06-01,negative,negative,12,30,420,2",
                                                  " P01 ,2014-07-01,negative,negative,12,30,420,2",
                                                  "na,2014-08-01,negative,negative,12,30,420,2",
                                                  "p01,2014-09-01,negative,negative,12,30,420,2"),
    "dates out of order": _with("P02,2019-06-01,negative,negative,12,30,420,1",
                                "P01,2012-01-01,negative,negative,12,30,420,2",
                                "P03,2018-12-01,negative,negative,12,30,420,2"),
    "duplicates": _with("P01,2013-09-11,positive,positive,13.5,35,2410,2",
                        "P01,2013-09-11,negative,negative,13.5,35,2410,2"),
    "missing values and blank rows": _with(",2014-06-01,negative,negative,12,30,420,2",
                                           "P01,,negative,negative,12,30,420,2",
                                           ",,,,,,,", "   ,  ,,,,,, ",
                                           "P01,2014-10-01,,,,,,"),
    "ranges and whole numbers": _with("P01,2014-06-01,negative,negative,-1,30,420,2.5",
                                      "P01,2014-07-01,negative,negative,12,30,60000,13"),
    "some columns only": "patient_id,visit_date,vegf_pg_ml\nP01,2013-06-11,3615\n"
                         "P01,2014-03-12,150\nP02,2015-03-03,\n",
    "renamed and unknown columns": "ID,date,VEGF,notes\nP01,2013-06-11,3615,x\n"
                                   "P01,2014-03-12,150,\n",
    "CRLF and BOM": "\ufeff" + GOOD.replace("\n", "\r\n"),
    # whether a column holds a value: cells converted in SQL, cells read by Python that give a
    # value (padded numbers, a category's spelling) and cells that give none (missing words)
    "columns with and without values": "patient_id,visit_date,serum_ife,urine_ife,vegf_pg_ml,"
                                       "onls\nP01,2013-06-11,n/a,,NA, 3 \n"
                                       "P01,2014-03-12,,Negative ,nan,2.0\n"
                                       "P02,2015-03-03,NA,,,\n",
    "only missing words": "patient_id,visit_date,serum_ife,vegf_pg_ml,onls\n"
                          "P01,2013-06-11,n/a,NA,\nP02,2015-03-03,NA,N/A,\n",
}


@pytest.mark.parametrize("name", list(CASES))
def test_same_problems_and_datasets(name, tmp_path, monkeypatch):
    problems = _both(_folder(tmp_path, CASES[name]), monkeypatch)
    if name not in ("CRLF and BOM", "odd but valid numbers"):
        assert problems, name  # each broken file has something to say


def test_visit_problems_are_the_users_cells(tmp_path, monkeypatch):
    problems = _both(_folder(tmp_path, CASES["bad numbers"]), monkeypatch)
    assert any("row 33" in p and "'12 mg'" in p for p in problems)


def test_files_the_engine_cannot_read_plainly_fall_back(tmp_path, monkeypatch):
    monkeypatch.setenv(ENGINE_ENV, "always")
    for text in (_with('P01,2014-06-01,"negative",negative,12,30,420,2'),  # quoted
                 _with("", "P01,2014-06-01,negative,negative,12,30,420,2"),  # a blank line
                 _with("P01,2014-06-01,negative"),  # a short line
                 _with("P01,2014-06-01,neg\rative,negative,12,30,420,2"),  # a bare CR
                 HEADER + "\n"):  # no rows
        folder = tmp_path / f"f{abs(hash(text))}"
        folder.mkdir()
        shutil.copy(EXAMPLE / "patients.csv", folder / "patients.csv")
        (folder / "visits.csv").write_text(text)
        raw, _ = _read_raw(folder, None)
        assert raw.visits is None or raw.visits.engine is None
        _, engine = _load(folder, "always", monkeypatch)
        _, pandas = _load(folder, "never", monkeypatch)
        assert engine == pandas


def _parquet(values: dict[str, list[object]]) -> pa.Table:
    return pa.table(values)


def test_parquet_typed_columns(tmp_path, monkeypatch):
    import datetime as dt

    table = pa.table({
        "patient_id": ["P01", "P01", "P99", "P02", "P01"],
        "visit_date": pa.array([dt.date(2013, 6, 11), dt.date(2014, 3, 12), dt.date(2014, 3, 12),
                                dt.date(1890, 1, 1), None], pa.date32()),
        "serum_ife": ["positive", "negative", "neg", None, "x"],
        "urine_ife": [None, "negative", "negative", "positive", "negative"],
        "vegf_pg_ml": [3615.0, float("nan"), float("inf"), 150.0, 1e6],
        "onls": [3.0, 2.0, 1.5, 14.0, None],
    })
    problems = _both(_folder(tmp_path, parquet=table), monkeypatch)
    assert problems


def test_parquet_good(tmp_path, monkeypatch):
    import datetime as dt

    table = pa.table({
        "patient_id": ["P01", "P01", "P02"],
        "visit_date": pa.array([dt.date(2013, 6, 11), dt.date(2014, 3, 12),
                                dt.date(2015, 3, 3)], pa.date32()),
        "serum_ife": ["positive", "negative", "positive"],
        "urine_ife": [None, "negative", "positive"],
        "vegf_pg_ml": [3615.0, 150.0, None],
        "onls": [3.0, 2.0, 1.0],
    })
    assert _both(_folder(tmp_path, parquet=table), monkeypatch) == []


def test_a_parquet_file_converted_in_sql_is_read_in_place(tmp_path, monkeypatch):
    """No typed copy of a plain Parquet visits file: the handle is a query of the user's file
    (a CSV file's typed visits are written once, as Parquet in the temporary folder)."""
    import datetime as dt

    table = pa.table({
        "patient_id": ["P01", "P01", "P02"],
        "visit_date": pa.array([dt.date(2013, 6, 11), dt.date(2014, 3, 12),
                                dt.date(2015, 3, 3)], pa.date32()),
        "serum_ife": ["positive", "Negative", "positive"],
        "vegf_pg_ml": [3615.0, 150.0, None],
    })
    folder = _folder(tmp_path, parquet=table)
    monkeypatch.setenv(ENGINE_ENV, "always")
    visits = load_cohort(folder).visits
    assert visits is not None and visits.spill is not None
    assert visits.query is not None and visits.parquet is None and len(visits) == 3
    assert not list(visits.spill.path.glob("typed-*.parquet"))
    frame = visits.to_frame()
    assert frame["serum_ife"].tolist() == ["positive", "negative", "positive"]
    assert frame["vegf_pg_ml"].isna().tolist() == [False, False, True]
    part = visits.subset(["P02"])
    assert part.on_disk and part.to_frame()["patient_id"].tolist() == ["P02"]
    (tmp_path / "csv").mkdir()
    csv_visits = load_cohort(_folder(tmp_path / "csv")).visits
    assert csv_visits is not None and csv_visits.parquet is not None
    assert csv_visits.query is None and csv_visits.parquet.is_file()


def test_subset_keeps_the_visits_of_the_patients(tmp_path, monkeypatch):
    monkeypatch.setenv(ENGINE_ENV, "always")
    cohort = load_cohort(_folder(tmp_path))
    part = cohort.subset(["P02", "P09"])
    assert part.visits is not None and part.visits.on_disk
    frame = part.visits.to_frame()
    assert set(frame["patient_id"]) == {"P02", "P09"} and len(part.visits) == len(frame) == 6
    monkeypatch.setenv(ENGINE_ENV, "never")
    expected = load_cohort(tmp_path / "cohort").subset(["P02", "P09"]).visits
    assert expected is not None
    pd.testing.assert_frame_equal(frame, expected.to_frame())


def test_the_temporary_folder_is_removed(tmp_path, monkeypatch):
    import gc

    monkeypatch.setenv(ENGINE_ENV, "always")
    cohort = load_cohort(_folder(tmp_path))
    assert cohort.visits is not None and cohort.visits.spill is not None
    folder = cohort.visits.spill.path
    assert folder.is_dir() and not folder.is_relative_to(tmp_path)
    del cohort
    gc.collect()
    assert not folder.exists()
    assert sorted(p.name for p in (tmp_path / "cohort").iterdir()) == ["patients.csv",
                                                                      "visits.csv"]


@pytest.mark.parametrize("block", [None, 1, 2])
@pytest.mark.parametrize("cutoff", ["2018-08-31", "2015-06-01"])
def test_grouped_query_equals_pandas_derivation(cutoff, block, tmp_path, monkeypatch):
    """Edge cases of the criteria: zero chains, one chain, no chains, ONLS without baseline;
    the same in passes over blocks of one or two patients (as a registry is derived)."""
    from poems_cohort.cohort import engine

    monkeypatch.setenv(ENGINE_ENV, "never")
    if block is not None:
        monkeypatch.setattr(engine, "RESPONSE_BLOCK_PATIENTS", block)
    patients = load_cohort(EXAMPLE).patients.copy()
    patients.loc[1, "onls"] = float("nan")
    visits = pd.DataFrame({
        "patient_id": ["P01"] * 6 + ["P02"] * 3 + ["P03", "P77"],
        "visit_date": pd.to_datetime(["2013-06-11", "2013-09-11", "2014-03-12", "2015-01-01",
                                      "2016-01-01", "2017-01-01", "2014-12-01", "2015-03-03",
                                      "2019-01-01", "2015-01-20", "2016-01-01"]),
        "serum_ife": ["negative", "negative", "negative", "negative", "positive", None,
                      "negative", "negative", "negative", "negative", "negative"],
        "urine_ife": ["negative", "negative", "negative", None, "negative", "negative",
                      "negative", "negative", "negative", "negative", "negative"],
        "flc_kappa_mg_l": [0.0, 5.0, 10.0, None, 1.0, 2.0, None, 10.0, 10.0, 10.0, 10.0],
        "flc_lambda_mg_l": [0.0, 0.0, 20.0, None, 1.0, 2.0, 30.0, 40.0, 10.0, 10.0, 10.0],
        "vegf_pg_ml": [100.0, None, 1000.0, 50.0, 5000.0, None, 10.0, None, 1.0, 1.0, 1.0],
        "onls": [3.0, 2.0, None, 1.0, 0.0, 5.0, 0.0, 1.0, 0.0, 0.0, 0.0],
    })
    settings = EndpointSettings(cutoff=pd.Timestamp(cutoff))
    expected = response_dates(patients, visits, settings)
    table = VisitTable.from_frame(visits)
    got = engine_response_dates(patients, table, settings)
    # the engine's result is aligned on the patients (their index and order, NaT for a patient
    # without a usable visit), the pandas one indexed by the identifiers that have one
    assert got.index.equals(patients.index)
    aligned = expected.astype("datetime64[ns]").reindex(patients["patient_id"].to_numpy())
    pd.testing.assert_frame_equal(got.set_axis(patients.index), aligned.set_axis(patients.index),
                                  check_names=False)
    assert got.notna().any().any() and got.isna().all(axis=1).any()


PATIENTS = (EXAMPLE / "patients.csv").read_text()


def _patients_with(tmp_path: Path, edit) -> Path:
    """The example with its patients table edited cell by cell (``edit(rows)`` in place)."""
    lines = PATIENTS.splitlines()
    rows = [line.split(",") for line in lines]
    edit(rows)
    folder = tmp_path / "cohort"
    folder.mkdir()
    (folder / "patients.csv").write_text("\n".join(",".join(r) for r in rows) + "\n")
    shutil.copy(EXAMPLE / "visits.csv", folder / "visits.csv")
    return folder


def _set(rows: list[list[str]], row: int, column: str, value: str) -> None:
    rows[row][rows[0].index(column)] = value


def _broken_patients(rows: list[list[str]]) -> None:
    _set(rows, 1, "age", "sixty")
    _set(rows, 2, "age", "١٢")
    _set(rows, 3, "treatment_start", "2015-02-30")
    _set(rows, 4, "regimen", "auto-SCT")  # a built-in alias
    _set(rows, 5, "regimen", "=A1")
    _set(rows, 6, "sex", "x")
    _set(rows, 7, "patient_id", "P01")  # a duplicate
    _set(rows, 8, "patient_id", "p01")  # the same identifier in another case
    _set(rows, 9, "hepatomegaly", "maybe")
    _set(rows, 10, "albumin_g_l", " 35.5 ")
    rows.append([""] * len(rows[0]))  # a blank row is no row


def test_patients_same_problems_through_both_paths(tmp_path, monkeypatch):
    folder = _patients_with(tmp_path, _broken_patients)
    monkeypatch.setenv(ENGINE_ENV, "always")
    raw, _ = _read_raw(folder, None)
    assert raw.patients is not None and raw.patients.engine is not None
    _, engine = _load(folder, "always", monkeypatch)
    _, pandas = _load(folder, "never", monkeypatch)
    assert engine == pandas
    assert len(engine) >= 8


def _out_of_range_patients(rows: list[list[str]]) -> None:
    _set(rows, 1, "onls", "2.5")  # not a whole number, and in the same row:
    _set(rows, 1, "age", "250")  # out of range
    _set(rows, 2, "onls", "30")
    _set(rows, 2, "egfr", "-3")
    _set(rows, 3, "heavy_chain", "IgX")
    _set(rows, 3, "light_chain", "Lambda")  # a spelling of an allowed value
    _set(rows, 4, "vegf_pg_ml", "0")


def test_patients_range_checks_through_both_paths(tmp_path, monkeypatch):
    """The range, whole-number and category checks (NumPy on the engine's table, the schema
    on the pandas path): the same problems in the same order."""
    folder = _patients_with(tmp_path, _out_of_range_patients)
    _, engine = _load(folder, "always", monkeypatch)
    _, pandas = _load(folder, "never", monkeypatch)
    assert engine == pandas
    errors = [p for p in engine if "row 2," in p or "row 3," in p or "row 4," in p]
    assert len(errors) >= 5, engine


def test_patients_same_cohort_through_both_paths(tmp_path, monkeypatch):
    folder = _patients_with(tmp_path, lambda rows: _set(rows, 4, "regimen", "auto-SCT"))
    engine_cohort, engine = _load(folder, "always", monkeypatch)
    pandas_cohort, pandas = _load(folder, "never", monkeypatch)
    assert engine == pandas and engine_cohort is not None and pandas_cohort is not None
    pd.testing.assert_frame_equal(engine_cohort.patients, pandas_cohort.patients)
    assert engine_cohort.absent_columns == pandas_cohort.absent_columns


def test_memory_limit_threads_and_spill_folder(monkeypatch):
    from poems_cohort.cohort.engine import MEMORY_ENV, SpillDir, connect

    spill = SpillDir()
    monkeypatch.setenv(MEMORY_ENV, "300MB")
    con = connect(spill)
    try:
        limit, threads, temp = con.execute(
            "SELECT current_setting('memory_limit'), current_setting('threads'), "
            "current_setting('temp_directory')").fetchall()[0]
    finally:
        con.close()
    assert limit.startswith("286") or "300" in limit  # DuckDB shows MiB
    assert int(threads) >= 1
    assert Path(temp).parent == spill.path


def test_many_distinct_cells_for_python_are_joined_in_file_order(tmp_path, monkeypatch):
    """More distinct non-strict cells than fit a CASE lookup (exponent-form numbers, padded
    identifiers, a few bad ones): the joined lookup keeps the rows in the file's order."""
    lines = []
    for i in range(400):
        pid = f" P0{1 + i % 9} " if i % 3 else f"P0{1 + i % 9}"
        vegf = f"{i + 1}e0" if i % 50 else f"{i} pg"
        lines.append(f"{pid},20{10 + i % 8}-0{1 + i % 9}-1{i % 10},negative,negative,"
                     f"12,30,{vegf},{i % 5}")
    problems = _both(_folder(tmp_path, _with(*lines)), monkeypatch)
    assert any("'0 pg'" in p for p in problems)


def _ordered(*inserted: tuple[int, str]) -> str:
    """The good visits file with ``(k, line)`` inserted after its k-th data row (0: first)."""
    body = GOOD.splitlines()[1:]
    for k, line in sorted(inserted, key=lambda item: -item[0]):
        body.insert(k, line)
    return "\n".join([HEADER, *body]) + "\n"


#: files listing visits patient by patient, dates increasing (the ordered pass of the
#: duplicate check), or nearly so (the grouped query decides)
ORDERED = {
    "in order, no repeat": (_ordered(), []),
    "in order, unknown patients and date rules": (_ordered(
        (0, "P00,2014-01-01,negative,negative,12,30,420,2"),  # unknown, before P01's rows
        (0, "P00,2019-01-01,negative,negative,12,30,420,2"),  # unknown and after the cutoff
        (6, "P02,2019-01-01,negative,negative,12,30,420,1"),  # after last follow-up, cutoff
        (6, "P03,2014-01-01,positive,,,,6825,5"),  # a year before treatment start
        (9, "P04,,negative,negative,12,30,420,0"),  # no date, inside the patient's run
        (15, "P05,2016-10-01,negative,negative,12,30,420,5"),  # after death
        (30, "P99,,negative,negative,12,30,420,1")),  # unknown, no date
        ["'P00'", "'P99'", "'2019-01-01'", "'2014-01-01'", "death_date (2016-09-03)",
         "last_followup (2018-07-30)", "treatment_start (2015-01-20)"]),
    "a repeat inside a patient's run": (_ordered(
        (2, "P01,2013-09-11,negative,negative,13.5,35,2410,2")), ["also on row 3"]),
    "a repeat across a missing date": (_ordered(
        (2, "P01,,negative,negative,13.5,35,2410,2"),
        (3, "P01,2013-09-11,negative,negative,13.5,35,2410,2")), ["also on row 3"]),
    "dates decreasing inside a run, no repeat": (_ordered(
        (3, "P01,2013-07-01,negative,negative,12,30,420,2")), []),
    "a patient in two runs, no repeat": (_ordered(
        (30, "P01,2014-06-01,negative,negative,12,30,420,2")), []),
    "a repeat across two runs": (_ordered(
        (30, "P01,2013-06-11,negative,negative,12,30,420,2")), ["also on row 2"]),
}


@pytest.mark.parametrize("name", list(ORDERED))
def test_visit_rules_on_ordered_and_unordered_files(name, tmp_path, monkeypatch):
    text, expected = ORDERED[name]
    problems = _both(_folder(tmp_path, text), monkeypatch)
    for fragment in expected:
        assert any(fragment in p for p in problems), (fragment, problems)
    if not expected:
        assert not [p for p in problems if "visit_date" in p or "patient_id" in p], problems


def _no_repeats_of(pairs: list[tuple[str | None, int | None]], batch: int,
                   monkeypatch: pytest.MonkeyPatch) -> bool:
    import datetime as dt

    import duckdb

    from poems_cohort.cohort import engine

    monkeypatch.setattr(engine, "_BATCH", batch)
    con = duckdb.connect()
    try:
        con.register("t0", pa.table({
            "patient_id": pa.array([p for p, _ in pairs], pa.string()),
            "visit_date": pa.array([None if d is None else dt.date(2000, 1, 1)
                                    + dt.timedelta(days=d) for _, d in pairs], pa.date32())}))
        con.execute("CREATE TABLE t AS SELECT * FROM t0")  # in the given order
        dated = len({p for p, d in pairs if p is not None and d is not None})
        return engine._no_repeats(con, dated)
    finally:
        con.close()


@pytest.mark.parametrize("batch", [1, 2, 3, 1 << 20])
def test_the_ordered_pass_proves_no_repeat_only_when_there_is_none(batch, monkeypatch):
    """``_no_repeats``: true for visits listed patient by patient with increasing dates
    (whatever the batch boundaries), false whenever a pair repeats, and false (not proven)
    for other orders; on random tables it is never true with a repeat."""
    import random

    ordered = [("A", 1), ("A", 2), ("A", 9), ("B", 1), ("C", 0), ("C", 5)]
    assert _no_repeats_of(ordered, batch, monkeypatch)
    assert _no_repeats_of([], batch, monkeypatch)
    assert _no_repeats_of([("A", 1), (None, 1), ("A", None), ("A", 2), ("B", 1)], batch,
                          monkeypatch)
    assert _no_repeats_of([("B", 1), ("A", 1)], batch, monkeypatch)  # runs in any id order
    assert not _no_repeats_of([("A", 1), ("A", 1), ("B", 1)], batch, monkeypatch)
    assert not _no_repeats_of([("A", 1), ("A", 2), ("B", 3), ("B", 3)], batch, monkeypatch)
    assert not _no_repeats_of([("A", 1), (None, 1), ("A", None), ("A", 1)], batch,
                              monkeypatch)
    assert not _no_repeats_of([("A", 2), ("A", 1)], batch, monkeypatch)  # not proven
    assert not _no_repeats_of([("A", 1), ("B", 1), ("A", 2)], batch, monkeypatch)
    assert not _no_repeats_of([("A", 1), ("B", 1), ("A", 1)], batch, monkeypatch)
    rng = random.Random(batch)
    for _ in range(60):
        pairs: list[tuple[str | None, int | None]] = [
            (rng.choice(["A", "B", "C", None]), rng.choice([0, 1, 2, 3, None]))
            for _ in range(rng.randrange(0, 9))]
        if rng.random() < 0.5:  # mostly ordered: patient by patient, dates increasing
            pairs.sort(key=lambda p: (p[0] or "", p[1] if p[1] is not None else -1))
        usable = [p for p in pairs if p[0] is not None and p[1] is not None]
        repeated = len(set(usable)) < len(usable)
        proven = _no_repeats_of(pairs, batch, monkeypatch)
        assert not (proven and repeated), pairs
        ids = [p for p, _ in usable]
        if not repeated and ids == sorted(ids) and usable == sorted(usable):
            assert proven, pairs


@pytest.mark.parametrize("chunk", [6, 8, 9, 64 * 2**20])
def test_plain_csv_check_across_chunk_boundaries(chunk, tmp_path, monkeypatch):
    """``_open_csv`` reads the file in chunks (the header within the first): a CRLF split
    between two chunks (chunk 9) is still a line end, a bare CR (inside a line, at a chunk's
    end with chunk 8, or ending the file) still sends the file to pandas."""
    from poems_cohort.cohort import engine

    monkeypatch.setattr(engine, "_CHUNK", chunk)
    plain = {"LF": "a,b\n1,2\n3,4\n", "CRLF": "a,b\r\n1,2\r\n3,4\r\n",
             "CRLF, no last line end": "a,b\r\n1,2\r\n3,4"}
    not_plain = {"bare CR": "a,b\r\n1,\r2\r\n3,4\r\n", "CR ending the file": "a,b\n1,2\n3,4\r",
                 "CR CR LF": "a,b\r\r\n1,2\n", "quote": 'a,b\n"1",2\n'}
    for name, text in {**plain, **not_plain}.items():
        path = tmp_path / f"{abs(hash(name))}.csv"
        path.write_bytes(text.encode())
        source = engine._open_csv(path)
        assert (source is not None) == (name in plain), name
        if source is not None:
            assert source.rows == 2 and source.header == ("a", "b"), name


def test_auto_mode_thresholds_by_format(tmp_path, monkeypatch):
    """``auto``: CSV from 16 MiB, Parquet (8–10 times smaller for the same rows) from 2 MiB."""
    from poems_cohort.cohort.engine import ENGINE_MIN_BYTES, wants_engine

    monkeypatch.setenv(ENGINE_ENV, "auto")

    def sized(name: str, size: int) -> Path:
        path = tmp_path / name
        with path.open("wb") as handle:
            handle.truncate(size)
        return path

    assert ENGINE_MIN_BYTES == 16 * 2**20
    assert wants_engine(sized("a.parquet", 2 * 2**20))
    assert not wants_engine(sized("b.parquet", 2 * 2**20 - 1))
    assert wants_engine(sized("c.PQ", 2 * 2**20))
    assert not wants_engine(sized("d.csv", 2 * 2**20))
    assert not wants_engine(sized("e.csv", 16 * 2**20 - 1))
    assert wants_engine(sized("f.csv", 16 * 2**20))
    assert not wants_engine(tmp_path / "missing.parquet")
    monkeypatch.setenv(ENGINE_ENV, "never")
    assert not wants_engine(sized("g.parquet", 2**30))


def test_an_ordered_pass_stopped_early_leaves_the_grouped_query_its_connection(tmp_path,
                                                                              monkeypatch):
    """Batches of one row: the pass stops at the repeat, mid-stream, and the grouped query
    that then runs on the same connection finds it."""
    from poems_cohort.cohort import engine

    monkeypatch.setattr(engine, "_BATCH", 1)
    text, expected = ORDERED["a repeat inside a patient's run"]
    problems = _both(_folder(tmp_path, text), monkeypatch)
    assert any(expected[0] in p for p in problems), problems
