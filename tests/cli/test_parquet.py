"""Parquet in and out, tried as a new user would: ``synthesize --format parquet`` writes the
same cohort as the CSV files (typed), the manifest covers it, the reader reads the folder to the
same analysis dataset, and ``derive --out x.parquet`` writes that dataset."""

from __future__ import annotations

import io

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from poems_cohort.cli import app
from poems_cohort.data import SYNTHETIC_MARKER, bundled_cohort_path, is_synthetic_cohort
from poems_cohort.manifest import MANIFEST_NAME, read_manifest, sha256_file
from poems_cohort.synth.generator import SyntheticCohort, cohort_files
from poems_cohort.workflow import derive

runner = CliRunner()


@pytest.fixture
def parquet_cohort(synthesized_parquet):
    """The bundled cohort's seed (2019, 347 patients) written as Parquet by the command (run
    once per test run: tests/conftest.py)."""
    return synthesized_parquet


def _csv(name: str) -> pd.DataFrame:
    return pd.read_csv(bundled_cohort_path() / name, dtype=str, keep_default_na=False)


def _as_csv_text(table: pa.Table) -> pd.DataFrame:
    """A Parquet table as the text the CSV writer gives each value ("" for null)."""
    columns = {}
    for name in table.column_names:
        values = table.column(name).to_pylist()
        if pa.types.is_floating(table.schema.field(name).type):
            text = ["" if v is None else "%.10g" % v for v in values]  # noqa: UP031
        else:
            text = ["" if v is None else str(v) for v in values]
        columns[name] = text
    return pd.DataFrame(columns, dtype=object)


@pytest.mark.parametrize("stem", ["patients", "visits"])
def test_parquet_holds_the_values_of_the_bundled_csv(parquet_cohort, stem):
    table = pq.read_table(parquet_cohort / f"{stem}.parquet")
    csv = _csv(f"{stem}.csv")
    assert table.column_names == list(csv.columns)
    types = {str(t) for t in table.schema.types}
    assert types <= {"string", "double", "date32[day]"}
    assert "date32[day]" in types and "double" in types
    pd.testing.assert_frame_equal(_as_csv_text(table), csv.astype(object))


def test_numbers_are_the_doubles_the_csv_text_reads_as(parquet_cohort):
    table = pq.read_table(parquet_cohort / "patients.parquet")
    csv = _csv("patients.csv")
    for name in ("age", "vegf_pg_ml", "flc_kappa_mg_l"):
        ours = table.column(name).to_pylist()
        theirs = [None if t == "" else float(t) for t in csv[name]]
        assert ours == theirs  # exactly, not approximately


def test_the_manifest_covers_the_parquet_files_and_the_folder_is_synthetic(parquet_cohort):
    manifest = read_manifest(parquet_cohort)
    assert manifest is not None
    assert set(manifest.files) == {"patients.parquet", "visits.parquet", SYNTHETIC_MARKER}
    for name, entry in manifest.files.items():
        assert entry.sha256 == sha256_file(parquet_cohort / name)
    assert sorted(p.name for p in parquet_cohort.iterdir()) == sorted(
        [MANIFEST_NAME, SYNTHETIC_MARKER, "patients.parquet", "visits.parquet"])
    assert is_synthetic_cohort(parquet_cohort)
    assert is_synthetic_cohort(parquet_cohort / "visits.parquet")


def test_a_parquet_file_changed_after_synthesize_is_no_longer_synthetic(parquet_cohort, tmp_path):
    copy = tmp_path / "copy"
    copy.mkdir()
    for entry in parquet_cohort.iterdir():
        (copy / entry.name).write_bytes(entry.read_bytes())
    assert is_synthetic_cohort(copy)
    table = pq.read_table(copy / "patients.parquet")
    ages = table.column("age").to_pylist()
    ages[0] = (ages[0] or 50.0) + 1.0
    table = table.set_column(table.column_names.index("age"), "age", pa.array(ages, pa.float64()))
    pq.write_table(table, copy / "patients.parquet")
    assert not is_synthetic_cohort(copy)


