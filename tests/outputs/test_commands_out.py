"""``--out`` of every command, tried as a new user would: user files in it survive, an input in
or around it is refused, an unwritable location is refused before any computation."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from poems_cohort.cli import app
from poems_cohort.manifest import MANIFEST_NAME
from tests.report.conftest import EXAMPLE, copy_tree


def _cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_run_twice_into_the_same_folder_replaces_the_report(tmp_path, cohort_dir):
    out = tmp_path / "report"
    assert _cli("run", cohort_dir, "--out", out, "--quiet").exit_code == 0
    first = _tree(out)
    result = _cli("run", cohort_dir, "--out", out, "--quiet", "--cutoff", "2017-12-31")
    assert result.exit_code == 0, result.output
    second = _tree(out)
    assert set(first) == set(second) and first["results.json"] != second["results.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]


def test_user_files_in_out_survive_run_and_reproduce(tmp_path, cohort_dir):
    out = tmp_path / "report"
    assert _cli("run", cohort_dir, "--out", out, "--quiet").exit_code == 0
    (out / "tables" / "my_table.xlsx").write_bytes(b"mine")
    (out / "figures" / "drawn-by-hand").mkdir()
    before = _tree(out)
    for command in ("run", "reproduce"):
        result = _cli(command, cohort_dir, "--out", out, "--quiet")
        assert result.exit_code == 2, result.output
        assert "my_table.xlsx" in result.output and "drawn-by-hand" in result.output
        assert "Traceback" not in result.output
        assert _tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]


@pytest.mark.parametrize("command", ["run", "reproduce"])
def test_a_cohort_inside_out_tables_is_refused_and_kept(tmp_path, cohort_dir, command):
    out = tmp_path / "report"
    cohort = copy_tree(cohort_dir, out / "tables" / "cohort")
    before = _tree(out)
    result = _cli(command, cohort, "--out", out, "--quiet")
    assert result.exit_code == 2 and "does not contain an input" in result.output
    assert _tree(out) == before


@pytest.mark.parametrize("where", ["cohort", "plan", "mapping"])
def test_out_equal_to_or_inside_an_input_is_refused_for_run(tmp_path, cohort_dir, where):
    cohort = copy_tree(cohort_dir, tmp_path / "cohort")
    plan = tmp_path / "plan.toml"
    plan.write_text("")
    mapping = tmp_path / "mapping.csv"
    mapping.write_text("source,canonical\n")
    out = {"cohort": cohort / "report", "plan": plan, "mapping": mapping}[where]
    result = _cli("run", cohort, "--out", out, "--plan", plan, "--mapping", mapping)
    assert result.exit_code == 2, result.output
    assert plan.read_text() == "" and mapping.read_text() == "source,canonical\n"
    assert sorted(p.name for p in cohort.iterdir()) == ["patients.csv", "visits.csv"]


def test_run_into_the_bundled_cohort_is_refused(tmp_path):
    from poems_cohort.data import bundled_cohort_path

    before = _tree(bundled_cohort_path())
    result = _cli("run", "--out", bundled_cohort_path() / "report")
    assert result.exit_code == 2 and "outside the input" in result.output
    assert _tree(bundled_cohort_path()) == before


@pytest.mark.parametrize("command", ["run", "reproduce", "derive", "synthesize"])
def test_an_unwritable_location_is_refused_at_once(tmp_path, cohort_dir, command, monkeypatch):
    # the tests run as root, where file modes do not stop writing: /proc takes no new file
    from poems_cohort import workflow
    from poems_cohort.synth import generator

    def not_reached(*args, **kwargs):
        raise AssertionError("the output location is checked before any computation")

    for module, name in ((workflow, "compute"), (workflow, "derive"),
                         (generator, "generate_cohort")):
        monkeypatch.setattr(module, name, not_reached)
    target = Path("/proc/poems-cohort-out")
    args = {"run": ("run", cohort_dir, "--out", target),
            "reproduce": ("reproduce", cohort_dir, "--out", target),
            "derive": ("derive", cohort_dir, "--out", target.with_suffix(".csv")),
            "synthesize": ("synthesize", "--out", target)}[command]
    result = _cli(*args)
    assert result.exit_code == 2, result.output  # refused before the study or the generator
    assert "can write" in result.output and "Traceback" not in result.output


def test_derive_records_the_file_in_a_manifest_beside_it(
        tmp_path, cohort_dir):
    out = tmp_path / "analysis.csv"
    assert _cli("derive", cohort_dir, "--out", out).exit_code == 0
    assert (tmp_path / MANIFEST_NAME).is_file()
    text = out.read_text(encoding="utf-8")
    assert text.splitlines()[0].startswith("patient_id,")


def test_hostile_patient_ids_are_neutralised_in_the_analysis_dataset(tmp_path):
    cohort = copy_tree(EXAMPLE, tmp_path / "cohort")
    hostile = {"P01": "=HYPERLINK(\"x\")", "P02": "@SUM(A1)", "P03": "-2+3", "P04": "+P04"}
    for name in ("patients.csv", "visits.csv"):
        text = (cohort / name).read_text(encoding="utf-8")
        for old, new in hostile.items():
            quoted = '"' + new.replace('"', '""') + '"'
            text = text.replace(f"\n{old},", f"\n{quoted},")
        (cohort / name).write_text(text, encoding="utf-8")
    out = tmp_path / "report"
    result = _cli("run", cohort, "--out", out, "--quiet")
    assert result.exit_code == 0, result.output

    ids = set(pd.read_csv(out / "analysis_dataset.csv", dtype=str)["patient_id"])
    assert {"'" + v for v in hostile.values()} <= ids
    assert not {v for v in hostile.values()} & ids


@pytest.mark.parametrize("command", ["run", "derive", "synthesize"])
def test_a_full_location_is_refused_at_once(tmp_path, cohort_dir, monkeypatch, command):
    import shutil

    from poems_cohort.report import output

    # a really full disk cannot be made here: the free space the system reports is replaced
    monkeypatch.setattr(output.shutil, "disk_usage",
                        lambda path: shutil._ntuple_diskusage(10**9, 10**9 - 4096, 4096))
    out = tmp_path / ("analysis.csv" if command == "derive" else "out")
    args = {"run": ("run", cohort_dir), "derive": ("derive", cohort_dir),
            "synthesize": ("synthesize",)}[command]
    result = _cli(*args, "--out", out)
    assert result.exit_code == 2, result.output
    assert "MiB free" in result.output and "4 KiB" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == []
