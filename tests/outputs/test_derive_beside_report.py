"""A report folder holds one analysis: ``derive`` writes no dataset into it, and a ``run`` into
a folder holding a dataset ``derive`` wrote refuses (exit 2) instead of removing it."""

from __future__ import annotations

from typer.testing import CliRunner

from poems_cohort.cli import app
from tests.report.conftest import EXAMPLE


def _tree(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_derive_writes_no_dataset_into_a_report_folder(tmp_path):
    runner = CliRunner()
    out = tmp_path / "report"
    assert runner.invoke(app, ["run", str(EXAMPLE), "--out", str(out), "--quiet"]).exit_code == 0
    before = _tree(out)
    refused = runner.invoke(app, ["derive", str(EXAMPLE), "--out", str(out / "my_dataset.csv")])
    assert refused.exit_code == 2, refused.output
    assert "outside the folder of a report" in " ".join(refused.output.split())
    assert _tree(out) == before


def test_run_leaves_a_derived_dataset_in_its_folder_alone(tmp_path):
    runner = CliRunner()
    out = tmp_path / "report"
    out.mkdir()
    kept = out / "my_dataset.csv"
    assert runner.invoke(app, ["derive", str(EXAMPLE), "--out", str(kept)]).exit_code == 0
    before = kept.read_bytes()
    again = runner.invoke(app, ["run", str(EXAMPLE), "--out", str(out), "--quiet"])
    assert again.exit_code == 2
    assert "my_dataset.csv" in again.output and "derive" in again.output
    assert kept.read_bytes() == before