def test_the_same_seed_gives_the_same_parquet_bytes(parquet_cohort):
    patients = pd.read_parquet(parquet_cohort / "patients.parquet")
    visits = pd.read_parquet(parquet_cohort / "visits.parquet")
    for frame in (patients, visits):  # back to the generator's dtypes
        for col in frame.columns:
            if frame[col].dtype == object and col.endswith(("_date", "_start", "_followup")):
                frame[col] = pd.to_datetime(frame[col])
    cohort = SyntheticCohort(patients=patients, visits=visits, seed=2019, targets=None)
    files = cohort_files(cohort, "parquet")
    assert files["patients.parquet"] == (parquet_cohort / "patients.parquet").read_bytes()
    assert files["visits.parquet"] == (parquet_cohort / "visits.parquet").read_bytes()
    assert files == cohort_files(cohort, "parquet")
    with pytest.raises(ValueError, match="file_format"):
        cohort_files(cohort, "xlsx")


def test_the_parquet_folder_derives_the_dataset_of_the_csv_folder(parquet_cohort):
    ours = derive(parquet_cohort).dataset
    theirs = derive(bundled_cohort_path()).dataset
    assert len(ours) == len(theirs) > 300
    pd.testing.assert_frame_equal(ours, theirs)


def test_derive_writes_and_reads_back_parquet(parquet_cohort, tmp_path):
    out = tmp_path / "dataset.parquet"
    result = runner.invoke(app, ["derive", str(parquet_cohort), "--out", str(out)])
    assert result.exit_code == 0, result.output
    written = pd.read_parquet(out)
    expected = derive(bundled_cohort_path()).dataset
    assert written["synthetic"].all()  # a synthetic cohort's dataset says so in every row
    assert list(written.columns) == [*expected.columns, "synthetic"]
    assert written["patient_id"].tolist() == expected["patient_id"].tolist()
    csv_out = tmp_path / "dataset.csv"
    assert runner.invoke(app, ["derive", str(parquet_cohort), "--out", str(csv_out)]
                         ).exit_code == 0
    from_csv = pd.read_csv(csv_out, dtype=str, keep_default_na=False)
    assert from_csv["patient_id"].tolist() == written["patient_id"].tolist()


def test_an_unknown_format_is_refused_and_nothing_is_written(tmp_path):
    out = tmp_path / "new"
    result = runner.invoke(app, ["synthesize", "--out", str(out), "--format", "xlsx"])
    assert result.exit_code == 2
    assert "--format" in result.output and "'xlsx'" in result.output
    assert "csv or parquet" in result.output
    assert not out.exists()


def test_parquet_is_not_written_beside_a_csv_cohort(tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    csv = folder / "patients.csv"
    csv.write_bytes((bundled_cohort_path() / "patients.csv").read_bytes())
    before = csv.read_bytes()
    result = runner.invoke(app, ["synthesize", "--out", str(folder), "--format", "parquet",
                                 "--force"])
    assert result.exit_code == 2
    assert "patients.csv" in result.output
    assert sorted(p.name for p in folder.iterdir()) == ["patients.csv"]
    assert csv.read_bytes() == before


def test_io_round_trip_of_a_tiny_frame():
    """Dates, nulls and text survive: a missing date is null, not 1970-01-01."""
    frame = pd.DataFrame({
        "patient_id": pd.array(["A", "B"], dtype="string"),
        "visit_date": pd.to_datetime(["2010-01-02", None]),
        "vegf_pg_ml": [0.1 + 0.2, float("nan")],
    })
    cohort = SyntheticCohort(patients=frame, visits=frame, seed=1, targets=None)
    table = pq.read_table(io.BytesIO(cohort_files(cohort, "parquet")["visits.parquet"]))
    assert table.column("visit_date").to_pylist()[1] is None
    assert str(table.column("visit_date").to_pylist()[0]) == "2010-01-02"
    assert table.column("vegf_pg_ml").to_pylist() == [float("%.10g" % (0.1 + 0.2)), None]  # noqa: UP031
    assert table.column("patient_id").to_pylist() == ["A", "B"]


def test_force_replaces_the_unchanged_parquet_files_of_an_earlier_synthesize(
        parquet_cohort, tmp_path, bundled_generate):
    # the command's generation of the default seed is the session's (tests/conftest.py)
    copy = tmp_path / "again"
    copy.mkdir()
    for entry in parquet_cohort.iterdir():
        (copy / entry.name).write_bytes(entry.read_bytes())
    (copy / "notes.txt").write_text("mine\n")
    result = runner.invoke(app, ["synthesize", "--out", str(copy), "--format", "parquet",
                                 "--force"])
    assert result.exit_code == 0, result.output
    for name in ("patients.parquet", "visits.parquet", SYNTHETIC_MARKER):
        assert (copy / name).read_bytes() == (parquet_cohort / name).read_bytes()
    assert (copy / "notes.txt").read_text() == "mine\n"  # never touched
    assert is_synthetic_cohort(copy)
