"""The patient-level dataset of a run is rendered into a temporary file (``SpooledFile``) and
copied into the report folder block by block: the same bytes and manifest entry as when it was
held in memory."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from poems_cohort.manifest import read_manifest, sha256_bytes
from poems_cohort.report import output
from poems_cohort.report.output import (
    Outputs,
    SpooledFile,
    csv_bytes,
    csv_pieces,
    write_outputs,
)


def frame(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return pd.DataFrame({"patient_id": [f"P-{i}" for i in range(n)],
                         "note": np.where(rng.random(n) < 0.2, "=SUM(A1)", "ok"),
                         "months": rng.exponential(20, n), "event": rng.integers(0, 2, n)})


def test_a_spooled_file_holds_the_pieces_with_their_digest_and_size(monkeypatch) -> None:
    monkeypatch.setattr(output, "CSV_CHUNK_ROWS", 7)  # several pieces
    monkeypatch.setattr(SpooledFile, "BLOCK", 100)  # several blocks
    data = frame(50)
    whole = csv_bytes(data, synthetic=True)
    spooled = SpooledFile(csv_pieces(data, synthetic=True))
    assert len(spooled) == len(whole) > 1000
    assert spooled.sha256 == sha256_bytes(whole)
    assert spooled.read() == whole and spooled == whole
    assert b"".join(spooled.blocks()) == whole  # read again from the start
    assert spooled != whole + b"x"
    assert "'=SUM(A1)" in whole.decode()


def test_a_failing_piece_leaves_no_spooled_file() -> None:
    def pieces():
        yield b"a,b\n"
        raise RuntimeError("rendering failed")

    with pytest.raises(RuntimeError, match="rendering failed"):
        SpooledFile(pieces())


def test_a_report_with_a_spooled_file_is_written_as_with_bytes(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(SpooledFile, "BLOCK", 64)
    data = frame(40)
    whole = csv_bytes(data)
    files = {"report.html": b"<p>r</p>", "analysis_dataset.csv": whole}
    write_outputs(Outputs(dict(files)), tmp_path / "held")
    write_outputs(Outputs({**files, "analysis_dataset.csv": SpooledFile(csv_pieces(data))}),
                  tmp_path / "spooled")
    for rel in files:
        assert (tmp_path / "spooled" / rel).read_bytes() == (tmp_path / "held" / rel).read_bytes()
    assert read_manifest(tmp_path / "spooled") == read_manifest(tmp_path / "held")
    listed = read_manifest(tmp_path / "spooled")
    assert listed is not None
    assert listed.files["analysis_dataset.csv"].sha256 == sha256_bytes(whole)


def test_a_run_spools_a_dataset_of_more_than_spool_rows(tmp_path, monkeypatch) -> None:
    from poems_cohort.workflow import run

    monkeypatch.setattr(output, "SPOOL_ROWS", 100)  # the bundled cohort: 347 patients
    summary = run(None, tmp_path / "out")
    spooled = summary.outputs.files["analysis_dataset.csv"]
    assert isinstance(spooled, SpooledFile)
    written = (tmp_path / "out" / "analysis_dataset.csv").read_bytes()
    assert spooled == written
    assert written == csv_bytes(summary.results.analysis_dataset, synthetic=True)


def test_a_small_dataset_stays_bytes() -> None:
    data = frame(30)
    assert output.dataset_csv(data) == csv_bytes(data)
    assert isinstance(output.dataset_csv(data), bytes)
    assert isinstance(output.dataset_csv(frame(output.SPOOL_ROWS + 1)), SpooledFile)


def test_no_room_for_the_spooled_file_is_an_input_error(monkeypatch) -> None:
    import errno

    from poems_cohort.errors import InputError

    class Full:
        def write(self, data: bytes) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

        def close(self) -> None:
            pass

    monkeypatch.setattr(output.tempfile, "TemporaryFile", Full)
    with pytest.raises(InputError) as caught:
        SpooledFile(csv_pieces(frame(5)))
    text = str(caught.value)
    assert "No space left on device" in text and "TMPDIR" in text
