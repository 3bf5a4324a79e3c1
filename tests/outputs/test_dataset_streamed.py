"""``write_dataset_file`` writes the analysis dataset piece by piece (CSV) or straight to the
file (Parquet): the same bytes as the text held whole, recorded with their hash, and nothing
left behind when a piece fails."""

from __future__ import annotations

import hashlib
import io

import pandas as pd
import pytest

from poems_cohort.errors import InputError
from poems_cohort.manifest import ANALYSIS_DATASET, read_manifest
from poems_cohort.report import output
from poems_cohort.report.output import csv_bytes, csv_pieces, write_dataset_file


def _frame(n: int = 23) -> pd.DataFrame:
    return pd.DataFrame({
        "patient_id": [f"P{i:03d}" for i in range(n)],
        "regimen": ["=SUM(A1)" if i % 5 == 0 else "ASCT" for i in range(n)],
        "pfs_months": [i / 7 for i in range(n)],
        "pfs_event": pd.array([i % 2 if i % 4 else None for i in range(n)], dtype="Int64"),
    })


@pytest.mark.parametrize("synthetic", [False, True])
def test_csv_written_in_pieces_is_the_text_held_whole(tmp_path, monkeypatch, synthetic):
    monkeypatch.setattr(output, "CSV_CHUNK_ROWS", 5)
    frame = _frame()
    pieces = list(csv_pieces(frame, synthetic=synthetic))
    assert len(pieces) == 5  # 23 rows in pieces of 5
    whole = csv_bytes(frame, synthetic=synthetic)
    assert b"".join(pieces) == whole
    assert whole.count(b"'=SUM(A1)") == 5
    out = tmp_path / "ds.csv"
    write_dataset_file(frame, out, synthetic=synthetic)
    assert out.read_bytes() == whole
    entry = read_manifest(tmp_path).files["ds.csv"]
    assert entry.sha256 == hashlib.sha256(whole).hexdigest()
    assert entry.role == ANALYSIS_DATASET
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_parquet_written_to_the_file_is_the_bytes_held_whole(tmp_path):
    frame = _frame()
    out = tmp_path / "ds.parquet"
    write_dataset_file(frame, out, synthetic=True)
    buf = io.BytesIO()
    frame.assign(synthetic=True).to_parquet(buf, index=False)
    assert out.read_bytes() == buf.getvalue()
    assert read_manifest(tmp_path).files["ds.parquet"].sha256 == hashlib.sha256(
        buf.getvalue()).hexdigest()
    pd.testing.assert_frame_equal(pd.read_parquet(out).drop(columns="synthetic"), frame)


def test_a_failing_piece_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    out = tmp_path / "ds.csv"
    write_dataset_file(_frame(), out)
    before = out.read_bytes()

    def broken(frame, *, synthetic=False):
        yield b"patient_id\n"
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(output, "csv_pieces", broken)
    with pytest.raises(InputError, match="No space left on device"):
        write_dataset_file(_frame(3), out)
    assert out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
