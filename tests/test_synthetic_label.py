"""A synthetic cohort is labelled synthetic wherever its results appear."""

from __future__ import annotations

import io
import json
import zipfile

from typer.testing import CliRunner

from poems_cohort.cli import app
from poems_cohort.data import (
    SYNTHETIC_MARKER,
    bundled_cohort_path,
    is_synthetic_cohort,
    synthetic_marker_text,
    write_synthetic_manifest,
)
from poems_cohort.report.figures import SYNTHETIC_STAMP
from poems_cohort.synth.survival_times import AIM_MAX_PATIENTS
from poems_cohort.workflow import run as run_pipeline
from tests.report.conftest import copy_tree

BANNER = "Synthetic cohort."


def test_the_bundled_cohort_carries_the_marker_of_its_seed():
    marker = bundled_cohort_path() / SYNTHETIC_MARKER
    assert marker.read_text(encoding="utf-8") == synthetic_marker_text(2019, 347)
    assert is_synthetic_cohort(bundled_cohort_path())


def test_synthesize_writes_the_marker(tmp_path):
    # a seed and a size other than the defaults, both written in the marker; above
    # AIM_MAX_PATIENTS the generator skips its searches, so the cohort takes seconds, not a minute
    size = AIM_MAX_PATIENTS + 1
    out = tmp_path / "syn"
    result = CliRunner().invoke(app, ["synthesize", "--seed", "5", "--patients", str(size),
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / SYNTHETIC_MARKER).read_text(encoding="utf-8") == synthetic_marker_text(5, size)
    assert is_synthetic_cohort(out)


def test_a_file_or_an_unmarked_folder_is_not_synthetic(tmp_path, cohort_dir):
    assert not is_synthetic_cohort(cohort_dir)
    assert not is_synthetic_cohort(cohort_dir / "patients.csv")


def test_report_and_json_say_synthetic_only_for_a_cohort_in_its_manifest(tmp_path, cohort_dir):
    real = run_pipeline(cohort_dir, None).outputs.files
    assert BANNER not in real["report.html"].decode("utf-8")
    assert json.loads(real["results.json"])["cohort"] == {"synthetic": False}

    marked = copy_tree(cohort_dir, tmp_path / "marked")
    (marked / SYNTHETIC_MARKER).write_text("synthetic\n", encoding="utf-8")
    write_synthetic_manifest(marked)
    run = run_pipeline(marked, None)
    files = run.outputs.files
    assert BANNER in files["report.html"].decode("utf-8")
    assert json.loads(files["results.json"])["cohort"] == {"synthetic": True}
    for name in ("figure1", "figure2", "supplementary_figure1"):
        assert SYNTHETIC_STAMP.encode() in files[f"figures/{name}.svg"]
        assert SYNTHETIC_STAMP.encode() not in real[f"figures/{name}.svg"]
    with zipfile.ZipFile(io.BytesIO(files["tables/tables.docx"])) as z:
        assert "synthetic cohort" in z.read("word/document.xml").decode("utf-8")


def test_a_negative_seed_is_refused_with_status_2_and_nothing_written(tmp_path):
    out = tmp_path / "syn"
    result = CliRunner().invoke(app, ["synthesize", "--seed", "-1", "--out", str(out)])
    assert result.exit_code == 2
    assert "--seed" in result.output
    assert not out.exists()
