"""A dataset written by ``derive`` into a report folder is not part of the report: a later
``run`` into that folder refuses (exit 2) instead of removing it."""

from __future__ import annotations

from typer.testing import CliRunner

from poems_cohort.cli import app
from tests.report.conftest import EXAMPLE


def test_run_leaves_a_derived_dataset_in_its_folder_alone(tmp_path):
    runner = CliRunner()
    out = tmp_path / "report"
    assert runner.invoke(app, ["run", str(EXAMPLE), "--out", str(out), "--quiet"]).exit_code == 0
    kept = out / "my_dataset.csv"
    assert runner.invoke(app, ["derive", str(EXAMPLE), "--out", str(kept)]).exit_code == 0
    before = kept.read_bytes()
    again = runner.invoke(app, ["run", str(EXAMPLE), "--out", str(out), "--quiet"])
    assert again.exit_code == 2
    assert "my_dataset.csv" in again.output and "derive" in again.output
    assert kept.read_bytes() == before
