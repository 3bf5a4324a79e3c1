"""A cohort is synthetic only while its files match the manifest ``synthesize`` wrote; then every
output says so. ``synthesize`` writes into an empty folder, or with ``--force`` replaces only its
own unchanged files."""

from __future__ import annotations

import io
import json
import shutil
import zipfile

import pandas as pd
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from poems_cohort.cli import app
from poems_cohort.data import (
    SYNTHETIC_MARKER,
    bundled_cohort_path,
    is_synthetic_cohort,
    synthetic_marker_text,
    write_synthetic_manifest,
)
from poems_cohort.manifest import MANIFEST_NAME, Entry, Manifest, read_manifest, sha256_file
from poems_cohort.report.figures import SYNTHETIC_STAMP
from poems_cohort.synth import generator
from poems_cohort.workflow import run as run_pipeline
from tests.report.conftest import EXAMPLE


def _copy(src, dst):
    shutil.copytree(src, dst)
    return dst


def test_the_bundled_manifest_lists_the_bundled_files_with_their_hashes():
    folder = bundled_cohort_path()
    manifest = read_manifest(folder)
    assert manifest == Manifest({name: Entry(sha256_file(folder / name), "synthetic-cohort")
                                 for name in ("patients.csv", "visits.csv", SYNTHETIC_MARKER)})
    assert is_synthetic_cohort(folder)
    assert is_synthetic_cohort(folder / "patients.csv")


def test_rewriting_the_bundled_manifest_gives_the_same_bytes(tmp_path):
    copy = _copy(bundled_cohort_path(), tmp_path / "bundled")
    (copy / MANIFEST_NAME).unlink()
    assert not is_synthetic_cohort(copy)
    write_synthetic_manifest(copy)
    assert (copy / MANIFEST_NAME).read_bytes() == \
        (bundled_cohort_path() / MANIFEST_NAME).read_bytes()


def test_a_spoofed_synthetic_txt_does_not_make_a_cohort_synthetic(tmp_path):
    real = _copy(EXAMPLE, tmp_path / "real")
    (real / SYNTHETIC_MARKER).write_text(synthetic_marker_text(2019, 10), encoding="utf-8")
    assert not is_synthetic_cohort(real)
    files = run_pipeline(real, None).outputs.files
    assert json.loads(files["results.json"])["cohort"] == {"synthetic": False}
    assert b"Synthetic cohort." not in files["report.html"]


def test_a_manifest_copied_beside_other_files_does_not_make_them_synthetic(tmp_path):
    real = _copy(EXAMPLE, tmp_path / "real")
    shutil.copy(bundled_cohort_path() / MANIFEST_NAME, real / MANIFEST_NAME)
    assert not is_synthetic_cohort(real)


@pytest.mark.parametrize("edit", ["append a row", "change a byte", "delete visits",
                                  "add patients.xlsx", "delete the note"])
def test_a_modified_synthetic_cohort_is_not_synthetic(tmp_path, edit):
    copy = _copy(bundled_cohort_path(), tmp_path / "copy")
    assert is_synthetic_cohort(copy)
    patients = copy / "patients.csv"
    if edit == "append a row":
        with patients.open("a", encoding="utf-8") as fh:
            fh.write(patients.read_text(encoding="utf-8").splitlines()[1].replace(
                "SYN-0001", "REAL-01") + "\n")
    elif edit == "change a byte":
        data = bytearray(patients.read_bytes())
        data[-2] = ord("9") if data[-2] != ord("9") else ord("8")
        patients.write_bytes(bytes(data))
    elif edit == "delete visits":
        (copy / "visits.csv").unlink()
    elif edit == "add patients.xlsx":
        (copy / "patients.xlsx").write_bytes(b"not really a workbook")
    else:
        (copy / SYNTHETIC_MARKER).unlink()
    assert not is_synthetic_cohort(copy)


def test_a_synthetic_cohort_says_so_in_every_output(tmp_path):
    cohort = _copy(EXAMPLE, tmp_path / "cohort")
    write_synthetic_manifest(cohort)
    assert is_synthetic_cohort(cohort)
    files = run_pipeline(cohort, None).outputs.files
    html = files["report.html"].decode("utf-8")
    assert "<title>POEMS syndrome first-line treatments: study report (synthetic cohort)" in html
    assert "Synthetic cohort." in html
    assert json.loads(files["results.json"])["cohort"] == {"synthetic": True}
    csvs = [rel for rel in files if rel.endswith(".csv")]
    assert "analysis_dataset.csv" in csvs and len(csvs) > 5
    for rel in csvs:
        frame = pd.read_csv(io.BytesIO(files[rel]))
        assert frame.columns[-1] == "synthetic", rel
        assert frame["synthetic"].eq(True).all(), rel
    wb = load_workbook(io.BytesIO(files["tables/tables.xlsx"]))
    assert all(ws["A2"].value == "Synthetic cohort: no real patients." for ws in wb.worksheets)
    with zipfile.ZipFile(io.BytesIO(files["tables/tables.docx"])) as z:
        assert "synthetic cohort" in z.read("word/document.xml").decode("utf-8")
    svgs = [rel for rel in files if rel.endswith(".svg")]
    assert svgs and all(SYNTHETIC_STAMP.encode() in files[rel] for rel in svgs)


# --------------------------------------------------------------------------------------------
# synthesize --out, --force (with a small stand-in for the generator: the rules under test are
# how files are written, not what is generated)


@pytest.fixture()
def small(monkeypatch):
    def fake(seed, n_patients=None):
        patients = pd.DataFrame({"patient_id": [f"SYN-{k:04d}" for k in range(1, 4)],
                                 "age": [50.0 + seed, 60.0, 70.0]})
        visits = pd.DataFrame({"patient_id": ["SYN-0001"], "onls": [float(seed)]})
        return generator.SyntheticCohort(patients, visits, seed, None)

    monkeypatch.setattr(generator, "generate_cohort", fake)


def _synthesize(out, *args):
    return CliRunner().invoke(app, ["synthesize", "--out", str(out), *args])


def test_synthesize_writes_a_cohort_that_is_synthetic(tmp_path, small):
    out = tmp_path / "syn"
    result = _synthesize(out, "--seed", "1")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [MANIFEST_NAME, SYNTHETIC_MARKER, "patients.csv", "visits.csv"])
    assert is_synthetic_cohort(out)
    assert (out / "patients.csv").stat().st_mode & 0o044  # readable as a file made normally


def test_synthesize_refuses_a_non_empty_folder_without_force(tmp_path, small):
    out = tmp_path / "syn"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    result = _synthesize(out)
    assert result.exit_code == 2 and "--force" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_synthesize_refuses_an_existing_cohort_even_with_force(tmp_path, small):
    out = _copy(EXAMPLE, tmp_path / "real")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert _synthesize(out).exit_code == 2
    result = _synthesize(out, "--force")
    assert result.exit_code == 2
    assert "patients.csv" in result.output and "visits.csv" in result.output
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_force_replaces_only_the_unchanged_files_of_an_earlier_synthesize(tmp_path, small):
    out = tmp_path / "syn"
    assert _synthesize(out, "--seed", "1").exit_code == 0
    (out / "README.md").write_text("my notes")
    result = _synthesize(out, "--seed", "2", "--force")
    assert result.exit_code == 0, result.output
    assert (out / "README.md").read_text() == "my notes"
    assert "SYN-0001,52\n" in (out / "patients.csv").read_text()
    assert is_synthetic_cohort(out)
    (out / "patients.csv").write_text("patient_id,age\nREAL-1,40\n")  # now it is the user's
    result = _synthesize(out, "--seed", "3", "--force")
    assert result.exit_code == 2 and "patients.csv" in result.output
    assert (out / "patients.csv").read_text() == "patient_id,age\nREAL-1,40\n"
    assert not is_synthetic_cohort(out)


def test_force_refuses_another_table_the_reader_would_take_with_the_cohort(tmp_path, small):
    out = tmp_path / "syn"
    assert _synthesize(out).exit_code == 0
    (out / "patients.xlsx").write_bytes(b"x")
    result = _synthesize(out, "--force")
    assert result.exit_code == 2 and "patients.xlsx" in result.output


def test_synthesize_into_an_unwritable_location_exits_2(small):
    # as root file modes do not stop writing: /proc refuses new files
    result = _synthesize("/proc/poems-synthetic")
    assert result.exit_code == 2 and "can write in" in result.output
    assert "Traceback" not in result.output


def test_force_leaves_a_file_named_like_the_manifest_that_is_not_one(tmp_path, small):
    out = tmp_path / "syn"
    out.mkdir()
    (out / MANIFEST_NAME).write_text("not json")
    result = _synthesize(out, "--force")
    assert result.exit_code == 2 and "cannot be read as one" in result.output
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST_NAME]
